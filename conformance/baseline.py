"""Baselines: known divergences that are reported but do not fail the run, so a framework can
adopt the suite in CI before fixing everything.

A baseline is a TOML (or JSON) file of ``[[known]]`` entries, each matching records either by
``id`` (the record's stable id: a hash of kind, spec anchor and reason) or by ``kind`` (and,
optionally, the divergence's own ``divergence_reason``), with a ``reason`` saying why it is
accepted and an optional ``expires`` date::

    [[known]]
    id = "7418b6de83c6"
    reason = "lowercase methods: tracked in #123"
    expires = 2026-12-31            # from the next day on, this divergence fails the run again

    [[known]]
    kind = "credentials-header-to-refused-origin"
    reason = "harmless; fixed in the next major release"

JSON has the same shape: ``{"known": [{"id": ..., "reason": ..., "expires": "2026-12-31"}]}``.

A matched record gets ``"baseline": {"reason", "expires", "expired", "entry"}``; it fails the
run only once expired. Entries that match nothing are reported as stale (never a failure: the
divergence may just not have been drawn this time).
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import tomllib
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.divergences import KIND_BY_NAME
from conformance.outcomes import UsageError

ENTRY_KEYS = ("id", "kind", "divergence_reason", "reason", "expires")


@dataclass(frozen=True, slots=True, kw_only=True)
class KnownDivergence:
    index: int  # 0-based position in the file
    reason: str
    id: str | None = None
    kind: str | None = None
    divergence_reason: str | None = None
    expires: dt.date | None = None

    def matches(self, record: Mapping[str, Any]) -> bool:
        if self.id is not None:
            return bool(record["id"] == self.id)
        if record["kind"] != self.kind:
            return False
        return self.divergence_reason is None or record["reason"] == self.divergence_reason

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and today > self.expires

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"entry": self.index}
        for key in ("id", "kind", "divergence_reason"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        out["reason"] = self.reason
        out["expires"] = None if self.expires is None else self.expires.isoformat()
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Baseline:
    file: str
    entries: tuple[KnownDivergence, ...]

    def match(self, record: Mapping[str, Any]) -> KnownDivergence | None:
        return next((entry for entry in self.entries if entry.matches(record)), None)


def load_baseline(path: str | Path) -> Baseline:
    """Read and validate a baseline file; errors name the entry and key (exit status 2)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--baseline {str(file)!r}: cannot read: {exc.strerror}") from None
    try:
        data: object = json.loads(text) if file.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"--baseline {file.name}: not valid {_format(file)}: {exc}") from None
    return parse_baseline(data, source=str(file))


def _format(file: Path) -> str:
    return "JSON" if file.suffix == ".json" else "TOML"


def parse_baseline(data: object, *, source: str) -> Baseline:
    name = Path(source).name
    if not isinstance(data, Mapping):
        raise UsageError(f"{name}: expected a table with a 'known' array")
    unknown = set(data) - {"known"}
    if unknown:
        raise UsageError(f"{name}: unknown key(s) {sorted(unknown)}; entries go in [[known]]")
    raw = data.get("known", [])
    if not isinstance(raw, list):
        raise UsageError(f"{name}: 'known' must be an array of tables ([[known]])")
    entries = tuple(_entry(item, i, name) for i, item in enumerate(raw))
    return Baseline(file=source, entries=entries)


def _entry(item: object, index: int, name: str) -> KnownDivergence:
    where = f"{name}: known[{index}]"
    if not isinstance(item, Mapping):
        raise UsageError(f"{where}: expected a table")
    for key in item:
        if key not in ENTRY_KEYS:
            close = difflib.get_close_matches(str(key), ENTRY_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UsageError(f"{where}: unknown key {key!r}{hint}")
    strings = {}
    for key in ("id", "kind", "divergence_reason", "reason"):
        value = item.get(key)
        if value is not None and not (isinstance(value, str) and value.strip()):
            raise UsageError(f"{where}.{key}: expected a non-empty string, got {value!r}")
        strings[key] = value
    if strings["reason"] is None:
        raise UsageError(f"{where}: 'reason' is required: say why this divergence is accepted")
    if (strings["id"] is None) == (strings["kind"] is None):
        raise UsageError(
            f"{where}: give either 'id' or 'kind' (with an optional 'divergence_reason')"
        )
    if strings["id"] is not None and strings["divergence_reason"] is not None:
        raise UsageError(f"{where}: 'divergence_reason' goes with 'kind', not with 'id'")
    kind = strings["kind"]
    if kind is not None and kind not in KIND_BY_NAME:
        close = difflib.get_close_matches(kind, list(KIND_BY_NAME), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(f"{where}.kind: {kind!r} is not a divergence kind{hint}")
    return KnownDivergence(
        index=index,
        reason=strings["reason"],
        id=strings["id"],
        kind=kind,
        divergence_reason=strings["divergence_reason"],
        expires=_date(item.get("expires"), f"{where}.expires"),
    )


def _date(value: object, where: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise UsageError(f"{where}: expected a date such as 2026-12-31, got {value!r}")


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def baseline_entry(
    record: Mapping[str, Any], baseline: Baseline | None, *, on: dt.date
) -> dict[str, Any] | None:
    """What the record's ``baseline`` field says, or ``None`` if the baseline does not know it."""
    if baseline is None:
        return None
    entry = baseline.match(record)
    if entry is None:
        return None
    return {
        "reason": entry.reason,
        "expires": None if entry.expires is None else entry.expires.isoformat(),
        "expired": entry.expired(on),
        "entry": entry.index,
    }


def apply_baseline(
    records: Iterable[MutableMapping[str, Any]], baseline: Baseline | None, *, on: dt.date
) -> list[dict[str, Any]]:
    """Mark each record with its baseline entry; return the stale entries (matched nothing)."""
    used: set[int] = set()
    for record in records:
        record["baseline"] = baseline_entry(record, baseline, on=on)
        if record["baseline"] is not None:
            used.add(record["baseline"]["entry"])
    if baseline is None:
        return []
    return [entry.as_json() for entry in baseline.entries if entry.index not in used]


def is_tolerated(record: Mapping[str, Any]) -> bool:
    """Known and not expired: reported, but does not fail the run."""
    entry = record.get("baseline")
    return entry is not None and not entry["expired"]


def baseline_toml(
    document: Mapping[str, Any], *, reason: str, expires: dt.date | None = None
) -> str:
    """A baseline that accepts every divergence of ``document`` (``cors-conformance
    baseline``): a starting point to edit, one entry per record, each with ``reason``."""
    run = document.get("run", {})
    lines = [
        "# Known CORS divergences: reported, but they do not fail the run",
        "# (cors-conformance run --baseline FILE, or pytest --cors-baseline FILE).",
        f"# From a run against {_comment(str(run.get('target')))} with seed {run.get('seed')}.",
        "# Say why each is accepted; an entry past its expiry date fails the run again.",
    ]
    for record in document.get("divergences", []):
        lines += [
            "",
            f"# [{record['grade']}] {_comment(record['kind'])} ({_comment(record['reason'])}): "
            f"{_comment(record['title'])}",
            "[[known]]",
            f"id = {json.dumps(record['id'])}",
            f"reason = {json.dumps(reason)}",
        ]
        if expires is not None:
            lines.append(f"expires = {expires.isoformat()}")
    return "\n".join(lines) + "\n"


def _comment(value: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in value)[:200]
