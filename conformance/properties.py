"""The properties: each a Hypothesis-driven check of the target against the policy.

Each property is built from a :class:`SuiteContext` into a zero-argument callable wrapped by
``hypothesis.given``; pytest runs them through ``conformance/test_suite.py``, and the zoo tests
call them directly. A property raises the first divergence an example shows, specialised by its
reason, so Hypothesis keeps distinct bugs apart and shrinks each one separately.
"""

from __future__ import annotations

import functools
import time
import tracemalloc
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TypeVar

from hypothesis import Phase, find, given, reject, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample, Unsatisfiable

from conformance import compare
from conformance import divergences as d
from conformance.context import SuiteContext
from conformance.divergences import Evidence, Exchange
from conformance.exchange import run_fetch, send_raw
from conformance.outcomes import NotApplicable, TimeBudgetExhausted
from conformance.targets import Target, in_process
from reference.browser import FetchResult, fetch_steps, needs_preflight
from reference.headers import get, strip_ows
from reference.origins import Origin, parse_serialized_origin, parse_url
from reference.policy import CorsPolicy
from reference.policy_eval import intended_verdict
from reference.profiles import Profile
from reference.request import BrowserRequest, CredentialsMode
from reference.verdict import Allowed, WireRequest
from strategies import cors_requests, hostile_requests, near_miss_origins, origins, policy_origins

Check = Callable[[], None]
T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Property:
    name: str
    description: str
    build: Callable[[SuiteContext], Check]


_SPECIALISED: dict[tuple[str, str], type[d.Divergence]] = {}


def _specialised(cls: type[d.Divergence], reason: str) -> type[d.Divergence]:
    """A subclass per (kind, reason): Hypothesis tells failures apart by exception type."""
    key = (cls.__qualname__, reason)
    if key not in _SPECIALISED:
        safe = "".join(ch if ch.isalnum() else "_" for ch in reason)[:60]
        _SPECIALISED[key] = type(f"{cls.__name__}__{safe}", (cls,), {"__module__": cls.__module__})
    return _SPECIALISED[key]


def found(ctx: SuiteContext, div: d.Divergence) -> d.Divergence:
    """Count an occurrence and return the divergence as its reason-specific subclass."""
    ctx.occurrences[div.dedup_key] += 1
    special = _specialised(type(div), div.reason)
    out = special.__new__(special)
    out.__dict__.update(div.__dict__)
    out.args = div.args
    return out


def _check_deadline(ctx: SuiteContext) -> None:
    if ctx.deadline is not None and time.monotonic() > ctx.deadline:
        raise TimeBudgetExhausted(
            f"the time budget ran out after {ctx.cases_sent} requests; "
            "the rest of this property was not run"
        )


def suite_given(ctx: SuiteContext, *strategies: st.SearchStrategy[object]) -> Callable[..., Check]:
    def wrap(fn: Callable[..., None]) -> Check:
        @functools.wraps(fn)
        def body(*args: object, **kwargs: object) -> None:
            _check_deadline(ctx)
            try:
                fn(*args, **kwargs)
            except NotApplicable:
                # The transport cannot carry this case: not a divergence, not a pass either;
                # counted, and Hypothesis draws another example.
                ctx.not_applicable += 1
                reject()

        test = ctx.settings(given(*strategies)(body))
        if ctx.seed is not None:
            test = seed(ctx.seed)(test)
        return test

    return wrap


def batches(ctx: SuiteContext, strategy: st.SearchStrategy[T]) -> st.SearchStrategy[list[T]]:
    """Up to ``ctx.cases_per_example`` distinct cases per example: Hypothesis's own work per
    example is shared by the cases of a batch. Shrinking deletes list elements first, so a
    failure still shrinks to the one case that shows it, which then shrinks as it would alone.
    Distinct, because Hypothesis's mutations (copying one part of an example over another with
    the same label) would otherwise fill most batches with copies of one case."""
    size = ctx.cases_per_example
    if size == 1:
        return strategy.map(_one)  # the same choices as the bare strategy
    return st.lists(strategy, min_size=1, max_size=size, unique=True)


def _one(case: T) -> list[T]:
    return [case]


def each_case(ctx: SuiteContext, cases: Iterable[T], check: Callable[[T], bool | None]) -> None:
    """Check every case of a batch in turn; the first divergence ends the example (raised by
    ``check``). ``check`` returns ``False`` for a case its property does not apply to (skipped);
    a case the transport cannot carry is counted and skipped. A batch with no case checked is
    rejected, as a single case would be."""
    checked = False
    for index, case in enumerate(cases):
        if index:
            _check_deadline(ctx)  # checked before each case of a batch, not only each example
        try:
            applies = check(case)
        except NotApplicable:
            ctx.not_applicable += 1
            continue
        checked = checked or applies is not False
    if not checked:
        reject()


def _allowed_origins(ctx: SuiteContext) -> st.SearchStrategy[Origin]:
    """Origins the policy allows; any origin for a policy that allows none (then the property
    still runs, and every grant is a divergence)."""
    if not _allows_some_origin(ctx.policy):
        return origins()
    return policy_origins(ctx.policy)


def _allows_some_origin(policy: CorsPolicy) -> bool:
    return bool(policy.allow_origins or policy.allow_origin_patterns) or any(
        rule.rules.allow_origins or rule.rules.allow_origin_patterns for rule in policy.paths
    )


def _requests(ctx: SuiteContext) -> st.SearchStrategy[BrowserRequest]:
    return cors_requests(policy=ctx.policy, base_url=ctx.target.base_url, paths=ctx.paths)


def _fetch(ctx: SuiteContext, request: BrowserRequest) -> Exchange:
    ctx.cases_sent += 1
    return run_fetch(ctx.target, request)


def _refetch(ctx: SuiteContext, request: BrowserRequest) -> Callable[[Profile], Exchange]:
    """Fetch ``request`` as another browser would (for engines whose quirks change the wire)."""

    def refetch(profile: Profile) -> Exchange:
        ctx.cases_sent += 1
        return run_fetch(ctx.target, request, profile=profile)

    return refetch


def _decision(ctx: SuiteContext, request: BrowserRequest) -> None:
    exchange = _fetch(ctx, request)
    div = compare.judge(ctx.policy, exchange, refetch=_refetch(ctx, request))
    if div is not None:
        raise found(ctx, div)


# -- decision properties -----------------------------------------------------------------------
def _simple_decision(ctx: SuiteContext, request: BrowserRequest) -> bool:
    if needs_preflight(request):
        return False
    _decision(ctx, request)
    return True


def _preflighted_decision(ctx: SuiteContext, request: BrowserRequest) -> bool:
    if not needs_preflight(request):
        return False
    _decision(ctx, request)
    return True


# The properties below that take part of what cors_requests draws skip the rest of a batch
# rather than filter the strategy: a filter that misses three times in a row throws the whole
# example away, which in a batch of several cases would be most examples.
def simple_requests(ctx: SuiteContext) -> Check:
    @suite_given(ctx, batches(ctx, _requests(ctx)))
    def simple_requests(requests: list[BrowserRequest]) -> None:
        each_case(ctx, requests, lambda request: _simple_decision(ctx, request))

    return simple_requests


def preflighted_requests(ctx: SuiteContext) -> Check:
    @suite_given(ctx, batches(ctx, _requests(ctx)))
    def preflighted_requests(requests: list[BrowserRequest]) -> None:
        # Also "a granted preflight implies a granted actual request": judge() reports a
        # passed preflight followed by a failed actual request as its own kind.
        each_case(ctx, requests, lambda request: _preflighted_decision(ctx, request))

    return preflighted_requests


def credentials_modes(ctx: SuiteContext) -> Check:
    @suite_given(ctx, _requests(ctx))
    def credentials_modes(request: BrowserRequest) -> None:
        for mode in (CredentialsMode.OMIT, CredentialsMode.SAME_ORIGIN, CredentialsMode.INCLUDE):
            for cookie in (None, b"session=cors-conformance"):
                variant = replace(request, credentials=mode, cookie=cookie)
                _decision(ctx, variant)

    return credentials_modes


def exposed_headers(ctx: SuiteContext) -> Check:
    def check(case: tuple[BrowserRequest, Origin]) -> None:
        request, origin = case
        variant = replace(request, origin=origin)  # an origin the policy allows, mostly
        exchange = _fetch(ctx, variant)
        div = compare.judge(ctx.policy, exchange, refetch=_refetch(ctx, variant))
        if isinstance(div, d.HeaderExposedAgainstPolicy | d.ExposedHeaderHidden):
            raise found(ctx, div)

    @suite_given(ctx, batches(ctx, st.tuples(_requests(ctx), _allowed_origins(ctx))))
    def exposed_headers(cases: list[tuple[BrowserRequest, Origin]]) -> None:
        each_case(ctx, cases, check)

    return exposed_headers


# -- response hygiene (non-strict) -------------------------------------------------------------
def _hygiene(ctx: SuiteContext, kinds: tuple[type[d.Divergence], ...], name: str) -> Check:
    def check_one(request: BrowserRequest) -> None:
        exchange = _fetch(ctx, request)
        if not compare.is_cross_origin(exchange):
            return
        for div in compare.hygiene(ctx.policy, exchange, kinds):
            raise found(ctx, div)

    @suite_given(ctx, batches(ctx, _requests(ctx)))
    def check(requests: list[BrowserRequest]) -> None:
        each_case(ctx, requests, check_one)

    check.__name__ = check.__qualname__ = name
    return check


def credentials_header_hygiene(ctx: SuiteContext) -> Check:
    return _hygiene(ctx, (d.CredentialsToRefusedOrigin,), "credentials_header_hygiene")


def private_network_hygiene(ctx: SuiteContext) -> Check:
    return _hygiene(ctx, (d.PrivateNetworkGrantedUnasked,), "private_network_hygiene")


def header_grammar(ctx: SuiteContext) -> Check:
    return _hygiene(ctx, (d.MalformedCorsHeader,), "header_grammar")


# -- Vary, differential --------------------------------------------------------------------------
def actual_wire(request: BrowserRequest) -> WireRequest | None:
    """The actual request a browser sends for a simple request (no preflight)."""
    steps = fetch_steps(request)
    first = steps.first()
    steps.close()
    if isinstance(first, FetchResult):  # ended before sending anything
        return None
    return None if first.is_preflight else first


def vary_probes(target: Target, wire: WireRequest, other_origin: bytes) -> list[Exchange]:
    """The same request as sent, from ``other_origin``, and with no Origin."""
    return [
        send_raw(target, wire),
        send_raw(target, compare.with_origin(wire, other_origin)),
        send_raw(target, compare.without_origin(wire)),
    ]


def vary_origin(ctx: SuiteContext) -> Check:
    others = st.one_of(_allowed_origins(ctx), near_miss_origins(ctx.policy))

    def check(case: tuple[BrowserRequest, Origin]) -> bool:
        request, other = case
        if needs_preflight(request):
            return False
        wire = actual_wire(request)
        if wire is None or get(wire.headers, b"origin") is None:
            return True
        probes = vary_probes(ctx.target, wire, other.serialize().encode())
        ctx.cases_sent += 3
        div = compare.vary_divergence(probes)
        if div is not None:
            raise found(ctx, div)
        return True

    @suite_given(ctx, batches(ctx, st.tuples(_requests(ctx), others)))
    def vary_origin(cases: list[tuple[BrowserRequest, Origin]]) -> None:
        each_case(ctx, cases, check)

    return vary_origin


def no_origin_requests(ctx: SuiteContext) -> Check:
    def check(case: tuple[BrowserRequest, Origin]) -> bool:
        request, origin = case
        if request.method.upper() not in ("GET", "HEAD"):
            return False
        wire = actual_wire(replace(request, origin=origin, headers=()))
        if wire is None:
            return True
        with_origin = send_raw(ctx.target, wire)
        plain = send_raw(ctx.target, compare.without_origin(wire))
        ctx.cases_sent += 2
        ok = with_origin.pairs[0][1].status
        status = plain.pairs[0][1].status
        if ok < 400 <= status:
            raise found(
                ctx,
                d.NoOriginRequestRefused(
                    Evidence(
                        summary=(
                            f"without Origin the target answers {status}; with Origin "
                            f"{get(wire.headers, b'origin')!r} it answers {ok}"
                        ),
                        exchanges=(plain, with_origin),
                    ),
                    reason=str(status // 100) + "xx",
                ),
            )
        return True

    @suite_given(ctx, batches(ctx, st.tuples(_requests(ctx), _allowed_origins(ctx))))
    def no_origin_requests(cases: list[tuple[BrowserRequest, Origin]]) -> None:
        each_case(ctx, cases, check)

    return no_origin_requests


# -- state ---------------------------------------------------------------------------------------
def decision_key(exchange: Exchange) -> str:
    if exchange.result is None:
        return "preflight passed; actual request not sent"
    verdict = exchange.result.verdict
    if isinstance(verdict, Allowed):
        return f"allowed:{b','.join(verdict.visible_header_names).decode('latin-1')}"
    return f"blocked:{verdict.reason}"


def _consistency(
    ctx: SuiteContext,
    first: Exchange,
    again: Exchange,
    *,
    plain: type[d.Divergence],
    insecure: type[d.Divergence],
    what: str,
) -> None:
    if decision_key(first) == decision_key(again):
        return
    grants = [compare.judge(ctx.policy, ex) for ex in (first, again)]
    cls = insecure if any(g is not None and g.grade is d.Grade.INSECURE for g in grants) else plain
    raise found(
        ctx,
        cls(
            Evidence(
                summary=f"{what}: {decision_key(first)} then {decision_key(again)}",
                exchanges=(first, again),
            ),
            reason="decision",
        ),
    )


def history_independence(ctx: SuiteContext) -> Check:
    # unique: Hypothesis's mutations would otherwise fill the list with copies of one request
    @suite_given(ctx, _requests(ctx), st.lists(_requests(ctx), min_size=1, max_size=4, unique=True))
    def history_independence(request: BrowserRequest, others: list[BrowserRequest]) -> None:
        first = _fetch(ctx, request)
        for other in others:
            _fetch(ctx, other)
        again = _fetch(ctx, request)
        _consistency(
            ctx,
            first,
            again,
            plain=d.DecisionDependsOnHistory,
            insecure=d.InsecureDecisionDependsOnHistory,
            what=f"the same request decided differently after {len(others)} other request(s)",
        )

    return history_independence


def determinism(ctx: SuiteContext) -> Check:
    def check(request: BrowserRequest) -> None:
        first = _fetch(ctx, request)
        again = _fetch(ctx, request)
        _consistency(
            ctx,
            first,
            again,
            plain=d.DecisionNotDeterministic,
            insecure=d.InsecureDecisionNotDeterministic,
            what="the same request sent twice in a row",
        )

    @suite_given(ctx, batches(ctx, _requests(ctx)))
    def determinism(requests: list[BrowserRequest]) -> None:
        each_case(ctx, requests, check)

    return determinism


# -- hostile input (robustness) -------------------------------------------------------------------
def hostile_input(ctx: SuiteContext) -> Check:
    def check(wire: WireRequest) -> None:
        exchange = send_raw(ctx.target, wire)
        ctx.cases_sent += 1
        response = exchange.pairs[0][1]
        if response.status >= 500:
            raise found(
                ctx,
                d.ServerErrorOnHostileInput(
                    Evidence(
                        summary=f"the target answers {response.status} to this request",
                        exchanges=(exchange,),
                    ),
                    reason=f"{response.status // 100}xx",
                ),
            )
        grant = hostile_grant(ctx, wire, exchange)
        if grant is not None:
            raise found(ctx, grant)

    @suite_given(
        ctx,
        batches(
            ctx, hostile_requests(policy=ctx.policy, base_url=ctx.target.base_url, paths=ctx.paths)
        ),
    )
    def hostile_input(wires: list[WireRequest]) -> None:
        each_case(ctx, wires, check)

    return hostile_input


def hostile_grant(ctx: SuiteContext, wire: WireRequest, exchange: Exchange) -> d.Divergence | None:
    origins = [v for n, v in wire.headers if n.lower() == b"origin"]
    if len(origins) != 1:
        return None
    sent = strip_ows(origins[0])
    response = exchange.pairs[0][1]
    acao = get(
        tuple((n, strip_ows(v)) for n, v in response.headers), b"access-control-allow-origin"
    )
    if acao is None or acao != sent:
        return None
    parsed = parse_serialized_origin(sent)
    if parsed is not None:
        probe = BrowserRequest(origin=parsed, url=wire.url)
        if intended_verdict(ctx.policy, probe).origin_allowed:
            return None
    elif _any_origin(ctx, wire.url):
        return None  # the policy allows any origin: echoing whatever came is intended
    return d.HostileGrant(
        Evidence(
            summary=(
                f"Origin {sent.decode('latin-1')!r} is not an origin the policy allows, but the "
                "target echoes it in Access-Control-Allow-Origin"
            ),
            exchanges=(exchange,),
        ),
        reason="echo",
    )


def _any_origin(ctx: SuiteContext, url: str) -> bool:
    path = parse_url(url).path_query.split("?", 1)[0]
    return "*" in ctx.policy.rules_for_path(path).origins


# -- scaling ---------------------------------------------------------------------------------------
SCALING_SIZES = (250, 500, 1000, 2000, 4000)


def header_list_scaling(ctx: SuiteContext) -> Check:
    """Not Hypothesis-driven: a measurement. A preflight whose Access-Control-Request-Headers
    lists n names; if time grows faster than linearly (ratio of the largest to the size-scaled
    smallest above 4 and the largest above 50 ms), the target parses it superlinearly. For an
    in-process target the memory it allocates per request is measured too (tracemalloc's peak):
    above 4x linear growth and 20 MB for the largest list, its memory balloons."""

    def header_list_scaling() -> None:
        url = ctx.target.base_url + ctx.paths[0]
        origin = _some_allowed_origin(ctx, ctx.paths[0])
        timings: dict[int, float] = {}
        memory: dict[int, int] = {}
        measure_memory = in_process(ctx.target)  # wrappers (progress, recording) looked through
        exchanges = []
        for n in SCALING_SIZES:
            names = b",".join(b"x-h%d" % i for i in range(n))
            wire = WireRequest(
                is_preflight=True,
                method=b"OPTIONS",
                url=url,
                headers=(
                    (b"Accept", b"*/*"),
                    (b"Access-Control-Request-Method", b"GET"),
                    (b"Access-Control-Request-Headers", names),
                    (b"Origin", origin),
                ),
                credentials=False,
            )
            best = float("inf")
            for _ in range(3):
                started = time.perf_counter()
                exchange = send_raw(ctx.target, wire)
                best = min(best, time.perf_counter() - started)
            timings[n] = best
            exchanges.append(exchange)
            ctx.cases_sent += 3
            if measure_memory:
                memory[n] = _peak_allocation(ctx, wire)
        small, large = SCALING_SIZES[0], SCALING_SIZES[-1]
        expected = timings[small] * (large / small)
        ratio = timings[large] / expected if expected > 0 else 0.0
        if timings[large] > 0.05 and ratio > 4:
            shown = ", ".join(f"{n}: {t * 1000:.1f} ms" for n, t in timings.items())
            raise found(
                ctx,
                d.SuperlinearHeaderParsing(
                    Evidence(
                        summary=(
                            f"time per preflight by Access-Control-Request-Headers length: "
                            f"{shown}; {ratio:.1f}x what linear growth predicts"
                        ),
                        exchanges=(exchanges[0],),
                        extra={"timings_ms": {n: t * 1000 for n, t in timings.items()}},
                    ),
                    reason="acrh",
                ),
            )

        if not memory:
            return
        grown = memory[large] / (memory[small] * (large / small)) if memory[small] else 0.0
        if memory[large] > 20 * 2**20 and grown > 4:
            shown = ", ".join(f"{n}: {b / 2**20:.1f} MB" for n, b in memory.items())
            raise found(
                ctx,
                d.SuperlinearHeaderParsing(
                    Evidence(
                        summary=(
                            "memory allocated per preflight by Access-Control-Request-Headers "
                            f"length: {shown}; {grown:.1f}x what linear growth predicts"
                        ),
                        exchanges=(exchanges[0],),
                        extra={"peak_bytes": dict(memory)},
                    ),
                    reason="memory",
                ),
            )

    return header_list_scaling


def _peak_allocation(ctx: SuiteContext, wire: WireRequest) -> int:
    """Peak bytes allocated while an in-process target answers ``wire``."""
    tracemalloc.start()
    try:
        send_raw(ctx.target, wire)
        ctx.cases_sent += 1
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _some_allowed_origin(ctx: SuiteContext, path: str) -> bytes:
    """An origin the policy allows on ``path``, so the target parses the header list instead of
    refusing the origin first: a listed origin, else one a pattern matches, else any."""
    effective = ctx.policy.rules_for_path(path)
    listed = sorted(o for o in effective.origins if o not in ("*", "null"))
    if listed:
        return listed[0].encode()
    for pattern in effective.allow_origin_patterns:
        try:
            found = find(
                st.from_regex(pattern, fullmatch=True),
                lambda text: parse_serialized_origin(text) is not None,
                settings=settings(database=None, max_examples=500, phases=[Phase.generate]),
            )
        except (NoSuchExample, Unsatisfiable):
            continue
        return found.encode()
    return b"https://cors-conformance.example"  # any origin: "*" or nothing allowed


PROPERTIES: tuple[Property, ...] = (
    Property(
        name="simple_requests",
        description="Requests a browser sends without a preflight",
        build=simple_requests,
    ),
    Property(
        name="preflighted_requests",
        description=(
            "Preflight then actual request; a granted preflight implies a granted actual request"
        ),
        build=preflighted_requests,
    ),
    Property(
        name="credentials_modes",
        description="Each request under omit, same-origin and include, with and without a cookie",
        build=credentials_modes,
    ),
    Property(
        name="exposed_headers",
        description="Which response headers script can read",
        build=exposed_headers,
    ),
    Property(
        name="vary_origin",
        description=(
            "Vary: Origin wherever CORS headers depend on Origin (same request, two origins, none)"
        ),
        build=vary_origin,
    ),
    Property(
        name="no_origin_requests",
        description="Requests without Origin are served normally",
        build=no_origin_requests,
    ),
    Property(
        name="history_independence",
        description="A decision does not depend on earlier requests",
        build=history_independence,
    ),
    Property(
        name="determinism",
        description="The same request gets the same decision every time",
        build=determinism,
    ),
    Property(
        name="credentials_header_hygiene",
        description="No Access-Control-Allow-Credentials to refused origins",
        build=credentials_header_hygiene,
    ),
    Property(
        name="private_network_hygiene",
        description="No Access-Control-Allow-Private-Network unasked",
        build=private_network_hygiene,
    ),
    Property(
        name="header_grammar",
        description="CORS response headers follow their grammar",
        build=header_grammar,
    ),
    Property(
        name="hostile_input",
        description="Hostile input: no 5xx, and no grant the policy forbids",
        build=hostile_input,
    ),
    Property(
        name="header_list_scaling",
        description="Time per preflight grows at most linearly with Access-Control-Request-Headers",
        build=header_list_scaling,
    ),
)
PROPERTY_BY_NAME = {p.name: p for p in PROPERTIES}
