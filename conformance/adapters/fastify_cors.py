"""Fastify 5 with ``@fastify/cors``, configured from a policy, as a real server on 127.0.0.1
(:mod:`conformance.adapters.node`).

``[[paths]]`` tables become encapsulated contexts, as the plugin's maintainers recommend for
per-path CORS (fastify/fastify-cors#33): ``app.register(async (child) => { child.register(cors,
options); child.route(...) }, { prefix })``, one per table and one without a prefix for the top
level, each with its own ``@fastify/cors`` (its ``onRequest`` hook and its ``OPTIONS <prefix>*``
preflight route apply only to the routes registered in that context). The demo routes of a table
with prefix ``/public`` are ``/public`` and ``/public/*``; of one with ``/api/``, ``/api/*``; of the
top level, ``*``. Fastify's router (find-my-way) picks the most specific route, not the first
registered, so declaration order is kept by leaving out what an earlier table already covers: a
table whose prefix an earlier table matches never applies and is not registered, and a route an
earlier table registered is not registered again (the top level is left out under a ``/``
table). find-my-way matches the percent-decoded path (``decodeURI``), so ``DECODES_PATHS``.

What it cannot express:

* ``[[paths]]`` with a ``pattern``: Fastify routes are path templates (static parts, parameters,
  a trailing wildcard), not a regular expression over the whole path;
* ``[[paths]]`` with a prefix containing ``*`` (find-my-way reads it as a wildcard, allowed only
  last, with no escape) or a percent-escape that ``decodeURI`` decodes (the router sees
  ``/p%41`` as ``/pA``, the policy matches the raw path); ``:`` is escaped as ``::``;
* ``allow_private_network``: ``@fastify/cors`` has no such option;
* ``allow_methods = ["*"]`` or ``expose_headers = ["*"]`` with credentials: the lists are sent as
  they are, and under credentials a browser reads ``*`` as a name;
* a pattern with Python-only regular-expression syntax.

Fastify routes only the methods it knows (:data:`ROUTED_METHODS`); other methods are skipped.
"""

from __future__ import annotations

from typing import Any, Final

from conformance.adapters import Inexpressible, node, node_options
from conformance.adapters import _common as c
from conformance.targets import Target
from reference.policy import CorsPolicy, EffectivePolicy, PathRule

NAME: Final = "fastify-cors"
FRAMEWORK: Final = "@fastify/cors"
ROUTED_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""The methods the demo route answers (Fastify routes only those it is given; and Node's parser
refuses lowercase methods)."""
DECODES_PATHS: Final = True
"""find-my-way matches routes on the ``decodeURI``-decoded request path."""
TOP_LEVEL_ROUTE: Final = "*"


def package_version() -> str:
    version, other = node.package_version("@fastify/cors"), node.package_version("fastify")
    return f"{version} (fastify {other}; node {node.node_version()})"


def _options(rules: EffectivePolicy) -> dict[str, Any]:
    """The options of ``register(cors, options)``."""
    c.refuse_private_network(rules, FRAMEWORK)
    c.refuse_literal_wildcard_under_credentials(rules, "allow_methods", FRAMEWORK)
    c.refuse_literal_wildcard_under_credentials(rules, "expose_headers", FRAMEWORK)
    return {
        "origin": c.node_origin_option(rules, FRAMEWORK),
        "methods": c.methods(rules),
        "credentials": rules.allow_credentials,
        "exposedHeaders": c.exposed(rules) or None,
        "allowedHeaders": None if c.any_header(rules) else c.header_list(rules),
        "maxAge": rules.max_age,
    }


def _route_prefix(rule: PathRule) -> str:
    """The table's prefix as a Fastify route prefix (``:`` escaped as find-my-way reads it)."""
    if rule.prefix is None:
        raise Inexpressible(
            f"[[paths]]: {rule.describe()}: Fastify routes are path templates (static parts, "
            "parameters, a trailing wildcard), not a regular expression over the whole path"
        )
    prefix = rule.prefix or "/"  # "" matches every path, as "/" does
    if "*" in prefix:
        raise Inexpressible(
            f"[[paths]]: {rule.describe()}: find-my-way reads '*' in a route as a wildcard "
            "(allowed only last) and has no escape for it"
        )
    escapes = node.decoded_escapes(prefix)
    if escapes:
        raise Inexpressible(
            f"[[paths]]: {rule.describe()}: Fastify matches routes on the decodeURI-decoded "
            f"path, where {', '.join(escapes)} is the character it encodes; the policy matches "
            "the raw path"
        )
    return prefix.replace(":", "::")


def _routes(prefix: str) -> list[tuple[str, str]]:
    """The demo routes of a table: ``(url under the prefix, the full route)``; a url ``/`` is
    registered with ``prefixTrailingSlash: 'no-slash'`` (the prefix alone)."""
    if prefix.endswith("/"):
        return [("*", prefix + "*")]
    return [("/", prefix), ("/*", prefix + "/*")]


def configuration(policy: CorsPolicy) -> dict[str, Any]:
    """``scopes``: an encapsulated context each (``prefix``: the context's route prefix, ``None``
    for the top level; ``routes``: the demo routes under it; ``options``: the plugin's options),
    for the tables that apply to some path in declaration order, then the top level."""
    scopes: list[dict[str, Any]] = []
    registered: set[str] = set()
    tables, top_level_applies = node.applying_tables(policy)
    for index, rule in tables:
        prefix = _route_prefix(rule)
        routes = _routes(prefix)
        scopes.append(
            {
                "prefix": prefix,
                # a route an earlier table registered stays that table's (first match wins)
                "routes": [url for url, full in routes if full not in registered],
                "options": _options(policy.resolved[index]),
            }
        )
        registered.update(full for _, full in routes)
    if top_level_applies:
        scopes.append(
            {"prefix": None, "routes": [TOP_LEVEL_ROUTE], "options": _options(policy.top_level)}
        )
    return {"scopes": scopes}


def build_target(policy: CorsPolicy) -> Target:
    return node.build_target(NAME, configuration(policy))


def shutdown() -> None:
    node.shutdown(NAME)


read_policy = node_options.read_fastify
"""The policy a JavaScript module's CORS options mean (:mod:`conformance.adapters.node_options`):
``source`` is the path of a module whose default export is the options object, or the options."""
