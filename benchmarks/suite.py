"""Benchmark: the suite against the same in-process Starlette app, and against a uvicorn URL
target on loopback. Prints figures as ratios against baselines measured in the same run.

    python benchmarks/suite.py [--quick] [--repeat N] [--model-runs N]

(a) a plain httpx loop sending the same request sequence the suite sends (the ceiling);
(b) the suite's requests per second; (c) their ratio (goal >= 0.5);
(d) the model's share of the time per request (goal < 5%), CPU sampled on SIGPROF in fresh
    processes, as a real run meets it (memos empty at the start); beside it the same inside
    real `cors-conformance run` processes (benchmarks/sample_plugin.py), with every memo warm,
    and the cProfile figure (which overstates a model of many small calls);
(e) the speedup of -n 2 over -n 0 (goal >= 1.7 on 2 cores), judged at --profile thorough, the
    nightly run -n is for, and printed at --profile ci too, with Amdahl's bound for the ci run's
    start-up (paid once in either mode); -n 2 forks its workers (the default), and at ci the
    same with pytest-xdist's workers (--parallel xdist) is printed for comparison. Beside each,
    this machine's own ceiling for such work: two independent -n 0 runs at once against one
    alone (2.0x only if two busy cores each run as fast as one);
(f) the wall time of the ci profile (goal < 60 s);
(g) the peak RSS of a ci run (goal < 250 MB), and of a 10x longer run (memory flat).

Fairness: the suite runs once to record the requests it sends (only those a target answered);
then the suite and the plain loop run in turn, ``--repeat`` times each, and the fastest run of
each is kept (the least disturbed by other work on the machine); the spread of the runs is
printed. The suite runs after a warm-up, so its one-time set-up (pools built per policy) is
printed apart. Every suite run sends the same sequence (same seed, deterministic app).

Whole runs (e, f, g) are fresh `cors-conformance run` processes, -n 0 and -n 2 in pairs whose
order alternates; a pair counts only if the rest of the machine stayed quiet meanwhile (read
from /proc/stat: the CPU time the machine spent beyond the run's own), since -n 2 needs both
cores. On a shared machine, compare figures from one run of this script, not across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import platform
import pstats
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.sample_plugin import sampling  # noqa: E402
from conformance.context import SuiteContext  # noqa: E402
from conformance.divergences import Divergence  # noqa: E402
from conformance.outcomes import HarnessOutcome  # noqa: E402
from conformance.plugin import tune_gc  # noqa: E402
from conformance.properties import PROPERTIES  # noqa: E402
from conformance.records import walk_exceptions  # noqa: E402
from conformance.settings import load_policy_file  # noqa: E402
from conformance.targets import AsgiTarget, Target, UrlTarget  # noqa: E402
from reference.verdict import RawResponse, WireRequest  # noqa: E402

APP = "conformance.examples.fastapi_docs:app"
POLICY = str(ROOT / "conformance/policies/fastapi-docs.toml")
REAL_RUN = ["--app", APP, "--policy", POLICY, "--seed", "1", "--profile", "ci"]
REAL_RUN += ["--report-dir", "/tmp/cc-bench"]


class Recording:
    """Wraps a target and keeps every wire request it answered, to replay them in a plain
    loop. (``inner``: the suite looks through wrappers, e.g. to measure memory in process.)"""

    def __init__(self, target: Target) -> None:
        self.inner = target
        self.name = target.name
        self.base_url = target.base_url
        self.limits = target.limits
        self.sent: list[WireRequest] = []

    def send(self, wire: WireRequest) -> RawResponse:
        response = self.inner.send(wire)
        self.sent.append(wire)
        return response

    def close(self) -> None:
        self.inner.close()


@dataclass(frozen=True, slots=True)
class Timing:
    wall: float
    cpu: float


def timed(work: Callable[[], object]) -> Timing:
    cpu, wall = time.process_time(), time.perf_counter()
    work()
    return Timing(time.perf_counter() - wall, time.process_time() - cpu)


def run_properties(target: Target, *, examples: int, seed: int = 1) -> int:
    """Every property against ``target`` as a ci run does; the cases it sent."""
    policy, _ = load_policy_file(POLICY)
    ctx = SuiteContext(target=target, policy=policy, profile="ci", seed=seed, max_examples=examples)
    for prop in PROPERTIES:
        try:
            prop.build(ctx)()
        except BaseException as exc:  # divergences are expected: this app has some
            for inner in walk_exceptions(exc):
                if not isinstance(inner, Divergence | HarnessOutcome):
                    raise
    return ctx.cases_sent


def _request(wire: WireRequest) -> httpx.Request:
    return httpx.Request(
        wire.method.decode("latin-1"), wire.url, headers=list(wire.headers), content=wire.body
    )


def plain_asgi_loop(app: Any, wires: list[WireRequest]) -> Callable[[], None]:
    """The ceiling in process: httpx's ASGI transport, every request and response read, in one
    coroutine (one trip into the event loop for the whole sequence)."""

    async def loop() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
            for wire in wires:
                response = await client.send(_request(wire))
                await response.aread()

    return lambda: asyncio.run(loop())


def plain_url_loop(wires: list[WireRequest]) -> Callable[[], None]:
    """The ceiling over HTTP: one httpx client (keep-alive), every response read."""

    def loop() -> None:
        with httpx.Client() as client:
            for wire in wires:
                client.send(_request(wire)).read()

    return loop


def suite_loop(make_target: Callable[[], Target], examples: int) -> Callable[[], None]:
    def run() -> None:
        target = make_target()
        try:
            run_properties(target, examples=examples)
        finally:
            target.close()

    return run


def compare(
    label: str,
    make_target: Callable[[], Target],
    plain: Callable[[list[WireRequest]], Callable[[], None]],
    *,
    examples: int,
    repeat: int,
) -> None:
    recording = Recording(make_target())
    cold = timed(lambda: run_properties(recording, examples=examples))
    recording.close()
    wires = recording.sent
    n = len(wires)
    suite, ceiling = [], []
    for _ in range(repeat):  # in turn, so that both see the same machine
        suite.append(timed(suite_loop(make_target, examples)))
        ceiling.append(timed(plain(wires)))
    best_suite = min(suite, key=lambda t: t.wall)
    best_plain = min(ceiling, key=lambda t: t.wall)
    cpu_ratio = min(t.cpu for t in ceiling) / min(t.cpu for t in suite)
    print(
        f"requests: {n} per suite run ({len(set(wires))} distinct); "
        f"{repeat} runs of each, the fastest kept; one-time set-up of the first suite run "
        f"{max(cold.wall - best_suite.wall, 0):.2f} s"
    )
    print(f"(a) plain httpx loop: {n / best_plain.wall:8,.0f} requests/s  {_spread(ceiling)}")
    print(f"(b) suite:            {n / best_suite.wall:8,.0f} requests/s  {_spread(suite)}")
    print(
        f"(c) ratio:            {best_plain.wall / best_suite.wall:8.2f} (goal >= 0.5; "
        f"by CPU time {cpu_ratio:.2f}) [{label}]"
    )


def _spread(runs: list[Timing]) -> str:
    walls = sorted(t.wall for t in runs)
    return (
        f"(wall {walls[0]:.3f} s fastest, {statistics.median(walls):.3f} s median, "
        f"{walls[-1]:.3f} s slowest)"
    )


def transport_alone(app: Any, wires: list[WireRequest], repeat: int) -> None:
    """The suite's own in-process transport with nothing else: how it compares with httpx."""
    target = AsgiTarget(app)
    runs = [timed(lambda: [target.send(w) for w in wires]) for _ in range(repeat)]
    target.close()
    plain = [timed(plain_asgi_loop(app, wires)) for _ in range(repeat)]
    ours, theirs = min(t.wall for t in runs), min(t.wall for t in plain)
    print(
        f"    the suite's AsgiTarget alone: {len(wires) / ours:,.0f} requests/s "
        f"({theirs / ours:.1f}x the plain httpx loop)"
    )


def sampled_model_share(app: Any, examples: int) -> float:
    model, total = sampled_model_counts(app, examples)
    return model / total if total else 0.0


def fresh_model_share(examples: int, runs: int) -> tuple[float, int, list[float]]:
    """(d) as a real run meets it: each run in a fresh process (``--sample-once``), every memo
    of the model and of the strategies empty at the start, as in a ``cors-conformance run``;
    the samples of all runs pooled (one run takes a few hundred: the kernel's 4 ms tick).
    Returns the pooled share, the samples, and each run's share."""
    model = total = 0
    each = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, __file__, "--sample-once", "--examples", str(examples)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        m, t = json.loads(done.stdout.splitlines()[-1])
        model, total = model + m, total + t
        each.append(m / t if t else 0.0)
    return (model / total if total else 0.0), total, each


def real_run_model_share(runs: int) -> tuple[float, list[float]]:
    """(d) inside real ``cors-conformance run --profile ci -n 0`` processes, over their
    properties (start-up left out): what the bare loop of :func:`fresh_model_share` stands for,
    with pytest, the progress line and the records around every case. Sampled the same way
    (``benchmarks/sample_plugin.py``). Returns the pooled share and each run's."""
    model = total = 0
    each = []
    counts = Path("/tmp/cc-bench-samples.json")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTEST_ADDOPTS": "-p benchmarks.sample_plugin",
        "CORS_BENCH_SAMPLES": str(counts),
    }
    for _ in range(runs):
        counts.unlink(missing_ok=True)
        subprocess.run(
            [sys.executable, "-m", "conformance.cli", "run", *REAL_RUN],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,  # exit status 1: this app has divergences
        )
        m, t = json.loads(counts.read_text(encoding="utf-8"))
        model, total = model + m, total + t
        each.append(m / t if t else 0.0)
    return (model / total if total else 0.0), each


def sampled_model_counts(app: Any, examples: int) -> tuple[int, int]:
    """The share of CPU-time samples (SIGPROF every 0.5 ms of the process's CPU time) taken
    while a frame of reference/ is on the stack: the model's time including what it calls, with
    no per-call overhead. (cProfile adds about a microsecond to every call, and the model is
    many small calls, so it overstates the model; it also leaves out the C functions the model
    calls, which understates it.) ``benchmarks/sample_plugin.py`` samples real runs alike."""
    target = AsgiTarget(app)
    try:
        with sampling() as counts:
            run_properties(target, examples=examples)
    finally:
        target.close()
    return counts[0], counts[1]


def model_share(app: Any, examples: int) -> float:
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


def _busy_seconds() -> float:
    """CPU time the whole machine has spent busy so far (every core, every process)."""
    with open("/proc/stat", encoding="ascii") as stat:
        ticks = [int(field) for field in stat.readline().split()[1:9]]
    idle = ticks[3] + ticks[4]  # user nice system idle iowait irq softirq steal
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class CliRun:
    wall: float
    rss_kib: int  # peak RSS of the command line's process (the suite's, under -n 0)
    others: float  # cores other processes kept busy meanwhile, on average
    cpu: float  # CPU seconds of the run, its workers' included


def cli_run(*args: str) -> CliRun:
    """One `cors-conformance run` in a fresh process: its wall time, its peak RSS, and how busy
    the rest of the machine was meanwhile (the CPU time the machine spent beyond the run's own,
    that of its workers included)."""
    busy, started = _busy_seconds(), time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance.cli", "run", *args, "--report-dir", "/tmp/cc-bench"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)  # the run's CPU, its reaped workers' included
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    wall = time.perf_counter() - started
    others = _busy_seconds() - busy - usage.ru_utime - usage.ru_stime
    cpu = usage.ru_utime + usage.ru_stime
    return CliRun(wall, usage.ru_maxrss, max(others, 0.0) / wall, cpu)


def compile_bytecode() -> None:
    """Byte-compile the suite's packages first, as an installed package is (pip compiles at
    install). Otherwise, from a checkout run with PYTHONDONTWRITEBYTECODE set (as on these
    machines), every run would compile the suite's modules again: start-up that runs once in
    either mode, which would both slow the runs and understate -n 2's speedup."""
    packages = ["conformance", "reference", "strategies", "reports"]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *packages],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"(the suite's packages byte-compiled first: {', '.join(packages)})", flush=True)


def concurrent_runs(*args: str) -> float:
    """Two `cors-conformance run` processes started together: the wall time until both ended."""
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "conformance.cli", "run", *args, "--report-dir", directory],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for directory in ("/tmp/cc-bench-a", "/tmp/cc-bench-b")
    ]
    for proc in procs:
        proc.wait()
    return time.perf_counter() - started


def parallel_ceiling(common: list[str], extra: list[str], repeat: int) -> tuple[float, str]:
    """What this machine gives for perfectly parallel work of this kind: one -n 0 run alone,
    then two independent -n 0 runs at once, ``repeat`` times in turn. Two cores that each ran
    as fast as one alone would take as long for both as for one (2.0x); shared caches, memory
    bandwidth and a hypervisor's other guests make it less. Returns the ratio (twice the
    total time alone over the total time of the pairs) and the walls."""
    alone, both = [], []
    for _ in range(repeat):
        alone.append(cli_run(*common, *extra).wall)
        both.append(concurrent_runs(*common, *extra))
    walls = ", ".join(f"{a:.1f}/{b:.1f} s" for a, b in zip(alone, both, strict=True))
    return 2 * sum(alone) / sum(both), walls


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
            "error",  # hostile requests make uvicorn warn on every one
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
    print(f"\n== {title} ==", flush=True)


QUIET = 0.1  # cores other processes may keep busy during a run that is kept


def speedup(
    common: list[str],
    extra: list[str],
    repeat: int,
    attempts: int,
    parallel: tuple[str, ...] = ("-n", "2"),
) -> Speedup:
    """-n 0 and -n 2 in pairs, the order alternating (-n 0 first, then -n 2 first: a machine
    whose speed drifts favours neither), until ``repeat`` pairs ran while the rest of the
    machine kept under QUIET of a core busy, or ``attempts`` pairs ran (then all are kept, and
    the line says how busy the machine was). The speedup is the kept pairs' total -n 0 time over
    their total -n 2 time."""
    quiet: list[tuple[CliRun, CliRun]] = []
    pairs: list[tuple[CliRun, CliRun]] = []
    while len(pairs) < attempts and len(quiet) < repeat:
        if len(pairs) % 2 == 0:
            serial = cli_run(*common, *extra)
            many = cli_run(*common, *extra, *parallel)
        else:
            many = cli_run(*common, *extra, *parallel)
            serial = cli_run(*common, *extra)
        pairs.append((serial, many))
        if max(serial.others, many.others) < QUIET:
            quiet.append((serial, many))
    kept = quiet or pairs
    return Speedup(kept=kept, quiet=len(quiet), pairs=len(pairs))


@dataclass(frozen=True, slots=True)
class Speedup:
    kept: list[tuple[CliRun, CliRun]]
    quiet: int
    pairs: int

    @property
    def ratio(self) -> float:
        return sum(s.wall for s, _ in self.kept) / sum(p.wall for _, p in self.kept)

    @property
    def fastest_serial(self) -> float:
        return min(s.wall for s, _ in self.kept)

    @property
    def rss_mb(self) -> float:
        return max(s.rss_kib for s, _ in self.kept) / 1024

    def line(self, label: str) -> str:
        each = ", ".join(f"{s.wall:.1f}/{p.wall:.1f} s" for s, p in self.kept)
        busiest = max(max(s.others, p.others) for s, p in self.kept)
        # The same work on two busy cores took this much more CPU time than on one: duplicated
        # work, or cores that run slower when both are busy (the machine's share).
        cpu = ", ".join(f"{p.cpu / s.cpu:.2f}" for s, p in self.kept)
        return (
            f"(e) -n 2 speedup over -n 0, {label}: {self.ratio:.2f}x (goal >= 1.7; -n 0/-n 2 "
            f"wall per pair: {each}) [{self.quiet} of {self.pairs} pairs quiet; other "
            f"processes used up to {busiest:.2f} core during the kept runs; -n 2's CPU time "
            f"over -n 0's, per pair: {cpu}]"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer examples, no CLI runs")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement")
    parser.add_argument(
        "--model-runs",
        type=int,
        default=48,
        help="fresh processes sampled for (d) (a third as many real runs beside them): a "
        "process yields about 900 samples (the kernel's 4 ms tick), so its share alone moves by "
        "about a point from one to the next; 48 put the standard error near 0.1 point",
    )
    parser.add_argument("--sample-once", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--examples", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    examples = args.examples or (30 if args.quick else 100)
    if args.sample_once:  # a child of fresh_model_share
        from conformance.examples.fastapi_docs import app

        tune_gc()  # as a run does once the suite is loaded
        print(json.dumps(sampled_model_counts(app, examples)))
        return
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )

    from conformance.examples.fastapi_docs import app

    tune_gc()  # as a run does once the suite is loaded: the suite and the plain loops alike
    section(f"in-process ASGI target ({APP}), {examples} examples per property")
    compare(
        "in process",
        lambda: AsgiTarget(app),
        lambda wires: plain_asgi_loop(app, wires),
        examples=examples,
        repeat=args.repeat,
    )
    recording = Recording(AsgiTarget(app))
    run_properties(recording, examples=examples)
    transport_alone(app, recording.sent, args.repeat)
    fresh, samples, each = fresh_model_share(examples, args.model_runs)
    error = statistics.stdev(each) / len(each) ** 0.5 if len(each) > 1 else float("nan")
    print(
        f"(d) model share:      {fresh:.1%} of the suite's CPU time, standard error "
        f"{error:.1%} (goal < 5%; sampled on SIGPROF in {len(each)} fresh processes, memos "
        f"empty at the start as in a real run, {samples} samples pooled; per run "
        f"{min(each):.1%} to {max(each):.1%})"
    )
    if not args.quick:
        real, each = real_run_model_share(max(args.model_runs // 3, 2))
        error = statistics.stdev(each) / len(each) ** 0.5
        print(
            f"    inside real `cors-conformance run --profile ci` processes (their properties, "
            f"pytest and the records around each case): {real:.1%}, standard error {error:.1%} "
            f"({len(each)} runs)"
        )
    warm = statistics.median(sampled_model_share(app, examples) for _ in range(args.repeat))
    print(
        f"    with every memo warm (the same run repeated in this process): {warm:.1%} sampled, "
        f"median of {args.repeat}; under cProfile: {model_share(app, examples):.1%}"
    )

    with uvicorn_server() as url:
        section(f"URL target: uvicorn on {url}, {examples} examples per property")
        compare(
            "uvicorn URL",
            lambda: UrlTarget(url, rate=None, max_requests=None),
            plain_url_loop,
            examples=examples,
            repeat=args.repeat,
        )

    if args.quick:
        return
    section("whole runs (cors-conformance run, fresh processes)")
    compile_bytecode()
    common = ["--app", APP, "--policy", POLICY, "--seed", "1"]
    # (e) is judged on the nightly run: -n 2 is for runs long enough to be worth splitting.
    thorough = speedup(common, ["--profile", "thorough"], args.repeat, attempts=2 * args.repeat)
    print(thorough.line("--profile thorough (the nightly run; the goal is judged here)"))
    ceiling, walls = parallel_ceiling(common, ["--profile", "thorough"], 2)
    print(
        f"    this machine's ceiling at thorough: two independent -n 0 runs at once, "
        f"{ceiling:.2f}x (one alone/both at once: {walls}); -n 2 reached "
        f"{thorough.ratio / ceiling:.0%} of it",
        flush=True,
    )
    ci = speedup(common, ["--profile", "ci"], args.repeat, attempts=4 * args.repeat)
    print(ci.line("--profile ci (every push)"), flush=True)
    ceiling, walls = parallel_ceiling(common, ["--profile", "ci"], args.repeat)
    print(
        f"    this machine's ceiling at ci: two independent -n 0 runs at once, {ceiling:.2f}x "
        f"(one alone/both at once: {walls}); -n 2 reached {ci.ratio / ceiling:.0%} of it",
        flush=True,
    )
    start = min(cli_run(*common, "--max-examples", "1").wall for _ in range(args.repeat))
    serial = statistics.fmean(s.wall for s, _ in ci.kept)
    print(
        f"    start-up at ci: a run of one example per property takes {start:.2f} s, paid once "
        f"in either mode (imports, collection); with the rest split perfectly over two cores "
        f"-n 2 would reach {serial / (start + (serial - start) / 2):.2f}x (Amdahl's bound)",
        flush=True,
    )
    xdist = ("-n", "2", "--parallel", "xdist")
    ci_xdist = speedup(common, ["--profile", "ci"], args.repeat, 4 * args.repeat, parallel=xdist)
    print(ci_xdist.line("--profile ci, pytest-xdist workers (--parallel xdist)"), flush=True)
    print(f"(f) ci profile wall time:   {ci.fastest_serial:.1f} s (goal < 60 s)")
    print(f"(g) ci peak RSS:            {ci.rss_mb:.0f} MB (goal < 250 MB)")
    long = cli_run(*common, "--profile", "ci", "--max-examples", "1000")
    print(f"    10x longer run peak RSS: {long.rss_kib / 1024:.0f} MB (--max-examples 1000)")


if __name__ == "__main__":
    main()
