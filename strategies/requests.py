"""Whole requests: what a page asks ``fetch()`` for (browser profile), and what a non-browser
client can put on the wire (hostile profile).

``cors_requests`` builds :class:`reference.request.BrowserRequest` values; the model derives
the wire form from them. ``hostile_requests`` builds :class:`reference.verdict.WireRequest`
values directly, since no browser would send them. Both shrink toward the simplest case: a
credential-less ``GET /`` with no extra headers from the policy's first allowed origin.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from reference.headers import Header, HeaderList
from reference.origins import Origin
from reference.policy import CorsPolicy, PathRule
from reference.request import BrowserRequest, CredentialsMode
from reference.verdict import WireRequest
from strategies._util import pool, weighted
from strategies._validation import (
    Profile,
    check_base_url,
    check_paths,
    check_policy,
    check_profile,
    is_path,
)
from strategies.headers import header_names, request_headers, safelisted_request_headers
from strategies.methods import SAFELISTED_METHODS, methods
from strategies.origins import first_allowed_origin, policy_origins, relevant_origins

__all__ = [
    "COOKIE",
    "cors_requests",
    "credentials_modes",
    "hostile_requests",
    "request_paths",
]

COOKIE: Final = b"session=abc"
"""The cookie a browser holds for the target, attached when credentials are included."""
_BODIES: Final = (b"", b"x", b'{"a":1}', b"a=1&b=2")
_PATH_ALPHABET: Final = string.ascii_letters + string.digits + "-._~/%"


def credentials_modes() -> st.SearchStrategy[CredentialsMode]:
    """``same-origin`` (``fetch``'s default), then ``omit``, then ``include``."""
    return st.sampled_from(
        [CredentialsMode.SAME_ORIGIN, CredentialsMode.OMIT, CredentialsMode.INCLUDE]
    )


# --- paths ---------------------------------------------------------------------------------------


def _prefix_paths(prefix: str) -> list[str]:
    """The prefix of a ``[[paths]]`` rule, paths below it, and near misses of it."""
    bare = prefix.rstrip("/") or "/"
    found = [prefix, f"{bare}/x", f"{bare}/", f"{prefix}?q=1"]
    # Near misses: other case, a longer segment, the first letter percent-encoded, the parent.
    found += [prefix.upper(), f"{bare}x"]
    for index, char in enumerate(prefix):
        if char.isalnum():
            found.append(f"{prefix[:index]}%{ord(char):02X}{prefix[index + 1 :]}")
            break
    if prefix.endswith("/") and bare != "/":
        found.append(bare)
    return found


def _pattern_paths(rule: PathRule) -> st.SearchStrategy[str]:
    """Paths that fully match a ``[[paths]]`` pattern (``re.fullmatch`` on the raw path)."""
    assert rule.pattern is not None
    strings = st.from_regex(rule.pattern, fullmatch=True, alphabet=_PATH_ALPHABET)
    try:
        strings.validate()
    except (InvalidArgument, re.error):  # the pattern spells characters outside the alphabet
        strings = st.from_regex(rule.pattern, fullmatch=True)
    return strings.filter(is_path)


def _path_strategy(policy: CorsPolicy, paths: Sequence[str]) -> st.SearchStrategy[str]:
    fixed = list(paths)
    generated: list[st.SearchStrategy[str]] = []
    for rule in policy.paths:
        if rule.prefix is not None:
            fixed += [p for p in _prefix_paths(rule.prefix) if is_path(p)]
        else:
            generated.append(_pattern_paths(rule))
    return st.one_of(pool(list(dict.fromkeys(fixed))), *generated)


def request_paths(*, policy: CorsPolicy, paths: Sequence[str] = ("/",)) -> st.SearchStrategy[str]:
    """Request paths: ``paths`` first, then for each ``[[paths]]`` rule its prefix, paths below
    it and near misses (``/PUBLIC``, ``/publicx``, ``/%70ublic``), or strings matching its
    pattern. Shrinks toward ``paths[0]``."""
    return _path_strategy(check_policy(policy), check_paths(paths))


# --- browser profile -----------------------------------------------------------------------------


@functools.cache
def _bodies() -> st.SearchStrategy[bytes | None]:
    return st.one_of(
        st.none(),
        st.sampled_from(_BODIES),
        st.text(st.characters(codec="ascii", min_codepoint=0x20), max_size=32).map(str.encode),
    )


@dataclass(frozen=True, slots=True)
class _BrowserParts:
    origins: st.SearchStrategy[Origin]
    paths: st.SearchStrategy[str]
    methods: st.SearchStrategy[str]
    headers: st.SearchStrategy[HeaderList]


@st.composite
def _browser_requests(draw: st.DrawFn, base_url: str, parts: _BrowserParts) -> BrowserRequest:
    origin = draw(parts.origins)
    path = draw(parts.paths)
    method = draw(parts.methods)
    headers = draw(parts.headers)
    credentials = draw(credentials_modes())
    cookie = None
    if credentials is CredentialsMode.INCLUDE:
        cookie = draw(st.one_of(st.none(), st.just(COOKIE)))
    body = None
    use_cors_preflight = False
    if method.upper() not in ("GET", "HEAD"):  # fetch() throws for a GET or HEAD with a body
        body = draw(_bodies())
        # A ReadableStream body (or XHR upload listeners) forces a preflight by itself.
        use_cors_preflight = body is not None and draw(st.booleans())
    return BrowserRequest(
        origin=origin,
        url=base_url + path,
        method=method,
        headers=headers,
        credentials=credentials,
        body=body,
        use_cors_preflight=use_cors_preflight,
        cookie=cookie,
        private_network=draw(st.booleans()),
    )


def cors_requests(
    *,
    policy: CorsPolicy,
    base_url: str = "http://testserver",
    paths: Sequence[str] = ("/",),
    profile: Profile = "browser",
) -> st.SearchStrategy[BrowserRequest]:
    """Requests a page can make with ``fetch()`` to ``base_url`` + a path, in ``cors`` mode.

    Origin from :func:`~strategies.origins.relevant_origins`, path from :func:`request_paths`,
    a method from :func:`~strategies.methods.methods` (safelisted ones weighted up, so simple
    and preflighted requests are both common), author headers (none, safelisted only, or any
    :func:`~strategies.headers.request_headers`), a credentials mode, the cookie
    :data:`COOKIE` sometimes held when credentials are included, a small body for methods that
    may carry one (sometimes a stream, which forces a preflight).

    Only the ``browser`` profile exists here; for ``hostile`` use :func:`hostile_requests`.
    """
    checked_policy = check_policy(policy)
    base = check_base_url(base_url)
    checked_paths = check_paths(paths)
    if check_profile(profile) != "browser":
        raise InvalidArgument(
            f"profile={profile!r}: cors_requests builds requests a browser makes; "
            "use hostile_requests() for what a non-browser client sends"
        )
    parts = _BrowserParts(
        origins=relevant_origins(checked_policy),
        paths=_path_strategy(checked_policy, checked_paths),
        # Safelisted methods weighed up: simple requests as common as preflighted ones.
        methods=weighted([(1, pool(SAFELISTED_METHODS)), (1, methods())]),
        headers=st.one_of(st.just(()), safelisted_request_headers(), request_headers()),
    )
    return _browser_requests(base, parts)


# --- hostile profile -----------------------------------------------------------------------------


def _malformed_variants(origin: bytes) -> list[bytes]:
    """Spellings of an origin a browser never sends but a server may still match."""
    if b"://" not in origin:  # null
        return [origin + b" ", b"\t" + origin, origin.upper(), origin + b", " + origin]
    scheme, _, rest = origin.partition(b"://")
    default_port = b":443" if scheme == b"https" else b":80"
    found = [
        origin + b"/",
        origin.upper(),
        origin + b" ",
        b" " + origin,
        b"\t" + origin + b"\t",
        origin + b", https://evil.example",
        b"https://evil.example, " + origin,
        origin + b"\x01",
        origin + b"\xff",
        origin + b"#",
        origin + b"?x",
        scheme + b"://user@" + rest,
        origin + b".",
    ]
    if b":" not in rest and not rest.startswith(b"["):
        found.append(origin + default_port)
    return found


_MALFORMED_ORIGINS: Final = (
    b"",
    b"null ",
    b" null",
    b"\tnull",
    b"NULL",
    b"Null",
    b"null, null",
    b"*",
    b"https://a.example, https://b.example",
    b"https://" + b"a" * 10240 + b".example",
    b"https://\xc3\xa9l\xc3\xa8ve.example",
    b"https://\xe9l\xe8ve.example",
    b"file://",
    b"https://",
    b"//a.example",
    b"a.example",
)


@st.composite
def _malformed_spellings(draw: st.DrawFn, bases: st.SearchStrategy[bytes]) -> bytes:
    return draw(st.sampled_from(_malformed_variants(draw(bases))))


def _serialized(strategy: st.SearchStrategy[Origin]) -> st.SearchStrategy[bytes]:
    return strategy.map(lambda origin: origin.serialize().encode("ascii"))


def _origin_headers(policy: CorsPolicy) -> st.SearchStrategy[HeaderList]:
    """One ``Origin`` (valid, or a malformed spelling of an allowed or relevant one), two of
    them, or none. Shrinks toward one ``Origin:`` with the policy's first allowed origin."""
    simplest = _serialized(first_allowed_origin(policy))
    valid = _serialized(relevant_origins(policy))
    listed = _serialized(policy_origins(policy))
    value = weighted(
        [
            (4, valid),
            # Malformed spellings of an allowed origin are where a lax matcher grants by mistake.
            (3, _malformed_spellings(simplest)),
            (1, _malformed_spellings(st.one_of(listed, valid))),
            (2, st.sampled_from(_MALFORMED_ORIGINS)),
        ]
    )
    name = pool([b"Origin", b"origin", b"ORIGIN"])
    return weighted(
        [
            (1, st.tuples(st.just(b"Origin"), simplest).map(lambda header: (header,))),
            (6, st.tuples(name, value).map(lambda header: (header,))),
            (2, st.tuples(st.tuples(name, value), st.tuples(name, value))),
            (1, st.just(())),
        ]
    )


_ACRM_GARBAGE: Final = (
    b"get",
    b"put",
    b"patch",
    b"delete",
    b"",
    b"GET POST",
    b"PUT, DELETE",
    b"PUT,PUT",
    b"*",
    b" PUT",
    b"PUT ",
    b"TRACE",
    b"CONNECT",
    b"PU\x01T",
    b"P\xffT",
    b"PUT\x7f",
    b"X" * 10000,
)


@functools.cache
def _request_method_values() -> st.SearchStrategy[bytes]:
    return weighted([(1, methods().map(str.encode)), (1, st.sampled_from(_ACRM_GARBAGE))])


def _browser_form(names: list[bytes]) -> bytes:
    # What a browser sends: lowercased, de-duplicated, byte-sorted, joined with a bare comma.
    return b",".join(sorted({name.lower() for name in names}))


_ACRH_GARBAGE: Final = (
    b"x-api-key,x-api-key",
    b"X-API-KEY,CONTENT-TYPE",
    b"x-api-key, x-requested-with",
    b" x-api-key ",
    b",,x-api-key,,",
    b",",
    b"",
    b"*",
    b"authorization",
    b"x-a;x-b",
    b'"x-api-key"',
    b"x-\x01a",
    b"x-\xffa",
    b"x-requested-with,content-type",
    b",".join(b"x-h%d" % i for i in range(1000)),
    b"x-a," * 1000,
    b"content-type," * 1000,
)


@functools.cache
def _request_headers_values() -> st.SearchStrategy[bytes]:
    return weighted(
        [
            (2, st.lists(header_names(), min_size=1, max_size=5).map(_browser_form)),
            (2, st.sampled_from(_ACRH_GARBAGE)),
            (1, st.lists(header_names(profile="hostile"), max_size=8).map(b", ".join)),
        ]
    )


def _is_wire_safe(header: Header) -> bool:
    return not any(byte in header[1] for byte in b"\x00\r\n")


_ACRM_NAMES: Final = (
    b"Access-Control-Request-Method",
    b"access-control-request-method",
    b"ACCESS-CONTROL-REQUEST-METHOD",
)


@st.composite
def _hostile_requests(
    draw: st.DrawFn,
    base_url: str,
    paths: st.SearchStrategy[str],
    origin_headers: st.SearchStrategy[HeaderList],
) -> WireRequest:
    path = draw(paths)
    is_preflight = draw(st.booleans())
    headers: list[Header] = list(draw(origin_headers))
    body = None
    if is_preflight:
        method = b"OPTIONS"
        headers.append((draw(pool(_ACRM_NAMES)), draw(_request_method_values())))
        acrh = draw(weighted([(1, st.none()), (2, _request_headers_values())]))
        if acrh is not None:
            headers.append((b"Access-Control-Request-Headers", acrh))
    else:
        method = draw(methods()).encode("ascii")
        headers += draw(request_headers(profile="hostile"))
        if method.upper() not in (b"GET", b"HEAD"):
            body = draw(_bodies())
    credentials = draw(st.booleans())
    if credentials:
        headers.append((b"Cookie", COOKIE))
    assert all(_is_wire_safe(header) for header in headers), headers
    return WireRequest(
        is_preflight=is_preflight,
        method=method,
        url=base_url + path,
        headers=tuple(headers),
        credentials=credentials,
        body=body,
    )


def hostile_requests(
    *,
    policy: CorsPolicy,
    base_url: str = "http://testserver",
    paths: Sequence[str] = ("/",),
) -> st.SearchStrategy[WireRequest]:
    """What a non-browser client can send, as wire requests: a preflight (``OPTIONS`` with
    ``Access-Control-Request-Method``, possibly garbage, and perhaps a malformed
    ``Access-Control-Request-Headers``: duplicates, uppercase, spaces, empty elements,
    1000-element comma bombs, odd bytes) or an ordinary request with hostile headers.

    ``Origin`` is a browser-valid origin, a malformed spelling of one (``https://a.example/``,
    ``HTTPS://A.EXAMPLE``, ``https://a.example:443``, padded ``null``, 10 KB, non-ASCII bytes,
    empty, a list), twice, or absent. Header values never hold NUL, CR or LF (HTTP clients
    refuse them); other bytes 0x01-0x1F and 0x80-0xFF do occur. ``credentials`` adds
    ``Cookie:`` :data:`COOKIE`.
    """
    checked_policy = check_policy(policy)
    base = check_base_url(base_url)
    checked_paths = check_paths(paths)
    return _hostile_requests(
        base, _path_strategy(checked_policy, checked_paths), _origin_headers(checked_policy)
    )
