"""Starlette's ``CORSMiddleware`` configured from a policy.

What it cannot express: ``[[paths]]`` overrides (one middleware per app); omitting
``Access-Control-Max-Age`` (``max_age`` always has a value; the policy's ``None`` maps to
Starlette's default, 600, which no check depends on).
"""

from __future__ import annotations

from typing import Any

from conformance.adapters import Inexpressible
from conformance.servers.reference import demo_asgi
from reference.policy import CorsPolicy


def configuration(policy: CorsPolicy) -> dict[str, Any]:
    """The keyword arguments of ``CORSMiddleware`` for ``policy``."""
    if policy.paths:
        raise Inexpressible("[[paths]]: CORSMiddleware applies one configuration to every path")
    patterns = policy.allow_origin_patterns
    return {
        "allow_origins": list(policy.allow_origins),
        "allow_origin_regex": "|".join(f"(?:{p})" for p in patterns) if patterns else None,
        "allow_methods": list(policy.allow_methods),
        "allow_headers": list(policy.allow_headers),
        "allow_credentials": policy.allow_credentials,
        "expose_headers": list(policy.expose_headers),
        "max_age": 600 if policy.max_age is None else policy.max_age,
        "allow_private_network": policy.allow_private_network,
    }


def build_app(policy: CorsPolicy) -> Any:
    from starlette.middleware.cors import CORSMiddleware

    return CORSMiddleware(demo_asgi, **configuration(policy))
