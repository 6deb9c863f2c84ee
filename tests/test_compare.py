"""The comparison's shortcuts must never change a verdict."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.compare import (
    CORS_RESPONSE_HEADERS,
    QUIRK_TRIGGERS,
    cors_signature,
    quirks_in_play,
    vary_covers_origin,
    vary_divergence,
)
from conformance.divergences import Divergence, Exchange
from conformance.exchange import rejudge
from reference.browser import browser_verdict
from reference.origins import origin_of
from reference.profiles import CHROMIUM, FIREFOX, SPEC, WEBKIT, Profile, Quirk
from reference.request import BrowserRequest, CredentialsMode
from reference.verdict import RawResponse, WireRequest


def test_every_quirk_has_a_trigger() -> None:
    assert set(QUIRK_TRIGGERS) == set(Quirk)


header_names = st.sampled_from(
    [
        b"X-A",
        b"x-a",
        b"Authorization",
        b"Range",
        b"User-Agent",
        b"DPR",
        b"Content-Type",
        b"Accept",
        b"Width",
    ]
)
header_values = st.sampled_from(
    [
        b"1",
        b"bytes=0-",
        b"BYTES=0-",
        b"text/plain",
        b"a b",
        b"",
        b"bytes=0-9223372036854775807",
        b"bytes=9223372036854775806-",
        b"Bytes=1-9223372036854775808",
        b"bytes=0-999999999999999999",
    ]
)
# Besides the engines: a profile per quirk, so each trigger is checked alone (a quirk no engine
# has today included).
ONE_QUIRK = tuple(
    Profile(name=f"only-{quirk.name}", quirks=frozenset({quirk}), max_age_cap=None, evidence="")
    for quirk in Quirk
)
acao = st.sampled_from([b"*", b"https://page.example", b"null", b"https://page.example, *"])
lists = st.sampled_from([b"*", b"x-a", b"authorization", b"", b"PUT, x-a", b"bad value", b"*, PUT"])


@st.composite
def responses(draw: st.DrawFn) -> RawResponse:
    headers: list[tuple[bytes, bytes]] = []
    if draw(st.booleans()):
        headers.append((b"Access-Control-Allow-Origin", draw(acao)))
    if draw(st.booleans()):
        headers.append((b"Access-Control-Allow-Credentials", b"true"))
    for name in (
        b"Access-Control-Allow-Methods",
        b"Access-Control-Allow-Headers",
        b"Access-Control-Expose-Headers",
    ):
        for _ in range(draw(st.integers(0, 2))):
            headers.append((name, draw(lists)))
    headers.append((b"X-A", b"1"))
    return RawResponse(status=draw(st.sampled_from([200, 204, 400])), headers=tuple(headers))


def _page_request(
    method: str,
    headers: list[tuple[bytes, bytes]],
    credentials: CredentialsMode,
    *,
    flagged: bool = False,
) -> BrowserRequest:
    return BrowserRequest(
        origin=origin_of("https://page.example"),
        url="https://api.example/r",
        method=method,
        headers=tuple(headers),
        credentials=credentials,
        # The use-CORS-preflight flag comes with a body (XHR upload listeners, a stream).
        body=b"x" if flagged else None,
        use_cors_preflight=flagged,
    )


@settings(max_examples=300)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "patch"]),
    headers=st.lists(st.tuples(header_names, header_values), max_size=3),
    credentials=st.sampled_from(list(CredentialsMode)),
    preflight=responses(),
    actual=responses(),
    flagged=st.booleans(),
)
def test_engines_without_quirks_in_play_decide_as_the_spec(
    *,
    method: str,
    headers: list[tuple[bytes, bytes]],
    credentials: CredentialsMode,
    preflight: RawResponse,
    actual: RawResponse,
    flagged: bool,
) -> None:
    request = _page_request(method, headers, credentials, flagged=flagged)
    pairs: list[tuple[WireRequest, RawResponse]] = []

    def responder(wire: WireRequest) -> RawResponse:
        response = preflight if wire.is_preflight else actual
        pairs.append((wire, response))
        return response

    spec = browser_verdict(request, responder, profile=SPEC)
    exchange = Exchange(request=request, pairs=tuple(pairs), result=spec)
    in_play = quirks_in_play(exchange)
    for engine in (CHROMIUM, FIREFOX, WEBKIT, *ONE_QUIRK):
        if engine.quirks & in_play:
            continue
        result = rejudge(exchange, engine)
        assert result is not None, f"{engine.name} would have sent other requests"
        assert result.verdict.allowed == spec.verdict.allowed
        assert getattr(result.verdict, "reason", None) == getattr(spec.verdict, "reason", None)
        assert getattr(result.verdict, "visible_header_names", None) == getattr(
            spec.verdict, "visible_header_names", None
        )


@settings(max_examples=300)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "patch"]),
    headers=st.lists(st.tuples(header_names, header_values), max_size=3),
    credentials=st.sampled_from(list(CredentialsMode)),
    answers=st.tuples(responses(), responses()),  # to the preflight, to the actual request
    redirect=st.booleans(),
)
def test_rejudging_by_calls_decides_as_the_traced_model(
    method: str,
    headers: list[tuple[bytes, bytes]],
    credentials: CredentialsMode,
    answers: tuple[RawResponse, RawResponse],
    redirect: bool,
) -> None:
    # rejudge() without a trace drives fetch_steps (what a run calls); with one, the stepwise
    # model. Same recording, same profile: the same result, or None from both (the engine would
    # have sent requests the recording lacks, or left some unanswered).
    preflight, actual = answers
    request = _page_request(method, headers, credentials)
    # A redirect (answering the first actual request) hands the fast path over to the
    # stepwise model.
    moved = actual._replace(
        status=307, headers=(*actual.headers, (b"Location", b"https://api.example/s"))
    )
    pairs: list[tuple[WireRequest, RawResponse]] = []

    def responder(wire: WireRequest) -> RawResponse:
        if wire.is_preflight:
            response = preflight
        elif redirect and wire.url.endswith("/r"):
            response = moved
        else:
            response = actual
        pairs.append((wire, response))
        return response

    spec = browser_verdict(request, responder, profile=SPEC)
    exchange = Exchange(request=request, pairs=tuple(pairs), result=spec)
    for engine in (SPEC, CHROMIUM, FIREFOX, WEBKIT, *ONE_QUIRK):
        fast = rejudge(exchange, engine)
        traced = rejudge(exchange, engine, trace=True)
        if traced is None:
            assert fast is None, engine.name
            continue
        assert fast is not None, engine.name
        assert fast.verdict == traced.verdict._replace(steps=()), engine.name
        assert fast.cache == traced.cache


def test_hygiene_findings_on_one_exchange_share_the_policy_intent() -> None:
    # hygiene() works out the policy's intent on first need and reuses it: two findings on one
    # response carry the same rule and steps, and a response to a request without Origin is
    # skipped.
    from conformance.compare import hygiene
    from reference.policy import CorsPolicy

    policy = CorsPolicy(allow_origins=("https://page.example",))
    request = BrowserRequest(origin=origin_of("https://evil.example"), url="https://api.example/r")
    sent = WireRequest(
        is_preflight=False,
        method=b"GET",
        url="https://api.example/r",
        headers=((b"Origin", b"https://evil.example"),),
        credentials=False,
    )
    unsent = sent._replace(headers=())
    response = RawResponse(
        status=200,
        headers=(
            (b"Access-Control-Allow-Origin", b"https://page.example"),
            (b"Access-Control-Allow-Credentials", b"true"),
            (b"Access-Control-Expose-Headers", b"a b"),
        ),
    )
    exchange = Exchange(request=request, pairs=((unsent, response), (sent, response)), result=None)
    found = hygiene(policy, exchange)
    assert [f.kind for f in found] == [
        "credentials-header-to-refused-origin",
        "malformed-cors-header",
    ]
    rules = {f.evidence.policy_rule for f in found}
    assert rules == {"allow_origins"}
    first, second = (tuple(f.evidence.policy_steps) for f in found)
    assert first == second
    assert first[-1].startswith("so the policy refuses")


@settings(max_examples=200)
@given(
    preflight=st.booleans(),
    origin=st.sampled_from([b"https://page.example", b"https://evil.example"]),
    asked_private=st.booleans(),
    answer=responses(),
    extra=st.lists(
        st.sampled_from(
            [
                (b"Access-Control-Allow-Private-Network", b"true"),
                (b"Access-Control-Max-Age", b"10"),
                (b"Access-Control-Max-Age", b"+10"),
                (b"Access-Control-Allow-Credentials", b"false"),
            ]
        ),
        max_size=3,
    ),
)
def test_hygiene_for_some_kinds_finds_those_of_all_kinds(
    preflight: bool,
    origin: bytes,
    asked_private: bool,
    answer: RawResponse,
    extra: list[tuple[bytes, bytes]],
) -> None:
    # A hygiene property asks only for its own kind: the same findings, in the same order, as
    # all kinds' filtered to it.
    from conformance.compare import HYGIENE_KINDS, hygiene
    from reference.policy import CorsPolicy

    policy = CorsPolicy(allow_origins=("https://page.example",), allow_private_network=True)
    request = BrowserRequest(origin=origin_of(origin.decode()), url="https://api.example/r")
    headers = [(b"Origin", origin)]
    if asked_private:
        headers.append((b"Access-Control-Request-Private-Network", b"true"))
    wire = WireRequest(
        is_preflight=preflight,
        method=b"OPTIONS" if preflight else b"GET",
        url="https://api.example/r",
        headers=tuple(headers),
        credentials=False,
    )
    response = answer._replace(headers=(*answer.headers, *extra))
    exchange = Exchange(request=request, pairs=((wire, response),), result=None)

    def shown(found: list[Divergence]) -> list[tuple[str, str, str]]:
        return [(f.kind, f.reason, f.evidence.summary) for f in found]

    every = hygiene(policy, exchange)
    assert shown(hygiene(policy, exchange, HYGIENE_KINDS)) == shown(every)
    for kind in HYGIENE_KINDS:
        wanted = [f for f in every if isinstance(f, kind)]
        assert shown(hygiene(policy, exchange, (kind,))) == shown(wanted)


def _old_signature(response: RawResponse) -> tuple[bytes | None, ...]:
    # cors_signature before it read the memoized index: strip OWS, then get each header.
    from reference.headers import get, strip_ows

    headers = tuple((n, strip_ows(v)) for n, v in response.headers)
    return tuple(get(headers, name) for name in CORS_RESPONSE_HEADERS)


signature_headers = st.lists(
    st.tuples(
        st.sampled_from(
            [
                b"Access-Control-Allow-Origin",
                b"access-control-allow-origin",
                b"Vary",
                b"X-A",
                b"Access-Control-Allow-Credentials",
                b"ACCESS-CONTROL-EXPOSE-HEADERS",
            ]
        ),
        st.sampled_from([b"*", b" https://a.example\t", b"true", b"", b"Origin", b"x, y"]),
    ),
    max_size=5,
).map(tuple)


@settings(max_examples=200)
@given(st.lists(st.tuples(signature_headers, st.booleans()), min_size=1, max_size=3))
def test_vary_divergence_reads_each_probe_once_and_as_before(
    probes: list[tuple[tuple[tuple[bytes, bytes], ...], bool]],
) -> None:
    exchanges = []
    for number, (headers, with_origin) in enumerate(probes):
        sent = ((b"Origin", b"https://p%d.example" % number),) if with_origin else ()
        wire = WireRequest(False, b"GET", "https://api.example/r", sent, False)
        response = RawResponse(status=200, headers=headers)
        assert cors_signature(response) == _old_signature(response)
        exchanges.append(Exchange(request=None, pairs=((wire, response),), result=None))
    div = vary_divergence(exchanges)
    # The rule, read literally: a response without Vary: Origin whose CORS headers differ from
    # those of another probe that carried an Origin.
    expected = any(
        not vary_covers_origin(a.pairs[0][1])
        and any(
            b is not a
            and b.pairs[0][0].headers
            and _old_signature(b.pairs[0][1]) != _old_signature(a.pairs[0][1])
            for b in exchanges
        )
        for a in exchanges
    )
    assert (div is not None) == expected


@settings(max_examples=60, deadline=None)
@given(
    method=st.sampled_from(["GET", "PUT"]),
    headers=st.lists(st.tuples(header_names, header_values), max_size=3),
    credentials=st.sampled_from(list(CredentialsMode)),
)
def test_engines_that_send_the_same_requests_share_one_refetch(
    method: str, headers: list[tuple[bytes, bytes]], credentials: CredentialsMode
) -> None:
    # Every engine combines a repeated request header, so when the spec's recording lacks their
    # requests they may all send the same other ones: judge() refetches for the first and
    # rejudges that recording for the others. Each engine's result so found is the one its own
    # fetch gets, and judge() refetches once for each distinct sequence of requests at most.
    from conformance.compare import _engine_result, judge
    from conformance.exchange import run_fetch
    from conformance.servers.reference import asgi_app
    from conformance.targets import AsgiTarget
    from reference.policy import CorsPolicy

    policy = CorsPolicy(
        allow_origins=("https://page.example",),
        allow_methods=("GET", "PUT"),
        allow_headers=("x-a", "authorization"),
        allow_credentials=True,
    )
    target = AsgiTarget(asgi_app(policy))
    request = BrowserRequest(
        origin=origin_of("https://page.example"),
        url=f"{target.base_url}/r",
        method=method,
        headers=(*headers, (b"X-A", b"2"), (b"x-a", b"3")),  # a repeated name, at least
        credentials=credentials,
    )
    exchange = run_fetch(target, request)
    own = {p.name: run_fetch(target, request, profile=p) for p in (CHROMIUM, FIREFOX, WEBKIT)}
    for profile in (CHROMIUM, FIREFOX, WEBKIT):
        for other in own.values():
            found, result = _engine_result(exchange, [other], profile)
            if result is not None:
                assert result == own[profile.name].result
                assert found.result == result
    made: list[str] = []

    def refetch(profile: Profile) -> Exchange:
        made.append(profile.name)
        return run_fetch(target, request, profile=profile)

    judge(policy, exchange, refetch=refetch)
    sequences = {tuple(w for w, _ in ex.pairs) for ex in own.values()}
    assert len(made) <= len(sequences)
    target.close()
