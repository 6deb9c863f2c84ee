"""The summary printed at the end of a run: grouped by grade, then kind; each divergence with
everything needed to reproduce and understand it without reading the suite's code."""

from __future__ import annotations

from reports._text import (
    GRADE_MEANING,
    Document,
    Record,
    baseline_state,
    by_grade,
    by_kind,
    exchange_verdict,
    failing_count,
    headline,
    plural,
    reproduce_command,
    reproduce_decorator,
    request_line,
    shorten,
    split_anchor,
    visible,
    wire_lines,
)

INDENT = "    "


def render_console(document: Document) -> str:
    run = document.get("run", {})
    out = [
        headline(document),
        f"target: {run.get('target')}; policy: {run.get('policy_file')}; "
        f"profile: {run.get('profile')}; seed: {run.get('seed')}; "
        f"{run.get('cases_sent', 0)} requests sent in {run.get('duration_s', 0)} s",
    ]
    for grade, group in by_grade(document):
        if not group:
            continue
        out += ["", f"== {grade} ({len(group)}): {GRADE_MEANING[grade]} =="]
        for kind, kind_records in by_kind(group):
            out += ["", f"{kind}: {kind_records[0]['title']}"]
            for record in kind_records:
                out += record_lines(document, record)
    out += _harness(document)
    out += _baseline(document)
    failing = failing_count(document)
    if document.get("divergences"):
        out += [
            "",
            f"{plural(failing, 'divergence')} {'fails' if failing == 1 else 'fail'} the run.",
        ]
    return "\n".join(out) + "\n"


def record_lines(document: Document, record: Record) -> list[str]:
    state = baseline_state(record)
    tags = [record["reason"], f"seen {record['occurrences']}x"]
    tags.append("found by " + ", ".join(record.get("properties") or [record["property"]]))
    out = [f"  [{record['id']}] " + "; ".join(visible(t) for t in tags)]
    if state != "new":
        entry = record["baseline"]
        expires = f", expires {entry['expires']}" if entry.get("expires") else ""
        out.append(f"{INDENT}{state.upper()} in the baseline: {visible(entry['reason'])}{expires}")
    out.append(f"{INDENT}{visible(record['summary'])}")
    out.append(f"{INDENT}spec: {record['spec_ref']}")
    if record.get("policy_rule"):
        out.append(f"{INDENT}policy rule: {visible(record['policy_rule'])}")
    for number, exchange in enumerate(record.get("exchanges", []), start=1):
        label = f"exchange {number}" if len(record["exchanges"]) > 1 else "exchange"
        if exchange.get("request"):
            out.append(f"{INDENT}{label}: {request_line(exchange['request'])}")
        else:
            out.append(f"{INDENT}{label} (a raw request, sent as is):")
        for step in exchange.get("steps", []):
            out += [INDENT * 2 + line for line in wire_lines(step)]
        verdict = exchange_verdict(exchange)
        if verdict:
            out.append(INDENT * 2 + verdict)
        out.append(f"{INDENT}curl:")
        out += [f"{INDENT * 2}$ {shorten(step['curl'])}" for step in exchange.get("steps", [])]
        if exchange.get("fetch"):
            out.append(f"{INDENT}script for the browser console:")
            out += [
                INDENT * 2 + line
                for line in visible(exchange["fetch"], keep_newlines=True).splitlines()
            ]
    out += _steps("why the browser decides so (model)", record.get("browser_steps", []))
    out += _steps("why the policy decides so", record.get("policy_steps", []))
    command = reproduce_command(document, record)
    if command:
        out.append(f"{INDENT}rerun: {command}")
    decorator = reproduce_decorator(record)
    if decorator:
        out.append(f"{INDENT}hypothesis: {decorator}")
    return out


def _steps(title: str, steps: list[str]) -> list[str]:
    if not steps:
        return []
    out = [f"{INDENT}{title}:"]
    for number, step in enumerate(steps, start=1):
        text, url = split_anchor(step)
        out.append(f"{INDENT * 2}{number}. {visible(text)}" + (f" [{url}]" if url else ""))
    return out


def _harness(document: Document) -> list[str]:
    outcomes = document.get("harness_outcomes", [])
    if not outcomes:
        return []
    out = ["", f"== harness outcomes ({len(outcomes)}): not divergences =="]
    out += [f"  ({o['outcome']}) {o['property']}: {visible(o['message'])}" for o in outcomes]
    return out


def _baseline(document: Document) -> list[str]:
    baseline = document.get("baseline")
    if not baseline or not baseline.get("stale"):
        return []
    out = ["", f"== stale baseline entries ({len(baseline['stale'])}): matched nothing =="]
    for entry in baseline["stale"]:
        what = entry.get("id") or " ".join(
            str(entry[k]) for k in ("kind", "divergence_reason") if entry.get(k)
        )
        out.append(f"  {visible(what)}: {visible(entry['reason'])}")
    return out
