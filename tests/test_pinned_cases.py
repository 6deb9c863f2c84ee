"""Pinned CORS cases: data in ``tests/cases/*.json``, checked against the model's front door.

Each case is an ``explain`` input document plus the outcome the Fetch Standard (as the digest
``fetch-cors-digest.md`` paraphrases it) or a named browser quirk demands. One test runs per
(case, profile): the profile named by the input (``spec`` when absent) and every profile in
``expect_by_profile``. ``expect`` holds for the input's profile; ``expect_by_profile[p]`` replaces
it for profile ``p``. A case whose *input* must differ per engine (an engine preflights where
the spec does not, or the other way round) is split into sibling cases, the engine one naming its
profile in ``input.profile``.

Only the keys given in an expectation are compared:

========================  =====================================================================
``allowed``               ``verdict == "allowed"``
``reason``                ``reason`` (the closed ``BlockedReason`` enum)
``preflighted``           ``preflighted``; for ``fetches`` input a list, one bool per fetch
``allowed_each``          for ``fetches`` input: ``verdict == "allowed"`` per fetch
``preflight_request``     method and header lines, exactly, of the first preflight request
``preflight_origins``     the ``Origin`` value of each preflight request, in order
``origin_sent``           the ``Origin`` value (``None``: not sent) of each actual request hop
``credentials_sent``      the credentials flag of every request, preflights included, in order
``visible_headers``       lowercased, sorted names script can read
``status``                status script sees
``cached_max_age``        seconds the preflight result was cached for (0: not cached)
========================  =====================================================================
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest

Json = dict[str, Any]

CASES_DIR = Path(__file__).parent / "cases"
PROFILES = ("spec", "chromium", "firefox", "webkit")
KINDS = frozenset({"MUST", "SHOULD", "QUIRK"})
CASE_KEYS = frozenset({"id", "spec_ref", "kind", "source", "input", "expect"})
OPTIONAL_CASE_KEYS = frozenset({"expect_by_profile"})
INPUT_KEYS = frozenset({"profile", "request", "preflight", "response", "hops", "fetches"})
SINGLE_FETCH_EXPECT_KEYS = frozenset(
    {
        "allowed",
        "reason",
        "preflighted",
        "preflight_request",
        "preflight_origins",
        "origin_sent",
        "credentials_sent",
        "visible_headers",
        "status",
        "cached_max_age",
    }
)
FETCHES_EXPECT_KEYS = frozenset({"preflighted", "allowed_each"})

# The closed enum of blocked reasons (named like Chromium's network::mojom::CorsError).
REASONS = frozenset(
    {
        "DISALLOWED_BY_MODE",
        "CORS_DISABLED_SCHEME",
        "INVALID_REQUEST",
        "MISSING_ALLOW_ORIGIN_HEADER",
        "MULTIPLE_ALLOW_ORIGIN_VALUES",
        "INVALID_ALLOW_ORIGIN_VALUE",
        "ALLOW_ORIGIN_MISMATCH",
        "WILDCARD_ORIGIN_NOT_ALLOWED",
        "INVALID_ALLOW_CREDENTIALS",
        "PREFLIGHT_INVALID_STATUS",
        "PREFLIGHT_DISALLOWED_REDIRECT",
        "PREFLIGHT_MISSING_ALLOW_ORIGIN_HEADER",
        "PREFLIGHT_MULTIPLE_ALLOW_ORIGIN_VALUES",
        "PREFLIGHT_INVALID_ALLOW_ORIGIN_VALUE",
        "PREFLIGHT_ALLOW_ORIGIN_MISMATCH",
        "PREFLIGHT_WILDCARD_ORIGIN_NOT_ALLOWED",
        "PREFLIGHT_INVALID_ALLOW_CREDENTIALS",
        "INVALID_ALLOW_METHODS_PREFLIGHT_RESPONSE",
        "INVALID_ALLOW_HEADERS_PREFLIGHT_RESPONSE",
        "METHOD_DISALLOWED_BY_PREFLIGHT_RESPONSE",
        "HEADER_DISALLOWED_BY_PREFLIGHT_RESPONSE",
        "REDIRECT_CONTAINS_CREDENTIALS",
        "REDIRECT_MODE_ERROR",
        "INVALID_REDIRECT",
        "TOO_MANY_REDIRECTS",
    }
)

# Reasons of reference.verdict.BlockedReason that no pinned case can reach, and why.
UNPINNABLE_REASONS: Mapping[str, str] = {
    "PREFLIGHT_MISSING_ALLOW_PRIVATE_NETWORK": (
        "Private Network Access is off in every profile (digest §14: Chromium put PNA on hold "
        "and shipped Local Network Access, a permission) and the digest gives no enabled "
        "behaviour to pin"
    ),
    "PREFLIGHT_INVALID_ALLOW_PRIVATE_NETWORK": (
        "same as PREFLIGHT_MISSING_ALLOW_PRIVATE_NETWORK: PNA preflights are never sent by any "
        "profile"
    ),
}

MIN_CASES = 200


@cache
def _files() -> tuple[tuple[str, tuple[Json, ...]], ...]:
    """Every case file as (file name, cases), in name order, exactly as stored."""
    out = []
    for path in sorted(CASES_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        cases = data["cases"] if isinstance(data, dict) else data
        out.append((path.name, tuple(cases)))
    return tuple(out)


def _all_cases() -> Iterator[Json]:
    for _, cases in _files():
        yield from cases


def _base_profile(case: Json) -> str:
    profile = case["input"].get("profile", "spec")
    assert isinstance(profile, str)
    return profile


def _profiles_of(case: Json) -> list[str]:
    names = [_base_profile(case)]
    names.extend(p for p in PROFILES if p in case.get("expect_by_profile", {}))
    return list(dict.fromkeys(names))


def _expectation(case: Json, profile: str) -> Json:
    if profile == _base_profile(case):
        expect: Json = case["expect"]
        return expect
    override: Json = case["expect_by_profile"][profile]
    return override


def _params() -> list[Any]:
    return [
        pytest.param(case, profile, id=f"{case['id']}[{profile}]")
        for case in _all_cases()
        for profile in _profiles_of(case)
    ]


# --- the structure of the data -------------------------------------------------------------


def _structure_errors(file_name: str, cases: tuple[Json, ...]) -> list[str]:
    area = file_name.removesuffix(".json")
    errors: list[str] = []
    ids = [c.get("id") for c in cases]
    if ids != sorted(ids, key=str):
        errors.append(f"{file_name}: cases are not sorted by id")
    for case in cases:
        where = f"{file_name}: {case.get('id')!r}"
        missing = CASE_KEYS - set(case)
        unknown = set(case) - CASE_KEYS - OPTIONAL_CASE_KEYS
        if missing or unknown:
            errors.append(f"{where}: missing keys {sorted(missing)}, unknown {sorted(unknown)}")
            continue
        if not (isinstance(case["id"], str) and case["id"].startswith(f"{area}/")):
            errors.append(f"{where}: id must be '<area>/<slug>' with area {area!r}")
        if not (isinstance(case["spec_ref"], str) and case["spec_ref"].startswith("https://")):
            errors.append(f"{where}: spec_ref must be an https:// anchor")
        if case["kind"] not in KINDS:
            errors.append(f"{where}: kind {case['kind']!r} not in {sorted(KINDS)}")
        if not (isinstance(case["source"], str) and case["source"].strip()):
            errors.append(f"{where}: source must say where the expectation comes from")
        errors.extend(f"{where}: {e}" for e in _input_errors(case["input"]))
        fetches = "fetches" in case["input"]
        errors.extend(f"{where}: expect: {e}" for e in _expect_errors(case["expect"], fetches))
        by_profile = case.get("expect_by_profile", {})
        if not isinstance(by_profile, dict):
            errors.append(f"{where}: expect_by_profile must be an object")
            continue
        for profile, expect in by_profile.items():
            if profile not in PROFILES or profile == _base_profile(case):
                errors.append(
                    f"{where}: expect_by_profile key {profile!r} must be a profile other than "
                    f"the input's ({_base_profile(case)!r})"
                )
            errors.extend(
                f"{where}: expect_by_profile[{profile}]: {e}"
                for e in _expect_errors(expect, fetches)
            )
    return errors


def _input_errors(doc: Any) -> list[str]:
    if not isinstance(doc, dict):
        return ["input must be an object"]
    errors = []
    unknown = set(doc) - INPUT_KEYS
    if unknown:
        errors.append(f"input has unknown keys {sorted(unknown)}")
    if doc.get("profile", "spec") not in PROFILES:
        errors.append(f"input.profile {doc.get('profile')!r} is not one of {PROFILES}")
    shapes = [("fetches" in doc), ("hops" in doc), ("response" in doc or "preflight" in doc)]
    if sum(shapes) > 1:
        errors.append("input mixes fetches, hops and preflight/response")
    if "fetches" in doc:
        if "request" in doc:
            errors.append("a fetches input carries its requests inside each fetch")
        if not (isinstance(doc["fetches"], list) and doc["fetches"]):
            errors.append("fetches must be a non-empty list")
        else:
            errors.extend(
                f"fetches[{i}] needs 'at' and 'request'"
                for i, f in enumerate(doc["fetches"])
                if not (isinstance(f, dict) and "at" in f and "request" in f)
            )
    elif not isinstance(doc.get("request"), dict):
        errors.append("input.request must be an object")
    return errors


def _expect_errors(expect: Any, fetches: bool) -> list[str]:
    if not isinstance(expect, dict) or not expect:
        return ["must be a non-empty object"]
    allowed_keys = FETCHES_EXPECT_KEYS if fetches else SINGLE_FETCH_EXPECT_KEYS
    errors = [f"key {k!r} does not apply here" for k in sorted(set(expect) - allowed_keys)]
    if "reason" in expect:
        if expect["reason"] not in REASONS:
            errors.append(f"reason {expect['reason']!r} is not in the closed enum")
        if expect.get("allowed") is not False:
            errors.append("a reason needs 'allowed': false beside it")
    for key in ("allowed", "preflighted"):
        if key in expect and not fetches and not isinstance(expect[key], bool):
            errors.append(f"{key} must be true or false")
    for key in ("preflighted", "allowed_each"):
        if fetches and key in expect and not isinstance(expect[key], list):
            errors.append(f"{key} must be a list (one bool per fetch)")
    if "visible_headers" in expect:
        names = expect["visible_headers"]
        if names != sorted({n.lower() for n in names}):
            errors.append("visible_headers must be lowercased, unique and sorted")
    return errors


def test_case_files_exist() -> None:
    assert _files(), f"no case files in {CASES_DIR}"
    for name, _ in _files():
        assert name.endswith(".json")


def test_case_structure() -> None:
    errors = [e for name, cases in _files() for e in _structure_errors(name, cases)]
    assert not errors, "\n".join(errors)


def test_case_ids_unique() -> None:
    seen: dict[str, int] = {}
    for case in _all_cases():
        seen[case["id"]] = seen.get(case["id"], 0) + 1
    duplicates = sorted(i for i, n in seen.items() if n > 1)
    assert not duplicates, f"duplicate case ids: {duplicates}"


def test_case_count() -> None:
    count = sum(1 for _ in _all_cases())
    assert count >= MIN_CASES, f"only {count} pinned cases; at least {MIN_CASES} expected"


def test_every_blocked_reason_is_pinned() -> None:
    from reference.verdict import BlockedReason

    model_reasons = {r.value for r in BlockedReason}
    assert model_reasons == REASONS | set(UNPINNABLE_REASONS), (
        "the closed enum here and reference.verdict.BlockedReason disagree: "
        f"only in the model {sorted(model_reasons - REASONS - set(UNPINNABLE_REASONS))}, "
        f"only here {sorted((REASONS | set(UNPINNABLE_REASONS)) - model_reasons)}"
    )
    pinned = {
        expect["reason"]
        for case in _all_cases()
        for expect in [case["expect"], *case.get("expect_by_profile", {}).values()]
        if "reason" in expect
    }
    missing = sorted(REASONS - pinned)
    assert not missing, f"no pinned case expects these reasons: {missing}"
    assert not pinned & set(UNPINNABLE_REASONS), "an 'unpinnable' reason is pinned after all"


# --- the model against the data ------------------------------------------------------------


def _explain() -> Callable[..., Json]:
    # Imported here, not at module top: the structural tests above must run even while the
    # front door is missing or broken.
    module = importlib.import_module("reference.explain")
    explain_document: Callable[..., Json] = module.explain_document
    return explain_document


def _origin_header(request: Json) -> str | None:
    for name, value in request["headers"]:
        if name.lower() == "origin":
            assert isinstance(value, str)
            return value
    return None


def _observe(key: str, out: Json) -> Any:
    requests: list[Json] = out.get("requests", [])
    if key == "allowed":
        return out["verdict"] == "allowed"
    if key == "allowed_each":
        return [f["verdict"] == "allowed" for f in out["fetches"]]
    if key == "preflighted":
        if "fetches" in out:
            return [f["preflighted"] for f in out["fetches"]]
        return out["preflighted"]
    if key == "preflight_request":
        first = next((r for r in requests if r["preflight"]), None)
        if first is None:
            return None
        return {"method": first["method"], "headers": [list(h) for h in first["headers"]]}
    if key == "preflight_origins":
        return [_origin_header(r) for r in requests if r["preflight"]]
    if key == "origin_sent":
        return [_origin_header(r) for r in requests if not r["preflight"]]
    if key == "credentials_sent":
        return [r["credentials"] for r in requests]
    return out[key]


@pytest.mark.parametrize(("case", "profile"), _params())
def test_pinned_case(case: Json, profile: str) -> None:
    out = _explain()(case["input"], profile=profile)
    expect = _expectation(case, profile)
    mismatches = {
        key: {"expected": want, "got": got}
        for key, want in expect.items()
        if (got := _observe(key, out)) != want
    }
    assert not mismatches, (
        f"{case['id']} [{profile}] ({case['kind']}; {case['source']}; {case['spec_ref']})\n"
        + json.dumps(mismatches, indent=2)
        + "\nmodel steps:\n"
        + "\n".join(f"  - {s['text']}" for s in out.get("steps", []))
    )
