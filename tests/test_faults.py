"""Fault injection with real sockets on loopback: each target fault becomes a clear outcome
that names the request, never a divergence (README "Robustness")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.divergences import Exchange
from conformance.exchange import run_fetch
from conformance.outcomes import SendRefused, SetupError, TargetUnreachable
from conformance.targets import UrlTarget
from reference.origins import origin_of
from reference.request import BrowserRequest
from reference.verdict import WireRequest
from tests.faultserver import Behaviour, fault_server

ROOT = Path(__file__).resolve().parent.parent


def _get(url: str) -> WireRequest:
    return WireRequest(
        is_preflight=False,
        method=b"GET",
        url=url + "/x",
        headers=((b"Accept", b"*/*"), (b"Origin", b"https://a.example")),
        credentials=False,
    )


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        ("reset", "broken HTTP"),
        ("stall", "timed out"),
        ("garbage", "broken HTTP"),
        ("huge-header", "broken HTTP"),
        ("slow-headers", "timed out"),
    ],
)
def test_a_broken_target_is_a_setup_error_naming_the_request(
    behaviour: Behaviour, message: str
) -> None:
    with fault_server(behaviour) as server:
        target = UrlTarget(server.url, timeout=0.5, rate=None)
        with pytest.raises(SetupError) as caught:
            target.send(_get(server.url))
        target.close()
    assert message in str(caught.value)
    assert f"GET {server.url}/x" in str(caught.value)
    assert not isinstance(caught.value, TargetUnreachable)


def test_a_refused_first_connection_is_unreachable() -> None:
    with fault_server("ok") as server:
        url = server.url
    target = UrlTarget(url, timeout=0.5, rate=None)
    with pytest.raises(TargetUnreachable):
        target.send(_get(url))


def test_a_server_that_closes_after_n_requests() -> None:
    with fault_server("close-after", after=2) as server:
        target = UrlTarget(server.url, timeout=0.5, rate=None)
        assert target.send(_get(server.url)).status == 200
        assert target.send(_get(server.url)).status == 200
        with pytest.raises(SetupError) as caught:
            target.send(_get(server.url))
    assert not isinstance(caught.value, TargetUnreachable)  # it was reachable before


def test_non_ascii_header_bytes_are_kept_raw() -> None:
    with fault_server("non-ascii") as server:
        response = UrlTarget(server.url, timeout=2, rate=None).send(_get(server.url))
    assert (b"access-control-allow-origin", b"https://\xe9.example") in [
        (n.lower(), v) for n, v in response.headers
    ]


def test_5xx_is_a_response_not_an_error() -> None:
    with fault_server("error-500") as server:
        assert UrlTarget(server.url, timeout=2, rate=None).send(_get(server.url)).status == 500


def test_a_redirect_off_the_target_is_never_followed() -> None:
    with fault_server("redirect-away") as server:
        target = UrlTarget(server.url, timeout=2, rate=None)
        request = BrowserRequest(origin=origin_of("https://a.example"), url=server.url + "/x")
        exchange: Exchange = run_fetch(target, request)
    # The browser would follow the 307 elsewhere; the suite stops there and sends nothing.
    assert exchange.refused is not None
    assert exchange.refused.url == "http://elsewhere.invalid/x"
    assert exchange.result is None
    assert server.served == 1


def test_unsafe_methods_and_bodies_are_not_sent_to_a_url_target_by_default() -> None:
    with fault_server("ok") as server:
        target = UrlTarget(server.url, timeout=2, rate=None)
        put = WireRequest(
            is_preflight=False, method=b"PUT", url=server.url + "/x", headers=(), credentials=False
        )
        with pytest.raises(SendRefused, match="--allow-unsafe"):
            target.send(put)
        post = WireRequest(
            is_preflight=False,
            method=b"POST",
            url=server.url + "/x",
            headers=(),
            credentials=False,
            body=b"x",
        )
        with pytest.raises(SendRefused):
            target.send(post)
        assert server.served == 0
        unsafe = UrlTarget(server.url, timeout=2, rate=None, allow_unsafe=True)
        assert unsafe.send(put).status == 200


def test_the_request_budget_is_enforced() -> None:
    with fault_server("ok") as server:
        target = UrlTarget(server.url, timeout=2, rate=None, max_requests=2)
        target.send(_get(server.url))
        target.send(_get(server.url))
        with pytest.raises(SetupError, match="budget"):
            target.send(_get(server.url))
        assert server.served == 2


def test_a_run_against_a_target_that_dies_reports_what_it_could_and_exits_3(
    tmp_path: Path,
) -> None:
    with fault_server("close-after", after=40) as server:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "conformance.cli",
                "run",
                "--url",
                server.url,
                "--seed",
                "1",
                "--timeout",
                "1",
                "--report-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
            check=False,
        )
    assert result.returncode == 3, result.stdout + result.stderr
    document = json.loads((tmp_path / "results.json").read_text())
    outcomes = document["harness_outcomes"]
    assert outcomes
    assert all(o["outcome"] == "setup-error" for o in outcomes)
    assert any("cannot connect" in o["message"] for o in outcomes)
    assert document["summary"]["divergences"] == 0


@pytest.mark.parametrize("workers", ["0", "2"])
def test_sigterm_mid_run_still_writes_the_report(tmp_path: Path, workers: str) -> None:
    """An interrupted run (SIGTERM, as a cancelled CI job sends) writes what it found so far;
    with forked workers too (the parent passes the signal on and waits for their findings)."""
    import signal
    import time

    with fault_server("stall-after", after=5) as server:  # answers, then stalls mid-run
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "conformance.cli",
                "run",
                "--url",
                server.url,
                "--timeout",
                "30",
                "--report-dir",
                str(tmp_path),
                "-n",
                workers,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while server.served <= 5 and time.monotonic() < deadline:  # into the properties,
            time.sleep(0.1)  # where a request now stalls
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert (tmp_path / "results.json").exists()
    assert "interrupted" in err
