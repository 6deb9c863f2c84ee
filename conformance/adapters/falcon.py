"""Falcon's ``CORSMiddleware`` configured from a policy, on a Falcon WSGI app whose one resource
(every path) serves the demo application.

Falcon's middleware takes only origins, exposed headers, credentials and private network; the
rest comes from the app: ``Access-Control-Allow-Methods`` is the resource's ``Allow`` header (the
methods it has responders for), ``Access-Control-Allow-Headers`` echoes whatever is requested,
and ``Access-Control-Max-Age`` is always 86400. So the adapter gives the resource a responder
for exactly the methods the policy allows, and what it cannot express is:

* ``[[paths]]``: the middleware is app-wide;
* ``allow_origin_patterns``: origins are an exact list;
* ``allow_methods = ["*"]``: a resource responds to a fixed set of methods;
* ``allow_headers`` other than ``["*"]``: every requested header is allowed;
* ``max_age`` other than 86400.

Falcon routes only the methods it knows (:data:`ROUTED_METHODS`); requests with other methods are
skipped.
"""

from __future__ import annotations

from typing import Any, Final

from conformance.adapters import Inexpressible
from conformance.adapters import _common as c
from conformance.servers.reference import demo_response
from conformance.targets import Target, WsgiTarget
from reference.policy import ANY, CorsPolicy

NAME: Final = "falcon"
FRAMEWORK: Final = "Falcon's CORSMiddleware"
FALCON_MAX_AGE: Final = 86400
ROUTED_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def package_version() -> str:
    return c.package_version("falcon")


def configuration(policy: CorsPolicy) -> dict[str, Any]:
    """``middleware``: the keyword arguments of ``falcon.CORSMiddleware``; ``responders``: the
    methods the resource responds to."""
    c.refuse_paths(policy, "CORSMiddleware applies one configuration to the whole app")
    c.refuse_patterns(policy, FRAMEWORK)
    if ANY in policy.allow_methods:
        raise Inexpressible(
            "allow_methods: Falcon allows the methods the resource has responders for; there is "
            "no 'any method'"
        )
    if not c.any_header(policy):
        raise Inexpressible(
            "allow_headers: Falcon's CORSMiddleware allows every requested header; the policy "
            "lists some"
        )
    if policy.max_age != FALCON_MAX_AGE:
        raise Inexpressible(
            f"max_age: Falcon's CORSMiddleware always sends Access-Control-Max-Age: "
            f"{FALCON_MAX_AGE}; the policy says {policy.max_age}"
        )
    any_origin = c.any_origin(policy)
    return {
        "middleware": {
            "allow_origins": ANY if any_origin else c.listed_origins(policy),
            "expose_headers": c.exposed(policy) or None,
            "allow_credentials": ANY if policy.allow_credentials else None,
            "allow_private_network": policy.allow_private_network,
        },
        "responders": sorted(m for m in c.methods(policy) if m in ROUTED_METHODS),
    }


def _responder(self: Any, req: Any, resp: Any, path: str = "") -> None:  # noqa: ARG001 (Falcon's signature)
    status, headers, body = demo_response(req.method, req.relative_uri)
    resp.status = status
    for name, value in headers:
        if name.lower() != b"content-length":
            resp.set_header(name.decode(), value.decode())
    resp.data = body


def build_app(policy: CorsPolicy) -> Any:
    import falcon

    config = configuration(policy)
    responders = {f"on_{m.lower()}": _responder for m in config["responders"]}
    resource = type("Demo", (), responders)()
    app = falcon.App(middleware=[falcon.CORSMiddleware(**config["middleware"])])
    app.add_route("/", resource)
    app.add_route("/{path:path}", resource)
    return app


def build_target(policy: CorsPolicy) -> Target:
    return WsgiTarget(build_app(policy), name=NAME)
