"""Litestar's ``CORSConfig`` configured from a policy, on a Litestar app that mounts the demo
application at ``/``.

What it cannot express:

* ``[[paths]]``: ``cors_config`` is app-wide;
* ``max_age`` unset: Litestar always sends ``Access-Control-Max-Age`` (600 by default);
* ``allow_headers`` that leave out ``Accept``, ``Accept-Language``, ``Content-Language`` or
  ``Content-Type``: Litestar always allows those four;
* ``allow_private_network``: ``CORSConfig`` has no such option.

Any origin *with* credentials is configured as ``allow_origin_regex=".*"`` (Litestar reflects a
matching origin); ``allow_origins=["*"]`` would send a literal ``*``.
"""

from __future__ import annotations

from typing import Any, Final

from conformance.adapters import _common as c
from conformance.servers.reference import demo_asgi
from conformance.targets import Target
from reference.policy import ANY, CorsPolicy

NAME: Final = "litestar"
FRAMEWORK: Final = "Litestar's CORSConfig"
LITESTAR_DEFAULT_MAX_AGE: Final = 600


def package_version() -> str:
    return c.package_version("litestar")


def configuration(policy: CorsPolicy) -> dict[str, Any]:
    """The keyword arguments of ``litestar.config.cors.CORSConfig`` for ``policy``."""
    c.refuse_paths(policy, "cors_config applies one configuration to the whole app")
    max_age = c.refuse_unset_max_age(policy, FRAMEWORK, LITESTAR_DEFAULT_MAX_AGE)
    c.refuse_unlisted_safelisted_headers(policy, FRAMEWORK)
    c.refuse_private_network(policy, FRAMEWORK)
    if c.any_origin(policy) and policy.allow_credentials:
        origins: list[str] = []
        regex: str | None = ".*"
    elif c.any_origin(policy):
        origins, regex = [ANY], None
    else:
        origins = c.listed_origins(policy)
        regex = c.combined_fullmatch(policy.allow_origin_patterns)
    return {
        "allow_origins": origins,
        "allow_origin_regex": regex,
        "allow_methods": c.methods(policy),
        "allow_headers": [ANY] if c.any_header(policy) else c.header_list(policy),
        "allow_credentials": policy.allow_credentials,
        "expose_headers": c.exposed(policy),
        "max_age": max_age,
    }


def build_app(policy: CorsPolicy) -> Any:
    from litestar import Litestar, asgi
    from litestar.config.cors import CORSConfig

    mount = asgi("/", is_mount=True, copy_scope=True)(demo_asgi)
    return Litestar(
        route_handlers=[mount],
        cors_config=CORSConfig(**configuration(policy)),
        openapi_config=None,
        logging_config=None,
    )


def build_target(policy: CorsPolicy) -> Target:
    return c.LifespanAsgiTarget(build_app(policy), name=NAME)
