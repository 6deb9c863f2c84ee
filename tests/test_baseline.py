"""Baselines: known divergences are reported but do not fail the run, until they expire."""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from conformance.baseline import (
    apply_baseline,
    baseline_toml,
    is_tolerated,
    load_baseline,
    parse_baseline,
)
from conformance.outcomes import UsageError

TODAY = dt.date(2026, 6, 1)


def record(rid: str, kind: str = "allowed-request-blocked", reason: str = "X") -> dict[str, Any]:
    return {
        "id": rid,
        "kind": kind,
        "reason": reason,
        "grade": "dysfunctional",
        "title": "t",
    }


def test_entries_match_by_id_or_by_kind_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "b.toml"
    path.write_text(
        "[[known]]\n"
        'id = "aaaaaaaaaaaa"\n'
        'reason = "tracked in #1"\n'
        "expires = 2026-12-31\n"
        "\n"
        "[[known]]\n"
        'kind = "missing-vary-origin"\n'
        'reason = "any reason of that kind"\n'
        "\n"
        "[[known]]\n"
        'kind = "allowed-request-blocked"\n'
        'divergence_reason = "PREFLIGHT_INVALID_STATUS"\n'
        'reason = "only this reason"\n'
        "expires = 2026-01-01\n"
        "\n"
        "[[known]]\n"
        'id = "ffffffffffff"\n'
        'reason = "fixed long ago"\n'
    )
    baseline = load_baseline(path)
    records = [
        record("aaaaaaaaaaaa"),
        record("bbbbbbbbbbbb", "missing-vary-origin", "vary"),
        record("cccccccccccc", reason="PREFLIGHT_INVALID_STATUS"),
        record("dddddddddddd", reason="OTHER"),
    ]
    stale = apply_baseline(records, baseline, on=TODAY)
    assert records[0]["baseline"] == {
        "reason": "tracked in #1",
        "expires": "2026-12-31",
        "expired": False,
        "entry": 0,
    }
    assert records[1]["baseline"]["entry"] == 1
    assert records[2]["baseline"]["expired"] is True  # expired on 2026-01-01
    assert records[3]["baseline"] is None
    assert [is_tolerated(r) for r in records] == [True, True, False, False]
    assert stale == [
        {"entry": 3, "id": "ffffffffffff", "reason": "fixed long ago", "expires": None}
    ]


def test_the_expiry_day_itself_still_counts() -> None:
    baseline = parse_baseline(
        {"known": [{"id": "aaaaaaaaaaaa", "reason": "r", "expires": "2026-06-01"}]},
        source="b.json",
    )
    (entry,) = baseline.entries
    assert not entry.expired(TODAY)
    assert entry.expired(TODAY + dt.timedelta(days=1))


def test_json_baselines(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"known": [{"kind": "browsers-differ", "reason": "engines"}]}))
    (entry,) = load_baseline(path).entries
    assert entry.kind == "browsers-differ"
    assert entry.expires is None


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"known": [{"id": "a"}]}, "known[0]: 'reason' is required"),
        ({"known": [{"reason": "r"}]}, "give either 'id' or 'kind'"),
        ({"known": [{"id": "a", "kind": "browsers-differ", "reason": "r"}]}, "either"),
        ({"known": [{"kind": "browser-differ", "reason": "r"}]}, "did you mean 'browsers-differ'"),
        ({"known": [{"id": "a", "reason": "r", "expire": "2026-01-01"}]}, "did you mean 'expires'"),
        ({"known": [{"id": "a", "reason": "r", "expires": "soon"}]}, "known[0].expires"),
        ({"known": [{"id": "a", "reason": ""}]}, "known[0].reason"),
        ({"known": [{"id": "a", "divergence_reason": "x", "reason": "r"}]}, "goes with 'kind'"),
        ({"entries": []}, "entries go in [[known]]"),
        ({"known": {}}, "array of tables"),
    ],
)
def test_errors_name_the_entry_and_key(document: object, message: str) -> None:
    with pytest.raises(UsageError, match=r"b\.toml") as info:
        parse_baseline(document, source="b.toml")
    assert message in str(info.value)


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        load_baseline(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[known]\n")
    with pytest.raises(UsageError, match="not valid TOML"):
        load_baseline(bad)


def test_no_baseline_marks_every_record_new() -> None:
    records = [record("aaaaaaaaaaaa")]
    assert apply_baseline(records, None, on=TODAY) == []
    assert records[0]["baseline"] is None


def test_a_written_baseline_loads_and_accepts_every_record(tmp_path: Path) -> None:
    records = [record("aaaaaaaaaaaa"), record("bbbbbbbbbbbb", reason="Q\n#")]
    document: dict[str, Any] = {"run": {"target": "app x:y", "seed": 3}, "divergences": records}
    text = baseline_toml(document, reason='say "why"', expires=dt.date(2027, 1, 1))
    tomllib.loads(text)
    path = tmp_path / "b.toml"
    path.write_text(text)
    baseline = load_baseline(path)
    assert apply_baseline(records, baseline, on=TODAY) == []
    assert all(is_tolerated(r) for r in records)
    assert baseline.entries[0].reason == 'say "why"'
