"""One self-contained HTML page: inline CSS, no script, no fonts, no images, nothing fetched.
A Content-Security-Policy of ``default-src 'none'`` in the page itself guarantees the last.

Everything that comes from the run is escaped, and control bytes are shown as ``\\xNN``: a
header value can hold any byte, and the page must show it, never interpret it.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

from reports._text import (
    GRADE_MEANING,
    GRADES,
    Document,
    Record,
    baseline_state,
    by_grade,
    by_kind,
    exchange_verdict,
    failing_count,
    http_url_or_none,
    plural,
    records,
    reproduce_command,
    reproduce_decorator,
    request_line,
    split_anchor,
    visible,
    wire_lines,
)

CSS = """
:root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #ffffff; --code: #f6f8fa;
  --insecure: #b42318; --dysfunctional: #b54708; --non-strict: #6941c6;
  --informational: #1570ef; --ok: #067647; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 72rem; padding: 1.5rem; color: var(--fg);
  background: var(--bg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .5rem; border-bottom: 1px solid var(--line);
  padding-bottom: .25rem; }
h3 { font-size: 1.05rem; margin: 1.25rem 0 .25rem; }
h4 { font-size: .8rem; margin: .9rem 0 .25rem; color: var(--muted); text-transform: uppercase;
  letter-spacing: .04em; }
code, pre { font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: var(--code); border: 1px solid var(--line); border-radius: 6px;
  padding: .6rem; overflow-x: auto; white-space: pre-wrap; word-break: break-all;
  max-height: 28rem; margin: .25rem 0; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { border: 1px solid var(--line); padding: .25rem .6rem; text-align: left;
  vertical-align: top; }
th { background: var(--code); }
td.num { text-align: right; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem;
  margin: .5rem 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.status { display: inline-block; padding: .15rem .6rem; border-radius: 1rem; color: #fff;
  font-weight: 600; }
.status.fail { background: var(--insecure); }
.status.pass { background: var(--ok); }
.grade { display: inline-block; padding: 0 .45rem; border-radius: .3rem; color: #fff;
  font-size: .8rem; font-weight: 600; }
.grade.insecure { background: var(--insecure); }
.grade.dysfunctional { background: var(--dysfunctional); }
.grade.non-strict { background: var(--non-strict); }
.grade.informational { background: var(--informational); }
article.record { border: 1px solid var(--line); border-left: 5px solid var(--line);
  border-radius: 6px; padding: .5rem 1rem 1rem; margin: 1rem 0; }
article.record.insecure { border-left-color: var(--insecure); }
article.record.dysfunctional { border-left-color: var(--dysfunctional); }
article.record.non-strict { border-left-color: var(--non-strict); }
article.record.informational { border-left-color: var(--informational); }
.summary { font-size: 1rem; margin: .25rem 0; }
.baseline { background: #fffaeb; border: 1px solid #fedf89; border-radius: 6px;
  padding: .3rem .6rem; }
.muted { color: var(--muted); }
ol.steps { margin: .25rem 0; padding-left: 1.6rem; }
a { color: #0969da; }
"""


def e(value: object) -> str:
    """Escape for HTML text and attribute values, control bytes made visible."""
    return html.escape(visible(str(value), keep_newlines=True), quote=True)


def _link(url: object, label: object | None = None) -> str:
    safe = http_url_or_none(url)
    if safe is None:
        return e(label if label is not None else url)
    return f'<a href="{e(safe)}">{e(label if label is not None else safe)}</a>'


def _pre(body: str, css_class: str = "") -> str:
    klass = f' class="{css_class}"' if css_class else ""
    return f"<pre{klass}>{e(body)}</pre>"


def _facts(pairs: Iterable[tuple[str, str]]) -> str:
    rows = "".join(f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in pairs)
    return f'<dl class="facts">{rows}</dl>'


def render_html(document: Document) -> str:
    run = document.get("run", {})
    failing = failing_count(document)
    total = len(records(document))
    title = f"cors-conformance: {plural(total, 'divergence')} ({run.get('target', '?')})"
    status = (
        f'<span class="status fail">{e(plural(failing, "divergence"))} '
        f"{'fails' if failing == 1 else 'fail'} the run</span>"
        if failing
        else '<span class="status pass">passing</span>'
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title>",
        f"<style>{CSS}</style>",
        "</head><body>",
        "<header>",
        "<h1>cors-conformance report</h1>",
        f'<p id="status">{status} <span class="muted">{e(_counts(document))}</span></p>',
        _run_facts(document),
        "</header>",
        _overview(document),
    ]
    for grade, group in by_grade(document):
        if group:
            parts.append(_grade_section(document, grade, group))
    parts += [
        _harness(document),
        _stale(document),
        _properties(document),
        _policy(document),
        '<footer class="muted"><p>Generated by cors-conformance from results.json '
        f"(schema {e(document.get('schema', ''))}, version {e(document.get('version', ''))})."
        "</p></footer>",
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def _counts(document: Document) -> str:
    grades = document.get("summary", {}).get("by_grade", {})
    return " · ".join(f"{g} {grades.get(g, 0)}" for g in GRADES)


def _run_facts(document: Document) -> str:
    run = document.get("run", {})
    pairs = [
        ("target", e(run.get("target"))),
        ("policy", e(run.get("policy_file"))),
        ("profile", e(run.get("profile"))),
        ("seed", f"<code>{e(run.get('seed'))}</code>"),
        ("requests sent", e(run.get("cases_sent", 0))),
        ("started", e(run.get("started", ""))),
        ("duration", e(f"{run.get('duration_s', 0)} s")),
        ("browser side", e(run.get("browser_profile", ""))),
    ]
    if run.get("reproduce"):
        pairs.append(("rerun", f"<code>{e(run['reproduce'])}</code>"))
    return _facts(pairs)


def _overview(document: Document) -> str:
    if not records(document):
        return (
            '<p id="clean">No divergence: every response leads a browser to do what the '
            "policy intends.</p>"
        )
    rows = []
    for grade, group in by_grade(document):
        for kind, kind_records in by_kind(group):
            links = " ".join(f'<a href="#d-{e(r["id"])}">{e(r["id"])}</a>' for r in kind_records)
            rows.append(
                f'<tr><td><span class="grade {e(grade)}">{e(grade)}</span></td>'
                f"<td><code>{e(kind)}</code></td><td>{e(kind_records[0]['title'])}</td>"
                f'<td class="num">{len(kind_records)}</td>'
                f'<td class="num">{sum(r["occurrences"] for r in kind_records)}</td>'
                f"<td>{e(', '.join(sorted({baseline_state(r) for r in kind_records})))}</td>"
                f"<td>{links}</td></tr>"
            )
    return (
        '<h2 id="overview">Overview</h2><table><thead><tr><th>grade</th><th>kind</th>'
        "<th>what it means</th><th>divergences</th><th>occurrences</th><th>baseline</th>"
        "<th>records</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _grade_section(document: Document, grade: str, group: list[Record]) -> str:
    body = [
        f'<section id="grade-{e(grade)}"><h2><span class="grade {e(grade)}">{e(grade)}</span> '
        f"{e(plural(len(group), 'divergence'))}</h2>",
        f'<p class="muted">{e(GRADE_MEANING[grade])}</p>',
    ]
    for _, kind_records in by_kind(group):
        body += [_record(document, r) for r in kind_records]
    body.append("</section>")
    return "\n".join(body)


def _record(document: Document, record: Record) -> str:
    grade = record["grade"]
    state = baseline_state(record)
    facts = [
        ("reason", f"<code>{e(record['reason'])}</code>"),
        ("spec", _link(record["spec_ref"])),
        ("occurrences", e(record["occurrences"])),
        ("found by", ", ".join(f"<code>{e(p)}</code>" for p in record.get("properties") or [])),
        ("id", f"<code>{e(record['id'])}</code>"),
    ]
    if record.get("policy_rule"):
        facts.insert(2, ("policy rule", f"<code>{e(record['policy_rule'])}</code>"))
    out = [
        f'<article class="record {e(grade)}" id="d-{e(record["id"])}">',
        f'<h3><span class="grade {e(grade)}">{e(grade)}</span> <code>{e(record["kind"])}</code>: '
        f"{e(record['title'])}</h3>",
        f'<p class="summary">{e(record["summary"])}</p>',
    ]
    if state != "new":
        entry = record["baseline"]
        expires = f" (expires {e(entry['expires'])})" if entry.get("expires") else ""
        out.append(
            f'<p class="baseline"><b>{e(state)}</b> in the baseline{expires}: '
            f"{e(entry['reason'])}</p>"
        )
    out.append(_facts(facts))
    exchanges = record.get("exchanges", [])
    for number, exchange in enumerate(exchanges, start=1):
        out.append(_exchange(exchange, number if len(exchanges) > 1 else None))
    out += _steps("Why the browser decides so (model)", record.get("browser_steps", []))
    out += _steps("Why the policy decides so", record.get("policy_steps", []))
    reproduce = [c for c in (reproduce_command(document, record), reproduce_decorator(record)) if c]
    if reproduce:
        out += ["<h4>Rerun</h4>", _pre("\n".join(reproduce))]
    out.append("</article>")
    return "\n".join(out)


def _exchange(exchange: Mapping[str, Any], number: int | None) -> str:
    label = "Exchange" + (f" {number}" if number else "")
    out = []
    if exchange.get("request"):
        out += [
            f"<h4>{label}: the request a page makes</h4>",
            _pre(request_line(exchange["request"])),
        ]
    else:
        out.append(f"<h4>{label}: a raw request, sent as is</h4>")
    lines = [line for step in exchange.get("steps", []) for line in wire_lines(step, limit=None)]
    verdict = exchange_verdict(exchange)
    if verdict:
        lines.append(verdict)
    out += ["<h4>Raw exchange</h4>", _pre("\n".join(lines), "wire")]
    curls = [step["curl"] for step in exchange.get("steps", [])]
    out += ["<h4>curl</h4>", _pre("\n".join(curls), "curl")]
    if exchange.get("fetch"):
        out += ["<h4>Script for the browser console</h4>", _pre(exchange["fetch"], "fetch")]
    return "\n".join(out)


def _steps(title: str, steps: list[str]) -> list[str]:
    if not steps:
        return []
    items = []
    for step in steps:
        text, url = split_anchor(step)
        link = f' <a href="{e(url)}">[spec]</a>' if url and http_url_or_none(url) else ""
        items.append(f"<li>{e(text)}{link}</li>")
    return [f"<h4>{e(title)}</h4>", f'<ol class="steps">{"".join(items)}</ol>']


def _harness(document: Document) -> str:
    outcomes = document.get("harness_outcomes", [])
    if not outcomes:
        return ""
    rows = "".join(
        f"<tr><td><code>{e(o['outcome'])}</code></td><td><code>{e(o['property'])}</code></td>"
        f"<td>{e(o['message'])}</td></tr>"
        for o in outcomes
    )
    return (
        '<section id="harness"><h2>Harness outcomes (not divergences)</h2><table><thead><tr>'
        f"<th>outcome</th><th>property</th><th>message</th></tr></thead><tbody>{rows}</tbody>"
        "</table></section>"
    )


def _stale(document: Document) -> str:
    baseline = document.get("baseline")
    if not baseline:
        return ""
    stale = baseline.get("stale", [])
    head = (
        f'<section id="baseline"><h2>Baseline</h2><p>{e(baseline.get("file", ""))}: '
        f"{e(plural(int(baseline.get('entries', 0)), 'entry', 'entries'))}, "
        f"{e(len(stale))} stale (matched nothing in this run).</p>"
    )
    if not stale:
        return head + "</section>"
    rows = "".join(
        f"<tr><td><code>{e(s.get('id') or s.get('kind', ''))}</code></td>"
        f"<td>{e(s.get('divergence_reason') or '')}</td><td>{e(s['reason'])}</td>"
        f"<td>{e(s.get('expires') or '')}</td></tr>"
        for s in stale
    )
    return (
        head + "<table><thead><tr><th>id or kind</th><th>divergence reason</th><th>why known</th>"
        f"<th>expires</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _properties(document: Document) -> str:
    run = document.get("run", {})
    properties = run.get("properties", {})
    if not properties:
        return ""
    stats = run.get("property_stats", {})
    rows = "".join(
        f"<tr><td><code>{e(name)}</code></td><td>{e(outcome)}</td>"
        f'<td class="num">{e(stats.get(name, {}).get("cases_sent", ""))}</td>'
        f'<td class="num">{e(stats.get(name, {}).get("duration_s", ""))}</td></tr>'
        for name, outcome in sorted(properties.items())
    )
    return (
        '<section id="properties"><h2>Properties</h2><table><thead><tr><th>property</th>'
        "<th>outcome</th><th>requests</th><th>seconds</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


def _policy(document: Document) -> str:
    policy = document.get("run", {}).get("policy")
    if not policy:
        return ""
    return (
        '<section id="policy"><h2>The policy</h2>'
        f"<details><summary>{e(document['run'].get('policy_file', 'policy'))}</summary>"
        f"{_pre(policy)}</details></section>"
    )
