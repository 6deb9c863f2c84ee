"""The BlackSheep adapter: ``[[paths]]`` tables as named policies bound to routes, enforced per
path; and ``read_policy`` (a round trip through the real app, and a hand-written app)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from blacksheep import Application, Response
from blacksheep.server.routing import Router
from hypothesis import assume

from conformance.adapters import Inexpressible
from conformance.adapters import blacksheep as adapter
from conformance.targets import Target
from reference.policy import OVERRIDABLE_KEYS, CorsPolicy, PathRule, PolicyRules
from tests.readback import check_round_trip
from tests.wire import preflight

APP = "https://app.example"
ALL_KEYS = frozenset(OVERRIDABLE_KEYS)
OTHER = "https://a.example"

PATHS_POLICY = CorsPolicy(
    allow_origins=(APP,),
    allow_methods=("GET", "POST", "PUT"),
    allow_headers=("x-api-key",),
    max_age=600,
    paths=(
        PathRule(
            prefix="/public",
            rules=PolicyRules(allow_origins=("*",), allow_methods=("GET", "POST"), max_age=60),
        ),
        PathRule(prefix="/internal", rules=PolicyRules(allow_credentials=True)),
    ),
)


def _preflight(target: Target, path: str, origin: str, method: str = "GET") -> dict[bytes, bytes]:
    return preflight(target, path, origin, method)[1]


@pytest.fixture
def paths_target() -> Iterator[Target]:
    target = adapter.build_target(PATHS_POLICY)
    try:
        yield target
    finally:
        target.close()


# -- [[paths]] -------------------------------------------------------------------------------------


def test_paths_become_named_policies_on_their_routes() -> None:
    config = adapter.configuration(PATHS_POLICY)
    assert config["default"]["max_age"] == 600
    assert [(t["name"], t["routes"]) for t in config["named"]] == [
        ("paths-1", ["/public", "/public/{path:tail}"]),
        ("paths-2", ["/internal", "/internal/{path:tail}"]),
    ]
    assert config["named"][0]["options"]["allow_origins"] == ["*"]
    assert config["named"][1]["options"]["allow_credentials"] is True


@pytest.mark.parametrize("path", ["/public", "/public/", "/public/x", "/public/a/b?q=1"])
def test_a_table_applies_to_its_prefix_and_below(paths_target: Target, path: str) -> None:
    headers = _preflight(paths_target, path, OTHER)
    assert headers.get(b"access-control-allow-origin") == b"*"
    assert headers.get(b"access-control-max-age") == b"60"


@pytest.mark.parametrize("path", ["/other", "/", "/publicx", "/%70ublic/x", "/api/items"])
def test_other_paths_get_the_top_level(paths_target: Target, path: str) -> None:
    assert b"access-control-allow-origin" not in _preflight(paths_target, path, OTHER)
    headers = _preflight(paths_target, path, APP)
    assert headers.get(b"access-control-allow-origin") == APP.encode()
    assert headers.get(b"access-control-max-age") == b"600"
    assert b"access-control-allow-credentials" not in headers


def test_tables_differ_as_declared(paths_target: Target) -> None:
    public = _preflight(paths_target, "/public/x", APP, "PUT")
    other = _preflight(paths_target, "/other", APP, "PUT")
    internal = _preflight(paths_target, "/internal/status", APP, "PUT")
    assert b"access-control-allow-origin" not in public  # the table leaves PUT out
    assert other.get(b"access-control-allow-origin") == APP.encode()
    assert b"access-control-allow-credentials" not in other
    assert internal.get(b"access-control-allow-credentials") == b"true"


def test_the_first_matching_table_wins() -> None:
    outer = PathRule(prefix="/api", rules=PolicyRules(max_age=1))
    inner = PathRule(prefix="/api/v1", rules=PolicyRules(max_age=2))
    base = CorsPolicy(allow_origins=(APP,), max_age=3)

    shadowed = CorsPolicy(**_keys(base), paths=(outer, inner))
    assert [t["name"] for t in adapter.configuration(shadowed)["named"]] == ["paths-1"]

    # BlackSheep tries /api/v1/... before /api/... whatever the order of registration
    specific_first = CorsPolicy(**_keys(base), paths=(inner, outer))
    target = adapter.build_target(specific_first)
    try:
        assert _preflight(target, "/api/v1/x", APP).get(b"access-control-max-age") == b"2"
        assert _preflight(target, "/api/v1", APP).get(b"access-control-max-age") == b"2"
        assert _preflight(target, "/api/x", APP).get(b"access-control-max-age") == b"1"
        assert _preflight(target, "/api", APP).get(b"access-control-max-age") == b"1"
    finally:
        target.close()


def test_a_root_table_is_the_default() -> None:
    policy = CorsPolicy(
        allow_origins=(APP,),
        allow_private_network=True,  # never applies: the root table matches every path
        paths=(
            PathRule(prefix="/public", rules=PolicyRules(allow_private_network=False, max_age=1)),
            PathRule(prefix="/", rules=PolicyRules(allow_private_network=False, max_age=2)),
            PathRule(pattern="/never", rules=PolicyRules()),
        ),
    )
    config = adapter.configuration(policy)
    assert config["default"]["max_age"] == 2
    assert [t["name"] for t in config["named"]] == ["paths-1"]


@pytest.mark.parametrize(
    ("paths", "reason"),
    [
        ((PathRule(pattern="/v[0-9]+/.*"),), "not regular expressions"),
        ((PathRule(prefix="/a*b"),), r"give '\*' a meaning"),
        ((PathRule(prefix="/items/{id}"),), "give '{' a meaning"),
        ((PathRule(prefix="/api/"), PathRule(prefix="/api")), "trailing '/'"),
    ],
)
def test_refused_tables(paths: tuple[PathRule, ...], reason: str) -> None:
    policy = CorsPolicy(allow_origins=(APP,), max_age=5, paths=paths)
    with pytest.raises(Inexpressible, match=reason) as raised:
        adapter.configuration(policy)
    assert raised.value.key == "[[paths]]"


def test_a_prefix_after_its_slash_twin_the_other_way_round_is_kept() -> None:
    policy = CorsPolicy(
        allow_origins=(APP,),
        max_age=5,
        paths=(PathRule(prefix="/api"), PathRule(prefix="/api/")),  # the second never applies
    )
    assert [t["routes"] for t in adapter.configuration(policy)["named"]] == [
        ["/api", "/api/{path:tail}"]
    ]


# -- read_policy -----------------------------------------------------------------------------------


def test_round_trip() -> None:
    check_round_trip("blacksheep", adapter.build_app)


def test_round_trip_of_use_cors_arguments() -> None:
    def arguments(policy: CorsPolicy) -> dict[str, Any]:
        assume(not policy.paths)  # use_cors alone is the top level
        return dict(adapter.configuration(policy)["default"])

    check_round_trip("blacksheep", arguments)


def _hand_written_app() -> Application:
    app = Application(router=Router())
    app.use_cors(
        allow_origins="https://app.example https://admin.example:8443",
        allow_methods="GET HEAD POST DELETE",
        allow_headers=["Content-Type", "X-Api-Key"],
    )
    app.add_cors_policy(
        "open",
        allow_origins="*",
        allow_methods="*",
        allow_headers="*",
        expose_headers=["X-Total-Count"],
        max_age=300,
    )
    app.add_cors_policy(
        "items", allow_origins=["https://a.example"], allow_methods="GET HEAD POST PATCH"
    )

    async def public() -> Response:
        return Response(200)

    async def item() -> Response:
        return Response(200)

    async def home() -> Response:
        return Response(200)

    for method in ("GET", "POST"):
        app.router.add(method, "/public", public)
        app.router.add(method, "/public/{path:rest}", public)
        app.router.add(method, "/items/{int:item_id}", item)
    app.router.add("GET", "/docs", home)
    app.router.add("GET", "/public/status", home)  # more specific than /public/{path:rest}
    app.router.add("GET", "/", home)
    app.cors("open")(public)
    app.cors("items")(item)
    return app


def test_read_a_hand_written_app() -> None:
    policy = adapter.read_policy(_hand_written_app())
    assert policy.allow_origins == ("https://admin.example:8443", "https://app.example")
    assert policy.allow_methods == ("DELETE", "GET", "HEAD", "POST")
    assert policy.allow_headers == ("content-type", "x-api-key")
    assert policy.max_age == 5  # BlackSheep's default
    assert "set-cookie" in policy.expose_headers  # BlackSheep's default list
    assert not policy.allow_credentials
    # BlackSheep tries literal routes first, then /items/{int} (no catch-all tail), then tails
    assert [(r.prefix, r.pattern, r.overridden_keys()) for r in policy.paths] == [
        (None, "/public/status/?", frozenset()),  # the default policy's, before /public/...
        (None, r"/items/(?P<item_id>\d+)/?", ALL_KEYS),
        ("/public", None, ALL_KEYS),
    ]
    status, items, public = policy.resolved[1:]
    assert items.allow_origins == ("https://a.example",)
    assert items.allow_methods == ("GET", "HEAD", "PATCH", "POST")
    assert public.allow_origins == ("*",)
    assert public.allow_methods == ("*",)
    assert public.allow_headers == ("*",)
    assert public.expose_headers == ("x-total-count",)
    assert public.max_age == 300
    assert policy.rules_for_path("/public/a/b") is public
    assert policy.rules_for_path("/public") is public
    assert policy.rules_for_path("/items/12") is items
    assert policy.rules_for_path("/items/x") is policy.top_level
    assert policy.rules_for_path("/docs") is policy.top_level
    assert policy.rules_for_path("/public/status") is status
    assert status.allow_origins == policy.allow_origins


def test_read_the_arguments_of_use_cors() -> None:
    policy = adapter.read_policy(
        {"allow_origins": ["https://app.example"], "allow_methods": "GET,HEAD,POST", "max_age": 60}
    )
    assert policy.allow_origins == ("https://app.example",)
    assert policy.max_age == 60
    assert policy.paths == ()
    assert adapter.read_policy({}).max_age == adapter.BLACKSHEEP_DEFAULT_MAX_AGE


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"allow_origins": "*", "allow_methods": "*", "allow_credentials": True}, "allow_methods"),
        (
            {"allow_origins": "*", "allow_methods": "GET HEAD POST", "expose_headers": "*"}
            | {"allow_credentials": True},
            "expose_headers",
        ),
        ({"allow_origins": "*", "allow_methods": "GET POST"}, "allow_methods"),
        ({"allow_origin_regex": ".*"}, "allow_origin_regex"),
    ],
)
def test_configurations_without_a_policy_equivalent(kwargs: dict[str, Any], key: str) -> None:
    with pytest.raises(ValueError, match=f"^{key}"):
        adapter.read_policy(kwargs)


def test_a_route_bound_differently_per_method_is_refused() -> None:
    app = Application(router=Router())
    app.use_cors(allow_origins="*", allow_methods="GET HEAD POST")
    app.add_cors_policy("open", allow_origins="*", allow_methods="*")

    async def bound() -> Response:
        return Response(200)

    async def unbound() -> Response:
        return Response(200)

    app.router.add("GET", "/x", bound)
    app.router.add("POST", "/x", unbound)
    app.cors("open")(bound)
    with pytest.raises(ValueError, match=r"^\[\[paths\]\]"):
        adapter.read_policy(app)


def test_an_app_without_use_cors_is_refused() -> None:
    with pytest.raises(ValueError, match="use_cors"):
        adapter.read_policy(Application(router=Router()))


def _keys(policy: CorsPolicy) -> dict[str, Any]:
    return {
        "allow_origins": policy.allow_origins,
        "allow_methods": policy.allow_methods,
        "max_age": policy.max_age,
    }
