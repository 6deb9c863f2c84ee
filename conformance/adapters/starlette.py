"""Starlette's ``CORSMiddleware`` configured from a policy, and a policy read back from an app's
``CORSMiddleware`` arguments.

What it cannot express:

* ``[[paths]]``: one middleware applies one configuration to every path;
* ``max_age`` unset: ``CORSMiddleware`` always sends ``Access-Control-Max-Age`` (600 by default);
* ``allow_headers`` that leave out ``Accept``, ``Accept-Language``, ``Content-Language`` or
  ``Content-Type``: ``CORSMiddleware`` always allows those four, whatever their value.

``allow_methods = ["*"]`` *is* expressible (Starlette documents ``["*"]`` as "all methods"); what
Starlette then does with it is for the suite to judge.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from conformance.adapters import _common as c
from conformance.servers.reference import demo_asgi
from conformance.targets import AsgiTarget, Target
from reference.policy import ANY, CorsPolicy

NAME: Final = "starlette"
FRAMEWORK: Final = "Starlette's CORSMiddleware"
STARLETTE_DEFAULT_MAX_AGE: Final = 600


def package_version() -> str:
    return c.package_version("starlette")


def configuration(policy: CorsPolicy) -> dict[str, Any]:
    """The keyword arguments of ``CORSMiddleware`` for ``policy``."""
    c.refuse_paths(policy, "CORSMiddleware applies one configuration to every path")
    max_age = c.refuse_unset_max_age(policy, FRAMEWORK, STARLETTE_DEFAULT_MAX_AGE)
    c.refuse_unlisted_safelisted_headers(policy, FRAMEWORK)
    origins = [ANY] if c.any_origin(policy) else c.listed_origins(policy)
    return {
        "allow_origins": origins,
        "allow_origin_regex": c.combined_fullmatch(policy.allow_origin_patterns),
        "allow_methods": c.methods(policy),
        "allow_headers": [ANY] if c.any_header(policy) else c.header_list(policy),
        "allow_credentials": policy.allow_credentials,
        "expose_headers": c.exposed(policy),
        "max_age": max_age,
        "allow_private_network": policy.allow_private_network,
    }


def build_app(policy: CorsPolicy) -> Any:
    from starlette.middleware.cors import CORSMiddleware

    return CORSMiddleware(demo_asgi, **configuration(policy))


def build_target(policy: CorsPolicy) -> Target:
    return AsgiTarget(build_app(policy), name=NAME)


def read_policy(source: Any) -> CorsPolicy:
    """The policy an app's ``CORSMiddleware`` configuration means.

    ``source`` is a Starlette or FastAPI application (its ``user_middleware`` is searched for
    ``CORSMiddleware``), or the keyword arguments given to ``CORSMiddleware`` as a mapping.
    Starlette's defaults fill what is not given; the four request headers it always allows are
    listed, so the policy says what the middleware does.
    """
    return policy_from_kwargs(middleware_kwargs(source))


def middleware_kwargs(source: Any) -> Mapping[str, Any]:
    if isinstance(source, Mapping):
        return source
    from starlette.middleware.cors import CORSMiddleware

    for middleware in getattr(source, "user_middleware", ()):
        if middleware.cls is CORSMiddleware:
            return dict(middleware.kwargs)
    raise ValueError(f"{source!r}: no CORSMiddleware among its user_middleware")


def policy_from_kwargs(kwargs: Mapping[str, Any]) -> CorsPolicy:
    headers = [h.lower() for h in kwargs.get("allow_headers", ())]
    if ANY not in headers:
        headers += sorted(c.SAFELISTED_REQUEST_HEADERS - set(headers))
    regex = kwargs.get("allow_origin_regex")
    return CorsPolicy(
        allow_origins=tuple(kwargs.get("allow_origins", ())),
        allow_origin_patterns=(regex,) if regex else (),
        allow_methods=tuple(kwargs.get("allow_methods", ("GET",))),
        allow_headers=tuple(headers),
        expose_headers=tuple(kwargs.get("expose_headers", ())),
        allow_credentials=bool(kwargs.get("allow_credentials", False)),
        max_age=int(kwargs.get("max_age", STARLETTE_DEFAULT_MAX_AGE)),
        allow_private_network=bool(kwargs.get("allow_private_network", False)),
    )
