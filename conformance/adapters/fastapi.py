"""FastAPI with ``fastapi.middleware.cors.CORSMiddleware`` (Starlette's), configured from a policy
through ``app.add_middleware``, in front of a FastAPI app that serves the demo application.

The middleware is Starlette's (:mod:`conformance.adapters.starlette`), so what it cannot
express is the same:

* ``[[paths]]``: one middleware applies one configuration to every path;
* ``max_age`` unset: ``CORSMiddleware`` always sends ``Access-Control-Max-Age`` (600 by default);
* ``allow_headers`` that leave out ``Accept``, ``Accept-Language``, ``Content-Language`` or
  ``Content-Type``: ``CORSMiddleware`` always allows those four, whatever their value.

The adapter is here because FastAPI users configure it through FastAPI, and FastAPI pins its own
Starlette range.
"""

from __future__ import annotations

from typing import Any, Final

from conformance.adapters import _common as c
from conformance.adapters import starlette
from conformance.servers.reference import demo_asgi
from conformance.targets import AsgiTarget, Target
from reference.policy import CorsPolicy

NAME: Final = "fastapi"


def package_version() -> str:
    return f"{c.package_version('fastapi')} (starlette {c.package_version('starlette')})"


def configuration(policy: CorsPolicy) -> dict[str, Any]:
    return starlette.configuration(policy)


def build_app(policy: CorsPolicy) -> Any:
    from fastapi import FastAPI
    from fastapi.middleware.cors import CORSMiddleware

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.add_middleware(CORSMiddleware, **configuration(policy))
    app.mount("/", demo_asgi)
    return app


def build_target(policy: CorsPolicy) -> Target:
    return AsgiTarget(build_app(policy), name=NAME)


def read_policy(source: Any) -> CorsPolicy:
    """The policy a FastAPI app's ``CORSMiddleware`` configuration means (see
    :func:`conformance.adapters.starlette.read_policy`)."""
    return starlette.read_policy(source)
