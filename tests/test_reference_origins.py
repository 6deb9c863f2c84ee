"""``reference.origins``: URL parsing as CORS observes it, origins and their serialization.

Expected values follow the URL Standard's host parser and serializers and the HTML origin
serialization, as digest §3.1-§3.2 paraphrases them; the parser's docstring names what is
modelled (lowercasing, IDNA ToASCII, IPv4/IPv6 canonicalization, default port, userinfo).
"""

from __future__ import annotations

import ipaddress

import pytest

from reference.origins import (
    OpaqueOrigin,
    OriginError,
    TupleOrigin,
    _parse_ipv4,
    is_serialized_origin,
    origin_of,
    parse_host,
    parse_serialized_origin,
    parse_url,
    same_origin,
    serialize_ipv6,
)
from reference.request import BrowserRequest

# -- valid URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "serialized", "origin"),
    [
        # Scheme and host lowercased, default port dropped, other ports kept (§3.2).
        ("HTTPS://API.Example:443/A?B", "https://api.example/A?B", "https://api.example"),
        ("http://api.example:443/", "http://api.example:443/", "http://api.example:443"),
        ("wss://api.example:443/", "wss://api.example/", "wss://api.example"),
        ("ftp://files.example:21/x", "ftp://files.example/x", "ftp://files.example"),
        ("http://api.example:/", "http://api.example/", "http://api.example"),
        ("http://api.example:0080/", "http://api.example/", "http://api.example"),
        # Empty path becomes "/"; an empty query is kept; the fragment never goes on the wire.
        ("https://api.example", "https://api.example/", "https://api.example"),
        ("https://api.example/p?", "https://api.example/p?", "https://api.example"),
        ("https://api.example/p#frag", "https://api.example/p", "https://api.example"),
        # Leading/trailing C0 control or space stripped, tab and newline removed anywhere.
        ("  https://api.ex\tam\nple/ \x00", "https://api.example/", "https://api.example"),
        # IDNA ToASCII (digest §3.2 example) and a trailing dot kept.
        ("https://\u00c9L\u00c8VE.example/", "https://xn--lve-6lad.example/", None),
        ("https://api.example./", "https://api.example./", "https://api.example."),
        # Percent-decoded host.
        ("https://ex%61mple.com/", "https://example.com/", "https://example.com"),
        # IPv4: hex, octal, fewer than four parts, trailing dot (URL Standard IPv4 parser).
        ("http://0x7f.1/", "http://127.0.0.1/", "http://127.0.0.1"),
        ("http://0177.0.0.01/", "http://127.0.0.1/", "http://127.0.0.1"),
        ("http://0X7F000001/", "http://127.0.0.1/", "http://127.0.0.1"),
        ("http://192.168.257/", "http://192.168.1.1/", "http://192.168.1.1"),
        ("http://4294967295/", "http://255.255.255.255/", "http://255.255.255.255"),
        ("http://1.2.3.4./", "http://1.2.3.4/", "http://1.2.3.4"),
        ("http://0x/", "http://0.0.0.0/", "http://0.0.0.0"),
        # IPv6: compressed, lowercase, no embedded IPv4, port kept.
        ("http://[0:0:0:0:0:0:0:1]:8080/", "http://[::1]:8080/", "http://[::1]:8080"),
        ("http://[::FFFF:1.2.3.4]/", "http://[::ffff:102:304]/", "http://[::ffff:102:304]"),
    ],
)
def test_a_url_parses_to_its_canonical_form(url: str, serialized: str, origin: str | None) -> None:
    parsed = parse_url(url)
    assert parsed.serialize() == serialized
    expected = origin if origin is not None else serialized.rstrip("/")
    assert parsed.origin.serialize() == expected
    assert origin_of(url) == parsed.origin


def test_a_digit_only_host_is_an_ipv4_address_not_a_domain() -> None:
    assert parse_host("2130706433") == "127.0.0.1"
    assert parse_host("example.com") == "example.com"
    assert parse_host("1.2.3.4.example") == "1.2.3.4.example"  # last label not a number


@pytest.mark.parametrize(
    ("url", "has_userinfo", "nonempty"),
    [
        ("https://api.example/", False, False),
        ("https://user:pass@api.example/", True, True),
        ("https://user@api.example/", True, True),
        ("https://:pass@api.example/", True, True),
        # Digest §11.1: `http://:@host/` and `http://@host/` have empty userinfo.
        ("https://:@api.example/", True, False),
        ("https://@api.example/", True, False),
    ],
)
def test_userinfo_is_detected_and_never_serialized(
    url: str, has_userinfo: bool, nonempty: bool
) -> None:
    parsed = parse_url(url)
    assert (parsed.has_userinfo, parsed.has_nonempty_userinfo) == (has_userinfo, nonempty)
    assert parsed.serialize() == "https://api.example/"
    assert parsed.origin == TupleOrigin(scheme="https", host="api.example", port=None)


# -- invalid URLs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("api.example/path", "not an absolute URL"),
        ("//api.example/", "not an absolute URL"),
        ("http://[::1/", "not a valid URL"),
        ("http://[::1]x/", "invalid port"),
        # The "]" urlsplit sees is in the userinfo; the host itself is unterminated.
        ("http://]@[::1/", "unterminated IPv6 host"),
        ("http://[::g]/", "not a valid URL"),
        ("http:///path", "empty host"),
        ("https://api.example:99999/", "port out of range"),
        ("https://api.example:65536/", "port out of range"),
        ("https://api.example:8o/", "invalid port"),
        ("https://api.example:+80/", "invalid port"),
        ("https://api.example:\u0668\u0660/", "invalid port"),  # non-ASCII digits
        ("https://a b.example/", "forbidden code point in host"),
        ("https://a%20b.example/", "forbidden code point in host"),
        ("https://a<b.example/", "forbidden code point in host"),
        ("https://a%25b.example/", "forbidden code point in host"),
        ("https://a^b.example/", "forbidden code point in host"),
        # UTS #46 disallowed code points, and a label breaking the Bidi rule.
        ("https://\ufffd.example/", "IDNA ToASCII failed"),
        ("https://\u2ff0.example/", "IDNA ToASCII failed"),
        ("https://a\u05d0.example/", "IDNA ToASCII failed"),
        ("https://%ff.example/", "invalid domain"),  # not UTF-8 after percent-decoding
        ("http://1.2.3.4.5/", "invalid IPv4 host"),  # more than four parts
        ("http://256.0.0.1/", "invalid IPv4 host"),  # a non-last part above 255
        ("http://1.2.3.256/", "invalid IPv4 host"),  # last part too large for one byte
        ("http://1.2.65536/", "invalid IPv4 host"),  # last part too large for two bytes
        ("http://4294967296/", "invalid IPv4 host"),  # above 2**32 - 1
        ("http://09/", "invalid IPv4 host"),  # 9 is not an octal digit
        ("http://0xg.1/", "invalid IPv4 host"),  # not hex
        ("http://1..1/", "invalid"),  # an empty IPv4 part
        ("http://example.0x/", "invalid IPv4 host"),  # ends in a number, so IPv4, so failure
    ],
)
def test_an_invalid_url_is_an_origin_error(url: str, message: str) -> None:
    with pytest.raises(OriginError, match=message.replace("+", r"\+")):
        parse_url(url)


@pytest.mark.parametrize("host", ["[::1", "[nope]", ""])
def test_parse_host_rejects_bad_hosts(host: str) -> None:
    with pytest.raises(OriginError):
        parse_host(host)


def test_parse_host_memo_answers_as_the_parser_and_never_keeps_a_failure() -> None:
    hosts = [
        "Example.COM",
        "example.com",
        "2130706433",
        "[0:0::1]",
        "b\u00fccher.example",
        "0x7f.1",
    ]
    for _ in range(2):  # the second round is answered from the memo
        for host in hosts:
            assert parse_host(host) == parse_host.__wrapped__(host)
    for _ in range(2):  # a failure raises every time, and leaves nothing behind
        with pytest.raises(OriginError):
            parse_host("exa mple.com")
    assert parse_host("[::1]") == "[::1]" != parse_host("127.0.0.1")


@pytest.mark.parametrize("domain", ["1.2..3", ".1", "0x1..0x2"])
def test_the_ipv4_parser_fails_on_an_empty_part(domain: str) -> None:
    # URL Standard IPv4 parser: an empty part (other than one trailing dot) is a failure. Through
    # parse_host the IDNA step already rejects such a domain, so the parser is tested directly.
    with pytest.raises(OriginError, match="invalid IPv4 host"):
        _parse_ipv4(domain)


# -- relative URLs (Location headers) ---------------------------------------------------------

BASE = parse_url("https://api.example:8443/a/b?x=1")


@pytest.mark.parametrize(
    ("location", "resolved"),
    [
        ("//cdn.example/p", "https://cdn.example/p"),  # scheme-relative
        ("/root?y", "https://api.example:8443/root?y"),  # path-absolute
        ("?y=2", "https://api.example:8443/a/b?y=2"),  # query only
        ("c", "https://api.example:8443/a/c"),  # path-relative
        ("c?d=/e", "https://api.example:8443/a/c?d=/e"),
        ("HTTP://Other.Example/", "http://other.example/"),  # absolute wins over the base
        ("  /x  ", "https://api.example:8443/x"),
    ],
)
def test_a_relative_url_resolves_against_the_base(location: str, resolved: str) -> None:
    assert parse_url(location, base=BASE).serialize() == resolved


def test_a_relative_url_against_a_default_port_base() -> None:
    base = parse_url("https://api.example/index")
    assert parse_url("next", base=base).serialize() == "https://api.example/next"
    assert parse_url("/n", base=base).serialize() == "https://api.example/n"


def test_a_relative_url_without_a_base_is_an_error() -> None:
    with pytest.raises(OriginError, match="not an absolute URL"):
        parse_url("/path")


# -- non-tuple schemes and opaque origins -----------------------------------------------------


@pytest.mark.parametrize(
    "url", ["data:text/plain,hi", "file:///etc/hosts", "about:blank", "blob:https://a.example/1"]
)
def test_a_non_tuple_scheme_has_an_opaque_origin(url: str) -> None:
    # Digest §3.1: anything but http(s)/ws(s)/ftp is opaque here; opaque serializes as `null`.
    parsed = parse_url(url)
    assert parsed.scheme == url.split(":", 1)[0]
    assert isinstance(parsed.origin, OpaqueOrigin)
    assert parsed.origin.serialize() == "null"
    assert (parsed.host, parsed.port, parsed.has_userinfo) == ("", None, False)
    assert parsed.path_query == url.split(":", 1)[1]


def test_each_request_to_an_opaque_url_has_its_own_origin() -> None:
    # BrowserRequest parses its URL through the memo: a tuple origin is shared, an opaque one
    # never is (the URL Standard makes a new one each time).
    one = BrowserRequest(origin=OpaqueOrigin(), url="data:text/plain,hi")
    two = BrowserRequest(origin=OpaqueOrigin(), url="data:text/plain,hi")
    assert one.parsed_url == two.parsed_url
    assert not same_origin(one.parsed_url.origin, two.parsed_url.origin)
    assert one.parsed_url.origin is not parse_url("data:text/plain,hi").origin
    web = BrowserRequest(origin=OpaqueOrigin(), url="https://a.example/x")
    assert web.parsed_url is parse_url("https://a.example/x")
    assert same_origin(web.parsed_url.origin, origin_of("https://a.example"))


def test_same_origin_compares_tuples_and_opaque_identity() -> None:
    a = origin_of("https://a.example")
    assert same_origin(a, origin_of("HTTPS://A.EXAMPLE:443/x"))
    assert not same_origin(a, origin_of("http://a.example"))
    assert not same_origin(a, origin_of("https://a.example:8443"))
    opaque = OpaqueOrigin()
    # HTML "same origin": an opaque origin is same origin only with itself.
    assert same_origin(opaque, opaque)
    assert not same_origin(opaque, OpaqueOrigin())
    assert not same_origin(opaque, a)
    assert not same_origin(a, opaque)


# -- IPv6 serializer --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "text"),
    [
        ("0:0:0:0:0:0:0:1", "::1"),
        ("0:0:0:0:0:0:0:0", "::"),
        ("1:0:0:0:0:0:0:0", "1::"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),  # the first of two equal runs
        ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),  # the longest run, not the first
        ("1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0"),  # a single 0 piece is never compressed
        ("ABCD:1:2:3:4:5:6:7", "abcd:1:2:3:4:5:6:7"),
        ("::ffff:192.0.2.1", "::ffff:c000:201"),  # never embedded IPv4
    ],
)
def test_ipv6_serialization_follows_the_url_standard(address: str, text: str) -> None:
    assert serialize_ipv6(ipaddress.IPv6Address(address)) == text


# -- parse_serialized_origin -----------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "https://app.example",
        "http://localhost:3000",
        "http://127.0.0.1:8080",
        "https://[::1]",
        "https://xn--lve-6lad.example",
        "https://a_b.example",  # browsers keep underscores (UTS #46 without STD3 rules)
        "https://a.example.",  # and a trailing dot
    ],
)
def test_a_canonical_origin_round_trips(value: str) -> None:
    for form in (value, value.encode()):
        origin = parse_serialized_origin(form)
        assert isinstance(origin, TupleOrigin)
        assert origin.serialize() == value
        assert is_serialized_origin(form)


def test_only_web_page_schemes_are_origin_header_values() -> None:
    # A page's origin is http(s): a WebSocket handshake carries the page's origin, not wss://.
    assert parse_serialized_origin("wss://chat.example") is None
    assert parse_serialized_origin("ftp://files.example") is None


def test_null_is_the_opaque_origin_case_sensitively() -> None:
    assert isinstance(parse_serialized_origin(b"null"), OpaqueOrigin)
    assert isinstance(parse_serialized_origin("null"), OpaqueOrigin)
    assert parse_serialized_origin("NULL") is None
    assert parse_serialized_origin("Null") is None


@pytest.mark.parametrize(
    "value",
    [
        "https://app.example:443",  # default port spelled out
        "http://app.example:80",
        "https://app.example:0443",  # leading zero
        "https://app.example:99999",  # port out of range: the URL parser fails
        "https://App.example",  # uppercase
        "https://app.example/",  # trailing slash
        "https://app.example/path",
        "https://user@app.example",
        "https://[0:0::1]",  # non-canonical IPv6
        "https://[::ffff:1.2.3.4]",  # embedded IPv4
        "https://[1::2::3]",  # not IPv6 at all
        "http://1.2.3",  # IPv4 shorthand: canonical is 1.2.0.3
        "http://999.1.1.1",  # not an IPv4 address
        "http://0x7f.0.0.1",
        "chrome-extension://abcdef",  # not a tuple scheme the model knows
        "https://app.example:",
        "https://",
        "app.example",
        " https://app.example",
        "https://caf\u00e9.example",  # must be the IDNA form
        "https://\u20ac.example",  # not Latin-1 at all
        "",
    ],
)
def test_a_non_canonical_origin_is_rejected(value: str) -> None:
    assert parse_serialized_origin(value) is None
    assert not is_serialized_origin(value)
    if value.isascii():
        assert parse_serialized_origin(value.encode()) is None
