"""``reference.safelist``: request-side classification (digest §4), unit by unit.

Expected values are the Fetch Standard's, as digest §2.5 and §4 paraphrase them; engine
deviations are the named quirks of ``reference.profiles`` (digest §15).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from reference.grammar import CORS_UNSAFE_REQUEST_HEADER_BYTES, is_token
from reference.headers import normalize_value
from reference.profiles import PROFILES, Profile, Quirk
from reference.safelist import (
    _LANGUAGE_BYTES,
    cors_mode_headers,
    cors_unsafe_request_header_names,
    decision_header_list,
    has_cors_unsafe_request_header_byte,
    is_cors_non_wildcard_request_header_name,
    is_cors_safelisted_request_header,
    is_cors_safelisted_response_header_name,
    is_forbidden_request_header,
    is_no_cors_safelisted_request_header,
    parse_single_range,
    prepare_author_headers,
)

# -- forbidden method-override headers: the quote-aware split (digest §2.5, §4.2) -------------


@pytest.mark.parametrize(
    ("value", "forbidden"),
    [
        (b"PATCH", False),  # allowed, and then it makes the request non-simple
        (b"TRACE", True),
        (b"  trace\t", True),  # OWS trimmed, compared case-insensitively
        (b"GET, Connect", True),  # any element naming a forbidden method
        (b"GET,,TRACK", True),
        (b'"TRACE"', False),  # a quoted string keeps its quotes: not the method TRACE
        (b'"GET, TRACE"', False),  # the comma is inside the quoted string: one element
        (b'"a\\", TRACE"', False),  # \" does not close the string: still one element
        (b'"a\\\\", TRACE', True),  # \\ is an escaped backslash; the quote closes the string
        (b'"unterminated, TRACE', False),  # the string runs to the end
        (b'"ends with a backslash\\', False),
        (b"a\\b, TRACE", True),  # a backslash outside quotes is an ordinary byte
    ],
)
@pytest.mark.parametrize(
    "name", [b"X-HTTP-Method", b"X-HTTP-Method-Override", b"x-method-override"]
)
def test_a_method_override_header_is_forbidden_when_it_names_a_forbidden_method(
    name: bytes, value: bytes, forbidden: bool
) -> None:
    assert is_forbidden_request_header(name, value) is forbidden


def test_a_forbidden_method_in_another_header_is_harmless() -> None:
    assert not is_forbidden_request_header(b"X-Method", b"TRACE")


def test_a_forbidden_method_override_header_is_silently_dropped() -> None:
    # Digest §4.2: forbidden headers are dropped by the Headers API, not an error.
    headers = ((b"X-HTTP-Method-Override", b'GET, "x", trace'), (b"X-HTTP-Method", b"PATCH"))
    kept = prepare_author_headers(headers, combine=False, no_cors=False)
    assert kept == ((b"X-HTTP-Method", b"PATCH"),)


# -- single range parsing (digest §4.3; Fetch "parse a single range header value") ----------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"bytes=0-", (0, None)),
        (b"bytes=-500", (None, 500)),
        (b"bytes=100-200", (100, 200)),
        (b"bytes = 5-", (5, None)),
        (b"bytes=\t 5-9", (5, 9)),
        (b"bytes\t=\t-9", (None, 9)),
        (b"bytes=5 - 9", (5, 9)),  # whitespace around "-" (steps 10 and 13)
        (b"bytes=5\t-", (5, None)),
        (b"bytes=- 9", (None, 9)),
        (b"bytes=0- ", (0, None)),  # the whitespace after "-", before empty end digits
    ],
)
def test_the_whitespace_variant_allows_tabs_and_spaces_between_parts(
    value: bytes, expected: tuple[int | None, int | None]
) -> None:
    assert parse_single_range(value, allow_whitespace=True) == expected


@pytest.mark.parametrize(
    ("value", "failing_step"),
    [
        (b" bytes=0-", "no bytes unit"),  # nothing before `bytes`
        (b"BYTES=0-", "no bytes unit"),  # case-sensitive
        (b"bytes 0-", "no ="),
        (b"bytes=0-1 ", "not a single range"),  # nothing after the end digits
        (b"bytes=0-1,2-3", "not a single range"),
        (b"bytes=\n0-", "not a single range"),  # only tab and space, not all HTTP whitespace
        (b"bytes = -", "empty range"),  # neither start nor end
        (b"bytes= 9-5", "start after end"),
    ],
)
def test_the_whitespace_variant_still_rejects(value: bytes, failing_step: str) -> None:
    with pytest.raises(ValueError, match=f"^{failing_step}$"):
        parse_single_range(value, allow_whitespace=True)


@pytest.mark.parametrize(
    ("value", "failing_step"),
    [
        (b"bytes = 0-1", "no ="),
        (b"bytes= 0-1", "not a single range"),
        (b"bytes=0 -1", "not a single range"),
        (b"bytes=0- 1", "not a single range"),
    ],
)
def test_the_safelist_variant_allows_no_whitespace(value: bytes, failing_step: str) -> None:
    with pytest.raises(ValueError, match=f"^{failing_step}$"):
        parse_single_range(value, allow_whitespace=False)
    assert not is_cors_safelisted_request_header(b"Range", value)
    assert parse_single_range(value, allow_whitespace=True) == (0, 1)


# -- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (b"Authorization", True),
        (b"AUTHORIZATION", True),
        (b"authorization", True),
        (b"Proxy-Authorization", False),
        (b"X-Authorization", False),
        (b"*", False),
    ],
)
def test_authorization_is_the_only_non_wildcard_request_header_name(
    name: bytes, expected: bool
) -> None:
    assert is_cors_non_wildcard_request_header_name(name) is expected


@pytest.mark.parametrize(
    ("name", "exposed", "expected"),
    [
        # Digest §10.2: the seven safelisted response header names, any case, always.
        (b"Cache-Control", (), True),
        (b"CONTENT-LANGUAGE", (), True),
        (b"content-length", (), True),
        (b"Content-Type", (), True),
        (b"Expires", (), True),
        (b"Last-Modified", (), True),
        (b"Pragma", (), True),
        (b"X-Request-Id", (), False),
        (b"X-Request-Id", (b"x-request-id",), True),
        (b"x-request-id", (b"X-REQUEST-ID",), True),
        (b"X-Request-Id", (b"x-other",), False),
        # Set-Cookie is never readable, even when listed.
        (b"Set-Cookie", (b"set-cookie",), False),
        (b"Set-Cookie2", (b"Set-Cookie2",), False),
    ],
)
def test_safelisted_response_header_names(
    name: bytes, exposed: tuple[bytes, ...], expected: bool
) -> None:
    assert is_cors_safelisted_response_header_name(name, exposed) is expected


# -- no-cors header guard (digest §4.8) -------------------------------------------------------


def test_the_no_cors_guard_keeps_only_no_cors_safelisted_headers() -> None:
    headers = (
        (b"Accept", b"text/html"),
        (b"Content-Type", b"text/plain"),
        (b"Content-Type", b"application/json"),
        (b"Accept-Language", b"en"),
        (b"Content-Language", b"de"),
        (b"Range", b"bytes=0-"),
        (b"X-Custom", b"1"),
    )
    kept = prepare_author_headers(headers, combine=False, no_cors=True)
    assert kept == (
        (b"Accept", b"text/html"),
        (b"Content-Type", b"text/plain"),
        (b"Accept-Language", b"en"),
        (b"Content-Language", b"de"),
    )


def test_the_no_cors_guard_checks_the_combined_value() -> None:
    # Digest §4.8 (WPT headers-no-cors.any.js): two 127-byte Accept appends; the second would
    # make the combined value longer than 128 bytes, so it is dropped.
    value = b"a" * 127
    kept = prepare_author_headers(
        ((b"Accept", value), (b"Accept", value)), combine=False, no_cors=True
    )
    assert kept == ((b"Accept", value),)
    # Short values combine fine, and with combine=True (XHR) become one entry.
    short = ((b"Accept", b"a"), (b"accept", b"b"))
    assert prepare_author_headers(short, combine=True, no_cors=True) == ((b"Accept", b"a, b"),)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        (b"Accept", b"*/*", True),
        (b"Content-Type", b"text/plain", True),
        (b"Content-Type", b"application/json", False),
        (b"Range", b"bytes=0-", False),  # safelisted for CORS, but not a no-CORS name
        (b"X-Custom", b"", False),
    ],
)
def test_no_cors_safelisted_request_header(name: bytes, value: bytes, expected: bool) -> None:
    assert is_no_cors_safelisted_request_header(name, value) is expected


def test_the_byte_scans_are_the_byte_sets_of_the_spec() -> None:
    # has_cors_unsafe_request_header_byte and the language check scan a value with one pattern:
    # each byte alone, and values mixing them, as the spec's byte-by-byte reading says.
    for byte in range(256):
        value = bytes([byte])
        assert has_cors_unsafe_request_header_byte(value) == (
            byte in CORS_UNSAFE_REQUEST_HEADER_BYTES
        )
        assert has_cors_unsafe_request_header_byte(b"text/plain" + value + b"x") == (
            byte in CORS_UNSAFE_REQUEST_HEADER_BYTES
        )
        for name in (b"Accept-Language", b"content-language"):
            assert is_cors_safelisted_request_header(name, b"en-US, " + value) == (
                byte in _LANGUAGE_BYTES
            )
    assert not has_cors_unsafe_request_header_byte(b"")
    assert is_cors_safelisted_request_header(b"Content-Language", b"")


# -- the CORS-mode decision in one pass ----------------------------------------------------------

EVERY_QUIRK = Profile(
    name="every-quirk",
    quirks=frozenset(Quirk),
    max_age_cap=600,
    evidence="tests: every quirk at once",
)

_NAMES = st.sampled_from(
    [
        *(b"Accept", b"accept", b"Content-Type", b"content-language", b"Accept-Language"),
        *(b"Range", b"User-Agent", b"X-Api-Key", b"x-api-key", b"Authorization", b"Sec-Foo"),
        *(b"Proxy-X", b"X-HTTP-Method-Override", b"DPR", b"Viewport-Width", b"Cookie"),
        *(b"bad name", b""),
    ]
)
_VALUES = st.one_of(
    st.sampled_from(
        [
            *(b"*/*", b"text/plain", b"application/json", b"bytes=0-", b"bytes=-5", b"en-US"),
            *(b"1.5", b" x ", b"\tpadded\t", b"a\nb", b"nul\x00", b"CONNECT", b"PATCH", b""),
            *(b"x" * 200, b"y" * 120),
        ]
    ),
    st.binary(max_size=20),
)


# Safelisted values over 1,024 bytes in all: every potentially unsafe name becomes unsafe.
_OVER_1024 = [(b"Content-Language", b"y" * 120)] * 8 + [(b"Accept", b"y" * 120), (b"X-A", b"1")]


@settings(max_examples=500)
@example(_OVER_1024, False, PROFILES["spec"])
@example(_OVER_1024, True, PROFILES["spec"])
@given(
    st.lists(st.tuples(_NAMES, _VALUES), max_size=12),
    st.booleans(),
    st.sampled_from([*PROFILES.values(), EVERY_QUIRK]),
)
def test_the_cors_mode_pass_is_decision_header_list_and_its_unsafe_names(
    headers: list[tuple[bytes, bytes]], combine: bool, profile: Profile
) -> None:
    listed = tuple(headers)
    decided = decision_header_list(listed, combine=combine, no_cors=False, profile=profile)
    valid = all(
        is_token(name) and re.search(rb"[\x00\n\r]", normalize_value(value)) is None
        for name, value in listed
    )
    assert cors_mode_headers(listed, combine, profile) == (
        valid,
        decided,
        cors_unsafe_request_header_names(decided, profile),
    )
