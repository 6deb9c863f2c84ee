"""The oracle against a real browser: headless Chromium (Debian's package, driven by Playwright)
and the model under the ``chromium`` profile must do the same thing, case for case.

Each case goes to Chromium as a real ``fetch()`` from one loopback origin to another, answered
byte for byte by a scripted server; the model is given the same request and the same bytes.
Compared: whether a preflight was sent and its exact headers, whether the actual request was
sent and its headers, allowed or blocked, the status, the header names script can read. Any
difference fails the test: it is either a bug of the model (fix ``reference/``) or a Chromium
departure from the spec (a named quirk of the ``chromium`` profile, with its evidence).

Run alone, with more cases::

    CORS_BROWSER_CASES=5000 python -m pytest -m browser tests/test_browser_differential.py
    python -m conformance.browser_check --cases 5000 --seed 7
"""

from __future__ import annotations

import os

import pytest

from conformance.browser_check.cases import (
    Case,
    cache_sequences,
    edge_cases,
    generated_cases,
    pinned_cases,
)
from conformance.browser_check.driver import chromium_available, playwright_available
from conformance.browser_check.run import Outcome, Report, run_cases

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not chromium_available(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
    pytest.mark.skipif(
        not playwright_available(), reason="needs playwright (pip install -e .[dev])"
    ),
]

DEFAULT_CASES = 300


def _count() -> int:
    return int(os.environ.get("CORS_BROWSER_CASES", DEFAULT_CASES))


def _seed() -> int:
    return int(os.environ.get("CORS_BROWSER_SEED", "0"))


def _by_id(cases: list[Case], *ids: str) -> list[Case]:
    found = [c for c in cases if c.id in ids]
    assert len(found) == len(ids), f"missing cases: {set(ids) - {c.id for c in found}}"
    return found


def _run(cases: list[Case]) -> Report:
    report = run_cases(cases)
    assert not report.not_compared, report.summary()
    return report


def _only(report: Report, case_id: str) -> list[tuple[Outcome, Outcome, Outcome]]:
    return report.outcomes[case_id]


def test_chromium_agrees_with_the_model() -> None:
    """Generated cases (strategies + arbitrary responses), the digest's edge cases, the pinned
    cases Chromium can express, and the preflight-cache sequences: no difference at all."""
    pinned, skipped = pinned_cases()
    cases = edge_cases() + pinned + generated_cases(_count(), seed_value=_seed())
    cases += cache_sequences()
    report = run_cases(cases, skipped=skipped)
    print(report.summary())
    assert report.disagreements == [], report.summary()
    assert report.not_compared == [], report.summary()
    assert report.fetches_compared >= len(cases)
    # The run means something: both sides of every decision occur, and quirks carry weight.
    assert report.shapes["preflighted"] > 0
    assert report.shapes["no preflight"] > 0
    assert report.shapes["allowed"] > 0
    assert report.shapes["blocked"] > 0
    assert report.spec_disagrees > 0


def test_every_pinned_case_is_run_or_skipped_with_a_reason() -> None:
    pinned, skipped = pinned_cases()
    assert len(pinned) > 300
    assert all(s.reason for s in skipped)
    assert {c.id for c in pinned}.isdisjoint({s.id for s in skipped})


# --- the three known disagreements between Chromium and the spec, settled -------------------


def test_authorization_is_covered_by_allow_headers_star_in_chromium() -> None:
    """Spec: `Authorization` must be listed; `*` never covers it. Chromium: a fresh preflight's
    `*` covers it without credentials (Quirk.AUTHORIZATION_COVERED_BY_WILDCARD), never with
    credentials, and never from the preflight cache (the model's cache follows the spec)."""
    cases = _by_id(
        edge_cases() + cache_sequences(),
        "edge:request-authorization-star",
        "edge:request-authorization-star-include",
        "cache:header-star-authorization",
    )
    report = _run(cases)
    assert report.disagreements == [], report.summary()
    [(model, spec, chromium)] = _only(report, "edge:request-authorization-star")
    assert chromium.allowed
    assert model.allowed
    assert not spec.allowed
    [(model, spec, chromium)] = _only(report, "edge:request-authorization-star-include")
    assert not chromium.allowed
    assert not model.allowed
    assert not spec.allowed
    (_, _, first), (_, _, second) = _only(report, "cache:header-star-authorization")
    assert first.preflights
    assert second.preflights


def test_max_age_minus_one_is_not_cached_in_chromium() -> None:
    """Spec: `-1` is not delta-seconds, so the 5 s default applies. Chromium: not cached
    (Quirk.MAX_AGE_NEGATIVE_NOT_CACHED); WPT cors/preflight-cache.htm agrees with Chromium."""
    report = _run(_by_id(cache_sequences(), "cache:max-age--1", "cache:max-age-abc"))
    assert report.disagreements == [], report.summary()
    (_, _, first), (model, spec, second) = _only(report, "cache:max-age--1")
    assert first.preflights
    assert second.preflights
    assert model.preflights
    assert not spec.preflights
    (_, _, first), (_, _, second) = _only(report, "cache:max-age-abc")
    assert first.preflights
    assert not second.preflights


def test_duplicate_request_headers_are_combined_before_the_safelist_check() -> None:
    """Spec: each `Headers.append` entry is checked alone (two `Content-Type: text/plain` are
    each safelisted). Chromium combines them into `text/plain, text/plain` first, which is not
    a safelisted MIME type, so it preflights (Quirk.COMBINE_DUPLICATE_REQUEST_HEADERS), and it
    sends the combined value on the wire."""
    report = _run(
        _by_id(
            edge_cases(),
            "edge:request-content-type-twice",
            "edge:request-accept-twice",
            "edge:request-content-language-twice",
        )
    )
    assert report.disagreements == [], report.summary()
    [(model, spec, chromium)] = _only(report, "edge:request-content-type-twice")
    assert chromium.preflights
    assert model.preflights
    assert not spec.preflights
    assert dict(chromium.preflights[0])["access-control-request-headers"] == "content-type"
    [(_, _, chromium)] = _only(report, "edge:request-accept-twice")
    assert not chromium.preflights
    assert ("accept", "a/b, c/d") in chromium.actuals[0][1]
    [(_, spec, chromium)] = _only(report, "edge:request-content-language-twice")
    assert not chromium.preflights
    assert not spec.preflights


def test_chromium_http_parser_acts_before_cors() -> None:
    """Bytes no valid response carries are Chromium's HTTP parser's business, not CORS's: the
    model takes field lines as received, so these cases are recorded, not compared."""
    report = _run(
        _by_id(
            edge_cases(), "edge:http-nul-in-unrelated-header", "edge:http-header-name-with-space"
        )
    )
    [nul] = report.outside_model["edge:http-nul-in-unrelated-header"]
    assert not nul.allowed
    assert report.network_errors["edge:http-nul-in-unrelated-header"] == (
        "net::ERR_INVALID_HTTP_RESPONSE",
    )
    [space] = report.outside_model["edge:http-header-name-with-space"]
    assert space.allowed
    assert space.visible is not None
    assert "x custom" not in space.visible
