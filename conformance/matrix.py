"""The conformance matrix: every framework adapter, run with a fixed seed and a modest profile,
one results file per implementation and version, and an index in the style of cache-tests.fyi.

    cors-conformance matrix                  # run every framework, then render
    cors-conformance matrix --frameworks starlette flask-cors
    cors-conformance matrix --render-only    # re-render from reports/matrix/results/

(``python -m conformance.matrix`` is the same command.)

For each framework, ``framework_configurations`` (:mod:`conformance.framework_properties`) runs
once per spec area (so a frequent finding in one area cannot hide a rarer one in another),
generating policies as well as requests. The results document of each framework is the normal
``cors-conformance/results`` document, with a ``framework`` section added (version, the
policies tested, those skipped as inexpressible by key, the outcome per area); it is written to
``reports/matrix/results/<framework>-<version>.json``. Then:

* ``reports/matrix/index.md`` and ``index.html`` (self-contained): rows are checks grouped by
  spec area, columns are implementations, each cell ``pass`` or the grade of the divergence,
  linking to its reproduction;
* ``reports/matrix/frameworks/<framework>.md``: each divergence with its shrunk policy, requests,
  responses and curl commands (the cells link to these anchors).

Frameworks run in parallel worker processes (``--jobs``, default 2): each adapter's state
(Django's settings, a Node server) stays in its own process.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
OUT_DIR: Final = ROOT / "reports" / "matrix"
SEED: Final = 20251125
MAX_EXAMPLES: Final = 25
JOBS: Final = 2
WORKER_TIMEOUT: Final = 1800.0

GRADES: Final = ("insecure", "dysfunctional", "non-strict", "informational")


@dataclass(frozen=True, slots=True)
class Row:
    area: str
    kind: str
    title: str


# The checks, by spec area: each row is a divergence kind as it shows in that area.
ROWS: Final = (
    Row("origin", "origin-granted-against-policy", "an origin the policy refuses can read"),
    Row("origin", "preflight-granted-against-policy", "a preflight passes for a refused origin"),
    Row("origin", "allowed-request-blocked", "an allowed origin is blocked"),
    Row("credentials", "credentialed-read-against-policy", "credentials read against the policy"),
    Row("credentials", "allowed-request-blocked", "an allowed credentialed request is blocked"),
    Row("methods", "method-granted-against-policy", "a method the policy refuses passes"),
    Row("methods", "preflight-granted-against-policy", "a preflight passes for a refused method"),
    Row("methods", "allowed-request-blocked", "an allowed method is blocked"),
    Row("headers", "header-granted-against-policy", "a request header the policy refuses passes"),
    Row("headers", "preflight-granted-against-policy", "a preflight passes for refused headers"),
    Row("headers", "allowed-request-blocked", "an allowed request header is blocked"),
    Row("headers", "browsers-differ", "browsers differ (e.g. Authorization under *)"),
    Row("preflight", "allowed-request-blocked", "an allowed preflight fails (status, PNA)"),
    Row(
        "preflight", "preflight-granted-actual-refused", "preflight granted, actual request refused"
    ),
    Row("exposure", "header-exposed-against-policy", "script reads a header not exposed"),
    Row("exposure", "exposed-header-hidden", "an exposed header is hidden"),
    Row("caching", "missing-vary-origin", "Vary: Origin missing"),
    Row("caching", "malformed-cors-header", "Access-Control-Max-Age malformed"),
    Row("hygiene", "credentials-header-to-refused-origin", "Allow-Credentials to refused origins"),
    Row("hygiene", "private-network-granted-unasked", "Allow-Private-Network unasked"),
    Row("hygiene", "malformed-cors-header", "malformed CORS list headers"),
    Row("robustness", "server-error-on-hostile-input", "5xx on hostile input"),
    Row("robustness", "hostile-input-granted", "a malformed Origin is granted"),
)


# -- running one framework (in a worker process) ---------------------------------------------------


def run_framework(name: str, *, seed: int, max_examples: int) -> dict[str, Any]:
    """Run every area for one framework; the results document."""
    from conformance.context import SuiteContext
    from conformance.divergences import Divergence
    from conformance.framework_properties import AREAS, PROPERTY_NAME, framework_configurations
    from conformance.frameworks import FRAMEWORKS, PROBE_POLICY, FrameworkSession
    from conformance.outcomes import HarnessOutcome
    from conformance.plugin import SessionState, results_document
    from conformance.records import divergence_record, walk_exceptions
    from conformance.settings import DEFAULT_PATHS, RunOptions

    entry = FRAMEWORKS[name]
    options = RunOptions(framework=name, profile="dev", seed=seed, max_examples=max_examples)
    state = SessionState(options=options, seed=seed, report_dir=OUT_DIR)
    state.policy_text = "(generated: strategies.policies(), one policy per example)"
    state.ran_suite = True
    inexpressible: Counter[str] = Counter()
    tested = not_applicable = 0
    areas: dict[str, str] = {}
    session = FrameworkSession(name)
    version = session.adapter.package_version()
    try:
        for area, _title in AREAS:
            prop = f"{PROPERTY_NAME}[{area}]"
            try:
                target = session.configure(PROBE_POLICY)
            except Exception as exc:
                areas[area] = "setup-error"
                state.properties[prop] = "setup-error"
                state.harness.append(
                    {"property": prop, "outcome": "setup-error", "message": f"{exc}"}
                )
                continue
            ctx = SuiteContext(
                target=target,
                policy=PROBE_POLICY,
                paths=DEFAULT_PATHS,
                seed=seed,
                max_examples=max_examples,
            )
            outcome = "passed"
            try:
                framework_configurations(
                    ctx, session, areas=frozenset({area}), name=f"{PROPERTY_NAME}_{area}"
                )()
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt | SystemExit):
                    raise
                outcome = "failed"
                for inner in walk_exceptions(exc):
                    if isinstance(inner, Divergence):
                        record = divergence_record(
                            inner,
                            property_name=prop,
                            seed=seed,
                            occurrences=ctx.occurrences.get(inner.dedup_key, 1),
                        )
                        state.records.append(record)
                    else:
                        kind = inner.kind if isinstance(inner, HarnessOutcome) else "harness-error"
                        outcome = kind
                        state.harness.append(
                            {
                                "property": prop,
                                "outcome": kind,
                                "message": f"{type(inner).__name__}: {inner}",
                            }
                        )
            state.properties[prop] = outcome
            areas[area] = outcome
            state.cases_sent += ctx.cases_sent
            for key, count in ctx.occurrences.items():
                state.occurrences["\x1f".join(key)] += count
            inexpressible.update(ctx.inexpressible)
            tested += ctx.policies_tested
            not_applicable += ctx.not_applicable
    finally:
        session.close()
    document = results_document(state)
    document["run"]["target"] = f"framework {name}"
    document["framework"] = {
        "name": name,
        "language": entry.language,
        "package": entry.package,
        "version": version,
        "adapter": f"conformance/adapters/{entry.module}.py",
        "policies_tested": tested,
        "inexpressible": dict(inexpressible.most_common()),
        "requests_skipped": not_applicable,
        "areas": areas,
    }
    return document


def results_path(document: dict[str, Any]) -> Path:
    framework = document["framework"]
    version = str(framework["version"]).split()[0]
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{framework['name']}-{version}")
    return OUT_DIR / "results" / f"{safe}.json"


def _worker(name: str, seed: int, max_examples: int) -> tuple[str, str]:
    """Run one framework in a child process; returns (name, a line of status)."""
    started = time.monotonic()
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "conformance.matrix",
                "--worker",
                name,
                "--seed",
                str(seed),
                "--max-examples",
                str(max_examples),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=WORKER_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return name, f"timed out after {WORKER_TIMEOUT:.0f} s"
    took = time.monotonic() - started
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        return name, f"failed ({done.returncode}) in {took:.0f} s: " + " | ".join(tail)
    return name, f"{done.stdout.strip().splitlines()[-1]} ({took:.0f} s)"


def _write_worker_result(name: str, seed: int, max_examples: int) -> int:
    document = run_framework(name, seed=seed, max_examples=max_examples)
    path = results_path(document)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob("*.json"):
        if stale != path and _framework_of(stale) == name:
            stale.unlink()
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    summary = document["summary"]
    print(
        f"{name}: {summary['divergences']} divergence(s), "
        f"{document['framework']['policies_tested']} policies, "
        f"{document['run']['cases_sent']} requests -> {path.relative_to(ROOT)}"
    )
    return 0


def _framework_of(path: Path) -> str | None:
    try:
        return str(json.loads(path.read_text(encoding="utf-8"))["framework"]["name"])
    except (OSError, ValueError, KeyError):
        return None


# -- rendering -------------------------------------------------------------------------------------


def load_results() -> list[dict[str, Any]]:
    from conformance.frameworks import FRAMEWORKS

    order = list(FRAMEWORKS)
    documents = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((OUT_DIR / "results").glob("*.json"))
    ]
    return sorted(
        documents,
        key=lambda d: (
            order.index(d["framework"]["name"]) if d["framework"]["name"] in order else 99,
        ),
    )


@dataclass(frozen=True, slots=True)
class Cell:
    text: str  # "pass", a grade, "not run", "error"
    link: str | None = None
    count: int = 0


def cell(document: dict[str, Any], row: Row) -> Cell:
    from conformance.framework_properties import area_for

    status = document["framework"]["areas"].get(row.area)
    matching = [
        r
        for r in document["divergences"]
        if r["kind"] == row.kind and area_for(r["kind"], r["reason"]) == row.area
    ]
    if matching:
        worst = min(matching, key=lambda r: GRADES.index(r["grade"]))
        return Cell(
            worst["grade"],
            f"frameworks/{document['framework']['name']}.md#d-{worst['id']}",
            len(matching),
        )
    if status in (None, "setup-error", "harness-error"):
        return Cell("error" if status else "not run")
    return Cell("pass")


def column_name(document: dict[str, Any]) -> str:
    framework = document["framework"]
    return f"{framework['name']} {str(framework['version']).split()[0]}"


def rows(documents: list[dict[str, Any]]) -> list[Row]:
    """:data:`ROWS`, and after each area's rows any other kind a run found in that area."""
    from conformance.framework_properties import AREAS, area_for

    known = {(row.area, row.kind) for row in ROWS}
    found: dict[tuple[str, str], str] = {}
    for document in documents:
        for record in document["divergences"]:
            key = (area_for(record["kind"], record["reason"]), record["kind"])
            if key not in known:
                found.setdefault(key, record["title"])
    out: list[Row] = []
    for area, _title in AREAS:
        out += [row for row in ROWS if row.area == area]
        out += [Row(a, kind, title) for (a, kind), title in sorted(found.items()) if a == area]
    return out


def render_markdown(documents: list[dict[str, Any]]) -> str:
    from conformance.framework_properties import AREA_TITLES

    lines = [
        "# CORS conformance matrix",
        "",
        "Each column is a CORS implementation (framework and version), each row a check, grouped",
        "by spec area. A cell is **pass** (no divergence found), or the grade of the divergence",
        "found, linking to its reproduction. Policies are generated with Hypothesis as well as",
        "requests (`framework_configurations`); policies a framework cannot express are skipped,",
        "not failed (see *What each framework cannot express*). Regenerate with",
        "`cors-conformance matrix` (see [README.md](README.md)).",
        "",
        "Grades: **insecure** (a browser lets script read what the policy forbids),",
        "**dysfunctional** (a browser blocks what the policy allows), **non-strict** (no effect in",
        "today's browsers, but wrong), **informational** (browsers differ).",
        "",
    ]
    header = "| check | " + " | ".join(column_name(d) for d in documents) + " |"
    lines += [header, "|---|" + "---|" * len(documents)]
    area = None
    for row in rows(documents):
        if row.area != area:
            area = row.area
            lines.append(f"| **{AREA_TITLES[area]}** |" + " |" * len(documents))
        cells = []
        for document in documents:
            c = cell(document, row)
            text = c.text if c.text != "pass" else "pass"
            cells.append(f"[{text}]({c.link})" if c.link else text)
        lines.append(f"| {row.title} (`{row.kind}`) | " + " | ".join(cells) + " |")
    lines += ["", "## Runs", ""]
    lines.append(
        "| implementation | package | policies tested | requests | skipped as inexpressible "
        "(by policy key) | results |"
    )
    lines.append("|---|---|---|---|---|---|")
    for document in documents:
        framework = document["framework"]
        skipped = ", ".join(f"`{k}` {n}" for k, n in framework["inexpressible"].items()) or "none"
        path = results_path(document).relative_to(OUT_DIR)
        lines.append(
            f"| {framework['name']} | {framework['package']} {framework['version']} | "
            f"{framework['policies_tested']} | {document['run']['cases_sent']} | {skipped} | "
            f"[{path.name}]({path}) |"
        )
    lines += ["", "## What each framework cannot express", ""]
    lines += [
        "Policies that no configuration of the framework means are skipped. The adapter's",
        "docstring says which, and why:",
        "",
    ]
    for document in documents:
        lines.append(f"- **{document['framework']['name']}**: {_cannot_express(document)}")
    seed = documents[0]["run"]["seed"] if documents else SEED
    lines += ["", f"Seed {seed}; profile: {_profile(documents)}.", ""]
    return "\n".join(lines)


def _profile(documents: list[dict[str, Any]]) -> str:
    if not documents:
        return "none"
    return f"{MAX_EXAMPLES} generated policies per spec area (plus shrinking)"


def _cannot_express(document: dict[str, Any]) -> str:
    from conformance.frameworks import FRAMEWORKS

    module = FRAMEWORKS[document["framework"]["name"]].adapter()
    doc = (getattr(module, "__doc__", "") or "").strip()
    start = doc.find("cannot express")
    if start < 0:
        return "(see the adapter)"
    items = re.findall(r"^\* (.+?)(?=^\* |^\S|\Z)", doc[start:], flags=re.MULTILINE | re.DOTALL)
    cleaned = [" ".join(item.split()).rstrip(";.") for item in items]
    return "; ".join(cleaned) if cleaned else "(see the adapter)"


_GRADE_COLOURS: Final = {
    "pass": "#2e7d32",
    "insecure": "#c62828",
    "dysfunctional": "#ef6c00",
    "non-strict": "#f9a825",
    "informational": "#1565c0",
    "not run": "#9e9e9e",
    "error": "#6a1b9a",
}


def render_html(documents: list[dict[str, Any]]) -> str:
    from conformance.framework_properties import AREA_TITLES

    e = html.escape
    head = "".join(f"<th>{e(column_name(d))}</th>" for d in documents)
    body: list[str] = []
    area = None
    for row in rows(documents):
        if row.area != area:
            area = row.area
            body.append(
                f'<tr class="area"><th colspan="{len(documents) + 1}">'
                f"{e(AREA_TITLES[area])}</th></tr>"
            )
        cells = []
        for document in documents:
            c = cell(document, row)
            colour = _GRADE_COLOURS.get(c.text, "#9e9e9e")
            mark = "✓" if c.text == "pass" else e(c.text)
            inner = f'<a href="{e(c.link)}">{mark}</a>' if c.link else mark
            cells.append(f'<td style="background:{colour}" title="{e(c.text)}">{inner}</td>')
        body.append(
            f'<tr><th class="check">{e(row.title)}<br><code>{e(row.kind)}</code></th>'
            + "".join(cells)
            + "</tr>"
        )
    runs = "".join(
        f"<tr><td>{e(d['framework']['name'])}</td><td>{e(d['framework']['package'])} "
        f"{e(str(d['framework']['version']))}</td><td>{d['framework']['policies_tested']}</td>"
        f"<td>{d['run']['cases_sent']}</td><td>"
        + e(", ".join(f"{k} {n}" for k, n in d["framework"]["inexpressible"].items()) or "none")
        + "</td></tr>"
        for d in documents
    )
    legend = "".join(
        f'<span class="legend" style="background:{colour}">{e(name)}</span>'
        for name, colour in _GRADE_COLOURS.items()
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>CORS conformance matrix</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; }}
thead th {{ writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap;
  vertical-align: bottom; }}
td {{ text-align: center; color: #fff; font-weight: bold; min-width: 3em; }}
td a {{ color: #fff; }}
th.check {{ text-align: left; font-weight: normal; min-width: 26em; }}
tr.area th {{ background: #eee; text-align: left; }}
.legend {{ color: #fff; padding: 2px 8px; margin-right: 4px; border-radius: 3px; }}
</style>
</head>
<body>
<h1>CORS conformance matrix</h1>
<p>Each column is a CORS implementation, each row a check grouped by spec area. A cell is a pass
(&#10003;) or the grade of the divergence found, linking to its reproduction. Policies are
generated as well as requests; policies a framework cannot express are skipped, not failed.
Regenerate with <code>cors-conformance matrix</code>.</p>
<p>{legend}</p>
<table>
<thead><tr><th>check</th>{head}</tr></thead>
<tbody>
{chr(10).join(body)}
</tbody>
</table>
<h2>Runs</h2>
<table class="runs">
<tr><th>implementation</th><th>package</th><th>policies tested</th><th>requests</th>
<th>skipped as inexpressible (by policy key)</th></tr>
{runs}
</table>
</body>
</html>
"""


def render_framework_page(document: dict[str, Any]) -> str:
    framework = document["framework"]
    lines = [
        f"# {framework['name']} ({framework['package']} {framework['version']})",
        "",
        f"Adapter: [`{framework['adapter']}`](../../../{framework['adapter']}). "
        f"Results: [`{results_path(document).name}`](../results/{results_path(document).name}).",
        "",
        f"{framework['policies_tested']} generated policies tested, "
        f"{document['run']['cases_sent']} requests; seed {document['run']['seed']}.",
        "",
    ]
    if not document["divergences"]:
        lines += ["No divergence found.", ""]
    for record in document["divergences"]:
        lines += [
            f'<a id="d-{record["id"]}"></a>',
            "",
            f"## [{record['grade']}] {record['kind']} ({record['reason']})",
            "",
            f"{record['title']}. Found by `{', '.join(record['properties'])}`, "
            f"{record['occurrences']} occurrence(s). Spec: <{record['spec_ref']}>",
            "",
            f"**What happens:** {record['summary']}",
            "",
        ]
        policy = record["extra"].get("policy")
        if policy:
            lines += ["Shrunk policy:", "", "```toml", policy.rstrip(), "```", ""]
        configuration = record["extra"].get("configuration")
        if configuration:
            lines += ["Framework configuration:", "", "```", configuration, "```", ""]
        for exchange in record["exchanges"]:
            for step in exchange["steps"]:
                response = step["response"]
                shown = "\n".join(f"{n}: {v}" for n, v in response["headers"])
                lines += [
                    "```sh",
                    step["curl"],
                    "```",
                    "",
                    "```http",
                    f"HTTP/1.1 {response['status']}",
                    shown,
                    "```",
                    "",
                ]
            if exchange.get("fetch"):
                lines += ["```js", exchange["fetch"], "```", ""]
        if record["browser_steps"]:
            lines += ["Why the browser decides so:", ""]
            lines += [f"1. {step}" for step in record["browser_steps"]]
            lines.append("")
    if document["harness_outcomes"]:
        lines += ["## Harness outcomes", ""]
        lines += [
            f"- `{o['property']}`: {o['outcome']}: {o['message']}"
            for o in document["harness_outcomes"]
        ]
        lines.append("")
    return "\n".join(lines)


def render(documents: list[dict[str, Any]]) -> None:
    (OUT_DIR / "frameworks").mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "index.md").write_text(render_markdown(documents), encoding="utf-8")
    (OUT_DIR / "index.html").write_text(render_html(documents), encoding="utf-8")
    for document in documents:
        page = OUT_DIR / "frameworks" / f"{document['framework']['name']}.md"
        page.write_text(render_framework_page(document), encoding="utf-8")


# -- the command ----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    from conformance.frameworks import FRAMEWORKS

    parser = argparse.ArgumentParser(
        prog=prog or "python -m conformance.matrix",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--frameworks",
        nargs="+",
        metavar="NAME",
        choices=sorted(FRAMEWORKS),
        help="run only these (default: every adapter); the others' committed results stay",
    )
    parser.add_argument(
        "--seed", type=int, default=SEED, help="Hypothesis seed (default: %(default)s)"
    )
    parser.add_argument(
        "--max-examples",
        type=int,
        default=MAX_EXAMPLES,
        help="policies generated per spec area (default: %(default)s)",
    )
    parser.add_argument(
        "--jobs", type=int, default=JOBS, help="frameworks run at once (default: %(default)s)"
    )
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="only render the index and pages from reports/matrix/results/",
    )
    parser.add_argument("--worker", metavar="NAME", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _write_worker_result(args.worker, args.seed, args.max_examples)
    if not args.render_only:
        names = args.frameworks or list(FRAMEWORKS)
        failed = False
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = [pool.submit(_worker, n, args.seed, args.max_examples) for n in names]
            for future in futures:
                name, status = future.result()
                failed = failed or status.startswith(("failed", "timed out"))
                print(f"{name}: {status}", flush=True)
        if failed:
            print("some frameworks failed to run; the index shows the others", file=sys.stderr)
    render(load_results())
    print(f"wrote {(OUT_DIR / 'index.md').relative_to(ROOT)} and index.html")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
