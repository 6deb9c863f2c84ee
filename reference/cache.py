"""The CORS-preflight cache (digest §9) and Access-Control-Max-Age parsing (§9.2).

The cache is an immutable value: operations return a new cache. Time is an input (seconds as a
float), never read from a clock. The network partition key is not modelled: the model is one
top-level site, as a conformance run is.
"""

from __future__ import annotations

import functools
from typing import Final, NamedTuple

from reference.grammar import DELTA_SECONDS
from reference.headers import HeaderList, get_all, strip_ows
from reference.profiles import Profile, Quirk

DEFAULT_MAX_AGE: Final = 5  # whatwg/fetch#990: absent or unparsable Max-Age caches for 5 s


class CacheEntry(NamedTuple):
    """https://fetch.spec.whatwg.org/#concept-cache : one entry. The cache's values are named
    tuples rather than frozen dataclasses: a preflight stores one entry per method and header
    name, and building frozen dataclasses was most of a preflight verdict's cost."""

    serialized_origin: bytes
    url: str
    credentials: bool
    method: bytes | None
    header_name: bytes | None  # lowercased
    expires_at: float


_Stored = tuple[bytes, str, bool, tuple[bytes, ...], tuple[bytes, ...], float]


class PreflightCache:
    """The cache: an immutable value (operations return a new cache) whose :attr:`entries` are
    those of https://fetch.spec.whatwg.org/#concept-cache.

    :func:`store` records what a preflight granted and the entries are created (and matching
    ones refreshed) when they are first read: most fetches never read the cache they leave
    behind, and a preflight creates one entry per method and header name.
    """

    __slots__ = ("_entries", "_pending")

    def __init__(self, entries: tuple[CacheEntry, ...] = (), *, pending: tuple[_Stored, ...] = ()):
        self._entries = entries
        self._pending = pending

    @property
    def entries(self) -> tuple[CacheEntry, ...]:
        if self._pending:
            entries = self._entries
            for stored in self._pending:
                entries = _create_entries(entries, stored)
            self._entries, self._pending = entries, ()  # the same value, materialized once
        return self._entries

    def __bool__(self) -> bool:
        return bool(self._entries or self._pending)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PreflightCache) and self.entries == other.entries

    def __hash__(self) -> int:
        return hash(self.entries)

    def __repr__(self) -> str:
        return f"PreflightCache(entries={self.entries!r})"

    def live(self, now: float) -> PreflightCache:
        """Entries whose max-age has not passed (the spec: they "must be removed")."""
        if not self:
            return self
        return PreflightCache(tuple(e for e in self.entries if e.expires_at > now))


EMPTY_CACHE: Final = PreflightCache()


class MaxAge(NamedTuple):
    seconds: int  # how long the result is cached; 0 = not cached
    note: str


def parse_max_age(headers: HeaderList, profile: Profile) -> MaxAge:
    # https://fetch.spec.whatwg.org/#cors-preflight-fetch-0 step 7.8: "Let max-age be the result
    # of extracting header list values given `Access-Control-Max-Age` and response's header
    # list. If max-age is failure or null, then set max-age to 5."
    return max_age_of(
        tuple(strip_ows(v) for v in get_all(headers, b"access-control-max-age")), profile
    )


@functools.lru_cache(maxsize=1024)
def max_age_of(values: tuple[bytes, ...], profile: Profile) -> MaxAge:
    """:func:`parse_max_age` given the (OWS-stripped) values of every `Access-Control-Max-Age`
    line, as an indexed response already holds them. Memoized: a server sends the same one."""
    if not values:
        return _capped(DEFAULT_MAX_AGE, "absent: the 5 s default", profile)
    if len(values) == 1 and DELTA_SECONDS.fullmatch(values[0]):
        return _capped(int(values[0]), "delta-seconds", profile)
    value = values[0]
    if len(values) == 1 and profile.has(Quirk.MAX_AGE_LEADING_PLUS) and value[:1] == b"+":
        rest = value[1:]
        if DELTA_SECONDS.fullmatch(rest):
            return _capped(
                int(rest), f"leading '+' accepted ({Quirk.MAX_AGE_LEADING_PLUS})", profile
            )
    negative = len(values) == 1 and value[:1] == b"-" and DELTA_SECONDS.fullmatch(value[1:])
    if negative and profile.has(Quirk.MAX_AGE_NEGATIVE_NOT_CACHED):
        return MaxAge(seconds=0, note=f"negative: not cached ({Quirk.MAX_AGE_NEGATIVE_NOT_CACHED})")
    if profile.has(Quirk.MAX_AGE_INVALID_NOT_CACHED):
        if len(values) == 1 and not value:
            return _capped(DEFAULT_MAX_AGE, "empty value treated as absent: 5 s", profile)
        return MaxAge(seconds=0, note=f"invalid: not cached ({Quirk.MAX_AGE_INVALID_NOT_CACHED})")
    what = "more than one value" if len(values) > 1 else "not delta-seconds"
    return _capped(DEFAULT_MAX_AGE, f"{what}: failure, so the 5 s default", profile)


def _capped(seconds: int, note: str, profile: Profile) -> MaxAge:
    # Step 7.9: "If max-age is greater than an imposed limit on max-age, then set max-age to the
    # imposed limit."
    cap = profile.max_age_cap
    if cap is not None and seconds > cap:
        return MaxAge(seconds=cap, note=f"{note}; capped at {cap} s by {profile.name}")
    return MaxAge(seconds=seconds, note=note)


def _entry_serves(entry: CacheEntry, origin: bytes, url: str, include: bool, now: float) -> bool:
    # https://fetch.spec.whatwg.org/#concept-cache-match : same origin, same URL, and either the
    # entry is credentialed or the request's credentials mode is not "include"; and not expired.
    return (
        entry.expires_at > now
        and entry.serialized_origin == origin
        and entry.url == url
        and (entry.credentials or not include)
    )


def method_cache_match(
    cache: PreflightCache,
    *,
    origin: bytes,
    url: str,
    include: bool,
    method: bytes,
    now: float,
    profile: Profile,
) -> bool:
    # https://fetch.spec.whatwg.org/#concept-cache-match-method
    for entry in cache.entries:
        if entry.method is None or not _entry_serves(entry, origin, url, include, now):
            continue
        if entry.method == method:
            return True
        # A `*` entry: the digest (§9.1, §18 #8) recommends not honouring it for credentialed
        # requests, as engines do; Firefox never matches it from the cache.
        if (
            entry.method == b"*"
            and not include
            and not profile.has(Quirk.PREFLIGHT_CACHE_WILDCARD_EXACT)
        ):
            return True
    return False


def result_cached(
    cache: PreflightCache, *, origin: bytes, url: str, include: bool, now: float
) -> bool:
    """Whether any live entry serves this origin, URL and credentials: an engine that keeps one
    preflight result per URL (Quirk.PREFLIGHT_CACHE_ONE_RESULT_PER_URL) then holds a result."""
    return any(_entry_serves(entry, origin, url, include, now) for entry in cache.entries)


def header_name_cache_match(
    cache: PreflightCache,
    *,
    origin: bytes,
    url: str,
    include: bool,
    name: bytes,
    now: float,
    profile: Profile,
) -> bool:
    # https://fetch.spec.whatwg.org/#concept-cache-match-header
    lowered = name.lower()
    for entry in cache.entries:
        if entry.header_name is None or not _entry_serves(entry, origin, url, include, now):
            continue
        if entry.header_name == lowered:
            return True
        if entry.header_name == b"*" and not include:
            if profile.has(Quirk.PREFLIGHT_CACHE_WILDCARD_EXACT):
                continue
            # Never `Authorization`, even where a fresh `*` covers it
            # (Quirk.AUTHORIZATION_COVERED_BY_WILDCARD): Chromium 156 preflights again.
            if lowered != b"authorization":
                return True
    return False


def store(
    cache: PreflightCache,
    *,
    origin: bytes,
    url: str,
    include: bool,
    methods: tuple[bytes, ...],
    header_names: tuple[bytes, ...],
    max_age: int,
    now: float,
) -> PreflightCache:
    # https://fetch.spec.whatwg.org/#concept-cache-create-entry (steps 7.10-7.11 of CORS-preflight
    # fetch): refresh matching entries' max-age or create new ones. An entry with max-age 0 would
    # expire at once, so none is stored.
    if max_age <= 0:
        return cache
    stored = (origin, url, include, methods, header_names, now + max_age)
    return PreflightCache(cache._entries, pending=(*cache._pending, stored))


def _create_entries(entries: tuple[CacheEntry, ...], stored: _Stored) -> tuple[CacheEntry, ...]:
    """What :func:`store` means: an entry per method and per (lowercased) header name, each
    replacing an entry with the same origin, URL, credentials and key."""
    origin, url, include, methods, header_names, expires = stored
    fresh = [CacheEntry(origin, url, include, m, None, expires) for m in dict.fromkeys(methods)]
    fresh += [
        CacheEntry(origin, url, include, None, h, expires)
        for h in dict.fromkeys(n.lower() for n in header_names)
    ]
    keys = {(e.method, e.header_name) for e in fresh}
    kept = tuple(
        e
        for e in entries
        if not (
            e.serialized_origin == origin
            and e.url == url
            and e.credentials == include
            and (e.method, e.header_name) in keys
        )
    )
    return kept + tuple(fresh)


def clear(cache: PreflightCache, *, origin: bytes, url: str) -> PreflightCache:
    # https://fetch.spec.whatwg.org/#concept-cache-clear
    if not cache:
        return cache
    return PreflightCache(
        tuple(e for e in cache.entries if not (e.serialized_origin == origin and e.url == url))
    )
