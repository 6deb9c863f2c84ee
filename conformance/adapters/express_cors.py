"""Express 5 with the ``cors`` middleware, configured from a policy, as a real server on
127.0.0.1 (:mod:`conformance.adapters.node`).

``[[paths]]`` tables become routers mounted at their prefix (``app.use(prefix, router)``, case
sensitive, on the raw path), each with its own ``cors(...)``, in declaration order, before the
top level's: the first matching table wins, as in the policy. What it cannot express:

* ``[[paths]]`` with a ``pattern``: mounted paths are prefixes here;
* ``allow_private_network``: ``cors`` has no such option;
* ``allow_methods = ["*"]`` or ``expose_headers = ["*"]`` with credentials: ``cors`` sends the
  lists as they are, and under credentials a browser reads ``*`` as a name;
* a pattern with Python-only regular-expression syntax (patterns become JavaScript ``RegExp``).

Any origin with credentials is ``origin: true`` (``cors`` reflects the request's origin); any
request header is ``allowedHeaders`` left unset (``cors`` reflects the requested ones).
"""

from __future__ import annotations

from typing import Any, Final

from conformance.adapters import Inexpressible, node, node_options
from conformance.adapters import _common as c
from conformance.targets import Target
from reference.policy import CorsPolicy, EffectivePolicy

NAME: Final = "express-cors"
FRAMEWORK: Final = "cors (express)"
ROUTED_METHODS: Final = node.NODE_HTTP_METHODS
SUPPORTS_PATHS: Final = True


def package_version() -> str:
    version, other = node.package_version("cors"), node.package_version("express")
    return f"{version} (express {other}; node {node.node_version()})"


def _options(rules: EffectivePolicy) -> dict[str, Any]:
    c.refuse_private_network(rules, FRAMEWORK)
    c.refuse_literal_wildcard_under_credentials(rules, "allow_methods", FRAMEWORK)
    c.refuse_literal_wildcard_under_credentials(rules, "expose_headers", FRAMEWORK)
    origin = c.node_origin_option(rules, FRAMEWORK)
    options: dict[str, Any] = {
        "origin": origin,
        "methods": c.methods(rules),
        "credentials": rules.allow_credentials,
        "exposedHeaders": c.exposed(rules),
        "preflightContinue": False,
        "optionsSuccessStatus": 204,
    }
    if not c.any_header(rules):
        options["allowedHeaders"] = c.header_list(rules)
    if rules.max_age is not None:
        options["maxAge"] = rules.max_age
    return options


def configuration(policy: CorsPolicy) -> dict[str, Any]:
    """``scopes``: the ``cors`` options for each ``[[paths]]`` prefix, then the top level's."""
    scopes: list[dict[str, Any]] = []
    for index, rule in enumerate(policy.paths, start=1):
        if rule.prefix is None:
            raise Inexpressible("[[paths]]: a pattern table: Express mounts routers at prefixes")
        scopes.append({"prefix": rule.prefix, "options": _options(policy.resolved[index])})
    scopes.append({"prefix": None, "options": _options(policy.top_level)})
    return {"scopes": scopes}


def build_target(policy: CorsPolicy) -> Target:
    return node.build_target(NAME, configuration(policy))


def shutdown() -> None:
    node.shutdown(NAME)


read_policy = node_options.read_express
"""The policy a JavaScript module's CORS options mean (:mod:`conformance.adapters.node_options`):
``source`` is the path of a module whose default export is the options object, or the options."""
