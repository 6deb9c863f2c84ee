"""Author request headers: what script passes to ``fetch(url, {headers})`` (digest §4.2-4.4).

Every name is a token (the Headers API throws otherwise) and every value is a valid header value
for the Headers API: no NUL, CR or LF, and no leading or trailing HTTP whitespace (it would be
stripped anyway). In the ``browser`` profile no entry is a forbidden request header (script
could set one, but the browser drops it; :func:`reference.safelist.is_forbidden_request_header`
is the vocabulary that says which). The ``hostile`` profile adds what a non-browser client
sends: forbidden names, padded values, odd bytes, huge values; still no NUL, CR or LF.

Values for the safelisted names come in two halves, as the grammar-driven style asks: valid ones
(the header stays CORS-safelisted) and deliberately invalid ones beside them (an unsafe byte,
129 bytes, ``text/html``, ``bytes=-500``), which force a preflight.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Final

from hypothesis import strategies as st

from reference.grammar import CORS_UNSAFE_REQUEST_HEADER_BYTES, TOKEN_PATTERN
from reference.headers import Header, HeaderList
from reference.safelist import SAFELISTED_CONTENT_TYPE_ESSENCES, is_forbidden_request_header
from strategies._util import weighted
from strategies._validation import Profile, check_profile

__all__ = [
    "SAFELISTED_HEADER_NAMES",
    "UNSAFE_HEADER_NAMES",
    "header_names",
    "header_values",
    "request_headers",
    "safelisted_request_headers",
]

SAFELISTED_HEADER_NAMES: Final = (
    b"Accept",
    b"Accept-Language",
    b"Content-Language",
    b"Content-Type",
    b"Range",
)
"""Names that are CORS-safelisted with a suitable value."""
UNSAFE_HEADER_NAMES: Final = (
    b"X-Requested-With",
    b"X-Api-Key",
    b"Authorization",
    b"X-Request-Id",
    b"If-None-Match",
    b"Cache-Control",
    b"User-Agent",
    b"X-HTTP-Method-Override",
    b"Last-Event-ID",
    b"DPR",
)
"""Names that are never CORS-safelisted (by the spec; Chromium safelists ``DPR``)."""
# Forbidden names a hostile client may still send without breaking HTTP framing (no Host,
# Content-Length, Transfer-Encoding, Connection, Upgrade, Expect, TE, Trailer, Keep-Alive) and
# that the driver does not set itself (Origin, Access-Control-Request-*).
_HOSTILE_FORBIDDEN_HEADERS: Final = (
    (b"Cookie", b"session=abc"),
    (b"Referer", b"https://evil.example/"),
    (b"Sec-Fetch-Mode", b"cors"),
    (b"Sec-Fetch-Site", b"same-origin"),
    (b"Proxy-Authorization", b"Basic dXNlcjpwYXNz"),
    (b"DNT", b"1"),
    (b"Date", b"Tue, 15 Nov 1994 08:12:31 GMT"),
    (b"Via", b"1.1 proxy"),
    (b"Accept-Charset", b"utf-8"),
    (b"Accept-Encoding", b"gzip"),
    (b"Set-Cookie", b"session=abc"),
    (b"Cookie2", b"$Version=1"),
    (b"X-HTTP-Method-Override", b"TRACE"),
    (b"Access-Control-Request-Private-Network", b"true"),
)
_HTTP_WHITESPACE: Final = b"\t\n\r "
# Bytes a Headers API value may hold that are CORS-unsafe (NUL, CR and LF are refused outright).
_UNSAFE_BYTES: Final = bytes(sorted(CORS_UNSAFE_REQUEST_HEADER_BYTES - {0x00, 0x0A, 0x0D}))
# Bytes of a safelisted Accept value: visible ASCII minus the unsafe ones, SP and TAB inside,
# and bytes >= 0x80 (not unsafe; script passes them as Latin-1 code points).
_ACCEPT_BYTES: Final = bytes(
    b for b in [0x09, *range(0x20, 0x7F), 0xE9, 0xFC] if b not in CORS_UNSAFE_REQUEST_HEADER_BYTES
)
_VALUE_BYTES: Final = bytes([0x09, *range(0x20, 0x7F), 0xE9, 0xFC])
_ODD_BYTES: Final = bytes([*range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]) + bytes(
    range(0x80, 0x100)
)


def _strip(value: bytes) -> bytes:
    return value.strip(_HTTP_WHITESPACE)


def _byte_strings(alphabet: bytes, *, max_size: int) -> st.SearchStrategy[bytes]:
    return st.lists(st.sampled_from(alphabet), max_size=max_size).map(bytes).map(_strip)


def _padded(prefix: bytes, filler: bytes, length: int) -> bytes:
    """``prefix`` then ``filler`` repeated, cut to exactly ``length`` bytes."""
    body = prefix + filler * length
    return body[:length]


def _flip_case(name: bytes, flips: Sequence[bool]) -> bytes:
    pairs = zip(name, flips, strict=True)
    return bytes(b ^ 0x20 if flip and bytes([b]).isalpha() else b for b, flip in pairs)


@functools.lru_cache(maxsize=1024)  # custom names are unbounded; keep the cache small
def _name_variants(name: bytes) -> st.SearchStrategy[bytes]:
    """``name`` as written, lowercased, uppercased, or in a random mix of cases."""
    return st.one_of(
        st.just(name),
        st.sampled_from([name.lower(), name.upper()]),
        st.lists(st.booleans(), min_size=len(name), max_size=len(name)).map(
            lambda flips: _flip_case(name, flips)
        ),
    )


def _entries(name: bytes, values: st.SearchStrategy[bytes]) -> st.SearchStrategy[Header]:
    return st.tuples(_name_variants(name), values)


# --- safelisted names, valid values ---------------------------------------------------------


@functools.cache
def _accept_values() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from(
            [
                b"*/*",
                b"application/json",
                b"text/html",
                b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                b"image/avif,image/webp,*/*",
                _padded(b"text/html,", b"a", 128),
            ]
        ),
        _byte_strings(_ACCEPT_BYTES, max_size=40),
    )


@functools.cache
def _language_values() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from([b"en-US", b"en-US,en;q=0.9", b"fr", b"de-CH", b"1", b""]),
        st.from_regex(
            rb"[0-9A-Za-z*,\-.;=](?:[0-9A-Za-z *,\-.;=]{0,30}[0-9A-Za-z*,\-.;=])?",
            fullmatch=True,
        ),
    )


@functools.cache
def _content_type_values() -> st.SearchStrategy[bytes]:
    essences = sorted(SAFELISTED_CONTENT_TYPE_ESSENCES, key=lambda e: (e != b"text/plain", e))
    return st.one_of(
        st.sampled_from(
            [
                b"text/plain",
                b"text/plain;charset=UTF-8",
                b"application/x-www-form-urlencoded",
                b"multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
                b"Text/Plain;charset=utf-8",
                b"text/plain;",
                b"text/plain;garbage",
            ]
        ),
        st.tuples(
            st.sampled_from(essences).flatmap(_name_variants),
            st.sampled_from([b"", b";charset=UTF-8", b"; charset=utf-8", b";", b";a=b;c=d"]),
        ).map(b"".join),
    )


@functools.cache
def _range_values() -> st.SearchStrategy[bytes]:
    def render(bounds: tuple[int, int | None]) -> bytes:
        start, length = bounds
        return b"bytes=%d-" % start if length is None else b"bytes=%d-%d" % (start, start + length)

    return st.tuples(st.integers(0, 10**12), st.one_of(st.none(), st.integers(0, 10**12))).map(
        render
    )


_SAFELISTED_VALUES: Final = {
    b"Accept": _accept_values,
    b"Accept-Language": _language_values,
    b"Content-Language": _language_values,
    b"Content-Type": _content_type_values,
    b"Range": _range_values,
}


@functools.cache
def _safelisted_entries() -> st.SearchStrategy[Header]:
    return st.one_of([_entries(name, values()) for name, values in _SAFELISTED_VALUES.items()])


def safelisted_request_headers() -> st.SearchStrategy[HeaderList]:
    """Up to four entries, each a safelisted name with a value that keeps it CORS-safelisted
    (so by themselves they never cause a preflight). Shrinks toward no header at all."""
    return _safelisted_request_headers()


@functools.cache
def _safelisted_request_headers() -> st.SearchStrategy[HeaderList]:
    return st.lists(_safelisted_entries(), max_size=4).map(tuple)


# --- safelisted names, invalid values ---------------------------------------------------------


def _with_byte(values: st.SearchStrategy[bytes], extra: bytes) -> st.SearchStrategy[bytes]:
    """A value from ``values`` with one byte of ``extra`` inserted somewhere inside it."""

    def insert(parts: tuple[bytes, int, int]) -> bytes:
        value, position, byte = parts
        position %= len(value) + 1
        return value[:position] + bytes([byte]) + value[position:]

    return st.tuples(values, st.integers(0, 128), st.sampled_from(extra)).map(insert).map(_strip)


@functools.cache
def _invalid_safelisted_entries() -> st.SearchStrategy[Header]:
    fixed: list[Header] = [
        (b"Content-Type", b"text/html"),
        (b"Content-Type", b"application/json"),
        (b"Content-Type", b'text/plain; charset="utf-8"'),
        (b"Content-Type", b"text /plain"),
        (b"Content-Type", b"text/plain,text/plain"),
        (b"Content-Type", b'multipart/form-data;"'),
        (b"Content-Type", b"application/www-form-urlencoded"),
        (b"Content-Type", _padded(b"text/plain;", b"a", 129)),
        (b"Accept", b"text/html("),
        (b"Accept", b"application/json\x01"),
        (b"Accept", _padded(b"text/html,", b"a", 129)),
        (b"Accept-Language", b"en_US"),
        (b"Accept-Language", b"en-US\ten"),
        (b"Accept-Language", b"fr\xe9"),
        (b"Accept-Language", _padded(b"en,", b"en,", 129)),
        (b"Content-Language", b"de(CH)"),
        (b"Content-Language", _padded(b"de,", b"de,", 129)),
        (b"Range", b"bytes=-500"),
        (b"Range", b"bytes=10-9"),
        (b"Range", b"bytes=-0"),
        (b"Range", b"bytes=0-1,2-3"),
        (b"Range", b"bytes 0-"),
        (b"Range", b"BYTES=0-"),
        (b"Range", b"bytes=0-1hello"),
        (b"Range", _padded(b"bytes=", b"0", 127) + b"1-"),
    ]
    language_bad = _UNSAFE_BYTES + b"_\t\xe9"
    return weighted(
        [
            (4, st.sampled_from(fixed)),
            (1, _entries(b"Accept", _with_byte(_accept_values(), _UNSAFE_BYTES))),
            (1, _entries(b"Content-Type", _with_byte(_content_type_values(), _UNSAFE_BYTES))),
            (1, _entries(b"Accept-Language", _with_byte(_language_values(), language_bad))),
            (1, _entries(b"Content-Language", _with_byte(_language_values(), language_bad))),
        ]
    )


# --- other names ------------------------------------------------------------------------------


def header_values() -> st.SearchStrategy[bytes]:
    """Values script can give any header: no NUL, CR, LF, no leading or trailing whitespace;
    empty, short tokens, printable text with bytes >= 0x80, and a 129-byte one."""
    return _header_values()


@functools.cache
def _header_values() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from(
            [
                b"1",
                b"XMLHttpRequest",
                b"",
                b"abc123",
                b'"etag"',
                b"no-cache",
                b"PATCH",
                b"Mozilla/5.0",
                b"x" * 129,
            ]
        ),
        _byte_strings(_VALUE_BYTES, max_size=40),
    )


@functools.cache
def _custom_names() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from([b"X-Custom", b"x-test-header1", b"X-Foo-Bar", b"x'y*z"]),
        st.from_regex(TOKEN_PATTERN, fullmatch=True),
    )


@functools.cache
def _unsafe_entries() -> st.SearchStrategy[Header]:
    return st.one_of(
        st.sampled_from(
            [
                (b"X-Requested-With", b"XMLHttpRequest"),
                (b"X-Api-Key", b"k3y"),
                (b"X-HTTP-Method-Override", b"PATCH"),
                (b"If-None-Match", b'"abc"'),
                (b"Cache-Control", b"no-cache"),
                (b"Last-Event-ID", b"42"),
                (b"DPR", b"2"),
            ]
        ),
        st.tuples(
            st.sampled_from([n for n in UNSAFE_HEADER_NAMES if n != b"Authorization"]).flatmap(
                _name_variants
            ),
            _header_values(),
        ),
        st.tuples(_custom_names(), header_values()),
    )


@functools.cache
def _authorization_entries() -> st.SearchStrategy[Header]:
    return _entries(
        b"Authorization",
        st.one_of(
            st.sampled_from([b"Bearer x", b"Basic dXNlcjpwYXNz"]),
            st.from_regex(rb"(?:Bearer|Basic|Token) [A-Za-z0-9\-._~+/]+=*", fullmatch=True),
        ),
    )


@functools.cache
def _hostile_entries() -> st.SearchStrategy[Header]:
    names = st.one_of(
        st.sampled_from(SAFELISTED_HEADER_NAMES + UNSAFE_HEADER_NAMES), _custom_names()
    ).flatmap(_name_variants)
    odd_values = st.one_of(
        _with_byte(_header_values(), _ODD_BYTES),
        st.sampled_from([b" padded ", b"\tpadded", b"x" * 10240, b"\xff\xfe", b"a\x01b"]),
        st.lists(st.sampled_from(_ODD_BYTES), min_size=1, max_size=20).map(bytes),
    )
    return st.one_of(st.sampled_from(_HOSTILE_FORBIDDEN_HEADERS), st.tuples(names, odd_values))


def _is_allowed_in_browser(header: Header) -> bool:
    return not is_forbidden_request_header(*header)


@functools.cache
def _header_entries(profile: Profile) -> st.SearchStrategy[Header]:
    entries = st.one_of(
        _safelisted_entries(),
        _invalid_safelisted_entries(),
        _unsafe_entries(),
        _authorization_entries(),
    )
    if profile == "hostile":
        return st.one_of(entries, _hostile_entries())
    return entries.filter(_is_allowed_in_browser)


def request_headers(*, profile: Profile = "browser") -> st.SearchStrategy[HeaderList]:
    """Author header lists, in order, duplicates possible (``Headers.append`` keeps them).

    Entries mix safelisted names with valid and with invalid values, unsafe names
    (``X-Requested-With``, ``X-Api-Key``, custom tokens, names in any case) and
    ``Authorization``; rarely, ten 120-byte ``Accept`` entries that break the 1024-byte budget.
    Shrinks toward the empty list. See the module docstring for the two profiles.
    """
    return _request_headers(check_profile(profile))


@functools.cache
def _request_headers(profile: Profile) -> st.SearchStrategy[HeaderList]:
    budget_busters = st.integers(9, 12).map(
        lambda n: ((b"Accept", _padded(b"text/html,", b"a", 120)),) * n
    )
    lists = st.lists(_header_entries(profile), max_size=6).map(tuple)
    return weighted([(9, lists), (1, budget_busters)])


def header_names(*, profile: Profile = "browser") -> st.SearchStrategy[bytes]:
    """Request header names, as script or a client may spell them: safelisted and unsafe names
    in any case, custom tokens; the ``hostile`` profile adds forbidden names."""
    return _header_names(check_profile(profile))


@functools.cache
def _header_names(checked: Profile) -> st.SearchStrategy[bytes]:
    names = st.one_of(
        st.sampled_from(SAFELISTED_HEADER_NAMES + UNSAFE_HEADER_NAMES), _custom_names()
    ).flatmap(_name_variants)
    if checked == "hostile":
        return st.one_of(names, st.sampled_from([n for n, _ in _HOSTILE_FORBIDDEN_HEADERS]))
    return names.filter(lambda name: not is_forbidden_request_header(name, b""))
