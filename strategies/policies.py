"""Policies: :class:`reference.policy.CorsPolicy` values spanning the configuration space, so a
framework adapter can be driven through it (DESIGN.md "The policy").

Values come from small pools (a few origins, well-formed patterns, header and method names) so
that generated requests hit them often. Shrinks toward the simplest policy: one exact origin,
``GET``/``POST``, no request headers, no credentials, no max-age, no ``[[paths]]``.
"""

from __future__ import annotations

from typing import Any, Final

from hypothesis import strategies as st

from reference.policy import ANY, NULL, OVERRIDABLE_KEYS, CorsPolicy, PathRule, PolicyRules
from strategies._validation import check_bool

__all__ = [
    "EXPOSE_POOL",
    "HEADER_POOL",
    "MAX_AGE_SPECIALS",
    "METHOD_POOL",
    "ORIGIN_POOL",
    "PATH_PREFIXES",
    "PATTERN_POOL",
    "policies",
]

ORIGIN_POOL: Final = (
    "https://app.example",
    "https://admin.example:8443",
    "http://localhost:3000",
    "https://a.example",
)
PATTERN_POOL: Final = (
    r"https://[a-z0-9-]+\.preview\.example",
    r"https://([a-z0-9-]+\.)?app\.example",
    r"http://localhost:[0-9]{4}",
    r"https://pr-[0-9]+\.review\.example",
)
"""Well-formed patterns (dots escaped; ``re.fullmatch`` anchors them)."""
METHOD_POOL: Final = ("GET", "POST", "PUT", "PATCH", "DELETE")
HEADER_POOL: Final = ("content-type", "authorization", "x-requested-with", "x-api-key")
EXPOSE_POOL: Final = ("x-request-id", "x-total-count")
MAX_AGE_SPECIALS: Final = (0, 5, 600, 7200, 86400)
PATH_PREFIXES: Final = ("/public", "/internal")


def _subsets(pool: tuple[str, ...]) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(pool), min_size=1, max_size=len(pool), unique=True).map(tuple)


def _allow_origins() -> st.SearchStrategy[tuple[str, ...]]:
    exact = st.lists(st.sampled_from(ORIGIN_POOL), min_size=1, max_size=3, unique=True).map(tuple)
    return st.one_of(
        st.just(ORIGIN_POOL[:1]),  # the simplest policy's one exact origin
        exact,
        exact.map(lambda entries: (*entries, NULL)),
        st.just((ANY,)),
        st.just((NULL,)),
        st.just(()),  # patterns only, or nothing allowed at all
    )


def _allow_origin_patterns() -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(PATTERN_POOL), max_size=2, unique=True).map(tuple)


def _allow_methods() -> st.SearchStrategy[tuple[str, ...]]:
    return st.one_of(st.just(("GET", "POST")), _subsets(METHOD_POOL), st.just((ANY,)))


def _allow_headers() -> st.SearchStrategy[tuple[str, ...]]:
    return st.one_of(st.just(()), _subsets(HEADER_POOL), st.just((ANY,)))


def _expose_headers() -> st.SearchStrategy[tuple[str, ...]]:
    return st.one_of(st.just(()), _subsets(EXPOSE_POOL), st.just((ANY,)))


def _max_ages() -> st.SearchStrategy[int | None]:
    return st.one_of(st.none(), st.sampled_from(MAX_AGE_SPECIALS), st.integers(0, 86400))


_KEY_STRATEGIES: Final[dict[str, st.SearchStrategy[Any]]] = {
    "allow_origins": _allow_origins(),
    "allow_origin_patterns": _allow_origin_patterns(),
    "allow_methods": _allow_methods(),
    "allow_headers": _allow_headers(),
    "expose_headers": _expose_headers(),
    "allow_credentials": st.booleans(),
    "max_age": _max_ages(),
    "allow_private_network": st.booleans(),
}

# The keys a [[paths]] table may override, in reference.policy's documentation order.
_OVERRIDABLE: Final = tuple(key for key in OVERRIDABLE_KEYS if key in _KEY_STRATEGIES)


@st.composite
def _path_rules(draw: st.DrawFn, prefix: str) -> PathRule:
    """A ``[[paths]]`` table for ``prefix`` that overrides up to three keys."""
    keys = draw(st.lists(st.sampled_from(_OVERRIDABLE), max_size=3, unique=True))
    overrides = {key: draw(_KEY_STRATEGIES[key]) for key in _OVERRIDABLE if key in keys}
    # max_age = None is itself an override ("send no max-age"): max_age_set says it was given.
    return PathRule(
        prefix=prefix, rules=PolicyRules(**overrides), max_age_set="max_age" in overrides
    )


@st.composite
def _policies(draw: st.DrawFn, allow_paths: bool) -> CorsPolicy:
    values = {key: draw(strategy) for key, strategy in _KEY_STRATEGIES.items()}
    paths: tuple[PathRule, ...] = ()
    if allow_paths:
        prefixes = draw(st.lists(st.sampled_from(PATH_PREFIXES), max_size=2, unique=True))
        paths = tuple(draw(_path_rules(prefix)) for prefix in prefixes)
    return CorsPolicy(**values, paths=paths)


def policies(*, allow_paths: bool = True) -> st.SearchStrategy[CorsPolicy]:
    """Policies over every key: exact origins from :data:`ORIGIN_POOL` (``"null"`` among them
    sometimes), ``("*",)``, or none; up to two patterns from :data:`PATTERN_POOL`; methods and
    request headers as subsets of their pools or ``("*",)``; exposed headers likewise;
    credentials; max-age ``None`` or 0..86400 with :data:`MAX_AGE_SPECIALS` mixed in;
    private-network access; with ``allow_paths``, up to two ``[[paths]]`` tables
    (:data:`PATH_PREFIXES`) that each override up to three keys.
    """
    return _policies(check_bool("allow_paths", allow_paths))
