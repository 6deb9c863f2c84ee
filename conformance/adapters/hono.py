"""Hono 4 with its ``cors`` middleware (``hono/cors``), configured from a policy, served by
``@hono/node-server`` as a real server on 127.0.0.1 (:mod:`conformance.adapters.node`).

``[[paths]]`` tables become sub-apps grouped under their prefix (``app.route(prefix, sub)``, the
grouping Hono documents), one per table in declaration order, each with its own ``cors(options)``
in front of its handler; the top level's ``cors`` and handler come last, on the app itself for
``*``. Hono runs every middleware and handler whose path matches, in registration order, until
one answers: ``app.use('/public/*', cors(a))`` then ``app.use('*', cors(b))`` alone runs both,
but here a group's handler answers the request after its own ``cors`` (which answers a preflight
itself), so nothing registered later runs and the first matching table wins, as in the policy.
This is configuration only (Hono's router picks the group); a middleware choosing the options by
path would be application code matching paths, as the origin function refused below would be,
and would leave out what is tested here: how Hono routes a path to a group. The group paths are
``/public/*`` for prefix ``/public`` (Hono's trailing ``/*`` also matches ``/public`` itself,
not ``/publicx``), ``/api/`` and ``/api/:rest{.+}`` for prefix ``/api/`` (not ``/api``), and
``/*`` for ``/``. Hono's router matches the ``decodeURI``-decoded path, so ``DECODES_PATHS``;
tables that never apply (an earlier prefix covers them) are left out.

What it cannot express:

* ``allow_origin_patterns``: origins are a string or an exact list (or a function the
  application writes);
* any origin with credentials: ``origin: "*"`` is sent literally, and reflecting needs an origin
  function (application code);
* ``allow_headers = []``: an empty list makes Hono reflect every requested header;
* ``allow_methods = ["*"]`` or ``expose_headers = ["*"]`` with credentials: sent as they are;
* ``allow_private_network``: no such option;
* ``[[paths]]`` with a ``pattern``: groups are mounted at path prefixes, and Hono's route syntax
  has no regular expression over the whole path (``:name{regex}`` parameters take no braces);
* ``[[paths]]`` with a prefix containing ``:`` or ``*`` (Hono's parameter and wildcard syntax,
  with no escape) or a percent-escape that ``decodeURI`` decodes (the router sees ``/p%41`` as
  ``/pA``; the policy matches the raw path).
"""

from __future__ import annotations

from typing import Any, Final

from conformance.adapters import Inexpressible, node, node_options
from conformance.adapters import _common as c
from conformance.targets import Target
from reference.policy import ANY, CorsPolicy, EffectivePolicy, PathRule

NAME: Final = "hono"
FRAMEWORK: Final = "hono/cors"
ROUTED_METHODS: Final = node.NODE_HTTP_METHODS
DECODES_PATHS: Final = True
"""Hono's router matches routes on the ``decodeURI``-decoded request path."""


def package_version() -> str:
    version, other = node.package_version("hono"), node.package_version("@hono/node-server")
    return f"{version} (@hono/node-server {other}; node {node.node_version()})"


def _options(rules: EffectivePolicy) -> dict[str, Any]:
    """The options of ``cors(options)``."""
    c.refuse_patterns(rules, FRAMEWORK)
    c.refuse_private_network(rules, FRAMEWORK)
    c.refuse_literal_wildcard_under_credentials(rules, "allow_methods", FRAMEWORK)
    c.refuse_literal_wildcard_under_credentials(rules, "expose_headers", FRAMEWORK)
    if c.any_origin(rules) and rules.allow_credentials:
        raise Inexpressible(
            "allow_origins: '*' with credentials: hono sends '*' literally; reflecting the "
            "origin needs an origin function (application code)"
        )
    if not c.any_header(rules) and not rules.allow_headers:
        raise Inexpressible(
            "allow_headers: an empty list: hono then reflects every requested header"
        )
    options: dict[str, Any] = {
        "origin": ANY if c.any_origin(rules) else c.listed_origins(rules),
        "allowMethods": c.methods(rules),
        "allowHeaders": [] if c.any_header(rules) else c.header_list(rules),
        "exposeHeaders": c.exposed(rules),
        "credentials": rules.allow_credentials,
    }
    if rules.max_age is not None:
        options["maxAge"] = rules.max_age
    return options


def _group(rule: PathRule) -> tuple[str, list[str]]:
    """Where a table's sub-app is mounted and its paths there (``cors`` and the handler each)."""
    if rule.prefix is None:
        raise Inexpressible(
            f"[[paths]]: {rule.describe()}: groups are mounted at path prefixes here, and Hono's "
            "route syntax has no regular expression over the whole path"
        )
    prefix = rule.prefix or "/"  # "" matches every path, as "/" does
    special = sorted({ch for ch in prefix if ch in ":*"})
    if special:
        raise Inexpressible(
            f"[[paths]]: {rule.describe()}: Hono reads {' and '.join(map(repr, special))} in a "
            "route as parameter or wildcard syntax and has no escape for it"
        )
    escapes = node.decoded_escapes(prefix)
    if escapes:
        raise Inexpressible(
            f"[[paths]]: {rule.describe()}: Hono matches routes on the decodeURI-decoded path, "
            f"where {', '.join(escapes)} is the character it encodes; the policy matches the raw "
            "path"
        )
    if prefix == "/" or not prefix.endswith("/"):
        return prefix, ["*"]  # "/public/*": /public, /public/ and below; "/*": every path
    return prefix, ["/", "/:rest{.+}"]  # "/api/" and below it, not "/api"


def configuration(policy: CorsPolicy) -> dict[str, Any]:
    """``scopes``: a sub-app each (``mount``: its ``app.route`` path, ``None`` for the top level,
    registered on the app itself; ``paths``: where its ``cors`` and handler are registered in
    it; ``options``: the ``cors`` options), for the tables that apply to some path in
    declaration order, then the top level."""
    scopes: list[dict[str, Any]] = []
    tables, top_level_applies = node.applying_tables(policy)
    for index, rule in tables:
        mount, paths = _group(rule)
        scopes.append({"mount": mount, "paths": paths, "options": _options(policy.resolved[index])})
    if top_level_applies:
        scopes.append({"mount": None, "paths": ["*"], "options": _options(policy.top_level)})
    return {"scopes": scopes}


def build_target(policy: CorsPolicy) -> Target:
    return node.build_target(NAME, configuration(policy))


def shutdown() -> None:
    node.shutdown(NAME)


read_policy = node_options.read_hono
"""The policy a JavaScript module's CORS options mean (:mod:`conformance.adapters.node_options`):
``source`` is the path of a module whose default export is the options object, or the options."""
