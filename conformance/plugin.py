"""The pytest plugin: options, the suite's fixtures, record collection, xdist merging, report.

Registered by the repository's ``conftest.py`` (the composition root) and by
``cors-conformance run`` (``-p conformance.plugin``). Session state lives under
``pytest.StashKey``s; workers send their records to the controller through ``workeroutput``
(as schemathesis and pytest-randomly do), and only the controller writes the report.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import random
import shlex
import shutil
import sys
import time
from collections import Counter
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.baseline import Baseline, apply_baseline, baseline_entry, is_tolerated
from conformance.divergences import ALL_KINDS, Divergence
from conformance.interrupts import interrupt_on_sigterm
from conformance.outcomes import HarnessOutcome, TargetUnreachable, UsageError
from conformance.progress import CountingTarget, Progress, done_line
from conformance.records import Record, divergence_record, walk_exceptions
from conformance.settings import (
    DEFAULT_POLICY_FILE,
    RunOptions,
    build_target,
    effective_paths,
    load_policy_file,
    probe,
)
from conformance.suite_profiles import PROFILES
from conformance.targets import DEFAULT_MAX_REQUESTS, DEFAULT_RATE
from reports import FORMATS, RESULTS_SCHEMA_ID, RESULTS_SCHEMA_VERSION, render_console

if TYPE_CHECKING:
    # Imported where the suite runs (the cors_context fixture): Hypothesis is not needed by an
    # xdist controller, whose start-up delays every worker's.
    from conformance.context import SuiteContext

GRADE_ORDER = ["insecure", "dysfunctional", "non-strict", "informational"]


@dataclass(slots=True)
class SessionState:
    options: RunOptions
    seed: int
    report_dir: Path
    records: list[Record] = field(default_factory=list)
    harness: list[Record] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)
    occurrences: Counter[str] = field(default_factory=Counter)
    cases_sent: int = 0
    started: float = field(default_factory=time.time)
    context: SuiteContext | None = None
    policy_text: str = ""
    ran_suite: bool = False
    property_stats: dict[str, dict[str, Any]] = field(default_factory=dict)
    baseline: Baseline | None = None
    today: dt.date = field(default_factory=lambda: dt.datetime.now(dt.UTC).date())
    progress: Progress | None = None
    live: bool = False  # the live line is drawn in this process (no xdist)
    document: dict[str, Any] | None = None
    written: list[Path] = field(default_factory=list)


STATE = pytest.StashKey[SessionState]()
CALL_START = pytest.StashKey[tuple[int, int]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cors-conformance", "CORS conformance suite")
    group.addoption("--cors-app", metavar="MODULE:ATTR", help="in-process ASGI or WSGI app")
    group.addoption("--cors-url", metavar="URL", help="a server over HTTP")
    group.addoption(
        "--cors-framework", metavar="NAME", help="a framework configured from the policy"
    )
    group.addoption("--cors-policy", metavar="FILE", help="the policy TOML file (default: bundled)")
    group.addoption("--cors-paths", metavar="PATHS", help="comma-separated paths to test")
    group.addoption(
        "--cors-profile",
        default="dev",
        choices=sorted(PROFILES),
        help="examples per property: dev 25, ci 100, thorough 1000",
    )
    group.addoption("--cors-seed", type=int, default=None, help="seed (default: random, printed)")
    group.addoption("--cors-max-examples", type=int, default=None, help="override the profile")
    group.addoption("--cors-timeout", type=float, default=10.0, help="seconds per request (URL)")
    group.addoption(
        "--cors-time-budget",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop drawing new cases after this long (the report says the run is incomplete)",
    )
    group.addoption(
        "--cors-allow-unsafe",
        action="store_true",
        help="--cors-url: also send unsafe methods and bodies (they may change data)",
    )
    group.addoption(
        "--cors-max-requests",
        type=int,
        default=DEFAULT_MAX_REQUESTS,
        help=f"--cors-url: at most this many requests per run (default {DEFAULT_MAX_REQUESTS})",
    )
    group.addoption(
        "--cors-rate",
        type=float,
        default=DEFAULT_RATE,
        help=f"--cors-url: requests per second, 0 for no limit (default {DEFAULT_RATE:g})",
    )
    group.addoption(
        "--cors-report-dir",
        metavar="DIR",
        default="cors-report",
        help="where results.json goes (default: cors-report)",
    )
    group.addoption("--cors-properties", metavar="NAMES", help="comma-separated property names")
    group.addoption(
        "--cors-baseline",
        metavar="FILE",
        help="known divergences (TOML or JSON): reported, but they do not fail the run",
    )


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else ()


def pytest_configure(config: pytest.Config) -> None:
    interrupt_on_sigterm()
    get = config.getoption
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    seed = get("cors_seed")
    if workerinput is not None and "cors_seed" in workerinput:
        seed = workerinput["cors_seed"]
    if seed is None:
        seed = random.Random().getrandbits(32)
    options = RunOptions(
        app=get("cors_app"),
        url=get("cors_url"),
        framework=get("cors_framework"),
        policy_file=get("cors_policy"),
        paths=_split(get("cors_paths")),
        profile=get("cors_profile"),
        seed=seed,
        timeout=get("cors_timeout"),
        max_examples=get("cors_max_examples"),
        properties=_split(get("cors_properties")),
        time_budget=get("cors_time_budget"),
        allow_unsafe=get("cors_allow_unsafe"),
        max_requests=get("cors_max_requests"),
        rate=get("cors_rate") or None,
    )
    baseline = None
    try:
        options.check()
        if get("cors_baseline"):
            from conformance.baseline import load_baseline

            baseline = load_baseline(get("cors_baseline"))
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[STATE] = SessionState(
        options=options, seed=seed, report_dir=Path(get("cors_report_dir")), baseline=baseline
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    """On a terminal, and never in an xdist worker: the progress display (conformance.progress)
    replaces pytest's one letter per property."""
    config = session.config
    state = config.stash[STATE]
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if getattr(config, "workerinput", None) is not None or reporter is None:
        return
    if not reporter.isatty() or config.get_verbosity() > 0:
        return
    capture = config.pluginmanager.get_plugin("capturemanager")

    def rewrite(line: str) -> None:
        # The live line is drawn while a property runs, when pytest captures output: step
        # out of the capture as pytest's live logging does.
        if capture is None:
            reporter.rewrite(line, erase=True)
            return
        with capture.global_and_fixture_disabled():
            reporter.rewrite(line, erase=True)
            reporter.flush()

    state.progress = Progress(rewrite=rewrite, newline=lambda: reporter.write("\n"))
    state.live = config.pluginmanager.get_plugin("dsession") is None and not _forking(config)
    config.pluginmanager.register(_PropertyLines(state.progress), "cors-conformance-progress")


def _forking(config: pytest.Config) -> bool:
    """Whether forked workers (conformance.forked) run the properties of this run."""
    if not config.pluginmanager.has_plugin("conformance.forked"):
        return False
    from conformance.forked import forking

    return forking(config)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: only when xdist is loaded
def pytest_configure_node(node: Any) -> None:
    """xdist controller: every worker uses the controller's seed."""
    node.workerinput["cors_seed"] = node.config.stash[STATE].seed


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = config.stash[STATE]
    return [
        f"cors-conformance: target={state.options.target_description} "
        f"profile={state.options.profile} seed={state.seed} "
        f"(reproduce with --cors-seed {state.seed})"
    ]


@pytest.fixture(scope="session")
def cors_context(request: pytest.FixtureRequest) -> Any:
    state = request.config.stash[STATE]
    state.ran_suite = True
    try:
        policy, text = load_policy_file(state.options.policy_file)
        target = build_target(state.options, policy)
    except UsageError as exc:
        pytest.exit(f"cors-conformance: {exc}", returncode=2)
    state.policy_text = text
    progress = state.progress
    if progress is not None and state.live:
        target = CountingTarget(target, progress.tick)
    from conformance.context import SuiteContext

    same_constants_in_every_process()
    context = SuiteContext(
        target=target,
        policy=policy,
        paths=effective_paths(state.options),
        profile=state.options.profile,
        seed=state.seed,
        max_examples=state.options.max_examples,
    )
    if state.options.time_budget is not None:
        elapsed = time.time() - state.started
        context.deadline = time.monotonic() + state.options.time_budget - elapsed
    _probe(context)
    state.context = context
    yield context
    _count_in(state, context)
    target.close()


def _count_in(state: SessionState, context: SuiteContext) -> None:
    """Move the context's counters (cases sent, occurrences) into the session's, once."""
    state.cases_sent += context.cases_sent
    context.cases_sent = 0
    for key, count in context.occurrences.items():
        state.occurrences["\x1f".join(key)] += count
    context.occurrences.clear()


def same_constants_in_every_process() -> None:
    """Hypothesis mixes constants found in the source of every local module loaded so far into a
    few percent of its draws, so what a property generates depends on which modules are loaded.
    The command line's process (which runs the suite itself under -n 0) has loaded
    conformance.cli and runs a script as __main__; an xdist worker has neither. Load the one
    and leave __main__ out of that scan, so that -n 0 and -n 2 draw the same examples."""
    import conformance.cli  # noqa: F401

    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a Hypothesis without local constants
        return
    seen = getattr(providers, "_seen_modules", None)  # ids of the modules already scanned
    main = sys.modules.get("__main__")
    if isinstance(seen, set) and main is not None:
        seen.add(id(main))


def _probe(context: SuiteContext) -> None:
    """An unreachable target ends the run with a clear message (exit status 3 from the CLI,
    which probes first)."""
    try:
        probe(context.target, context.paths[0])
    except TargetUnreachable as exc:
        pytest.exit(f"cors-conformance: target unreachable: {exc}", returncode=3)


def selected_properties(config: pytest.Config) -> list[str]:
    from conformance.properties import PROPERTIES, PROPERTY_BY_NAME

    wanted = config.stash[STATE].options.properties
    for name in wanted:
        if name not in PROPERTY_BY_NAME:
            known = ", ".join(PROPERTY_BY_NAME)
            raise pytest.UsageError(f"--cors-properties: unknown property {name!r} ({known})")
    return list(wanted) or [p.name for p in PROPERTIES]


# Relative cost of each property when it passes: the mean of its share of three -n 0 runs
# (the bundled reference server at ci and at thorough, the FastAPI tutorial's app at thorough,
# where the three properties that fail there, stopping early, were left out), 1.0 being an
# average property. Forked workers and xdist hand out the longest first, so that the two
# workers finish close together (longest processing time first); -n 0 keeps the documented
# order. Only the order changes: each property draws the same examples wherever it runs.
# (The estimates these replace put hostile_input among the last: on the FastAPI app at
# thorough, one worker then ran it alone for the last 2 s of a 16.7 s run.)
EXPECTED_COST: dict[str, float] = {
    "vary_origin": 1.88,
    "exposed_headers": 1.79,
    "no_origin_requests": 1.38,
    "determinism": 1.28,
    "simple_requests": 1.18,
    "header_grammar": 1.04,
    "private_network_hygiene": 1.01,
    "preflighted_requests": 1.0,
    "hostile_input": 0.92,
    "credentials_header_hygiene": 0.85,
    "history_independence": 0.7,
    "credentials_modes": 0.6,
    "header_list_scaling": 0.05,
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if getattr(config, "workerinput", None) is None:
        return
    slots = [i for i, item in enumerate(items) if property_of(item) in EXPECTED_COST]
    ordered = sorted(
        (items[i] for i in slots),
        key=lambda item: -EXPECTED_COST[property_of(item) or ""],
    )
    for i, item in zip(slots, ordered, strict=True):
        items[i] = item


def tune_gc() -> None:
    """Garbage collection for a run, once the suite is loaded: ``gc.freeze()``. What import and
    collection built (Hypothesis, the frameworks, the suite) lives until the process ends, yet
    every full collection traversed it again: measured with ``gc.callbacks``, a ``ci`` run's
    collections took about 430 ms with CPython's defaults, 270 ms frozen. (A young generation
    larger than CPython's 700 allocations saved more time, but let the peak RSS of a long run
    grow: 81 MB became 129 MB over 1,000 examples per property with 10,000, 97 MB with
    3,000; frozen alone, it stays at 81 MB.)"""
    gc.freeze()


def pytest_collection_finish(session: pytest.Session) -> None:
    """A run of the suite (not the project's own tests, which load this plugin too)."""
    if any(property_of(item) is not None for item in session.items):
        tune_gc()


def property_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    name = callspec.params.get("property_name") if callspec is not None else None
    return name if isinstance(name, str) else None


def _diverging(context: SuiteContext) -> int:
    return sum(context.occurrences.values())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    prop = property_of(item)
    state = item.config.stash[STATE]
    context = state.context
    if prop is None or context is None:
        return (yield)
    base = (context.cases_sent, _diverging(context))
    item.stash[CALL_START] = base
    progress = state.progress if state.live else None
    if progress is not None:
        progress.start(prop, lambda: (context.cases_sent - base[0], _diverging(context) - base[1]))
    try:
        return (yield)
    finally:
        if progress is not None:
            progress.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    prop = property_of(item)
    if prop is None or call.when != "call":
        return report
    state = item.config.stash[STATE]
    context = state.context
    base = item.stash.get(CALL_START, (0, 0))
    cases = context.cases_sent - base[0] if context else 0
    diverging = _diverging(context) - base[1] if context else 0
    found: list[Record] = []
    if call.excinfo is None:
        outcome = "passed"
    else:
        outcome = "failed"
        for exc in walk_exceptions(call.excinfo.value):
            if isinstance(exc, Divergence):
                occurrences = context.occurrences.get(exc.dedup_key, 1) if context else 1
                record = divergence_record(
                    exc, property_name=prop, seed=state.seed, occurrences=occurrences
                )
                record["baseline"] = baseline_entry(record, state.baseline, on=state.today)
                found.append(record)
            elif isinstance(exc, HarnessOutcome):
                outcome = exc.kind
                state.harness.append({"property": prop, "outcome": exc.kind, "message": str(exc)})
            else:
                outcome = "harness-error"
                state.harness.append(
                    {
                        "property": prop,
                        "outcome": "harness-error",
                        "message": f"{type(exc).__name__}: {exc}",
                    }
                )
        state.records.extend(found)
        if outcome == "failed" and found and all(is_tolerated(r) for r in found):
            # Every divergence is known (baseline) and not expired: the property passes, and
            # says what it tolerated.
            outcome = "baselined"
            report.outcome = "passed"
            report.longrepr = None
            report.sections.append(
                (
                    "cors-conformance baseline",
                    "\n".join(f"known: {r['id']} {r['kind']} ({r['reason']})" for r in found),
                )
            )
    state.properties[prop] = outcome
    stats = {
        "cases_sent": cases,
        "duration_s": round(report.duration, 3),
        "divergences": len(found),
        "diverging_examples": diverging,
    }
    state.property_stats[prop] = stats
    report.user_properties.append(
        ("cors_property", json.dumps({"name": prop, "outcome": outcome, **stats}))
    )
    return report


def _property_report(report: pytest.TestReport) -> dict[str, Any] | None:
    if report.when != "call":
        return None
    for key, value in report.user_properties:
        if key == "cors_property" and isinstance(value, str):
            data: dict[str, Any] = json.loads(value)
            return data
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(
    report: pytest.TestReport, config: pytest.Config
) -> tuple[str, str, str] | None:
    """With the progress display on, a property's line replaces pytest's letter."""
    state = config.stash.get(STATE, None)
    if state is None or state.progress is None or _property_report(report) is None:
        return None
    return report.outcome, "", ""


class _PropertyLines:
    """Prints each property's line when its report arrives (from this process or a worker)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = _property_report(report)
        if data is None:
            return
        self.progress.done(
            done_line(
                data["name"],
                outcome=data["outcome"],
                cases=data["cases_sent"],
                distinct=data["divergences"],
                diverging=data["diverging_examples"],
                seconds=data["duration_s"],
            )
        )


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    state = config.stash[STATE]
    workeroutput: dict[str, Any] | None = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["cors_state"] = json.dumps(_portable(state))
        return
    if state.ran_suite or state.properties:
        write_reports(state)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: only when xdist is loaded
def pytest_testnodedown(node: Any) -> None:
    """xdist controller: merge what a worker found."""
    raw = getattr(node, "workeroutput", {}).get("cors_state")
    if raw is not None:
        merge_worker_state(node.config, raw)


def take_findings(config: pytest.Config) -> str:
    """A forked worker, after each property: what it found since the last call, as JSON for
    :func:`merge_worker_state` in the parent; then forgets it. Sent property by property, so
    that a worker that dies later loses nothing of what it finished."""
    state = config.stash[STATE]
    context = state.context
    if context is not None:  # counters the session fixture would add up at its teardown
        _count_in(state, context)
    raw = json.dumps(_portable(state))
    _forget_findings(state)
    return raw


def _forget_findings(state: SessionState) -> None:
    state.records, state.harness = [], []
    state.properties, state.property_stats = {}, {}
    state.occurrences = Counter()
    state.cases_sent = 0


def become_worker(config: pytest.Config, progress: Progress | None) -> None:
    """In a forked worker (conformance.forked). When the parent draws a progress display, the
    worker's live line goes to ``progress`` (which sends it to the parent)."""
    state = config.stash[STATE]
    state.progress = progress if state.progress is not None else None
    state.live = state.progress is not None
    # Only what this worker finds goes back: a worker forked to replace one that died is a
    # copy of a parent that may already hold other workers' findings.
    _forget_findings(state)


def record_harness_error(
    config: pytest.Config, item: pytest.Item, report: pytest.TestReport, message: str
) -> None:
    """A property whose worker died: a harness error in the report, and its line on screen."""
    prop = property_of(item)
    if prop is None:
        return
    state = config.stash[STATE]
    state.harness.append({"property": prop, "outcome": "harness-error", "message": message})
    state.properties[prop] = "harness-error"
    stats = {"cases_sent": 0, "duration_s": 0.0, "divergences": 0, "diverging_examples": 0}
    state.property_stats[prop] = stats
    report.user_properties.append(
        ("cors_property", json.dumps({"name": prop, "outcome": "harness-error", **stats}))
    )


def draw_workers(config: pytest.Config, lines: list[str]) -> None:
    """The parent of forked workers: one live line for the properties they are running (each
    worker's part, :func:`conformance.progress.worker_line`), cut to the terminal's width."""
    state = config.stash[STATE]
    if state.progress is None:
        return
    parts = [line for line in lines if line]
    text = ("  .. " + " | ".join(parts)) if parts else ""
    width = shutil.get_terminal_size().columns - 1
    state.progress.rewrite(text if len(text) <= width else text[: max(width - 3, 0)] + "...")


def merge_worker_state(config: pytest.Config, raw: str) -> None:
    """Merge what a worker found (xdist's whole ``cors_state``, or a forked worker's
    :func:`take_findings`) into this process's state."""
    state = config.stash[STATE]
    data = json.loads(raw)
    state.records.extend(data["records"])
    state.harness.extend(data["harness"])
    state.properties.update(data["properties"])
    state.property_stats.update(data["property_stats"])
    state.occurrences.update(data["occurrences"])
    state.cases_sent += data["cases_sent"]
    state.ran_suite = state.ran_suite or data["ran_suite"]
    state.policy_text = state.policy_text or data["policy_text"]


def _portable(state: SessionState) -> dict[str, Any]:
    return {
        "records": state.records,
        "harness": state.harness,
        "properties": state.properties,
        "property_stats": state.property_stats,
        "occurrences": dict(state.occurrences),
        "cases_sent": state.cases_sent,
        "ran_suite": state.ran_suite,
        "policy_text": state.policy_text,
    }


def _representative_weight(record: Record) -> tuple[int, str]:
    """Which of several records of one divergence to show: the smallest reproduction (the
    least request bytes), then the property name, so -n 0 and -n 2 keep the same one."""
    size = 0
    for exchange in record.get("exchanges", []):
        size += len(json.dumps(exchange.get("request")))
        size += sum(len(step["curl"]) for step in exchange.get("steps", []))
    return size, record["property"]


def merge_records(records: list[Record], occurrences: Counter[str]) -> list[Record]:
    """One record per distinct (kind, spec anchor, reason); occurrences summed over the run.

    The record kept for each is chosen by content (:func:`_representative_weight`), never by
    arrival order, so the result does not depend on how xdist scheduled the properties."""
    groups: dict[str, list[Record]] = {}
    for record in records:
        groups.setdefault(record["id"], []).append(record)
    merged: list[Record] = []
    for group in groups.values():
        kept = min(group, key=_representative_weight)
        found_by = sorted({r["property"] for r in group})
        key = "\x1f".join((kept["kind"], kept["spec_ref"], kept["reason"]))
        merged.append(dict(kept, properties=found_by, occurrences=max(occurrences.get(key, 0), 1)))
    return sorted(merged, key=lambda r: (GRADE_ORDER.index(r["grade"]), r["kind"], r["id"]))


def _policy_path(options: RunOptions) -> str:
    """The policy file as code scanning should point at it: relative to the working directory
    when it is inside it, else absolute."""
    path = Path(options.policy_file) if options.policy_file else DEFAULT_POLICY_FILE
    absolute = path.resolve()
    try:
        return absolute.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return absolute.as_posix()


def _reproduce(state: SessionState) -> str:
    """The command that reruns this run: same target, policy, profile and seed."""
    options = state.options
    parts = ["cors-conformance", "run"]
    for flag, value in (
        ("--app", options.app),
        ("--url", options.url),
        ("--framework", options.framework),
        ("--policy", options.policy_file),
    ):
        if value:
            parts += [flag, value]
    if options.paths:
        parts += ["--paths", *options.paths]
    parts += ["--profile", options.profile, "--seed", str(state.seed)]
    if options.max_examples is not None:
        parts += ["--max-examples", str(options.max_examples)]
    return shlex.join(parts)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cors-conformance")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"


def kinds_catalog() -> list[dict[str, str]]:
    """Every divergence kind the suite can report (JUnit and SARIF list them all)."""
    kinds = sorted(ALL_KINDS, key=lambda k: (k.grade.rank, k.kind))
    return [
        {"kind": k.kind, "grade": k.grade.value, "title": k.title, "spec_ref": k.default_spec_ref}
        for k in kinds
    ]


def results_document(state: SessionState) -> dict[str, Any]:
    divergences = merge_records(state.records, state.occurrences)
    stale = apply_baseline(divergences, state.baseline, on=state.today)
    by_grade = Counter(r["grade"] for r in divergences)
    tolerated = sum(is_tolerated(r) for r in divergences)
    expired = sum(1 for r in divergences if r["baseline"] and r["baseline"]["expired"])
    options = state.options
    return {
        "schema": RESULTS_SCHEMA_ID,
        "version": RESULTS_SCHEMA_VERSION,
        "generator": {"name": "cors-conformance", "version": _version()},
        "run": {
            "target": options.target_description,
            "target_options": {
                "app": options.app,
                "url": options.url,
                "framework": options.framework,
            },
            "policy_file": options.policy_file or "(bundled default)",
            "policy_path": _policy_path(options),
            "policy": state.policy_text,
            "profile": options.profile,
            "seed": state.seed,
            "reproduce": _reproduce(state),
            "browser_profile": "spec (engines compared on the same responses)",
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(state.started)),
            "duration_s": round(time.time() - state.started, 3),
            "cases_sent": state.cases_sent,
            "properties": dict(sorted(state.properties.items())),
            "property_stats": dict(sorted(state.property_stats.items())),
        },
        "summary": {
            "divergences": len(divergences),
            "by_grade": {g: by_grade.get(g, 0) for g in GRADE_ORDER},
            "harness_outcomes": len(state.harness),
        },
        "outcome": {
            "failing": len(divergences) - tolerated,
            "baselined": tolerated,
            "expired": expired,
        },
        "kinds": kinds_catalog(),
        "baseline": None
        if state.baseline is None
        else {
            "file": state.baseline.file,
            "entries": len(state.baseline.entries),
            "today": state.today.isoformat(),
            "stale": stale,
        },
        "divergences": divergences,
        "harness_outcomes": sorted(
            state.harness, key=lambda h: (h["property"], h["outcome"], h["message"])
        ),
    }


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_reports(state: SessionState) -> list[Path]:
    """Every format, from the one document: results.json first (the source of the rest and
    what the command line reads), then JUnit, SARIF, Markdown and HTML. A renderer that fails
    is reported on stderr and does not stop the others."""
    state.report_dir.mkdir(parents=True, exist_ok=True)
    document = state.document = results_document(state)
    written = []
    for name, render in FORMATS.items():
        path = state.report_dir / name
        try:
            _atomic_write(path, render(document))
        except Exception as exc:
            if name == "results.json":
                raise
            print(
                f"cors-conformance: could not write {path}: {type(exc).__name__}: {exc}",
                file=sys.stderr,
            )
            continue
        written.append(path)
    state.written = written
    return written


def write_results(state: SessionState) -> Path:
    """results.json and the other formats; returns results.json's path."""
    write_reports(state)
    return state.report_dir / "results.json"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash[STATE]
    if getattr(config, "workerinput", None) is not None or not (
        state.ran_suite or state.properties
    ):
        return
    document = state.document or results_document(state)
    tr = terminalreporter
    tr.section("cors-conformance")
    for line in render_console(document).splitlines():
        tr.write_line(line)
    if state.written:
        names = " ".join(path.name for path in state.written)
        tr.write_line(f"reports in {state.report_dir}/: {names}")
