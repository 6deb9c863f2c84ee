"""The generators, tested like Hypothesis tests its own (``tests/common/debug.py``): every special
value is reachable (``find_any``), the invariants of each profile hold for every example, the
simplest example is the one the house style promises, and bad arguments are refused with a
message that shows them.

The checks use the vocabulary of ``reference`` (origin parsing, safelists) to classify examples;
none of them asks the oracle for a verdict.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument, NoSuchExample

from reference.grammar import is_token
from reference.origins import OpaqueOrigin, Origin, TupleOrigin, parse_serialized_origin
from reference.policy import CorsPolicy, PathRule, PolicyRules
from reference.request import BrowserRequest, CredentialsMode
from reference.safelist import (
    cors_unsafe_request_header_names,
    is_cors_safelisted_method,
    is_cors_safelisted_request_header,
    is_forbidden_method,
    is_forbidden_request_header,
    normalize_method,
)
from reference.verdict import WireRequest
from strategies import (
    NearMiss,
    NearMissKind,
    cors_requests,
    credentials_modes,
    header_names,
    hostile_requests,
    methods,
    near_miss_origins,
    near_misses,
    origins,
    policies,
    policy_origins,
    relevant_origins,
    request_headers,
    request_paths,
    safelisted_request_headers,
    serialized_origins,
)
from strategies.headers import SAFELISTED_HEADER_NAMES, UNSAFE_HEADER_NAMES

T = TypeVar("T")

# --- helpers -------------------------------------------------------------------------------------


def find_any(
    strategy: st.SearchStrategy[T],
    condition: Callable[[T], object] = lambda _: True,
    *,
    max_examples: int = 3000,
) -> T:
    """An example satisfying ``condition``; fails the test if none turns up (no shrinking)."""
    return find(
        strategy,
        lambda example: bool(condition(example)),
        settings=settings(
            max_examples=max_examples,
            phases=[Phase.generate],
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


def find_all(
    strategy: st.SearchStrategy[T],
    conditions: dict[str, Callable[[T], object]],
    *,
    max_examples: int = 3000,
) -> None:
    """Every named condition is met by some example (one generation run shared by all, which
    stops as soon as the last one is met); fails naming the ones never met."""
    missing = dict(conditions)

    def all_met(example: T) -> bool:
        for name, condition in list(missing.items()):
            if condition(example):
                del missing[name]
        return not missing

    try:
        find_any(strategy, all_met, max_examples=max_examples)
    except NoSuchExample:
        pytest.fail(f"never generated: {sorted(missing)}")


def minimal(strategy: st.SearchStrategy[T], condition: Callable[[T], object] = lambda _: True) -> T:
    """The example Hypothesis shrinks to among those satisfying ``condition`` (by default, among
    all of them)."""
    return find(
        strategy,
        lambda example: bool(condition(example)),
        settings=settings(
            max_examples=3000,
            phases=[Phase.generate, Phase.shrink],
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


FAST = settings(max_examples=60, deadline=None, database=None)

NEAR_MISS_POLICY = CorsPolicy(
    allow_origins=("https://api.a.example", "https://b.example", "http://localhost:3000"),
    allow_origin_patterns=(r"https://[a-z0-9-]+\.preview\.example", r"https://c\.example:443"),
    paths=(PathRule(prefix="/public", rules=PolicyRules(allow_origins=("https://d.example",))),),
)
NULL_POLICY = CorsPolicy(allow_origins=("https://a.example", "null"))
PATH_POLICY = CorsPolicy(
    allow_origins=("https://a.example",),
    paths=(PathRule(prefix="/public", rules=PolicyRules(allow_origins=("*",))),),
)


def serialized(origin: Origin) -> str:
    return origin.serialize()


def is_preflighted(request: BrowserRequest) -> bool:
    """Whether the request needs a CORS preflight, from the safelist vocabulary (digest §4.9)."""
    method = normalize_method(request.method.encode())
    kept = tuple(h for h in request.headers if not is_forbidden_request_header(*h))
    return (
        request.use_cors_preflight
        or not is_cors_safelisted_method(method)
        or bool(cors_unsafe_request_header_names(kept))
    )


def header_value(request: WireRequest, name: bytes) -> list[bytes]:
    return [v for n, v in request.headers if n.lower() == name.lower()]


# --- origins -------------------------------------------------------------------------------------


def _host(origin: Origin) -> str:
    return origin.host if isinstance(origin, TupleOrigin) else ""


def _port(origin: Origin) -> int | None:
    return origin.port if isinstance(origin, TupleOrigin) else None


def test_origins_reach_special_values() -> None:
    find_all(
        origins(),
        {
            "null": lambda o: isinstance(o, OpaqueOrigin),
            "ipv6": lambda o: _host(o).startswith("[") and _host(o) != "[::1]",
            "ipv4": lambda o: re.fullmatch(r"[0-9.]+", _host(o)) and _host(o) != "127.0.0.1",
            "idn": lambda o: "xn--" in _host(o) and _host(o) != "xn--lve-6lad.example",
            "http-default-port": lambda o: o.serialize().startswith("http:") and _port(o) is None,
            "https-default-port": lambda o: o.serialize().startswith("https:") and _port(o) is None,
            "explicit-port": lambda o: _port(o) not in (None, 8080, 3000),
            "special-idn": lambda o: o.serialize() == "https://xn--lve-6lad.example",
            "special-ipv6": lambda o: o.serialize() == "http://[::1]:8080",
            "special-localhost": lambda o: o.serialize() == "http://localhost:3000",
            "special-ipv4": lambda o: o.serialize() == "http://127.0.0.1:8080",
        },
    )


@FAST
@given(origins())
def test_browser_origins_round_trip_through_the_origin_parser(origin: Origin) -> None:
    assert parse_serialized_origin(origin.serialize()) == origin
    if isinstance(origin, TupleOrigin):
        assert origin.scheme in ("http", "https")
        assert origin.port not in ({"http": 80, "https": 443}[origin.scheme], 0)


@FAST
@given(serialized_origins())
def test_serialized_origins_are_browser_origins(value: bytes) -> None:
    assert parse_serialized_origin(value) is not None


@FAST
@given(origins(schemes=("https",), allow_null=False, allow_ip=False, allow_idn=False))
def test_origins_honour_their_arguments(origin: Origin) -> None:
    assert isinstance(origin, TupleOrigin)
    assert origin.scheme == "https"
    assert "xn--" not in origin.host
    assert not origin.host.startswith("[")
    assert re.fullmatch(r"[0-9.]+", origin.host) is None


def test_origins_with_only_null() -> None:
    assert minimal(origins(schemes=(), allow_null=True)) == OpaqueOrigin(label="null")


# --- near misses and policy origins ----------------------------------------------------------

ALLOWED_LITERALS = frozenset(
    {"https://api.a.example", "https://b.example", "http://localhost:3000", "https://d.example"}
)


def _serializes_as(text: str) -> Callable[[Origin], bool]:
    return lambda origin: origin.serialize() == text


def _of_kind(kind: NearMissKind) -> Callable[[NearMiss], bool]:
    return lambda near: near.kind is kind


def test_near_miss_origins_reach_each_named_candidate() -> None:
    expected = {
        "prefix": "https://api.a.example.evil.com",
        "suffix-dash": "https://evil-b.example",
        "suffix": "https://evilb.example",
        "subdomain": "https://x.b.example",
        "parent-domain": "https://a.example",  # of api.a.example
        "other-scheme": "http://b.example",
        "other-port": "https://b.example:8443",
        "other-port-startswith": "http://localhost:30001",
        "concatenation": "https://b.example.d.example",  # with the [[paths]] rule's origin
        "dot-replaced": "https://b-example",
        "dot-replaced-letter": "https://bxexample",
        "special-characters": "https://b1.example",
        "punycode-look-alike": "https://xn--pi-6kc.a.example",  # "api" with a Cyrillic a (U+0430)
        "paths-rule-entry": "https://x.d.example",
        "pattern-canonical": "https://c.example",
        "opaque": "null",
    }
    find_all(
        near_miss_origins(NEAR_MISS_POLICY),
        {name: _serializes_as(text) for name, text in expected.items()},
    )


def test_near_misses_reach_every_kind() -> None:
    # Trailing dot: reference.grammar.DOMAIN_PATTERN rejects `https://a.example.`, so that kind
    # never survives the canonical-form filter; null look-alikes only when "null" is listed.
    absent = {NearMissKind.TRAILING_DOT, NearMissKind.NULL_LOOKALIKE}
    find_all(
        near_misses(NEAR_MISS_POLICY),
        {kind.value: _of_kind(kind) for kind in NearMissKind if kind not in absent},
    )
    find_all(
        near_misses(NULL_POLICY),
        {"null-lookalike": lambda near: near.origin.serialize() == "http://null"},
    )


def test_pattern_near_misses_mutate_dots_and_affix_hosts() -> None:
    pattern = re.compile(r"https://[a-z0-9-]+\.preview\.example")
    find_all(
        near_misses(NEAR_MISS_POLICY),
        {
            "dot-replaced": lambda n: (
                n.kind is NearMissKind.PATTERN_DOT and "preview.example" not in serialized(n.origin)
            ),
            "suffix": lambda n: (
                n.kind is NearMissKind.PATTERN_AFFIX
                and serialized(n.origin).endswith(".preview.example.evil.example")
            ),
            # Near misses are candidates: one may still match the pattern (a label put in front
            # of `[a-z0-9-]+` often does). The oracle says what the policy means.
            "still-matching": lambda n: (
                n.kind is NearMissKind.PATTERN_AFFIX
                and pattern.fullmatch(serialized(n.origin)) is not None
            ),
        },
    )


@FAST
@given(near_misses(NEAR_MISS_POLICY))
def test_near_misses_are_browser_origins_and_never_an_allowed_literal(near: NearMiss) -> None:
    text = near.origin.serialize()
    assert parse_serialized_origin(text) == near.origin
    assert text not in ALLOWED_LITERALS


def test_wildcard_policy_near_misses_are_generic_origins() -> None:
    wildcard = CorsPolicy(allow_origins=("*",))
    assert minimal(near_miss_origins(wildcard)).serialize() == "https://a.example"
    find_any(near_miss_origins(wildcard), lambda o: isinstance(o, OpaqueOrigin))


def test_policy_origins_reach_every_listed_origin() -> None:
    find_all(
        policy_origins(NEAR_MISS_POLICY),
        {text: _serializes_as(text) for text in ALLOWED_LITERALS}
        | {"pattern": lambda o: o.serialize().endswith(".preview.example")},
    )


def test_policy_origins_are_canonicalized() -> None:
    policy = CorsPolicy(allow_origins=("HTTPS://A.Example:443", "null"))
    assert minimal(policy_origins(policy)).serialize() == "https://a.example"
    find_any(policy_origins(policy), lambda o: isinstance(o, OpaqueOrigin))


_PREVIEW = r"https://[a-z0-9-]+\.preview\.example"


@FAST
@given(policy_origins(CorsPolicy(allow_origin_patterns=(_PREVIEW,))))
def test_policy_origins_from_patterns_match_and_are_canonical(origin: Origin) -> None:
    text = origin.serialize()
    assert re.fullmatch(_PREVIEW, text)
    assert parse_serialized_origin(text) == origin


def test_relevant_origins_mix_allowed_near_and_generic() -> None:
    find_all(
        relevant_origins(NEAR_MISS_POLICY),
        {
            "allowed": lambda o: o.serialize() == "https://api.a.example",
            "pattern": lambda o: o.serialize().endswith(".preview.example"),
            "near-miss": lambda o: ".evil." in o.serialize() or "evil" in o.serialize(),
            "generic": lambda o: o.serialize() in ("http://[::1]:8080", "http://127.0.0.1:8080"),
        },
    )


# --- methods -------------------------------------------------------------------------------------

_STANDARD = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}


def _is(expected: str) -> Callable[[str], bool]:
    return lambda method: method == expected


def test_methods_reach_standard_methods_case_variants_and_custom_tokens() -> None:
    spellings = [*sorted(_STANDARD), "get", "patch", "Post", "pAtCh"]
    find_all(
        methods(),
        {m: _is(m) for m in spellings}
        | {
            "custom": lambda m: (
                m.upper() not in _STANDARD
                and m not in {"QUERY", "PROPFIND", "CHICKEN", "TacO", "M-SEARCH"}
            ),
            "random-case": lambda m: m.upper() in _STANDARD and m not in spellings,
        },
    )


@FAST
@given(methods())
def test_methods_are_tokens_and_never_forbidden(method: str) -> None:
    assert is_token(method.encode())
    assert not is_forbidden_method(method.encode())


@FAST
@given(methods(include_safelisted=False, custom=False))
def test_methods_without_safelisted_ones_always_preflight(method: str) -> None:
    assert not is_cors_safelisted_method(normalize_method(method.encode()))


@FAST
@given(methods(include_unsafe=False, custom=False, case_variants=False))
def test_methods_only_safelisted(method: str) -> None:
    assert method in ("GET", "HEAD", "POST")


# --- headers -------------------------------------------------------------------------------------

Headers = tuple[tuple[bytes, bytes], ...]
_SAFELISTED_NAMES = {b"accept", b"accept-language", b"content-language", b"content-type", b"range"}
_POOLED_NAMES = {
    b"x-custom",
    b"x-test-header1",
    b"x-foo-bar",
    b"x'y*z",
    b"x-requested-with",
    b"x-api-key",
    b"authorization",
    b"x-request-id",
    b"if-none-match",
    b"cache-control",
    b"user-agent",
    b"x-http-method-override",
    b"last-event-id",
    b"dpr",
}


_CANONICAL_NAMES = {*SAFELISTED_HEADER_NAMES, *UNSAFE_HEADER_NAMES}


def _any(test: Callable[[bytes, bytes], object]) -> Callable[[Headers], bool]:
    return lambda headers: any(test(name, value) for name, value in headers)


def test_request_headers_reach_special_values() -> None:
    find_all(
        request_headers(),
        {
            "bearer": _any(lambda n, v: n.lower() == b"authorization" and v == b"Bearer x"),
            "basic": _any(lambda n, v: n.lower() == b"authorization" and v.startswith(b"Basic ")),
            "ct-html": _any(lambda n, v: n.lower() == b"content-type" and v == b"text/html"),
            "ct-invalid": _any(
                lambda n, v: (
                    n.lower() == b"content-type"
                    and not is_cors_safelisted_request_header(n, v)
                    and v != b"text/html"
                )
            ),
            "ct-valid": _any(
                lambda n, v: (
                    n.lower() == b"content-type" and is_cors_safelisted_request_header(n, v)
                )
            ),
            "129-bytes": _any(lambda _, v: len(v) == 129),
            "range-invalid": _any(
                lambda n, v: n.lower() == b"range" and not is_cors_safelisted_request_header(n, v)
            ),
            "range-valid": _any(
                lambda n, v: n.lower() == b"range" and re.fullmatch(rb"bytes=[0-9]+-[0-9]+", v)
            ),
            "accept-unsafe-byte": _any(
                lambda n, v: n.lower() == b"accept" and any(b in v for b in b'"():<>?@[\\]{}\x01')
            ),
            "language-invalid": _any(
                lambda n, v: (
                    n.lower() == b"accept-language" and not is_cors_safelisted_request_header(n, v)
                )
            ),
            "x-requested-with": _any(lambda n, _: n == b"X-Requested-With"),
            "other-case-name": _any(
                lambda n, _: (
                    n.lower() in _SAFELISTED_NAMES | _POOLED_NAMES
                    and n not in _CANONICAL_NAMES
                    and n != n.lower()
                )
            ),
            "custom-name": _any(lambda n, _: n.lower() not in _SAFELISTED_NAMES | _POOLED_NAMES),
            "empty-value": _any(lambda n, v: n.lower() not in _SAFELISTED_NAMES and v == b""),
            "duplicate-names": lambda hs: len({n.lower() for n, _ in hs}) < len(hs),
            "1024-byte-budget": lambda hs: sum(len(v) for _, v in hs) > 1024,
        },
    )


@FAST
@given(request_headers())
def test_browser_headers_are_valid_and_never_forbidden(headers: Headers) -> None:
    for name, value in headers:
        assert is_token(name)
        assert not is_forbidden_request_header(name, value)
        assert not any(byte in value for byte in b"\x00\r\n")
        assert value == value.strip(b"\t\n\r ")


@FAST
@given(safelisted_request_headers())
def test_safelisted_request_headers_never_cause_a_preflight(headers: Headers) -> None:
    assert cors_unsafe_request_header_names(headers) == ()


def test_hostile_headers_reach_forbidden_names_and_odd_bytes() -> None:
    find_all(
        request_headers(profile="hostile"),
        {
            "forbidden": _any(is_forbidden_request_header),
            "odd-bytes": _any(lambda _, v: any(b >= 0x80 or 1 <= b < 0x09 for b in v)),
            "padded": _any(lambda _, v: v != v.strip(b" \t")),
        },
    )


@FAST
@given(request_headers(profile="hostile"))
def test_hostile_headers_never_hold_nul_cr_lf(headers: Headers) -> None:
    for name, value in headers:
        assert is_token(name)
        assert not any(byte in value for byte in b"\x00\r\n")


@FAST
@given(header_names())
def test_browser_header_names_are_tokens_never_forbidden(name: bytes) -> None:
    assert is_token(name)
    assert not is_forbidden_request_header(name, b"")


# --- browser requests ---------------------------------------------------------------------------


def test_cors_requests_reach_special_values() -> None:
    find_all(
        cors_requests(policy=PATH_POLICY),
        {
            "preflighted": is_preflighted,
            "simple": lambda r: not is_preflighted(r),
            "non-safelisted-method": lambda r: (
                not is_cors_safelisted_method(normalize_method(r.method.encode()))
            ),
            "preflighted-by-headers-only": lambda r: (
                is_cors_safelisted_method(normalize_method(r.method.encode()))
                and bool(cors_unsafe_request_header_names(r.headers))
            ),
            "authorization": lambda r: any(n.lower() == b"authorization" for n, _ in r.headers),
            "cookie-with-include": lambda r: (
                r.credentials is CredentialsMode.INCLUDE and r.cookie == b"session=abc"
            ),
            "include-without-cookie": lambda r: (
                r.credentials is CredentialsMode.INCLUDE and r.cookie is None
            ),
            "omit": lambda r: r.credentials is CredentialsMode.OMIT,
            "stream-body": lambda r: r.use_cors_preflight,
            "body": lambda r: r.body is not None,
            "private-network": lambda r: r.private_network,
            "path-other-case": lambda r: r.url == "http://testserver/PUBLIC",
            "path-longer": lambda r: r.url == "http://testserver/publicx",
            "path-percent-encoded": lambda r: r.url == "http://testserver/%70ublic",
            "path-below-prefix": lambda r: r.url == "http://testserver/public/x",
            "null-origin": lambda r: isinstance(r.origin, OpaqueOrigin),
            "near-miss-origin": lambda r: r.origin.serialize() == "https://a.example.evil.com",
        },
    )


@FAST
@given(
    cors_requests(
        policy=NEAR_MISS_POLICY, base_url="https://api.example:8443/", paths=("/a", "/b?x=1")
    )
)
def test_cors_requests_are_what_a_browser_can_make(request: BrowserRequest) -> None:
    assert request.url.startswith("https://api.example:8443/")
    assert parse_serialized_origin(request.origin.serialize()) == request.origin
    assert not is_forbidden_method(request.method.encode())
    for name, value in request.headers:
        assert not is_forbidden_request_header(name, value)
    if normalize_method(request.method.encode()) in (b"GET", b"HEAD"):
        assert request.body is None
    if request.credentials is not CredentialsMode.INCLUDE:
        assert request.cookie is None
    assert not request.use_cors_preflight or request.body is not None


def test_simplest_cors_request_is_a_credential_less_get_from_the_first_origin() -> None:
    request = minimal(cors_requests(policy=NEAR_MISS_POLICY, paths=("/a", "/b")))
    assert request.origin.serialize() == "https://api.a.example"
    assert request.url == "http://testserver/a"
    assert request.method == "GET"
    assert request.headers == ()
    assert request.credentials is not CredentialsMode.INCLUDE
    assert request.cookie is None
    assert request.body is None


_REQUEST_PARTS = (
    "origin",
    "url",
    "method",
    "headers",
    "credentials",
    "cookie",
    "private_network",
    "body",
    "use_cors_preflight",
)


@pytest.mark.parametrize(
    ("condition", "kept"),
    [
        (
            lambda r: r.credentials is CredentialsMode.INCLUDE and r.cookie is not None,
            {"credentials", "cookie"},
        ),
        (lambda r: r.private_network, {"private_network"}),
        (lambda r: r.method == "PUT", {"method"}),
        (lambda r: any(n.lower() == b"x-api-key" for n, _ in r.headers), {"headers"}),
        (lambda r: r.url.endswith("/b"), {"url"}),
        (lambda r: "evil" in r.origin.serialize(), {"origin"}),
        (lambda r: isinstance(r.origin, OpaqueOrigin), {"origin"}),
        (lambda r: r.use_cors_preflight, {"method", "body", "use_cors_preflight"}),
    ],
    ids=[
        "credentials",
        "private-network",
        "method",
        "header",
        "path",
        "near-miss",
        "null",
        "stream",
    ],
)
def test_cors_requests_shrink_each_part_on_its_own(
    condition: Callable[[BrowserRequest], object], kept: set[str]
) -> None:
    """A failure that needs one part keeps that part and nothing else: every other part
    shrinks to the simplest request's."""
    strategy = cors_requests(policy=NEAR_MISS_POLICY, paths=("/a", "/b"))
    simplest = minimal(strategy)
    request = minimal(strategy, condition)
    for part in _REQUEST_PARTS:
        if part not in kept:
            assert getattr(request, part) == getattr(simplest, part), part


def test_cors_requests_shrink_to_the_simplest_value_of_a_part() -> None:
    strategy = cors_requests(policy=NEAR_MISS_POLICY, paths=("/a", "/b"))
    # The first near miss of the first allowed origin, under the first kind (prefix).
    near = minimal(strategy, lambda r: "evil" in r.origin.serialize())
    assert near.origin.serialize() == "https://api.a.example.evil.com"
    # A body needs a method that may carry one: the first such safelisted method.
    stream = minimal(strategy, lambda r: r.use_cors_preflight)
    assert (stream.method, stream.body) == ("POST", b"")
    # Two headers: the first safelisted entry twice.
    assert minimal(strategy, lambda r: len(r.headers) == 2).headers == ((b"Accept", b"*/*"),) * 2


def test_request_paths() -> None:
    assert minimal(request_paths(policy=PATH_POLICY, paths=("/z",))) == "/z"
    pattern_policy = CorsPolicy(paths=(PathRule(pattern=r"/v[0-9]+/items", rules=PolicyRules()),))
    find_any(request_paths(policy=pattern_policy), lambda p: re.fullmatch(r"/v[0-9]+/items", p))


def test_credentials_modes_shrink_away_from_include() -> None:
    assert minimal(credentials_modes()) is not CredentialsMode.INCLUDE
    find_any(credentials_modes(), lambda mode: mode is CredentialsMode.INCLUDE)


# --- hostile requests ---------------------------------------------------------------------------


def _origins_sent(request: WireRequest) -> list[bytes]:
    return header_value(request, b"origin")


def test_hostile_requests_reach_special_values() -> None:
    acrh = b"access-control-request-headers"
    acrm = b"access-control-request-method"
    find_all(
        hostile_requests(policy=PATH_POLICY),
        {
            "comma-bomb": lambda r: any(v.count(b",") >= 999 for v in header_value(r, acrh)),
            "two-origins": lambda r: len(_origins_sent(r)) == 2,
            "no-origin": lambda r: not _origins_sent(r),
            "lowercase-name": lambda r: any(n == b"origin" for n, _ in r.headers),
            "uppercase": lambda r: _origins_sent(r) == [b"HTTPS://A.EXAMPLE"],
            "default-port": lambda r: _origins_sent(r) == [b"https://a.example:443"],
            "trailing-slash": lambda r: _origins_sent(r) == [b"https://a.example/"],
            "padded-null": lambda r: any(v.strip() == b"null" != v for v in _origins_sent(r)),
            "empty": lambda r: _origins_sent(r) == [b""],
            "huge": lambda r: any(len(v) > 10000 for v in _origins_sent(r)),
            "non-ascii": lambda r: any(any(b >= 0x80 for b in v) for v in _origins_sent(r)),
            "origin-list": lambda r: any(b", " in v for v in _origins_sent(r)),
            "acrm-lowercase": lambda r: any(
                v in (b"get", b"put", b"patch", b"delete") for v in header_value(r, acrm)
            ),
            "acrm-huge": lambda r: any(len(v) >= 10000 for v in header_value(r, acrm)),
            "acrm-odd-bytes": lambda r: any(
                any(b < 0x20 or b >= 0x7F for b in v) for v in header_value(r, acrm)
            ),
            "acrh-browser-form": lambda r: any(
                v and v == b",".join(sorted(set(v.split(b",")))) and v == v.lower()
                for v in header_value(r, acrh)
            ),
            "acrh-spaces-or-empties": lambda r: any(
                b", " in v or b",," in v for v in header_value(r, acrh)
            ),
            "acrh-uppercase": lambda r: any(v != v.lower() for v in header_value(r, acrh)),
            "preflight-without-acrh": lambda r: r.is_preflight and not header_value(r, acrh),
            "credentialed": lambda r: r.credentials,
            "forbidden-author-header": lambda r: any(
                is_forbidden_request_header(n, v)
                and n.lower() not in (b"origin", b"cookie", acrm, acrh)
                for n, v in r.headers
            ),
        },
    )


@FAST
@given(hostile_requests(policy=NEAR_MISS_POLICY))
def test_hostile_requests_can_go_on_the_wire(request: WireRequest) -> None:
    for name, value in request.headers:
        assert is_token(name)
        assert not any(byte in value for byte in b"\x00\r\n")
    if request.is_preflight:
        assert request.method == b"OPTIONS"
        assert len(header_value(request, b"access-control-request-method")) == 1


def test_simplest_hostile_request_is_a_get_from_the_first_origin() -> None:
    request = minimal(hostile_requests(policy=NEAR_MISS_POLICY))
    assert request.method == b"GET"
    assert not request.is_preflight
    assert request.headers == ((b"Origin", b"https://api.a.example"),)
    assert not request.credentials


# --- policies ------------------------------------------------------------------------------------


def test_policies_reach_special_values() -> None:
    find_all(
        policies(),
        {
            "any-origin": lambda p: p.allow_origins == ("*",),
            "null": lambda p: "null" in p.allow_origins,
            "exact-and-null": lambda p: "null" in p.allow_origins and len(p.allow_origins) > 1,
            "no-exact-origin": lambda p: p.allow_origins == (),
            "two-patterns": lambda p: len(p.allow_origin_patterns) == 2,
            "any-method": lambda p: p.allow_methods == ("*",),
            "without-get": lambda p: "GET" not in p.allow_methods,
            "patch": lambda p: "PATCH" in p.allow_methods,
            "any-header": lambda p: p.allow_headers == ("*",),
            "authorization": lambda p: "authorization" in p.allow_headers,
            "expose-any": lambda p: p.expose_headers == ("*",),
            "expose-some": lambda p: "x-total-count" in p.expose_headers,
            "credentials": lambda p: p.allow_credentials,
            "credentials-any-origin": lambda p: p.allow_credentials and p.allow_origins == ("*",),
            "private-network": lambda p: p.allow_private_network,
            "max-age-0": lambda p: p.max_age == 0,
            "max-age-day": lambda p: p.max_age == 86400,
            "max-age-other": lambda p: p.max_age not in (None, 0, 5, 600, 7200, 86400),
            "two-path-rules": lambda p: len(p.paths) == 2,
            "path-max-age-none": lambda p: any(
                r.max_age_set and r.rules.max_age is None for r in p.paths
            ),
            "path-origins": lambda p: any(r.rules.allow_origins is not None for r in p.paths),
            "path-credentials": lambda p: any(r.rules.allow_credentials for r in p.paths),
        },
    )


def test_simplest_policy() -> None:
    assert minimal(policies()) == CorsPolicy(
        allow_origins=("https://app.example",), allow_methods=("GET", "POST")
    )


@FAST
@given(policies(allow_paths=False))
def test_policies_without_paths(policy: CorsPolicy) -> None:
    assert policy.paths == ()
    for pattern in policy.allow_origin_patterns:
        assert re.search(r"(?<!\\)\.", pattern) is None  # well-formed: every dot escaped


@settings(max_examples=20, deadline=None, database=None)
@given(policies().flatmap(lambda p: st.tuples(st.just(p), cors_requests(policy=p))))
def test_requests_can_be_drawn_for_any_generated_policy(
    pair: tuple[CorsPolicy, BrowserRequest],
) -> None:
    _, request = pair
    assert parse_serialized_origin(request.origin.serialize()) == request.origin


# --- shrinking of the small strategies ------------------------------------------------------


def test_simplest_values() -> None:
    assert minimal(origins()).serialize() == "https://a.example"
    assert minimal(methods()) == "GET"
    assert minimal(request_headers()) == ()
    assert minimal(relevant_origins(NEAR_MISS_POLICY)).serialize() == "https://api.a.example"


# --- argument validation -------------------------------------------------------------------------


def bad(value: object) -> Any:
    """A deliberately ill-typed argument (what an untyped caller could pass)."""
    return value


@pytest.mark.parametrize(
    ("build", "shown"),
    [
        (lambda: origins(schemes=("ftp",)), "'ftp'"),
        (lambda: origins(schemes="https"), "'https'"),
        (lambda: origins(schemes=(), allow_null=False), "()"),
        (lambda: origins(allow_null=bad("yes")), "'yes'"),
        (lambda: methods(include_safelisted=False, include_unsafe=False, custom=False), "False"),
        (lambda: methods(custom=bad(1)), "1"),
        (lambda: request_headers(profile=bad("curl")), "'curl'"),
        (lambda: header_names(profile=bad(None)), "None"),
        (lambda: policies(allow_paths=bad("no")), "'no'"),
        (lambda: near_misses(bad("https://a.example")), "'https://a.example'"),
        (lambda: cors_requests(policy=CorsPolicy(), paths=()), "()"),
        (lambda: cors_requests(policy=CorsPolicy(), paths="/"), "'/'"),
        (lambda: cors_requests(policy=CorsPolicy(), paths=("api",)), "'api'"),
        (lambda: cors_requests(policy=CorsPolicy(), paths=("/a b",)), "'/a b'"),
        (lambda: cors_requests(policy=CorsPolicy(), base_url="ftp://x"), "'ftp://x'"),
        (lambda: cors_requests(policy=CorsPolicy(), base_url="http://x/api"), "'http://x/api'"),
        (lambda: cors_requests(policy=CorsPolicy(), base_url="http://x?q"), "'http://x?q'"),
        (lambda: cors_requests(policy=CorsPolicy(), base_url="http://u@x"), "'http://u@x'"),
        (lambda: cors_requests(policy=CorsPolicy(), profile="hostile"), "'hostile'"),
        (lambda: cors_requests(policy=CorsPolicy(), profile=bad("other")), "'other'"),
        (lambda: hostile_requests(policy=CorsPolicy(), base_url=bad(b"http://x")), "b'http://x'"),
    ],
)
def test_bad_arguments_are_refused_with_the_value_shown(
    build: Callable[[], Any], shown: str
) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(shown)):
        build()


def test_base_url_trailing_slash_is_tolerated() -> None:
    request = find_any(cors_requests(policy=CorsPolicy(), base_url="http://x:8000/"))
    assert request.url.startswith("http://x:8000/")
    assert not request.url.startswith("http://x:8000//")
