"""``reference.headers``: header-list primitives (digest §2).

Header lists are ordered byte pairs; names compare ASCII-case-insensitively, values exactly.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.grammar import is_token
from reference.headers import (
    FAILURE,
    HeaderIndex,
    HeaderList,
    contains,
    extract_header_list_values,
    get,
    get_all,
    header_list,
    header_names,
    split_list,
)


def test_header_list_encodes_str_as_latin_1_and_keeps_bytes() -> None:
    built = header_list([("X-A", "caf\u00e9"), (b"X-B", b"\xff"), ("X-C", b"raw"), (b"X-D", "d")])
    assert built == (
        (b"X-A", b"caf\xe9"),  # isomorphic encoding: one byte per code point
        (b"X-B", b"\xff"),
        (b"X-C", b"raw"),
        (b"X-D", b"d"),
    )


def test_header_list_encodes_code_points_above_ff_as_utf_8() -> None:
    # Docstring: such values cannot be header bytes; UTF-8 keeps them comparable.
    assert header_list([("X-\u2603", "\u20ac")]) == (("X-\u2603".encode(), "\u20ac".encode()),)


def test_header_list_keeps_order_and_duplicates() -> None:
    pairs = [("B", "1"), ("a", "2"), ("b", "3")]
    assert header_list(pairs) == ((b"B", b"1"), (b"a", b"2"), (b"b", b"3"))
    assert header_list([]) == ()


HEADERS: HeaderList = (
    (b"Vary", b"Origin"),
    (b"X-Empty", b""),
    (b"x-empty", b"bb-8"),
    (b"Access-Control-Expose-Headers", b",y-lol,x-PriNT, ,,,Y-PRINT"),
    (b"ACCESS-CONTROL-ALLOW-METHODS", b"bb-8, no no"),
    (b"Access-Control-Allow-Headers", b""),
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [(b"vary", True), (b"VARY", True), (b"X-EMPTY", True), (b"Varyy", False), (b"", False)],
)
def test_contains_matches_names_case_insensitively(name: bytes, expected: bool) -> None:
    assert contains(HEADERS, name) is expected


def test_contains_on_an_empty_list() -> None:
    assert not contains((), b"vary")


_names = st.sampled_from([b"Vary", b"vary", b"VARY", b"X-A", b"x-a", b"Origin"])


@given(
    headers=st.lists(st.tuples(_names, st.binary(max_size=4)), max_size=6),
    name=_names,
)
def test_get_is_the_spec_definition(headers: list[tuple[bytes, bytes]], name: bytes) -> None:
    # https://fetch.spec.whatwg.org/#concept-header-list-get, written out: null without the
    # name, else every value of it (any case), in order, joined by 0x2C 0x20.
    values = [v for n, v in headers if n.lower() == name.lower()]
    assert get(tuple(headers), name) == (b", ".join(values) if values else None)
    assert get_all(tuple(headers), name) == tuple(values)


def test_get_joins_every_value_with_comma_space() -> None:
    # Digest §2.2: lines `X:` and `X: bb-8` give `, bb-8`; absent is None, not b"".
    assert get(HEADERS, b"X-Empty") == b", bb-8"
    assert get(HEADERS, b"vary") == b"Origin"
    assert get(HEADERS, b"absent") is None
    assert get_all(HEADERS, b"X-EMPTY") == (b"", b"bb-8")


def test_extract_header_list_values_examples() -> None:
    # Digest §2.3 examples.
    assert extract_header_list_values(HEADERS, b"access-control-expose-headers") == (
        b"y-lol",
        b"x-PriNT",
        b"Y-PRINT",
    )
    assert extract_header_list_values(HEADERS, b"access-control-allow-methods") is FAILURE
    assert extract_header_list_values(HEADERS, b"access-control-allow-headers") == ()
    assert extract_header_list_values(HEADERS, b"access-control-max-age") is None


def test_header_names_are_distinct_lowercased_in_first_seen_order() -> None:
    assert header_names(HEADERS) == (
        b"vary",
        b"x-empty",
        b"access-control-expose-headers",
        b"access-control-allow-methods",
        b"access-control-allow-headers",
    )
    assert header_names(()) == ()


@pytest.mark.parametrize(
    "name",
    [
        b"vary",
        b"x-empty",
        b"access-control-expose-headers",
        b"access-control-allow-methods",
        b"access-control-allow-headers",
        b"access-control-max-age",
    ],
)
def test_header_index_agrees_with_the_list_functions(name: bytes) -> None:
    # Docstring: the index answers the same look-ups (by lowercased name) without rescanning.
    index = HeaderIndex(HEADERS)
    assert index.headers is HEADERS
    assert index.get(name) == get(HEADERS, name)
    assert index.get_all(name) == get_all(HEADERS, name)
    assert index.extract(name) == extract_header_list_values(HEADERS, name)


def test_a_received_index_from_the_memo_is_what_building_it_gives() -> None:
    raw = ((b"Vary", b" Origin "), (b"X-A", b"1\t"), (b"x-a", b" 2"))
    for _ in range(2):  # the second time from the memo
        headers, index = HeaderIndex.received(raw)
        fresh_headers, fresh = HeaderIndex._build(raw)
        assert headers == fresh_headers == ((b"Vary", b"Origin"), (b"X-A", b"1"), (b"x-a", b"2"))
        assert index.headers == fresh.headers
        for name in (b"vary", b"x-a", b"absent"):
            assert index.get_all(name) == fresh.get_all(name)
            assert index.get(name) == fresh.get(name)
    other, _ = HeaderIndex.received(((b"Vary", b"*"),))
    assert other == ((b"Vary", b"*"),)


def test_header_index_names_are_those_of_header_names() -> None:
    assert HeaderIndex(HEADERS).names() == header_names(HEADERS)
    empty = HeaderIndex(())
    assert (empty.names(), empty.get(b"vary"), empty.get_all(b"vary")) == ((), None, ())
    assert empty.extract(b"vary") is None


def _split_list_element_by_element(value: bytes) -> tuple[bytes, ...] | object:
    """The #token list rule read literally: split on commas, trim OWS, drop empties, each
    element a token. ``split_list`` checks the whole value with one regular expression."""
    elements = []
    for raw in value.split(b","):
        element = raw.strip(b"\t ")
        if not element:
            continue
        if not is_token(element):
            return FAILURE
        elements.append(element)
    return tuple(elements)


@given(
    st.binary(max_size=40)
    | st.lists(
        st.sampled_from([b"a", b"GET", b",", b" ", b"\t", b"*", b"\r", b"x-y", b"\x80", b"@"]),
        max_size=12,
    ).map(b"".join)
)
def test_split_list_is_the_list_rule_read_literally(value: bytes) -> None:
    assert split_list(value) == _split_list_element_by_element(value)
