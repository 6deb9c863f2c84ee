"""The framework adapters (conformance/adapters/): every one builds, answers, skips what it cannot
express, and runs ``framework_configurations`` to the end without a harness error. Node.js
adapters run when ``node`` is on the PATH and ``npm ci --prefix conformance/node`` was run.

Quick by design: a few generated policies per framework, without shrinking (a divergence found
is fine here: the matrix, not this test, reports them).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis.errors import HypothesisException

from conformance.adapters import Inexpressible, node
from conformance.context import SuiteContext
from conformance.divergences import Divergence
from conformance.framework_properties import area_for, framework_configurations
from conformance.frameworks import (
    FRAMEWORKS,
    PROBE_POLICY,
    FrameworkSession,
    build,
    read_policy,
)
from conformance.outcomes import UsageError
from conformance.records import walk_exceptions
from conformance.settings import DEFAULT_PATHS
from conformance.targets import Target
from reference.policy import CorsPolicy, PathRule, PolicyRules
from reference.verdict import WireRequest

SEED = 20251125
PYTHON = [name for name, f in FRAMEWORKS.items() if f.language == "python"]
NODE = [name for name, f in FRAMEWORKS.items() if f.language == "node"]
needs_node = pytest.mark.skipif(
    not node.available(), reason="needs node and `npm ci --prefix conformance/node`"
)
ALL = [*PYTHON, *(pytest.param(n, marks=needs_node) for n in NODE)]

ALLOWED = "https://app.example"


def _get(
    framework_target: Target, origin: str, path: str = "/", *, ok: bool = True
) -> dict[bytes, bytes]:
    wire = WireRequest(
        is_preflight=False,
        method=b"GET",
        url=framework_target.base_url + path,
        headers=((b"Accept", b"*/*"), (b"Origin", origin.encode())),
        credentials=False,
    )
    response = framework_target.send(wire)
    assert response.status == 200 or not ok
    return {n.lower(): v for n, v in response.headers}


@pytest.mark.parametrize("name", ALL)
def test_adapter_builds_and_applies_the_policy(name: str) -> None:
    session = FrameworkSession(name)
    try:
        target = session.configure(PROBE_POLICY)
        allowed = _get(target, ALLOWED)
        assert allowed.get(b"access-control-allow-origin") == ALLOWED.encode()
        assert allowed.get(b"x-request-id") == b"7f3e-demo"  # the demo app is behind it
        refused = _get(target, "https://evil.example", ok=False)  # (BlackSheep answers 400)
        # (@koa/cors sends its one configured origin to everyone: a mismatch for this one)
        assert refused.get(b"access-control-allow-origin") in (None, ALLOWED.encode())
    finally:
        session.close()


@pytest.mark.parametrize("name", ALL)
def test_adapter_names_a_version(name: str) -> None:
    version = FRAMEWORKS[name].adapter().package_version()
    assert version[0].isdigit(), version


# One policy no framework can express in full: private network access with a pattern and a
# [[paths]] table with a pattern, methods '*' with credentials, max-age 0 and no request header.
UNIVERSALLY_INEXPRESSIBLE = CorsPolicy(
    allow_origins=(ALLOWED, "https://b.example"),
    allow_origin_patterns=(r"https://[a-z]+\.preview\.example",),
    allow_methods=("*",),
    allow_headers=(),
    expose_headers=("*",),
    allow_credentials=True,
    max_age=0,
    allow_private_network=True,
    paths=(PathRule(pattern="/v[0-9]+/.*", rules=PolicyRules(allow_credentials=False)),),
)


@pytest.mark.parametrize("name", ALL)
def test_inexpressible_policies_are_refused_before_anything_is_built(name: str) -> None:
    adapter = FRAMEWORKS[name].adapter()
    with pytest.raises(Inexpressible) as raised:
        adapter.configuration(UNIVERSALLY_INEXPRESSIBLE)
    assert raised.value.key in (
        "[[paths]]",
        "allow_origins",
        "allow_origin_patterns",
        "allow_methods",
        "allow_headers",
        "expose_headers",
        "max_age",
        "allow_private_network",
    ), str(raised.value)
    with pytest.raises(UsageError, match="cannot be expressed"):
        build(name, UNIVERSALLY_INEXPRESSIBLE)


@pytest.mark.parametrize("name", ALL)
def test_generated_configurations_run_without_harness_errors(name: str) -> None:
    session = FrameworkSession(name)
    ctx = SuiteContext(
        target=session.configure(PROBE_POLICY),
        policy=PROBE_POLICY,
        paths=DEFAULT_PATHS,
        seed=SEED,
        max_examples=4,
        shrink=False,
    )
    problems: list[BaseException] = []
    try:
        framework_configurations(ctx, session)()
    except HypothesisException as exc:  # e.g. Unsatisfiable: every policy inexpressible
        problems.append(exc)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        problems += [e for e in walk_exceptions(exc) if not isinstance(e, Divergence)]
    finally:
        session.close()
    assert not problems, problems
    assert ctx.policies_tested > 0
    assert ctx.cases_sent > 0


def test_inexpressible_policies_are_skipped_and_counted() -> None:
    session = FrameworkSession("falcon")  # expresses few policies: many are skipped
    ctx = SuiteContext(
        target=session.configure(PROBE_POLICY),
        policy=PROBE_POLICY,
        seed=SEED,
        max_examples=3,
        shrink=False,
    )
    others: list[BaseException] = []
    try:
        framework_configurations(ctx, session)()
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        others += [e for e in walk_exceptions(exc) if not isinstance(e, Divergence)]
    finally:
        session.close()
    assert not others, others
    assert ctx.inexpressible, "falcon skipped no generated policy"
    assert set(ctx.inexpressible) <= {
        "[[paths]]",
        "allow_origins",
        "allow_origin_patterns",
        "allow_methods",
        "allow_headers",
        "max_age",
    }


@needs_node
def test_node_servers_stop_with_the_session() -> None:
    session = FrameworkSession("express-cors")
    session.configure(PROBE_POLICY)
    running = node.server("express-cors")
    session.close()
    assert running._process.poll() is not None


def test_areas_cover_every_matrix_row() -> None:
    from conformance.framework_properties import AREA_TITLES
    from conformance.matrix import ROWS

    assert {row.area for row in ROWS} == set(AREA_TITLES)
    assert area_for("allowed-request-blocked", "ALLOW_ORIGIN_MISMATCH") == "origin"
    assert area_for("allowed-request-blocked", "WILDCARD_ORIGIN_NOT_ALLOWED") == "credentials"
    assert area_for("preflight-granted-against-policy", "allow_methods") == "methods"
    assert area_for("malformed-cors-header", "access-control-max-age") == "caching"
    assert area_for("missing-vary-origin", "vary") == "caching"


# -- reading an app's configuration back (item 3 of the issue) -------------------------------------


def test_starlette_arguments_read_back_into_the_policy_they_mean() -> None:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware

    app = Starlette(
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=[ALLOWED],
                allow_origin_regex=r"https://.*\.preview\.example",
                allow_methods=["GET", "PUT"],
                allow_headers=["X-Api-Key"],
                allow_credentials=True,
                expose_headers=["X-Request-Id"],
                max_age=300,
            )
        ]
    )
    policy = read_policy("starlette", app)
    assert policy.allow_origins == (ALLOWED,)
    assert policy.allow_origin_patterns == (r"https://.*\.preview\.example",)
    assert policy.allow_methods == ("GET", "PUT")
    assert set(policy.allow_headers) == {
        "x-api-key",
        "accept",
        "accept-language",
        "content-language",
        "content-type",
    }
    assert policy.allow_credentials
    assert policy.max_age == 300
    # and that policy is one Starlette can be configured from again
    FRAMEWORKS["starlette"].adapter().configuration(policy)


def test_fastapi_app_reads_back() -> None:
    from conformance.examples.fastapi_docs import app

    policy = read_policy("fastapi", app)
    assert policy.allow_credentials
    assert policy.allow_methods == ("*",)
    assert "https://localhost.tiangolo.com" in policy.allow_origins


def test_flask_cors_app_reads_back_with_resources() -> None:
    from flask import Flask
    from flask_cors import CORS

    app = Flask("read_back")
    CORS(
        app,
        resources={
            r"/api/.*": {"origins": [ALLOWED], "supports_credentials": True, "max_age": 60},
            r"/.*": {"origins": "*"},
        },
    )
    policy = read_policy("flask-cors", app)
    assert policy.allow_origins == ("*",)
    assert len(policy.paths) == 1
    rule = policy.paths[0]
    assert rule.matches("/api/items")
    assert not rule.matches("/public")
    assert rule.rules.allow_origins == (ALLOWED,)
    assert rule.rules.allow_credentials is True
    assert rule.rules.max_age == 60


def test_django_settings_read_back() -> None:
    policy = read_policy(
        "django-cors-headers",
        {
            "CORS_ALLOWED_ORIGINS": [ALLOWED],
            "CORS_ALLOWED_ORIGIN_REGEXES": [r"^https://\w+\.example$"],
            "CORS_ALLOW_CREDENTIALS": True,
            "CORS_PREFLIGHT_MAX_AGE": 0,
        },
    )
    assert policy.allow_origins == (ALLOWED,)
    assert policy.allow_credentials
    assert policy.max_age is None  # 0 sends no Access-Control-Max-Age
    assert "authorization" in policy.allow_headers  # django-cors-headers' default list


def test_frameworks_command_lists_every_adapter() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "conformance.frameworks", "list"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
    )
    for name in FRAMEWORKS:
        assert name in done.stdout


@needs_node
def test_node_methods_are_those_of_the_installed_node() -> None:
    done = subprocess.run(
        ["node", "-p", "require('http').METHODS.join(' ')"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert frozenset(done.stdout.split()) == node.NODE_HTTP_METHODS


def test_matrix_renders_cells_with_links_and_passes() -> None:
    from conformance.matrix import ROWS, render_html, render_markdown

    document = {
        "framework": {
            "name": "starlette",
            "language": "python",
            "package": "starlette",
            "version": "1.10.0",
            "adapter": "conformance/adapters/starlette.py",
            "policies_tested": 3,
            "inexpressible": {"max_age": 2},
            "requests_skipped": 0,
            "areas": {row.area: "passed" for row in ROWS} | {"caching": "failed"},
        },
        "run": {"seed": SEED, "cases_sent": 30},
        "divergences": [
            {"id": "abc123", "grade": "non-strict", "kind": "missing-vary-origin", "reason": "vary"}
        ],
    }
    markdown = render_markdown([document])
    assert "[non-strict](frameworks/starlette.md#d-abc123)" in markdown
    assert "| pass |" in markdown
    assert "`max_age` 2" in markdown
    assert 'href="frameworks/starlette.md#d-abc123"' in render_html([document])


def test_paths_the_router_puts_under_another_table_are_skipped() -> None:
    from types import SimpleNamespace

    from conformance.frameworks import routes_elsewhere
    from reference.policy import PathRule, PolicyRules

    policy = CorsPolicy(
        allow_origins=(ALLOWED,),
        paths=(
            PathRule(prefix="/public", rules=PolicyRules(allow_origins=("*",))),
            PathRule(pattern="/API/[a-z]+", rules=PolicyRules(allow_credentials=True)),
        ),
    )
    raw = routes_elsewhere(SimpleNamespace(SUPPORTS_PATHS=True))
    decoding = routes_elsewhere(SimpleNamespace(DECODES_PATHS=True))
    folding = routes_elsewhere(SimpleNamespace(FOLDS_CASE=True))
    assert not raw(policy, "/%70ublic/x")
    assert not raw(policy, "/PUBLIC")
    assert decoding(policy, "/%70ublic/x")  # decoded: /public/x
    assert not decoding(policy, "/api/it%65ms")  # no table either way: judged
    assert not decoding(policy, "/PUBLIC")
    assert folding(policy, "/PUBLIC/x")
    assert folding(policy, "/api/items")
    assert not folding(policy, "/public/x")
    assert not folding(policy, "/other")
    assert not folding(CorsPolicy(allow_origins=(ALLOWED,)), "/PUBLIC")  # no tables


def test_with_a_policy_file_the_router_s_paths_are_not_applicable_in_every_property() -> None:
    from conformance.frameworks import RoutedTarget, build
    from conformance.outcomes import NotApplicable
    from reference.policy import PathRule, PolicyRules
    from reference.verdict import WireRequest

    policy = CorsPolicy(
        allow_origins=(ALLOWED,),
        paths=(PathRule(prefix="/public", rules=PolicyRules(allow_origins=("*",))),),
    )
    target = build("flask-cors", policy)  # flask-cors matches tables on the decoded path
    try:
        assert isinstance(target, RoutedTarget)

        def get(path: str) -> WireRequest:
            return WireRequest(
                is_preflight=False,
                method=b"GET",
                url=f"{target.base_url}{path}",
                headers=((b"Origin", ALLOWED.encode()),),
                credentials=False,
            )

        assert target.send(get("/public/x")).status == 200
        assert target.send(get("/api/it%65ms")).status == 200  # no table either way
        with pytest.raises(NotApplicable, match="routing, not CORS"):
            target.send(get("/%70ublic/x"))
    finally:
        target.close()
    plain = build("flask-cors", CorsPolicy(allow_origins=(ALLOWED,)))  # no tables
    assert not isinstance(plain, RoutedTarget)
    plain.close()


def test_aiohttp_s_parser_takes_llhttp_s_methods_in_any_case() -> None:
    from conformance.frameworks import routed_methods
    from reference.verdict import WireRequest

    adapter = FRAMEWORKS["aiohttp-cors"].adapter()
    routes = routed_methods(adapter)
    target = adapter.build_target(
        CorsPolicy(allow_origins=(ALLOWED,), allow_methods=("*",), allow_headers=("*",), max_age=5)
    )
    try:
        for method in ("PATCH", "pAtCh", "PROPFIND", "CHICKEN", "x-custom"):
            wire = WireRequest(
                is_preflight=False,
                method=method.encode(),
                url=f"{target.base_url}/",
                headers=((b"Origin", ALLOWED.encode()),),
                credentials=False,
            )
            parsed = target.send(wire).status != 400
            assert routes(method) is parsed, method
    finally:
        target.close()
