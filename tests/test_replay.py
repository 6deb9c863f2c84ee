"""Replay and regression tests: a record's requests, re-sent, still diverge against the server
that produced them and no longer against a correct one (the reference server, same policy)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.divergences import KIND_BY_NAME
from conformance.regression import assert_fixed, open_target, regression_file
from conformance.replay import (
    CHECKS,
    CannotReplay,
    recheck,
    replay_record,
    retarget,
    wire_request,
)
from conformance.servers.reference import asgi_app
from conformance.servers.zoo import ZOO
from conformance.targets import AsgiTarget, Target, load_app
from reference.policy import CorsPolicy
from reference.policy_file import load_policy

GOLDEN = Path(__file__).parent / "golden"
DOCUMENT: dict[str, Any] = json.loads((GOLDEN / "results.json").read_text(encoding="utf-8"))
RECORDS = {r["id"]: r for r in DOCUMENT["divergences"]}
ZOO_BY_NAME = {z.name: z for z in ZOO}


def policy_of(record: dict[str, Any]) -> CorsPolicy:
    text = record["extra"].get("policy") or DOCUMENT["run"]["policy"]
    return load_policy(text, source="test")


def broken_app(record: dict[str, Any]) -> Any:
    """The server the record was found on."""
    name = record["extra"].get("zoo_server")
    if name is None:
        return load_app(DOCUMENT["run"]["target_options"]["app"])
    zoo = ZOO_BY_NAME[name]
    return asgi_app(zoo.policy, cors=zoo.cors)


@pytest.fixture
def target_for() -> Iterator[Any]:
    opened: list[Target] = []

    def make(app: Any) -> Target:
        target = AsgiTarget(app)
        opened.append(target)
        return target

    yield make
    for target in opened:
        target.close()


def test_every_kind_has_a_replay() -> None:
    assert set(CHECKS) == set(KIND_BY_NAME)


@pytest.mark.parametrize("record_id", sorted(RECORDS))
def test_a_record_still_diverges_on_its_server_and_not_on_a_correct_one(
    record_id: str, target_for: Any
) -> None:
    record = RECORDS[record_id]
    policy = policy_of(record)
    before = replay_record(target_for(broken_app(record)), policy, record)
    assert before.status == "still diverges", before.line()
    after = replay_record(target_for(asgi_app(policy)), policy, record)
    assert after.status == "fixed", after.line()


def test_urls_keep_path_and_query_and_take_the_targets_origin() -> None:
    assert retarget("http://testserver/a/b?c=d", "http://127.0.0.1:8000") == (
        "http://127.0.0.1:8000/a/b?c=d"
    )
    assert retarget("https://x.example", "http://h:1/") == "http://h:1/"


def test_records_that_cannot_be_replayed_say_why(target_for: Any) -> None:
    record = copy.deepcopy(next(iter(RECORDS.values())))
    policy = policy_of(record)
    target = target_for(asgi_app(policy))
    record["exchanges"] = []
    with pytest.raises(CannotReplay, match="no browser request"):
        recheck(target, policy, record)
    record["kind"] = "no-such-kind"
    assert replay_record(target, policy, record).status == "cannot replay"
    with pytest.raises(CannotReplay, match="malformed"):
        wire_request({"method": "GET"}, "http://testserver")


def test_a_history_divergence_that_does_not_recur_cannot_be_replayed(target_for: Any) -> None:
    record = copy.deepcopy(
        next(r for r in RECORDS.values() if r["kind"] == "decision-not-deterministic")
    )
    record["kind"] = "decision-depends-on-history"
    policy = policy_of(record)
    result = replay_record(target_for(asgi_app(policy)), policy, record)
    assert result.status == "cannot replay"
    assert "rerun the property" in result.detail


def test_assert_fixed_fails_with_the_reproduction_then_passes_once_fixed() -> None:
    record = next(r for r in RECORDS.values() if r["kind"] == "origin-granted-against-policy")
    text = regression_file(DOCUMENT, ids=(record["id"],))
    namespace: dict[str, Any] = {}
    exec(compile(text, "test_cors_regressions.py", "exec"), namespace)
    policy = record["extra"]["policy"]
    (test,) = [v for k, v in namespace.items() if k.startswith("test_origin_granted")]
    with open_target(broken_app(record)) as target, pytest.raises(pytest.fail.Exception) as info:
        test(target)
    message = str(info.value)
    assert "still diverges" in message
    assert "curl -i -sS" in message
    assert "expected: the policy refuses this request" in message
    with open_target(asgi_app(load_policy(policy))) as target:
        test(target)
    case = {"kind": record["kind"], "exchanges": record["exchanges"], "expected_allowed": True}
    with open_target(asgi_app(load_policy(policy))) as target, pytest.raises(AssertionError):
        assert_fixed(target, policy, case)  # the policy refuses what the case expected allowed


def test_the_regression_file_runs_on_its_own(tmp_path: Path) -> None:
    fastapi = [r["id"] for r in DOCUMENT["divergences"] if "zoo_server" not in r["extra"]]
    text = regression_file(DOCUMENT, ids=tuple(fastapi))
    compile(text, "test_cors_regressions.py", "exec")
    broken = tmp_path / "test_broken.py"
    broken.write_text(text)
    fixed = tmp_path / "test_fixed.py"
    original = "return load_app('conformance.examples.fastapi_docs:app')"
    assert original in text
    fixed.write_text(text.replace(original, "return reference_app(POLICY)"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(broken), str(fixed)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert f"{len(fastapi)} failed, {len(fastapi)} passed" in result.stdout, result.stdout
    assert "still diverges" in result.stdout
    assert "Traceback" not in result.stdout
