"""Divergences: one ``AssertionError`` subclass per kind, each raised from its own line so
Hypothesis keeps distinct bugs apart and shrinks each separately (schemathesis'
``core/failures.py`` does the same).

Grades, by effect on users (DESIGN.md "Verdicts and divergences"):

* insecure: the browser would let script read (or the server run) what the policy forbids;
* dysfunctional: the browser would block what the policy allows;
* non-strict: no effect in today's browsers, but wrong or dangerous;
* informational: browsers differ among themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from reference import anchors
from reference.browser import FetchResult
from reference.request import BrowserRequest
from reference.verdict import RawResponse, WireRequest


class Grade(StrEnum):
    INSECURE = "insecure"
    DYSFUNCTIONAL = "dysfunctional"
    NON_STRICT = "non-strict"
    INFORMATIONAL = "informational"

    @property
    def rank(self) -> int:
        return list(Grade).index(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class Exchange:
    """One fetch as the browser made it against the target: every wire request with the raw
    response it got, and the model's result over them."""

    request: BrowserRequest | None  # None for hostile (non-browser) requests
    pairs: tuple[tuple[WireRequest, RawResponse], ...]
    result: FetchResult | None
    elapsed: float = 0.0
    refused: WireRequest | None = None  # the request the suite would not send (safety)


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """What a divergence shows: the exchanges, and why each side decided as it did."""

    summary: str
    exchanges: tuple[Exchange, ...]
    browser_steps: Sequence[str] = ()  # a tuple, or LazySteps

    policy_steps: Sequence[str] = ()  # a tuple, or LazySteps
    profile: str = "spec"
    policy_rule: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Divergence(AssertionError):
    grade: ClassVar[Grade]
    kind: ClassVar[str]
    default_spec_ref: ClassVar[str]
    title: ClassVar[str]

    def __init__(
        self, evidence: Evidence, *, reason: str = "", spec_ref: str | None = None
    ) -> None:
        super().__init__(f"[{self.grade}] {self.kind}: {evidence.summary}")
        self.evidence = evidence
        self.reason = reason
        self.spec_ref = spec_ref or self.default_spec_ref

    @property
    def dedup_key(self) -> tuple[str, str, str]:
        return (self.kind, self.spec_ref, self.reason)


# -- insecure -----------------------------------------------------------------------------------
class OriginGrantedAgainstPolicy(Divergence):
    grade = Grade.INSECURE
    kind = "origin-granted-against-policy"
    default_spec_ref = anchors.CORS_CHECK
    title = "A browser lets script on an origin the policy refuses read the response"


class CredentialedReadAgainstPolicy(Divergence):
    grade = Grade.INSECURE
    kind = "credentialed-read-against-policy"
    default_spec_ref = anchors.CORS_AND_CREDENTIALS
    title = "A browser lets script read a credentialed response the policy does not allow"


class MethodGrantedAgainstPolicy(Divergence):
    grade = Grade.INSECURE
    kind = "method-granted-against-policy"
    default_spec_ref = anchors.CORS_PREFLIGHT_FETCH
    title = "The preflight lets through a method the policy does not allow"


class HeaderGrantedAgainstPolicy(Divergence):
    grade = Grade.INSECURE
    kind = "header-granted-against-policy"
    default_spec_ref = anchors.CORS_PREFLIGHT_FETCH
    title = "The preflight lets through a request header the policy does not allow"


class PreflightGrantedAgainstPolicy(Divergence):
    grade = Grade.INSECURE
    kind = "preflight-granted-against-policy"
    default_spec_ref = anchors.CORS_PREFLIGHT_FETCH
    title = "The preflight passes for a request the policy refuses, so the browser sends it"


class HeaderExposedAgainstPolicy(Divergence):
    grade = Grade.INSECURE
    kind = "header-exposed-against-policy"
    default_spec_ref = anchors.ACEH
    title = "Script can read a response header the policy does not expose"


# -- dysfunctional ------------------------------------------------------------------------------
class AllowedRequestBlocked(Divergence):
    grade = Grade.DYSFUNCTIONAL
    kind = "allowed-request-blocked"
    default_spec_ref = anchors.CORS_CHECK
    title = "A browser blocks a request the policy allows"


class ExposedHeaderHidden(Divergence):
    grade = Grade.DYSFUNCTIONAL
    kind = "exposed-header-hidden"
    default_spec_ref = anchors.ACEH
    title = "Script cannot read a response header the policy exposes"


class NoOriginRequestRefused(Divergence):
    grade = Grade.DYSFUNCTIONAL
    kind = "no-origin-request-refused"
    default_spec_ref = anchors.CORS_PROTOCOL_HTTP_CACHES
    title = "A request without Origin (same-origin or navigation) is not served normally"


class PreflightActualMismatch(Divergence):
    grade = Grade.DYSFUNCTIONAL
    kind = "preflight-granted-actual-refused"
    default_spec_ref = anchors.CORS_CHECK
    title = "The preflight is granted but the actual request then fails the CORS check"


class DecisionDependsOnHistory(Divergence):
    grade = Grade.DYSFUNCTIONAL
    kind = "decision-depends-on-history"
    default_spec_ref = anchors.CORS_CHECK
    title = "The decision for a request changes after other requests (state leaks)"


class DecisionNotDeterministic(Divergence):
    grade = Grade.DYSFUNCTIONAL
    kind = "decision-not-deterministic"
    default_spec_ref = anchors.CORS_CHECK
    title = "The same request gets different decisions"


class InsecureDecisionDependsOnHistory(DecisionDependsOnHistory):
    grade = Grade.INSECURE
    kind = "grant-depends-on-history"
    title = "A request the policy refuses is granted after other requests (state leaks)"


class InsecureDecisionNotDeterministic(DecisionNotDeterministic):
    grade = Grade.INSECURE
    kind = "grant-not-deterministic"
    title = "A request the policy refuses is granted on some attempts"


# -- non-strict ---------------------------------------------------------------------------------
class MissingVaryOrigin(Divergence):
    grade = Grade.NON_STRICT
    kind = "missing-vary-origin"
    default_spec_ref = anchors.CORS_PROTOCOL_HTTP_CACHES
    title = "CORS headers depend on Origin but the response lacks Vary: Origin"


class CredentialsToRefusedOrigin(Divergence):
    grade = Grade.NON_STRICT
    kind = "credentials-header-to-refused-origin"
    default_spec_ref = anchors.ACAC
    title = "Access-Control-Allow-Credentials is sent on a response that refuses the origin"


class PrivateNetworkGrantedUnasked(Divergence):
    grade = Grade.NON_STRICT
    kind = "private-network-granted-unasked"
    default_spec_ref = anchors.PNA_PREFLIGHT
    title = "Access-Control-Allow-Private-Network is sent without being asked or allowed"


class MalformedCorsHeader(Divergence):
    grade = Grade.NON_STRICT
    kind = "malformed-cors-header"
    default_spec_ref = anchors.EXTRACT_HEADER_LIST_VALUES
    title = "A CORS response header does not follow its grammar"


class ServerErrorOnHostileInput(Divergence):
    grade = Grade.NON_STRICT
    kind = "server-error-on-hostile-input"
    default_spec_ref = anchors.ACAO
    title = "Input a non-browser client can send makes the server fail (5xx)"


class SuperlinearHeaderParsing(Divergence):
    grade = Grade.NON_STRICT
    kind = "superlinear-header-parsing"
    default_spec_ref = anchors.ACAH
    title = "Time per request grows faster than linearly with the request-header list"


class HostileGrant(Divergence):
    grade = Grade.INSECURE
    kind = "hostile-input-granted"
    default_spec_ref = anchors.CORS_CHECK
    title = "A malformed Origin a non-browser client sends is granted against the policy"


# -- informational ------------------------------------------------------------------------------
class BrowsersDisagree(Divergence):
    grade = Grade.INFORMATIONAL
    kind = "browsers-differ"
    default_spec_ref = anchors.CORS_PREFLIGHT_FETCH
    title = "The spec and some browsers decide this exchange differently against the policy"


ALL_KINDS: tuple[type[Divergence], ...] = (
    OriginGrantedAgainstPolicy,
    CredentialedReadAgainstPolicy,
    MethodGrantedAgainstPolicy,
    HeaderGrantedAgainstPolicy,
    PreflightGrantedAgainstPolicy,
    HeaderExposedAgainstPolicy,
    AllowedRequestBlocked,
    ExposedHeaderHidden,
    NoOriginRequestRefused,
    PreflightActualMismatch,
    DecisionDependsOnHistory,
    DecisionNotDeterministic,
    InsecureDecisionDependsOnHistory,
    InsecureDecisionNotDeterministic,
    MissingVaryOrigin,
    CredentialsToRefusedOrigin,
    PrivateNetworkGrantedUnasked,
    MalformedCorsHeader,
    ServerErrorOnHostileInput,
    SuperlinearHeaderParsing,
    HostileGrant,
    BrowsersDisagree,
)
KIND_BY_NAME: dict[str, type[Divergence]] = {k.kind: k for k in ALL_KINDS}
