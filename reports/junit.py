"""JUnit XML, in the shape CI servers read (Jenkins' ``junit-10.xsd``, GitLab, GitHub actions
that publish test results): one test case per property, and one per divergence kind.

* ``cors-conformance.properties``: a property fails if it found a divergence that is not in
  the baseline (or whose baseline entry expired); a harness outcome (setup-error,
  harness-error) is an ``<error>``; ``not-applicable`` is ``<skipped>``.
* ``cors-conformance.kinds``: one test case per divergence kind the suite knows (the
  document's ``kinds``), so a dashboard tracks each bug class from run to run.

XML 1.0 cannot carry control characters even escaped; they are written as ``\\xNN``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from reports._text import (
    Document,
    Record,
    baseline_state,
    grade_rank,
    is_failing,
    records,
    visible,
)
from reports.console import record_lines

SUITE = "cors-conformance"


def _safe(value: object) -> str:
    return visible(str(value), keep_newlines=True)


def _seconds(value: object) -> str:
    return f"{float(value) if isinstance(value, int | float) else 0.0:.3f}"


def _timestamp(started: object) -> str | None:
    # junit-10.xsd: ISO 8601 without a time zone (the document's times are UTC).
    if not isinstance(started, str) or len(started) < 19:
        return None
    return started[:19]


def render_junit(document: Document) -> str:
    run = document.get("run", {})
    root = ET.Element("testsuites", {"name": SUITE})
    suites = [_properties_suite(document), _kinds_suite(document)]
    for suite in suites:
        timestamp = _timestamp(run.get("started"))
        if timestamp:
            suite.set("timestamp", timestamp)
        root.append(suite)
    for attr in ("tests", "failures", "errors", "skipped"):
        root.set(attr, str(sum(int(s.get(attr, "0")) for s in suites)))
    root.set("time", _seconds(run.get("duration_s")))
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _suite(name: str, document: Document) -> ET.Element:
    run = document.get("run", {})
    suite = ET.Element("testsuite", {"name": name})
    properties = ET.SubElement(suite, "properties")
    for key in ("target", "policy_file", "profile", "seed", "cases_sent", "reproduce"):
        if run.get(key) is not None:
            ET.SubElement(properties, "property", {"name": key, "value": _safe(run[key])})
    return suite


def _finish(suite: ET.Element, cases: list[ET.Element], time: float) -> ET.Element:
    suite.set("tests", str(len(cases)))
    for attr, tag in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
        suite.set(attr, str(sum(1 for case in cases if case.find(tag) is not None)))
    suite.set("time", _seconds(time))
    suite.extend(cases)
    return suite


def _case(classname: str, name: str, time: float = 0.0) -> ET.Element:
    return ET.Element("testcase", {"classname": classname, "name": name, "time": _seconds(time)})


def _text_of(document: Document, group: list[Record]) -> str:
    lines: list[str] = []
    for record in group:
        lines += [
            f"[{record['grade']}] {record['kind']}: {record['title']}",
            *record_lines(document, record),
        ]
        lines.append("")
    return _safe("\n".join(lines))


def _failure(case: ET.Element, document: Document, failing: list[Record]) -> None:
    first = failing[0]
    more = f" (and {len(failing) - 1} more)" if len(failing) > 1 else ""
    failure = ET.SubElement(
        case,
        "failure",
        {
            "message": _safe(f"[{first['grade']}] {first['kind']}: {first['summary']}{more}"),
            "type": first["kind"],
        },
    )
    failure.text = _text_of(document, failing)


def _known(case: ET.Element, document: Document, known: list[Record]) -> None:
    if known:
        out = ET.SubElement(case, "system-out")
        out.text = "known divergences (baseline):\n" + _text_of(document, known)


def _properties_suite(document: Document) -> ET.Element:
    run = document.get("run", {})
    stats: Mapping[str, Mapping[str, Any]] = run.get("property_stats", {})
    suite = _suite(f"{SUITE}.properties", document)
    cases = []
    for name, outcome in sorted(run.get("properties", {}).items()):
        time = float(stats.get(name, {}).get("duration_s", 0.0))
        case = _case(f"{SUITE}.properties", name, time)
        found = [r for r in records(document) if name in (r.get("properties") or [r["property"]])]
        failing = [r for r in found if is_failing(r)]
        if failing:
            _failure(case, document, failing)
        for harness in document.get("harness_outcomes", []):
            if harness["property"] != name:
                continue
            if harness["outcome"] == "not-applicable":
                ET.SubElement(case, "skipped", {"message": _safe(harness["message"])})
            else:
                error = ET.SubElement(
                    case,
                    "error",
                    {"message": _safe(harness["message"]), "type": harness["outcome"]},
                )
                error.text = _safe(harness["message"])
        if not failing and outcome == "failed" and not found and case.find("error") is None:
            # Failed without a record (interrupted, or a failure the plugin could not read).
            ET.SubElement(case, "error", {"message": "the property failed", "type": "failed"})
        _known(case, document, [r for r in found if not is_failing(r)])
        cases.append(case)
    total = float(run.get("duration_s", 0.0))
    return _finish(suite, cases, total)


def _kinds_suite(document: Document) -> ET.Element:
    suite = _suite(f"{SUITE}.kinds", document)
    catalog: list[Mapping[str, Any]] = list(document.get("kinds") or [])
    known_kinds = {k["kind"] for k in catalog}
    for record in records(document):  # a kind missing from the catalogue still gets its case
        if record["kind"] not in known_kinds:
            known_kinds.add(record["kind"])
            catalog.append({"kind": record["kind"], "grade": record["grade"]})
    catalog.sort(key=lambda k: (grade_rank(k["grade"]), k["kind"]))
    cases = []
    for entry in catalog:
        case = _case(f"{SUITE}.kinds.{entry['grade']}", entry["kind"])
        found = [r for r in records(document) if r["kind"] == entry["kind"]]
        failing = [r for r in found if is_failing(r)]
        if failing:
            _failure(case, document, failing)
        _known(case, document, [r for r in found if baseline_state(r) == "baselined"])
        cases.append(case)
    return _finish(suite, cases, 0.0)
