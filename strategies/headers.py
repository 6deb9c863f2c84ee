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

Drawing is cheap (see :mod:`strategies._util`): every entry is picked from a pool computed
once (fixed values, names in four spellings, each unsafe byte put inside a valid value), and a
header list is its shape (how many entries, from which pool), then one pick per entry, all read
from the one byte string a strategy draws. The rich generators (grammar-driven names, random
bytes, random case flips) stay in each pool with about one pick in
:data:`~strategies._util.RARE_SHARE`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

from hypothesis import strategies as st

from reference.grammar import CORS_UNSAFE_REQUEST_HEADER_BYTES, TOKEN_PATTERN
from reference.headers import Header, HeaderList
from reference.safelist import SAFELISTED_CONTENT_TYPE_ESSENCES, is_forbidden_request_header
from strategies._util import (
    RARE_SHARE,
    Layout,
    Part,
    Pool,
    mix,
    pooled,
    rare,
    resolve,
    unique,
)
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


def _spellings(name: bytes) -> tuple[bytes, ...]:
    """``name`` as written, lowercased, uppercased, and in alternating case (``cOnTeNt-TyPe``)."""
    alternating = bytes(
        b ^ 0x20 if i % 2 and bytes([b]).isalpha() else b for i, b in enumerate(name.lower())
    )
    return unique([name, name.lower(), name.upper(), alternating])


def _spelled(name: bytes, values: Sequence[bytes]) -> tuple[Header, ...]:
    """``name`` as written with every value, then each value under one other spelling in turn."""
    others = _spellings(name)[1:] or (name,)
    spelled = [(others[i % len(others)], value) for i, value in enumerate(values)]
    return unique([(name, value) for value in values] + spelled)


def _entries(name: bytes, values: st.SearchStrategy[bytes]) -> st.SearchStrategy[Header]:
    return st.tuples(_name_variants(name), values)


def _inserted(values: Sequence[bytes], extra: bytes) -> list[bytes]:
    """Each byte of ``extra`` put inside one of ``values`` in turn (never at either end, where
    whitespace would be stripped)."""
    found = []
    for index, byte in enumerate(extra):
        value = values[index % len(values)]
        position = 1 + index % max(len(value) - 1, 1)
        found.append(value[:position] + bytes([byte]) + value[position:])
    return found


# --- safelisted names, valid values ---------------------------------------------------------

_ACCEPT_VALUES: Final = (
    b"*/*",
    b"application/json",
    b"text/html",
    b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    b"image/avif,image/webp,*/*",
    _padded(b"text/html,", b"a", 128),
    b"text/*",
    b"application/json, text/plain, */*",
    b"",
    b"a\tb",
    b"caf\xe9/\xfc",
)
_LANGUAGE_VALUES: Final = (
    b"en-US",
    b"en-US,en;q=0.9",
    b"fr",
    b"de-CH",
    b"1",
    b"",
    b"*",
    b"zh-Hant-TW",
    b"en-GB;q=0.8",
    b"en US",
)
_CONTENT_TYPE_PARAMETERS: Final = (b"", b";charset=UTF-8", b"; charset=utf-8", b";", b";a=b;c=d")
_RANGE_VALUES: Final = (
    b"bytes=0-",
    b"bytes=0-499",
    b"bytes=500-999",
    b"bytes=0-0",
    b"bytes=1000000000000-",
    b"bytes=7-1000000000007",
)


def _content_type_values_pool() -> tuple[bytes, ...]:
    essences = sorted(SAFELISTED_CONTENT_TYPE_ESSENCES, key=lambda e: (e != b"text/plain", e))
    fixed = [
        b"text/plain",
        b"text/plain;charset=UTF-8",
        b"application/x-www-form-urlencoded",
        b"multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
        b"Text/Plain;charset=utf-8",
        b"text/plain;",
        b"text/plain;garbage",
    ]
    spelled = [
        spellings[index % len(spellings)] + parameter
        for essence in essences
        for spellings in [_spellings(essence)]
        for index, parameter in enumerate(_CONTENT_TYPE_PARAMETERS)
    ]
    return unique(fixed + spelled)


@functools.cache
def _accept_values() -> st.SearchStrategy[bytes]:
    return st.one_of(st.sampled_from(_ACCEPT_VALUES[:6]), _byte_strings(_ACCEPT_BYTES, max_size=40))


@functools.cache
def _language_values() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from(_LANGUAGE_VALUES[:6]),
        st.from_regex(
            rb"[0-9A-Za-z*,\-.;=](?:[0-9A-Za-z *,\-.;=]{0,30}[0-9A-Za-z*,\-.;=])?",
            fullmatch=True,
        ),
    )


@functools.cache
def _content_type_values() -> st.SearchStrategy[bytes]:
    essences = sorted(SAFELISTED_CONTENT_TYPE_ESSENCES, key=lambda e: (e != b"text/plain", e))
    return st.one_of(
        st.sampled_from(_content_type_values_pool()[:7]),
        st.tuples(
            st.sampled_from(essences).flatmap(_name_variants),
            st.sampled_from(_CONTENT_TYPE_PARAMETERS),
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
    b"Accept": (_ACCEPT_VALUES, _accept_values),
    b"Accept-Language": (_LANGUAGE_VALUES, _language_values),
    b"Content-Language": (_LANGUAGE_VALUES, _language_values),
    b"Content-Type": (_content_type_values_pool(), _content_type_values),
    b"Range": (_RANGE_VALUES, _range_values),
}


@functools.cache
def _safelisted_entries() -> Pool[Header]:
    """Each safelisted name equally often, with values that keep it safelisted."""
    return mix(
        [
            (1, rare(_spelled(name, fixed), _entries(name, values()), share=RARE_SHARE))
            for name, (fixed, values) in _SAFELISTED_VALUES.items()
        ]
    )


def safelisted_request_headers() -> st.SearchStrategy[HeaderList]:
    """Up to four entries, each a safelisted name with a value that keeps it CORS-safelisted
    (so by themselves they never cause a preflight). Shrinks toward no header at all."""
    return _safelisted_request_headers()


@functools.cache
def _safelisted_request_headers() -> st.SearchStrategy[HeaderList]:
    return _header_lists(safelisted_shapes())


# --- safelisted names, invalid values ---------------------------------------------------------


def _with_byte(values: st.SearchStrategy[bytes], extra: bytes) -> st.SearchStrategy[bytes]:
    """A value from ``values`` with one byte of ``extra`` inserted somewhere inside it."""

    def insert(parts: tuple[bytes, int, int]) -> bytes:
        value, position, byte = parts
        position %= len(value) + 1
        return value[:position] + bytes([byte]) + value[position:]

    return st.tuples(values, st.integers(0, 128), st.sampled_from(extra)).map(insert).map(_strip)


_INVALID_SAFELISTED_ENTRIES: Final[tuple[Header, ...]] = (
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
)
_LANGUAGE_BAD_BYTES: Final = _UNSAFE_BYTES + b"_\t\xe9"


@functools.cache
def _invalid_safelisted_entries() -> Pool[Header]:
    """Safelisted names with values that are not: fixed ones, then each unsafe byte put inside
    a valid value; a random value with a random unsafe byte as the rich half."""
    accept = [(b"Accept", v) for v in _inserted(_ACCEPT_VALUES[:5], _UNSAFE_BYTES)]
    content_type = [
        (b"Content-Type", v) for v in _inserted(_content_type_values_pool()[:7], _UNSAFE_BYTES)
    ]
    language = [
        (name, v)
        for name in (b"Accept-Language", b"Content-Language")
        for v in _inserted(_LANGUAGE_VALUES[:4], _LANGUAGE_BAD_BYTES)
    ]
    return mix(
        [
            (4, Pool.of(_INVALID_SAFELISTED_ENTRIES)),
            (
                4,
                rare(
                    accept + content_type + language,
                    _entries(b"Accept", _with_byte(_accept_values(), _UNSAFE_BYTES)),
                    _entries(b"Content-Type", _with_byte(_content_type_values(), _UNSAFE_BYTES)),
                    _entries(
                        b"Accept-Language", _with_byte(_language_values(), _LANGUAGE_BAD_BYTES)
                    ),
                    _entries(
                        b"Content-Language", _with_byte(_language_values(), _LANGUAGE_BAD_BYTES)
                    ),
                    share=RARE_SHARE // 2,
                ),
            ),
        ]
    )


# --- other names ------------------------------------------------------------------------------

_HEADER_VALUES: Final = (
    b"1",
    b"XMLHttpRequest",
    b"",
    b"abc123",
    b'"etag"',
    b"no-cache",
    b"PATCH",
    b"Mozilla/5.0",
    b"x" * 129,
    b"caf\xe9 \xfc",
    b"a\tb",
    b"{}",
)
_CUSTOM_NAMES: Final = (b"X-Custom", b"x-test-header1", b"X-Foo-Bar", b"x'y*z")


def header_values() -> st.SearchStrategy[bytes]:
    """Values script can give any header: no NUL, CR, LF, no leading or trailing whitespace;
    empty, short tokens, printable text with bytes >= 0x80, and a 129-byte one."""
    return _header_values()


@functools.cache
def _header_values() -> st.SearchStrategy[bytes]:
    return pooled(_header_value_pool())


@functools.cache
def _header_value_pool() -> Pool[bytes]:
    return rare(_HEADER_VALUES, _byte_strings(_VALUE_BYTES, max_size=40), share=RARE_SHARE)


@functools.cache
def _rich_header_values() -> st.SearchStrategy[bytes]:
    return st.one_of(st.sampled_from(_HEADER_VALUES), _byte_strings(_VALUE_BYTES, max_size=40))


@functools.cache
def _custom_names() -> st.SearchStrategy[bytes]:
    return st.one_of(st.sampled_from(_CUSTOM_NAMES), st.from_regex(TOKEN_PATTERN, fullmatch=True))


_UNSAFE_ENTRIES: Final[tuple[Header, ...]] = (
    (b"X-Requested-With", b"XMLHttpRequest"),
    (b"X-Api-Key", b"k3y"),
    (b"X-HTTP-Method-Override", b"PATCH"),
    (b"If-None-Match", b'"abc"'),
    (b"Cache-Control", b"no-cache"),
    (b"Last-Event-ID", b"42"),
    (b"DPR", b"2"),
)


def _round_robin(names: Sequence[bytes], values: Sequence[bytes]) -> list[Header]:
    """Every spelling of every name, each with the next value in turn."""
    spelled = [spelling for name in names for spelling in _spellings(name)]
    return [(name, values[i % len(values)]) for i, name in enumerate(spelled)]


@functools.cache
def _unsafe_entries() -> Pool[Header]:
    names = [n for n in UNSAFE_HEADER_NAMES if n != b"Authorization"]
    return mix(
        [
            (1, Pool.of(_UNSAFE_ENTRIES)),
            (
                1,
                rare(
                    _round_robin(names, _HEADER_VALUES),
                    st.tuples(
                        st.sampled_from(names).flatmap(_name_variants), _rich_header_values()
                    ),
                    share=RARE_SHARE,
                ),
            ),
            (
                1,
                rare(
                    _round_robin(_CUSTOM_NAMES, _HEADER_VALUES[::-1]),
                    st.tuples(_custom_names(), _rich_header_values()),
                    share=RARE_SHARE // 3,
                ),
            ),
        ]
    )


@functools.cache
def _authorization_entries() -> Pool[Header]:
    values = (b"Bearer x", b"Basic dXNlcjpwYXNz", b"Token abc", b"Bearer eyJhbGciOiJIUzI1NiJ9.e30.")
    rich = st.one_of(
        st.sampled_from(values[:2]),
        st.from_regex(rb"(?:Bearer|Basic|Token) [A-Za-z0-9\-._~+/]+=*", fullmatch=True),
    )
    return rare(
        _spelled(b"Authorization", values), _entries(b"Authorization", rich), share=RARE_SHARE
    )


_ODD_VALUES: Final = (b" padded ", b"\tpadded", b"x" * 10240, b"\xff\xfe", b"a\x01b")


@functools.cache
def _hostile_entries() -> Pool[Header]:
    rich_names = st.one_of(
        st.sampled_from(SAFELISTED_HEADER_NAMES + UNSAFE_HEADER_NAMES), _custom_names()
    ).flatmap(_name_variants)
    rich_values = st.one_of(
        _with_byte(_rich_header_values(), _ODD_BYTES),
        st.sampled_from(_ODD_VALUES),
        st.lists(st.sampled_from(_ODD_BYTES), min_size=1, max_size=20).map(bytes),
    )
    odd = [*_ODD_VALUES, *_inserted(_HEADER_VALUES[:8], _ODD_BYTES[::7]), _ODD_BYTES[:20]]
    names = [*SAFELISTED_HEADER_NAMES, *UNSAFE_HEADER_NAMES, *_CUSTOM_NAMES]
    return mix(
        [
            (1, Pool.of(_HOSTILE_FORBIDDEN_HEADERS)),
            (
                1,
                rare(
                    _round_robin(names, odd), st.tuples(rich_names, rich_values), share=RARE_SHARE
                ),
            ),
        ]
    )


def _is_allowed_in_browser(header: Header) -> bool:
    return not is_forbidden_request_header(*header)


@functools.cache
def entry_pool(profile: Profile, dilution: float = 1) -> Pool[Header]:
    """Safelisted names with valid and with invalid values, unsafe names, ``Authorization``
    (each a quarter); the ``hostile`` profile adds hostile entries as a fifth. ``dilution``
    makes the rich generators that many times rarer."""
    sections = [
        _safelisted_entries(),
        _invalid_safelisted_entries(),
        _unsafe_entries(),
        _authorization_entries(),
    ]
    if profile == "hostile":
        sections.append(_hostile_entries())
    entries = mix([(1, section) for section in sections]).diluted(dilution)
    return entries if profile == "hostile" else entries.filter(_is_allowed_in_browser)


# --- header lists --------------------------------------------------------------------------------

HeaderShape: TypeAlias = tuple[Pool[Header], int]
"""How a header list is drawn: that many entries from a pool."""


def _shapes(entries: Pool[Header], max_size: int) -> Pool[HeaderShape]:
    # Mostly short: three in ten empty, four in ten one entry, two in ten two, the rest longer.
    sizes = [(3, [0]), (4, [1]), (2, [2]), (1, list(range(3, max_size + 1)))]
    return mix([(weight, Pool.of([(entries, n) for n in counts])) for weight, counts in sizes])


MAX_HEADERS: Final = 6
"""The most entries a drawn header list has (besides the budget busters)."""


@functools.cache
def safelisted_shapes(dilution: float = 1) -> Pool[HeaderShape]:
    """The shapes of :func:`safelisted_request_headers`: up to four safelisted entries."""
    return _shapes(_safelisted_entries().diluted(dilution), 4)


_BUDGET_BUSTER: Final = Pool.of([(b"Accept", _padded(b"text/html,", b"a", 120))])


@functools.cache
def request_header_shapes(profile: Profile = "browser", dilution: float = 1) -> Pool[HeaderShape]:
    """The shapes of :func:`request_headers`: up to six entries; one list in ten is nine to
    twelve 120-byte ``Accept`` entries (over the 1024-byte budget)."""
    busters = Pool.of([(_BUDGET_BUSTER, n) for n in range(9, 13)])
    return mix([(9, _shapes(entry_pool(profile, dilution), MAX_HEADERS)), (1, busters)])


@dataclass(frozen=True, slots=True)
class HeaderLists:
    """A header list as parts of a :class:`~strategies._util.Layout`: a shape, then one part
    per entry (the same bytes whichever pool the shape names)."""

    shapes: Pool[HeaderShape]
    shape: Part
    entries: tuple[Part, ...]
    repeated: tuple[Pool[Header], ...]  # pools of one entry (the budget busters): no bytes

    @classmethod
    def reserve(cls, layout: Layout, shapes: Pool[HeaderShape]) -> HeaderLists:
        pools = unique(pool for pool, _ in shapes.values())
        repeated = tuple(pool for pool in pools if pool and not pool.shares())
        drawn = [(pool, n) for pool, n in shapes.values() if pool and pool not in repeated]
        shape = layout.part(shapes)
        entry_pools = unique(pool for pool, _ in drawn)
        entries = tuple(layout.part(*entry_pools) for _ in range(max(n for _, n in drawn)))
        return cls(shapes=shapes, shape=shape, entries=entries, repeated=repeated)

    def draw(self, draw: st.DrawFn, digits: bytes) -> HeaderList:
        pool, size = self.shape.pick(draw, digits, self.shapes)
        if size == 0:
            return ()
        if pool in self.repeated:
            return (resolve(draw, pool.first()),) * size
        return tuple(part.pick(draw, digits, pool) for part in self.entries[:size])


@st.composite
def _drawn_header_lists(
    draw: st.DrawFn, digits: st.SearchStrategy[bytes], lists: HeaderLists
) -> HeaderList:
    return lists.draw(draw, draw(digits))


def _header_lists(shapes: Pool[HeaderShape]) -> st.SearchStrategy[HeaderList]:
    layout = Layout()
    lists = HeaderLists.reserve(layout, shapes)
    return _drawn_header_lists(layout.digits(), lists)


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
    return _header_lists(request_header_shapes(profile))


def header_names(*, profile: Profile = "browser") -> st.SearchStrategy[bytes]:
    """Request header names, as script or a client may spell them: safelisted and unsafe names
    in any case, custom tokens; the ``hostile`` profile adds forbidden names."""
    return _header_names(check_profile(profile))


def _is_allowed_name(name: bytes) -> bool:
    return not is_forbidden_request_header(name, b"")


@functools.cache
def _header_names(checked: Profile) -> st.SearchStrategy[bytes]:
    return pooled(header_name_pool(checked))


@functools.cache
def header_name_pool(checked: Profile) -> Pool[bytes]:
    """The pool behind :func:`header_names` (profile already checked): every name in four
    spellings, custom tokens now and then; half of the ``hostile`` pool is forbidden names."""
    rich = st.one_of(
        st.sampled_from(SAFELISTED_HEADER_NAMES + UNSAFE_HEADER_NAMES), _custom_names()
    ).flatmap(_name_variants)
    spelled = [s for n in SAFELISTED_HEADER_NAMES + UNSAFE_HEADER_NAMES for s in _spellings(n)]
    spelled += [s for n in _CUSTOM_NAMES for s in _spellings(n)]
    names = rare(spelled, rich, share=RARE_SHARE)
    if checked == "hostile":
        forbidden = [n for n, _ in _HOSTILE_FORBIDDEN_HEADERS]
        return mix([(1, names), (1, Pool.of(forbidden))])
    return names.filter(_is_allowed_name)
