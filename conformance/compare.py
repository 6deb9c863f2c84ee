"""The comparison: what a browser does with the target's responses against what the policy
intends. Every divergence traces to a spec step (the browser side) and a policy rule.

Decisions are compared, not header bytes: two servers may answer with different but equivalent
headers. The browser side is judged under the ``spec`` profile and, on the same recorded
responses, under each engine profile; where they disagree the grade says so (see ``judge``).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import NamedTuple

from conformance import divergences as d
from conformance.divergences import Evidence, Exchange
from conformance.exchange import rejudge
from conformance.outcomes import NotApplicable
from reference.browser import FetchResult
from reference.grammar import DELTA_SECONDS
from reference.headers import (
    FAILURE,
    HeaderIndex,
    HeaderList,
    get,
    header_names,
    strip_ows,
)
from reference.lazy import LazySteps
from reference.origins import same_origin
from reference.policy import CorsPolicy
from reference.policy_eval import Intended, intended_verdict
from reference.profiles import CHROMIUM, FIREFOX, SPEC, WEBKIT, Profile, Quirk
from reference.request import BrowserRequest
from reference.safelist import (
    CLIENT_HINT_HEADERS,
    CORS_SAFELISTED_RESPONSE_HEADER_NAMES,
    is_cors_safelisted_method,
    normalize_method,
)
from reference.verdict import Allowed, Blocked, RawResponse, WireRequest

ENGINE_PROFILES: tuple[Profile, ...] = (CHROMIUM, FIREFOX, WEBKIT)

# Response headers that no exposure policy is about: the CORS headers themselves, transport
# and caching plumbing, and what browsers never expose.
NOT_APPLICATION_HEADERS = frozenset(
    {
        b"vary",
        b"date",
        b"server",
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"set-cookie",
        b"set-cookie2",
        b"x-cors-conformance-app-exception",
    }
)


def is_cross_origin(exchange: Exchange) -> bool:
    request = exchange.request
    return request is not None and not same_origin(request.origin, request.parsed_url.origin)


def final_response(exchange: Exchange) -> RawResponse | None:
    actual = [resp for wire, resp in exchange.pairs if not wire.is_preflight]
    return actual[-1] if actual else None


def _steps(exchange: Exchange, result: FetchResult, profile: Profile) -> Sequence[str]:
    """The model's steps for this exchange: re-run with tracing (runs skip it for speed) when
    first read, as only the divergences a run reports are ever read."""

    def traced() -> tuple[str, ...]:
        steps = result.verdict.steps
        if not steps:
            again = rejudge(exchange, profile, trace=True)
            steps = again.verdict.steps if again is not None else ()
        return tuple(f"{s.text} [{s.spec_ref}]" for s in steps)

    return LazySteps(traced)


def _evidence(
    summary: str, exchange: Exchange, result: FetchResult, intended: Intended, profile: Profile
) -> Evidence:
    return Evidence(
        summary=summary,
        exchanges=(exchange,),
        browser_steps=_steps(exchange, result, profile),
        policy_steps=intended.steps,
        profile=profile.name,
        policy_rule=intended.rule,
    )


def decide(
    intended: Intended, result: FetchResult, exchange: Exchange, profile: Profile
) -> d.Divergence | None:
    """The decision divergence, if any, of one browser profile's verdict against the intent."""
    verdict = result.verdict
    origin = exchange.request.origin.serialize() if exchange.request else "?"

    def ev(summary: str) -> Evidence:
        return _evidence(summary, exchange, result, intended, profile)

    if isinstance(verdict, Allowed):
        if verdict.response_type != "cors":
            return None
        if not intended.origin_allowed:
            return d.OriginGrantedAgainstPolicy(
                ev(f"script on {origin} can read the response, but {intended.rule} refuses it"),
                reason="origin",
            )
        if not intended.credentials_allowed:
            return d.CredentialedReadAgainstPolicy(
                ev(
                    f"a credentialed request from {origin} can be read, but {intended.rule} "
                    "does not allow credentials"
                ),
                reason="credentials",
            )
        if not intended.method_allowed:
            return d.MethodGrantedAgainstPolicy(
                ev(
                    f"method {exchange.request.method if exchange.request else '?'} is granted, "
                    f"but {intended.rule} does not list it"
                ),
                reason="method",
            )
        if not intended.headers_allowed:
            names = ", ".join(n.decode("latin-1") for n in intended.disallowed_headers)
            return d.HeaderGrantedAgainstPolicy(
                ev(f"request header(s) {names} granted, but {intended.rule} does not list them"),
                reason="header",
            )
        return _exposure(intended, verdict, exchange, ev)
    if intended.allowed:
        actual_sent = any(not w.is_preflight for w in verdict.wire)
        if verdict.preflighted and actual_sent and not verdict.reason.is_preflight:
            return d.PreflightActualMismatch(
                ev(f"the preflight passed, then the actual response failed: {verdict.reason}"),
                reason=verdict.reason.value,
                spec_ref=verdict.spec_ref,
            )
        return d.AllowedRequestBlocked(
            ev(
                f"the policy allows this request from {origin}, but the browser blocks it: "
                f"{verdict.reason}"
            ),
            reason=verdict.reason.value,
            spec_ref=verdict.spec_ref,
        )
    actual_sent = any(not w.is_preflight for w in verdict.wire)
    if verdict.preflighted and actual_sent:
        return d.PreflightGrantedAgainstPolicy(
            ev(
                f"the preflight passed and the browser sent the actual request, but "
                f"{intended.rule} "
                "refuses it (the response stays unreadable; the side effects happen)"
            ),
            reason=intended.rule.split("[", 1)[0].split(" ", 1)[0],
        )
    return None


def _exposure(
    intended: Intended, verdict: Allowed, exchange: Exchange, make: Callable[[str], Evidence]
) -> d.Divergence | None:
    response = final_response(exchange)
    if response is None:
        return None
    visible = set(verdict.visible_header_names)
    present = [
        n
        for n in header_names(response.headers)
        if n not in NOT_APPLICATION_HEADERS and not n.startswith(b"access-control-")
    ]
    exposed = intended.exposed
    for name in sorted(visible):
        if name in CORS_SAFELISTED_RESPONSE_HEADER_NAMES or exposed is None or name in exposed:
            continue
        if name in NOT_APPLICATION_HEADERS or name.startswith(b"access-control-"):
            continue
        return d.HeaderExposedAgainstPolicy(
            make(
                f"script can read response header {name.decode('latin-1')!r}, which "
                "expose_headers does not list"
            ),
            reason="expose",
        )
    for name in present:
        wanted = exposed is None or name in exposed
        if wanted and name not in visible:
            return d.ExposedHeaderHidden(
                make(f"the policy exposes {name.decode('latin-1')!r} but script cannot read it"),
                reason="expose",
            )
    return None


def _has_header(headers: Iterable[tuple[bytes, bytes]], names: Collection[bytes]) -> bool:
    return any(n.lower() in names for n, _ in headers)


def _acah_wildcard(exchange: Exchange) -> bool:
    for wire, response in exchange.pairs:
        if wire.is_preflight:
            values = [
                v for n, v in response.headers if n.lower() == b"access-control-allow-headers"
            ]
            if any(strip_ows(item) == b"*" for v in values for item in v.split(b",")):
                return True
    return False


def _preflight_without_methods(exchange: Exchange) -> bool:
    """A preflight answered with no ``Access-Control-Allow-Methods`` line (the spec then takes
    a flagged request's method as granted)."""
    return any(
        wire.is_preflight
        and not any(n.lower() == b"access-control-allow-methods" for n, _ in response.headers)
        for wire, response in exchange.pairs
    )


def _empty_expose_line(exchange: Exchange) -> bool:
    for _, response in exchange.pairs:
        lines = [v for n, v in response.headers if n.lower() == b"access-control-expose-headers"]
        if len(lines) > 1 and any(not strip_ows(line) for line in lines):
            return True
    return False


def _range_values(headers: Iterable[tuple[bytes, bytes]]) -> list[bytes]:
    return [v for n, v in headers if n.lower() == b"range"]


def _range_with_uppercase(request: BrowserRequest) -> bool:
    # RANGE_CASE_INSENSITIVE lowercases the value before parsing it: a value without an
    # uppercase letter parses the same either way.
    return any(v != v.lower() for v in _range_values(request.headers))


# RANGE_POSITIONS_BELOW_INT64_MAX refuses a position at or above 2**63 - 1 (19 digits): a value
# with no run of 19 digits has none, whichever way it parses.
_NINETEEN_DIGITS = re.compile(rb"[0-9]{19}")


def _range_with_huge_position(request: BrowserRequest) -> bool:
    return any(_NINETEEN_DIGITS.search(v) for v in _range_values(request.headers))


def _duplicate_names(request: BrowserRequest) -> bool:
    names = [n.lower() for n, _ in request.headers]
    return len(names) != len(set(names))


# When can a quirk change the verdict of one exchange (fresh preflight cache)? One entry per
# quirk: tests/test_compare.py checks the table names every Quirk, so a new quirk cannot be
# silently ignored here.
QUIRK_TRIGGERS: dict[Quirk, Callable[[BrowserRequest, Exchange], bool]] = {
    Quirk.AUTHORIZATION_COVERED_BY_WILDCARD: lambda r, ex: (
        _has_header(r.headers, {b"authorization"}) and _acah_wildcard(ex)
    ),
    # Max-Age and the cache's `*` matching change only later fetches, never this exchange.
    Quirk.MAX_AGE_NEGATIVE_NOT_CACHED: lambda _r, _ex: False,
    Quirk.MAX_AGE_INVALID_NOT_CACHED: lambda _r, _ex: False,
    Quirk.MAX_AGE_LEADING_PLUS: lambda _r, _ex: False,
    Quirk.PREFLIGHT_CACHE_WILDCARD_EXACT: lambda _r, _ex: False,
    Quirk.PREFLIGHT_CACHE_ONE_RESULT_PER_URL: lambda _r, _ex: False,
    Quirk.FLAGGED_SAFELISTED_METHOD_NEEDS_NO_ENTRY: lambda _r, _ex: False,
    Quirk.COMBINE_DUPLICATE_REQUEST_HEADERS: lambda r, _ex: _duplicate_names(r),
    Quirk.CLIENT_HINT_HEADERS_SAFELISTED: lambda r, _ex: _has_header(
        r.headers, CLIENT_HINT_HEADERS
    ),
    Quirk.RANGE_CASE_INSENSITIVE: lambda r, _ex: _range_with_uppercase(r),
    Quirk.RANGE_POSITIONS_BELOW_INT64_MAX: lambda r, _ex: _range_with_huge_position(r),
    Quirk.USER_AGENT_DROPPED: lambda r, _ex: _has_header(r.headers, {b"user-agent"}),
    Quirk.EXPOSE_HEADERS_EMPTY_LINE_VOIDS: lambda _r, ex: _empty_expose_line(ex),
    Quirk.PRIVATE_NETWORK_ACCESS: lambda r, _ex: r.private_network,
    # Only a method that is not safelisted, and only where no Access-Control-Allow-Methods
    # line came (an empty line is an empty list, which grants nothing in the spec either).
    Quirk.FLAGGED_METHOD_NOT_IMPLIED: lambda r, ex: (
        r.use_cors_preflight
        and not is_cors_safelisted_method(normalize_method(r.method.encode("latin-1", "replace")))
        and _preflight_without_methods(ex)
    ),
}


def quirks_in_play(exchange: Exchange) -> frozenset[Quirk]:
    """The quirks that could make an engine decide this exchange differently from the spec."""
    request = exchange.request
    if request is None:
        return frozenset()
    return frozenset(q for q, trigger in QUIRK_TRIGGERS.items() if trigger(request, exchange))


def judge(
    policy: CorsPolicy,
    exchange: Exchange,
    *,
    refetch: Callable[[Profile], Exchange] | None = None,
) -> d.Divergence | None:
    """The decision divergence of one exchange, graded across browser profiles.

    The ``spec`` profile decides, unless the engines (judged on the same recorded responses)
    differ from it: if every engine agrees on another outcome, that outcome is reported (it is
    what users get); if the engines disagree among themselves, or only the spec diverges, the
    divergence is informational.

    An engine whose quirks make it send requests the recording lacks (the spec blocked at the
    preflight, the engine goes on to the actual request) is judged on its own exchange, made
    with ``refetch``; without ``refetch`` such an engine is left out.
    """
    request, result = exchange.request, exchange.result
    if request is None or not is_cross_origin(exchange):
        return None
    intended = intended_verdict(policy, request, profile=SPEC)
    if result is None:
        return _partial(intended, exchange)
    spec_div = decide(intended, result, exchange, SPEC)
    engines: dict[str, d.Divergence | None] = {}
    in_play = quirks_in_play(exchange)
    refetched: list[Exchange] = []
    for profile in ENGINE_PROFILES:
        if not profile.quirks & in_play:
            # No quirk of this engine bears on this exchange: its verdict is the spec's.
            engines[profile.name] = spec_div
            continue
        engine_exchange, engine_result = _engine_result(exchange, refetched, profile)
        if engine_result is None and refetch is not None:
            engine_exchange = refetch(profile)
            engine_result = engine_exchange.result
            refetched.append(engine_exchange)
        if engine_result is None:
            continue
        engine_intended = intended_verdict(policy, request, profile=profile)
        engines[profile.name] = decide(engine_intended, engine_result, engine_exchange, profile)
    if not engines:
        return spec_div

    def kind(div: d.Divergence | None) -> str | None:
        return None if div is None else div.kind

    engine_kinds = {kind(div) for div in engines.values()}
    if engine_kinds == {kind(spec_div)}:
        return spec_div
    if len(engine_kinds) == 1 and (common := next(iter(engines.values()))) is not None:
        return common
    table = {"spec": kind(spec_div)} | {name: kind(div) for name, div in engines.items()}
    shown = ", ".join(f"{name}: {k or 'no divergence'}" for name, k in table.items())
    base = spec_div or next(div for div in engines.values() if div is not None)
    return d.BrowsersDisagree(
        Evidence(
            summary=f"browsers differ on this exchange ({shown})",
            exchanges=(exchange,),
            browser_steps=base.evidence.browser_steps,
            policy_steps=base.evidence.policy_steps,
            profile=base.evidence.profile,
            policy_rule=base.evidence.policy_rule,
            extra={"outcomes": table},
        ),
        reason=f"{kind(spec_div)}|" + "|".join(f"{n}={k}" for n, k in sorted(table.items())),
        spec_ref=base.spec_ref,
    )


def _engine_result(
    exchange: Exchange, refetched: Sequence[Exchange], profile: Profile
) -> tuple[Exchange, FetchResult | None]:
    """An engine's result on a recording that holds every request it sends: the spec's
    exchange, else one an engine before it was refetched with (engines that combine a
    repeated request header all send the same combined one, and the target answers them
    alike: one refetch, not three). The exchange returned carries the engine's result, as a
    refetched one does."""
    for recorded in (exchange, *refetched):
        result = rejudge(recorded, profile)
        if result is not None:
            return dataclasses.replace(recorded, result=result), result
    return exchange, None


def _partial(intended: Intended, exchange: Exchange) -> d.Divergence | None:
    """An exchange the suite stopped before the actual request (not sent, for safety): the
    preflight passed. That alone diverges when the policy refuses the request; otherwise the
    actual request is not checked, which is not-applicable, never a pass."""
    refused = exchange.refused
    assert refused is not None
    if not intended.allowed:
        return d.PreflightGrantedAgainstPolicy(
            Evidence(
                summary=(
                    f"the preflight passed, so a browser would send {refused.method.decode()} "
                    f"{refused.url}, but {intended.rule} refuses it (the suite did not send it)"
                ),
                exchanges=(exchange,),
                policy_steps=intended.steps,
                policy_rule=intended.rule,
            ),
            reason=intended.rule.split("[", 1)[0].split(" ", 1)[0],
        )
    raise NotApplicable(
        f"the actual request ({refused.method.decode()}) was not sent to this target; "
        "pass --allow-unsafe to check it"
    )


HYGIENE_KINDS: tuple[type[d.Divergence], ...] = (
    d.CredentialsToRefusedOrigin,
    d.PrivateNetworkGrantedUnasked,
    d.MalformedCorsHeader,
)


def hygiene(
    policy: CorsPolicy,
    exchange: Exchange,
    kinds: Collection[type[d.Divergence]] = HYGIENE_KINDS,
) -> list[d.Divergence]:
    """Non-strict findings on the raw responses: no effect in today's browsers, but wrong.
    Only findings of ``kinds`` (of :data:`HYGIENE_KINDS`) are looked for: each hygiene property
    reports one kind, and a finding's evidence costs the policy's intent."""
    found: list[d.Divergence] = []
    credentials = d.CredentialsToRefusedOrigin in kinds
    private_network = d.PrivateNetworkGrantedUnasked in kinds
    grammar = d.MalformedCorsHeader in kinds
    request = exchange.request
    # The policy's intent is needed only for a finding's evidence or a private network grant:
    # worked out then, once.
    decided: list[Intended | None] = []

    def intended() -> Intended | None:
        if not decided:
            decided.append(intended_verdict(policy, request) if request is not None else None)
        return decided[0]

    def evidence(summary: str) -> Evidence:
        intent = intended()
        return Evidence(
            summary=summary,
            exchanges=(exchange,),
            policy_steps=intent.steps if intent else (),
            policy_rule=intent.rule if intent else None,
        )

    for wire, response in exchange.pairs:
        origin = get(wire.headers, b"origin")
        if origin is None:
            continue
        acao, acac, acapn, malformed, max_age = _response_facts(response.headers)
        if credentials and acac is not None and acao not in (origin, b"*"):
            found.append(
                d.CredentialsToRefusedOrigin(
                    evidence(
                        f"Access-Control-Allow-Credentials: {acac.decode('latin-1')} is sent to "
                        f"{origin.decode('latin-1')}, which the response does not allow "
                        f"(Access-Control-Allow-Origin: {_show(acao)})",
                    ),
                    reason="acac",
                )
            )
        if (
            private_network
            and acapn == b"true"
            and not (  # `false` grants nothing
                (asked := get(wire.headers, b"access-control-request-private-network") == b"true")
                and (intent := intended()) is not None
                and intent.allow_private_network
            )
        ):
            why = (
                "the preflight did not ask for it" if not asked else "the policy does not allow it"
            )
            found.append(
                d.PrivateNetworkGrantedUnasked(
                    evidence(
                        "Access-Control-Allow-Private-Network: "
                        f"{acapn.decode('latin-1')} is sent, but "
                        f"{why}",
                    ),
                    reason="acapn",
                )
            )
        if not grammar:
            continue
        for name, value in malformed:
            found.append(
                d.MalformedCorsHeader(
                    evidence(
                        f"{name.decode()}: {_show(value)} is not a comma-separated "
                        "list of tokens (browsers then ignore all of it)",
                    ),
                    reason=name.decode(),
                )
            )
        if wire.is_preflight and max_age and (len(max_age) > 1 or not _delta_seconds(max_age[0])):
            found.append(
                d.MalformedCorsHeader(
                    evidence(
                        f"Access-Control-Max-Age: {_show(b', '.join(max_age))} is not "
                        "delta-seconds "
                        "(browsers disagree on what it then means)",
                    ),
                    reason="access-control-max-age",
                    spec_ref="https://fetch.spec.whatwg.org/#http-access-control-max-age",
                )
            )
    return found


class _ResponseFacts(NamedTuple):
    """What :func:`hygiene` reads of a response, whatever request it answered: the values of
    Access-Control-Allow-Origin, -Allow-Credentials and -Allow-Private-Network (OWS-stripped,
    lines combined), each list header (-Allow-Methods, -Allow-Headers, -Expose-Headers) that
    does not parse with its value, and every Access-Control-Max-Age line."""

    acao: bytes | None
    acac: bytes | None
    acapn: bytes | None
    malformed: tuple[tuple[bytes, bytes | None], ...]
    max_age: tuple[bytes, ...]


_LIST_HEADERS = (
    b"access-control-allow-methods",
    b"access-control-allow-headers",
    b"access-control-expose-headers",
)


@functools.lru_cache(maxsize=1024)
def _response_facts(headers: HeaderList) -> _ResponseFacts:
    """Memoized (a pure function of the header list): a run's targets give the same few
    responses again and again. Bounded, so a response that differs every time (a Date header)
    keeps memory flat."""
    _, index = HeaderIndex.received(headers)
    return _ResponseFacts(
        acao=index.get(b"access-control-allow-origin"),
        acac=index.get(b"access-control-allow-credentials"),
        acapn=index.get(b"access-control-allow-private-network"),
        malformed=tuple(
            (name, index.get(name)) for name in _LIST_HEADERS if index.extract(name) is FAILURE
        ),
        max_age=index.get_all(b"access-control-max-age"),
    )


def _delta_seconds(value: bytes) -> bool:
    return DELTA_SECONDS.fullmatch(value) is not None


def _show(value: bytes | None) -> str:
    return "(absent)" if value is None else value.decode("latin-1")


# -- Vary: checked differentially --------------------------------------------------------------
CORS_RESPONSE_HEADERS = (
    b"access-control-allow-origin",
    b"access-control-allow-credentials",
    b"access-control-expose-headers",
)


def cors_signature(response: RawResponse) -> tuple[bytes | None, ...]:
    _, index = HeaderIndex.received(response.headers)  # OWS-stripped, indexed; memoized
    return tuple(index.get(name) for name in CORS_RESPONSE_HEADERS)


def vary_covers_origin(response: RawResponse) -> bool:
    # RFC 9110 §12.5.5: Vary is a list of field names, or "*".
    for name, value in response.headers:
        if name.lower() != b"vary":
            continue
        for item in value.split(b","):
            if strip_ows(item).lower() in (b"origin", b"*"):
                return True
    return False


def vary_divergence(probes: Sequence[Exchange]) -> d.Divergence | None:
    """``probes``: the same request sent with different ``Origin`` values (or none).

    An HTTP cache that stored one of these responses without ``Vary: Origin`` may serve it to
    the others (Fetch §"CORS protocol and HTTP caches"). That harms a later request that
    carries an ``Origin`` and would get different CORS headers of its own: its CORS check runs
    on the wrong ones. So each response lacking ``Vary: Origin`` whose CORS headers differ from
    those of another probe *with* an ``Origin`` is a divergence. (Serving a CORS response to a
    request without ``Origin``, a navigation, harms nothing.)
    """
    finals = [(ex, final_response(ex)) for ex in probes]
    answered = [(ex, r) for ex, r in finals if r is not None]
    # Each probe's CORS headers and Origin, worked out once (not once for each pair).
    signatures = {id(ex): cors_signature(r) for ex, r in answered}
    origins = {id(ex): get(ex.pairs[-1][0].headers, b"origin") for ex, _ in answered}
    for stored_exchange, stored in answered:
        if vary_covers_origin(stored):
            continue
        for other_exchange, _ in answered:
            if other_exchange is stored_exchange:
                continue
            other_origin = origins[id(other_exchange)]
            if other_origin is None or (
                signatures[id(other_exchange)] == signatures[id(stored_exchange)]
            ):
                continue
            stored_origin = origins[id(stored_exchange)]
            asked = "a request without Origin" if stored_origin is None else _show(stored_origin)
            return d.MissingVaryOrigin(
                Evidence(
                    summary=(
                        f"the response to {asked} (status {stored.status}) has no Vary: Origin, "
                        f"but {_show(other_origin)} gets other CORS headers: a cache may serve "
                        "it the first one"
                    ),
                    exchanges=tuple(probes),
                ),
                reason="vary",
            )
    return None


def without_origin(wire: WireRequest) -> WireRequest:
    headers = tuple((n, v) for n, v in wire.headers if n.lower() != b"origin")
    return wire._replace(headers=headers)


def with_origin(wire: WireRequest, origin: bytes) -> WireRequest:
    stripped = without_origin(wire)
    return stripped._replace(headers=(*stripped.headers, (b"Origin", origin)))


def blocked_reason(result: FetchResult) -> str:
    verdict = result.verdict
    return verdict.reason.value if isinstance(verdict, Blocked) else "allowed"
