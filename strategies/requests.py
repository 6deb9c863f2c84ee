"""Whole requests: what a page asks ``fetch()`` for (browser profile), and what a non-browser
client can put on the wire (hostile profile).

``cors_requests`` builds :class:`reference.request.BrowserRequest` values; the model derives
the wire form from them. ``hostile_requests`` builds :class:`reference.verdict.WireRequest`
values directly, since no browser would send them. Both shrink toward the simplest case: a
credential-less ``GET /`` with no extra headers from the policy's first allowed origin.

Drawing a request is one choice: a byte string of fixed length, from which each part (origin,
path, method, header list shape and each entry, credentials mode, cookie, private network,
body, stream) reads its slot in a pool computed once per policy (see :mod:`strategies._util`).
Each part shrinks on its own to its first slot, the simplest value. The rich generators kept
in the pools as a minority are made :data:`REQUEST_DILUTION` times rarer still here, since a
request draws from a dozen pools at once and a rich draw costs a dozen pooled ones.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from reference.headers import Header
from reference.origins import Origin
from reference.policy import CorsPolicy, PathRule
from reference.request import BrowserRequest, CredentialsMode
from reference.verdict import WireRequest
from strategies._regex import regex_samples
from strategies._util import (
    RARE_SHARE,
    Layout,
    Part,
    Pool,
    mix,
    pooled,
    rare,
    unique,
)
from strategies._validation import (
    Profile,
    check_base_url,
    check_paths,
    check_policy,
    check_profile,
    is_path,
)
from strategies.headers import (
    HeaderLists,
    HeaderShape,
    header_name_pool,
    header_names,
    request_header_shapes,
    safelisted_shapes,
)
from strategies.methods import SAFELISTED_METHODS, method_pool
from strategies.origins import (
    listed_origin_pool,
    policy_origins,
    relevant_origin_pool,
    simplest_origin,
)

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
REQUEST_DILUTION: Final = 24
"""How many times rarer the rich generators are in a whole request than in their own pools."""


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


@functools.lru_cache(maxsize=256)
def _path_pool(policy: CorsPolicy, paths: tuple[str, ...]) -> Pool[str]:
    """``paths`` with every prefix rule's paths (one section), and for each pattern rule a few
    strings sampled from it, ``st.from_regex`` now and then (a section each)."""
    fixed = list(paths)
    sections: list[tuple[float, Pool[str]]] = []
    for rule in policy.paths:
        if rule.prefix is not None:
            fixed += [p for p in _prefix_paths(rule.prefix) if is_path(p)]
        else:
            assert rule.pattern is not None
            samples = [
                p for p in regex_samples(rule.pattern, alphabet=_PATH_ALPHABET) if is_path(p)
            ]
            sections.append((1, rare(samples, _pattern_paths(rule), share=RARE_SHARE)))
    return mix([(1, Pool.of(unique(fixed))), *sections])


@functools.lru_cache(maxsize=256)
def _path_strategy(policy: CorsPolicy, paths: tuple[str, ...]) -> st.SearchStrategy[str]:
    return pooled(_path_pool(policy, paths))


def request_paths(*, policy: CorsPolicy, paths: Sequence[str] = ("/",)) -> st.SearchStrategy[str]:
    """Request paths: ``paths`` first, then for each ``[[paths]]`` rule its prefix, paths below
    it and near misses (``/PUBLIC``, ``/publicx``, ``/%70ublic``), or strings matching its
    pattern. Shrinks toward ``paths[0]``."""
    return _path_strategy(check_policy(policy), check_paths(paths))


# --- browser profile -----------------------------------------------------------------------------


@functools.cache
def _text_bodies() -> st.SearchStrategy[bytes]:
    return st.text(st.characters(codec="ascii", min_codepoint=0x20), max_size=32).map(str.encode)


# No body (three sevenths) or a fixed one (four sevenths); printable text now and then.
_BODY_POOL: Final = rare(
    mix([(3, Pool[bytes | None].of([None])), (4, Pool[bytes | None].of(_BODIES))]),
    _text_bodies(),
    share=RARE_SHARE // 2,
)
_MODES: Final = Pool.of(
    [CredentialsMode.SAME_ORIGIN, CredentialsMode.OMIT, CredentialsMode.INCLUDE]
)
_COOKIES: Final = Pool[bytes | None].of([None, COOKIE])
_FLAGS: Final = Pool.of([False, True])


@dataclass(frozen=True, slots=True)
class _BrowserParts:
    """Where each part of a browser request reads its slot, and the pools it reads from."""

    digits: st.SearchStrategy[bytes]
    origins: Pool[Origin]
    origin: Part
    paths: Pool[str]
    path: Part
    methods: Pool[str]
    method: Part
    headers: HeaderLists
    mode: Part
    cookie: Part
    private_network: Part
    bodies: Pool[bytes | None]
    body: Part
    stream: Part


@st.composite
def _browser_requests(draw: st.DrawFn, base_url: str, parts: _BrowserParts) -> BrowserRequest:
    digits = draw(parts.digits)
    method = parts.method.pick(draw, digits, parts.methods)
    credentials = parts.mode.pick(draw, digits, _MODES)
    body: bytes | None = None
    use_cors_preflight = False
    if method.upper() not in ("GET", "HEAD"):  # fetch() throws for a GET or HEAD with a body
        body = parts.body.pick(draw, digits, parts.bodies)
        # A ReadableStream body (or XHR upload listeners) forces a preflight by itself.
        use_cors_preflight = body is not None and parts.stream.pick(draw, digits, _FLAGS)
    return BrowserRequest(
        origin=parts.origin.pick(draw, digits, parts.origins),
        url=base_url + parts.path.pick(draw, digits, parts.paths),
        method=method,
        headers=parts.headers.draw(draw, digits),
        credentials=credentials,
        body=body,
        use_cors_preflight=use_cors_preflight,
        cookie=(
            parts.cookie.pick(draw, digits, _COOKIES)
            if credentials is CredentialsMode.INCLUDE
            else None
        ),
        private_network=parts.private_network.pick(draw, digits, _FLAGS),
    )


@functools.lru_cache(maxsize=64)
def _cors_requests(
    policy: CorsPolicy, base_url: str, paths: tuple[str, ...]
) -> st.SearchStrategy[BrowserRequest]:
    layout = Layout()
    origins = relevant_origin_pool(policy).diluted(REQUEST_DILUTION)
    path_pool = _path_pool(policy, paths).diluted(REQUEST_DILUTION)
    # Safelisted methods weighed up: simple requests as common as preflighted ones.
    methods = mix([(1, Pool.of(SAFELISTED_METHODS)), (1, method_pool())]).diluted(REQUEST_DILUTION)
    # No header, safelisted headers only, or any request headers: a third each.
    empty: HeaderShape = (Pool.of([]), 0)
    shapes = mix(
        [
            (1, Pool.of([empty])),
            (1, safelisted_shapes(REQUEST_DILUTION)),
            (1, request_header_shapes("browser", REQUEST_DILUTION)),
        ]
    )
    bodies = _BODY_POOL.diluted(REQUEST_DILUTION)
    parts = _BrowserParts(
        digits=st.nothing(),  # replaced below, once every part has its bytes
        origins=origins,
        origin=layout.part(origins),
        paths=path_pool,
        path=layout.part(path_pool),
        methods=methods,
        method=layout.part(methods),
        headers=HeaderLists.reserve(layout, shapes),
        mode=layout.part(_MODES),
        cookie=layout.part(_COOKIES),
        private_network=layout.part(_FLAGS),
        bodies=bodies,
        body=layout.part(bodies),
        stream=layout.part(_FLAGS),
    )
    return _browser_requests(base_url, replace(parts, digits=layout.digits()))


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

    Each part is picked from its pool (see the module docstring); the rich generators those
    pools keep are :data:`REQUEST_DILUTION` times rarer here than in the part's own strategy.
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
    return _cors_requests(checked_policy, base, checked_paths)


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


def _serialize(origin: Origin) -> bytes:
    return origin.serialize().encode("ascii")


_ORIGIN_NAMES: Final = Pool.of([b"Origin", b"origin", b"ORIGIN"])
_SIMPLEST: Final = -1
# How many Origin headers: one with the first allowed origin (_SIMPLEST), one, two, or none.
_ORIGIN_COUNTS: Final = Pool([(1, [_SIMPLEST]), (6, [1]), (2, [2]), (1, [0])])


@functools.lru_cache(maxsize=64)
def _origin_value_pool(policy: CorsPolicy) -> Pool[bytes]:
    """A valid relevant origin (four tenths), a malformed spelling of the first allowed one
    (three tenths; where a lax matcher grants by mistake), of any listed one (a tenth), or a
    malformed value from :data:`_MALFORMED_ORIGINS` (two tenths)."""
    simplest = _serialize(simplest_origin(policy))
    valid = relevant_origin_pool(policy).map(_serialize)
    listed = unique(_serialize(origin) for origin in listed_origin_pool(policy).values())
    listed_variants = [v for origin in listed for v in _malformed_variants(origin)]
    drawn = _malformed_spellings(st.one_of(policy_origins(policy).map(_serialize), pooled(valid)))
    return mix(
        [
            (4, valid),
            (3, Pool.of(_malformed_variants(simplest))),
            (1, rare(listed_variants, drawn, share=RARE_SHARE)),
            (2, Pool.of(_MALFORMED_ORIGINS)),
        ]
    )


@dataclass(frozen=True, slots=True)
class _OriginHeaders:
    """The ``Origin`` headers of a hostile request as parts of a layout: how many, then a name
    and a value for each of up to two."""

    simplest: bytes
    values: Pool[bytes]
    count: Part
    headers: tuple[tuple[Part, Part], ...]

    @classmethod
    def reserve(cls, layout: Layout, policy: CorsPolicy) -> _OriginHeaders:
        values = _origin_value_pool(policy).diluted(REQUEST_DILUTION)
        return cls(
            simplest=_serialize(simplest_origin(policy)),
            values=values,
            count=layout.part(_ORIGIN_COUNTS),
            headers=tuple((layout.part(_ORIGIN_NAMES), layout.part(values)) for _ in range(2)),
        )

    def draw(self, draw: st.DrawFn, digits: bytes) -> list[Header]:
        """One ``Origin`` (valid, or a malformed spelling of an allowed or relevant one), two
        of them, or none. Shrinks toward one ``Origin:`` with the first allowed origin."""
        count = self.count.pick(draw, digits, _ORIGIN_COUNTS)
        if count == _SIMPLEST:
            return [(b"Origin", self.simplest)]
        return [
            (name.pick(draw, digits, _ORIGIN_NAMES), value.pick(draw, digits, self.values))
            for name, value in self.headers[:count]
        ]


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
def _request_method_values() -> Pool[bytes]:
    return mix([(1, method_pool().map(str.encode)), (1, Pool.of(_ACRM_GARBAGE))])


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


def _spread(values: Sequence[bytes], sizes: range) -> list[list[bytes]]:
    """Lists of ``values``, the i-th of size ``sizes[i % len(sizes)]`` starting at ``values[i]``
    and striding by 7, so that every value leads one list and lists mix distant values."""
    return [
        [values[(i + 7 * k) % len(values)] for k in range(sizes[i % len(sizes)])]
        for i in range(len(values))
    ]


@functools.cache
def _request_headers_values() -> Pool[bytes | None]:
    """No ``Access-Control-Request-Headers`` (a third), or a value: the browser form of a few
    names, garbage, or a hostile client's list (two fifths, two fifths, a fifth)."""
    names = header_name_pool("browser").values()
    hostile = header_name_pool("hostile").values()
    browser_form = rare(
        unique([_browser_form(names) for names in _spread(names, range(1, 6))]),
        st.lists(header_names(), min_size=1, max_size=5).map(_browser_form),
        share=RARE_SHARE,
    )
    client_lists = rare(
        unique([b", ".join(names) for names in _spread(hostile, range(9))]),
        st.lists(header_names(profile="hostile"), max_size=8).map(b", ".join),
        share=RARE_SHARE,
    )
    values = mix([(2, browser_form), (2, Pool.of(_ACRH_GARBAGE)), (1, client_lists)])
    return mix([(1, Pool[bytes | None].of([None])), (2, values.map(_optional))])


def _optional(value: bytes) -> bytes | None:
    return value


def _is_wire_safe(header: Header) -> bool:
    return not any(byte in header[1] for byte in b"\x00\r\n")


_ACRM_NAMES: Final = Pool.of(
    [
        b"Access-Control-Request-Method",
        b"access-control-request-method",
        b"ACCESS-CONTROL-REQUEST-METHOD",
    ]
)


@dataclass(frozen=True, slots=True)
class _HostileParts:
    """Where each part of a hostile request reads its slot, and the pools it reads from."""

    digits: st.SearchStrategy[bytes]
    paths: Pool[str]
    path: Part
    preflight: Part
    origin_headers: _OriginHeaders
    acrm_name: Part
    acrm_values: Pool[bytes]
    acrm_value: Part
    acrh_values: Pool[bytes | None]
    acrh: Part
    methods: Pool[str]
    method: Part
    headers: HeaderLists
    bodies: Pool[bytes | None]
    body: Part
    credentials: Part


@st.composite
def _hostile_requests(draw: st.DrawFn, base_url: str, parts: _HostileParts) -> WireRequest:
    digits = draw(parts.digits)
    path = parts.path.pick(draw, digits, parts.paths)
    is_preflight = parts.preflight.pick(draw, digits, _FLAGS)
    headers = parts.origin_headers.draw(draw, digits)
    body = None
    if is_preflight:
        method = b"OPTIONS"
        name = parts.acrm_name.pick(draw, digits, _ACRM_NAMES)
        headers.append((name, parts.acrm_value.pick(draw, digits, parts.acrm_values)))
        acrh = parts.acrh.pick(draw, digits, parts.acrh_values)
        if acrh is not None:
            headers.append((b"Access-Control-Request-Headers", acrh))
    else:
        method = parts.method.pick(draw, digits, parts.methods).encode("ascii")
        headers += parts.headers.draw(draw, digits)
        if method.upper() not in (b"GET", b"HEAD"):
            body = parts.body.pick(draw, digits, parts.bodies)
    credentials = parts.credentials.pick(draw, digits, _FLAGS)
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
    return _hostile(check_policy(policy), check_base_url(base_url), check_paths(paths))


@functools.lru_cache(maxsize=64)
def _hostile(
    policy: CorsPolicy, base_url: str, paths: tuple[str, ...]
) -> st.SearchStrategy[WireRequest]:
    layout = Layout()
    path_pool = _path_pool(policy, paths).diluted(REQUEST_DILUTION)
    acrm_values = _request_method_values().diluted(REQUEST_DILUTION)
    acrh_values = _request_headers_values().diluted(REQUEST_DILUTION)
    methods = method_pool().diluted(REQUEST_DILUTION)
    bodies = _BODY_POOL.diluted(REQUEST_DILUTION)
    parts = _HostileParts(
        digits=st.nothing(),  # replaced below, once every part has its bytes
        paths=path_pool,
        path=layout.part(path_pool),
        preflight=layout.part(_FLAGS),
        origin_headers=_OriginHeaders.reserve(layout, policy),
        acrm_name=layout.part(_ACRM_NAMES),
        acrm_values=acrm_values,
        acrm_value=layout.part(acrm_values),
        acrh_values=acrh_values,
        acrh=layout.part(acrh_values),
        methods=methods,
        method=layout.part(methods),
        headers=HeaderLists.reserve(layout, request_header_shapes("hostile", REQUEST_DILUTION)),
        bodies=bodies,
        body=layout.part(bodies),
        credentials=layout.part(_FLAGS),
    )
    return _hostile_requests(base_url, replace(parts, digits=layout.digits()))
