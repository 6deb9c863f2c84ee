"""Koa 3 with ``@koa/cors``, configured from a policy, as a real server on 127.0.0.1
(:mod:`conformance.adapters.node`).

``@koa/cors`` takes one origin (a string, ``*``) or a function that the application writes; a
list is application code, not configuration. What it cannot express:

* more than one allowed origin, or any ``allow_origin_patterns``;
* ``allow_headers = []``: an empty list makes ``@koa/cors`` reflect every requested header;
* ``[[paths]]``: the middleware is app-wide (Koa has no router of its own);
* ``allow_methods = ["*"]`` or ``expose_headers = ["*"]`` with credentials: the lists are sent as
  they are, and under credentials a browser reads ``*`` as a name.

Any origin with credentials is ``origin: "*"`` with ``credentials: true`` (``@koa/cors`` then
reflects the request's origin); ``max_age = 0`` is given as the string ``"0"`` (a number 0 is
dropped).
"""

from __future__ import annotations

from typing import Any, Final

from conformance.adapters import Inexpressible, node, node_options
from conformance.adapters import _common as c
from conformance.targets import Target
from reference.policy import ANY, CorsPolicy

NAME: Final = "koa-cors"
FRAMEWORK: Final = "@koa/cors"
ROUTED_METHODS: Final = node.NODE_HTTP_METHODS


def package_version() -> str:
    version, other = node.package_version("@koa/cors"), node.package_version("koa")
    return f"{version} (koa {other}; node {node.node_version()})"


def configuration(policy: CorsPolicy) -> dict[str, Any]:
    """``options``: the options of ``cors(options)``."""
    c.refuse_paths(policy, "the middleware is app-wide")
    c.refuse_patterns(policy, FRAMEWORK)
    c.refuse_literal_wildcard_under_credentials(policy, "allow_methods", FRAMEWORK)
    c.refuse_literal_wildcard_under_credentials(policy, "expose_headers", FRAMEWORK)
    if c.any_origin(policy):
        origin = ANY
    else:
        listed = c.listed_origins(policy)
        if len(listed) != 1:
            raise Inexpressible(
                f"allow_origins: {len(listed)} origins: @koa/cors takes one origin (or a "
                "function the application writes)"
            )
        origin = listed[0]
    if not c.any_header(policy) and not policy.allow_headers:
        raise Inexpressible(
            "allow_headers: an empty list: @koa/cors then reflects every requested header"
        )
    options: dict[str, Any] = {
        "origin": origin,
        "allowMethods": c.methods(policy),
        "credentials": policy.allow_credentials,
        "exposeHeaders": c.exposed(policy),
        "privateNetworkAccess": policy.allow_private_network,
    }
    if not c.any_header(policy):
        options["allowHeaders"] = c.header_list(policy)
    if policy.max_age is not None:
        options["maxAge"] = str(policy.max_age)
    return {"options": options}


def build_target(policy: CorsPolicy) -> Target:
    return node.build_target(NAME, configuration(policy))


def shutdown() -> None:
    node.shutdown(NAME)


read_policy = node_options.read_koa
"""The policy a JavaScript module's CORS options mean (:mod:`conformance.adapters.node_options`):
``source`` is the path of a module whose default export is the options object, or the options."""
