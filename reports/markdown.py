"""A Markdown summary that reads well as a GitHub Actions job summary
(``cat cors-report/summary.md >> "$GITHUB_STEP_SUMMARY"``): a compact table by grade and kind,
then one collapsed ``<details>`` block per divergence.

Values from the target (header names and values, origins) are untrusted: they go into code
spans and fences long enough not to be closed by them, or are HTML-escaped. GitHub caps a job
summary at 1 MiB, so past :data:`SIZE_LIMIT` the remaining details are left to the other files.
"""

from __future__ import annotations

import html
import re

from reports._text import (
    GRADES,
    Document,
    Record,
    baseline_state,
    by_grade,
    by_kind,
    exchange_verdict,
    failing_count,
    plural,
    records,
    reproduce_command,
    reproduce_decorator,
    request_line,
    shorten,
    split_anchor,
    visible,
    wire_lines,
)

SIZE_LIMIT = 900_000
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#!])")


def text(value: str) -> str:
    """Untrusted text as inline Markdown that renders as itself."""
    escaped = html.escape(visible(value).replace("\n", " "), quote=False)
    return _MD_SPECIAL.sub(r"\\\1", escaped)


def code(value: str) -> str:
    """Untrusted text as an inline code span."""
    shown = visible(value).replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", shown)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if shown.startswith("`") or shown.endswith("`") or not shown.strip() else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


def fenced(body: str, language: str = "") -> str:
    shown = visible(body, keep_newlines=True)
    longest = max((len(run) for run in re.findall(r"`{3,}", shown)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{shown}\n{fence}"


def render_markdown(document: Document) -> str:
    run = document.get("run", {})
    failing = failing_count(document)
    total = len(records(document))
    if failing:
        title = f":x: cors-conformance: {plural(total, 'divergence')}, {failing} failing the run"
    elif total:
        title = (
            f":white_check_mark: cors-conformance: {plural(total, 'divergence')}, "
            "all known (baseline)"
        )
    else:
        title = ":white_check_mark: cors-conformance: no divergence"
    out = [
        f"## {title}",
        "",
        f"Target {code(str(run.get('target')))} · policy {code(str(run.get('policy_file')))} · "
        f"profile {code(str(run.get('profile')))} · seed {code(str(run.get('seed')))} · "
        f"{run.get('cases_sent', 0)} requests · {run.get('duration_s', 0)} s",
        "",
    ]
    if run.get("reproduce"):
        out += [f"Rerun: {code(run['reproduce'])}", ""]
    if total:
        out += [
            "| grade | kind | divergences | occurrences | baseline |",
            "|---|---|---:|---:|---|",
        ]
        for grade, group in by_grade(document):
            for kind, kind_records in by_kind(group):
                states = sorted({baseline_state(r) for r in kind_records})
                out.append(
                    f"| **{grade}** | {code(kind)} | {len(kind_records)} | "
                    f"{sum(r['occurrences'] for r in kind_records)} | {', '.join(states)} |"
                )
        out.append("")
    else:
        counts = ", ".join(f"{g} 0" for g in GRADES)
        out += [f"No divergence ({counts}).", ""]
    details: list[str] = []
    size = sum(len(line) + 1 for line in out)
    left_out = 0
    for record in sorted(
        records(document), key=lambda r: (GRADES.index(r["grade"]), r["kind"], r["id"])
    ):
        block = _details(document, record)
        if size + len(block) > SIZE_LIMIT:
            left_out += 1
            continue
        size += len(block) + 1
        details.append(block)
    out += details
    if left_out:
        out += [
            f"*{plural(left_out, 'more divergence')} not shown here (GitHub's size limit): "
            "see report.html or results.json.*",
            "",
        ]
    out += _harness(document)
    out += _properties(document)
    return "\n".join(out).rstrip("\n") + "\n"


def _details(document: Document, record: Record) -> str:
    state = baseline_state(record)
    badge = "" if state == "new" else f" · {state}"
    summary = (
        f"<b>{record['grade']}</b> · <code>{html.escape(record['kind'])}</code> · "
        f"{html.escape(visible(record['reason']))} · seen {record['occurrences']}x{badge}"
    )
    out = [f"<details><summary>{summary}</summary>", ""]
    out += [f"**{text(record['title'])}**: {text(record['summary'])}", ""]
    spec = record["spec_ref"]
    facts = [f"Spec: <{spec}>" if spec.startswith("https://") else f"Spec: {code(spec)}"]
    if record.get("policy_rule"):
        facts.append(f"policy rule: {code(record['policy_rule'])}")
    facts.append(f"id {code(record['id'])}")
    facts.append("found by " + ", ".join(code(p) for p in record.get("properties") or []))
    out += [" · ".join(facts), ""]
    if state != "new":
        entry = record["baseline"]
        expires = f" (expires {entry['expires']})" if entry.get("expires") else ""
        out += [f"Baseline, **{state}**{expires}: {text(entry['reason'])}", ""]
    for number, exchange in enumerate(record.get("exchanges", []), start=1):
        label = f"Exchange {number}" if len(record["exchanges"]) > 1 else "Exchange"
        if exchange.get("request"):
            out += [f"**{label}**: {code(request_line(exchange['request']))}", ""]
        else:
            out += [f"**{label}** (a raw request, sent as is)", ""]
        lines = [line for step in exchange.get("steps", []) for line in wire_lines(step)]
        verdict = exchange_verdict(exchange)
        if verdict:
            lines.append(verdict)
        out += [fenced("\n".join(lines), "http"), ""]
        curls = [shorten(step["curl"]) for step in exchange.get("steps", [])]
        out += ["curl:", "", fenced("\n".join(curls), "sh"), ""]
        if exchange.get("fetch"):
            out += ["Script for the browser console:", "", fenced(exchange["fetch"], "js"), ""]
    out += _steps("Why the browser decides so (model)", record.get("browser_steps", []))
    out += _steps("Why the policy decides so", record.get("policy_steps", []))
    command = reproduce_command(document, record)
    if command:
        out += [f"Rerun: {code(command)}", ""]
    decorator = reproduce_decorator(record)
    if decorator:
        out += [f"Hypothesis: {code(decorator)}", ""]
    out += ["</details>", ""]
    return "\n".join(out)


def _steps(title: str, steps: list[str]) -> list[str]:
    if not steps:
        return []
    out = [f"{title}:", ""]
    for number, step in enumerate(steps, start=1):
        body, url = split_anchor(step)
        link = f" ([spec]({url}))" if url else ""
        out.append(f"{number}. {text(body)}{link}")
    return [*out, ""]


def _harness(document: Document) -> list[str]:
    outcomes = document.get("harness_outcomes", [])
    if not outcomes:
        return []
    out = ["### Harness outcomes (not divergences)", ""]
    out += [
        f"- {code(o['outcome'])} in {code(o['property'])}: {text(o['message'])}" for o in outcomes
    ]
    return [*out, ""]


def _properties(document: Document) -> list[str]:
    run = document.get("run", {})
    properties = run.get("properties", {})
    if not properties:
        return []
    stats = run.get("property_stats", {})
    out = [
        "<details><summary>Properties</summary>",
        "",
        "| property | outcome | requests | seconds |",
        "|---|---|---:|---:|",
    ]
    for name, outcome in sorted(properties.items()):
        stat = stats.get(name, {})
        out.append(
            f"| {code(name)} | {outcome} | {stat.get('cases_sent', '')} | "
            f"{stat.get('duration_s', '')} |"
        )
    return [*out, "", "</details>", ""]
