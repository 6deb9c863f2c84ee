"""Fastify 5 with ``@fastify/cors``, configured from a policy, as a real server on 127.0.0.1
(:mod:`conformance.adapters.node`).

What it cannot express:

* ``[[paths]]``: the plugin is registered once for the app (per-route ``config.cors`` is not
  mapped by this adapter yet);
* ``allow_private_network``: ``@fastify/cors`` has no such option;
* ``allow_methods = ["*"]`` or ``expose_headers = ["*"]`` with credentials: the lists are sent as
  they are, and under credentials a browser reads ``*`` as a name;
* a pattern with Python-only regular-expression syntax.

Fastify routes only the methods it knows (:data:`ROUTED_METHODS`); other methods are skipped.
"""

from __future__ import annotations

from typing import Any, Final

from conformance.adapters import _common as c
from conformance.adapters import node
from conformance.targets import Target
from reference.policy import CorsPolicy

NAME: Final = "fastify-cors"
FRAMEWORK: Final = "@fastify/cors"
ROUTED_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""The methods the demo route answers (Fastify routes only those it is given; and Node's parser
refuses lowercase methods)."""


def package_version() -> str:
    version, other = node.package_version("@fastify/cors"), node.package_version("fastify")
    return f"{version} (fastify {other}; node {node.node_version()})"


def configuration(policy: CorsPolicy) -> dict[str, Any]:
    """``options``: the options of ``fastify.register(cors, options)``."""
    c.refuse_paths(policy, "the plugin is registered once (per-route config not mapped yet)")
    c.refuse_private_network(policy, FRAMEWORK)
    c.refuse_literal_wildcard_under_credentials(policy, "allow_methods", FRAMEWORK)
    c.refuse_literal_wildcard_under_credentials(policy, "expose_headers", FRAMEWORK)
    origin = c.node_origin_option(policy, FRAMEWORK)
    options: dict[str, Any] = {
        "origin": origin,
        "methods": c.methods(policy),
        "credentials": policy.allow_credentials,
        "exposedHeaders": c.exposed(policy) or None,
        "allowedHeaders": None if c.any_header(policy) else c.header_list(policy),
        "maxAge": policy.max_age,
    }
    return {"options": options}


def build_target(policy: CorsPolicy) -> Target:
    return node.build_target(NAME, configuration(policy))


def shutdown() -> None:
    node.shutdown(NAME)
