"""End to end, as a maintainer runs it: the suite against broken targets writes every format,
each valid; a baseline turns known divergences from failures into reports; replay and
regression work from the run's results.json."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main
from reference.policy_file import dump_policy
from reports import FORMATS
from tests.test_reports import assert_valid_junit, assert_valid_results, assert_valid_sarif

ROOT = Path(__file__).resolve().parent.parent
FASTAPI = ["--app", "conformance.examples.fastapi_docs:app"]
FASTAPI_POLICY = str(ROOT / "conformance/policies/fastapi-docs.toml")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conformance.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
        check=False,
    )


def check_every_format(report_dir: Path) -> dict[str, Any]:
    assert sorted(p.name for p in report_dir.iterdir()) == sorted(FORMATS)
    document: dict[str, Any] = json.loads((report_dir / "results.json").read_text())
    assert_valid_results(document)
    assert_valid_junit((report_dir / "junit.xml").read_text())
    assert_valid_sarif(json.loads((report_dir / "results.sarif").read_text()))
    markdown = (report_dir / "summary.md").read_text()
    page = (report_dir / "report.html").read_text()
    for record in document["divergences"]:
        assert record["id"] in markdown
        assert record["id"] in page
    return document


def test_fastapi_run_with_a_baseline(tmp_path: Path) -> None:
    baseline = tmp_path / "cors-baseline.toml"
    baseline.write_text(
        "[[known]]\n"
        'kind = "allowed-request-blocked"\n'
        'reason = "custom methods are refused upstream"\n'
        "expires = 2999-12-31\n"
        "\n"
        "[[known]]\n"
        'kind = "credentials-header-to-refused-origin"\n'
        'reason = "was accepted until 2020"\n'
        "expires = 2020-01-01\n"
        "\n"
        "[[known]]\n"
        'id = "000000000000"\n'
        'reason = "fixed long ago"\n'
        "\n"
        "[[known]]\n"
        'kind = "browsers-differ"\n'
        'reason = "engines differ; informational"\n'
    )
    report_dir = tmp_path / "r"
    result = cli(
        "run",
        *FASTAPI,
        "--policy",
        FASTAPI_POLICY,
        "--seed",
        "7",
        "--profile",
        "ci",
        "--properties",
        "preflighted_requests",
        "credentials_header_hygiene",
        "--report-dir",
        str(report_dir),
        "--baseline",
        str(baseline),
        cwd=ROOT,
    )
    # The expired entry no longer keeps its divergence from failing the run.
    assert result.returncode == 1, result.stdout + result.stderr
    assert "diverging so far" not in result.stdout  # no progress display in a pipe
    document = check_every_format(report_dir)
    states = {r["kind"]: (r["baseline"] or {}).get("expired") for r in document["divergences"]}
    assert states["allowed-request-blocked"] is False
    assert states["credentials-header-to-refused-origin"] is True
    assert set(states) <= {
        "allowed-request-blocked",
        "credentials-header-to-refused-origin",
        "browsers-differ",
    }
    assert document["outcome"]["failing"] == 1
    assert document["outcome"]["expired"] == 1
    assert "000000000000" in [s.get("id") for s in document["baseline"]["stale"]]
    assert document["run"]["properties"]["preflighted_requests"] == "baselined"
    assert document["run"]["properties"]["credentials_header_hygiene"] == "failed"
    junit = ET.parse(report_dir / "junit.xml").getroot()
    cases = {c.get("name"): c for c in junit.iter("testcase")}
    assert cases["preflighted_requests"].find("failure") is None
    assert "known divergences" in (cases["preflighted_requests"].findtext("system-out") or "")
    assert cases["credentials_header_hygiene"].find("failure") is not None
    sarif = json.loads((report_dir / "results.sarif").read_text())
    suppressed = [r for r in sarif["runs"][0]["results"] if r.get("suppressions")]
    assert [r["ruleId"] for r in suppressed] == ["allowed-request-blocked"]
    # The console: grouped by grade, each entry with its curl, fetch() and reasons.
    out = result.stdout
    assert "== dysfunctional (1)" in out
    assert "== non-strict (1)" in out
    assert "BASELINED in the baseline: custom methods are refused upstream" in out
    assert "EXPIRED in the baseline" in out
    assert "$ curl -i -sS" in out
    assert "fetch(" in out
    assert "why the browser decides so (model):" in out
    assert "stale baseline entries (" in out
    assert "000000000000: fixed long ago" in out


def test_a_zoo_run_then_replay_regression_and_a_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from conformance.servers.zoo import ZOO

    zoo = next(z for z in ZOO if z.name == "reflect-any-origin")
    (tmp_path / "cors.toml").write_text(dump_policy(zoo.policy))
    (tmp_path / "zoo_app.py").write_text(
        "from pathlib import Path\n"
        "from conformance.servers.reference import asgi_app\n"
        "from conformance.servers.zoo import ZOO\n"
        "from reference.policy_file import load_policy\n"
        "zoo = next(z for z in ZOO if z.name == 'reflect-any-origin')\n"
        "app = asgi_app(zoo.policy, cors=zoo.cors)\n"
        "fixed = asgi_app(load_policy(Path('cors.toml').read_text()))\n"
    )
    run = ["run", "--app", "zoo_app:app", "--policy", "cors.toml", "--seed", "7"]
    run += ["--properties", "simple_requests"]
    result = cli(*run, "--report-dir", "r", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    document = check_every_format(tmp_path / "r")
    kinds = [r["kind"] for r in document["divergences"]]
    assert "origin-granted-against-policy" in kinds
    record = document["divergences"][kinds.index("origin-granted-against-policy")]
    assert record["seed"] == 7
    assert record["reproduce_blob"]
    sarif = json.loads((tmp_path / "r" / "results.sarif").read_text())
    sarif_result = sarif["runs"][0]["results"][kinds.index("origin-granted-against-policy")]
    assert sarif_result["level"] == "error"
    assert sarif_result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "cors.toml"
    )
    assert sarif_result["locations"][0]["physicalLocation"]["region"]["startLine"] == 1

    # The commands that read results.json, in process (no suite run, no subprocess needed).
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["replay", "r/results.json"]) == 1
    out = capsys.readouterr().out
    assert f"{record['id']} [insecure] origin-granted-against-policy: still diverges" in out
    assert main(["replay", "r/results.json", "--app", "zoo_app:fixed"]) == 0
    fixed = capsys.readouterr().out
    assert f"{len(kinds)} record(s): 0 still diverges, {len(kinds)} fixed" in fixed

    assert main(["regression", "r/results.json", "-o", "test_cors.py", "--xfail"]) == 0
    pinned = (tmp_path / "test_cors.py").read_text()
    compile(pinned, "test_cors.py", "exec")
    assert "@pytest.mark.xfail(strict=True" in pinned
    assert "return load_app('zoo_app:app')" in pinned

    assert main(["baseline", "r/results.json", "-o", "known.toml"]) == 0
    again = cli(*run, "--report-dir", "r2", "--baseline", "known.toml", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    document = check_every_format(tmp_path / "r2")
    assert document["outcome"]["failing"] == 0
    assert document["run"]["properties"] == {"simple_requests": "baselined"}
    assert "1 passed" in again.stdout
