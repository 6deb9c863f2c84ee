"""Forked workers (conformance.forked, ``cors-conformance run -n N``): what they report is what
``-n 0`` reports, a worker that dies is reported and replaced, and bad values are refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.adapters import node
from conformance.plugin import EXPECTED_COST

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "conformance.cli"]
POLICY = str(ROOT / "conformance/policies/fastapi-docs.toml")
DEFAULT_POLICY = ROOT / "conformance/policies/default.toml"

# Stands in for a crash in a worker (a segfault in a C extension, an out-of-memory kill): the
# app ends its process abruptly after a few requests, but only in forked worker number 1.
DYING_APP = """
import os

from conformance.examples.fastapi_docs import app as inner

seen = 0


async def app(scope, receive, send):
    global seen
    if scope["type"] == "http" and os.environ.get("CORS_CONFORMANCE_WORKER") == "1":
        seen += 1
        if seen > 20:
            os._exit(7)
    await inner(scope, receive, send)
"""


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=600, check=False
    )


def test_a_worker_that_dies_is_reported_and_replaced(tmp_path: Path) -> None:
    (tmp_path / "dying_app.py").write_text(DYING_APP)
    properties = ["exposed_headers", "vary_origin", "simple_requests", "no_origin_requests"]
    result = _run(
        "run",
        "--app",
        "dying_app:app",
        "--policy",
        POLICY,
        "--seed",
        "1",
        "--properties",
        *properties,
        "-n",
        "2",
        "--parallel",
        "fork",
        "--report-dir",
        "r",
        cwd=tmp_path,
    )
    assert result.returncode == 4, result.stdout + result.stderr  # a harness error
    document = json.loads((tmp_path / "r/results.json").read_text())
    # Worker 1 takes the longest property first and dies in it; a third worker, forked to
    # replace it, runs what is left.
    longest = max(properties, key=lambda name: EXPECTED_COST[name])
    outcomes = document["run"]["properties"]
    assert outcomes == {
        name: "harness-error" if name == longest else "passed" for name in properties
    }
    (harness,) = document["harness_outcomes"]
    assert harness["property"] == longest
    assert "worker 1" in harness["message"]
    assert "ended unexpectedly (exit status 7)" in harness["message"]
    assert "1 failed, 3 passed" in result.stdout


@pytest.mark.parametrize("value", ["two", "-1"])
def test_a_bad_worker_count_exits_2(tmp_path: Path, value: str) -> None:
    result = _run("run", "-n", value, cwd=tmp_path)
    assert result.returncode == 2
    assert "-n:" in result.stderr
    assert "Traceback" not in result.stderr


def test_one_property_counts_its_cases_once(tmp_path: Path) -> None:
    # With a single property its worker tears the session down right after it; the cases sent
    # were once counted there and again with the property's findings.
    common = ["run", "--seed", "4", "--properties", "header_list_scaling"]
    for workers in ("0", "2"):
        result = _run(*common, "-n", workers, "--report-dir", workers, cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
    serial, forked = (json.loads((tmp_path / w / "results.json").read_text()) for w in "02")
    sent = serial["run"]["property_stats"]["header_list_scaling"]["cases_sent"]
    assert sent > 0
    assert serial["run"]["cases_sent"] == forked["run"]["cases_sent"] == sent


THREADED_APP = """
import threading
import time

from conformance.examples.fastapi_docs import app

threading.Thread(target=time.sleep, args=(3600,), name="app-poller", daemon=True).start()
"""


def test_an_app_with_threads_gets_xdist_workers(tmp_path: Path) -> None:
    # A forked worker would not have the thread the app started when imported.
    (tmp_path / "threaded_app.py").write_text(THREADED_APP)
    args = ["run", "--app", "threaded_app:app", "--properties", "header_list_scaling"]
    result = _run(*args, "-n", "2", "--report-dir", "r", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 other thread(s) run in this process" in result.stderr
    assert "app-poller" in result.stderr
    assert "starts pytest-xdist's workers instead" in result.stderr
    document = json.loads((tmp_path / "r/results.json").read_text())
    assert document["run"]["properties"] == {"header_list_scaling": "passed"}


@pytest.mark.skipif(
    not node.available(), reason="needs node and `npm ci --prefix conformance/node`"
)
def test_node_framework_workers_each_start_their_own_server(tmp_path: Path) -> None:
    # The command line's probe starts the Node.js server; left running, the forked workers
    # would share it (and its reader threads made the run fall back to xdist).
    common = ["run", "--framework", "express-cors", "--policy", str(DEFAULT_POLICY)]
    common += ["--profile", "dev", "--seed", "1", "--properties", "simple_requests", "vary_origin"]
    serial = _run(*common, "--report-dir", "n0", cwd=tmp_path)
    forked = _run(*common, "-n", "2", "--report-dir", "n2", cwd=tmp_path)
    assert serial.returncode == forked.returncode, serial.stderr + forked.stderr
    assert "other thread" not in forked.stderr
    first, second = (json.loads((tmp_path / d / "results.json").read_text()) for d in ("n0", "n2"))
    assert first["run"]["cases_sent"] == second["run"]["cases_sent"] > 0
    assert first["run"]["properties"] == second["run"]["properties"]
    assert [d["id"] for d in first["divergences"]] == [d["id"] for d in second["divergences"]]


def test_forking_anyway_beside_threads_says_so(tmp_path: Path) -> None:
    (tmp_path / "threaded_app.py").write_text(THREADED_APP)
    args = ["run", "--app", "threaded_app:app", "--properties", "header_list_scaling"]
    result = _run(*args, "-n", "2", "--parallel", "fork", "--report-dir", "r", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "forking with 1 other thread(s) running (app-poller)" in result.stderr
