"""Reports: the results document → JSON, JUnit XML, SARIF 2.1.0, Markdown, HTML, console text.

Every renderer is a pure function of the one results document (a JSON-ready dict, schema in
``reports/schema/results.schema.json``) to ``str``. This package knows nothing of pytest, httpx
or the suite's generators (enforced by import-linter): it reads plain data, so the same
document renders the same files whether it came from one process or from xdist workers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

from reports.console import render_console
from reports.html import render_html
from reports.junit import render_junit
from reports.markdown import render_markdown
from reports.sarif import render_sarif

RESULTS_SCHEMA_ID = "cors-conformance/results"
RESULTS_SCHEMA_VERSION = 1


def render_json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


# File name in --report-dir → renderer. results.json comes first: it is the source of the rest.
FORMATS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "results.json": render_json,
    "junit.xml": render_junit,
    "results.sarif": render_sarif,
    "summary.md": render_markdown,
    "report.html": render_html,
}


def render_all(document: Mapping[str, Any]) -> dict[str, str]:
    """Every report file of ``document``, by file name."""
    return {name: render(document) for name, render in FORMATS.items()}


def results_schema() -> dict[str, Any]:
    """The JSON Schema of results.json (draft 2020-12)."""
    text = resources.files("reports").joinpath("schema/results.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


__all__ = [
    "FORMATS",
    "RESULTS_SCHEMA_ID",
    "RESULTS_SCHEMA_VERSION",
    "render_all",
    "render_console",
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
    "render_sarif",
    "results_schema",
]
