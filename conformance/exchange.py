"""Run one browser fetch against a target: the model says what goes on the wire, the target
answers, the model decides. Also re-judges recorded responses under other browser profiles."""

from __future__ import annotations

import time

from conformance.divergences import Exchange
from conformance.outcomes import SendRefused
from conformance.targets import Target
from reference.browser import FetchResult, MissingResponse, browser_verdict, fetch_steps
from reference.cache import EMPTY_CACHE, PreflightCache
from reference.profiles import SPEC, Profile
from reference.request import BrowserRequest
from reference.verdict import RawResponse, WireRequest


def run_fetch(
    target: Target,
    request: BrowserRequest,
    *,
    profile: Profile = SPEC,
    cache: PreflightCache = EMPTY_CACHE,
    now: float = 0.0,
) -> Exchange:
    """Perform ``request`` as a browser with ``profile`` would, against ``target``."""
    pairs: list[tuple[WireRequest, RawResponse]] = []
    # No tracing on the hot path: the verdict is the same; rejudge(..., trace=True) explains it
    # when a divergence needs its steps.
    steps = fetch_steps(request, profile=profile, cache=cache, now=now)
    started = time.perf_counter()
    out = steps.first()
    while not isinstance(out, FetchResult):
        try:
            response = target.send(out)
        except SendRefused:
            if not pairs:
                raise
            # The browser got this far (e.g. the preflight passed) and would now send a
            # request the suite will not: judge what was seen.
            steps.close()
            return Exchange(
                request=request,
                pairs=tuple(pairs),
                result=None,
                elapsed=time.perf_counter() - started,
                refused=out,
            )
        pairs.append((out, response))
        out = steps.send(response)
    return Exchange(
        request=request,
        pairs=tuple(pairs),
        result=out,
        elapsed=time.perf_counter() - started,
    )


def rejudge(exchange: Exchange, profile: Profile, *, trace: bool = False) -> FetchResult | None:
    """The verdict of ``profile`` on the same recorded responses, or ``None`` when that browser
    would have put different requests on the wire (then the recording cannot answer for it)."""
    request = exchange.request
    if request is None:
        return None
    pairs = list(exchange.pairs)

    def responder(wire: WireRequest) -> RawResponse:
        if not pairs:
            raise MissingResponse(wire)
        sent, response = pairs.pop(0)
        # The same request, its headers perhaps in another order (usually simply equal).
        if sent != wire and sent._replace(headers=tuple(sorted(sent.headers))) != wire._replace(
            headers=tuple(sorted(wire.headers))
        ):
            raise MissingResponse(wire)
        return response

    if trace:
        try:
            result = browser_verdict(request, responder, profile=profile, trace=True)
        except MissingResponse:
            return None
        return result if not pairs else None
    # The same decision by calls, as run_fetch makes it (no generator, no trace).
    steps = fetch_steps(request, profile=profile)
    out = steps.first()
    try:
        while not isinstance(out, FetchResult):
            out = steps.send(responder(out))
    except MissingResponse:
        steps.close()
        return None
    return out if not pairs else None


def send_raw(target: Target, wire: WireRequest) -> Exchange:
    """Send one request as is (hostile input, differential probes); no model involved."""
    started = time.perf_counter()
    response = target.send(wire)
    return Exchange(
        request=None,
        pairs=((wire, response),),
        result=None,
        elapsed=time.perf_counter() - started,
    )
