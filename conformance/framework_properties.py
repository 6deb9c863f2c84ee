"""``framework_configurations``: Hypothesis generates the *policy* as well as the requests, so one
run explores a framework's configuration space (``--framework NAME`` without ``--policy``).

Each example draws a policy from :func:`strategies.policies`, configures the framework from it
(a policy the framework cannot express is rejected and counted by key, never failed), then draws
:data:`REQUESTS_PER_POLICY` browser requests for that policy and judges each one
(:func:`conformance.compare.judge` and :func:`~conformance.compare.hygiene`), probes ``Vary`` with
the first simple request, and sends :data:`HOSTILE_PER_POLICY` hostile requests. The most severe
divergence of the example is raised; the shrunk failure shows the simplest policy and request,
and the policy (as a policy file) and the framework's configuration are part of its evidence.

Every divergence belongs to one *spec area* (:func:`area_of`), the rows of the conformance
matrix. ``areas`` restricts a run to some of them, so a frequent finding in one area cannot hide a
rarer one in another (the matrix runs one area at a time).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from hypothesis import reject
from hypothesis import strategies as st

from conformance import compare
from conformance import divergences as d
from conformance.adapters import Inexpressible
from conformance.context import SuiteContext
from conformance.divergences import Divergence, Evidence, Exchange
from conformance.exchange import run_fetch, send_raw
from conformance.frameworks import (
    FrameworkSession,
    routed_methods,
    routes_elsewhere,
    supports_paths,
)
from conformance.outcomes import NotApplicable
from conformance.properties import (
    Check,
    actual_wire,
    found,
    hostile_grant,
    suite_given,
    vary_probes,
)
from conformance.targets import AsgiTarget, Target, WsgiTarget
from reference.browser import needs_preflight
from reference.headers import get
from reference.policy import CorsPolicy
from reference.policy_file import dump_policy
from reference.profiles import Profile
from reference.request import BrowserRequest
from reference.verdict import BlockedReason
from strategies import cors_requests, hostile_requests, near_miss_origins, policies, policy_origins

REQUESTS_PER_POLICY: Final = 8
HOSTILE_PER_POLICY: Final = 2
PROPERTY_NAME: Final = "framework_configurations"

# -- spec areas: the rows of the matrix ----------------------------------------------------------

AREAS: Final = (
    ("origin", "Origin matching"),
    ("credentials", "Credentials"),
    ("methods", "Preflight: methods"),
    ("headers", "Preflight: request headers"),
    ("preflight", "Preflight: status, private network, consistency"),
    ("exposure", "Exposed response headers"),
    ("caching", "Caching and Vary"),
    ("hygiene", "Response hygiene"),
    ("robustness", "Robustness (hostile input)"),
)
AREA_TITLES: Final = dict(AREAS)

_ORIGIN_REASONS: Final = frozenset(
    {
        BlockedReason.MISSING_ALLOW_ORIGIN_HEADER,
        BlockedReason.MULTIPLE_ALLOW_ORIGIN_VALUES,
        BlockedReason.INVALID_ALLOW_ORIGIN_VALUE,
        BlockedReason.ALLOW_ORIGIN_MISMATCH,
        BlockedReason.PREFLIGHT_MISSING_ALLOW_ORIGIN_HEADER,
        BlockedReason.PREFLIGHT_MULTIPLE_ALLOW_ORIGIN_VALUES,
        BlockedReason.PREFLIGHT_INVALID_ALLOW_ORIGIN_VALUE,
        BlockedReason.PREFLIGHT_ALLOW_ORIGIN_MISMATCH,
    }
)
_CREDENTIALS_REASONS: Final = frozenset(
    {
        BlockedReason.WILDCARD_ORIGIN_NOT_ALLOWED,
        BlockedReason.INVALID_ALLOW_CREDENTIALS,
        BlockedReason.PREFLIGHT_WILDCARD_ORIGIN_NOT_ALLOWED,
        BlockedReason.PREFLIGHT_INVALID_ALLOW_CREDENTIALS,
    }
)
_METHOD_REASONS: Final = frozenset(
    {
        BlockedReason.INVALID_ALLOW_METHODS_PREFLIGHT_RESPONSE,
        BlockedReason.METHOD_DISALLOWED_BY_PREFLIGHT_RESPONSE,
    }
)
_HEADER_REASONS: Final = frozenset(
    {
        BlockedReason.INVALID_ALLOW_HEADERS_PREFLIGHT_RESPONSE,
        BlockedReason.HEADER_DISALLOWED_BY_PREFLIGHT_RESPONSE,
    }
)

_AREA_BY_KIND: Final[dict[str, str]] = {
    d.OriginGrantedAgainstPolicy.kind: "origin",
    d.CredentialedReadAgainstPolicy.kind: "credentials",
    d.MethodGrantedAgainstPolicy.kind: "methods",
    d.HeaderGrantedAgainstPolicy.kind: "headers",
    d.HeaderExposedAgainstPolicy.kind: "exposure",
    d.ExposedHeaderHidden.kind: "exposure",
    d.NoOriginRequestRefused.kind: "hygiene",
    d.PreflightActualMismatch.kind: "preflight",
    d.DecisionDependsOnHistory.kind: "preflight",
    d.DecisionNotDeterministic.kind: "preflight",
    d.InsecureDecisionDependsOnHistory.kind: "preflight",
    d.InsecureDecisionNotDeterministic.kind: "preflight",
    d.MissingVaryOrigin.kind: "caching",
    d.CredentialsToRefusedOrigin.kind: "hygiene",
    d.PrivateNetworkGrantedUnasked.kind: "hygiene",
    d.MalformedCorsHeader.kind: "hygiene",
    d.ServerErrorOnHostileInput.kind: "robustness",
    d.SuperlinearHeaderParsing.kind: "robustness",
    d.HostileGrant.kind: "robustness",
}
_AREA_BY_POLICY_KEY: Final = {
    "allow_origins": "origin",
    "allow_origin_patterns": "origin",
    "allow_methods": "methods",
    "allow_headers": "headers",
    "allow_credentials": "credentials",
}


def _area_of_reason(reason: str) -> str:
    if reason in _ORIGIN_REASONS:
        return "origin"
    if reason in _CREDENTIALS_REASONS:
        return "credentials"
    if reason in _METHOD_REASONS:
        return "methods"
    if reason in _HEADER_REASONS:
        return "headers"
    return "preflight"


def area_for(kind: str, reason: str) -> str:
    """The spec area of a divergence of ``kind`` for ``reason``: by its kind; for a blocked
    request, by the reason it was blocked; for a preflight granted against the policy, by the
    policy key it breaks."""
    if kind == d.MalformedCorsHeader.kind and reason == "access-control-max-age":
        return "caching"
    if kind == d.AllowedRequestBlocked.kind:
        return _area_of_reason(reason)
    if kind == d.PreflightGrantedAgainstPolicy.kind:
        return _AREA_BY_POLICY_KEY.get(reason, "preflight")
    if kind == d.BrowsersDisagree.kind:
        return "headers" if "header" in reason.lower() else "preflight"
    return _AREA_BY_KIND.get(kind, "preflight")


def area_of(div: Divergence) -> str:
    return area_for(div.kind, div.reason)


# -- the property ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Example:
    """What one example of the property found, before the most severe is raised."""

    policy: CorsPolicy
    configuration: str
    found: list[Divergence]


def _refetch(
    ctx: SuiteContext, target: Target, request: BrowserRequest
) -> Callable[[Profile], Exchange]:
    """Fetch ``request`` as another browser would, against this policy's target (for engines
    whose quirks change the wire: ``compare.judge`` then judges them on their own exchange)."""

    def refetch(profile: Profile) -> Exchange:
        ctx.cases_sent += 1
        return run_fetch(target, request, profile=profile)

    return refetch


def _path(request: BrowserRequest) -> str:
    return urlsplit(request.url).path or "/"


def framework_configurations(
    ctx: SuiteContext,
    session: FrameworkSession,
    *,
    areas: frozenset[str] | None = None,
    name: str = PROPERTY_NAME,
) -> Check:
    """The property for ``session``'s framework; ``areas`` keeps only divergences of those spec
    areas (all by default)."""
    adapter = session.adapter
    routes = routed_methods(adapter)
    elsewhere = routes_elsewhere(adapter)
    wanted: Callable[[Divergence], bool] = (
        (lambda _div: True) if areas is None else (lambda div: area_of(div) in areas)
    )

    def keep(example: _Example, div: Divergence | None) -> None:
        if div is not None and wanted(div):
            example.found.append(div)

    def routable(policy: CorsPolicy, request: BrowserRequest, target: Target) -> bool:
        if not routes(_wire_method(request)):
            return False
        if over_the_wire(target) and not _parser_safe(request):
            return False
        return not elsewhere(policy, _path(request))

    @suite_given(ctx, policies(allow_paths=supports_paths(adapter)), st.data())
    def check(policy: CorsPolicy, data: st.DataObject) -> None:
        try:
            configuration = adapter.configuration(policy)
        except Inexpressible as exc:
            ctx.inexpressible[exc.key] += 1
            reject()
        target = session.configure(policy)
        ctx.policies_tested += 1
        example = _Example(policy=policy, configuration=repr(configuration), found=[])
        requests = cors_requests(policy=policy, base_url=target.base_url, paths=ctx.paths)
        vary_probed = False
        for index in range(REQUESTS_PER_POLICY):
            request = data.draw(requests, label=f"request {index + 1}")
            if not routable(policy, request, target):
                ctx.not_applicable += 1
                continue
            try:
                exchange = run_fetch(target, request)
            except NotApplicable:
                ctx.not_applicable += 1
                continue
            ctx.cases_sent += 1
            keep(example, compare.judge(policy, exchange, refetch=_refetch(ctx, target, request)))
            if compare.is_cross_origin(exchange):
                for div in compare.hygiene(policy, exchange):
                    keep(example, div)
            if not vary_probed and not needs_preflight(request):
                vary_probed = _vary_probe(
                    ctx,
                    target,
                    policy=policy,
                    request=request,
                    data=data,
                    example=example,
                    keep=keep,
                )
        hostile = hostile_requests(policy=policy, base_url=target.base_url, paths=ctx.paths)
        for index in range(HOSTILE_PER_POLICY):
            wire = data.draw(hostile, label=f"hostile request {index + 1}")
            if not routes(wire.method.decode("latin-1")):
                continue
            if elsewhere(policy, urlsplit(wire.url).path or "/"):
                ctx.not_applicable += 1
                continue
            try:
                exchange = send_raw(target, wire)
            except NotApplicable:
                ctx.not_applicable += 1
                continue
            ctx.cases_sent += 1
            status = exchange.pairs[0][1].status
            if status >= 500:
                keep(
                    example,
                    d.ServerErrorOnHostileInput(
                        Evidence(
                            summary=f"the target answers {status} to this request",
                            exchanges=(exchange,),
                        ),
                        reason=f"{status // 100}xx",
                    ),
                )
            probe_ctx = SuiteContext(target=target, policy=policy, paths=ctx.paths)
            keep(example, hostile_grant(probe_ctx, wire, exchange))
        if example.found:
            worst = min(example.found, key=lambda div: div.grade.rank)
            worst.evidence.extra["framework"] = session.name
            worst.evidence.extra["policy"] = dump_policy(policy)
            worst.evidence.extra["configuration"] = example.configuration
            worst.evidence.extra["area"] = area_of(worst)
            raise found(ctx, worst)

    check.__name__ = check.__qualname__ = name
    return check


_CONTROL: Final = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
"""Control characters (HTAB aside). Fetch lets script put them in header values; RFC 9110 §5.5
does not, and an HTTP server's parser may refuse the request before any middleware sees it
(Node's llhttp and aiohttp do). Over the wire such requests test the parser, not CORS: they are
skipped."""


def _parser_safe(request: BrowserRequest) -> bool:
    """Whether an HTTP server's parser takes this request as a browser would send it: no
    control characters in header values, and no header name twice (browsers combine repeated
    author headers on the wire; strict parsers such as aiohttp's refuse a repeated
    ``Content-Type`` with a 400 before any middleware runs)."""
    names = [name.lower() for name, _ in request.headers]
    if len(names) != len(set(names)):
        return False
    return not any(_CONTROL.search(value) for _, value in request.headers)


def over_the_wire(target: Target) -> bool:
    """Whether requests go through a real HTTP server (not an in-process ASGI or WSGI app)."""
    return not isinstance(target, AsgiTarget | WsgiTarget)


def _wire_method(request: BrowserRequest) -> str:
    """The method as the browser puts it on the wire (standard methods uppercased)."""
    upper = request.method.upper()
    if upper in ("DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"):
        return upper
    return request.method


def _vary_probe(
    ctx: SuiteContext,
    target: Target,
    *,
    policy: CorsPolicy,
    request: BrowserRequest,
    data: st.DataObject,
    example: _Example,
    keep: Callable[[_Example, Divergence | None], None],
) -> bool:
    """The same simple request from another origin and with no Origin: if the CORS headers
    differ, every response must say ``Vary: Origin``. Returns whether the probe was made."""
    wire = actual_wire(request)
    if wire is None or get(wire.headers, b"origin") is None:
        return False
    others = st.one_of(policy_origins(policy), near_miss_origins(policy))
    other = data.draw(others, label="other origin")
    try:
        probes = vary_probes(target, wire, other.serialize().encode())
    except NotApplicable:
        ctx.not_applicable += 1
        return False
    ctx.cases_sent += 3
    keep(example, compare.vary_divergence(probes))
    return True
