"""What every format shows the same way: grades in order, a record's raw exchange as text,
visible control bytes, spec anchors split off the model's steps, the policy key a rule names.

Header names and values in records are strings whose code points 0-255 stand for bytes
(Latin-1), so they can hold any byte, controls included. Every renderer shows them through
:func:`visible`, which writes a control byte as ``\\xNN``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

Document = Mapping[str, Any]
Record = Mapping[str, Any]

GRADES: tuple[str, ...] = ("insecure", "dysfunctional", "non-strict", "informational")
GRADE_MEANING: dict[str, str] = {
    "insecure": "a browser would let script read, or the server run, what the policy forbids",
    "dysfunctional": "a browser would block what the policy allows",
    "non-strict": "no effect in today's browsers, but wrong or dangerous",
    "informational": "browsers differ among themselves, or only the letter of the spec diverges",
}
# Longest value shown in full on a console or in Markdown; results.json and the HTML page keep
# everything.
SHOWN_VALUE_LIMIT = 2000

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_STEP_ANCHOR = re.compile(r"^(?P<text>.*?)\s*\[(?P<url>https?://[^\s\]]+)\]$", re.DOTALL)
_POLICY_KEYS = (
    "allow_origins|allow_origin_patterns|allow_methods|allow_headers|expose_headers"
    "|allow_credentials|max_age|allow_private_network"
)
_RULE = re.compile(
    rf"^(?P<key>(?:{_POLICY_KEYS})(?:\[\d+\])?)(?: in \[\[paths\]\] #(?P<table>\d+)\b.*)?$"
)


def visible(value: str, *, keep_newlines: bool = False) -> str:
    """``value`` with every control character (C0 but tab, DEL, C1) written as ``\\xNN``."""

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if keep_newlines and char == "\n":
            return char
        return f"\\x{ord(char):02x}"

    return _CONTROL.sub(escape, value)


def shorten(value: str, limit: int | None = SHOWN_VALUE_LIMIT) -> str:
    if limit is None or len(value) <= limit:
        return value
    return f"{value[:limit]}… ({len(value) - limit} more characters in results.json)"


def grade_rank(grade: str) -> int:
    return GRADES.index(grade) if grade in GRADES else len(GRADES)


def records(document: Document) -> list[Record]:
    found: list[Record] = document.get("divergences", [])
    return found


def by_grade(document: Document) -> list[tuple[str, list[Record]]]:
    """Every grade in order, with its records (possibly none)."""
    return [(g, [r for r in records(document) if r["grade"] == g]) for g in GRADES]


def by_kind(group: Iterable[Record]) -> list[tuple[str, list[Record]]]:
    kinds: dict[str, list[Record]] = {}
    for record in group:
        kinds.setdefault(record["kind"], []).append(record)
    return sorted(kinds.items())


def baseline_state(record: Record) -> str:
    """``new``: not in the baseline; ``baselined``: known and not expired; ``expired``."""
    entry = record.get("baseline")
    if not entry:
        return "new"
    return "expired" if entry.get("expired") else "baselined"


def is_failing(record: Record) -> bool:
    return baseline_state(record) != "baselined"


def failing_count(document: Document) -> int:
    count = document.get("outcome", {}).get("failing")
    return int(count) if count is not None else sum(is_failing(r) for r in records(document))


def split_anchor(step: str) -> tuple[str, str | None]:
    """A model step ``"text [https://spec#anchor]"`` as ``("text", "https://spec#anchor")``."""
    match = _STEP_ANCHOR.match(step)
    if match is None:
        return step, None
    return match["text"], match["url"]


def policy_key(rule: str | None) -> str | None:
    """The dotted policy-file key a policy rule names, for ``reference.policy_file.key_line``:
    ``allow_methods in [[paths]] #2 (prefix '/x')`` is ``paths[1].allow_methods``."""
    if not rule:
        return None
    match = _RULE.match(rule)
    if match is None:
        return None
    key = match["key"]
    return f"paths[{int(match['table']) - 1}].{key}" if match["table"] else key


def http_url_or_none(value: object) -> str | None:
    """``value`` if it is an http(s) URL a report may link to, else ``None``."""
    if isinstance(value, str) and re.fullmatch(r"https?://[^\s\"'<>\\]+", value):
        return value
    return None


def request_line(request: Mapping[str, Any]) -> str:
    """The browser request in one line: what a page asks for."""
    parts = [f"{request.get('method', 'GET')} {request['url']} from {request['origin']}"]
    parts.append(f"credentials {request.get('credentials', 'same-origin')}")
    headers = request.get("headers") or []
    if headers:
        parts.append("headers " + ", ".join(f"{n}: {v}" for n, v in headers))
    if request.get("mode"):
        parts.append(f"mode {request['mode']}")
    if request.get("body") is not None:
        parts.append(f"body {request['body']!r}")
    if request.get("cookie") is not None:
        parts.append("with a cookie")
    return visible("; ".join(parts))


def wire_lines(step: Mapping[str, Any], *, limit: int | None = SHOWN_VALUE_LIMIT) -> list[str]:
    """One wire request and its raw response, as ``>`` and ``<`` lines (curl -v style); values
    longer than ``limit`` are shortened (``None``: never)."""
    request, response = step["request"], step["response"]
    kind = "preflight" if request.get("preflight") else "request"
    lines = [f"> {visible(request['method'])} {visible(request['url'])}   ({kind})"]
    lines += [f"> {visible(n)}: {shorten(visible(v), limit)}" for n, v in request["headers"]]
    if request.get("body") is not None:
        lines += [">", f"> {shorten(visible(request['body']), limit)}"]
    lines.append(f"< {response['status']}")
    lines += [f"< {visible(n)}: {shorten(visible(v), limit)}" for n, v in response["headers"]]
    return lines


def exchange_verdict(exchange: Mapping[str, Any]) -> str | None:
    verdict = exchange.get("verdict")
    if verdict is None:
        return None
    reason = exchange.get("reason")
    return f"browser verdict: {verdict}" + (f" ({reason})" if reason else "")


def reproduce_command(document: Document, record: Record) -> str | None:
    """The command that reruns the property that found ``record``, with the same seed."""
    base = document.get("run", {}).get("reproduce")
    if not base:
        return None
    return f"{base} --properties {record['property']}"


def reproduce_decorator(record: Record) -> str | None:
    blob = record.get("reproduce_blob")
    return f"@reproduce_failure({blob})" if blob else None


def plural(count: int, word: str, plural_word: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural_word or word + 's')}"


def headline(document: Document) -> str:
    """One line: how many distinct divergences, by grade, and whether the run fails."""
    summary = document.get("summary", {})
    total = summary.get("divergences", len(records(document)))
    grades = summary.get("by_grade", {})
    counts = ", ".join(f"{g}: {grades.get(g, 0)}" for g in GRADES)
    line = f"{total} distinct divergence(s) {counts}"
    baselined = document.get("outcome", {}).get("baselined", 0)
    if baselined:
        line += f"; {baselined} known (baseline)"
    return line
