"""Run cases in Chromium and in the model (chromium profile), and compare what each did.

Compared per fetch: whether a preflight was sent and its exact headers (network-layer headers
such as ``Host``, ``User-Agent``, ``Sec-Fetch-*`` left out), whether the actual request was
sent and its headers (author headers, ``Origin``, ``Cookie``), the outcome (allowed or a
network error), the status, and the response header names script could read.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from conformance.browser_check.cases import (
    COOKIE,
    COOKIE_NAME,
    COOKIE_VALUE,
    Case,
    Fetch,
    Origins,
    ResponseSpec,
    Skipped,
    render_response,
)
from conformance.browser_check.driver import (
    INSUFFICIENT_RESOURCES,
    ChromiumDriver,
    chromium_version,
)
from conformance.browser_check.server import LOOPBACK, Received, ScriptedServer
from reference.browser import FetchResult, browser_verdict
from reference.cache import EMPTY_CACHE
from reference.headers import HeaderList
from reference.origins import parse_serialized_origin
from reference.profiles import CHROMIUM, SPEC, Profile, Quirk
from reference.request import BrowserRequest
from reference.verdict import Allowed, RawResponse, WireRequest

# Headers the network layer adds below Fetch; CORS does not decide on them.
_NETWORK_HEADERS: Final = frozenset(
    {
        b"host",
        b"connection",
        b"content-length",
        b"user-agent",
        b"accept-encoding",
        b"referer",
        b"transfer-encoding",
        b"priority",
        b"upgrade-insecure-requests",
    }
)
_NETWORK_PREFIXES: Final = (b"sec-fetch-", b"sec-ch-")
# Headers the browser adds itself when script did not set them: compared only where the model's
# request has them (script set them). `Accept-Language` is the UA's default; `Cache-Control:
# max-age=0` is what Chromium adds to a request (and its preflight) when script sets a
# conditional header such as `If-None-Match` (the spec's "no-store" cache mode would add
# `Cache-Control`/`Pragma: no-cache` instead; the model does not simulate HTTP-network-or-cache
# fetch, and no CORS decision depends on either).
UA_DEFAULT_HEADERS: Final = frozenset({b"accept-language", b"cache-control", b"pragma"})

Headers = tuple[tuple[str, str], ...]

_RANGE: Final = re.compile(rb"[Bb][Yy][Tt][Ee][Ss][ \t]*=[ \t]*([0-9]*)[ \t]*-[ \t]*([0-9]*)[ \t]*")


def chromium_range_on_wire(value: bytes) -> bytes:
    """The ``Range`` value Chromium puts on the wire for a script-set one.

    Chromium's HTTP cache (below Fetch, after every CORS decision) parses a single byte range
    (unit in any case, whitespace allowed, leading zeros) and writes it back canonically:
    ``BYTES = 0-1`` goes out as ``bytes=0-1``. Other values go out as given. Observed in this
    harness (cases ``pinned:safelist-request/range-space-around-equals``,
    ``edge:request-range-uppercase``); net/http/http_cache_transaction.cc with
    net::HttpUtil::ParseRangeHeader and HttpByteRange::GetHeaderValue.
    """
    found = _RANGE.fullmatch(value)
    if found is None or not (found[1] or found[2]):
        return value
    first = int(found[1]) if found[1] else None
    last = int(found[2]) if found[2] else None
    limit = 2**63 - 1
    if (first is not None and first > limit) or (last is not None and last > limit):
        return value
    if first is None:
        return b"bytes=-%d" % (last or 0)
    if last is None:
        return b"bytes=%d-" % first
    if first > last:
        return value
    return b"bytes=%d-%d" % (first, last)


def comparable_headers(headers: HeaderList, *, keep: frozenset[bytes] = frozenset()) -> Headers:
    """Lowercased names, values as a server reads them (Latin-1 text, OWS trimmed), sorted;
    network-layer headers dropped, and the UA's own defaults too unless named in ``keep``."""
    out = []
    for name, value in headers:
        lowered = name.lower()
        if lowered in _NETWORK_HEADERS or lowered.startswith(_NETWORK_PREFIXES):
            continue
        if lowered in UA_DEFAULT_HEADERS and lowered not in keep:
            continue
        # Leading and trailing OWS is not part of a field value, so no server can see it:
        # the model's `5, ` (a duplicate `Accept: 5` and empty `Accept:` combined) arrives as
        # Chromium's `5,`.
        read = value.strip(b" \t")
        if lowered == b"range":
            read = chromium_range_on_wire(read)
        out.append((lowered.decode("latin-1"), read.decode("latin-1")))
    return tuple(sorted(out))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened for one fetch, in terms both sides can be described in."""

    preflights: tuple[Headers, ...]
    actuals: tuple[tuple[str, Headers], ...]  # (method, headers) per actual request
    allowed: bool
    status: int | None
    visible: tuple[str, ...] | None

    def differences(self, other: Outcome) -> dict[str, tuple[Any, Any]]:
        out: dict[str, tuple[Any, Any]] = {}
        for name in ("preflights", "actuals", "allowed", "status", "visible"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine != theirs:
                out[name] = (mine, theirs)
        return out


@dataclass(frozen=True, slots=True)
class Disagreement:
    case_id: str
    index: int  # which fetch of the case
    fields: dict[str, tuple[Any, Any]]  # name -> (model, chromium)
    case: Case
    browser_error: str | None
    network_errors: tuple[str, ...]
    console: tuple[str, ...]

    def describe(self) -> str:
        lines = [f"{self.case_id} (fetch {self.index}): model (chromium profile) vs Chromium"]
        for name, (model, browser) in self.fields.items():
            lines.append(f"  {name}: model={model!r}")
            lines.append(f"  {' ' * len(name)}  chromium={browser!r}")
        if self.browser_error:
            lines.append(f"  fetch() error: {self.browser_error}")
        lines += [f"  network error: {e}" for e in self.network_errors]
        lines += [f"  console: {c}" for c in self.console]
        lines.append(f"  case: {self.case.fetches[self.index]!r}")
        return "\n".join(lines)


@dataclass
class Report:
    chromium_version: str = ""
    cases: int = 0
    fetches_compared: int = 0
    agreed: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)
    not_compared: list[tuple[str, str]] = field(default_factory=list)  # (case id, why)
    skipped: list[Skipped] = field(default_factory=list)
    quirk_needed: Counter[str] = field(default_factory=Counter)
    spec_disagrees: int = 0  # fetches where the plain spec profile would disagree
    retries: int = 0
    seconds: float = 0.0
    shapes: Counter[str] = field(default_factory=Counter)  # what the compared fetches did
    # Cases Chromium failed below CORS (its HTTP parser refused the response, ...): case id ->
    # the network errors. They are still compared: the model must also say "blocked".
    network_errors: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Cases outside the model (Case.outside_model): what Chromium did, recorded, not compared.
    outside_model: dict[str, list[Outcome]] = field(default_factory=dict)
    # Per case id, per fetch: (model under chromium, model under the spec, Chromium).
    outcomes: dict[str, list[tuple[Outcome, Outcome, Outcome]]] = field(default_factory=dict)

    @property
    def agreement(self) -> float:
        return 100.0 * self.agreed / self.fetches_compared if self.fetches_compared else 0.0

    def summary(self) -> str:
        lines = [
            f"{self.chromium_version}",
            f"cases: {self.cases}, fetches compared: {self.fetches_compared}, "
            f"agreed: {self.agreed} ({self.agreement:.2f}%), "
            f"disagreements: {len(self.disagreements)}, not compared: {len(self.not_compared)}, "
            f"retries: {self.retries}, run time: {self.seconds:.1f} s",
            f"fetches where the spec profile (no quirks) would disagree: {self.spec_disagrees}",
            "what Chromium did: " + ", ".join(f"{k} {n}" for k, n in sorted(self.shapes.items())),
        ]
        if self.quirk_needed:
            lines.append("quirks the agreement rests on (fetches that disagree without it):")
            lines += [f"  {q}: {n}" for q, n in sorted(self.quirk_needed.items())]
        lines += [
            f"network error below CORS: {cid}: {', '.join(errors)}"
            for cid, errors in sorted(self.network_errors.items())
        ]
        lines += [
            f"outside the model (recorded): {cid}: {outcomes}"
            for cid, outcomes in sorted(self.outside_model.items())
        ]
        lines += [f"not compared: {cid}: {why}" for cid, why in self.not_compared]
        reasons = Counter(s.reason for s in self.skipped)
        lines += [f"pinned cases not expressible: {n}: {why}" for why, n in reasons.most_common()]
        lines += [d.describe() for d in self.disagreements]
        return "\n".join(lines)


# --- the model side --------------------------------------------------------------------------


def _url(origins: Origins, fetch: Fetch, token: str) -> str:
    base = origins.page if fetch.same_origin else origins.api
    return f"{base}/c/{token}{fetch.path}"


def _request(origins: Origins, fetch: Fetch, url: str) -> BrowserRequest:
    origin = parse_serialized_origin(origins.page)
    assert origin is not None
    return BrowserRequest(
        origin=origin,
        url=url,
        method=fetch.method,
        headers=fetch.headers,
        credentials=fetch.credentials,
        mode=fetch.mode,
        body=fetch.body,
        cookie=COOKIE,
        headers_api=fetch.api,
        use_cors_preflight=fetch.use_cors_preflight,
    )


def _respond(spec: ResponseSpec | None, origins: Origins, headers: HeaderList) -> RawResponse:
    status, lines = render_response(spec or ResponseSpec(404, ()), origins, headers)
    return RawResponse(status=status, headers=lines)


def model_outcomes(
    case: Case, origins: Origins, token: str, profile: Profile = CHROMIUM
) -> list[Outcome]:
    cache = EMPTY_CACHE
    out = []
    for fetch in case.fetches:
        request = _request(origins, fetch, _url(origins, fetch, token))

        def responder(wire: WireRequest, fetch: Fetch = fetch) -> RawResponse:
            spec = fetch.preflight if wire.is_preflight else fetch.response
            return _respond(spec, origins, wire.headers)

        result: FetchResult = browser_verdict(
            request, responder, profile=profile, cache=cache, now=fetch.at, trace=False
        )
        cache = result.cache
        out.append(_model_outcome(result))
    return out


def _model_outcome(result: FetchResult) -> Outcome:
    verdict = result.verdict
    preflights = tuple(
        comparable_headers(w.headers, keep=UA_DEFAULT_HEADERS)
        for w in verdict.wire
        if w.is_preflight
    )
    actuals = tuple(
        (w.method.decode("latin-1"), comparable_headers(w.headers, keep=UA_DEFAULT_HEADERS))
        for w in verdict.wire
        if not w.is_preflight
    )
    if isinstance(verdict, Allowed):
        names = tuple(n.decode("latin-1") for n in verdict.visible_header_names)
        return Outcome(preflights, actuals, True, verdict.status, names)
    return Outcome(preflights, actuals, False, None, None)


# --- the browser side ------------------------------------------------------------------------


def _kept(headers: Iterable[Headers]) -> frozenset[bytes]:
    return frozenset(
        name.encode() for one in headers for name, _ in one if name.encode() in UA_DEFAULT_HEADERS
    )


def _browser_outcome(
    received: Sequence[Received], result: dict[str, Any], model: Outcome
) -> Outcome:
    keep_preflight = _kept(model.preflights)
    keep_actual = _kept(headers for _, headers in model.actuals)
    preflights = tuple(
        comparable_headers(r.headers, keep=keep_preflight) for r in received if r.is_preflight
    )
    actuals = tuple(
        (r.method.decode("latin-1"), comparable_headers(r.headers, keep=keep_actual))
        for r in received
        if not r.is_preflight
    )
    if result["ok"]:
        names = tuple(sorted(str(n) for n in result["names"]))
        return Outcome(preflights, actuals, True, int(result["status"]), names)
    return Outcome(preflights, actuals, False, None, None)


def _job(case: Case, origins: Origins, token: str) -> dict[str, Any]:
    def fetch_json(fetch: Fetch) -> dict[str, Any]:
        return {
            "url": _url(origins, fetch, token),
            "method": fetch.method,
            "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in fetch.headers],
            "credentials": fetch.credentials.value,
            "mode": fetch.mode.value,
            "body": None if fetch.body is None else fetch.body.decode("latin-1"),
            "at": fetch.at,
            "xhr": fetch.by_xhr,
            "flag": fetch.use_cors_preflight,
        }

    if case.is_sequence:
        return {
            "key": token,
            "stepUrl": f"{origins.page}/step/{token}",
            "steps": [fetch_json(f) for f in case.fetches],
        }
    return {"key": token, **fetch_json(case.fetches[0])}


def _without(profile: Profile, quirk: Quirk) -> Profile:
    return Profile(
        name=f"{profile.name}-without-{quirk}",
        quirks=profile.quirks - {quirk},
        max_age_cap=profile.max_age_cap,
        evidence=profile.evidence,
    )


# --- the run ---------------------------------------------------------------------------------


@dataclass
class _Attempt:
    case: Case
    token: str
    tries: int


def run_cases(
    cases: Sequence[Case],
    *,
    skipped: Iterable[Skipped] = (),
    concurrency: int = 12,
    batch_size: int = 200,
    max_tries: int = 4,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Run every case in Chromium and in the model; returns the comparison."""
    report = Report(skipped=list(skipped))
    started = time.monotonic()
    counter = itertools.count()
    run_id = f"{os.getpid():x}{int(time.time()) % 100000:x}"
    with ScriptedServer() as server:
        origins = Origins(page=server.page_origin, api=server.api_origin)
        with ChromiumDriver(
            f"{origins.page}/", cookie=(COOKIE_NAME, COOKIE_VALUE, LOOPBACK)
        ) as driver:
            report.chromium_version = chromium_version() or driver.browser_version
            singles = [c for c in cases if not c.is_sequence]
            sequences = [c for c in cases if c.is_sequence]
            work: list[tuple[list[_Attempt], int]] = []
            for i in range(0, len(singles), batch_size):
                work.append(
                    ([_Attempt(c, "", 0) for c in singles[i : i + batch_size]], concurrency)
                )
            if sequences:
                work.append(([_Attempt(c, "", 0) for c in sequences], len(sequences)))
            for batch, in_flight in work:
                pending = batch
                while pending:
                    for attempt in pending:
                        attempt.token = f"{run_id}-{next(counter):x}"
                        attempt.tries += 1
                        server.register(attempt.token, _server_responder(attempt.case, origins))
                    jobs = [_job(a.case, origins, a.token) for a in pending]
                    results = driver.run_jobs(jobs, concurrency=in_flight)
                    retry = []
                    for attempt in pending:
                        outcome = _settle(
                            attempt,
                            results=results.get(attempt.token),
                            server=server,
                            driver=driver,
                            origins=origins,
                            report=report,
                        )
                        if outcome == "retry":
                            if attempt.tries < max_tries:
                                retry.append(attempt)
                                report.retries += 1
                            else:
                                report.not_compared.append(
                                    (attempt.case.id, f"still failing after {attempt.tries} tries")
                                )
                        server.forget(attempt.token)
                    pending = retry
                if progress is not None:
                    progress(
                        f"{report.cases} cases, {report.fetches_compared} fetches, "
                        f"{len(report.disagreements)} disagreements, "
                        f"{time.monotonic() - started:.0f} s"
                    )
    report.seconds = time.monotonic() - started
    return report


def _server_responder(case: Case, origins: Origins) -> Callable[[str, int, Received], RawResponse]:
    def respond(_token: str, step: int, received: Received) -> RawResponse:
        fetch = case.fetches[min(step, len(case.fetches) - 1)]
        spec = fetch.preflight if received.is_preflight else fetch.response
        return _respond(spec, origins, received.headers)

    return respond


def _settle(
    attempt: _Attempt,
    *,
    results: list[dict[str, Any]] | None,
    server: ScriptedServer,
    driver: ChromiumDriver,
    origins: Origins,
    report: Report,
) -> str:
    case, token = attempt.case, attempt.token
    if results is None or len(results) != len(case.fetches):
        return "retry"
    urls = {_url(origins, f, token) for f in case.fetches}
    errors = tuple(e for url in sorted(urls) for e in driver.failures.get(url, ()))
    console = tuple(c for url in sorted(urls) for c in driver.console.get(url, ()))
    if any(INSUFFICIENT_RESOURCES in e for e in errors) or any(r.get("aborted") for r in results):
        return "retry"
    below_cors = tuple(e for e in errors if e not in ("net::ERR_FAILED", "net::ERR_ABORTED"))
    if below_cors:
        report.network_errors[case.id] = below_cors
    received = server.received(token)
    if case.outside_model:
        report.outside_model[case.id] = [
            _browser_outcome(received, result, Outcome((), (), False, None, None))
            for result in results
        ]
        return "done"
    model = model_outcomes(case, origins, token)
    spec = model_outcomes(case, origins, token, SPEC)
    report.cases += 1
    pairs = []
    for index, (expected, result) in enumerate(zip(model, results, strict=True)):
        observed = _browser_outcome(
            [r for r in received if r.step == index or not case.is_sequence], result, expected
        )
        report.fetches_compared += 1
        pairs.append((expected, spec[index], observed))
        report.shapes["preflighted" if observed.preflights else "no preflight"] += 1
        report.shapes["allowed" if observed.allowed else "blocked"] += 1
        differences = expected.differences(observed)
        if not differences:
            report.agreed += 1
            if spec[index].differences(observed):
                report.spec_disagrees += 1
                for quirk in sorted(CHROMIUM.quirks):
                    without = model_outcomes(case, origins, token, _without(CHROMIUM, quirk))
                    if without[index].differences(observed):
                        report.quirk_needed[str(quirk)] += 1
            continue
        report.disagreements.append(
            Disagreement(
                case_id=case.id,
                index=index,
                fields=differences,
                case=case,
                browser_error=result.get("error"),
                network_errors=errors,
                console=console,
            )
        )
    report.outcomes[case.id] = pairs
    return "done"
