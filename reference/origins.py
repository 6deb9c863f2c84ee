"""Origins: the origin of a URL, its ASCII serialization, same-origin (digest §3).

An origin is either a tuple ``(scheme, host, port)`` or opaque. Opaque origins serialize as
``null``. Hosts are held in their serialized (ASCII, canonical) form.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import unquote, urlsplit

from reference import anchors
from reference.grammar import SERIALIZED_ORIGIN

DEFAULT_PORTS: Final = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
_TUPLE_SCHEMES: Final = frozenset(DEFAULT_PORTS)
# URL Standard: forbidden domain code points (a subset check is enough for the model's inputs).
_FORBIDDEN_HOST_CHARS: Final = (
    frozenset("\x00\t\n\r #/:<>?@[\\]^|%") | frozenset(chr(c) for c in range(0x20)) | {"\x7f"}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class TupleOrigin:
    scheme: str
    host: str
    port: int | None  # None when the URL's port is the scheme's default
    _serialized: str = field(init=False, compare=False, repr=False)
    _serialized_bytes: bytes = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        # https://html.spec.whatwg.org/multipage/browsers.html#ascii-serialisation-of-an-origin
        # (once, as text and as the bytes of an Origin header: every request from an origin
        # serializes it)
        base = f"{self.scheme}://{self.host}"
        serialized = base if self.port is None else f"{base}:{self.port}"
        object.__setattr__(self, "_serialized", serialized)
        object.__setattr__(self, "_serialized_bytes", serialized.encode())

    def serialize(self) -> str:
        return self._serialized

    def serialize_bytes(self) -> bytes:
        return self._serialized_bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class OpaqueOrigin:
    """An opaque origin. ``label`` only tells distinct opaque origins apart in tests."""

    label: str = "opaque"

    def serialize(self) -> str:
        # Step 1 of the ASCII serialization: an opaque origin serializes as "null".
        return "null"

    def serialize_bytes(self) -> bytes:
        return b"null"


Origin = TupleOrigin | OpaqueOrigin


class OriginError(ValueError):
    """A string that is not a URL or origin the model can take."""


def same_origin(a: Origin, b: Origin) -> bool:
    # https://html.spec.whatwg.org/multipage/browsers.html#same-origin
    if isinstance(a, OpaqueOrigin) or isinstance(b, OpaqueOrigin):
        return a is b  # an opaque origin is same origin only with itself
    return a == b


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedURL:
    """The parts of a URL the CORS model needs."""

    scheme: str
    host: str
    port: int | None
    path_query: str  # path and query as they go on the request line, e.g. "/a?b"
    has_userinfo: bool
    has_nonempty_userinfo: bool
    origin: Origin = field(init=False, compare=False, repr=False)
    _serialized: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        # https://url.spec.whatwg.org/#concept-url-origin
        origin: Origin
        if self.scheme in _TUPLE_SCHEMES:
            origin = TupleOrigin(scheme=self.scheme, host=self.host, port=self.port)
        else:
            origin = OpaqueOrigin(label=f"{self.scheme}:")
        object.__setattr__(self, "origin", origin)
        # Serialized once: parse_url is memoized, so a URL is serialized for every request to it.
        port = "" if self.port is None else f":{self.port}"
        object.__setattr__(
            self, "_serialized", f"{self.scheme}://{self.host}{port}{self.path_query}"
        )

    def serialize(self) -> str:
        return self._serialized


def parse_url(text: str, *, base: ParsedURL | None = None) -> ParsedURL:
    """Parse an absolute (or, with ``base``, relative) URL into the model's parts.

    Memoized for tuple-origin URLs (a pure function of hashable values, called for every
    request); a URL with an opaque origin gets a fresh one each time, as the URL Standard says.
    """
    parsed = _parse_url(text, base)
    if parsed.scheme not in _TUPLE_SCHEMES:
        return dataclasses.replace(parsed)  # __post_init__ makes a new opaque origin
    return parsed


@functools.lru_cache(maxsize=4096)
def _parse_url(text: str, base: ParsedURL | None) -> ParsedURL:
    """This follows the URL Standard for what CORS observes (scheme and host lowercased, IDNA
    ToASCII, IPv4 and IPv6 canonicalized, default port dropped, userinfo detected); it is not a
    complete URL parser (path normalization, for example, is left as given).
    """
    text = text.strip("\x00\t\n\r\x0c ")
    text = text.replace("\t", "").replace("\n", "").replace("\r", "")
    if base is not None and not re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:", text):
        text = _resolve_relative(text, base)
    try:
        parts = urlsplit(text)
    except ValueError as exc:  # e.g. "Invalid IPv6 URL"
        raise OriginError(f"not a valid URL: {text!r} ({exc})") from None
    scheme = parts.scheme.lower()
    if not scheme:
        raise OriginError(f"not an absolute URL: {text!r}")
    if scheme not in _TUPLE_SCHEMES:
        return ParsedURL(
            scheme=scheme,
            host="",
            port=None,
            path_query=text[len(scheme) + 1 :],
            has_userinfo=False,
            has_nonempty_userinfo=False,
        )
    netloc = parts.netloc
    userinfo, _, hostport = netloc.rpartition("@")
    has_at = "@" in netloc
    host_text, port = _split_host_port(hostport, text)
    host = parse_host(host_text)
    if port == DEFAULT_PORTS[scheme]:
        port = None
    path = parts.path or "/"
    query = f"?{parts.query}" if parts.query or text.split("#", 1)[0].endswith("?") else ""
    return ParsedURL(
        scheme=scheme,
        host=host,
        port=port,
        path_query=path + query,
        has_userinfo=has_at,
        has_nonempty_userinfo=has_at and userinfo not in ("", ":"),
    )


def _resolve_relative(text: str, base: ParsedURL) -> str:
    root = f"{base.scheme}://{base.host}" + ("" if base.port is None else f":{base.port}")
    if not text or text.startswith("#"):
        return base.serialize()  # the base URL itself (fragments are not modelled)
    if text.startswith("//"):
        return f"{base.scheme}:{text}"
    if text.startswith("/"):
        return root + text
    if text.startswith("?"):
        return root + base.path_query.split("?", 1)[0] + text
    directory = base.path_query.split("?", 1)[0].rsplit("/", 1)[0]
    return f"{root}{directory}/{text}"


def _split_host_port(hostport: str, text: str) -> tuple[str, int | None]:
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise OriginError(f"unterminated IPv6 host in {text!r}")
        host, rest = hostport[: end + 1], hostport[end + 1 :]
    else:
        host, sep, port_text = hostport.partition(":")
        rest = f":{port_text}" if sep else ""
    if not rest or rest == ":":
        return host, None
    if not rest.startswith(":") or not rest[1:].isascii() or not rest[1:].isdigit():
        raise OriginError(f"invalid port in {text!r}")
    port = int(rest[1:])
    if port > 65535:
        raise OriginError(f"port out of range in {text!r}")
    return host, port


@functools.lru_cache(maxsize=1024)
def parse_host(text: str) -> str:
    """Memoized (a pure function of the host text; a failure raises each time, uncached): a run
    parses URLs and origins that differ only in scheme, port or path far more often than it
    meets a new host (a ci run: 74 hosts among 511 URLs)."""
    # https://url.spec.whatwg.org/#concept-host-parser
    if not text:
        raise OriginError("empty host")
    if text.startswith("["):
        if not text.endswith("]"):
            raise OriginError(f"invalid IPv6 host {text!r}")
        try:
            address = ipaddress.IPv6Address(text[1:-1])
        except ValueError:
            raise OriginError(f"invalid IPv6 host {text!r}") from None
        return f"[{serialize_ipv6(address)}]"
    try:
        # Percent-decoded bytes that are not UTF-8 decode to U+FFFD, which ToASCII rejects.
        domain = unquote(text, encoding="utf-8", errors="strict")
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise OriginError(f"invalid domain {text!r} (IDNA ToASCII failed)") from None
    if any(ch in _FORBIDDEN_HOST_CHARS for ch in ascii_domain):
        raise OriginError(f"forbidden code point in host {text!r}")
    ipv4 = _parse_ipv4(ascii_domain)
    if ipv4 is not None:
        return ipv4
    return ascii_domain


def _parse_ipv4(domain: str) -> str | None:
    # https://url.spec.whatwg.org/#ends-in-a-number-checker, #concept-ipv4-parser
    parts = domain.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts = parts[:-1]
    last = parts[-1]
    if not (last.isdigit() or re.fullmatch(r"0[xX][0-9a-fA-F]*", last)):
        return None
    if len(parts) > 4:
        raise OriginError(f"invalid IPv4 host {domain!r}")
    numbers = []
    for part in parts:
        number = _ipv4_number(part)
        if number is None:
            raise OriginError(f"invalid IPv4 host {domain!r}")
        numbers.append(number)
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise OriginError(f"invalid IPv4 host {domain!r}")
    value = numbers[-1]
    for i, n in enumerate(numbers[:-1]):
        value += n * 256 ** (3 - i)
    return str(ipaddress.IPv4Address(value))


def _ipv4_number(part: str) -> int | None:
    if not part:
        return None
    try:
        if part[:2] in ("0x", "0X"):
            return int(part[2:] or "0", 16)
        if len(part) > 1 and part[0] == "0":
            return int(part[1:], 8)
        return int(part, 10)
    except ValueError:
        return None


def serialize_ipv6(address: ipaddress.IPv6Address) -> str:
    # https://url.spec.whatwg.org/#concept-ipv6-serializer : compress the first longest run of
    # two or more zero pieces; lowercase hex; never embedded IPv4.
    pieces = [int.from_bytes(address.packed[i : i + 2], "big") for i in range(0, 16, 2)]
    best_start, best_len, i = -1, 1, 0
    while i < 8:
        if pieces[i] == 0:
            j = i
            while j < 8 and pieces[j] == 0:
                j += 1
            if j - i > best_len:
                best_start, best_len = i, j - i
            i = j
        else:
            i += 1
    if best_start < 0:
        return ":".join(f"{p:x}" for p in pieces)
    head = ":".join(f"{p:x}" for p in pieces[:best_start])
    tail = ":".join(f"{p:x}" for p in pieces[best_start + best_len :])
    return f"{head}::{tail}"


def origin_of(url: str) -> Origin:
    """The origin of a URL (``https://a.example:443/x`` → ``https://a.example``)."""
    return parse_url(url).origin


def parse_serialized_origin(value: bytes | str) -> Origin | None:
    """Parse an ``Origin`` header value a browser could have sent; ``None`` if it is not one.

    Accepts exactly the canonical serialization (Fetch's origin ABNF plus canonical hosts and no
    default port), or ``null``, which yields an opaque origin.
    """
    raw = value.encode("latin-1", "replace") if isinstance(value, str) else value
    if raw == b"null":
        return OpaqueOrigin(label="null")
    if SERIALIZED_ORIGIN.fullmatch(raw) is None:  # http(s) only: what a web page sends
        return None
    try:
        parsed = parse_url(raw.decode("ascii"))
    except OriginError:
        return None
    origin = parsed.origin
    if not isinstance(origin, TupleOrigin) or origin.serialize().encode() != raw:
        return None  # not canonical (default port spelled out, non-canonical IPv4/IPv6, ...)
    return origin


def is_serialized_origin(value: bytes | str) -> bool:
    """True for a canonical serialized tuple origin or ``null``: what a browser can emit."""
    return parse_serialized_origin(value) is not None


SPEC_REF: Final = anchors.ORIGIN_SERIALIZATION
