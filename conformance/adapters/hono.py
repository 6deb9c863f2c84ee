"""Hono 4 with its ``cors`` middleware (``hono/cors``), configured from a policy, served by
``@hono/node-server`` as a real server on 127.0.0.1 (:mod:`conformance.adapters.node`).

What it cannot express:

* ``allow_origin_patterns``: origins are a string or an exact list (or a function the
  application writes);
* any origin with credentials: ``origin: "*"`` is sent literally, and reflecting needs an origin
  function (application code);
* ``allow_headers = []``: an empty list makes Hono reflect every requested header;
* ``allow_methods = ["*"]`` or ``expose_headers = ["*"]`` with credentials: sent as they are;
* ``allow_private_network``: no such option;
* ``[[paths]]``: middlewares registered for several paths all run (not mapped by this adapter).
"""

from __future__ import annotations

from typing import Any, Final

from conformance.adapters import Inexpressible, node
from conformance.adapters import _common as c
from conformance.targets import Target
from reference.policy import ANY, CorsPolicy

NAME: Final = "hono"
FRAMEWORK: Final = "hono/cors"
ROUTED_METHODS: Final = node.NODE_HTTP_METHODS


def package_version() -> str:
    version, other = node.package_version("hono"), node.package_version("@hono/node-server")
    return f"{version} (@hono/node-server {other}; node {node.node_version()})"


def configuration(policy: CorsPolicy) -> dict[str, Any]:
    """``options``: the options of ``cors(options)``."""
    c.refuse_paths(policy, "middlewares registered for several paths all run (not mapped)")
    c.refuse_patterns(policy, FRAMEWORK)
    c.refuse_private_network(policy, FRAMEWORK)
    c.refuse_literal_wildcard_under_credentials(policy, "allow_methods", FRAMEWORK)
    c.refuse_literal_wildcard_under_credentials(policy, "expose_headers", FRAMEWORK)
    if c.any_origin(policy) and policy.allow_credentials:
        raise Inexpressible(
            "allow_origins: '*' with credentials: hono sends '*' literally; reflecting the "
            "origin needs an origin function (application code)"
        )
    if not c.any_header(policy) and not policy.allow_headers:
        raise Inexpressible(
            "allow_headers: an empty list: hono then reflects every requested header"
        )
    options: dict[str, Any] = {
        "origin": ANY if c.any_origin(policy) else c.listed_origins(policy),
        "allowMethods": c.methods(policy),
        "allowHeaders": [] if c.any_header(policy) else c.header_list(policy),
        "exposeHeaders": c.exposed(policy),
        "credentials": policy.allow_credentials,
    }
    if policy.max_age is not None:
        options["maxAge"] = policy.max_age
    return {"options": options}


def build_target(policy: CorsPolicy) -> Target:
    return node.build_target(NAME, configuration(policy))


def shutdown() -> None:
    node.shutdown(NAME)
