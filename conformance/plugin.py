"""The pytest plugin: options, the suite's fixtures, record collection, xdist merging, report.

Registered by the repository's ``conftest.py`` (the composition root) and by
``cors-conformance run`` (``-p conformance.plugin``). Session state lives under
``pytest.StashKey``s; workers send their records to the controller through ``workeroutput``
(as schemathesis and pytest-randomly do), and only the controller writes the report.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance.context import SuiteContext
from conformance.divergences import Divergence
from conformance.outcomes import HarnessOutcome, TargetUnreachable, UsageError
from conformance.records import Record, divergence_record, walk_exceptions
from conformance.settings import (
    RunOptions,
    build_target,
    effective_paths,
    load_policy_file,
    probe,
)
from conformance.suite_profiles import PROFILES

RESULTS_SCHEMA_VERSION = 1


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


STATE = pytest.StashKey[SessionState]()


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
        "--cors-report-dir",
        metavar="DIR",
        default="cors-report",
        help="where results.json goes (default: cors-report)",
    )
    group.addoption("--cors-properties", metavar="NAMES", help="comma-separated property names")


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else ()


def pytest_configure(config: pytest.Config) -> None:
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
    )
    try:
        options.check()
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[STATE] = SessionState(
        options=options, seed=seed, report_dir=Path(get("cors_report_dir"))
    )


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
    context = SuiteContext(
        target=target,
        policy=policy,
        paths=effective_paths(state.options),
        profile=state.options.profile,
        seed=state.seed,
        max_examples=state.options.max_examples,
    )
    _probe(context)
    state.context = context
    yield context
    state.cases_sent += context.cases_sent
    for key, count in context.occurrences.items():
        state.occurrences["\x1f".join(key)] += count
    target.close()


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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    name = getattr(item, "callspec", None)
    prop = name.params.get("property_name") if name is not None else None
    if prop is None or call.when != "call":
        return report
    state = item.config.stash[STATE]
    context = state.context
    if call.excinfo is None:
        state.properties[prop] = "passed"
        return report
    outcome = "failed"
    for exc in walk_exceptions(call.excinfo.value):
        if isinstance(exc, Divergence):
            occurrences = context.occurrences.get(exc.dedup_key, 1) if context else 1
            state.records.append(
                divergence_record(exc, property_name=prop, seed=state.seed, occurrences=occurrences)
            )
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
    state.properties[prop] = outcome
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    state = config.stash[STATE]
    workeroutput: dict[str, Any] | None = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["cors_state"] = json.dumps(_portable(state))
        return
    if state.ran_suite or state.properties:
        write_results(state)


def pytest_testnodedown(node: Any) -> None:
    """xdist controller: merge what a worker found."""
    raw = getattr(node, "workeroutput", {}).get("cors_state")
    if raw is None:
        return
    state = node.config.stash[STATE]
    data = json.loads(raw)
    state.records.extend(data["records"])
    state.harness.extend(data["harness"])
    state.properties.update(data["properties"])
    state.occurrences.update(data["occurrences"])
    state.cases_sent += data["cases_sent"]
    state.ran_suite = state.ran_suite or data["ran_suite"]
    state.policy_text = state.policy_text or data["policy_text"]


def _portable(state: SessionState) -> dict[str, Any]:
    return {
        "records": state.records,
        "harness": state.harness,
        "properties": state.properties,
        "occurrences": dict(state.occurrences),
        "cases_sent": state.cases_sent,
        "ran_suite": state.ran_suite,
        "policy_text": state.policy_text,
    }


def merge_records(records: list[Record], occurrences: Counter[str]) -> list[Record]:
    """One record per distinct (kind, spec anchor, reason); occurrences summed over the run."""
    merged: dict[str, Record] = {}
    for record in records:
        key = record["id"]
        kept = merged.get(key)
        if kept is None:
            merged[key] = dict(record, properties=[record["property"]])
        elif record["property"] not in kept["properties"]:
            kept["properties"].append(record["property"])
    for record in merged.values():
        key = "\x1f".join((record["kind"], record["spec_ref"], record["reason"]))
        record["occurrences"] = max(occurrences.get(key, 0), 1)
        record["properties"].sort()
    grade_order = ["insecure", "dysfunctional", "non-strict", "informational"]
    return sorted(
        merged.values(), key=lambda r: (grade_order.index(r["grade"]), r["kind"], r["id"])
    )


def results_document(state: SessionState) -> dict[str, Any]:
    divergences = merge_records(state.records, state.occurrences)
    by_grade = Counter(r["grade"] for r in divergences)
    return {
        "schema": "cors-conformance/results",
        "version": RESULTS_SCHEMA_VERSION,
        "run": {
            "target": state.options.target_description,
            "policy_file": state.options.policy_file or "(bundled default)",
            "policy": state.policy_text,
            "profile": state.options.profile,
            "seed": state.seed,
            "browser_profile": "spec (engines compared on the same responses)",
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(state.started)),
            "duration_s": round(time.time() - state.started, 3),
            "cases_sent": state.cases_sent,
            "properties": dict(sorted(state.properties.items())),
        },
        "summary": {
            "divergences": len(divergences),
            "by_grade": {
                g: by_grade.get(g, 0)
                for g in ("insecure", "dysfunctional", "non-strict", "informational")
            },
            "harness_outcomes": len(state.harness),
        },
        "divergences": divergences,
        "harness_outcomes": state.harness,
    }


def write_results(state: SessionState) -> Path:
    state.report_dir.mkdir(parents=True, exist_ok=True)
    path = state.report_dir / "results.json"
    document = results_document(state)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash[STATE]
    if getattr(config, "workerinput", None) is not None or not (
        state.ran_suite or state.properties
    ):
        return
    document = results_document(state)
    tr = terminalreporter
    tr.section("cors-conformance")
    summary = document["summary"]
    tr.write_line(
        f"{summary['divergences']} distinct divergence(s) "
        + ", ".join(f"{g}: {n}" for g, n in summary["by_grade"].items())
        + f"; {document['run']['cases_sent']} requests sent; seed {state.seed}"
    )
    for record in document["divergences"]:
        tr.write_line(
            f"  [{record['grade']}] {record['kind']} ({record['reason']}) x{record['occurrences']}"
            f": {record['summary']}"
        )
        for exchange in record["exchanges"][:1]:
            for step in exchange["steps"]:
                tr.write_line(f"      $ {step['curl']}")
    for outcome in document["harness_outcomes"]:
        tr.write_line(f"  ({outcome['outcome']}) {outcome['property']}: {outcome['message']}")
    tr.write_line(f"report: {state.report_dir / 'results.json'}")
