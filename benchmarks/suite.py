"""Benchmark: the suite against the same in-process Starlette app, and against a uvicorn URL
target on loopback. Prints figures as ratios against baselines measured in the same run.

    python benchmarks/suite.py [--quick]

(a) a plain httpx loop sending the same request sequence the suite sends (the ceiling);
(b) the suite's requests per second; (c) their ratio (goal >= 0.5);
(d) the model's share of the time per request (goal < 5%);
(e) the speedup of -n 2 over -n 0 (goal >= 1.7 on 2 cores);
(f) the wall time of the ci profile (goal < 60 s);
(g) the peak RSS of a ci run (goal < 250 MB), and of a 10x longer run (memory flat).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import platform
import pstats
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conformance.context import SuiteContext  # noqa: E402
from conformance.divergences import Divergence  # noqa: E402
from conformance.outcomes import HarnessOutcome  # noqa: E402
from conformance.properties import PROPERTIES  # noqa: E402
from conformance.records import walk_exceptions  # noqa: E402
from conformance.settings import load_policy_file  # noqa: E402
from conformance.targets import AsgiTarget, Target, UrlTarget  # noqa: E402
from reference.verdict import RawResponse, WireRequest  # noqa: E402

APP = "conformance.examples.fastapi_docs:app"
POLICY = str(ROOT / "conformance/policies/fastapi-docs.toml")


class Recording:
    """Wraps a target and keeps every wire request, to replay them in a plain loop."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.name = target.name
        self.base_url = target.base_url
        self.limits = target.limits
        self.sent: list[WireRequest] = []

    def send(self, wire: WireRequest) -> RawResponse:
        self.sent.append(wire)
        return self.target.send(wire)

    def close(self) -> None:
        self.target.close()


def run_properties(target: Target, *, examples: int, seed: int = 1) -> tuple[float, int]:
    from conformance.examples.fastapi_docs import app  # noqa: F401  (import cost outside timing)

    policy, _ = load_policy_file(POLICY)
    ctx = SuiteContext(target=target, policy=policy, profile="ci", seed=seed, max_examples=examples)
    started = time.perf_counter()
    for prop in PROPERTIES:
        try:
            prop.build(ctx)()
        except BaseException as exc:  # divergences are expected: this app has some
            for inner in walk_exceptions(exc):
                if not isinstance(inner, Divergence | HarnessOutcome):
                    raise
    return time.perf_counter() - started, ctx.cases_sent


def plain_loop(target: Target, wires: list[WireRequest]) -> float:
    started = time.perf_counter()
    for wire in wires:
        with contextlib.suppress(HarnessOutcome):
            target.send(wire)
    return time.perf_counter() - started


def model_share(examples: int) -> float:
    from conformance.examples.fastapi_docs import app

    profiler = cProfile.Profile()
    target = AsgiTarget(app)
    profiler.enable()
    run_properties(target, examples=examples)
    profiler.disable()
    target.close()
    stats = pstats.Stats(profiler)
    total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
    model = sum(
        row[2]
        for (filename, _, _), row in stats.stats.items()  # type: ignore[attr-defined]
        if f"{os.sep}reference{os.sep}" in filename
    )
    return model / total if total else 0.0


def cli_run(*args: str) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of one `cors-conformance run` in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "conformance.cli", "run", *args, "--report-dir", "/tmp/cc-bench"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(after, before)


@contextlib.contextmanager
def uvicorn_server() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            APP,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def section(title: str) -> None:
    print(f"\n== {title} ==")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer examples, no CLI runs")
    args = parser.parse_args()
    examples = 30 if args.quick else 100
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )

    from conformance.examples.fastapi_docs import app

    section(f"in-process ASGI target ({APP}), {examples} examples per property")
    recording = Recording(AsgiTarget(app))
    suite_time, _ = run_properties(recording, examples=examples)
    ceiling = plain_loop(AsgiTarget(app), recording.sent)
    print(
        f"(a) plain httpx loop: {len(recording.sent) / ceiling:,.0f} requests/s "
        f"({len(recording.sent)} requests)"
    )
    print(
        f"(b) suite:            {len(recording.sent) / suite_time:,.0f} requests/s "
        f"({suite_time:.2f} s)"
    )
    print(f"(c) ratio:            {ceiling / suite_time:.2f} (goal >= 0.5)")
    print(
        f"(d) model share:      {model_share(examples):.1%} of the time (goal < 5%; "
        "measured under cProfile)"
    )

    with uvicorn_server() as url:
        section(f"URL target: uvicorn on {url}")
        recording = Recording(UrlTarget(url, rate=None, max_requests=None))
        suite_time, _ = run_properties(recording, examples=examples)
        ceiling = plain_loop(UrlTarget(url, rate=None, max_requests=None), recording.sent)
        print(f"(a) plain httpx loop: {len(recording.sent) / ceiling:,.0f} requests/s")
        print(f"(b) suite:            {len(recording.sent) / suite_time:,.0f} requests/s")
        print(f"(c) ratio:            {ceiling / suite_time:.2f} (goal >= 0.5)")

    if args.quick:
        return
    section("whole runs (cors-conformance run --profile ci, fresh processes)")
    common = ["--app", APP, "--policy", POLICY, "--profile", "ci", "--seed", "1"]
    serial, rss = cli_run(*common)
    parallel, _ = cli_run(*common, "-n", "2")
    print(f"(e) -n 2 speedup over -n 0: {serial / parallel:.2f}x (goal >= 1.7)")
    print(f"(f) ci profile wall time:   {serial:.1f} s (goal < 60 s)")
    print(f"(g) ci peak RSS:            {rss / 1024:.0f} MB (goal < 250 MB)")
    _, rss_long = cli_run(*common, "--max-examples", "1000")
    print(f"    10x longer run peak RSS: {rss_long / 1024:.0f} MB")


if __name__ == "__main__":
    main()
