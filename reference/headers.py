"""Header-list primitives of the Fetch Standard (§2.2 of the digest).

A header list is an ordered tuple of ``(name, value)`` byte pairs; duplicates stay separate
entries, as received. Names compare ASCII-case-insensitively; values are exact bytes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Final

from reference.grammar import HTTP_WHITESPACE_BYTES, OWS_BYTES, TOKEN_LIST

Header = tuple[bytes, bytes]

# The CORS response header names as servers usually spell them (names compare
# case-insensitively; the model itself looks them up lowercased).
ACAO: Final = b"Access-Control-Allow-Origin"
ACAC: Final = b"Access-Control-Allow-Credentials"
ACAM: Final = b"Access-Control-Allow-Methods"
ACAH: Final = b"Access-Control-Allow-Headers"
ACEH: Final = b"Access-Control-Expose-Headers"
ACMA: Final = b"Access-Control-Max-Age"
ACAPN: Final = b"Access-Control-Allow-Private-Network"
HeaderList = tuple[Header, ...]


class _Failure(Enum):
    FAILURE = "failure"


FAILURE: Final = _Failure.FAILURE
"""Returned by parsers where the spec says "return failure" (distinct from ``None``, "null")."""

ParsedList = tuple[bytes, ...] | None | _Failure


def header_list(pairs: Iterable[tuple[bytes | str, bytes | str]]) -> HeaderList:
    """Build a header list from str or bytes pairs (str is encoded as Latin-1, isomorphically)."""
    return tuple((_isomorphic(name), _isomorphic(value)) for name, value in pairs)


def _isomorphic(value: bytes | str) -> bytes:
    if isinstance(value, bytes):
        return value
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        # Code points above U+00FF cannot be carried by HTTP/1.1 header bytes; a browser's
        # Headers API rejects them. Encode as UTF-8 so the value stays comparable.
        return value.encode("utf-8")


def normalize_value(value: bytes) -> bytes:
    """Fetch "normalize": strip leading and trailing HTTP whitespace bytes."""
    return value.strip(HTTP_WHITESPACE_BYTES)


def strip_ows(value: bytes) -> bytes:
    """What the HTTP layer does to a received field value: drop leading/trailing OWS."""
    return value.strip(OWS_BYTES)


def contains(headers: HeaderList, name: bytes) -> bool:
    # https://fetch.spec.whatwg.org/#header-list-contains
    lowered = name.lower()
    return any(n.lower() == lowered for n, _ in headers)


def get(headers: HeaderList, name: bytes) -> bytes | None:
    # https://fetch.spec.whatwg.org/#concept-header-list-get
    # (A loop, not a comprehension: on Python 3.11 a comprehension is a call of its own, and
    # the suite reads a header of every request it sends.)
    lowered = name.lower()
    found: bytes | None = None
    for n, v in headers:
        if n.lower() == lowered:
            # Step 2: the values of all headers named name, separated from each other by
            # 0x2C 0x20.
            found = v if found is None else found + b", " + v
    # Step 1: if list does not contain name, return null.
    return found


def get_all(headers: HeaderList, name: bytes) -> tuple[bytes, ...]:
    lowered = name.lower()
    return tuple([v for n, v in headers if n.lower() == lowered])


@functools.lru_cache(maxsize=4096)
def split_list(value: bytes) -> tuple[bytes, ...] | _Failure:
    """RFC 9110 ``#token`` list: split on commas, trim OWS, drop empties, every element a token
    (checked with one match of the whole value against :data:`~reference.grammar.TOKEN_LIST`).

    Memoized: a pure function of one value, and a server answers with the same few lists."""
    if TOKEN_LIST.fullmatch(value) is None:
        return FAILURE
    return tuple(element for raw in value.split(b",") if (element := raw.strip(OWS_BYTES)))


def extract_header_list_values(headers: HeaderList, name: bytes) -> ParsedList:
    # https://fetch.spec.whatwg.org/#extract-header-list-values
    return extract_values(get_all(headers, name))


def extract_values(values: Sequence[bytes]) -> ParsedList:
    """ "Extract header list values" given the values of every header of that name, in order."""
    # Step 1: if list does not contain name, return null.
    if not values:
        return None
    if len(values) == 1:  # the usual case: one line
        return split_list(values[0])
    # Step 2-3: parse each value per the header's ABNF (#token lists here); any failure fails all.
    out: list[bytes] = []
    for value in values:
        parsed = split_list(value)
        if parsed is FAILURE:
            return FAILURE
        out.extend(parsed)
    return tuple(out)


@functools.lru_cache(maxsize=1024)
def header_names(headers: HeaderList) -> tuple[bytes, ...]:
    """Distinct names, lowercased, in first-seen order. Memoized: a run reads the names of the
    same few responses over and over."""
    seen: dict[bytes, None] = {}
    for name, _ in headers:
        seen.setdefault(name.lower(), None)
    return tuple(seen)


class HeaderIndex:
    """A received header list indexed once by lowercased name (first-seen order), so the many
    look-ups of one fetch do not rescan and re-lowercase the list each time."""

    __slots__ = ("_index", "headers")

    def __init__(self, headers: HeaderList) -> None:
        self.headers = headers
        index: dict[bytes, list[bytes]] = {}
        for name, value in headers:
            index.setdefault(name.lower(), []).append(value)
        self._index = index

    @classmethod
    def received(cls, raw: HeaderList) -> tuple[HeaderList, HeaderIndex]:
        """A received header list with each value's leading and trailing OWS removed (what the
        HTTP layer hands to Fetch), and its index, built in one pass.

        Memoized (an index is never changed once built): a run reads the same few responses
        over and over. Bounded, so that a target answering differently every time (a Date
        header) keeps memory flat."""
        return _received(raw)

    @classmethod
    def _build(cls, raw: HeaderList) -> tuple[HeaderList, HeaderIndex]:
        headers: list[tuple[bytes, bytes]] = []
        index: dict[bytes, list[bytes]] = {}
        for name, raw_value in raw:
            value = raw_value.strip(OWS_BYTES)
            headers.append((name, value))
            key = name.lower()
            values = index.get(key)
            if values is None:
                index[key] = [value]
            else:
                values.append(value)
        built = cls.__new__(cls)
        built.headers = stripped = tuple(headers)
        built._index = index
        return stripped, built

    def get(self, name: bytes) -> bytes | None:
        # https://fetch.spec.whatwg.org/#concept-header-list-get
        values = self._index.get(name)
        return None if values is None else b", ".join(values)

    def get_all(self, name: bytes) -> tuple[bytes, ...]:
        return tuple(self._index.get(name, ()))

    def extract(self, name: bytes) -> ParsedList:
        return extract_values(self._index.get(name, ()))

    def names(self) -> tuple[bytes, ...]:
        return tuple(self._index)


_received = functools.lru_cache(maxsize=1024)(HeaderIndex._build)
