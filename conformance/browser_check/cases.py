"""Cases for the differential run: a request script makes plus the server's raw answers.

A :class:`Case` is one fetch, or a sequence of fetches to one URL that share Chromium's
preflight cache. Each :class:`Fetch` carries what script passes to ``fetch()`` and the response
the server gives to a preflight and to the actual request. Response header values are templates
(:func:`render`): ``{origin}`` is the page's origin, ``{acrh}`` echoes the preflight's
``Access-Control-Request-Headers``, and so on, so one case means the same thing on any port and
the model and the browser are answered with the same bytes.

Three sources, all deterministic for a seed:

* :func:`generated_cases`: Hypothesis draws requests from :mod:`strategies` (methods, author
  headers, credentials modes) and responses from the templates below (``Access-Control-*``
  values valid, padded, case-changed, duplicated, listed, malformed; odd statuses);
* :func:`edge_cases`: the digest's edge-case catalogue (§16) written out;
* :func:`pinned_cases`: the cases of ``tests/cases/*.json`` that one page and one API origin
  on loopback can express (the others are returned as :class:`Skipped`, with the reason);
* :func:`cache_sequences`: preflight-cache sequences (Max-Age variants, credentials, methods,
  header names, clearing after a failure).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from conformance.records import why_not_xhr
from reference.explain import parse_request
from reference.headers import ACAC, ACAH, ACAM, ACAO, ACEH, ACMA, HeaderList
from reference.origins import OpaqueOrigin, origin_of, parse_serialized_origin, parse_url
from reference.profiles import SPEC
from reference.request import CredentialsMode, HeadersApi, RequestMode
from reference.safelist import prepare_author_headers

Json = dict[str, Any]

COOKIE_NAME: Final = "cors_check"
COOKIE_VALUE: Final = "1"
COOKIE: Final = f"{COOKIE_NAME}={COOKIE_VALUE}".encode()
"""The cookie the browser holds for the API host; attached to credentialed requests."""

CASES_DIR: Final = Path(__file__).resolve().parents[2] / "tests" / "cases"


@dataclass(frozen=True, slots=True)
class ResponseSpec:
    """A response: status and header lines in order, values as templates (:func:`render`).
    ``Content-Length: 0`` is appended when written (except for 204 and 304)."""

    status: int
    headers: HeaderList = ()


@dataclass(frozen=True, slots=True)
class Fetch:
    """One ``fetch(url, {method, headers, credentials, mode, body})`` and the server's answers."""

    method: str
    headers: HeaderList
    response: ResponseSpec
    preflight: ResponseSpec | None = None
    credentials: CredentialsMode = CredentialsMode.SAME_ORIGIN
    mode: RequestMode = RequestMode.CORS
    body: bytes | None = None
    same_origin: bool = False  # the URL is on the page's own origin
    path: str = ""  # appended to the case's URL (pinned cases keep their path and query)
    at: float = 0.0  # seconds after the sequence started (preflight-cache sequences)
    # Made with XMLHttpRequest instead of fetch(): its setRequestHeader combines a repeated
    # name (``api`` XHR), and upload listeners registered before open() set the
    # use-CORS-preflight flag (a stream body would need HTTP/2 in Chromium). The body goes as
    # bytes, so XHR adds no Content-Type.
    api: HeadersApi = HeadersApi.FETCH
    use_cors_preflight: bool = False

    @property
    def by_xhr(self) -> bool:
        return self.api is HeadersApi.XHR or self.use_cors_preflight


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    fetches: tuple[Fetch, ...]
    note: str = ""
    # Set for bytes no valid HTTP response carries (a NUL in a value, a name that is not a
    # token): Chromium's HTTP parser acts before CORS, and the model takes field lines as
    # received. Such a case is run and recorded, not compared.
    outside_model: str = ""

    @property
    def is_sequence(self) -> bool:
        return len(self.fetches) > 1


@dataclass(frozen=True, slots=True)
class Skipped:
    """A pinned case the harness cannot express, and why."""

    id: str
    reason: str


# --- templates -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Origins:
    """The two loopback origins of a run."""

    page: str  # e.g. http://127.0.0.1:41000
    api: str

    @property
    def page_port(self) -> int:
        return int(self.page.rsplit(":", 1)[1])


def _header(headers: HeaderList, name: bytes) -> bytes:
    return b", ".join(v for n, v in headers if n.lower() == name)


def render(value: bytes, origins: Origins, request_headers: HeaderList) -> bytes:
    """Fill a template: the page origin and spellings near it, and echoes of the preflight's
    ``Access-Control-Request-Method`` / ``-Headers`` as the server received them."""
    if b"{" not in value:
        return value
    page = origins.page.encode()
    port = origins.page_port
    acrm = _header(request_headers, b"access-control-request-method")
    acrh = _header(request_headers, b"access-control-request-headers")
    table = {
        b"{origin}": page,
        b"{ORIGIN}": page.upper(),
        b"{other_host}": b"http://localhost:%d" % port,
        b"{other_port}": b"http://127.0.0.1:%d" % (port + 1 if port < 65535 else port - 1),
        b"{other_scheme}": b"https://127.0.0.1:%d" % port,
        b"{acrm}": acrm,
        b"{acrm_lower}": acrm.lower(),
        b"{acrm_upper}": acrm.upper(),
        b"{acrh}": acrh,
        b"{acrh_upper}": acrh.upper(),
    }
    for key, replacement in table.items():
        value = value.replace(key, replacement)
    return value


def render_response(
    spec: ResponseSpec, origins: Origins, request_headers: HeaderList
) -> tuple[int, HeaderList]:
    lines = tuple((n, render(v, origins, request_headers)) for n, v in spec.headers)
    if spec.status not in (204, 304):
        lines = (*lines, (b"Content-Length", b"0"))
    return spec.status, lines


# --- response generators -------------------------------------------------------------------


_GOOD_ACAO: Final = (b"{origin}", b"*")
_ODD_ACAO: Final = (
    b" {origin} ",
    b"{origin}\t",
    b" * ",
    b"\t*",
    b"{origin}/",
    b"{ORIGIN}",
    b"{origin}, {origin}",
    b"*, {origin}",
    b"{other_host}",
    b"{other_port}",
    b"{other_scheme}",
    b"null",
    b"",
    b"**",
    b'"*"',
    b"'*'",
    b"* *",
)
_ACAO_PAIRS: Final = ((b"*", b"*"), (b"{origin}", b"{origin}"), (b"", b"*"), (b"{origin}", b"*"))
_ACAO_NAMES: Final = (ACAO, ACAO.lower(), ACAO.upper())
_ACAC_VALUES: Final = (b"True", b"TRUE", b" true ", b"false", b"1", b"", b"true, true")
_ACAM_VALUES: Final = (
    b"*",
    b"{acrm_lower}",
    b"{acrm_upper}",
    b"GET, {acrm}",
    b"*, {acrm}",
    b"",
    b"PUT",
    b"Bad value",
    b"{acrm},",
    b",{acrm}",
    b'"{acrm}"',
    b"{acrm} , DELETE",
)
_ACAH_VALUES: Final = (
    b"*",
    b"{acrh_upper}",
    b"*, {acrh}",
    b"{acrh}, authorization",
    b"*, authorization",
    b"authorization",
    b"x-other",
    b"",
    b'{acrh}, "x"',
    b"x-a;x-b",
    b", ,{acrh},,",
)
_ACEH_VALUES: Final = (
    b"*",
    b"x-custom",
    b"X-Custom",
    b"x-custom, x-dup",
    b"x-custom, bad value",
    b"",
    b"set-cookie",
    b"*, x-custom",
    b"content-length, x-dup",
    b",x-custom",
    b"'x-custom'",
)
_MAX_AGES: Final = (b"0", b"-1", b"5", b"600", b"86400", b"abc", b"", b"+10")
_EXTRA_RESPONSE_HEADERS: Final = (
    ((b"X-Custom", b"yes"),),
    ((b"X-Dup", b"a"), (b"X-Dup", b"b")),
    ((b"Content-Type", b"text/plain"),),
    ((b"Content-Language", b"en"),),
    ((b"Cache-Control", b"no-store"),),
    ((b"Pragma", b"no-cache"),),
    ((b"Expires", b"0"),),
    ((b"Set-Cookie", b"sc=1; Max-Age=0"),),
    ((b"X-Empty", b""),),
)
PREFLIGHT_STATUSES: Final = (200, 204, 299, 201, 301, 302, 400, 404, 500)
ACTUAL_STATUSES: Final = (200, 201, 204, 299, 404, 500)


def _often(common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``common`` about three times in four."""
    return st.integers(0, 3).flatmap(lambda n: rare if n == 0 else common)


def _one_header(
    name: bytes, good: Sequence[bytes], odd: Sequence[bytes]
) -> st.SearchStrategy[HeaderList]:
    """Absent, one good value, one odd value, or two lines."""
    one = _often(st.sampled_from(good), st.sampled_from(odd)).map(lambda v: ((name, v),))
    two = st.tuples(st.sampled_from([*good, *odd]), st.sampled_from([*good, *odd])).map(
        lambda vs: ((name, vs[0]), (name, vs[1]))
    )
    return st.one_of(st.just(()), one, one, one, two)


@st.composite
def _acao(draw: st.DrawFn) -> HeaderList:
    kind = draw(st.integers(0, 9))
    name = draw(st.sampled_from(_ACAO_NAMES)) if kind == 9 else ACAO
    if kind == 0:
        return ()
    if kind == 1:
        first, second = draw(st.sampled_from(_ACAO_PAIRS))
        return ((name, first), (name, second))
    if kind in (2, 3):
        return ((name, draw(st.sampled_from(_ODD_ACAO))),)
    return ((name, draw(st.sampled_from(_GOOD_ACAO))),)


def _acac() -> st.SearchStrategy[HeaderList]:
    return st.one_of(
        st.just(()),
        st.just(((ACAC, b"true"),)),
        st.just(((ACAC, b"true"),)),
        st.sampled_from(_ACAC_VALUES).map(lambda v: ((ACAC, v),)),
        st.just(((ACAC, b"true"), (ACAC, b"true"))),
    )


@st.composite
def preflight_responses(draw: st.DrawFn) -> ResponseSpec:
    status = draw(_often(st.sampled_from((200, 204)), st.sampled_from(PREFLIGHT_STATUSES)))
    lines: list[tuple[bytes, bytes]] = [*draw(_acao()), *draw(_acac())]
    lines += draw(_one_header(ACAM, (b"{acrm}",), _ACAM_VALUES))
    lines += draw(_one_header(ACAH, (b"{acrh}",), _ACAH_VALUES))
    if draw(st.booleans()):
        lines.append((ACMA, draw(st.sampled_from(_MAX_AGES))))
    if status in (301, 302) and draw(st.booleans()):
        lines.append((b"Location", b"/elsewhere"))
    return ResponseSpec(status=status, headers=tuple(draw(st.permutations(lines))))


@st.composite
def actual_responses(draw: st.DrawFn) -> ResponseSpec:
    status = draw(_often(st.just(200), st.sampled_from(ACTUAL_STATUSES)))
    lines: list[tuple[bytes, bytes]] = [*draw(_acao()), *draw(_acac())]
    lines += draw(_one_header(ACEH, (b"x-custom",), _ACEH_VALUES))
    for extra in draw(st.lists(st.sampled_from(_EXTRA_RESPONSE_HEADERS), max_size=3)):
        lines += extra
    return ResponseSpec(status=status, headers=tuple(draw(st.permutations(lines))))


_BODIES: Final = (None, b"x", b'{"a":1}', b"a=1&b=2")


def with_implicit_content_type(
    headers: HeaderList, body: bytes | None, mode: RequestMode = RequestMode.CORS
) -> HeaderList:
    """A string body makes the Request constructor add ``Content-Type:
    text/plain;charset=UTF-8`` when the header list holds none after the headers guard
    (digest §4.6; in ``no-cors`` mode the guard drops an unsafe author ``Content-Type`` first).
    The model takes the author headers only, so the harness spells the implicit one out: the
    model's header list and the browser's are then the same."""
    if body is None:
        return headers
    kept = prepare_author_headers(
        headers, combine=False, no_cors=mode is RequestMode.NO_CORS, profile=SPEC
    )
    if any(n.lower() == b"content-type" for n, _ in kept):
        return headers
    return (*headers, (b"Content-Type", b"text/plain;charset=UTF-8"))


@st.composite
def fetches(draw: st.DrawFn) -> Fetch:
    """A request from :mod:`strategies` with a generated preflight and actual response."""
    # Imported here: the fixed cases (edge, pinned, sequences) do not need the generators.
    from strategies import (
        credentials_modes,
        methods,
        request_headers,
        safelisted_request_headers,
    )

    method = draw(st.one_of(st.sampled_from(("GET", "HEAD", "POST")), methods()))
    headers: HeaderList = draw(
        st.one_of(st.just(()), safelisted_request_headers(), request_headers(), request_headers())
    )
    credentials = draw(credentials_modes())
    body = None
    if method.upper() not in ("GET", "HEAD"):
        body = draw(st.sampled_from(_BODIES))
    return Fetch(
        method=method,
        headers=with_implicit_content_type(headers, body),
        credentials=credentials,
        body=body,
        preflight=draw(preflight_responses()),
        response=draw(actual_responses()),
    )


def generated_cases(count: int, *, seed_value: int = 0) -> list[Case]:
    """``count`` cases drawn by Hypothesis, reproducibly for ``seed_value``."""
    drawn: list[Fetch] = []
    if count <= 0:
        return []

    @seed(seed_value)
    @settings(
        max_examples=count,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=False,
    )
    @given(fetches())
    def collect(one: Fetch) -> None:
        drawn.append(one)

    for _ in range(10):  # Hypothesis may stop early on a small space; top up, bounded
        if len(drawn) >= count:
            break
        collect()
    return [Case(id=f"gen-{seed_value}-{i}", fetches=(f,)) for i, f in enumerate(drawn[:count])]


# --- the digest's edge cases ----------------------------------------------------------------


def _get(response: HeaderList, *, credentials: CredentialsMode = CredentialsMode.OMIT) -> Fetch:
    return Fetch(
        method="GET",
        headers=(),
        credentials=credentials,
        response=ResponseSpec(200, response),
    )


def _put(
    preflight: HeaderList,
    *,
    headers: HeaderList = ((b"X-A", b"1"),),
    credentials: CredentialsMode = CredentialsMode.OMIT,
    status: int = 204,
    method: str = "PUT",
) -> Fetch:
    return Fetch(
        method=method,
        headers=headers,
        credentials=credentials,
        preflight=ResponseSpec(status, preflight),
        response=ResponseSpec(200, ((ACAO, b"{origin}"), (ACAC, b"true"))),
    )


_INCLUDE: Final = CredentialsMode.INCLUDE
_GRANT: Final = ((ACAO, b"{origin}"), (ACAC, b"true"), (ACAM, b"{acrm}"), (ACAH, b"{acrh}"))


def edge_cases() -> list[Case]:
    """The digest's §16 catalogue as cases, plus the byte-level ones (NUL, VT, FF in values)."""
    acao_values: dict[str, bytes] = {
        "acao-trailing-space-tab": b"{origin} \t",
        "acao-padded-star": b"  *  ",
        "acao-tab-star": b"\t*",
        "acao-trailing-slash": b"{origin}/",
        "acao-uppercase": b"{ORIGIN}",
        "acao-list": b"{origin}, {other_port}",
        "acao-null": b"null",
        "acao-empty": b"",
        "acao-quoted-star": b'"*"',
        "acao-single-quoted-star": b"'*'",
        "acao-double-star": b"**",
        "acao-star-space-star": b"* *",
        "acao-star-nul": b"*\x00",
        "acao-nul-star": b"\x00*",
        "acao-star-vt": b"*\x0b",
        "acao-ff-star": b"\x0c*",
        "acao-origin-nul": b"{origin}\x00",
        "acao-star-high-byte": b"*\xff",
    }
    out = [Case(f"edge:{k}", (_get(((ACAO, v),)),)) for k, v in acao_values.items()]
    out += [
        Case("edge:acao-two-stars", (_get(((ACAO, b"*"), (ACAO, b"*"))),)),
        Case("edge:acao-two-origins", (_get(((ACAO, b"{origin}"), (ACAO, b"{origin}"))),)),
        Case("edge:acao-empty-then-star", (_get(((ACAO, b""), (ACAO, b"*"))),)),
        Case(
            "edge:acao-star-include", (_get(((ACAO, b"*"), (ACAC, b"true")), credentials=_INCLUDE),)
        ),
        Case(
            "edge:acac-TRUE", (_get(((ACAO, b"{origin}"), (ACAC, b"TRUE")), credentials=_INCLUDE),)
        ),
        Case(
            "edge:acac-padded",
            (_get(((ACAO, b"{origin}"), (ACAC, b"  true ")), credentials=_INCLUDE),),
        ),
        Case(
            "edge:acac-twice",
            (_get(((ACAO, b"{origin}"), (ACAC, b"true"), (ACAC, b"true")), credentials=_INCLUDE),),
        ),
        Case("edge:acao-500", (Fetch("GET", (), ResponseSpec(500, ((ACAO, b"*"),))),)),
        Case(
            "edge:aceh-star-include",
            (
                _get(
                    (
                        (ACAO, b"{origin}"),
                        (ACAC, b"true"),
                        (ACEH, b"*"),
                        (b"X-Custom", b"1"),
                        (b"*", b"star"),
                    ),
                    credentials=_INCLUDE,
                ),
            ),
        ),
        Case(
            "edge:aceh-set-cookie",
            (
                _get(
                    (
                        (ACAO, b"*"),
                        (ACEH, b"Set-Cookie, x-custom"),
                        (b"Set-Cookie", b"sc=1; Max-Age=0"),
                        (b"X-Custom", b"1"),
                    )
                ),
            ),
        ),
        Case(
            "edge:aceh-bad-value",
            (
                _get(
                    (
                        (ACAO, b"*"),
                        (ACEH, b"x-custom, bad value"),
                        (b"X-Custom", b"1"),
                        (b"Content-Type", b"text/plain"),
                    )
                ),
            ),
        ),
        Case(
            "edge:aceh-empty-line-then-name",
            (_get(((ACAO, b"*"), (ACEH, b""), (ACEH, b"x-custom"), (b"X-Custom", b"1"))),),
        ),
        Case("edge:aceh-ff", (_get(((ACAO, b"*"), (ACEH, b"x-custom\x0c"), (b"X-Custom", b"1"))),)),
        Case(
            "edge:aceh-vt-then-name",
            (_get(((ACAO, b"*"), (ACEH, b"x-custom\x0b,x-custom"), (b"X-Custom", b"1"))),),
        ),
        Case(
            "edge:aceh-quoted-then-name",
            (_get(((ACAO, b"*"), (ACEH, b'"x-custom",x-custom'), (b"X-Custom", b"1"))),),
        ),
        Case("edge:header-named-star", (_get(((ACAO, b"*"), (ACEH, b"*"), (b"*", b"star"))),)),
        Case(
            "edge:last-modified-safelisted",
            (
                _get(
                    (
                        (ACAO, b"*"),
                        (b"Last-Modified", b"Tue, 15 Nov 1994 12:45:26 GMT"),
                        (b"X-Custom", b"1"),
                    )
                ),
            ),
        ),
    ]
    statuses = (204, 299, 201, 301, 302, 307, 308, 304, 400, 404, 500, 502)
    out += [Case(f"edge:preflight-status-{s}", (_put(_GRANT, status=s),)) for s in statuses]
    out += [
        Case("edge:preflight-301-location", (_put((*_GRANT, (b"Location", b"/x")), status=301),)),
        Case("edge:preflight-no-acao", (_put(((ACAM, b"PUT"), (ACAH, b"x-a"))),)),
        Case("edge:acam-empty", (_put(((ACAO, b"*"), (ACAM, b""), (ACAH, b"x-a"))),)),
        Case("edge:acam-lowercase-put", (_put(((ACAO, b"*"), (ACAM, b"put"), (ACAH, b"x-a"))),)),
        Case(
            "edge:acam-PATCH-for-patch",
            (_put(((ACAO, b"*"), (ACAM, b"PATCH"), (ACAH, b"x-a")), method="patch"),),
        ),
        Case(
            "edge:acam-patch-for-patch",
            (_put(((ACAO, b"*"), (ACAM, b"patch"), (ACAH, b"x-a")), method="patch"),),
        ),
        Case("edge:acam-star-put", (_put(((ACAO, b"*"), (ACAM, b"*"), (ACAH, b"x-a"))),)),
        Case(
            "edge:acam-star-put-include",
            (
                _put(
                    ((ACAO, b"{origin}"), (ACAC, b"true"), (ACAM, b"*"), (ACAH, b"x-a")),
                    credentials=_INCLUDE,
                ),
            ),
        ),
        Case(
            "edge:acam-literal-star-method-include",
            (
                _put(
                    ((ACAO, b"{origin}"), (ACAC, b"true"), (ACAM, b"*"), (ACAH, b"x-a")),
                    credentials=_INCLUDE,
                    method="*",
                ),
            ),
        ),
        Case(
            "edge:acam-bad-value",
            (_put(((ACAO, b"*"), (ACAM, b"PUT, Bad value"), (ACAH, b"x-a"))),),
        ),
        Case("edge:acah-star", (_put(((ACAO, b"*"), (ACAM, b"PUT"), (ACAH, b"*"))),)),
        Case(
            "edge:acah-star-include",
            (
                _put(
                    ((ACAO, b"{origin}"), (ACAC, b"true"), (ACAM, b"PUT"), (ACAH, b"*")),
                    credentials=_INCLUDE,
                ),
            ),
        ),
        Case(
            "edge:acah-odd-list",
            (_put(((ACAO, b"*"), (ACAM, b"PUT"), (ACAH, b",y-lol,x-PriNT, ,,,X-A"))),),
        ),
        Case("edge:acah-quoted", (_put(((ACAO, b"*"), (ACAM, b"PUT"), (ACAH, b'x-a, "x-b"'))),)),
        Case(
            "edge:acah-two-lines",
            (_put(((ACAO, b"*"), (ACAM, b"PUT"), (ACAH, b"x-b"), (ACAH, b"X-A"))),),
        ),
        Case("edge:acah-nul", (_put(((ACAO, b"*"), (ACAM, b"PUT"), (ACAH, b"x-a\x00"))),)),
        Case(
            "edge:preflight-missing-acac-include",
            (_put(((ACAO, b"{origin}"), (ACAM, b"PUT"), (ACAH, b"x-a")), credentials=_INCLUDE),),
        ),
        Case(
            "edge:preflight-star-include",
            (
                _put(
                    ((ACAO, b"*"), (ACAC, b"true"), (ACAM, b"PUT"), (ACAH, b"x-a")),
                    credentials=_INCLUDE,
                ),
            ),
        ),
    ]
    # Request side (§16.3): what makes a preflight, and its exact Access-Control-Request-Headers.
    grant = ((ACAO, b"*"), (ACAM, b"{acrm}"), (ACAH, b"{acrh}"))
    requests: dict[str, tuple[str, HeaderList]] = {
        "get-lowercase": ("get", ()),
        "chicken": ("CHICKEN", ()),
        "patch-lowercase": ("patch", ()),
        "ct-json": ("POST", ((b"Content-Type", b"application/json"),)),
        "ct-quoted-charset": ("POST", ((b"Content-Type", b'text/plain; charset="utf-8"'),)),
        "ct-mixed-case": ("POST", ((b"Content-Type", b"Text/Plain;charset=utf-8"),)),
        "ct-long": ("POST", ((b"Content-Type", b"text/plain;" + b"a" * 118),)),
        "accept-paren": ("GET", ((b"Accept", b"text/html("),)),
        "accept-language-underscore": ("GET", ((b"Accept-Language", b"en_US"),)),
        "content-language-digit": ("GET", ((b"Content-Language", b"1"),)),
        "range-open": ("GET", ((b"Range", b"bytes=0-"),)),
        "range-suffix": ("GET", ((b"Range", b"bytes=-500"),)),
        "range-two": ("GET", ((b"Range", b"bytes=0-1,2-3"),)),
        "range-uppercase": ("GET", ((b"Range", b"BYTES=0-"),)),
        "range-huge": ("GET", ((b"Range", b"bytes=99999999999999999999-"),)),
        "range-int64-max": ("GET", ((b"Range", b"bytes=9223372036854775807-"),)),
        "range-int64-max-plus-1": ("GET", ((b"Range", b"bytes=9223372036854775808-"),)),
        "range-end-beyond-int64": ("GET", ((b"Range", b"bytes=0-9223372036854775808"),)),
        "range-leading-zeros": ("GET", ((b"Range", b"bytes=007-0010"),)),
        "range-bytes-mixed-case": ("GET", ((b"Range", b"Bytes=0-"),)),
        "x-requested-with": ("GET", ((b"X-Requested-With", b"XMLHttpRequest"),)),
        "custom-empty-value": ("GET", ((b"X-Empty", b""),)),
        "forbidden-dropped": (
            "GET",
            ((b"Cookie", b"a=b"), (b"Sec-Foo", b"1"), (b"Proxy-Foo", b"1")),
        ),
        "method-override-trace": ("GET", ((b"X-HTTP-Method-Override", b"TRACE"),)),
        "method-override-patch": ("GET", ((b"X-HTTP-Method-Override", b"PATCH"),)),
        "if-none-match": ("GET", ((b"If-None-Match", b'"x"'),)),
        "last-event-id": ("GET", ((b"Last-Event-ID", b"42"),)),
        "dpr": ("GET", ((b"DPR", b"2"),)),
        "dpr-invalid": ("GET", ((b"DPR", b"two"),)),
        "device-memory": ("GET", ((b"Device-Memory", b"0.5"),)),
        "ect": ("GET", ((b"ECT", b"4g"),)),
        "save-data": ("GET", ((b"Save-Data", b"on"),)),
        "viewport-width": ("GET", ((b"Viewport-Width", b"100"),)),
        "user-agent": ("GET", ((b"User-Agent", b"x"),)),
        "accept-9x120": ("GET", ((b"Accept", b"a" * 120),) * 9),
        "accept-twice": ("GET", ((b"Accept", b"a/b"), (b"Accept", b"c/d"))),
        "content-type-twice": ("POST", ((b"Content-Type", b"text/plain"),) * 2),
        "content-language-twice": (
            "GET",
            ((b"Content-Language", b"en"), (b"Content-Language", b"fr")),
        ),
        "range-twice": ("GET", ((b"Range", b"bytes=0-"), (b"Range", b"bytes=1-"))),
        "header-sort-order": (
            "PUT",
            (
                *(
                    (n.encode(), b"1")
                    for n in (
                        "x-test-header1",
                        "x-test-header2",
                        "X-test-header3",
                        "x-test-header-b",
                        "x-test-header-D",
                        "x-test-header-C",
                        "x-test-header-a",
                    )
                ),
                (b"Content-Type", b"allowedOrRefused"),
                (b"Accept", b"*"),
                (b"Accept-Language", b"bzh"),
                (b"Content-Language", b"eu"),
            ),
        ),
        "value-latin1-byte": ("GET", ((b"X-A", b"caf\xe9"),)),
        "value-nul": ("GET", ((b"X-A", b"a\x00b"),)),
        "name-not-token": ("GET", ((b"X A", b"1"),)),
        "method-trace": ("TRACE", ()),
        "authorization-star": ("GET", ((b"Authorization", b"Bearer x"),)),
    }
    for key, (method, headers) in requests.items():
        body = None if method.upper() in ("GET", "HEAD", "TRACE") else b"x"
        fetch = Fetch(
            method=method,
            headers=with_implicit_content_type(headers, body),
            body=body,
            preflight=ResponseSpec(
                204, grant if key != "authorization-star" else ((ACAO, b"*"), (ACAH, b"*"))
            ),
            response=ResponseSpec(200, ((ACAO, b"*"),)),
        )
        out.append(Case(f"edge:request-{key}", (fetch,)))
    star = (ACAO, b"*")
    out += [
        Case(
            "edge:http-nul-in-unrelated-header",
            (_get((star, (b"X-Custom", b"a\x00b"))),),
            outside_model="a NUL in a header value: Chromium refuses the whole response "
            "(net::ERR_INVALID_HTTP_RESPONSE)",
        ),
        Case(
            "edge:http-header-name-with-space",
            (_get((star, (ACEH, b"*"), (b"X Custom", b"1"))),),
            outside_model="a header name that is not a token: Chromium drops that line",
        ),
    ]
    out.append(
        Case(
            "edge:request-authorization-star-include",
            (
                Fetch(
                    method="GET",
                    headers=((b"Authorization", b"Bearer x"),),
                    credentials=_INCLUDE,
                    preflight=ResponseSpec(
                        204, ((ACAO, b"{origin}"), (ACAC, b"true"), (ACAH, b"*"))
                    ),
                    response=ResponseSpec(200, ((ACAO, b"{origin}"), (ACAC, b"true"))),
                ),
            ),
        )
    )
    modes = {
        "no-cors-get": Fetch(
            "GET", (), ResponseSpec(200, ((b"X-Custom", b"1"),)), mode=RequestMode.NO_CORS
        ),
        "no-cors-post": Fetch(
            "POST",
            with_implicit_content_type((), b"x"),
            ResponseSpec(200, ()),
            mode=RequestMode.NO_CORS,
            body=b"x",
        ),
        "no-cors-post-json": Fetch(
            "POST",
            with_implicit_content_type(
                ((b"Content-Type", b"application/json"),), b"x", RequestMode.NO_CORS
            ),
            ResponseSpec(200, ()),
            mode=RequestMode.NO_CORS,
            body=b"x",
        ),
        "no-cors-put": Fetch("PUT", (), ResponseSpec(200, ()), mode=RequestMode.NO_CORS),
        "no-cors-custom-header": Fetch(
            "GET", ((b"X-A", b"1"),), ResponseSpec(200, ()), mode=RequestMode.NO_CORS
        ),
        "same-origin-mode": Fetch(
            "GET", (), ResponseSpec(200, ((ACAO, b"*"),)), mode=RequestMode.SAME_ORIGIN
        ),
        "same-origin-url-put": Fetch(
            "PUT", ((b"X-A", b"1"),), ResponseSpec(200, ((b"X-Custom", b"1"),)), same_origin=True
        ),
        "same-origin-url-include": Fetch(
            "GET", (), ResponseSpec(200, ()), same_origin=True, credentials=_INCLUDE
        ),
        "same-origin-url-default-creds": Fetch("GET", (), ResponseSpec(200, ()), same_origin=True),
        "include-cookie": Fetch(
            "GET",
            (),
            ResponseSpec(200, ((ACAO, b"{origin}"), (ACAC, b"true"))),
            credentials=_INCLUDE,
        ),
        "omit-no-cookie": Fetch(
            "GET", (), ResponseSpec(200, ((ACAO, b"*"),)), credentials=CredentialsMode.OMIT
        ),
    }
    out += [Case(f"edge:mode-{k}", (f,)) for k, f in modes.items()]
    return out


# --- preflight-cache sequences --------------------------------------------------------------

_CACHE_GRANT: Final = ((ACAO, b"*"), (ACAM, b"PUT"), (ACAH, b"x-a"))
_OK: Final = ResponseSpec(200, ((ACAO, b"*"),))


def _seq_put(at: float, preflight: HeaderList = _CACHE_GRANT, **kwargs: Any) -> Fetch:
    fields: dict[str, Any] = {
        "method": "PUT",
        "headers": ((b"X-A", b"1"),),
        "preflight": ResponseSpec(204, preflight),
        "response": _OK,
        "at": at,
    }
    fields.update(kwargs)
    return Fetch(**fields)


def cache_sequences() -> list[Case]:
    """Sequences of fetches to one URL: is the second one preflighted again?"""
    out: list[Case] = []
    max_ages: dict[str, HeaderList] = {
        "absent": (),
        "0": ((ACMA, b"0"),),
        "-1": ((ACMA, b"-1"),),
        "5": ((ACMA, b"5"),),
        "86400": ((ACMA, b"86400"),),
        "abc": ((ACMA, b"abc"),),
        "empty": ((ACMA, b""),),
        "plus10": ((ACMA, b"+10"),),
        "1.5": ((ACMA, b"1.5"),),
        "padded-10": ((ACMA, b" 10 "),),
        "two-lines": ((ACMA, b"10"), (ACMA, b"20")),
        "list": ((ACMA, b"10, 20"),),
        "leading-zero": ((ACMA, b"010"),),
        "huge": ((ACMA, b"99999999999999999999"),),
    }
    for key, lines in max_ages.items():
        grant = (*_CACHE_GRANT, *lines)
        out.append(
            Case(f"cache:max-age-{key}", (_seq_put(0, grant), _seq_put(1, grant)), "cached at 1 s?")
        )
    # Expiry: 2 s is cached at 1 s and gone at 3.5 s; the 5 s default is gone at 6.5 s.
    two = (*_CACHE_GRANT, (ACMA, b"2"))
    out.append(
        Case("cache:max-age-2-expires", (_seq_put(0, two), _seq_put(1, two), _seq_put(3.5, two)))
    )
    out.append(
        Case(
            "cache:default-expires",
            (_seq_put(0), _seq_put(3.5), _seq_put(6.5)),
            "absent Max-Age: 5 s",
        )
    )
    long = (*_CACHE_GRANT, (ACMA, b"600"))
    cred_grant = (
        (ACAO, b"{origin}"),
        (ACAC, b"true"),
        (ACAM, b"PUT"),
        (ACAH, b"x-a"),
        (ACMA, b"600"),
    )
    cred_ok = ResponseSpec(200, ((ACAO, b"{origin}"), (ACAC, b"true")))
    out += [
        Case(
            "cache:credentialed-serves-uncredentialed",
            (
                _seq_put(0, cred_grant, credentials=_INCLUDE, response=cred_ok),
                _seq_put(1, cred_grant, response=cred_ok),
            ),
        ),
        Case(
            "cache:uncredentialed-not-for-include",
            (
                _seq_put(0, cred_grant, response=cred_ok),
                _seq_put(1, cred_grant, credentials=_INCLUDE, response=cred_ok),
            ),
        ),
        Case("cache:other-method", (_seq_put(0, long), _seq_put(1, long, method="DELETE"))),
        Case(
            "cache:other-header", (_seq_put(0, long), _seq_put(1, long, headers=((b"X-B", b"1"),)))
        ),
        Case(
            "cache:fewer-headers",
            (_seq_put(0, long, headers=((b"X-A", b"1"),)), _seq_put(1, long, headers=())),
        ),
        Case(
            "cache:method-star",
            (
                _seq_put(0, ((ACAO, b"*"), (ACAM, b"*"), (ACAH, b"x-a"), (ACMA, b"600"))),
                _seq_put(
                    1, ((ACAO, b"*"), (ACAM, b"*"), (ACAH, b"x-a"), (ACMA, b"600")), method="DELETE"
                ),
            ),
        ),
        Case(
            "cache:header-star",
            (
                _seq_put(0, ((ACAO, b"*"), (ACAM, b"PUT"), (ACAH, b"*"), (ACMA, b"600"))),
                _seq_put(
                    1,
                    ((ACAO, b"*"), (ACAM, b"PUT"), (ACAH, b"*"), (ACMA, b"600")),
                    headers=((b"X-B", b"1"),),
                ),
            ),
        ),
        Case(
            "cache:header-star-authorization",
            (
                _seq_put(0, ((ACAO, b"*"), (ACAM, b"PUT"), (ACAH, b"*"), (ACMA, b"600"))),
                _seq_put(
                    1,
                    ((ACAO, b"*"), (ACAM, b"PUT"), (ACAH, b"*"), (ACMA, b"600")),
                    headers=((b"Authorization", b"Bearer x"),),
                ),
            ),
        ),
        Case(
            "cache:method-star-include-then-include",
            (
                _seq_put(
                    0,
                    (
                        (ACAO, b"{origin}"),
                        (ACAC, b"true"),
                        (ACAM, b"*, PUT"),
                        (ACAH, b"x-a"),
                        (ACMA, b"600"),
                    ),
                    credentials=_INCLUDE,
                    response=cred_ok,
                ),
                _seq_put(
                    1,
                    (
                        (ACAO, b"{origin}"),
                        (ACAC, b"true"),
                        (ACAM, b"*, PUT"),
                        (ACAH, b"x-a"),
                        (ACMA, b"600"),
                    ),
                    credentials=_INCLUDE,
                    response=cred_ok,
                    method="DELETE",
                ),
            ),
        ),
        Case(
            "cache:cleared-after-failed-actual",
            (_seq_put(0, long, response=ResponseSpec(200, ())), _seq_put(1, long)),
            "the actual response fails the CORS check: is the cached preflight dropped?",
        ),
        Case(
            "cache:failed-preflight-then-ok",
            (_seq_put(0, ((ACAO, b"*"), (ACAM, b"DELETE"), (ACMA, b"600"))), _seq_put(1, long)),
        ),
        Case(
            "cache:safelisted-method-header-entry",
            (
                _seq_put(0, long, method="POST"),
                _seq_put(1, long, method="POST"),
                _seq_put(2, long, method="GET", body=None),
            ),
        ),
        Case(
            "cache:replaced-by-later-preflight",
            (
                _seq_put(0, long),
                _seq_put(
                    1,
                    ((ACAO, b"*"), (ACAM, b"DELETE"), (ACAH, b"x-a"), (ACMA, b"600")),
                    method="DELETE",
                ),
                _seq_put(2, long),
            ),
            "a second preflight for another method: is the first method's entry kept?",
        ),
        Case(
            "cache:header-replaced-by-later-preflight",
            (
                _seq_put(0, long),
                _seq_put(
                    1,
                    ((ACAO, b"*"), (ACAM, b"PUT"), (ACAH, b"x-b"), (ACMA, b"600")),
                    headers=((b"X-B", b"1"),),
                ),
                _seq_put(2, long),
            ),
        ),
        Case(
            "cache:credentialed-after-uncredentialed",
            (
                _seq_put(0, long),
                _seq_put(1, cred_grant, credentials=_INCLUDE, response=cred_ok),
                _seq_put(2, long),
            ),
        ),
        Case(
            "cache:shorter-max-age-replaces",
            (
                _seq_put(0, long),
                _seq_put(
                    1,
                    ((ACAO, b"*"), (ACAM, b"DELETE"), (ACAH, b"x-a"), (ACMA, b"1")),
                    method="DELETE",
                ),
                _seq_put(3, long),
            ),
        ),
        Case(
            "cache:hit-then-failed-actual-then-hit",
            (
                _seq_put(0, long),
                _seq_put(1, long, response=ResponseSpec(500, ())),
                _seq_put(2, long),
            ),
        ),
        Case(
            "cache:refreshed-by-second-preflight",
            (
                _seq_put(0, (*_CACHE_GRANT, (ACMA, b"2"))),
                _seq_put(
                    1,
                    ((ACAO, b"*"), (ACAM, b"DELETE, PUT"), (ACAH, b"x-a"), (ACMA, b"600")),
                    method="DELETE",
                ),
                _seq_put(3.5, (*_CACHE_GRANT, (ACMA, b"2"))),
            ),
        ),
    ]
    return out


# --- the pinned cases -----------------------------------------------------------------------


def _latin1(value: Any) -> bytes:
    return str(value).encode("latin-1")


def _pinned_headers(pairs: Sequence[Sequence[str]], origin: str) -> HeaderList:
    out = []
    for name, value in pairs:
        raw = value.replace(origin, "{origin}").replace(origin.upper(), "{ORIGIN}")
        out.append((_latin1(name), _latin1(raw)))
    return tuple(out)


class _NotExpressible(Exception):
    pass


def _pinned_response(doc: Any, origin: str, *, actual: bool) -> ResponseSpec:
    status = int(doc["status"])
    pairs = doc.get("headers") or []
    names = {str(n).lower() for n, _ in pairs}
    if "content-length" in names or "transfer-encoding" in names:
        raise _NotExpressible("sets its own Content-Length / Transfer-Encoding")
    if actual and status in (301, 302, 303, 307, 308) and "location" in names:
        raise _NotExpressible("a redirect of the actual request (needs a redirect setup)")
    headers = _pinned_headers(pairs, origin)
    # A pinned Set-Cookie would change the browser's cookie jar for later cases.
    headers = tuple(
        (n, b"sc=1; Max-Age=0") if n.lower() == b"set-cookie" else (n, v) for n, v in headers
    )
    return ResponseSpec(status, headers)


def _pinned_fetch(item: Mapping[str, Any], origin: str, api: str, at: float) -> Fetch:
    request = item["request"]
    if request.get("origin") != origin:
        raise _NotExpressible("requests from more than one origin (needs a third origin)")
    if request.get("unsafe_request", True) is False:
        raise _NotExpressible("UA-initiated fetch (unsafe-request flag unset: <img crossorigin>)")
    flagged = bool(request.get("use_cors_preflight"))
    headers_api = HeadersApi(request.get("headers_api", "fetch"))
    if flagged or headers_api is HeadersApi.XHR:
        _check_xhr_can_make(request, headers_api)
    url = request["url"]
    url_origin = origin_of(url).serialize()
    if url_origin not in (origin, api):
        raise _NotExpressible("a URL on a third origin")
    if origin.split(":", 1)[0] != url.split(":", 1)[0]:
        raise _NotExpressible("origin and URL differ in scheme (needs an https origin)")
    parsed = parse_url(url)
    if parsed.has_userinfo:
        raise _NotExpressible("a URL with userinfo (the loopback URL would drop it)")
    path = parsed.path_query or "/"
    body = request.get("body")
    body_bytes = None if body is None else _latin1(body)
    headers = _pinned_headers(request.get("headers") or [], origin)
    mode = RequestMode(request.get("mode", "cors"))
    by_xhr = flagged or headers_api is HeadersApi.XHR
    if flagged and body_bytes is None:
        body_bytes = b""  # upload listeners: XHR sends an empty body (the model is told so)
    return Fetch(
        method=request.get("method", "GET"),
        headers=headers if by_xhr else with_implicit_content_type(headers, body_bytes, mode),
        credentials=CredentialsMode(request.get("credentials", "same-origin")),
        mode=mode,
        body=body_bytes,
        api=headers_api,
        use_cors_preflight=flagged,
        same_origin=url_origin == origin,
        path=path,
        preflight=_pinned_response(item["preflight"], origin, actual=False)
        if "preflight" in item
        else None,
        response=_pinned_response(item["response"], origin, actual=True)
        if "response" in item
        else ResponseSpec(404, ()),
        at=at,
    )


def _check_xhr_can_make(request: Mapping[str, Any], headers_api: HeadersApi) -> None:
    """XMLHttpRequest makes flagged and setRequestHeader requests; what it cannot make is
    skipped (a flagged fetch() needs a stream body, which Chromium sends only over HTTP/2).
    The same rule as the reports' console scripts (``conformance.records.why_not_xhr``)."""
    why = why_not_xhr(parse_request(request), headers=headers_api is HeadersApi.FETCH)
    if why:
        raise _NotExpressible(f"XMLHttpRequest cannot make it: {why}")


def _pinned_case(case: Mapping[str, Any]) -> Case:
    doc = case["input"]
    if "hops" in doc:
        raise _NotExpressible("a redirect chain (needs a redirecting server per hop)")
    items = doc.get("fetches", [doc])
    first = items[0]["request"]
    origin_value = parse_serialized_origin(first["origin"])
    if origin_value is None or isinstance(origin_value, OpaqueOrigin):
        raise _NotExpressible("an opaque (null) request origin (needs a sandboxed or data: page)")
    origin = origin_value.serialize()
    apis = {origin_of(i["request"]["url"]).serialize() for i in items} - {origin}
    if len(apis) > 1:
        raise _NotExpressible("URLs on more than one other origin")
    api = next(iter(apis), origin)
    fetch_list = tuple(_pinned_fetch(item, origin, api, float(item.get("at", 0))) for item in items)
    if any(f.at > 10 for f in fetch_list):
        raise _NotExpressible("a sequence longer than 10 s (real time)")
    return Case(f"pinned:{case['id']}", fetch_list)


def pinned_cases(directory: Path = CASES_DIR) -> tuple[list[Case], list[Skipped]]:
    cases: list[Case] = []
    skipped: list[Skipped] = []
    for path in sorted(directory.glob("*.json")):
        for case in json.loads(path.read_text())["cases"]:
            try:
                cases.append(_pinned_case(case))
            except _NotExpressible as why:
                skipped.append(Skipped(f"pinned:{case['id']}", str(why)))
    return cases, skipped


__all__ = [
    "COOKIE",
    "Case",
    "Fetch",
    "Origins",
    "ResponseSpec",
    "Skipped",
    "cache_sequences",
    "edge_cases",
    "generated_cases",
    "pinned_cases",
    "render",
    "render_response",
    "with_implicit_content_type",
]
