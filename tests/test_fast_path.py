"""The trace-free path (reference.fast) decides exactly as the stepwise model does.

``simulate_fetch(trace=False)`` runs :mod:`reference.fast`, which takes the common path in
straight-line code and hands the rest to the stepwise model. Its verdicts are what every run of
the suite judges by, so they are checked against the stepwise model (with tracing off, so that
the two results compare whole): on every pinned case under every profile, and on generated
requests, responses, profiles and preflight caches.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference import fast
from reference.browser import (
    FetchResult,
    MissingResponse,
    Simulation,
    UnusedResponse,
    _stepwise,
    _stepwise_needs_preflight,
    browser_verdict,
    fetch_steps,
    needs_preflight,
    simulate_fetch,
)
from reference.cache import EMPTY_CACHE, PreflightCache
from reference.explain import parse_request, parse_response
from reference.fast import Steps
from reference.origins import OpaqueOrigin
from reference.profiles import PROFILES, Profile, Quirk
from reference.request import (
    BrowserRequest,
    CredentialsMode,
    HeadersApi,
    RedirectMode,
    RequestMode,
)
from reference.verdict import RawResponse, WireRequest
from strategies.policies import policies
from strategies.requests import cors_requests

CASES_DIR = Path(__file__).parent / "cases"
# Two profiles no browser ships, so that every quirk's branch is compared too: Private Network
# Access alone (its fetches are handed over), and every quirk at once.
PNA = Profile(
    name="pna",
    quirks=frozenset({Quirk.PRIVATE_NETWORK_ACCESS}),
    max_age_cap=7200,
    evidence="tests: Private Network Access on",
)
EVERY_QUIRK = Profile(
    name="every-quirk",
    quirks=frozenset(Quirk),
    max_age_cap=600,
    evidence="tests: every quirk at once",
)
ALL_PROFILES = (*PROFILES.values(), PNA, EVERY_QUIRK)

Outcome = tuple[str, Any]


def _drive(simulation: Simulation, responses: Sequence[RawResponse]) -> Outcome:
    """Feed ``responses`` in order; the wire requests the browser sent and how it ended."""
    sent: list[WireRequest] = []
    queue = list(responses)
    try:
        wire = next(simulation)
        while True:
            sent.append(wire)
            if not queue:
                return ("missing response", tuple(sent))
            wire = simulation.send(queue.pop(0))
    except StopIteration as stop:
        result: FetchResult = stop.value
    return ("result", (result, tuple(sent), len(queue)))


def _both(
    request: BrowserRequest,
    responses: Sequence[RawResponse],
    profile: Profile,
    cache: PreflightCache = EMPTY_CACHE,
    now: float = 0.0,
) -> tuple[Outcome, Outcome]:
    stepwise = _drive(_stepwise(request, profile, cache, now, False), responses)
    # browser_verdict on recorded responses takes reference.fast without its generator.
    assert _recorded(request, responses, profile, cache, now) == _as_recorded(stepwise)
    quick = _drive(
        simulate_fetch(request, profile=profile, cache=cache, now=now, trace=False), responses
    )
    # fetch_steps (what a run calls) is the same fetch without the generator.
    steps = fetch_steps(request, profile=profile, cache=cache, now=now)
    assert _drive_steps(steps, responses) == quick
    return stepwise, quick


def _drive_steps(steps: Steps, responses: Sequence[RawResponse]) -> Outcome:
    """:func:`_drive` for :func:`reference.browser.fetch_steps`."""
    sent: list[WireRequest] = []
    queue = list(responses)
    out = steps.first()
    while not isinstance(out, FetchResult):
        sent.append(out)
        if not queue:
            return ("missing response", tuple(sent))
        out = steps.send(queue.pop(0))
    return ("result", (out, tuple(sent), len(queue)))


def _recorded(
    request: BrowserRequest,
    responses: Sequence[RawResponse],
    profile: Profile,
    cache: PreflightCache,
    now: float,
) -> tuple[object, ...]:
    try:
        result = browser_verdict(
            request, responses, profile=profile, cache=cache, now=now, trace=False
        )
    except MissingResponse:
        return ("missing response",)
    except UnusedResponse as unused:
        return ("unused responses", unused.count)
    return ("result", result)


def _as_recorded(outcome: Outcome) -> tuple[object, ...]:
    if outcome[0] != "result":
        return ("missing response",)
    result, _, left = outcome[1]
    return ("unused responses", left) if left else ("result", result)


# -- pinned cases -------------------------------------------------------------------------------


def _pinned() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(CASES_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for case in data["cases"] if isinstance(data, dict) else data:
            out.append((case["id"], case["input"]))
    return out


def _responses(doc: dict[str, Any]) -> list[RawResponse]:
    if "hops" in doc:
        return [r for hop in doc["hops"] for r in _responses(hop)]
    return [parse_response(doc[key], key) for key in ("preflight", "response") if key in doc]


@pytest.mark.parametrize("profile", ALL_PROFILES, ids=lambda p: p.name)
def test_every_pinned_case_is_decided_alike(profile: Profile) -> None:
    checked = 0
    for case_id, doc in _pinned():
        fetches = doc.get("fetches", [doc])
        cache = EMPTY_CACHE
        for item in fetches:
            request = parse_request(item["request"])
            now = float(item.get("at", 0))
            stepwise, quick = _both(request, _responses(item), profile, cache, now)
            assert quick == stepwise, case_id
            if stepwise[0] != "result":
                break
            cache = stepwise[1][0].cache
            checked += 1
    assert checked >= 200


def test_the_fast_path_takes_the_common_fetch() -> None:
    # Not a vacuous comparison: the usual cross-origin fetch is decided by reference.fast
    # itself (the stepwise model is never started), and a redirect is handed over.
    (request_id, doc), *_ = [
        (i, d) for i, d in _pinned() if "preflight" in d and "response" in d and "hops" not in d
    ]
    request = parse_request(doc["request"])
    started: list[bool] = []

    def stepwise() -> Simulation:
        started.append(True)
        return _stepwise(request, PROFILES["spec"], EMPTY_CACHE, 0.0, False)

    outcome = _drive(
        fast.fast_simulation(request, PROFILES["spec"], EMPTY_CACHE, 0.0, stepwise),
        _responses(doc),
    )
    assert outcome[0] == "result", request_id
    assert started == []


# -- generated fetches --------------------------------------------------------------------------

_STATUSES = st.sampled_from([200, 200, 204, 204, 206, 301, 302, 303, 307, 308, 400, 404, 500])
_LISTS = st.sampled_from(
    [
        b"*",
        b"GET, POST",
        b"PUT",
        b"put",
        b"DELETE, PATCH, PUT",
        b"content-type, x-api-key",
        b"X-Api-Key",
        b"authorization",
        b"*, authorization",
        b"",
        b" , ,",
        b"a b",
        b"x-\x00",
        b"content-type,x-custom,X-Other",
        b"GET,  PUT ,DELETE",
    ]
)
_MAX_AGES = st.sampled_from([b"600", b"0", b"-1", b"+5", b"86400", b"abc", b"", b"5, 6"])


@st.composite
def _responses_for(draw: st.DrawFn, request: BrowserRequest) -> RawResponse:
    """A response of the kind a server sends to this request: right and wrong CORS headers."""
    origin = request.origin.serialize().encode()
    headers: list[tuple[bytes, bytes]] = []
    acao = draw(
        st.sampled_from(
            [
                origin,
                origin,
                origin,
                b"*",
                b"null",
                b"https://other.example",
                origin.upper(),
                origin + b"/",
                origin + b", " + origin,
                None,
                b"not a url",
            ]
        )
    )
    if acao is not None:
        name = draw(
            st.sampled_from([b"Access-Control-Allow-Origin", b"access-control-allow-origin"])
        )
        headers.append((name, draw(st.sampled_from([acao, b" " + acao + b" ", acao]))))
        if draw(st.booleans()) and draw(st.booleans()):
            headers.append((b"Access-Control-Allow-Origin", acao))  # a duplicate line
    acac = draw(st.sampled_from([b"true", b"true", b"TRUE", b"false", None]))
    if acac is not None:
        headers.append((b"Access-Control-Allow-Credentials", acac))
    for name in (
        b"Access-Control-Allow-Methods",
        b"Access-Control-Allow-Headers",
        b"Access-Control-Expose-Headers",
    ):
        for _ in range(draw(st.integers(0, 2))):
            headers.append((name, draw(_LISTS)))
    if draw(st.booleans()):
        headers.append((b"Access-Control-Max-Age", draw(_MAX_AGES)))
    status = draw(_STATUSES)
    if status in (301, 302, 303, 307, 308) and draw(st.booleans()):
        headers.append(
            (
                b"Location",
                draw(
                    st.sampled_from(
                        [
                            b"/next",
                            b"https://elsewhere.example/x",
                            b"http://[bad",
                            b"ftp://x.example/",
                        ]
                    )
                ),
            )
        )
    extra = [
        (b"Content-Type", b"text/plain"),
        (b"X-Request-Id", b"7"),
        (b"Set-Cookie", b"a=b"),
        (b"Cache-Control", b"no-store"),
        (b"X-Custom", b"1"),
        (b"Vary", b"Origin"),
    ]
    headers.extend(draw(st.lists(st.sampled_from(extra), max_size=4)))
    return RawResponse(status=status, headers=tuple(draw(st.permutations(headers))))


@st.composite
def _fetches(draw: st.DrawFn) -> tuple[BrowserRequest, list[RawResponse], Profile]:
    policy = draw(policies(allow_paths=False))
    request = draw(cors_requests(policy=policy, base_url="https://api.example"))
    variation = draw(st.integers(0, 9))
    if variation == 0:
        request = replace(request, mode=draw(st.sampled_from(list(RequestMode))))
    elif variation == 1:
        request = replace(request, redirect=draw(st.sampled_from(list(RedirectMode))))
    elif variation == 2:
        request = replace(request, headers_api=HeadersApi.XHR)
    elif variation == 3:
        request = replace(request, unsafe_request=False)
    elif variation == 4:
        request = replace(request, origin=OpaqueOrigin())
    elif variation == 5:
        request = replace(request, origin=request.parsed_url.origin)  # same-origin
    responses = draw(st.lists(_responses_for(request), min_size=1, max_size=3))
    return request, responses, draw(st.sampled_from(ALL_PROFILES))


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(_fetches())
def test_generated_fetches_are_decided_alike(
    fetch: tuple[BrowserRequest, list[RawResponse], Profile],
) -> None:
    request, responses, profile = fetch
    stepwise, quick = _both(request, responses, profile)
    assert quick == stepwise
    assert needs_preflight(request, profile=profile) is _stepwise_needs_preflight(request, profile)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(_fetches(), st.data())
def test_a_second_fetch_with_a_cache_is_decided_alike(
    fetch: tuple[BrowserRequest, list[RawResponse], Profile], data: st.DataObject
) -> None:
    # The cache the first fetch leaves behind (the stepwise model's), then a second fetch of a
    # related request some seconds later: the fast path hands a live cache over whole.
    request, responses, profile = fetch
    stepwise, quick = _both(request, responses, profile)
    assert quick == stepwise
    if stepwise[0] != "result":
        return
    cache = stepwise[1][0].cache
    later = data.draw(st.sampled_from([0.0, 3.0, 5.0, 600.0, 7201.0]))
    again = data.draw(st.sampled_from([request, replace(request, method="GET", body=None)]))
    more = data.draw(st.lists(_responses_for(again), min_size=1, max_size=2))
    second_stepwise, second_quick = _both(again, more, profile, cache, later)
    assert second_quick == second_stepwise


def test_an_empty_expose_headers_line_voids_the_list_where_a_profile_says_so() -> None:
    # The one quirk no pinned case reaches under a shipped profile (Chromium 156 no longer has
    # it), decided by the fast path itself.
    voids = Profile(
        name="voids",
        quirks=frozenset({Quirk.EXPOSE_HEADERS_EMPTY_LINE_VOIDS}),
        max_age_cap=None,
        evidence="tests",
    )
    request = BrowserRequest(origin=OpaqueOrigin(), url="https://api.example/")
    response = RawResponse(
        status=200,
        headers=(
            (b"Access-Control-Allow-Origin", b"null"),
            (b"Access-Control-Expose-Headers", b""),
            (b"Access-Control-Expose-Headers", b"x-a"),
            (b"X-A", b"1"),
            (b"Content-Type", b"text/plain"),
        ),
    )
    for profile in (voids, PROFILES["spec"]):
        stepwise, quick = _both(request, [response], profile)
        assert quick == stepwise
        assert quick[0] == "result"
        result = quick[1][0]
        visible = result.verdict.visible_header_names
        assert (b"x-a" in visible) is (profile.name == "spec")


def test_a_replay_that_sends_other_requests_raises() -> None:
    # The hand-over feeds the stepwise model the responses already received and checks that it
    # asks for the same requests; a disagreement is a bug and stops the run.
    request = BrowserRequest(origin=OpaqueOrigin(), url="https://api.example/")
    wrong = WireRequest(
        is_preflight=True, method=b"OPTIONS", url="x", headers=(), credentials=False
    )
    replay = fast._replayed(
        _stepwise(request, PROFILES["spec"], EMPTY_CACHE, 0.0, False),
        [wrong],
        [RawResponse(status=200, headers=())],
    )
    with pytest.raises(AssertionError, match="the fast path sent"):
        next(replay)


# -- memos ----------------------------------------------------------------------------------------


_ORIGIN = b"https://app.example"
_PREFLIGHT = RawResponse(
    status=204,
    headers=(
        (b"Access-Control-Allow-Origin", _ORIGIN),
        (b"Access-Control-Allow-Methods", b"PUT"),
        (b"Access-Control-Allow-Headers", b"*"),
        (b"Access-Control-Max-Age", b"60"),
    ),
)
_ACTUAL = RawResponse(
    status=200,
    headers=(
        (b"Access-Control-Allow-Origin", _ORIGIN),
        (b"Access-Control-Expose-Headers", b"x-a"),
        (b"X-A", b"1"),
    ),
)
_PUT = BrowserRequest(
    origin=parse_request({"origin": _ORIGIN.decode(), "url": "https://api.example/x"}).origin,
    url="https://api.example/x",
    method="PUT",
)


def test_a_response_judged_before_is_judged_again_by_what_it_answers() -> None:
    # reference.fast memoizes a response's judgment on the response and the values of the fetch
    # it answers: the same response answering another origin, credentials mode, method, header
    # list or profile must not get the verdict remembered for the first (each compared with the
    # stepwise model after the memo already holds the others).
    base = parse_request({"origin": _ORIGIN.decode(), "url": "https://api.example/x"})
    requests = [
        base,
        replace(base, origin=parse_request({"origin": "https://b.example", "url": "x:"}).origin),
        replace(base, credentials=CredentialsMode.INCLUDE),
        replace(base, method="PUT"),
        replace(base, method="DELETE"),
        replace(base, method="PUT", headers=((b"X-Key", b"1"),)),
        replace(base, method="PUT", headers=((b"Authorization", b"k"),)),
        replace(
            base, method="PUT", headers=((b"X-Key", b"1"),), credentials=CredentialsMode.INCLUDE
        ),
    ]
    outcomes = []
    for _ in range(2):  # the second round is decided from the memos the first one filled
        for request in requests:
            for profile in ALL_PROFILES:
                stepwise, quick = _both(request, [_PREFLIGHT, _ACTUAL], profile)
                assert quick == stepwise
                outcomes.append(quick)
    assert len({repr(o) for o in outcomes}) > 4  # not one verdict for all


def test_the_fetch_after_needs_preflight_takes_only_its_own_plan() -> None:
    # needs_preflight keeps the run it planned for the fetch of the same request object with
    # the same profile; another request, an equal copy or another profile plans its own.
    request, responses, spec = _PUT, [_PREFLIGHT, _ACTUAL], PROFILES["spec"]
    for other in (replace(request, method="GET"), replace(request), request):
        for profile in (spec, PROFILES["chromium"]):
            assert needs_preflight(request) is _stepwise_needs_preflight(request, spec)
            stepwise = _drive(_stepwise(other, profile, EMPTY_CACHE, 0.0, False), responses)
            quick = _drive(simulate_fetch(other, profile=profile, trace=False), responses)
            assert quick == stepwise
    # Taken at most once: a second fetch of the request plans anew, with its own time.
    assert needs_preflight(request)
    first = _drive(simulate_fetch(request, trace=False), responses)
    again = _drive(simulate_fetch(request, now=50.0, trace=False), responses)
    assert again == _drive(_stepwise(request, spec, EMPTY_CACHE, 50.0, False), responses)
    assert first != again  # the cache the preflight left expires later
