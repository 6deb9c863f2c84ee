"""Litestar's ``CORSConfig`` configured from a policy, on a Litestar app that mounts the demo
application at ``/``; and a policy read back from an app's ``cors_config``.

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

import re
from collections.abc import Mapping
from typing import Any, Final

from conformance.adapters import _common as c
from conformance.servers.reference import demo_asgi
from conformance.targets import Target
from reference.policy import ANY, NULL, CorsPolicy, canonical_origin

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


# -- reading a configuration back -----------------------------------------------------------------


def read_policy(source: Any) -> CorsPolicy:
    """The policy a Litestar ``CORSConfig`` means.

    ``source`` is a ``Litestar`` app (its ``cors_config``), a ``CORSConfig``, or the keyword
    arguments of ``CORSConfig`` as a mapping; ``CORSConfig``'s defaults fill what is not given
    (any origin, any method, any header, ``max_age`` 600). Litestar matches origins with one
    regular expression, in full and case-sensitively: an exact entry a browser sends as is stays
    an origin, a glob (``https://*.example``: ``*`` is ``.*``) or an entry a browser never sends
    as is (``https://App.example``) becomes a pattern as Litestar reads it, ``allow_origin_regex``
    another; and ``null`` is listed when that expression matches it (policy patterns never
    match ``null``, Litestar's do). The four request headers Litestar always allows are listed.
    """
    from litestar.config.cors import CORSConfig

    config: Any
    if isinstance(source, CORSConfig):
        config = source
    elif isinstance(source, Mapping):
        try:
            config = CORSConfig(**source)
        except TypeError as exc:
            raise ValueError(f"CORSConfig: {exc}") from None
    else:
        config = getattr(source, "cors_config", None)
        if not isinstance(config, CORSConfig):
            raise ValueError(f"{source!r}: no cors_config (a Litestar app without CORS)")
    return _policy(config)


def _policy(config: Any) -> CorsPolicy:
    origins: list[str] = []
    patterns: list[str] = []
    if config.is_allow_all_origins:
        origins = [ANY]
    else:
        for entry in config.allow_origins:
            if ANY in entry:
                patterns.append(".*".join(re.escape(part) for part in entry.split(ANY)))
            elif canonical_origin(entry) == entry:
                origins.append(entry)
            else:
                patterns.append(re.escape(entry))
        if config.allow_origin_regex:
            patterns.append(config.allow_origin_regex)
        if NULL not in origins and config.allowed_origins_regex.fullmatch(NULL):
            origins.append(NULL)
    headers = [h.lower() for h in config.allow_headers]
    if ANY not in headers:
        headers += sorted(c.SAFELISTED_REQUEST_HEADERS - set(headers))
    return CorsPolicy(
        allow_origins=tuple(dict.fromkeys(origins)),
        allow_origin_patterns=tuple(dict.fromkeys(patterns)),
        allow_methods=(ANY,) if config.is_allow_all_methods else tuple(config.allow_methods),
        allow_headers=(ANY,) if ANY in headers else tuple(dict.fromkeys(headers)),
        expose_headers=tuple(config.expose_headers),
        allow_credentials=bool(config.allow_credentials),
        max_age=int(config.max_age),
        allow_private_network=False,
    )
