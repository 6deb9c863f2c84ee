"""Benchmark: the model's verdicts per second, and its cost relative to one in-process request
to a Starlette app (measured in the same run). Goal (issue: the oracle): under 5%.

    python benchmarks/model.py [--seconds 6] [--rounds 12]

Verdicts are computed as a run computes them (``trace=False``: reference.fast, which hands
what it does not cover to the stepwise model); the stepwise model with tracing, as ``explain``
runs it, is measured too, for information. The measurements alternate in short rounds and the
median round of each is kept, so that a slower spell of a shared machine falls on both sides
of the ratio alike.

Two mixes are timed: five synthetic cases, and the fetches a suite run against the bundled app
(as `benchmarks/suite.py` runs it) judged, recorded and replayed; the second is heavier (more
headers a response, most fetches blocked). The model memoizes pure functions of values that
recur from case to case (a header list, an Access-Control-Allow-Methods value, ...), and both
mixes replayed keep every memo warm. So that the figures do not rest on that unsaid, the script
also prints the cost with every memo emptied before each verdict, and how often the memos hit
in the recorded run.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from conformance.divergences import Exchange
from conformance.targets import Target
from reference import cache as model_cache
from reference import fast, headers, origins, policy_eval, safelist
from reference.browser import browser_verdict
from reference.cache import EMPTY_CACHE, PreflightCache
from reference.origins import origin_of
from reference.profiles import SPEC, Profile
from reference.request import BrowserRequest, CredentialsMode
from reference.verdict import RawResponse

PAGE = origin_of("https://app.example")
OK_PREFLIGHT = RawResponse(
    status=204,
    headers=(
        (b"Access-Control-Allow-Origin", b"https://app.example"),
        (b"Access-Control-Allow-Credentials", b"true"),
        (b"Access-Control-Allow-Methods", b"GET, POST, PUT, DELETE"),
        (b"Access-Control-Allow-Headers", b"content-type, x-api-key"),
        (b"Access-Control-Max-Age", b"600"),
        (b"Vary", b"Origin"),
    ),
)
OK_ACTUAL = RawResponse(
    status=200,
    headers=(
        (b"content-type", b"application/json"),
        (b"x-request-id", b"1"),
        (b"Access-Control-Allow-Origin", b"https://app.example"),
        (b"Access-Control-Allow-Credentials", b"true"),
        (b"Access-Control-Expose-Headers", b"x-request-id"),
        (b"Vary", b"Origin"),
    ),
)
REFUSED = RawResponse(status=200, headers=((b"content-type", b"text/plain"),))
CASES: list[tuple[BrowserRequest, list[RawResponse]]] = [
    (BrowserRequest(origin=PAGE, url="https://api.example/items"), [OK_ACTUAL]),
    (BrowserRequest(origin=PAGE, url="https://api.example/items"), [REFUSED]),
    (
        BrowserRequest(
            origin=PAGE,
            url="https://api.example/items",
            method="PUT",
            headers=((b"Content-Type", b"application/json"), (b"X-Api-Key", b"k")),
            credentials=CredentialsMode.INCLUDE,
            body=b"{}",
        ),
        [OK_PREFLIGHT, OK_ACTUAL],
    ),
    (
        BrowserRequest(
            origin=PAGE,
            url="https://api.example/items",
            method="DELETE",
            headers=((b"X-Other", b"1"),),
        ),
        [OK_PREFLIGHT],
    ),
    (
        BrowserRequest(
            origin=PAGE,
            url="https://api.example/items",
            method="POST",
            headers=((b"Content-Type", b"text/plain;charset=UTF-8"),),
            credentials=CredentialsMode.INCLUDE,
            body=b"x",
        ),
        [OK_ACTUAL],
    ),
]


# Every memo of reference/ (functools.lru_cache), by name.
MEMOS = {
    "split_list": headers.split_list,
    "max_age_of": model_cache.max_age_of,
    "parse_url": origins._parse_url,
    "parse_host": origins.parse_host,
    "request method": fast._method,
    "request headers (cors mode)": safelist.cors_mode_headers,
    "author headers": safelist._author_header,
    "visible names": fast._visible,
    "actual responses": fast._actual_outcome,
    "preflight responses": fast._preflight_outcome,
    "preflight response facts": fast._preflight_facts,
    "header_names": headers.header_names,
    "received headers": headers._received,
    "policy intent": policy_eval._decided,
    "policy method": policy_eval._method_facts,
    "policy unsafe names": policy_eval._unsafe_names,
    "decision_header_list": safelist.decision_header_list,
    "prepare_author_headers": safelist.prepare_author_headers,
    "cors_unsafe_request_header_names": safelist.cors_unsafe_request_header_names,
}


def clear_memos() -> None:
    for memo in MEMOS.values():
        memo.cache_clear()


Fetch = tuple[BrowserRequest, list[RawResponse], Profile, PreflightCache, float]


def record_suite_fetches() -> tuple[list[Fetch], str]:
    """Run the suite's properties against the bundled app (as benchmarks/suite.py does) with
    empty memos, and keep every fetch it judged: the request and the responses the app gave.
    Returns them with the memo hit rates of that run."""
    # Imported here, and benchmarks/ is not a package on the path of a script.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.suite import run_properties
    from conformance import exchange, properties
    from conformance.examples.fastapi_docs import app as docs_app
    from conformance.targets import AsgiTarget

    fetches: list[Fetch] = []
    run_fetch = exchange.run_fetch

    def recording(
        target: Target,
        request: BrowserRequest,
        *,
        profile: Profile = SPEC,
        cache: PreflightCache = EMPTY_CACHE,
        now: float = 0.0,
    ) -> Exchange:
        done = run_fetch(target, request, profile=profile, cache=cache, now=now)
        if done.result is not None:
            fetches.append((request, [r for _, r in done.pairs], profile, cache, now))
        return done

    clear_memos()
    target = AsgiTarget(docs_app)
    # Measurement only: the properties fetch through this one name.
    setattr(properties, "run_fetch", recording)  # noqa: B010 (not re-exported: mypy)
    try:
        run_properties(target, examples=30)
    finally:
        setattr(properties, "run_fetch", run_fetch)  # noqa: B010
        target.close()
    shown = []
    for name, memo in MEMOS.items():
        info = memo.cache_info()
        calls = info.hits + info.misses
        if calls:
            shown.append(f"{name} {info.hits / calls:.0%} of {calls:,}")
    return fetches, "; ".join(shown)


def per_second(fn: Callable[[], object], seconds: float) -> float:
    count, started = 0, time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        fn()
        count += 1
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="total time per measurement")
    parser.add_argument("--rounds", type=int, default=12, help="alternating rounds")
    args = parser.parse_args()

    index = 0

    def one_verdict() -> None:
        nonlocal index
        request, responses = CASES[index % len(CASES)]
        index += 1
        browser_verdict(request, responses, trace=False)

    fetches, hit_rates = record_suite_fetches()
    recorded = 0

    def one_recorded_verdict() -> None:
        nonlocal recorded
        request, responses, profile, cache, now = fetches[recorded % len(fetches)]
        recorded += 1
        browser_verdict(request, responses, profile=profile, cache=cache, now=now, trace=False)

    def one_cold_verdict() -> None:
        nonlocal index
        request, responses = CASES[index % len(CASES)]
        index += 1
        clear_memos()
        browser_verdict(request, responses, trace=False)

    def one_traced_verdict() -> None:
        nonlocal index
        request, responses = CASES[index % len(CASES)]
        index += 1
        browser_verdict(request, responses, trace=True)

    async def items(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok", headers={"x-request-id": "1"})

    app = Starlette(
        routes=[Route("/items", items, methods=["GET", "PUT", "POST", "DELETE"])],
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=["https://app.example"],
                allow_credentials=True,
                allow_methods=["*"],
                allow_headers=["*"],
            )
        ],
    )
    loop = asyncio.new_event_loop()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    request = httpx.Request(
        "GET", "http://testserver/items", headers=[(b"Origin", b"https://app.example")]
    )

    def one_request() -> None:
        response = loop.run_until_complete(client.send(request))
        loop.run_until_complete(response.aread())

    burst = args.seconds / args.rounds
    rates: dict[str, list[float]] = {
        "verdict": [],
        "traced": [],
        "request": [],
        "cold": [],
        "clear": [],
        "recorded": [],
    }
    for _ in range(args.rounds):
        rates["verdict"].append(per_second(one_verdict, burst))
        rates["recorded"].append(per_second(one_recorded_verdict, burst))
        rates["request"].append(per_second(one_request, burst))
        rates["traced"].append(per_second(one_traced_verdict, burst / 4))
        rates["cold"].append(per_second(one_cold_verdict, burst / 4))
        rates["clear"].append(per_second(clear_memos, burst / 8))
    verdicts, traced, requests = (
        statistics.median(rates[k]) for k in ("verdict", "traced", "request")
    )
    spread = min(rates["verdict"]) / max(rates["verdict"])
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    print(
        f"model: {verdicts:,.0f} verdicts/s over {len(CASES)} mixed cases "
        f"({1e6 / verdicts:.1f} us each; median of {args.rounds} rounds, slowest round "
        f"{spread:.0%} of the fastest)"
    )
    print(
        f"  stepwise with tracing (explain): {traced:,.0f} verdicts/s ({1e6 / traced:.1f} us each)"
    )
    cold = 1e6 / statistics.median(rates["cold"]) - 1e6 / statistics.median(rates["clear"])
    print(f"  every memo emptied before each verdict: {cold:.1f} us each")
    print(
        f"baseline: {requests:,.0f} in-process requests/s to a Starlette app with "
        f"CORSMiddleware ({1e6 / requests:.1f} us each)"
    )
    share = requests / verdicts
    print(f"model cost / one request: {share:.1%} (goal: under 5%)")
    print(f"  (memos emptied: {cold * requests / 1e6:.1%})")
    real = statistics.median(rates["recorded"])
    print(
        f"the {len(fetches):,} fetches of a suite run (bundled app, 30 examples a property), "
        f"replayed: {1e6 / real:.1f} us each, {requests / real:.1%} of one request"
    )
    print(f"  memo hit rates in that run: {hit_rates}")
    loop.run_until_complete(client.aclose())
    loop.close()


if __name__ == "__main__":
    main()
