"""The script a report gives for the browser console (``conformance.records.fetch_call``) makes,
in headless Chromium, the very requests the model judged: same preflight or none, same method,
same headers (what ``browser_check`` compares), for each shape of script it writes. A snippet
that made another request would send a maintainer after a divergence that is not there."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.browser_check.driver import (
    ChromiumDriver,
    chromium_available,
    playwright_available,
)
from conformance.browser_check.run import comparable_headers
from conformance.browser_check.server import Received, ScriptedServer
from conformance.records import fetch_call
from reference.browser import FetchResult, browser_verdict, fetch_steps
from reference.cache import EMPTY_CACHE
from reference.headers import HeaderList
from reference.origins import origin_of
from reference.profiles import CHROMIUM
from reference.request import BrowserRequest, CredentialsMode, HeadersApi
from reference.verdict import RawResponse, WireRequest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (chromium_available() and playwright_available()),
        reason="needs Debian's chromium and Playwright",
    ),
]

Make = Callable[[str, str], BrowserRequest]

CASES: dict[str, Make] = {
    # fetch(): a body given as bytes adds no Content-Type (a string body would).
    "fetch, a POST body and no Content-Type": lambda origin, url: BrowserRequest(
        origin=origin_of(origin), url=url, method="POST", body=b"plain text"
    ),
    "fetch, a custom header, bytes outside ASCII, credentials omit": lambda origin, url: (
        BrowserRequest(
            origin=origin_of(origin),
            url=url,
            method="PUT",
            headers=((b"X-Trace", b"1"),),
            body=b"a\xffb",
            credentials=CredentialsMode.OMIT,
        )
    ),
    "fetch, a repeated header kept as two lines": lambda origin, url: BrowserRequest(
        origin=origin_of(origin),
        url=url,
        headers=((b"X-A", b"1"), (b"X-A", b"2")),
    ),
    # XMLHttpRequest: upload listeners preflight a POST that is otherwise simple.
    "XHR, upload listeners (use-CORS-preflight flag)": lambda origin, url: BrowserRequest(
        origin=origin_of(origin),
        url=url,
        method="POST",
        body=b"x=1",
        use_cors_preflight=True,
        credentials=CredentialsMode.INCLUDE,
    ),
    "XHR, setRequestHeader combines a repeated name": lambda origin, url: BrowserRequest(
        origin=origin_of(origin),
        url=url,
        headers=((b"X-A", b"1"), (b"X-A", b"2")),
        headers_api=HeadersApi.XHR,
    ),
}


def _grant(origin: str, headers: HeaderList, *, preflight: bool) -> RawResponse:
    """Lets everything through: the test is about the requests, not the decision."""
    lines = [(b"Access-Control-Allow-Origin", origin.encode()), (b"Content-Length", b"0")]
    lines.append((b"Access-Control-Allow-Credentials", b"true"))
    if preflight:
        for name, value in headers:
            if name.lower() == b"access-control-request-method":
                lines.append((b"Access-Control-Allow-Methods", value))
            elif name.lower() == b"access-control-request-headers":
                lines.append((b"Access-Control-Allow-Headers", value))
    return RawResponse(status=200, headers=tuple(lines))


def _model_wire(request: BrowserRequest, origin: str) -> list[tuple[bool, str, object]]:
    steps = fetch_steps(request, profile=CHROMIUM)
    out = steps.first()
    wire = []
    while not isinstance(out, FetchResult):
        wire.append(out)
        out = steps.send(_grant(origin, out.headers, preflight=out.is_preflight))
    assert out.verdict.allowed, out.verdict
    return [(w.is_preflight, w.method.decode(), comparable_headers(w.headers)) for w in wire]


def _received(received: list[Received]) -> list[tuple[bool, str, object]]:
    return [(r.is_preflight, r.method.decode(), comparable_headers(r.headers)) for r in received]


def test_each_script_makes_the_requests_the_model_judged() -> None:
    with ScriptedServer() as server, ChromiumDriver(server.page_origin + "/") as driver:
        origin = server.page_origin

        def respond(_token: str, _step: int, received: Received) -> RawResponse:
            return _grant(origin, received.headers, preflight=received.is_preflight)

        for number, (name, make) in enumerate(CASES.items()):
            token = f"script{number}"
            server.register(token, respond)
            request = make(origin, f"{server.api_origin}/c/{token}/x")
            script = fetch_call(request)
            logged = driver.run_script(script)
            assert logged, (name, script)
            assert logged[0] != "timeout", (name, script)
            assert not logged[0].startswith("blocked"), (name, script, logged)
            assert _received(server.received(token)) == _model_wire(request, origin), (
                name,
                script,
            )


# The use-CORS-preflight flag, driven through XHR upload listeners (the differential harness
# drives fetch() only): sequences of flagged fetches to one URL, each preflight answered as
# given, the browser's preflight cache carried from one to the next.
FLAGGED: dict[str, tuple[list[str], HeaderList]] = {
    "no Allow-Methods, a safelisted method twice": (["POST", "POST"], ()),
    "no Allow-Methods, PUT": (["PUT"], ()),
    "no Allow-Methods, DELETE": (["DELETE"], ()),
    "Allow-Methods PUT, PUT twice": (["PUT", "PUT"], ((b"Access-Control-Allow-Methods", b"PUT"),)),
    "Allow-Methods *, PUT": (["PUT"], ((b"Access-Control-Allow-Methods", b"*"),)),
    "Allow-Methods GET, PUT": (["PUT"], ((b"Access-Control-Allow-Methods", b"GET"),)),
    "Allow-Methods PUT, POST then PUT": (
        ["POST", "PUT"],
        ((b"Access-Control-Allow-Methods", b"PUT"),),
    ),
}


def _always(response: RawResponse) -> Callable[[str, int, Received], RawResponse]:
    """The scripted server's responder: ``response`` to every request."""

    def respond(_token: str, _step: int, _received: Received) -> RawResponse:
        return response

    return respond


def _answers(response: RawResponse) -> Callable[[WireRequest], RawResponse]:
    """The model's responder: the same ``response`` to every request."""

    def answer(_wire: WireRequest) -> RawResponse:
        return response

    return answer


def test_flagged_requests_are_decided_as_chromium_decides() -> None:
    with ScriptedServer() as server, ChromiumDriver(server.page_origin + "/") as driver:
        origin = server.page_origin
        for number, (name, (methods, extra)) in enumerate(FLAGGED.items()):
            token = f"flagged{number}"
            response = RawResponse(
                status=200,
                headers=(
                    (b"Access-Control-Allow-Origin", origin.encode()),
                    (b"Content-Length", b"0"),
                    *extra,
                ),
            )
            server.register(token, _always(response))
            cache = EMPTY_CACHE
            model, browser = [], []
            for method in methods:
                request = BrowserRequest(
                    origin=origin_of(origin),
                    url=f"{server.api_origin}/c/{token}/",
                    method=method,
                    body=b"x",
                    use_cors_preflight=True,
                )
                answer = _answers(response)
                result = browser_verdict(request, answer, profile=CHROMIUM, cache=cache)
                cache = result.cache
                wire = [(w.is_preflight, w.method.decode()) for w in result.verdict.wire]
                model.append((result.verdict.allowed, wire))
                before = len(server.received(token))
                logged = driver.run_script(fetch_call(request))
                arrived = server.received(token)[before:]
                browser.append(
                    (
                        logged[0] not in ("blocked", "timeout"),
                        [(r.is_preflight, r.method.decode()) for r in arrived],
                    )
                )
            assert browser == model, name
