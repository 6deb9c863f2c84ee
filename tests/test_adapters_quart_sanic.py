"""quart-cors and sanic-ext: ``[[paths]]`` tables configured per blueprint / per route and
enforced per path in declaration order, and ``read_policy`` (round trips, and hand-written
configurations read back)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.adapters import Inexpressible, quart_cors, sanic_ext
from conformance.frameworks import FRAMEWORKS, read_policy
from conformance.targets import Target
from reference.policy import CorsPolicy, PathRule, PolicyRules
from tests.readback import check_round_trip
from tests.wire import preflight

APP = "https://app.example"
OTHER = "https://other.example"
FRAMEWORK_NAMES = ("quart-cors", "sanic-ext")


def _preflight(target: Target, path: str, origin: str, method: str = "PUT") -> dict[bytes, bytes]:
    status, headers = preflight(target, path, origin, method)
    assert status < 300, (path, status, headers)
    return headers


@pytest.fixture(params=FRAMEWORK_NAMES)
def framework(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _target(name: str, policy: CorsPolicy) -> Iterator[Target]:
    target = FRAMEWORKS[name].adapter().build_target(policy)
    try:
        yield target
    finally:
        target.close()


# -- [[paths]] configured and enforced ------------------------------------------------------------

PATHS_POLICY = CorsPolicy(
    allow_origins=(APP,),
    allow_methods=("GET", "PUT"),
    max_age=10,
    paths=(
        PathRule(
            prefix="/public",
            rules=PolicyRules(allow_origins=("*",), allow_methods=("GET",), max_age=600),
        ),
        PathRule(pattern="/v[0-9]+/.*", rules=PolicyRules(allow_origins=(OTHER,))),
    ),
)


def test_paths_tables_are_enforced_per_path(framework: str) -> None:
    for target in _target(framework, PATHS_POLICY):
        public = _preflight(target, "/public/x", OTHER, "GET")
        assert public.get(b"access-control-allow-origin") in (b"*", OTHER.encode())
        assert public.get(b"access-control-max-age") == b"600"
        put = _preflight(target, "/public/x", OTHER)
        assert b"PUT" not in put.get(b"access-control-allow-methods", b"").upper()

        other = _preflight(target, "/other", OTHER)
        assert b"access-control-allow-origin" not in other  # the top level lists APP only
        top = _preflight(target, "/other", APP)
        assert top.get(b"access-control-allow-origin") == APP.encode()
        assert top.get(b"access-control-max-age") == b"10"
        assert b"PUT" in top.get(b"access-control-allow-methods", b"").upper()

        # the pattern table, and near misses of the prefix that stay at the top level
        assert _preflight(target, "/v2/items", OTHER).get(b"access-control-allow-origin") == (
            OTHER.encode()
        )
        for near in ("/publicx", "/PUBLIC", "/v2"):
            assert b"access-control-allow-origin" not in _preflight(target, near, OTHER), near
        for path in ("/public", "/public/"):
            assert _preflight(target, path, OTHER, "GET").get(b"access-control-max-age") == b"600"


def _origin_per_table(*rules: PathRule) -> CorsPolicy:
    return CorsPolicy(allow_origins=(APP,), paths=rules)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        # the broader table first: the narrower one is never reached
        (
            _origin_per_table(
                PathRule(prefix="/a", rules=PolicyRules(allow_origins=("https://one.example",))),
                PathRule(prefix="/a/b", rules=PolicyRules(allow_origins=("https://two.example",))),
            ),
            {"/a/b/c": "https://one.example", "/a/c": "https://one.example", "/x": APP},
        ),
        # the narrower table first: each wins where it matches
        (
            _origin_per_table(
                PathRule(prefix="/a/b", rules=PolicyRules(allow_origins=("https://two.example",))),
                PathRule(prefix="/a", rules=PolicyRules(allow_origins=("https://one.example",))),
            ),
            {
                "/a/b/c": "https://two.example",
                "/a/c": "https://one.example",
                "/a": "https://one.example",
            },
        ),
        # a pattern before a prefix it overlaps, and "/" owned by a table
        (
            _origin_per_table(
                PathRule(
                    pattern="/a/.*/z", rules=PolicyRules(allow_origins=("https://p.example",))
                ),
                PathRule(prefix="/", rules=PolicyRules(allow_origins=("https://r.example",))),
            ),
            {"/a/b/z": "https://p.example", "/a/b": "https://r.example", "/": "https://r.example"},
        ),
    ],
)
def test_first_matching_table_wins_in_declaration_order(
    framework: str, policy: CorsPolicy, expected: dict[str, str]
) -> None:
    origins = {APP, *(o for rule in policy.paths for o in rule.rules.allow_origins or ())}
    for target in _target(framework, policy):
        for path, want in expected.items():
            # the winning table's origin is allowed, the others' are not
            assert policy.rules_for_path(path).allow_origins == (want,), path
            allowed = _preflight(target, path, want)
            assert allowed.get(b"access-control-allow-origin") == want.encode(), path
            for loser in sorted(origins - {want}):
                refused = _preflight(target, path, loser)
                assert b"access-control-allow-origin" not in refused, (path, loser)


@pytest.mark.parametrize(
    "pattern",
    [
        "(?:/a|/b)/.*",  # no literal '/' first
        "/a|/b",  # '/' only in one alternative (the parser would factor it out)
        "/*x",  # a repeated '/'
        "/^x",  # anchors after the '/'
        "/(?<=/)x",  # looks behind
        r"/(a)\1",  # refers back to a group
    ],
)
def test_patterns_that_cannot_be_rewritten_are_refused(framework: str, pattern: str) -> None:
    policy = CorsPolicy(paths=(PathRule(pattern=pattern, rules=PolicyRules(max_age=1)),))
    with pytest.raises(Inexpressible, match=r"^\[\[paths\]\]: pattern"):
        FRAMEWORKS[framework].adapter().configuration(policy)


@pytest.mark.parametrize("pattern", ["/v(1|2)/.*", "/a=b/.*", "/caf%C3%A9"])
def test_sanic_refuses_what_its_route_syntax_does_not_carry(pattern: str) -> None:
    policy = CorsPolicy(paths=(PathRule(pattern=pattern, rules=PolicyRules(max_age=1)),))
    with pytest.raises(Inexpressible, match=r"^\[\[paths\]\]: pattern"):
        sanic_ext.configuration(policy)
    quart_cors.configuration(policy)  # Werkzeug's converters take them


def test_prefixes_with_special_characters_match_literally(framework: str) -> None:
    policy = CorsPolicy(
        allow_origins=(APP,),
        paths=(PathRule(prefix="/a.b=c", rules=PolicyRules(allow_origins=(OTHER,))),),
    )
    for target in _target(framework, policy):
        assert _preflight(target, "/a.b=c/x", OTHER).get(b"access-control-allow-origin")
        assert b"access-control-allow-origin" not in _preflight(target, "/aXb=c/x", OTHER)


# -- read_policy ----------------------------------------------------------------------------------


def test_quart_cors_round_trip() -> None:
    check_round_trip("quart-cors", quart_cors.build_app)


def test_sanic_ext_round_trip() -> None:
    check_round_trip("sanic-ext", sanic_ext.build_app, max_examples=40)


def test_quart_cors_app_reads_back_with_blueprints_and_routes() -> None:
    from quart import Blueprint, Quart
    from quart_cors import cors, cors_exempt, route_cors

    app = Quart("read_back", static_folder=None)
    app.config["QUART_CORS_ALLOW_CREDENTIALS"] = True
    api = Blueprint("api", __name__, url_prefix="/api")

    @api.route("/items/<int:item>")
    async def item(item: int) -> str:
        return str(item)

    @app.route("/open")
    @route_cors(allow_origin="https://open.example", allow_credentials=False, max_age=5)
    async def open_route() -> str:
        return ""

    @app.route("/closed")
    @cors_exempt
    async def closed() -> str:
        return ""

    @app.route("/<path:rest>")
    async def anything(rest: str) -> str:
        return rest

    app.register_blueprint(cors(api, allow_origin=[OTHER], max_age=60))
    cors(app, allow_origin=[APP, re.compile(r"https://.*\.preview\.example")], max_age=300)

    policy = read_policy("quart-cors", app)
    assert policy.allow_origins == (APP,)
    assert policy.allow_origin_patterns == (r"(?:https://.*\.preview\.example)(?s:.*)",)
    assert policy.allow_credentials  # from QUART_CORS_ALLOW_CREDENTIALS
    assert policy.max_age == 300
    assert policy.allow_headers == ("*",)  # quart-cors's default
    assert set(policy.allow_methods) >= {"GET", "PUT", "DELETE"}

    items = policy.rules_for_path("/api/items/7")
    assert items.allow_origins == (OTHER,)
    assert items.max_age == 60
    assert items.allow_credentials
    assert policy.rules_for_path("/api/items/x").allow_origins == (APP,)  # no route: the app's
    opened = policy.rules_for_path("/open")
    assert opened.allow_origins == ("https://open.example",)
    # quart-cors takes `allow_credentials or QUART_CORS_ALLOW_CREDENTIALS`: False does not win
    assert opened.allow_credentials
    assert opened.max_age == 5
    assert policy.rules_for_path("/closed").allow_origins == ()
    assert policy.rules_for_path("/other").allow_origins == (APP,)


def test_quart_cors_blueprint_reads_back() -> None:
    from quart import Blueprint
    from quart_cors import cors

    blueprint = cors(Blueprint("alone", __name__), allow_origin=[OTHER], allow_credentials=True)
    policy = read_policy("quart-cors", blueprint)
    assert policy.allow_origins == (OTHER,)
    assert policy.allow_credentials
    assert not policy.paths
    with pytest.raises(ValueError, match="not applied"):
        read_policy("quart-cors", Blueprint("bare", __name__))


def test_quart_cors_keywords_read_back() -> None:
    policy = read_policy(
        "quart-cors",
        {"allow_origin": "*", "allow_methods": ["GET", "PATCH"], "expose_headers": ["X-Id"]},
    )
    assert policy.allow_origins == ("*",)
    assert policy.allow_methods == ("GET", "PATCH")
    assert policy.expose_headers == ("X-Id",)
    assert policy.max_age is None
    with pytest.raises(ValueError, match=r"^allow_origin: '\*' with credentials"):
        read_policy("quart-cors", {"allow_origin": "*", "allow_credentials": True})
    with pytest.raises(ValueError, match=r"^allow_methods"):
        read_policy(
            "quart-cors",
            {"allow_origin": [APP], "allow_methods": ["*"], "allow_credentials": True},
        )


def test_sanic_ext_app_reads_back_with_routes() -> None:
    from sanic import Sanic, text
    from sanic_ext import Extend, cors

    app = Sanic("read_back_sanic", configure_logging=False)
    app.config.CORS_ORIGINS = f"{APP},https://b.example"
    app.config.CORS_METHODS = ["get", "put"]
    app.config.CORS_SUPPORTS_CREDENTIALS = True

    async def handler(_request: Any, **_: Any) -> Any:
        return text("")

    app.add_route(handler, "/", name="root")
    app.add_route(
        cors(origin="*", supports_credentials=False, max_age=60)(_copy(handler)),
        "/public/<rest:path>",
        name="public",
    )
    app.add_route(_copy(handler), "/<rest:path>", name="rest")
    Extend(app)

    policy = read_policy("sanic-ext", app)
    assert policy.allow_origins == (APP, "https://b.example")
    assert policy.allow_methods == ("GET", "PUT")
    assert policy.allow_headers == ("*",)  # sanic-ext's default
    assert policy.max_age == 5  # sanic-ext's default
    assert policy.allow_credentials
    public = policy.rules_for_path("/public/x")
    assert public.allow_origins == ("*",)
    assert not public.allow_credentials
    assert public.max_age == 60
    assert public.allow_methods == ("GET", "PUT")  # from the settings
    assert policy.rules_for_path("/other").allow_origins == (APP, "https://b.example")


def _copy(function: Any) -> Any:
    """Another function object (``@cors`` marks the function itself)."""

    async def copy(request: Any, **kwargs: Any) -> Any:
        return await function(request, **kwargs)

    return copy


def test_sanic_ext_settings_read_back() -> None:
    policy = read_policy(
        "sanic-ext",
        {
            "CORS_ORIGINS": [APP, re.compile(r"https://.*\.preview\.example")],
            "CORS_EXPOSE_HEADERS": "X-Request-Id",
            "CORS_MAX_AGE": 0,
        },
    )
    assert policy.allow_origins == (APP,)
    assert policy.allow_origin_patterns == (r"(?:https://.*\.preview\.example)(?s:.*)",)
    assert policy.expose_headers == ("X-Request-Id",)
    assert policy.max_age is None  # a falsy CORS_MAX_AGE sends none
    assert "DELETE" in policy.allow_methods  # CORS_METHODS unset: the routes' methods
    assert read_policy("sanic-ext", {"CORS_ORIGINS": "*"}).allow_origins == ("*",)
    assert read_policy("sanic-ext", {"CORS_ORIGINS": ["*"]}).allow_origins == ()  # exact there
    with pytest.raises(ValueError, match=r"^CORS_AUTOMATIC_OPTIONS"):
        read_policy("sanic-ext", {"CORS_ORIGINS": [APP], "CORS_AUTOMATIC_OPTIONS": False})
    with pytest.raises(ValueError, match=r"^CORS_EXPOSE_HEADERS"):
        read_policy(
            "sanic-ext",
            {"CORS_ORIGINS": [APP], "CORS_EXPOSE_HEADERS": "*", "CORS_SUPPORTS_CREDENTIALS": True},
        )
