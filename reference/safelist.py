"""Request-side classification: methods, forbidden and safelisted headers (digest §4).

Spec-transcribing module: each function cites its algorithm; ``# Step N`` marks the line that
enforces a step. Quirks (``reference.profiles``) are named where they branch.
"""

from __future__ import annotations

import functools
import re
from typing import Final, NamedTuple

from reference.grammar import CORS_UNSAFE_REQUEST_HEADER_BYTES, is_token
from reference.headers import HeaderList, normalize_value
from reference.profiles import SPEC, Profile, Quirk

CORS_SAFELISTED_METHODS: Final = frozenset({b"GET", b"HEAD", b"POST"})
_NORMALIZED_METHODS: Final = frozenset({b"DELETE", b"GET", b"HEAD", b"OPTIONS", b"POST", b"PUT"})
FORBIDDEN_METHODS: Final = frozenset({b"CONNECT", b"TRACE", b"TRACK"})

FORBIDDEN_REQUEST_HEADER_NAMES: Final = frozenset(
    {
        b"accept-charset",
        b"accept-encoding",
        b"access-control-request-headers",
        b"access-control-request-method",
        b"connection",
        b"content-length",
        b"cookie",
        b"cookie2",
        b"date",
        b"dnt",
        b"expect",
        b"host",
        b"keep-alive",
        b"origin",
        b"referer",
        b"set-cookie",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"via",
    }
)
METHOD_OVERRIDE_HEADER_NAMES: Final = frozenset(
    {b"x-http-method", b"x-http-method-override", b"x-method-override"}
)
CORS_SAFELISTED_RESPONSE_HEADER_NAMES: Final = frozenset(
    {
        b"cache-control",
        b"content-language",
        b"content-length",
        b"content-type",
        b"expires",
        b"last-modified",
        b"pragma",
    }
)
NO_CORS_SAFELISTED_REQUEST_HEADER_NAMES: Final = frozenset(
    {b"accept", b"accept-language", b"content-language", b"content-type"}
)
SAFELISTED_CONTENT_TYPE_ESSENCES: Final = frozenset(
    {b"application/x-www-form-urlencoded", b"multipart/form-data", b"text/plain"}
)
# Chromium's extra safelisted request headers (Quirk.CLIENT_HINT_HEADERS_SAFELISTED), with the
# value grammar Chromium's cors.cc applies (numbers for DPR/Device-Memory/Downlink, integers for
# widths and RTT, one of four keywords for ECT; Save-Data "on"; Intervention unchecked).
_NUMBER: Final = re.compile(rb"[0-9]+(?:\.[0-9]+)?")
_INTEGER: Final = re.compile(rb"[0-9]+")
CLIENT_HINT_HEADERS: Final[dict[bytes, re.Pattern[bytes]]] = {
    b"dpr": _NUMBER,
    b"device-memory": _NUMBER,
    b"downlink": _NUMBER,
    b"width": _INTEGER,
    b"viewport-width": _INTEGER,
    b"rtt": _INTEGER,
    b"ect": re.compile(rb"slow-2g|2g|3g|4g"),
    b"save-data": re.compile(rb"on"),
    b"intervention": re.compile(rb".*", re.DOTALL),
}
_INT64_MAX: Final = 2**63 - 1
_LANGUAGE_BYTES: Final = frozenset(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz *,-.;="
)


def _byte_class(byte_set: frozenset[int], *, negated: bool = False) -> re.Pattern[bytes]:
    """One byte of ``byte_set`` (or, ``negated``, one byte outside it), as a pattern: a value is
    scanned in C instead of byte by byte in Python."""
    members = b"".join(re.escape(bytes([b])) for b in sorted(byte_set))
    return re.compile(b"[" + (b"^" if negated else b"") + members + b"]")


_UNSAFE_BYTE: Final = _byte_class(CORS_UNSAFE_REQUEST_HEADER_BYTES)
_NON_LANGUAGE_BYTE: Final = _byte_class(_LANGUAGE_BYTES, negated=True)


def is_cors_safelisted_method(method: bytes) -> bool:
    # https://fetch.spec.whatwg.org/#cors-safelisted-method
    return method in CORS_SAFELISTED_METHODS


def normalize_method(method: bytes) -> bytes:
    # https://fetch.spec.whatwg.org/#concept-method-normalize
    # Step 1: if method is a byte-case-insensitive match for DELETE, GET, HEAD, OPTIONS, POST or
    # PUT, byte-uppercase it. Nothing else is touched (`patch` stays `patch`).
    upper = method.upper()
    return upper if upper in _NORMALIZED_METHODS else method


def is_forbidden_method(method: bytes) -> bool:
    # https://fetch.spec.whatwg.org/#forbidden-method
    return method.upper() in FORBIDDEN_METHODS


def is_valid_method(method: bytes) -> bool:
    # https://fetch.spec.whatwg.org/#concept-method : a method is a byte sequence matching token.
    return is_token(method)


def _quote_aware_split(value: bytes) -> list[bytes]:
    # https://fetch.spec.whatwg.org/#header-value-get-decode-and-split
    items: list[bytes] = []
    current = bytearray()
    in_quotes = False
    i = 0
    while i < len(value):
        byte = value[i]
        if byte == 0x22:
            in_quotes = not in_quotes
            current.append(byte)
        elif byte == 0x5C and in_quotes and i + 1 < len(value):
            current += value[i : i + 2]
            i += 1
        elif byte == 0x2C and not in_quotes:
            items.append(bytes(current).strip(b"\t "))
            current = bytearray()
        else:
            current.append(byte)
        i += 1
    items.append(bytes(current).strip(b"\t "))
    return items


def is_forbidden_request_header(name: bytes, value: bytes) -> bool:
    # https://fetch.spec.whatwg.org/#forbidden-request-header
    lowered = name.lower()
    # Step 1: name is a byte-case-insensitive match for one of the listed names.
    if lowered in FORBIDDEN_REQUEST_HEADER_NAMES:
        return True
    # Step 2: name starts with `proxy-` or `sec-`.
    if lowered.startswith((b"proxy-", b"sec-")):
        return True
    # Step 3: a method-override header whose value names a forbidden method.
    if lowered in METHOD_OVERRIDE_HEADER_NAMES:
        return any(is_forbidden_method(item) for item in _quote_aware_split(value))
    return False


def has_cors_unsafe_request_header_byte(value: bytes) -> bool:
    # https://fetch.spec.whatwg.org/#cors-unsafe-request-header-byte
    return _UNSAFE_BYTE.search(value) is not None


def mime_type_essence(value: bytes) -> bytes | None:
    """The essence of a MIME type, or ``None`` where the WHATWG MIME parser fails.

    https://mimesniff.spec.whatwg.org/#parse-a-mime-type (only the parts that can fail; the
    parameters are parsed leniently and can never make the parse fail).
    """
    # Step 1: remove leading and trailing HTTP whitespace.
    text = value.strip(b"\t\n\r ")
    # Steps 3-6: type is everything up to the first "/"; it must be non-empty token code points.
    slash = text.find(b"/")
    if slash < 0:
        return None
    mime_type = text[:slash]
    if not mime_type or not is_token(mime_type):
        return None
    # Steps 7-10: subtype up to ";", trailing HTTP whitespace removed, non-empty token.
    subtype = text[slash + 1 :].split(b";", 1)[0].rstrip(b"\t\n\r ")
    if not subtype or not is_token(subtype):
        return None
    # Step 11: type and subtype in ASCII lowercase.
    return mime_type.lower() + b"/" + subtype.lower()


# The start digits, `-`, the end digits; HTTP tab or space allowed around `-` in the whitespace
# variant. Compiled once (re's own cache is looked up on every call otherwise).
_RANGE = re.compile(rb"([0-9]*)-([0-9]*)")
_RANGE_WITH_WHITESPACE = re.compile(rb"([0-9]*)[\t ]*-[\t ]*([0-9]*)")


def parse_single_range(value: bytes, *, allow_whitespace: bool) -> tuple[int | None, int | None]:
    """Parse a single range header value; raises ``ValueError`` on failure.

    https://fetch.spec.whatwg.org/#simple-range-header-value
    """
    data = value
    # Steps 1-4: must start with the literal `bytes` (case-sensitive).
    if not data.startswith(b"bytes"):
        raise ValueError("no bytes unit")
    data = data[len(b"bytes") :]
    if allow_whitespace:
        data = data.lstrip(b"\t ")
    # Step 5: then `=`.
    if not data.startswith(b"="):
        raise ValueError("no =")
    data = data[1:]
    if allow_whitespace:
        data = data.lstrip(b"\t ")
    # Steps 8-16: start digits, `-`, end digits, then the end (whitespace around `-` too).
    match = (_RANGE_WITH_WHITESPACE if allow_whitespace else _RANGE).fullmatch(data)
    if match is None:
        raise ValueError("not a single range")
    start_text, end_text = match[1], match[2]
    start = int(start_text) if start_text else None
    end = int(end_text) if end_text else None
    # Step 13-15: both empty fails; start > end fails.
    if start is None and end is None:
        raise ValueError("empty range")
    if start is not None and end is not None and start > end:
        raise ValueError("start after end")
    return start, end


def _is_safelisted_range(value: bytes, profile: Profile) -> bool:
    if profile.has(Quirk.RANGE_CASE_INSENSITIVE):
        value = value.lower()
    try:
        start, end = parse_single_range(value, allow_whitespace=False)
    except ValueError:
        return False
    if profile.has(Quirk.RANGE_POSITIONS_BELOW_INT64_MAX) and max(start or 0, end or 0) >= (
        _INT64_MAX
    ):
        return False
    # Step: "If rangeValue[0] is null, then return false" (a suffix range is not safelisted).
    return start is not None


def is_cors_safelisted_request_header(name: bytes, value: bytes, profile: Profile = SPEC) -> bool:
    # https://fetch.spec.whatwg.org/#cors-safelisted-request-header
    # Step 1: if value's length is greater than 128, then return false.
    if len(value) > 128:
        return False
    lowered = name.lower()
    # Step 2: byte-lowercase name and switch on the result.
    if lowered == b"accept":
        return not has_cors_unsafe_request_header_byte(value)
    if lowered in (b"accept-language", b"content-language"):
        return _NON_LANGUAGE_BYTE.search(value) is None
    if lowered == b"content-type":
        if has_cors_unsafe_request_header_byte(value):
            return False
        essence = mime_type_essence(value)
        return essence in SAFELISTED_CONTENT_TYPE_ESSENCES
    if lowered == b"range":
        return _is_safelisted_range(value, profile)
    if profile.has(Quirk.CLIENT_HINT_HEADERS_SAFELISTED) and lowered in CLIENT_HINT_HEADERS:
        return CLIENT_HINT_HEADERS[lowered].fullmatch(value) is not None
    return False


@functools.lru_cache(maxsize=4096)
def cors_unsafe_request_header_names(
    headers: HeaderList, profile: Profile = SPEC
) -> tuple[bytes, ...]:
    """Memoized: a pure function of hashable values, called several times per fetch."""
    # https://fetch.spec.whatwg.org/#cors-unsafe-request-header-names
    unsafe: list[bytes] = []
    potentially_unsafe: list[bytes] = []
    safelist_value_size = 0
    # Step 4: for each header of headers...
    for name, value in headers:
        if not is_cors_safelisted_request_header(name, value, profile):
            unsafe.append(name)
        else:
            potentially_unsafe.append(name)
            safelist_value_size += len(value)
    # Step 5: if safelistValueSize is greater than 1024, every potentially unsafe name is unsafe.
    if safelist_value_size > 1024:
        unsafe.extend(potentially_unsafe)
    # Step 6: convert to a sorted-lowercase set.
    return tuple(sorted({n.lower() for n in unsafe}))


def is_cors_non_wildcard_request_header_name(name: bytes) -> bool:
    # https://fetch.spec.whatwg.org/#cors-non-wildcard-request-header-name
    return name.lower() == b"authorization"


def is_cors_safelisted_response_header_name(name: bytes, exposed: tuple[bytes, ...]) -> bool:
    # https://fetch.spec.whatwg.org/#cors-safelisted-response-header-name
    lowered = name.lower()
    if lowered in CORS_SAFELISTED_RESPONSE_HEADER_NAMES:
        return True
    return lowered not in (b"set-cookie", b"set-cookie2") and any(
        lowered == e.lower() for e in exposed
    )


def is_no_cors_safelisted_request_header(name: bytes, value: bytes) -> bool:
    # https://fetch.spec.whatwg.org/#no-cors-safelisted-request-header
    if name.lower() not in NO_CORS_SAFELISTED_REQUEST_HEADER_NAMES:
        return False
    return is_cors_safelisted_request_header(name, value)


@functools.lru_cache(maxsize=4096)
def prepare_author_headers(
    headers: HeaderList, *, combine: bool, no_cors: bool, profile: Profile = SPEC
) -> HeaderList:
    """What script's header list holds after the Headers API (or XHR) took it.

    Values are normalized (leading/trailing HTTP whitespace stripped), forbidden request headers
    are silently dropped, and with ``combine`` (XHR's ``setRequestHeader``, or an engine header
    map) repeated names become one ``a, b`` entry at the first one's position. In ``no-cors``
    mode the ``request-no-cors`` guard keeps only no-CORS-safelisted headers whose combined value
    is still safelisted.
    """
    # https://fetch.spec.whatwg.org/#concept-headers-append
    kept: list[tuple[bytes, bytes]] = []
    for name, raw_value in headers:
        value = normalize_value(raw_value)
        if is_forbidden_request_header(name, value):
            continue
        if profile.has(Quirk.USER_AGENT_DROPPED) and name.lower() == b"user-agent":
            continue
        if no_cors:
            existing = b", ".join(v for n, v in kept if n.lower() == name.lower())
            combined = existing + b", " + value if existing else value
            if not is_no_cors_safelisted_request_header(name, combined):
                continue
        kept.append((name, value))
    if not combine:
        return tuple(kept)
    merged: dict[bytes, tuple[bytes, list[bytes]]] = {}
    for name, value in kept:
        merged.setdefault(name.lower(), (name, []))[1].append(value)
    return tuple((name, b", ".join(values)) for name, values in merged.values())


@functools.lru_cache(maxsize=4096)
def decision_header_list(
    headers: HeaderList, *, combine: bool, no_cors: bool, profile: Profile = SPEC
) -> HeaderList:
    """The header list a browser holds when it decides on a preflight: the author headers as
    the Headers API (or XHR) keeps them, then `Accept: */*` if absent
    (https://fetch.spec.whatwg.org/#fetching step 12). The browser model and the policy side
    both use this one function, so they cannot disagree on which headers count."""
    prepared = prepare_author_headers(headers, combine=combine, no_cors=no_cors, profile=profile)
    if b"accept" not in [n.lower() for n, _ in prepared]:
        prepared = (*prepared, (b"Accept", b"*/*"))
    return prepared


class _AuthorHeader(NamedTuple):
    """One author header as a CORS-mode fetch decides with it."""

    valid: bool  # fetch() takes it: its name a token, its normalized value free of NUL, CR, LF
    value: bytes | None  # the value it is appended with (normalized); None: silently dropped
    lowered: bytes  # its name, lowercased
    safelisted: bool  # is_cors_safelisted_request_header of that value (False when dropped)


# A header value fetch() throws on, once normalized (https://fetch.spec.whatwg.org/#header-value).
NUL_CR_LF: Final = re.compile(rb"[\x00\n\r]")


@functools.lru_cache(maxsize=4096)
def _author_header(name: bytes, raw_value: bytes, profile: Profile) -> _AuthorHeader:
    """Memoized per header: a run builds many header lists, not seen before, out of a few
    hundred headers it has seen."""
    value = normalize_value(raw_value)
    lowered = name.lower()
    valid = is_token(name) and NUL_CR_LF.search(value) is None
    if is_forbidden_request_header(name, value) or (
        lowered == b"user-agent" and profile.has(Quirk.USER_AGENT_DROPPED)
    ):
        return _AuthorHeader(valid, None, lowered, False)
    return _AuthorHeader(
        valid, value, lowered, is_cors_safelisted_request_header(name, value, profile)
    )


@functools.lru_cache(maxsize=4096)
def cors_mode_headers(
    headers: HeaderList, combine: bool, profile: Profile
) -> tuple[bool, HeaderList, tuple[bytes, ...]]:
    """For a CORS-mode fetch of author ``headers``: whether fetch() takes them all, then
    ``decision_header_list(headers, combine=combine, no_cors=False, profile=profile)`` and its
    :func:`cors_unsafe_request_header_names`, in one pass over per-header facts instead of
    both functions' steps for each header (the browser model and the policy side both read
    it; ``tests/test_reference_safelist.py`` checks it against the two functions on generated
    header lists). A repeated name that ``combine`` merges takes those two functions."""
    valid = True
    kept: list[tuple[bytes, bytes, _AuthorHeader]] = []
    for name, raw_value in headers:
        header = _author_header(name, raw_value, profile)
        valid = valid and header.valid
        if header.value is not None:
            kept.append((name, header.value, header))
    lowered = [header.lowered for _, _, header in kept]
    if combine and len(set(lowered)) < len(lowered):
        decided = decision_header_list(headers, combine=True, no_cors=False, profile=profile)
        return valid, decided, cors_unsafe_request_header_names(decided, profile)
    # cors_unsafe_request_header_names, steps 4-6.
    unsafe: list[bytes] = []
    potentially_unsafe: list[bytes] = []
    safelist_value_size = 0
    for _, value, header in kept:
        if header.safelisted:
            potentially_unsafe.append(header.lowered)
            safelist_value_size += len(value)
        else:
            unsafe.append(header.lowered)
    decided = tuple([(name, value) for name, value, _ in kept])
    if b"accept" not in lowered:  # decision_header_list: `Accept: */*`, a safelisted value
        decided = (*decided, (b"Accept", b"*/*"))
        potentially_unsafe.append(b"accept")
        safelist_value_size += 3
    if safelist_value_size > 1024:
        unsafe.extend(potentially_unsafe)
    return valid, decided, tuple(sorted(set(unsafe)))
