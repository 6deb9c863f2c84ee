"""Replay: re-send a record's requests to a target and say whether it still diverges.

``cors-conformance replay results.json`` (and the regression tests ``cors-conformance
regression`` writes) rebuild each record's requests from results.json, point them at the target
(the URL's origin becomes the target's, path and query are kept), and re-check them exactly as
the property that found the record did:

* decision kinds: the browser request (``exchanges[].request``, the ``explain`` input schema)
  is fetched again through the model and judged (:func:`conformance.compare.judge`): fixed
  when the browser now does what the policy intends;
* response hygiene (credentials to refused origins, private network, header grammar): the
  same, through :func:`conformance.compare.hygiene`, for the record's kind;
* properties over several exchanges (Vary, requests without Origin, history, determinism,
  hostile input, scaling): the recorded wire requests are re-sent as they are
  (:func:`conformance.exchange.send_raw`) and re-checked with the functions the properties use.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from conformance import compare
from conformance import divergences as d
from conformance.context import SuiteContext
from conformance.exchange import run_fetch, send_raw
from conformance.outcomes import HarnessOutcome, UsageError
from conformance.settings import RunOptions
from conformance.targets import Target
from reference.explain import ExplainInputError, parse_request
from reference.origins import OriginError, parse_url
from reference.policy import CorsPolicy
from reference.policy_file import PolicyError, load_policy
from reference.request import BrowserRequest
from reference.verdict import WireRequest

Status = Literal["still diverges", "fixed", "cannot replay"]
Record = Mapping[str, Any]

DECISION_KINDS = frozenset(
    {
        "origin-granted-against-policy",
        "credentialed-read-against-policy",
        "method-granted-against-policy",
        "header-granted-against-policy",
        "preflight-granted-against-policy",
        "header-exposed-against-policy",
        "allowed-request-blocked",
        "exposed-header-hidden",
        "preflight-granted-actual-refused",
        "browsers-differ",
    }
)
HYGIENE_KINDS = frozenset(
    {
        "credentials-header-to-refused-origin",
        "private-network-granted-unasked",
        "malformed-cors-header",
    }
)
CONSISTENCY_KINDS = frozenset(
    {
        "decision-depends-on-history",
        "grant-depends-on-history",
        "decision-not-deterministic",
        "grant-not-deterministic",
    }
)
DETERMINISM_ATTEMPTS = 6


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayResult:
    record_id: str
    kind: str
    grade: str
    status: Status
    detail: str

    @property
    def diverges(self) -> bool:
        return self.status == "still diverges"

    def line(self) -> str:
        return f"{self.record_id} [{self.grade}] {self.kind}: {self.status}" + (
            f" ({self.detail})" if self.detail else ""
        )


class CannotReplay(Exception):
    """The record does not carry what replaying it needs."""


# -- rebuilding requests --------------------------------------------------------------------------
def retarget(url: str, base_url: str) -> str:
    """``url`` with its origin replaced by ``base_url``'s (path and query kept)."""
    try:
        path_query = parse_url(url).path_query
    except OriginError as exc:
        raise CannotReplay(f"recorded URL {url!r}: {exc}") from None
    return base_url.rstrip("/") + (path_query if path_query.startswith("/") else "/" + path_query)


def browser_request(document: Mapping[str, Any], base_url: str) -> BrowserRequest:
    """The browser request of an exchange (``exchanges[i].request``), aimed at ``base_url``."""
    retargeted = dict(document, url=retarget(str(document.get("url", "")), base_url))
    try:
        return parse_request(retargeted)
    except ExplainInputError as exc:
        raise CannotReplay(f"recorded request does not parse: {exc}") from None


def _bytes(value: str) -> bytes:
    return value.encode("latin-1")


def wire_request(document: Mapping[str, Any], base_url: str) -> WireRequest:
    """A recorded wire request (``exchanges[i].steps[j].request``), aimed at ``base_url``."""
    try:
        return WireRequest(
            is_preflight=bool(document["preflight"]),
            method=_bytes(document["method"]),
            url=retarget(document["url"], base_url),
            headers=tuple((_bytes(n), _bytes(v)) for n, v in document["headers"]),
            credentials=bool(document.get("credentials", False)),
            body=None if document.get("body") is None else _bytes(document["body"]),
        )
    except (KeyError, TypeError, ValueError, UnicodeEncodeError) as exc:
        raise CannotReplay(f"recorded wire request is malformed: {exc!r}") from None


def _request_of(record: Record, base_url: str, index: int = 0) -> BrowserRequest:
    exchanges = record.get("exchanges") or []
    if len(exchanges) <= index or not exchanges[index].get("request"):
        raise CannotReplay("the record has no browser request")
    return browser_request(exchanges[index]["request"], base_url)


def _wires_of(record: Record, base_url: str) -> list[WireRequest]:
    wires = [
        wire_request(step["request"], base_url)
        for exchange in record.get("exchanges") or []
        for step in exchange.get("steps") or []
    ]
    if not wires:
        raise CannotReplay("the record has no wire requests")
    return wires


# -- re-checking ----------------------------------------------------------------------------------
def _decision(target: Target, policy: CorsPolicy, record: Record) -> d.Divergence | None:
    exchange = run_fetch(target, _request_of(record, target.base_url))
    return compare.judge(policy, exchange)


def _hygiene(target: Target, policy: CorsPolicy, record: Record) -> d.Divergence | None:
    exchange = run_fetch(target, _request_of(record, target.base_url))
    if not compare.is_cross_origin(exchange):
        return None
    kind = record["kind"]
    return next((div for div in compare.hygiene(policy, exchange) if div.kind == kind), None)


def _vary(target: Target, _policy: CorsPolicy, record: Record) -> d.Divergence | None:
    probes = [send_raw(target, wire) for wire in _wires_of(record, target.base_url)]
    return compare.vary_divergence(probes)


def _no_origin(target: Target, _policy: CorsPolicy, record: Record) -> d.Divergence | None:
    wires = _wires_of(record, target.base_url)
    if len(wires) != 2:
        raise CannotReplay("expected two recorded requests (without and with Origin)")
    plain, with_origin = (send_raw(target, wire) for wire in wires)
    status, ok = plain.pairs[0][1].status, with_origin.pairs[0][1].status
    if ok < 400 <= status:
        return d.NoOriginRequestRefused(
            d.Evidence(
                summary=f"without Origin the target answers {status}; with Origin, {ok}",
                exchanges=(plain, with_origin),
            ),
            reason=f"{status // 100}xx",
        )
    return None


def _consistency(target: Target, policy: CorsPolicy, record: Record) -> d.Divergence | None:
    """The same request, again and again: any change of decision still diverges. For the
    history kinds this is only part of the story: the requests sent in between are not in the
    record, so a decision that never changes here is reported as not reproduced."""
    from conformance.properties import decision_key

    request = _request_of(record, target.base_url)
    exchanges = [run_fetch(target, request) for _ in range(DETERMINISM_ATTEMPTS)]
    keys = [decision_key(exchange) for exchange in exchanges]
    for first, again, key_a, key_b in zip(exchanges, exchanges[1:], keys, keys[1:], strict=False):
        if key_a != key_b:
            grants = [compare.judge(policy, ex) for ex in (first, again)]
            insecure = any(g is not None and g.grade is d.Grade.INSECURE for g in grants)
            history = "history" in record["kind"]
            cls: type[d.Divergence]
            if history:
                cls = d.InsecureDecisionDependsOnHistory if insecure else d.DecisionDependsOnHistory
            else:
                cls = d.InsecureDecisionNotDeterministic if insecure else d.DecisionNotDeterministic
            return cls(
                d.Evidence(summary=f"{key_a} then {key_b}", exchanges=(first, again)),
                reason="decision",
            )
    if "history" in record["kind"]:
        raise CannotReplay(
            f"the same decision {DETERMINISM_ATTEMPTS} times in a row; the requests that changed "
            "it are not in the record: rerun the property with the record's seed"
        )
    return None


def _context(target: Target, policy: CorsPolicy, record: Record) -> SuiteContext:
    path = "/"
    for exchange in record.get("exchanges") or []:
        for step in exchange.get("steps") or []:
            path = parse_url(retarget(step["request"]["url"], target.base_url)).path_query
            break
    return SuiteContext(target=target, policy=policy, paths=(path.split("?", 1)[0] or "/",))


def _hostile(target: Target, policy: CorsPolicy, record: Record) -> d.Divergence | None:
    from conformance.properties import hostile_grant

    wire = _wires_of(record, target.base_url)[0]
    exchange = send_raw(target, wire)
    status = exchange.pairs[0][1].status
    if record["kind"] == "server-error-on-hostile-input":
        if status >= 500:
            return d.ServerErrorOnHostileInput(
                d.Evidence(summary=f"the target answers {status}", exchanges=(exchange,)),
                reason=f"{status // 100}xx",
            )
        return None
    return hostile_grant(_context(target, policy, record), wire, exchange)


def _scaling(target: Target, policy: CorsPolicy, record: Record) -> d.Divergence | None:
    from conformance.properties import header_list_scaling

    try:
        header_list_scaling(_context(target, policy, record))()
    except d.Divergence as div:
        return div
    return None


CHECKS: dict[str, Callable[[Target, CorsPolicy, Record], d.Divergence | None]] = {
    **dict.fromkeys(DECISION_KINDS, _decision),
    **dict.fromkeys(HYGIENE_KINDS, _hygiene),
    **dict.fromkeys(CONSISTENCY_KINDS, _consistency),
    "missing-vary-origin": _vary,
    "no-origin-request-refused": _no_origin,
    "server-error-on-hostile-input": _hostile,
    "hostile-input-granted": _hostile,
    "superlinear-header-parsing": _scaling,
}


def recheck(target: Target, policy: CorsPolicy, record: Record) -> d.Divergence | None:
    """The divergence the record's requests show now (``None``: fixed). Raises
    :class:`CannotReplay` when the record cannot be replayed against this target."""
    check = CHECKS.get(record["kind"])
    if check is None:
        raise CannotReplay(f"no replay for kind {record['kind']!r}")
    try:
        return check(target, policy, record)
    except HarnessOutcome as exc:
        raise CannotReplay(f"{exc.kind}: {exc}") from None


def _result(record: Record, status: Status, detail: str = "") -> ReplayResult:
    return ReplayResult(
        record_id=record["id"],
        kind=record["kind"],
        grade=record["grade"],
        status=status,
        detail=detail,
    )


def replay_record(target: Target, policy: CorsPolicy, record: Record) -> ReplayResult:
    try:
        found = recheck(target, policy, record)
    except CannotReplay as exc:
        return _result(record, "cannot replay", str(exc))
    if found is None:
        return _result(record, "fixed")
    if found.kind == record["kind"]:
        return _result(record, "still diverges", found.evidence.summary)
    return _result(record, "still diverges", f"now as {found.kind}: {found.evidence.summary}")


class ReplayTargets:
    """Where records are replayed, and the policy each is judged against.

    A record made under a generated policy (``extra.policy``, from ``--framework`` runs
    without ``--policy``) is judged against that policy, and, for a framework target, sent to
    the framework configured from it; every other record uses the run's policy (or
    ``--policy``) and the one target."""

    def __init__(
        self,
        *,
        options: RunOptions,
        policy: CorsPolicy,
        fixed_policy: bool,
        build: Callable[[RunOptions, CorsPolicy], Target],
    ) -> None:
        self.options = options
        self.policy = policy
        self.fixed_policy = fixed_policy
        self._build = build
        self._targets: dict[CorsPolicy | None, Target] = {}
        self.description = options.target_description

    def policy_for(self, record: Record) -> CorsPolicy:
        text = (record.get("extra") or {}).get("policy")
        if self.fixed_policy or not isinstance(text, str):
            return self.policy
        try:
            return load_policy(text, source=f"record {record.get('id')} extra.policy")
        except PolicyError as exc:
            raise CannotReplay(f"the record's policy does not load: {exc}") from None

    def target_for(self, policy: CorsPolicy) -> Target:
        key = policy if self.options.framework else None
        if key not in self._targets:
            self._targets[key] = self._build(self.options, policy)
        return self._targets[key]

    def close(self) -> None:
        for target in self._targets.values():
            target.close()
        self._targets.clear()


def replay_targets(
    document: Mapping[str, Any],
    *,
    app: str | None = None,
    url: str | None = None,
    framework: str | None = None,
    policy_file: str | None = None,
    timeout: float = 10.0,
) -> ReplayTargets:
    """The target and policy to replay against: the flags given, else the run's own (the
    target it tested and the policy text results.json embeds)."""
    from conformance.settings import load_policy_file

    run = document.get("run", {})
    if not (app or url or framework):
        recorded = run.get("target_options") or {}
        app, url, framework = recorded.get("app"), recorded.get("url"), recorded.get("framework")
    options = RunOptions(
        app=app, url=url, framework=framework, policy_file=policy_file, timeout=timeout
    )
    options.check()
    if policy_file is not None or not run.get("policy"):
        policy, _ = load_policy_file(policy_file)
    else:
        try:
            policy = load_policy(run["policy"], source="results.json run.policy")
        except PolicyError as exc:
            raise UsageError(f"the policy in results.json: {exc}") from None
    return ReplayTargets(
        options=options, policy=policy, fixed_policy=policy_file is not None, build=_build
    )


def _build(options: RunOptions, policy: CorsPolicy) -> Target:
    """The target for ``policy``: a framework is configured from it (as ``--policy`` does)."""
    if options.framework:
        from conformance import frameworks

        return frameworks.build(options.framework, policy, explicit=True)
    from conformance.settings import build_target

    return build_target(options, policy)


def replay_document(
    document: Mapping[str, Any], targets: ReplayTargets, *, ids: Sequence[str] = ()
) -> list[ReplayResult]:
    records = list(document.get("divergences") or [])
    if ids:
        known = {r["id"] for r in records}
        missing = [i for i in ids if i not in known]
        if missing:
            raise UsageError(f"--id: no record {', '.join(map(repr, missing))} in the results")
        records = [r for r in records if r["id"] in ids]
    results = []
    for record in records:
        try:
            policy = targets.policy_for(record)
            target = targets.target_for(policy)
        except (CannotReplay, UsageError) as exc:
            results.append(_result(record, "cannot replay", str(exc)))
            continue
        results.append(replay_record(target, policy, record))
    return results


def load_results(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            document: Any = json.load(handle)
    except OSError as exc:
        raise UsageError(f"{path!r}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path!r}: not JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(document, dict) or document.get("schema") != "cors-conformance/results":
        raise UsageError(f"{path!r}: not a cors-conformance results.json")
    return document
