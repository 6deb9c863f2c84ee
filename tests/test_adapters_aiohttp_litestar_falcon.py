"""aiohttp-cors, Litestar and Falcon adapters: ``[[paths]]`` tables mapped to aiohttp resources and
enforced per path, and ``read_policy`` for the three (round trips judged by meaning, see
:mod:`tests.readback`, and hand-written configurations read back)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import reject

from conformance.adapters import Inexpressible, aiohttp_cors, falcon, litestar
from conformance.adapters import _common as c
from conformance.frameworks import read_policy
from conformance.targets import Target
from reference.policy import CorsPolicy, PathRule, PolicyRules
from reference.verdict import WireRequest
from tests.readback import check_round_trip
from tests.wire import preflight

ALLOWED = "https://app.example"
OTHER = "https://other.example"


def _preflight(
    target: Target, path: str, origin: str, method: str = "PUT", headers: str = ""
) -> tuple[int, dict[bytes, bytes]]:
    return preflight(target, path, origin, method, headers)


def _allow_origin(target: Target, path: str, origin: str) -> bytes | None:
    return _preflight(target, path, origin)[1].get(b"access-control-allow-origin")


# -- aiohttp-cors: [[paths]] ----------------------------------------------------------------------

PATHS_POLICY = CorsPolicy(
    allow_origins=(ALLOWED,),
    allow_methods=("PUT",),
    max_age=60,
    paths=(
        PathRule(prefix="/public", rules=PolicyRules(allow_origins=("*",))),
        PathRule(prefix="/public/inner", rules=PolicyRules(allow_origins=())),  # never wins
        PathRule(prefix="/internal/", rules=PolicyRules(allow_origins=())),
        PathRule(
            pattern=r"/v[0-9]+/.*", rules=PolicyRules(allow_origins=(OTHER,)), max_age_set=True
        ),
    ),
)


@pytest.fixture(scope="module")
def paths_target() -> Iterator[Target]:
    target = aiohttp_cors.build_target(PATHS_POLICY)
    try:
        yield target
    finally:
        target.close()


@pytest.mark.parametrize(
    ("path", "origin", "granted"),
    [
        ("/public/x", OTHER, True),  # [[paths]] #1: any origin
        ("/public", OTHER, True),
        ("/public/inner/x", OTHER, True),  # #1 covers #2 entirely: the first table wins
        ("/publicx", OTHER, False),  # not below /public: the top level
        ("/other", OTHER, False),
        ("/other", ALLOWED, True),
        ("/internal/x", ALLOWED, False),  # #3: no origin
        ("/internal", ALLOWED, True),  # a prefix ending in '/' does not match its parent
        ("/v2/items", OTHER, True),  # #4, a pattern
        ("/v2/items", ALLOWED, False),
        ("/vx/items", ALLOWED, True),
    ],
)
def test_aiohttp_paths_are_enforced_per_path(
    paths_target: Target, path: str, origin: str, granted: bool
) -> None:
    want = PATHS_POLICY.rules_for_path(path)
    assert (origin in want.origins or "*" in want.origins) is granted  # the test's own premise
    got = _allow_origin(paths_target, path, origin)
    assert got == (origin.encode() if granted else None), (path, origin, got)


@pytest.mark.parametrize(("path", "granted"), [("/public/x", True), ("/other", False)])
def test_aiohttp_paths_apply_to_actual_requests(
    paths_target: Target, path: str, granted: bool
) -> None:
    wire = WireRequest(
        is_preflight=False,
        method=b"GET",
        url=paths_target.base_url + path,
        headers=((b"Accept", b"*/*"), (b"Origin", OTHER.encode())),
        credentials=False,
    )
    response = paths_target.send(wire)
    assert response.status == 200
    allow_origin = {n.lower(): v for n, v in response.headers}.get(b"access-control-allow-origin")
    assert allow_origin == (OTHER.encode() if granted else None)


def test_aiohttp_paths_become_resources_in_declaration_order() -> None:
    config = aiohttp_cors.configuration(PATHS_POLICY)
    assert config["defaults"] == {}  # an origin in defaults could not be taken away by a table
    assert [r["path"] for r in config["resources"]] == [
        "/public",
        "/public/{tail:.*}",
        "/internal/{tail:.*}",
        "/{path4:v[0-9]+/.*}",
        "/{tail:.*}",
    ]
    assert aiohttp_cors.DECODES_PATHS  # aiohttp routes on the percent-decoded path


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        (PathRule(pattern=r"(?i)/api/.*"), "does not begin with a literal '/'"),
        (PathRule(pattern=r"/a|/b"), "top-level '|'"),
        (PathRule(pattern=r"/*x"), "quantified"),
        (PathRule(pattern=r"/(a)\1"), "by number"),
        (PathRule(pattern=r"/x\{"), "route syntax"),
        (PathRule(prefix="/{id}"), "variable"),
    ],
)
def test_aiohttp_paths_it_cannot_map_are_refused_with_the_reason(
    rule: PathRule, reason: str
) -> None:
    with pytest.raises(Inexpressible, match=re.escape(reason)) as raised:
        aiohttp_cors.configuration(CorsPolicy(allow_origins=(ALLOWED,), paths=(rule,)))
    assert raised.value.key == "[[paths]]"


def test_aiohttp_a_pattern_before_a_prefix_is_refused() -> None:
    policy = CorsPolicy(
        allow_origins=(ALLOWED,),
        paths=(PathRule(pattern="/public/.*"), PathRule(prefix="/public")),
    )
    with pytest.raises(Inexpressible, match="longest static path first"):
        aiohttp_cors.configuration(policy)
    # the other way round, aiohttp's order is the policy's
    swapped = CorsPolicy(allow_origins=(ALLOWED,), paths=policy.paths[::-1])
    assert len(aiohttp_cors.configuration(swapped)["resources"]) == 4


# -- read_policy round trips --------------------------------------------------------------------


def _aiohttp_app(policy: CorsPolicy) -> Any:
    # aiohttp-cors is configured by origin: a table (or top level) that allows no origin keeps
    # no options at all, so what it would say about methods and headers (sub-verdicts of requests
    # it refuses anyway) cannot be read back.
    if any(not c.any_origin(r) and not c.listed_origins(r) for r in policy.resolved):
        reject()
    return aiohttp_cors.build_app(policy)


def test_aiohttp_cors_round_trip() -> None:
    check_round_trip("aiohttp-cors", _aiohttp_app)


def test_litestar_round_trip() -> None:
    check_round_trip("litestar", litestar.build_app)


def test_falcon_round_trip() -> None:
    # Falcon's CORSMiddleware always allows every requested header and sends one max-age: a
    # policy generated with other values would be refused nearly always (the run was
    # Unsatisfiable for some seeds).
    check_round_trip(
        "falcon",
        falcon.build_app,
        fixed=lambda policy: dataclasses.replace(
            policy, allow_headers=("*",), max_age=falcon.FALCON_MAX_AGE
        ),
    )


# -- hand-written configurations read back ---------------------------------------------------------


def _resource_options(**options: Any) -> Any:
    import aiohttp_cors as cors_package

    return cors_package.ResourceOptions(**options)  # type: ignore[no-untyped-call]


async def _handler(request: Any) -> Any:  # noqa: ARG001 (aiohttp's signature)
    from aiohttp import web

    return web.Response(text="ok")


def test_aiohttp_app_reads_back_with_resources() -> None:
    import aiohttp_cors as cors_package
    from aiohttp import web

    app = web.Application()
    cors = cors_package.setup(
        app,
        defaults={
            ALLOWED: _resource_options(
                allow_credentials=True,
                allow_headers=("X-Api-Key",),
                max_age=60,
                allow_methods=["PUT"],
            )
        },
    )
    cors.add(app.router.add_route("DELETE", "/api/items", _handler))  # DELETE allowed there
    public = app.router.add_resource("/public/{tail:.*}")
    everyone = _resource_options(expose_headers="*")
    # (without ALLOWED here, ALLOWED would keep its options from the defaults on this resource)
    cors.add(public, {"*": everyone, ALLOWED: everyone})
    public.add_route("GET", _handler)
    app.router.add_route("GET", "/health", _handler)  # no CORS

    policy = read_policy("aiohttp-cors", app)
    assert policy.allow_origins == ()  # no catch-all: aiohttp-cors answers nothing elsewhere
    api = policy.rules_for_path("/api/items")
    assert api.allow_origins == (ALLOWED,)
    assert api.allow_credentials
    assert api.allow_headers == ("x-api-key",)
    assert api.allow_methods == ("PUT", "DELETE")
    assert api.max_age == 60
    public_rules = policy.rules_for_path("/public/data")
    assert public_rules.allow_origins == ("*",)
    assert public_rules.expose_headers == ("*",)
    assert public_rules.allow_methods == ()  # allow_methods unset: no method beyond GET/HEAD/POST
    assert not public_rules.allow_credentials
    assert policy.rules_for_path("/health").allow_origins == ()
    assert policy.rules_for_path("/api/items/1").allow_origins == ()

    # an origin of the defaults keeps its options on a resource that does not name it
    leaky = app.router.add_resource("/leaky")
    cors.add(leaky, {"*": everyone})
    with pytest.raises(ValueError, match=r"^allow_credentials: .* at resource '/leaky'"):
        read_policy("aiohttp-cors", app)


def test_aiohttp_defaults_read_back_and_differing_options_are_refused() -> None:

    policy = read_policy("aiohttp-cors", {"*": {"allow_headers": "*", "max_age": 5}})
    assert policy.allow_origins == ("*",)
    assert policy.allow_headers == ("*",)
    assert policy.max_age == 5
    with pytest.raises(ValueError, match=r"^allow_credentials: .* differ by origin"):
        read_policy(
            "aiohttp-cors",
            {ALLOWED: _resource_options(allow_credentials=True), OTHER: {}},
        )


def test_litestar_app_reads_back() -> None:
    from litestar import Litestar
    from litestar.config.cors import CORSConfig

    app = Litestar(
        route_handlers=[],
        cors_config=CORSConfig(
            allow_origins=[ALLOWED, "https://*.preview.example", "https://App.example"],
            allow_methods=["GET", "PUT"],
            allow_headers=["X-Api-Key"],
            allow_credentials=True,
            expose_headers=["X-Request-Id"],
            max_age=300,
        ),
        openapi_config=None,
        logging_config=None,
    )
    policy = read_policy("litestar", app)
    assert policy.allow_origins == (ALLOWED,)
    assert policy.allow_origin_patterns == (
        r"https://.*\.preview\.example",
        r"https://App\.example",
    )
    assert policy.allow_methods == ("GET", "PUT")
    assert set(policy.allow_headers) == {"x-api-key"} | c.SAFELISTED_REQUEST_HEADERS
    assert policy.expose_headers == ("X-Request-Id",)
    assert policy.allow_credentials
    assert policy.max_age == 300
    litestar.configuration(policy)  # and Litestar can be configured from it again

    defaults = read_policy("litestar", CORSConfig())
    assert (defaults.allow_origins, defaults.allow_methods, defaults.allow_headers) == (
        ("*",),
        ("*",),
        ("*",),
    )
    assert defaults.max_age == 600
    # a regular expression that matches 'null' allows it (policy patterns never match it)
    assert (
        "null"
        in read_policy("litestar", {"allow_origins": [], "allow_origin_regex": ".*"}).allow_origins
    )
    with pytest.raises(ValueError, match="allow_origin"):
        read_policy("litestar", {"allow_origin": ["*"]})


class _Items:  # (Falcon's responder signature: req is unused)
    def on_get(self, req: Any, resp: Any) -> None:  # noqa: ARG002
        resp.text = "ok"

    def on_put(self, req: Any, resp: Any) -> None:  # noqa: ARG002
        resp.text = "ok"


class _Health:
    def on_get(self, req: Any, resp: Any) -> None:  # noqa: ARG002
        resp.text = "ok"


def test_falcon_app_reads_back() -> None:
    import falcon as falcon_package

    app = falcon_package.App(
        middleware=[
            falcon_package.CORSMiddleware(
                allow_origins=[ALLOWED, "null"],
                allow_credentials="*",
                expose_headers=["X-Request-Id", "X-Total-Count"],
                allow_private_network=True,
            )
        ]
    )
    app.add_route("/items", _Items())
    app.add_route("/items/{id}", _Items())
    policy = read_policy("falcon", app)
    assert policy.allow_origins == (ALLOWED, "null")
    assert policy.allow_methods == ("GET", "PUT")  # the resources' Allow
    assert policy.allow_headers == ("*",)  # Falcon echoes every requested header
    assert policy.max_age == 86400
    assert policy.expose_headers == ("X-Request-Id", "X-Total-Count")
    assert policy.allow_credentials
    assert policy.allow_private_network

    app.add_route("/health", _Health())
    with pytest.raises(ValueError, match=r"^allow_methods: the routes allow different methods"):
        read_policy("falcon", app)

    enabled = read_policy("falcon", falcon_package.App(cors_enable=True))
    assert enabled.allow_origins == ("*",)
    assert not enabled.allow_credentials


def test_falcon_middleware_alone_reads_back() -> None:
    policy = read_policy("falcon", {"allow_origins": [ALLOWED, "https://App.example"]})
    assert policy.allow_origins == (ALLOWED,)
    assert policy.allow_origin_patterns == (r"https://App\.example",)  # compared exactly: nothing
    assert policy.allow_methods == ("*",)  # the middleware alone puts no limit on methods
    assert not policy.allow_credentials
    with pytest.raises(ValueError, match=r"^allow_credentials: "):
        read_policy("falcon", {"allow_origins": [ALLOWED, OTHER], "allow_credentials": [ALLOWED]})


def test_falcon_options_in_allow_methods_is_answered() -> None:
    policy = CorsPolicy(
        allow_origins=(ALLOWED,),
        allow_methods=("PUT", "OPTIONS"),
        allow_headers=("*",),
        max_age=86400,
    )
    target = falcon.build_target(policy)
    try:
        status, headers = _preflight(target, "/x", ALLOWED, method="OPTIONS")
    finally:
        target.close()
    assert status == 200
    assert headers.get(b"access-control-allow-origin") == ALLOWED.encode()
    assert b"OPTIONS" in headers.get(b"access-control-allow-methods", b"").split(b", ")
