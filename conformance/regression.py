"""Regression tests a target's own repository can keep.

``cors-conformance regression results.json`` writes a standalone pytest file
(:func:`regression_file`): one test per divergence, embedding its request(s), the decision the
policy intends, and the policy itself. Each test replays the record (:mod:`conformance.replay`)
and asserts the divergence is gone. The file depends only on ``cors-conformance`` being
installed: it imports :func:`assert_fixed` and :func:`open_target` from here, and an app fixture
the user points at their application (in process) or at a running server (a URL).
"""

from __future__ import annotations

import keyword
import pprint
import re
import textwrap
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from conformance.replay import (
    DECISION_KINDS,
    CannotReplay,
    browser_request,
    recheck,
)
from conformance.targets import Target, UrlTarget, load_app, target_for_app
from reference.policy import CorsPolicy
from reference.policy_eval import intended_verdict
from reference.policy_file import load_policy

__all__ = [
    "CorsTarget",
    "assert_fixed",
    "framework_app",
    "load_app",
    "open_target",
    "reference_app",
]

DEFAULT_FILE = "test_cors_regressions.py"
BASE_URL = "http://testserver"  # where the embedded requests point; replaced by the target's


# -- what the generated file calls ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FrameworkApp:
    """A framework adapter's app, configured from each test's policy."""

    name: str


class FrameworkTargets:
    """One target per policy, for a framework (built on first use, closed together)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._targets: dict[str, Target] = {}

    def for_policy(self, policy: str) -> Target:
        if policy not in self._targets:
            from conformance import frameworks

            parsed = load_policy(policy, source="POLICY")
            self._targets[policy] = frameworks.build(self.name, parsed, explicit=True)
        return self._targets[policy]

    def close(self) -> None:
        for target in self._targets.values():
            target.close()


CorsTarget = Target | FrameworkTargets


@contextmanager
def open_target(app: object) -> Iterator[CorsTarget]:
    """What the tests send to: ``app`` is an ASGI or WSGI callable (in process), the base URL
    of a running server (a string), a :class:`FrameworkApp`, or a ready target. Closed on exit."""
    target: CorsTarget
    if isinstance(app, str):
        target = UrlTarget(app)
    elif isinstance(app, FrameworkApp):
        target = FrameworkTargets(app.name)
    elif hasattr(app, "send") and hasattr(app, "base_url") and hasattr(app, "close"):
        target = cast(Target, app)
    else:
        target = target_for_app(app, name="app under test")
    try:
        yield target
    finally:
        target.close()


def framework_app(name: str) -> FrameworkApp:
    """The framework adapter ``name``, configured from each test's policy."""
    return FrameworkApp(name)


def reference_app(policy: str) -> object:
    """The bundled reference server under ``policy``."""
    from conformance.servers.reference import asgi_app

    return asgi_app(load_policy(policy, source="POLICY"))


def assert_fixed(target: CorsTarget, policy: str, case: Mapping[str, Any]) -> None:
    """Replay ``case`` (a record of results.json, trimmed) against ``target``; fail if it still
    diverges, skip if it cannot be replayed there. A case found under a generated policy
    carries it (``case["policy"]``), and is judged against it instead of ``policy``."""
    import pytest

    policy = case.get("policy") or policy
    parsed = load_policy(policy, source="POLICY")
    if isinstance(target, FrameworkTargets):
        target = target.for_policy(policy)
    _check_expectation(parsed, case)
    try:
        found = recheck(target, parsed, case)
    except CannotReplay as exc:
        pytest.skip(f"cannot replay against this target: {exc}")
    if found is None:
        return
    now = "" if found.kind == case["kind"] else f" (now as {found.kind})"
    curls = [step["curl"] for ex in case.get("exchanges", []) for step in ex.get("steps", [])]
    lines = [
        f"[{case['grade']}] {case['kind']} still diverges{now}: {found.evidence.summary}",
        f"expected: {case.get('expected', 'no divergence')}",
        f"spec: {case.get('spec_ref')}",
        *(f"reproduce (recorded against {BASE_URL}): {curl}" for curl in curls),
    ]
    pytest.fail("\n".join(lines), pytrace=False)


def _check_expectation(policy: CorsPolicy, case: Mapping[str, Any]) -> None:
    expected = case.get("expected_allowed")
    exchanges = case.get("exchanges") or []
    if expected is None or not exchanges or not exchanges[0].get("request"):
        return
    request = browser_request(exchanges[0]["request"], BASE_URL)
    allowed = intended_verdict(policy, request).allowed
    if allowed is not expected:
        raise AssertionError(
            f"POLICY now {'allows' if allowed else 'refuses'} this request, but this test was "
            f"written when it {'allowed' if expected else 'refused'} it: regenerate the file "
            "(cors-conformance regression) or delete the test"
        )


# -- writing the file ----------------------------------------------------------------------------
_CASE_KEYS = ("id", "kind", "grade", "title", "reason", "spec_ref", "summary", "seed")


def _case(record: Mapping[str, Any], policy: CorsPolicy | None) -> dict[str, Any]:
    case = {key: record[key] for key in _CASE_KEYS if key in record}
    if record.get("policy_steps"):
        case["expected"] = record["policy_steps"][-1].removeprefix("so ")
    exchanges = []
    for exchange in record.get("exchanges") or []:
        steps = [
            {"request": step["request"], "curl": step["curl"]} for step in exchange.get("steps", [])
        ]
        exchanges.append({"request": exchange.get("request"), "steps": steps})
    case["exchanges"] = exchanges
    own_policy = (record.get("extra") or {}).get("policy")
    if isinstance(own_policy, str):
        case["policy"] = own_policy  # found under a generated policy: judged against it
        try:
            policy = load_policy(own_policy, source="record")
        except ValueError:
            policy = None
    first = exchanges[0]["request"] if exchanges else None
    if policy is not None and record["kind"] in DECISION_KINDS and first:
        try:
            request = browser_request(first, BASE_URL)
        except CannotReplay:
            pass
        else:
            case["expected_allowed"] = intended_verdict(policy, request).allowed
    return case


def _python_string(text: str) -> str:
    """``text`` as a readable Python literal: a raw triple-quoted string where it can be."""
    if all(ch == "\n" or ch.isprintable() for ch in text):
        for quote in ('"""', "'''"):
            if quote not in text and not text.endswith(("\\", quote[0])):
                return f"r{quote}{text}{quote}"
    return repr(text)


def _docstring(text: str) -> str:
    from reports._text import visible

    return visible(text).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def _wrapped(text: str) -> list[str]:
    return textwrap.wrap(
        _docstring(text), width=96, initial_indent="    ", subsequent_indent="    "
    )


def _test_name(record: Mapping[str, Any]) -> str:
    name = "test_" + re.sub(r"\W", "_", f"{record['kind']}_{record['id']}")
    return name + "_" if keyword.iskeyword(name) else name


def _app_fixture(run: Mapping[str, Any]) -> list[str]:
    options = run.get("target_options") or {}
    if options.get("app"):
        body = f"return load_app({options['app']!r})"
        origin = f"the app this file was written from ({options['app']})"
    elif options.get("url"):
        body = f"return {options['url']!r}"
        origin = f"the server this file was written from ({options['url']})"
    elif options.get("framework"):
        body = f"return framework_app({options['framework']!r})"
        origin = f"the {options['framework']} adapter, configured from each test's policy"
    else:
        body = "return reference_app(POLICY)"
        origin = "the bundled reference server"
    return [
        '@pytest.fixture(scope="module")',
        "def cors_app() -> object:",
        '    """Your application: an ASGI or WSGI callable (tested in process), or the base URL',
        '    of a running server ("http://127.0.0.1:8000"). Replace the line below, e.g.:',
        "",
        "        from myproject.asgi import app",
        "        return app",
        "",
        f"    It now returns {origin}.",
        '    """',
        f"    {body}",
    ]


def regression_file(
    document: Mapping[str, Any], *, ids: tuple[str, ...] = (), xfail: bool = False
) -> str:
    """The text of a pytest file pinning every divergence of ``document`` (or those ``ids``)."""
    run = document.get("run", {})
    policy_text = run.get("policy") or ""
    try:
        policy: CorsPolicy | None = load_policy(policy_text, source="results.json")
    except ValueError:
        policy = None
    records = [r for r in document.get("divergences") or [] if not ids or r["id"] in ids]
    lines = [
        '"""CORS regression tests written by `cors-conformance regression` from results.json.',
        "",
        "Each test re-sends the request(s) of one divergence cors-conformance found (against",
        f"{_docstring(str(run.get('target')))}, seed {run.get('seed')}) and asserts it is gone: a "
        "browser now does",
        "what POLICY intends. Keep this file in your repository; it needs `pip install",
        "cors-conformance`. Point the `cors_app` fixture at your application.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from collections.abc import Iterator",
        "",
        "import pytest",
        "",
        "from conformance.regression import (",
        "    CorsTarget,",
        "    assert_fixed,",
        "    framework_app,",
        "    load_app,",
        "    open_target,",
        "    reference_app,",
        ")",
        "",
        "# The CORS policy the server is meant to enforce (cors-conformance's policy file format).",
        f"POLICY = {_python_string(policy_text)}",
        "",
        "",
        *_app_fixture(run),
        "",
        "",
        '@pytest.fixture(scope="module")',
        "def cors_target(cors_app: object) -> Iterator[CorsTarget]:",
        "    with open_target(cors_app) as target:",
        "        yield target",
    ]
    for record in records:
        case = _case(record, policy)
        lines += ["", ""]
        if xfail:
            reason = f"known CORS divergence {record['id']} ({record['kind']})"
            lines.append(f"@pytest.mark.xfail(strict=True, reason={reason!r})")
        lines += [
            f"def {_test_name(record)}(cors_target: CorsTarget) -> None:",
            f'    """[{record["grade"]}] {_docstring(record["title"])}.',
            "",
            *_wrapped(record["summary"]),
            f"    Spec: {_docstring(record['spec_ref'])}",
            '    """',
            "    assert_fixed(",
            "        cors_target,",
            "        POLICY,",
            _indent(pprint.pformat(case, width=88, sort_dicts=False), 8) + ",",
            "    )",
        ]
    if not records:
        lines += ["", "", "def test_no_divergence_was_recorded() -> None:", "    pass"]
    return "\n".join(lines) + "\n"


def _indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + line for line in text.splitlines())
