"""``reference.profiles``, ``reference.verdict`` and the one ``reference.cache`` quirk branch not
reached elsewhere: profile look-up, the closed ``BlockedReason`` enum, WebKit's leading ``+``."""

from __future__ import annotations

import pytest

from reference import anchors
from reference.cache import DEFAULT_MAX_AGE, parse_max_age
from reference.profiles import (
    CHROMIUM,
    FIREFOX,
    PROFILES,
    SPEC,
    WEBKIT,
    Profile,
    Quirk,
    profile_named,
)
from reference.verdict import BlockedReason


@pytest.mark.parametrize("profile", [SPEC, CHROMIUM, FIREFOX, WEBKIT])
def test_profile_named_finds_each_profile(profile: Profile) -> None:
    assert profile_named(profile.name) is profile


@pytest.mark.parametrize("name", ["netscape", "Chromium", "", "spec "])
def test_profile_named_rejects_an_unknown_name_listing_the_known_ones(name: str) -> None:
    with pytest.raises(ValueError, match="unknown browser profile") as info:
        profile_named(name)
    assert repr(name) in str(info.value)
    assert "(known: spec, chromium, firefox, webkit)" in str(info.value)


def test_no_shipping_profile_has_private_network_access() -> None:
    # Quirk docstring / digest §14: PNA is off in every current profile.
    assert not any(p.has(Quirk.PRIVATE_NETWORK_ACCESS) for p in PROFILES.values())


PREFLIGHT_REASONS = {
    BlockedReason.PREFLIGHT_INVALID_STATUS,
    BlockedReason.PREFLIGHT_DISALLOWED_REDIRECT,
    BlockedReason.PREFLIGHT_MISSING_ALLOW_ORIGIN_HEADER,
    BlockedReason.PREFLIGHT_MULTIPLE_ALLOW_ORIGIN_VALUES,
    BlockedReason.PREFLIGHT_INVALID_ALLOW_ORIGIN_VALUE,
    BlockedReason.PREFLIGHT_ALLOW_ORIGIN_MISMATCH,
    BlockedReason.PREFLIGHT_WILDCARD_ORIGIN_NOT_ALLOWED,
    BlockedReason.PREFLIGHT_INVALID_ALLOW_CREDENTIALS,
    BlockedReason.INVALID_ALLOW_METHODS_PREFLIGHT_RESPONSE,
    BlockedReason.INVALID_ALLOW_HEADERS_PREFLIGHT_RESPONSE,
    BlockedReason.METHOD_DISALLOWED_BY_PREFLIGHT_RESPONSE,
    BlockedReason.HEADER_DISALLOWED_BY_PREFLIGHT_RESPONSE,
    BlockedReason.PREFLIGHT_MISSING_ALLOW_PRIVATE_NETWORK,
    BlockedReason.PREFLIGHT_INVALID_ALLOW_PRIVATE_NETWORK,
}


@pytest.mark.parametrize("reason", list(BlockedReason))
def test_is_preflight_marks_exactly_the_preflight_failures(reason: BlockedReason) -> None:
    assert reason.is_preflight is (reason in PREFLIGHT_REASONS)


@pytest.mark.parametrize("reason", list(BlockedReason))
def test_every_reason_cites_a_spec_anchor(reason: BlockedReason) -> None:
    ref = reason.spec_ref
    assert ref.startswith((anchors.FETCH, anchors.PNA)), ref
    assert "#" in ref


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (b"+10", 10),  # WebKit accepts a leading "+" (Quirk.MAX_AGE_LEADING_PLUS)
        (b"+", DEFAULT_MAX_AGE),  # but "+" must be followed by delta-seconds
        (b"+-1", DEFAULT_MAX_AGE),
        (b"++1", DEFAULT_MAX_AGE),
        (b"+1.5", DEFAULT_MAX_AGE),
    ],
)
def test_webkit_leading_plus_needs_delta_seconds_after_it(value: bytes, seconds: int) -> None:
    max_age = parse_max_age(((b"Access-Control-Max-Age", value),), WEBKIT)
    assert max_age.seconds == seconds
    # The spec: anything but 1*DIGIT is a failure, so the 5 s default (digest §9.2).
    assert parse_max_age(((b"Access-Control-Max-Age", value),), SPEC).seconds == DEFAULT_MAX_AGE


# Two quirks read from Chromium sources that Chromium 156 does not show (the differential run,
# tests/test_browser_differential.py): they stay defined, in no shipping profile, and still work
# when a profile asks for them.
_OLD_CHROMIUM = Profile(
    name="old-chromium",
    quirks=frozenset({Quirk.RANGE_CASE_INSENSITIVE, Quirk.EXPOSE_HEADERS_EMPTY_LINE_VOIDS}),
    max_age_cap=7200,
    evidence="digest §15 #6, #9",
)


def test_quirks_chromium_156_does_not_show_are_in_no_profile() -> None:
    for quirk in (Quirk.RANGE_CASE_INSENSITIVE, Quirk.EXPOSE_HEADERS_EMPTY_LINE_VOIDS):
        assert not any(p.has(quirk) for p in PROFILES.values())


def test_range_case_insensitive_lowercases_the_unit() -> None:
    from reference.safelist import is_cors_safelisted_request_header

    assert is_cors_safelisted_request_header(b"Range", b"BYTES=0-", _OLD_CHROMIUM)
    assert not is_cors_safelisted_request_header(b"Range", b"BYTES=0-", CHROMIUM)


def test_expose_headers_empty_line_voids_the_list() -> None:
    from reference.browser import browser_verdict
    from reference.origins import origin_of
    from reference.request import BrowserRequest
    from reference.verdict import Allowed, RawResponse

    request = BrowserRequest(origin=origin_of("https://a.example"), url="https://b.example/")
    response = RawResponse(
        status=200,
        headers=(
            (b"Access-Control-Allow-Origin", b"*"),
            (b"X-Foo", b"1"),
            (b"Access-Control-Expose-Headers", b""),
            (b"Access-Control-Expose-Headers", b"x-foo"),
        ),
    )
    for profile, visible in ((_OLD_CHROMIUM, ()), (CHROMIUM, (b"x-foo",))):
        verdict = browser_verdict(request, [response], profile=profile).verdict
        assert isinstance(verdict, Allowed)
        assert verdict.visible_header_names == visible


def test_the_cache_is_a_value_whether_or_not_its_entries_were_read() -> None:
    from reference.cache import EMPTY_CACHE, PreflightCache, store

    def granted() -> PreflightCache:
        return store(
            EMPTY_CACHE,
            origin=b"https://app.example",
            url="https://api.example/",
            include=False,
            methods=(b"PUT", b"PUT"),
            header_names=(b"X-A",),
            max_age=60,
            now=0.0,
        )

    read, unread = granted(), granted()
    assert [(e.method, e.header_name) for e in read.entries] == [(b"PUT", None), (None, b"x-a")]
    assert read == unread
    assert hash(read) == hash(unread)
    assert "x-a" in repr(unread)
    assert read != EMPTY_CACHE
    assert not EMPTY_CACHE
    assert read.live(61.0) == EMPTY_CACHE


def test_a_flagged_method_is_not_implied_by_an_absent_allow_methods_in_chromium() -> None:
    """The spec takes a flagged request's method as granted when the preflight lists none;
    Chromium 156 does not (tests/test_records_browser.py shows it in the browser). A safelisted
    method passes either way, and its cache entry spares the next flagged fetch a preflight."""
    from reference.browser import browser_verdict
    from reference.origins import origin_of
    from reference.request import BrowserRequest
    from reference.verdict import Allowed, Blocked, RawResponse

    granted = RawResponse(
        status=200, headers=((b"Access-Control-Allow-Origin", b"https://a.example"),)
    )

    def flagged(method: str) -> BrowserRequest:
        return BrowserRequest(
            origin=origin_of("https://a.example"),
            url="https://b.example/",
            method=method,
            body=b"x",
            use_cors_preflight=True,
        )

    for method in ("PUT", "DELETE"):
        spec = browser_verdict(flagged(method), [granted, granted], profile=SPEC).verdict
        chromium = browser_verdict(flagged(method), [granted], profile=CHROMIUM).verdict
        assert isinstance(spec, Allowed)
        assert isinstance(chromium, Blocked)
        assert chromium.reason is BlockedReason.METHOD_DISALLOWED_BY_PREFLIGHT_RESPONSE
    first = browser_verdict(flagged("POST"), [granted, granted], profile=CHROMIUM)
    assert isinstance(first.verdict, Allowed)
    again = browser_verdict(flagged("POST"), [granted], profile=CHROMIUM, cache=first.cache)
    assert isinstance(again.verdict, Allowed)
    assert [w.is_preflight for w in again.verdict.wire] == [False]
