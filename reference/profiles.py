"""Browser profiles: the spec, and each engine as a named set of quirks (digest §15 and §18).

A quirk is a named, documented departure from the Fetch Standard, with the evidence for it. The
model follows the spec unless a profile switches a quirk on; every verdict names its profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Quirk(StrEnum):
    AUTHORIZATION_COVERED_BY_WILDCARD = "authorization-covered-by-wildcard"
    """ACAH ``*`` also covers ``Authorization`` (non-credentialed). Spec: never. All shipping
    engines allow it, with a console warning. Evidence: whatwg/fetch#1919, #1278; Chromium and
    Gecko WPT expectation files for cors-preflight-star.any.js (digest §15 #1)."""

    MAX_AGE_NEGATIVE_NOT_CACHED = "max-age-negative-not-cached"
    """``Access-Control-Max-Age: -1`` is not cached (spec: parse failure, so the 5 s default).
    Evidence: WPT cors/preflight-cache.htm; Chromium preflight_result.cc (digest §9.2, §18 #2)."""

    MAX_AGE_INVALID_NOT_CACHED = "max-age-invalid-not-cached"
    """Any non-digit Max-Age (``abc``, ``1.5``, two values) is not cached instead of 5 s.
    Evidence: Firefox nsCORSListenerProxy.cpp AddResultToCache (digest §9.2)."""

    MAX_AGE_LEADING_PLUS = "max-age-leading-plus"
    """``+10`` parses as 10. Evidence: WebKit CrossOriginPreflightResultCache.cpp (FIXME)."""

    COMBINE_DUPLICATE_REQUEST_HEADERS = "combine-duplicate-request-headers"
    """Repeated author request headers are combined into one ``a, b`` value before the
    safelist check (engines keep a header map). Spec: each entry separately, plus the
    1024-byte budget. Evidence: engine data structures (digest §15 #7, §18 #6)."""

    CLIENT_HINT_HEADERS_SAFELISTED = "client-hint-headers-safelisted"
    """``DPR``, ``Width``, ``Viewport-Width``, ``Device-Memory``, ``RTT``, ``Downlink``,
    ``ECT``, ``Save-Data`` (valid values) and ``Intervention`` are safelisted request headers.
    Evidence: Chromium cors.cc; WPT cors/simple-requests-ch.tentative.htm (digest §15 #5)."""

    RANGE_CASE_INSENSITIVE = "range-case-insensitive"
    """Range values are lowercased before the safelist parse (``BYTES=0-`` is safe). Read from
    Chromium cors.cc (digest §15 #6, §18 #7) but not what Chromium 156 does: it preflights
    ``BYTES=0-`` and ``Bytes=0-`` (differential run, README "The oracle against a real
    Chromium"), so no profile has it."""

    RANGE_POSITIONS_BELOW_INT64_MAX = "range-positions-below-int64-max"
    """A Range position of 2**63-1 or more is not safelisted (the spec's numbers are unbounded).
    Evidence: differential run against Chromium 156: ``bytes=9223372036854775806-`` goes
    without a preflight, ``bytes=9223372036854775807-`` (int64 max itself) and
    ``bytes=0-99999999999999999999`` are preflighted (digest §15 #6, §18 #7)."""

    USER_AGENT_DROPPED = "user-agent-dropped"
    """A script-set ``User-Agent`` is silently dropped, so it never forces a preflight.
    Evidence: crbug 571722; wpt PR #39301 (digest §15 #8)."""

    EXPOSE_HEADERS_EMPTY_LINE_VOIDS = "expose-headers-empty-line-voids"
    """An empty ``Access-Control-Expose-Headers`` line beside a valid one exposes nothing.
    Evidence: Chromium access-control-expose-headers-parsing.window-expected.txt (§15 #9), an
    older expectation: Chromium 156 exposes the valid line's names as the spec says
    (differential run), so no profile has it."""

    PREFLIGHT_CACHE_WILDCARD_EXACT = "preflight-cache-wildcard-exact"
    """A cached ``*`` method or header never matches a later request (Firefox compares cached
    tokens exactly), so such requests preflight again. Outcome-neutral; extra preflights only.
    Evidence: Firefox CacheEntry::CheckRequest (digest §9.3, §15 #12)."""

    FLAGGED_METHOD_NOT_IMPLIED = "flagged-method-not-implied"
    """With the use-CORS-preflight flag and no ``Access-Control-Allow-Methods``, the request's
    method is not taken as granted: a method that is not CORS-safelisted fails the preflight
    (a safelisted one passes, and is cached as the spec caches it). Spec: CORS-preflight fetch
    step 7.4 sets methods to the request's method. Evidence: headless Chromium 156, XHR with an
    upload listener (2026-11-26): ``PUT`` and ``DELETE`` blocked after such a preflight, ``POST``
    allowed and not preflighted again (``tests/test_records_browser.py``); Chromium
    preflight_result.cc EnsureAllowedCrossOriginMethod checks the listed methods only."""

    FLAGGED_SAFELISTED_METHOD_NEEDS_NO_ENTRY = "flagged-safelisted-method-needs-no-entry"
    """With the use-CORS-preflight flag, a CORS-safelisted method needs no method cache entry:
    any cached preflight result for the URL that covers the request's headers spares the
    preflight (the flag still forces one when nothing is cached). Spec: the flag makes even a
    safelisted method need a method entry (HTTP fetch step 4.1). Evidence: differential run
    against Chromium 156 through XHR upload listeners (pinned case
    ``preflight-cache/stream-flag-needs-method-entry``: a flagged ``POST`` after a preflight
    that cached only a header name is not preflighted); Chromium keeps one PreflightResult per
    URL and its method check passes a safelisted method whatever the result lists."""

    PREFLIGHT_CACHE_ONE_RESULT_PER_URL = "preflight-cache-one-result-per-url"
    """One cached preflight result per (origin, URL): a request the cached result does not
    cover drops it and the new preflight's result replaces it whole (entries for other methods
    and header names go, whatever their max-age), and a network error after a cache hit or a
    granted preflight (the actual response fails the CORS check) clears nothing. Spec: an entry
    per method and header name, each refreshed on its own, all cleared on a network error.
    Evidence: differential run against Chromium 156 (``cache:replaced-by-later-preflight``,
    ``cache:header-replaced-by-later-preflight``, ``cache:cleared-after-failed-actual``,
    ``cache:hit-then-failed-actual-then-hit``); Chromium services/network/cors/
    preflight_cache.cc keys one PreflightResult per origin and URL (digest §9.3)."""

    PRIVATE_NETWORK_ACCESS = "private-network-access"
    """Legacy Chromium PNA: a request to a more private address space sends
    ``Access-Control-Request-Private-Network: true`` on its preflight and needs
    ``Access-Control-Allow-Private-Network: true`` back. Off in every current profile: Chromium
    put PNA on hold and shipped Local Network Access (a permission) instead (digest §14)."""


# eq=False: a profile is compared and hashed by identity (object's C-level hash). Memoized
# functions hash their profile argument on every call, and a __hash__ written in Python cost
# 12% of the model's time in a fresh suite run. Profiles are module constants, built once.
@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Profile:
    name: str
    quirks: frozenset[Quirk]
    max_age_cap: int | None  # seconds; None = no cap (the spec leaves it to the UA)
    evidence: str

    def has(self, quirk: Quirk) -> bool:
        return quirk in self.quirks


SPEC = Profile(
    name="spec",
    quirks=frozenset(),
    max_age_cap=None,
    evidence="WHATWG Fetch, commit 586cd2a (2026-07-02)",
)

CHROMIUM = Profile(
    name="chromium",
    quirks=frozenset(
        {
            Quirk.AUTHORIZATION_COVERED_BY_WILDCARD,
            Quirk.MAX_AGE_NEGATIVE_NOT_CACHED,
            Quirk.COMBINE_DUPLICATE_REQUEST_HEADERS,
            Quirk.CLIENT_HINT_HEADERS_SAFELISTED,
            Quirk.RANGE_POSITIONS_BELOW_INT64_MAX,
            Quirk.USER_AGENT_DROPPED,
            Quirk.PREFLIGHT_CACHE_ONE_RESULT_PER_URL,
            Quirk.FLAGGED_METHOD_NOT_IMPLIED,
            Quirk.FLAGGED_SAFELISTED_METHOD_NEEDS_NO_ENTRY,
        }
    ),
    max_age_cap=7200,
    evidence="Chromium services/network/public/cpp/cors/cors.cc, cors/preflight_result.cc; "
    "checked against headless Chromium 156 (conformance/browser_check)",
)

FIREFOX = Profile(
    name="firefox",
    quirks=frozenset(
        {
            Quirk.AUTHORIZATION_COVERED_BY_WILDCARD,
            Quirk.MAX_AGE_NEGATIVE_NOT_CACHED,
            Quirk.MAX_AGE_INVALID_NOT_CACHED,
            Quirk.COMBINE_DUPLICATE_REQUEST_HEADERS,
            Quirk.PREFLIGHT_CACHE_WILDCARD_EXACT,
        }
    ),
    max_age_cap=86400,
    evidence="Gecko netwerk/protocol/http/nsCORSListenerProxy.cpp",
)

WEBKIT = Profile(
    name="webkit",
    quirks=frozenset(
        {
            Quirk.AUTHORIZATION_COVERED_BY_WILDCARD,
            Quirk.MAX_AGE_NEGATIVE_NOT_CACHED,
            Quirk.MAX_AGE_LEADING_PLUS,
            Quirk.COMBINE_DUPLICATE_REQUEST_HEADERS,
        }
    ),
    max_age_cap=600,
    evidence="WebKit CrossOriginAccessControl.cpp, CrossOriginPreflightResultCache.cpp",
)

PROFILES: dict[str, Profile] = {p.name: p for p in (SPEC, CHROMIUM, FIREFOX, WEBKIT)}


def profile_named(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ValueError(f"unknown browser profile {name!r} (known: {known})") from None
