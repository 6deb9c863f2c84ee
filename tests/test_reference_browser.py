"""``reference.browser``: the browser side of a fetch, driven directly.

Outcomes are the Fetch Standard's as the digest (``fetch-cors-digest.md``) paraphrases them,
section cited per test; the legacy Private Network Access switch follows the
``Quirk.PRIVATE_NETWORK_ACCESS`` docstring and digest §14.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from reference import anchors
from reference.browser import (
    MAX_REDIRECTS,
    FetchResult,
    MissingResponse,
    UnusedResponse,
    browser_verdict,
    needs_preflight,
)
from reference.headers import HeaderList, get
from reference.origins import origin_of
from reference.profiles import CHROMIUM, SPEC, Profile, Quirk
from reference.request import BrowserRequest, CredentialsMode, RedirectMode, RequestMode
from reference.verdict import Allowed, Blocked, BlockedReason, RawResponse, WireRequest

PAGE = "https://app.example"
API = "https://api.example/data"
ACAO_ANY = (b"Access-Control-Allow-Origin", b"*")
ACAO_PAGE = (b"Access-Control-Allow-Origin", PAGE.encode())
ACAC = (b"Access-Control-Allow-Credentials", b"true")
ALLOW_PUT = (b"Access-Control-Allow-Methods", b"PUT")

# Chromium with the legacy PNA switch on (no shipping profile has it: digest §14).
PNA = Profile(
    name="chromium-pna",
    quirks=CHROMIUM.quirks | {Quirk.PRIVATE_NETWORK_ACCESS},
    max_age_cap=CHROMIUM.max_age_cap,
    evidence="test profile: Chromium with legacy Private Network Access preflights",
)


def _request(url: str = API, *, page: str = PAGE, **fields: object) -> BrowserRequest:
    return BrowserRequest(origin=origin_of(page), url=url, **fields)  # type: ignore[arg-type]


def _response(status: int = 200, *headers: tuple[bytes, bytes]) -> RawResponse:
    return RawResponse(status=status, headers=tuple(headers))


def _run(request: BrowserRequest, *responses: RawResponse, profile: Profile = SPEC) -> FetchResult:
    return browser_verdict(request, list(responses), profile=profile)


def _blocked(result: FetchResult) -> Blocked:
    assert isinstance(result.verdict, Blocked), result.verdict
    return result.verdict


def _allowed(result: FetchResult) -> Allowed:
    assert isinstance(result.verdict, Allowed), result.verdict
    return result.verdict


# -- legacy Private Network Access (Quirk.PRIVATE_NETWORK_ACCESS) ------------------------------


def _pna_put() -> BrowserRequest:
    return _request(method="PUT", private_network=True)


def test_a_pna_preflight_asks_for_private_network_access() -> None:
    result = _run(
        _pna_put(),
        _response(204, ACAO_ANY, ALLOW_PUT, (b"Access-Control-Allow-Private-Network", b"true")),
        _response(200, ACAO_ANY),
        profile=PNA,
    )
    verdict = _allowed(result)
    preflight = verdict.wire[0]
    assert preflight.is_preflight
    assert preflight.headers == (
        (b"Accept", b"*/*"),
        (b"Access-Control-Request-Method", b"PUT"),
        (b"Access-Control-Request-Private-Network", b"true"),
        (b"Origin", PAGE.encode()),
    )
    # The actual request does not carry the PNA request header.
    assert get(verdict.wire[1].headers, b"access-control-request-private-network") is None


def test_the_pna_grant_is_compared_after_stripping_ows() -> None:
    # Digest §2.1: the HTTP layer strips leading and trailing OWS from every value.
    grant = (b"Access-Control-Allow-Private-Network", b" \ttrue ")
    result = _run(
        _pna_put(), _response(204, ACAO_ANY, ALLOW_PUT, grant), _response(200), profile=PNA
    )
    # The preflight passes; the actual response (no ACAO) then fails its own CORS check.
    assert _blocked(result).reason is BlockedReason.MISSING_ALLOW_ORIGIN_HEADER


def test_a_pna_preflight_without_the_grant_is_blocked() -> None:
    result = _run(_pna_put(), _response(204, ACAO_ANY, ALLOW_PUT), profile=PNA)
    verdict = _blocked(result)
    assert verdict.reason is BlockedReason.PREFLIGHT_MISSING_ALLOW_PRIVATE_NETWORK
    assert verdict.reason.is_preflight
    assert verdict.failed_parameter is None
    assert verdict.spec_ref == anchors.PNA_PREFLIGHT
    assert [w.is_preflight for w in verdict.wire] == [True]  # the actual request is never sent
    assert verdict.steps[-1].spec_ref == anchors.PNA_PREFLIGHT
    assert result.cache.entries == ()


@pytest.mark.parametrize(
    ("lines", "parameter"),
    [
        ((b"TRUE",), b"TRUE"),  # exact, lowercase (digest §14)
        ((b"1",), b"1"),
        ((b"",), b""),
        ((b"true", b"true"), b"true, true"),  # two lines combine and no longer equal `true`
    ],
)
def test_a_pna_grant_other_than_exactly_true_is_invalid(
    lines: tuple[bytes, ...], parameter: bytes
) -> None:
    grants = [(b"Access-Control-Allow-Private-Network", line) for line in lines]
    result = _run(_pna_put(), _response(204, ACAO_ANY, ALLOW_PUT, *grants), profile=PNA)
    verdict = _blocked(result)
    assert verdict.reason is BlockedReason.PREFLIGHT_INVALID_ALLOW_PRIVATE_NETWORK
    assert verdict.failed_parameter == parameter


def test_the_pna_grant_is_checked_after_the_cors_check() -> None:
    result = _run(_pna_put(), _response(204, ALLOW_PUT), profile=PNA)
    assert _blocked(result).reason is BlockedReason.PREFLIGHT_MISSING_ALLOW_ORIGIN_HEADER


@pytest.mark.parametrize(
    ("profile", "private_network"), [(PNA, False), (SPEC, True), (CHROMIUM, True)]
)
def test_no_pna_header_or_grant_unless_the_quirk_and_the_flag_are_both_on(
    profile: Profile, private_network: bool
) -> None:
    request = _request(method="PUT", private_network=private_network)
    result = _run(
        request, _response(204, ACAO_ANY, ALLOW_PUT), _response(200, ACAO_ANY), profile=profile
    )
    verdict = _allowed(result)
    assert verdict.wire[0].is_preflight
    assert get(verdict.wire[0].headers, b"access-control-request-private-network") is None


# -- tracing -----------------------------------------------------------------------------------

TRACE_CASES: list[tuple[BrowserRequest, Sequence[RawResponse]]] = [
    (_request(), [_response(200, ACAO_ANY)]),
    (_request(credentials=CredentialsMode.INCLUDE), [_response(200, ACAO_ANY)]),
    (_request(method="PUT"), [_response(204, ACAO_ANY, ALLOW_PUT), _response(200, ACAO_ANY)]),
    (_request(method="PUT"), [_response(204, ACAO_ANY)]),
    (_request(mode=RequestMode.NO_CORS), [_response(200)]),
]


@pytest.mark.parametrize(("request_", "responses"), TRACE_CASES)
def test_trace_off_gives_the_same_verdict_without_steps(
    request_: BrowserRequest, responses: Sequence[RawResponse]
) -> None:
    # simulate_fetch docstring: with trace=False the verdict carries no steps, same decision.
    traced = browser_verdict(request_, responses)
    fast = browser_verdict(request_, responses, trace=False)
    assert traced.verdict.steps
    assert fast.verdict.steps == ()
    assert fast.verdict == traced.verdict._replace(steps=())
    assert (fast.cache, fast.cached_max_age) == (traced.cache, traced.cached_max_age)


# -- request checks before any I/O -------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["https://user:secret@api.example/data", "https://user@api.example/data"]
)
def test_a_url_with_credentials_is_a_type_error(url: str) -> None:
    # Digest §12: URLs with userinfo passed to fetch() throw a TypeError.
    verdict = _blocked(_run(_request(url)))
    assert verdict.reason is BlockedReason.INVALID_REQUEST
    assert verdict.failed_parameter is None
    assert verdict.wire == ()


@pytest.mark.parametrize("url", ["https://:@api.example/data", "https://@api.example/data"])
def test_a_url_with_empty_userinfo_is_fine_and_sent_without_it(url: str) -> None:
    verdict = _allowed(_run(_request(url), _response(200, ACAO_ANY)))
    assert verdict.wire[0].url == API


# -- Origin and Cookie on the actual request ----------------------------------------------------


@pytest.mark.parametrize(
    ("page", "url", "method", "origin"),
    [
        # Digest §3.5: no-cors, not GET/HEAD: Origin after the default referrer policy
        # (strict-origin-when-cross-origin): `null` from an https page to a non-https URL.
        ("https://app.example", "http://api.example/", "POST", b"null"),
        ("https://app.example", "https://api.example/", "POST", b"https://app.example"),
        ("http://app.example", "http://api.example/", "POST", b"http://app.example"),
        ("http://app.example", "https://api.example/", "POST", b"http://app.example"),
        # GET and HEAD in no-cors send no Origin at all.
        ("https://app.example", "http://api.example/", "GET", None),
        ("https://app.example", "https://api.example/", "HEAD", None),
    ],
)
def test_the_origin_header_of_a_no_cors_request(
    page: str, url: str, method: str, origin: bytes | None
) -> None:
    request = _request(url, page=page, method=method, mode=RequestMode.NO_CORS)
    verdict = _allowed(_run(request, _response(200)))
    assert get(verdict.wire[0].headers, b"origin") == origin
    # Digest §13: an opaque response: status 0, nothing readable.
    assert (verdict.response_type, verdict.status, verdict.visible_header_names) == (
        "opaque",
        0,
        (),
    )


def test_a_same_origin_post_sends_origin_and_a_same_origin_get_does_not() -> None:
    # Digest §3.5 / WPT request-headers.any.js.
    post = _allowed(_run(_request(PAGE + "/x", method="POST"), _response(200)))
    get_ = _allowed(_run(_request(PAGE + "/x"), _response(200)))
    assert get(post.wire[0].headers, b"origin") == PAGE.encode()
    assert get(get_.wire[0].headers, b"origin") is None
    assert get_.response_type == "basic"


@pytest.mark.parametrize(
    ("url", "credentials", "sent"),
    [
        # Digest §12: includeCredentials is "include", or "same-origin" with basic tainting.
        (API, CredentialsMode.INCLUDE, True),
        (API, CredentialsMode.SAME_ORIGIN, False),
        (API, CredentialsMode.OMIT, False),
        (PAGE + "/x", CredentialsMode.SAME_ORIGIN, True),
        (PAGE + "/x", CredentialsMode.INCLUDE, True),
        (PAGE + "/x", CredentialsMode.OMIT, False),
    ],
)
def test_the_cookie_goes_only_with_credentials(
    url: str, credentials: CredentialsMode, sent: bool
) -> None:
    request = _request(url, credentials=credentials, cookie=b"sid=1")
    result = _run(request, _response(200, ACAO_PAGE, ACAC))
    wire = result.verdict.wire[0]
    assert wire.credentials is sent
    assert get(wire.headers, b"cookie") == (b"sid=1" if sent else None)


def test_no_cookie_header_when_the_browser_holds_none() -> None:
    request = _request(credentials=CredentialsMode.INCLUDE)
    wire = _run(request, _response(200, ACAO_PAGE, ACAC)).verdict.wire[0]
    assert wire.credentials
    assert get(wire.headers, b"cookie") is None


def test_a_preflight_never_carries_the_cookie() -> None:
    # Digest §6 / §12: preflights never carry credentials.
    request = _request(method="PUT", credentials=CredentialsMode.INCLUDE, cookie=b"sid=1")
    preflight = (b"Access-Control-Allow-Methods", b"PUT")
    result = _run(request, _response(204, ACAO_PAGE, ACAC, preflight), _response(200))
    first, actual = result.verdict.wire
    assert first.is_preflight
    assert not first.credentials
    assert get(first.headers, b"cookie") is None
    assert actual.credentials
    assert get(actual.headers, b"cookie") == b"sid=1"


# -- routing (digest §5) ------------------------------------------------------------------------


def test_mode_same_origin_refuses_a_cross_origin_url() -> None:
    verdict = _blocked(_run(_request(mode=RequestMode.SAME_ORIGIN)))
    assert verdict.reason is BlockedReason.DISALLOWED_BY_MODE
    assert verdict.wire == ()


def test_mode_same_origin_reads_everything_but_set_cookie_same_origin() -> None:
    request = _request(PAGE + "/x", mode=RequestMode.SAME_ORIGIN)
    response = _response(200, (b"X-Secret", b"1"), (b"Set-Cookie", b"a=b"))
    verdict = _allowed(_run(request, response))
    assert verdict.response_type == "basic"
    assert verdict.visible_header_names == (b"x-secret",)


@pytest.mark.parametrize("redirect", [RedirectMode.MANUAL, RedirectMode.ERROR])
def test_no_cors_requires_redirect_mode_follow(redirect: RedirectMode) -> None:
    # Digest §4.8 / §5 step 4.
    verdict = _blocked(_run(_request(mode=RequestMode.NO_CORS, redirect=redirect)))
    assert verdict.reason is BlockedReason.DISALLOWED_BY_MODE
    assert verdict.wire == ()


@pytest.mark.parametrize(
    ("url", "scheme"), [("file:///etc/hosts", b"file"), ("ftp://files.example/x", b"ftp")]
)
def test_a_non_http_url_cannot_do_cors(url: str, scheme: bytes) -> None:
    # Digest §5 step 5: a cross-origin non-HTTP(S) URL in cors mode is a network error.
    verdict = _blocked(_run(_request(url)))
    assert verdict.reason is BlockedReason.CORS_DISABLED_SCHEME
    assert verdict.failed_parameter == scheme
    assert verdict.spec_ref == anchors.MAIN_FETCH


# -- redirects (digest §11) ---------------------------------------------------------------------


def _redirect(location: bytes, status: int = 302, *extra: tuple[bytes, bytes]) -> RawResponse:
    return _response(status, ACAO_ANY, (b"Location", location), *extra)


def test_redirect_mode_error_fails_after_the_cors_check() -> None:
    verdict = _blocked(_run(_request(redirect=RedirectMode.ERROR), _redirect(b"/next", 307)))
    assert verdict.reason is BlockedReason.REDIRECT_MODE_ERROR
    assert verdict.failed_parameter == b"307"
    # The CORS check on the 3xx comes first (digest §11.1).
    no_acao = _response(307, (b"Location", b"/next"))
    verdict = _blocked(_run(_request(redirect=RedirectMode.ERROR), no_acao))
    assert verdict.reason is BlockedReason.MISSING_ALLOW_ORIGIN_HEADER


def test_redirect_mode_manual_gives_an_opaque_redirect() -> None:
    verdict = _allowed(_run(_request(redirect=RedirectMode.MANUAL), _redirect(b"/next", 301)))
    assert (verdict.response_type, verdict.status, verdict.visible_header_names) == (
        "opaqueredirect",
        0,
        (),
    )
    assert len(verdict.wire) == 1
    no_acao = _response(301, (b"Location", b"/next"))
    verdict_ = _blocked(_run(_request(redirect=RedirectMode.MANUAL), no_acao))
    assert verdict_.reason is BlockedReason.MISSING_ALLOW_ORIGIN_HEADER


def test_a_3xx_without_location_is_the_final_response() -> None:
    verdict = _allowed(_run(_request(), _response(302, ACAO_ANY)))
    assert (verdict.status, verdict.response_type) == (302, "cors")


def test_an_empty_location_redirects_to_the_same_url_until_too_many() -> None:
    # Fetch "location URL": an empty Location parses, against the response URL, as that URL.
    # WPT fetch/api/redirect/redirect-empty-location.any.js: follow mode rejects (the loop
    # exhausts the redirect limit); manual mode gives an opaque redirect.
    loop = [_redirect(b"")] * (MAX_REDIRECTS + 1)
    verdict = _blocked(_run(_request(), *loop))
    assert verdict.reason is BlockedReason.TOO_MANY_REDIRECTS
    assert {w.url for w in verdict.wire} == {API}
    assert len(verdict.wire) == MAX_REDIRECTS + 1
    manual = _allowed(_run(_request(redirect=RedirectMode.MANUAL), _redirect(b"")))
    assert manual.response_type == "opaqueredirect"


def test_twenty_redirects_are_followed_and_the_twenty_first_is_not() -> None:
    hops = [_redirect(b"/hop%d" % i) for i in range(MAX_REDIRECTS)]
    verdict = _allowed(_run(_request(), *hops, _response(200, ACAO_ANY)))
    assert len(verdict.wire) == MAX_REDIRECTS + 1
    blocked = _blocked(_run(_request(), *hops, _redirect(b"/one-too-many")))
    assert blocked.reason is BlockedReason.TOO_MANY_REDIRECTS
    assert blocked.failed_parameter == b"/one-too-many"


@pytest.mark.parametrize(
    ("location", "target"),
    [
        (b"/next?a=1", "https://api.example/next?a=1"),
        (b"?page=2", "https://api.example/data?page=2"),
        (b"sibling", "https://api.example/sibling"),
        (b"//cdn.example/data", "https://cdn.example/data"),
        (b"#section", API),  # a fragment-only reference is the same URL
        (b"HTTPS://API.EXAMPLE:443/Moved", "https://api.example/Moved"),
    ],
)
def test_a_relative_location_resolves_against_the_current_url(location: bytes, target: str) -> None:
    verdict = _allowed(_run(_request(), _redirect(location), _response(200, ACAO_ANY)))
    assert [w.url for w in verdict.wire] == [API, target]


@pytest.mark.parametrize(
    ("location", "why"),
    [
        (b"https://api.example:99999/", "does not parse as a URL"),
        (b"http://[::1/", "does not parse as a URL"),
        (b"https://%ff.example/", "does not parse as a URL"),
        (b"data:text/plain,hi", "is not an HTTP(S) URL"),
        (b"ftp://files.example/", "is not an HTTP(S) URL"),
        (b"wss://api.example/", "is not an HTTP(S) URL"),
    ],
)
def test_a_bad_location_is_an_invalid_redirect(location: bytes, why: str) -> None:
    # Digest §11.1 step 1: unparsable, or not http(s): network error.
    verdict = _blocked(_run(_request(), _redirect(location)))
    assert verdict.reason is BlockedReason.INVALID_REDIRECT
    assert verdict.failed_parameter == location
    assert why in verdict.steps[-1].text
    assert len(verdict.wire) == 1


# -- browser_verdict with recorded responses ------------------------------------------------------


def test_a_recording_that_ends_early_raises_missing_response() -> None:
    with pytest.raises(MissingResponse) as info:
        _run(_request())
    assert str(info.value) == (
        f"the browser sends an actual request (GET {API}) but no response was given for it"
    )
    assert info.value.wire.url == API
    assert not info.value.wire.is_preflight
    assert isinstance(info.value, LookupError)


def test_missing_response_names_a_missing_preflight() -> None:
    with pytest.raises(MissingResponse) as info:
        _run(_request(method="DELETE"))
    assert str(info.value) == (
        f"the browser sends a preflight (OPTIONS {API}) but no response was given for it"
    )
    assert info.value.wire.is_preflight


def test_missing_response_after_the_preflight() -> None:
    with pytest.raises(MissingResponse) as info:
        _run(_request(method="PUT"), _response(204, ACAO_ANY, ALLOW_PUT))
    assert info.value.wire.method == b"PUT"


def test_a_recording_with_leftovers_raises_unused_response() -> None:
    with pytest.raises(UnusedResponse) as info:
        _run(_request(), _response(200, ACAO_ANY), _response(200), _response(404))
    assert info.value.count == 2
    assert str(info.value) == "2 response(s) given but never requested by the browser"
    assert isinstance(info.value, LookupError)


def test_a_recording_consumed_exactly_gives_the_verdict() -> None:
    responses = [_response(204, ACAO_ANY, ALLOW_PUT), _response(200, ACAO_ANY)]
    result = browser_verdict(_request(method="PUT"), responses)
    assert result.verdict.allowed
    assert len(responses) == 2  # the caller's list is not consumed


def test_a_responder_function_sees_each_wire_request() -> None:
    seen: list[tuple[bool, bytes]] = []

    def responder(wire: WireRequest) -> RawResponse:
        seen.append((wire.is_preflight, wire.method))
        return _response(204 if len(seen) == 1 else 200, ACAO_ANY, ALLOW_PUT)

    result = browser_verdict(_request(method="PUT"), responder)
    assert result.verdict.allowed
    assert seen == [(True, b"OPTIONS"), (False, b"PUT")]


# -- needs_preflight (digest §4.9) ----------------------------------------------------------------

UA = ((b"User-Agent", b"bot/1"),)
CUSTOM: HeaderList = ((b"X-Custom", b"1"),)


@pytest.mark.parametrize(
    ("request_", "profile", "expected"),
    [
        (_request(method="PUT"), SPEC, True),
        (_request(), SPEC, False),
        (_request(method="post"), SPEC, False),  # normalized to POST: safelisted
        (_request(headers=CUSTOM), SPEC, True),
        (_request(use_cors_preflight=True), SPEC, True),
        (_request(method="PUT", unsafe_request=False), SPEC, False),
        # Same-origin: the basic path, no CORS at all (digest §5 step 2).
        (_request(PAGE + "/x", method="PUT", headers=CUSTOM), SPEC, False),
        # Not cors mode: no-cors never preflights; same-origin mode fails instead.
        (_request(mode=RequestMode.NO_CORS, headers=CUSTOM), SPEC, False),
        (_request(method="PUT", mode=RequestMode.SAME_ORIGIN), SPEC, False),
        # Quirk.USER_AGENT_DROPPED: Chromium drops a script-set User-Agent (digest §4.2).
        (_request(headers=UA), SPEC, True),
        (_request(headers=UA), CHROMIUM, False),
    ],
)
def test_needs_preflight(request_: BrowserRequest, profile: Profile, expected: bool) -> None:
    assert needs_preflight(request_, profile=profile) is expected
