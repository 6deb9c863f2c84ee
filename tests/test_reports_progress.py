"""The console's progress display: rate-limited live line, one line per finished property, and
silence when the output is not a terminal."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.progress import CountingTarget, Progress, done_line, live_line
from conformance.targets import TransportLimits
from reference.verdict import RawResponse, WireRequest

ROOT = Path(__file__).resolve().parent.parent


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_live_line_is_redrawn_at_most_every_interval() -> None:
    drawn: list[str] = []
    clock = Clock()
    counts = {"cases": 0}
    progress = Progress(rewrite=drawn.append, newline=lambda: drawn.append("\n"), clock=clock)
    progress.start("simple_requests", lambda: (counts["cases"], 0))
    assert drawn == [live_line("simple_requests", 0, 0, 0.0)]
    for _ in range(50):  # 50 requests within 0.1 s: no redraw
        counts["cases"] += 1
        clock.now += 0.002
        progress.tick()
    assert len(drawn) == 1
    clock.now += 0.2
    progress.tick()
    assert drawn[-1] == live_line("simple_requests", 50, 0, 0.3)
    progress.stop()
    assert drawn[-1] == ""
    progress.tick()  # after stop: nothing
    assert drawn[-1] == ""
    progress.done(
        done_line(
            "simple_requests", outcome="passed", cases=50, distinct=0, diverging=0, seconds=0.3
        )
    )
    assert drawn[-2:] == ["  ok   simple_requests: 50 requests, no divergence, 0.3 s", "\n"]


def test_done_lines() -> None:
    line = done_line(
        "preflighted_requests", outcome="failed", cases=106, distinct=1, diverging=22, seconds=3.1
    )
    assert line == (
        "  FAIL preflighted_requests: 106 requests, 1 divergence (22 diverging examples), 3.1 s"
    )
    assert "ok (baselined)" in done_line(
        "x", outcome="baselined", cases=1, distinct=1, diverging=1, seconds=0
    )


class Echo:
    name = "echo"
    base_url = "http://testserver"
    limits = TransportLimits()

    def __init__(self) -> None:
        self.closed = False

    def send(self, wire: WireRequest) -> RawResponse:
        if wire.method == b"BOOM":
            raise RuntimeError("boom")
        return RawResponse(status=204, headers=())

    def close(self) -> None:
        self.closed = True


def test_the_counting_target_ticks_after_every_request_even_a_failed_one() -> None:
    ticks: list[int] = []
    inner = Echo()
    target = CountingTarget(inner, lambda: ticks.append(1))
    assert (target.name, target.base_url, target.limits) == (
        inner.name,
        inner.base_url,
        inner.limits,
    )
    wire = WireRequest(
        is_preflight=False, method=b"GET", url="http://testserver/", headers=(), credentials=False
    )
    assert target.send(wire).status == 204
    with pytest.raises(RuntimeError):
        target.send(
            WireRequest(
                is_preflight=False,
                method=b"BOOM",
                url="http://testserver/",
                headers=(),
                credentials=False,
            )
        )
    assert len(ticks) == 2
    target.close()
    assert inner.closed


def _run(*, tmp_path: Path, workers: str) -> str:
    command = [
        sys.executable,
        "-m",
        "conformance.cli",
        "run",
        "--seed",
        "5",
        "--properties",
        "simple_requests",
        "header_list_scaling",
        "--report-dir",
        str(tmp_path / "r"),
        "-n",
        workers,
    ]
    # util-linux script(1) gives the run a pseudo-terminal.
    command = ["script", "-qec", " ".join(command), "/dev/null"]
    result = subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize("workers", ["0", "2"])
def test_progress_shows_on_a_terminal(tmp_path: Path, workers: str) -> None:
    # Its absence from piped output is checked by the end-to-end run in test_reports_e2e.py.
    # With -n 2, the forked workers send their live lines to the parent, which draws them.
    if shutil.which("script") is None:
        pytest.skip("script(1) (util-linux) is not installed: no pseudo-terminal to test with")
    shown = _run(tmp_path=tmp_path, workers=workers)
    assert "simple_requests: " in shown
    if workers == "0":
        assert "diverging so far" in shown
    else:  # the workers' parts of one line
        assert re.search(r"  \.\. \w+: \d+ sent, \d+ diverging", shown)
    assert re.search(r"  ok   simple_requests: \d+ requests, no divergence", shown)
    assert "  ok   header_list_scaling:" in shown
