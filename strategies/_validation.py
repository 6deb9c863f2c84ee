"""Argument validation shared by the strategies, in Hypothesis's manner: every bad argument
raises :class:`hypothesis.errors.InvalidArgument` with a message that shows the value."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal, TypeGuard
from urllib.parse import urlsplit

from hypothesis.errors import InvalidArgument

from reference.origins import OriginError, parse_url
from reference.policy import CorsPolicy

Profile = Literal["browser", "hostile"]
PROFILES: Final = ("browser", "hostile")
BROWSER_SCHEMES: Final = ("http", "https")

# Characters a path may hold as a browser sends it: RFC 3986 pchar, "/" and "?" (query), with
# "%" for percent-encoding. Anything else a browser would percent-encode first.
_PATH_CHARS: Final = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/?%"
)


def check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r} must be a bool (True or False)")
    return value


def check_profile(value: object) -> Profile:
    if not _is_profile(value):
        raise InvalidArgument(f"profile={value!r} must be one of {PROFILES!r}")
    return value


def _is_profile(value: object) -> TypeGuard[Profile]:
    return value in PROFILES and isinstance(value, str)


def check_policy(value: object) -> CorsPolicy:
    if not isinstance(value, CorsPolicy):
        raise InvalidArgument(
            f"policy={value!r} must be a reference.policy.CorsPolicy (got {type(value).__name__})"
        )
    return value


def check_schemes(value: object) -> tuple[str, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise InvalidArgument(
            f"schemes={value!r} must be a sequence of scheme names such as ('http', 'https')"
        )
    for scheme in value:
        if scheme not in BROWSER_SCHEMES:
            raise InvalidArgument(
                f"schemes={value!r} contains {scheme!r}; a web page's origin (what a browser "
                f"sends in Origin) has one of the schemes {BROWSER_SCHEMES!r}"
            )
    return tuple(dict.fromkeys(value))


def check_base_url(value: object) -> str:
    """An ``http(s)`` URL with a host and nothing after it (a trailing ``/`` is tolerated);
    returned without the trailing ``/`` so a path can be appended."""
    if not isinstance(value, str):
        raise InvalidArgument(f"base_url={value!r} must be a str such as 'http://testserver'")
    try:
        parts = urlsplit(value)
        parse_url(value)
    except (ValueError, OriginError) as exc:
        raise InvalidArgument(f"base_url={value!r} is not a valid URL ({exc})") from None
    if parts.scheme not in BROWSER_SCHEMES:
        raise InvalidArgument(f"base_url={value!r} must use one of the schemes {BROWSER_SCHEMES!r}")
    if not parts.hostname:
        raise InvalidArgument(f"base_url={value!r} has no host")
    if "@" in parts.netloc:
        raise InvalidArgument(f"base_url={value!r} must not carry userinfo")
    if parts.path not in ("", "/") or parts.query or parts.fragment or value.endswith(("?", "#")):
        raise InvalidArgument(
            f"base_url={value!r} must be scheme://host[:port] without a path, query or "
            "fragment; give paths with paths=..."
        )
    return value.rstrip("/")


def check_paths(value: object) -> tuple[str, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise InvalidArgument(f"paths={value!r} must be a sequence of paths such as ('/',)")
    if not value:
        raise InvalidArgument(f"paths={value!r} must hold at least one path")
    for path in value:
        if not isinstance(path, str) or not path.startswith("/"):
            raise InvalidArgument(f"paths={value!r}: {path!r} is not a str starting with '/'")
        bad = sorted(set(path) - _PATH_CHARS)
        if bad:
            raise InvalidArgument(
                f"paths={value!r}: {path!r} holds {''.join(bad)!r}, which a browser would "
                "percent-encode; give the path as it goes on the wire"
            )
    return tuple(dict.fromkeys(value))


def is_path(value: str) -> bool:
    """Whether ``value`` is a path as a browser puts it on the request line."""
    return value.startswith("/") and not set(value) - _PATH_CHARS
