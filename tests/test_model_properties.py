"""Hypothesis properties of the model itself (issue: the oracle, "Proof")."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from reference.browser import browser_verdict, needs_preflight
from reference.cache import parse_max_age
from reference.grammar import SERIALIZED_ORIGIN_PATTERN, TOKEN_PATTERN
from reference.headers import extract_header_list_values, get, split_list
from reference.origins import (
    OpaqueOrigin,
    OriginError,
    origin_of,
    parse_serialized_origin,
    parse_url,
)
from reference.profiles import PROFILES, SPEC
from reference.request import BrowserRequest, CredentialsMode
from reference.safelist import (
    cors_unsafe_request_header_names,
    is_cors_safelisted_request_header,
    mime_type_essence,
    parse_single_range,
)
from reference.verdict import Allowed, RawResponse

header_bytes = st.binary(max_size=200)
header_lists = st.lists(st.tuples(header_bytes, header_bytes), max_size=6).map(tuple)
tokens = st.from_regex(TOKEN_PATTERN, fullmatch=True).filter(lambda t: len(t) < 20)


@given(header_lists, header_bytes)
def test_header_parsers_never_raise(headers: tuple[tuple[bytes, bytes], ...], name: bytes) -> None:
    get(headers, name)
    extract_header_list_values(headers, name)
    split_list(name)
    for profile in PROFILES.values():
        parse_max_age(headers, profile)
        cors_unsafe_request_header_names(headers, profile)


@given(header_bytes, header_bytes)
def test_safelist_parsers_never_raise(name: bytes, value: bytes) -> None:
    mime_type_essence(value)
    for profile in PROFILES.values():
        is_cors_safelisted_request_header(name, value, profile)
    with contextlib.suppress(ValueError):
        parse_single_range(value, allow_whitespace=False)


@given(st.binary(max_size=80))
def test_origin_parser_never_raises_and_round_trips(value: bytes) -> None:
    origin = parse_serialized_origin(value)
    if origin is not None:
        assert origin.serialize().encode() == value


@given(st.from_regex(SERIALIZED_ORIGIN_PATTERN, fullmatch=True))
def test_canonical_origins_round_trip(value: bytes) -> None:
    origin = parse_serialized_origin(value)
    if origin is None:
        return  # e.g. a default port spelled out, or a port above 65535: not canonical
    assert parse_serialized_origin(origin.serialize()) == origin
    assert origin_of(origin.serialize() + "/some/path?q") == origin


@given(st.text(max_size=60))
def test_url_parser_raises_only_its_own_error(text: str) -> None:
    with contextlib.suppress(OriginError):
        parse_url(text)


def _preflight_response(methods: list[bytes], names: list[bytes], origin: bytes) -> RawResponse:
    headers = [
        (b"Access-Control-Allow-Origin", origin),
        (b"Access-Control-Allow-Credentials", b"true"),
    ]
    if methods:
        headers.append((b"Access-Control-Allow-Methods", b", ".join(methods)))
    if names:
        headers.append((b"Access-Control-Allow-Headers", b", ".join(names)))
    return RawResponse(status=204, headers=tuple(headers))


@settings(max_examples=200)
@given(
    method=st.sampled_from(["PUT", "DELETE", "PATCH", "patch", "CHICKEN", "GET", "POST"]),
    request_names=st.lists(
        st.sampled_from([b"x-a", b"x-b", b"content-type", b"authorization"]),
        max_size=3,
        unique=True,
    ),
    allowed_methods=st.lists(tokens, max_size=3),
    allowed_names=st.lists(tokens, max_size=3),
    extra=tokens,
    credentials=st.sampled_from(list(CredentialsMode)),
    profile=st.sampled_from(list(PROFILES.values())),
    add_to=st.sampled_from(["methods", "headers"]),
)
def test_adding_to_an_allow_list_never_blocks(
    *,
    method: str,
    request_names: list[bytes],
    allowed_methods: list[bytes],
    allowed_names: list[bytes],
    extra: bytes,
    credentials: CredentialsMode,
    profile: object,
    add_to: str,
) -> None:
    """Adding a method or header to a non-wildcard allow list never turns Allowed into Blocked."""
    assert profile in PROFILES.values()
    origin = b"https://page.example"
    request = BrowserRequest(
        origin=origin_of(origin.decode()),
        url="https://api.example/r",
        method=method,
        headers=tuple((n, b"v") for n in request_names),
        credentials=credentials,
        body=None if method in ("GET",) else b"x",
    )
    if b"*" in allowed_methods or b"*" in allowed_names or extra == b"*":
        return
    actual = RawResponse(
        status=200,
        headers=(
            (b"Access-Control-Allow-Origin", origin),
            (b"Access-Control-Allow-Credentials", b"true"),
        ),
    )
    before = _verdict(
        request,
        methods=allowed_methods,
        names=allowed_names,
        origin=origin,
        actual=actual,
        profile=profile,
    )
    if add_to == "methods":
        allowed_methods = [*allowed_methods, extra]
    else:
        allowed_names = [*allowed_names, extra]
    after = _verdict(
        request,
        methods=allowed_methods,
        names=allowed_names,
        origin=origin,
        actual=actual,
        profile=profile,
    )
    if isinstance(before, Allowed):
        assert isinstance(after, Allowed)


def _verdict(
    request: BrowserRequest,
    *,
    methods: list[bytes],
    names: list[bytes],
    origin: bytes,
    actual: RawResponse,
    profile: object,
) -> object:
    from reference.profiles import Profile

    assert isinstance(profile, Profile)
    preflight = _preflight_response(methods, names, origin)
    assert needs_preflight(request, profile=profile) in (True, False)
    return browser_verdict(
        request, lambda wire: preflight if wire.is_preflight else actual, profile=profile
    ).verdict


def test_opaque_origin_serializes_as_null() -> None:
    assert OpaqueOrigin().serialize() == "null"
    assert SPEC.name == "spec"
