"""sanic-ext's CORS (the ``CORS_*`` settings of ``Extend``) configured from a policy, on a Sanic
app whose one route (every path) serves the demo application. The app runs in process through
Sanic's ASGI interface, its lifespan included (sanic-ext sets CORS up at server start).

What it cannot express:

* ``[[paths]]``: the ``CORS_*`` settings are app-wide (the ``@cors`` decorator could scope them
  per route; not mapped by this adapter yet);
* ``allow_private_network``: sanic-ext has no such option.

Any origin with credentials is ``CORS_ORIGINS=[re.compile(".*")]`` (sanic-ext reflects a matching
origin; ``"*"`` with credentials is refused at start-up). Sanic routes only the standard methods
(:data:`ROUTED_METHODS`); requests with other methods are skipped.
"""

from __future__ import annotations

import itertools
import re
from typing import Any, Final

from conformance.adapters import _common as c
from conformance.servers.reference import demo_response
from conformance.targets import Target
from reference.policy import ANY, CorsPolicy

NAME: Final = "sanic-ext"
FRAMEWORK: Final = "sanic-ext"
ROUTED_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_APP_NUMBERS = itertools.count(1)


def package_version() -> str:
    return f"{c.package_version('sanic-ext')} (sanic {c.package_version('sanic')})"


def configuration(policy: CorsPolicy) -> dict[str, Any]:
    """The ``CORS_*`` settings of the Sanic app for ``policy``."""
    c.refuse_paths(policy, "the CORS_* settings are app-wide (@cors per route not mapped yet)")
    c.refuse_private_network(policy, FRAMEWORK)
    origins: str | list[str | re.Pattern[str]]
    if c.any_origin(policy) and policy.allow_credentials:
        origins = [re.compile(".*")]
    elif c.any_origin(policy):
        origins = ANY
    else:
        origins = [*c.listed_origins(policy)]
        origins += [re.compile(c.fullmatch_pattern(p)) for p in policy.allow_origin_patterns]
    return {
        "CORS_ORIGINS": origins,
        "CORS_SEND_WILDCARD": c.any_origin(policy) and not policy.allow_credentials,
        "CORS_SUPPORTS_CREDENTIALS": policy.allow_credentials,
        "CORS_METHODS": c.methods(policy),
        "CORS_ALLOW_HEADERS": [ANY] if c.any_header(policy) else c.header_list(policy),
        "CORS_EXPOSE_HEADERS": c.exposed(policy),
        "CORS_MAX_AGE": "" if policy.max_age is None else str(policy.max_age),
    }


def build_app(policy: CorsPolicy) -> Any:
    from sanic import HTTPResponse, Sanic
    from sanic_ext import Extend

    config = configuration(policy)
    app = Sanic(f"cors_conformance_{next(_APP_NUMBERS)}", configure_logging=False)
    app.config.update(config)
    app.config.TOUCHUP = False  # Sanic rewrites its own modules at start-up, once per process

    # No annotations: Sanic reads the handler's, and these names are local.
    async def demo(request, path=""):  # type: ignore[no-untyped-def]  # noqa: ARG001
        status, headers, body = demo_response(request.method, request.path)
        response = HTTPResponse(body, status=status)
        for name, value in headers:
            if name.lower() != b"content-length":
                response.headers[name.decode()] = value.decode()
        return response

    methods = sorted(ROUTED_METHODS - {"OPTIONS"})
    app.add_route(demo, "/", methods=methods, name="root")
    app.add_route(demo, "/<path:path>", methods=methods, name="demo")
    Extend(app)
    return app


def build_target(policy: CorsPolicy) -> Target:
    return c.LifespanAsgiTarget(build_app(policy), name=NAME)
