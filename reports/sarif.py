"""SARIF 2.1.0, for code-scanning upload (``github/codeql-action/upload-sarif``).

* One rule per divergence kind: ``ruleId`` is the kind, ``helpUri`` its spec anchor,
  ``properties.grade`` its grade.
* One result per record, ``level`` by grade: ``error`` for insecure and dysfunctional,
  ``warning`` for non-strict, ``note`` for informational. Baselined records carry an external
  suppression with the baseline's reason.
* Code scanning needs a location: the policy file, at the line of the policy rule that decided
  when the record names one (``reference.policy_file.key_line``), else line 1.
* The first wire request and its response ride along as SARIF's own ``webRequest`` and
  ``webResponse``; every curl command, the seed and the reproduce blob in ``properties``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from reference.policy_file import key_line
from reports._text import (
    Document,
    Record,
    baseline_state,
    grade_rank,
    policy_key,
    records,
    reproduce_command,
    visible,
)

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {
    "insecure": "error",
    "dysfunctional": "error",
    "non-strict": "warning",
    "informational": "note",
}
# GitHub orders security alerts by this (0-10); only insecure divergences are security bugs.
SECURITY_SEVERITY = {"insecure": "8.0"}
FINGERPRINT = "corsConformanceDivergence/v1"


def render_sarif(document: Document) -> str:
    return json.dumps(sarif_log(document), indent=2) + "\n"


def sarif_log(document: Document) -> dict[str, Any]:
    run = document.get("run", {})
    generator = document.get("generator", {})
    rules = _rules(document)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    uri = artifact_uri(run.get("policy_path"))
    driver: dict[str, Any] = {
        "name": generator.get("name", "cors-conformance"),
        "rules": rules,
    }
    if generator.get("version"):
        driver["version"] = generator["version"]
        driver["semanticVersion"] = generator["version"]
    sarif_run: dict[str, Any] = {
        "tool": {"driver": driver},
        "results": [_result(document, r, index[r["kind"]], uri) for r in records(document)],
        "properties": {
            key: run[key]
            for key in ("target", "policy_file", "profile", "seed", "cases_sent", "reproduce")
            if run.get(key) is not None
        },
    }
    if uri is not None:
        sarif_run["artifacts"] = [{"location": {"uri": uri}, "roles": ["policy"]}]
    if run.get("started"):
        sarif_run["invocations"] = [
            {
                "executionSuccessful": not document.get("harness_outcomes"),
                "startTimeUtc": run["started"],
            }
        ]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [sarif_run]}


def artifact_uri(path: object) -> str | None:
    """The policy file as a SARIF artifact URI: relative paths stay relative (code scanning
    resolves them against the repository root), absolute ones become ``file:`` URIs."""
    if not isinstance(path, str) or not path:
        return None
    posix = path.replace("\\", "/")
    if PureWindowsPath(path).is_absolute() and not posix.startswith("/"):
        return PureWindowsPath(path).as_uri()
    if posix.startswith("/"):
        return PurePosixPath(posix).as_uri()
    return "/".join(_percent(part) for part in posix.removeprefix("./").split("/"))


def _percent(segment: str) -> str:
    safe = "-._~!$&'()*+,;=:@"
    return "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in safe) else _escape(ch) for ch in segment
    )


def _escape(char: str) -> str:
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))


def _rules(document: Document) -> list[dict[str, Any]]:
    catalog: dict[str, Mapping[str, Any]] = {k["kind"]: k for k in document.get("kinds") or []}
    for record in records(document):
        catalog.setdefault(
            record["kind"],
            {
                "kind": record["kind"],
                "grade": record["grade"],
                "title": record["title"],
                "spec_ref": record["spec_ref"],
            },
        )
    rules = []
    for entry in sorted(catalog.values(), key=lambda k: (grade_rank(k["grade"]), k["kind"])):
        grade = entry["grade"]
        properties: dict[str, Any] = {"grade": grade, "tags": ["cors", grade]}
        if grade in SECURITY_SEVERITY:
            properties["tags"].append("security")
            properties["security-severity"] = SECURITY_SEVERITY[grade]
        rule: dict[str, Any] = {
            "id": entry["kind"],
            "name": "".join(part.title() for part in entry["kind"].split("-")),
            "shortDescription": {"text": entry["title"]},
            "fullDescription": {"text": f"{entry['title']} ({grade})."},
            "defaultConfiguration": {"level": LEVELS.get(grade, "warning")},
            "properties": properties,
        }
        if entry.get("spec_ref"):
            rule["helpUri"] = entry["spec_ref"]
            rule["help"] = {
                "text": f"{entry['title']}. Grade: {grade}. Spec: {entry['spec_ref']}",
                "markdown": f"{entry['title']}.\n\nGrade: **{grade}**. Spec: <{entry['spec_ref']}>",
            }
        rules.append(rule)
    return rules


def _region(document: Document, record: Record) -> dict[str, int]:
    text = document.get("run", {}).get("policy") or ""
    key = policy_key(record.get("policy_rule"))
    line = key_line(text, key) if key and text else None
    return {"startLine": line or 1}


def _result(document: Document, record: Record, rule_index: int, uri: str | None) -> dict[str, Any]:
    message = (
        f"[{record['grade']}] {record['title']}: {visible(record['summary'])} "
        f"(reason {visible(record['reason'])}; seen {record['occurrences']} times; "
        f"spec {record['spec_ref']})"
    )
    location: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": uri or "cors-policy.toml"},
            "region": _region(document, record),
        }
    }
    if record.get("policy_rule"):
        location["message"] = {"text": f"policy rule: {visible(record['policy_rule'])}"}
    exchanges = record.get("exchanges") or []
    properties: dict[str, Any] = {
        "grade": record["grade"],
        "reason": record["reason"],
        "occurrences": record["occurrences"],
        "properties": record.get("properties") or [record["property"]],
        "seed": record.get("seed"),
        "curl": [step["curl"] for ex in exchanges for step in ex.get("steps", [])],
    }
    for key in ("reproduce_blob", "policy_rule"):
        if record.get(key):
            properties[key] = record[key]
    command = reproduce_command(document, record)
    if command:
        properties["rerun"] = command
    fetch = next((ex["fetch"] for ex in exchanges if ex.get("fetch")), None)
    if fetch:
        properties["fetch"] = fetch
    result: dict[str, Any] = {
        "ruleId": record["kind"],
        "ruleIndex": rule_index,
        "level": LEVELS.get(record["grade"], "warning"),
        "message": {"text": message},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT: record["id"]},
        "properties": properties,
    }
    steps = [step for ex in exchanges for step in ex.get("steps", [])]
    if steps:
        result["webRequest"], result["webResponse"] = _web(steps[0])
    state = baseline_state(record)
    if document.get("baseline") is not None:
        result["baselineState"] = "unchanged" if state != "new" else "new"
    if state == "baselined":
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": visible(record["baseline"]["reason"]),
            }
        ]
    return result


def _headers(pairs: list[list[str]]) -> dict[str, str]:
    # SARIF headers are an object: repeated names are combined as HTTP allows (", ").
    out: dict[str, str] = {}
    for name, value in pairs:
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def _web(step: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    request, response = step["request"], step["response"]
    web_request: dict[str, Any] = {
        "protocol": "HTTP",
        "version": "1.1",
        "method": request["method"],
        "target": request["url"],
        "headers": _headers(request["headers"]),
    }
    if request.get("body") is not None:
        web_request["body"] = {"text": request["body"]}
    web_response = {
        "protocol": "HTTP",
        "version": "1.1",
        "statusCode": response["status"],
        "headers": _headers(response["headers"]),
    }
    return web_request, web_response
