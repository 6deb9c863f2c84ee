"""BlackSheep's CORS (``app.use_cors(...)``) configured from a policy, on a BlackSheep app whose
catch-all route serves the demo application.

What it cannot express:

* ``[[paths]]``: ``use_cors`` sets the default policy (named policies per route could scope it;
  not mapped by this adapter yet);
* ``allow_origin_patterns``: origins are an exact list;
* ``max_age`` unset: BlackSheep always sends ``Access-Control-Max-Age`` (5 by default);
* ``allow_private_network``: no such option;
* ``allow_methods = ["*"]`` with credentials: the methods are sent as listed, and under
  credentials a browser reads ``*`` as a method name.

BlackSheep's CORS middleware answers only requests that match a route, so the demo is routed for
the standard methods (:data:`ROUTED_METHODS`); requests with other methods are skipped.
"""

from __future__ import annotations

from typing import Any, Final

from blacksheep import Application, Request, Response
from blacksheep.contents import Content
from blacksheep.server.routing import Router

from conformance.adapters import _common as c
from conformance.servers.reference import demo_response
from conformance.targets import Target
from reference.policy import ANY, CorsPolicy

NAME: Final = "blacksheep"
FRAMEWORK: Final = "BlackSheep"
BLACKSHEEP_DEFAULT_MAX_AGE: Final = 5
ROUTED_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def package_version() -> str:
    return c.package_version("blacksheep")


def configuration(policy: CorsPolicy) -> dict[str, Any]:
    """The keyword arguments of ``app.use_cors(...)`` for ``policy``."""
    c.refuse_paths(policy, "use_cors sets one default policy (named policies not mapped yet)")
    c.refuse_patterns(policy, FRAMEWORK)
    max_age = c.refuse_unset_max_age(policy, FRAMEWORK, BLACKSHEEP_DEFAULT_MAX_AGE)
    c.refuse_private_network(policy, FRAMEWORK)
    c.refuse_literal_wildcard_under_credentials(policy, "allow_methods", FRAMEWORK)
    return {
        "allow_origins": [ANY] if c.any_origin(policy) else c.listed_origins(policy),
        "allow_methods": c.methods(policy),
        "allow_headers": [ANY] if c.any_header(policy) else c.header_list(policy),
        "allow_credentials": policy.allow_credentials,
        "expose_headers": c.exposed(policy),
        "max_age": max_age,
    }


def build_app(policy: CorsPolicy) -> Any:
    from blacksheep import Response

    config = configuration(policy)
    app = Application(router=Router())  # not the module-level default router
    app.use_cors(**config)

    async def demo(request: Request) -> Response:
        status, headers, body = demo_response(request.method, request.url.path.decode("latin-1"))
        content_type = b"text/plain; charset=utf-8"
        extra = [
            (n, v) for n, v in headers if n.lower() not in (b"content-type", b"content-length")
        ]
        return Response(status, extra, Content(content_type, body) if body else None)

    for method in sorted(ROUTED_METHODS - {"OPTIONS"}):
        app.router.add(method, "/", demo)
        app.router.add(method, "*", demo)
    return app


def build_target(policy: CorsPolicy) -> Target:
    return c.LifespanAsgiTarget(build_app(policy), name=NAME)
