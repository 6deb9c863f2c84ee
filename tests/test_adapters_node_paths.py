"""``[[paths]]`` on the Node.js adapters that map them through the framework's own routing:
@fastify/cors (an encapsulated context per table) and Hono (a sub-app per table).

The configurations are checked without Node; the servers themselves (through the adapter's
target, as the suite sends requests) when ``node`` is on the PATH and
``npm ci --prefix conformance/node`` was run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conformance.adapters import Inexpressible, fastify_cors, hono, node
from conformance.frameworks import FRAMEWORKS, decodes_paths, supports_paths
from conformance.targets import Target
from reference.policy import CorsPolicy, PathRule, PolicyRules
from reference.verdict import WireRequest

needs_node = pytest.mark.skipif(
    not node.available(), reason="needs node and `npm ci --prefix conformance/node`"
)
NAMES = ("fastify-cors", "hono")
CONFIGURATIONS = {"fastify-cors": fastify_cors.configuration, "hono": hono.configuration}

APP = "https://app.example"
A = "https://a.example"
B = "https://b.example"


def _table(prefix: str, origin: str, **overrides: Any) -> PathRule:
    return PathRule(prefix=prefix, rules=PolicyRules(allow_origins=(origin,), **overrides))


# The top level allows APP; /public allows A (and PUT, max-age 5). Hono refuses an empty
# allow_headers (it then reflects every requested header), so one header is listed.
POLICY = CorsPolicy(
    allow_origins=(APP,),
    allow_headers=("x-api-key",),
    max_age=600,
    paths=(_table("/public", A, allow_methods=("PUT",), max_age=5),),
)


def _headers(target: Target, path: str, origin: str, *, preflight: bool) -> dict[bytes, bytes]:
    headers = [(b"Origin", origin.encode())]
    if preflight:
        headers.append((b"Access-Control-Request-Method", b"PUT"))
    wire = WireRequest(
        is_preflight=preflight,
        method=b"OPTIONS" if preflight else b"GET",
        url=target.base_url + path,
        headers=tuple(headers),
        credentials=False,
    )
    response = target.send(wire)
    assert response.status in (200, 204), (path, response)
    return {name.lower(): value for name, value in response.headers}


def _allowed_origin(target: Target, path: str, origin: str, *, preflight: bool) -> bytes | None:
    return _headers(target, path, origin, preflight=preflight).get(b"access-control-allow-origin")


@pytest.fixture(scope="module", params=[pytest.param(n, marks=needs_node) for n in NAMES])
def name(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.param
    node.shutdown(request.param)


# -- configurations (no node needed) --------------------------------------------------------------


@pytest.mark.parametrize("framework", NAMES)
def test_both_map_paths_on_the_decoded_path(framework: str) -> None:
    adapter = FRAMEWORKS[framework].adapter()
    assert supports_paths(adapter)
    assert decodes_paths(adapter)


def test_fastify_registers_a_context_per_table_then_the_top_level() -> None:
    scopes = fastify_cors.configuration(POLICY)["scopes"]
    assert [(s["prefix"], s["routes"]) for s in scopes] == [
        ("/public", ["/", "/*"]),
        (None, ["*"]),
    ]
    assert scopes[0]["options"]["origin"] == [A]
    assert scopes[0]["options"]["maxAge"] == 5
    assert scopes[1]["options"]["origin"] == [APP]


def test_hono_registers_a_group_per_table_then_the_top_level() -> None:
    policy = CorsPolicy(
        allow_origins=(APP,),
        allow_headers=("*",),
        paths=(_table("/public", A), _table("/api/", B)),
    )
    scopes = hono.configuration(policy)["scopes"]
    assert [(s["mount"], s["paths"]) for s in scopes] == [
        ("/public", ["*"]),
        ("/api/", ["/", "/:rest{.+}"]),
        (None, ["*"]),
    ]
    assert [s["options"]["origin"] for s in scopes] == [[A], [B], [APP]]


def test_fastify_leaves_out_routes_an_earlier_table_registered() -> None:
    # /api/ first: /api keeps only the exact path (find-my-way would refuse /api/* twice).
    policy = CorsPolicy(allow_origins=(APP,), paths=(_table("/api/", A), _table("/api", B)))
    scopes = fastify_cors.configuration(policy)["scopes"]
    assert [(s["prefix"], s["routes"]) for s in scopes] == [
        ("/api/", ["*"]),
        ("/api", ["/"]),
        (None, ["*"]),
    ]


@pytest.mark.parametrize("framework", NAMES)
def test_tables_that_never_apply_are_left_out_not_refused(framework: str) -> None:
    configuration = CONFIGURATIONS[framework]
    never = PathRule(prefix="/public/deep", rules=PolicyRules(allow_private_network=True))
    policy = CorsPolicy(
        allow_origins=(APP,), allow_headers=("*",), paths=(_table("/public", A), never)
    )
    assert len(configuration(policy)["scopes"]) == 2
    # Under "/" nothing else applies: neither a later table nor the top level.
    everything = CorsPolicy(
        allow_origins=(APP,),
        allow_headers=("*",),
        allow_private_network=True,
        paths=(_table("/", A, allow_private_network=False), never),
    )
    scopes = configuration(everything)["scopes"]
    assert len(scopes) == 1
    assert scopes[0]["options"]["origin"] == [A]


@pytest.mark.parametrize("framework", NAMES)
def test_pattern_tables_are_refused(framework: str) -> None:
    policy = CorsPolicy(allow_origins=(APP,), paths=(PathRule(pattern="/v[0-9]+/.*"),))
    with pytest.raises(Inexpressible, match="pattern") as raised:
        FRAMEWORKS[framework].adapter().configuration(policy)
    assert raised.value.key == "[[paths]]"


@pytest.mark.parametrize(
    ("framework", "prefix", "why"),
    [
        ("fastify-cors", "/x*y", "wildcard"),
        ("fastify-cors", "/p%41", "decoded"),
        ("hono", "/a:b", "parameter or wildcard"),
        ("hono", "/x*", "parameter or wildcard"),
        ("hono", "/p%41", "decoded"),
    ],
)
def test_prefixes_the_router_reads_otherwise_are_refused(
    framework: str, prefix: str, why: str
) -> None:
    policy = CorsPolicy(allow_origins=(APP,), allow_headers=("*",), paths=(_table(prefix, A),))
    with pytest.raises(Inexpressible, match=why) as raised:
        FRAMEWORKS[framework].adapter().configuration(policy)
    assert raised.value.key == "[[paths]]"


def test_reserved_escapes_stay_encoded_and_colons_are_escaped_for_fastify() -> None:
    assert node.decoded_escapes("/a%2Fb%3A%25c") == []
    assert node.decoded_escapes("/p%41%c3%a9") == ["%41", "%c3", "%a9"]
    policy = CorsPolicy(allow_origins=(APP,), paths=(_table("/a:b%2F", A),))
    assert fastify_cors.configuration(policy)["scopes"][0]["prefix"] == "/a::b%2F"


# -- the servers ----------------------------------------------------------------------------------

FASTIFY_PREFIX_PREFLIGHT = pytest.mark.xfail(
    strict=True,
    reason="@fastify/cors registers its preflight route as `OPTIONS *` in the table's context, "
    "which Fastify prefixes to `/public*`: it also routes the preflight of /publicx",
)


@pytest.mark.parametrize(
    ("path", "table_applies"),
    [("/public", True), ("/public/", True), ("/public/x", True), ("/other", False)],
)
@pytest.mark.parametrize("preflight", [True, False], ids=["preflight", "get"])
def test_each_path_gets_its_table(
    name: str, path: str, table_applies: bool, preflight: bool
) -> None:
    target = FRAMEWORKS[name].adapter().build_target(POLICY)
    allowed, refused = (A, APP) if table_applies else (APP, A)
    headers = _headers(target, path, allowed, preflight=preflight)
    assert headers.get(b"access-control-allow-origin") == allowed.encode()
    if preflight:
        methods = headers.get(b"access-control-allow-methods", b"")
        assert (b"PUT" in methods) == table_applies
        assert headers.get(b"access-control-max-age") == (b"5" if table_applies else b"600")
    assert _allowed_origin(target, path, refused, preflight=preflight) is None


@pytest.mark.parametrize("preflight", [True, False], ids=["preflight", "get"])
def test_a_longer_segment_is_not_below_the_prefix(
    name: str, preflight: bool, request: pytest.FixtureRequest
) -> None:
    if name == "fastify-cors" and preflight:
        request.applymarker(FASTIFY_PREFIX_PREFLIGHT)
    target = FRAMEWORKS[name].adapter().build_target(POLICY)
    assert _allowed_origin(target, "/publicx", APP, preflight=preflight) == APP.encode()
    assert _allowed_origin(target, "/publicx", A, preflight=preflight) is None


@pytest.mark.parametrize("preflight", [True, False], ids=["preflight", "get"])
def test_the_first_matching_table_wins(name: str, preflight: bool) -> None:
    deep_first = CorsPolicy(
        allow_origins=(APP,),
        allow_headers=("*",),
        paths=(_table("/public/deep", B), _table("/public", A)),
    )
    deep_last = CorsPolicy(
        allow_origins=(APP,),
        allow_headers=("*",),
        paths=(_table("/public", A), _table("/public/deep", B)),
    )
    adapter = FRAMEWORKS[name].adapter()
    target = adapter.build_target(deep_first)
    for path, origin in [("/public/deep/x", B), ("/public/deep", B), ("/public/x", A)]:
        assert deep_first.rules_for_path(path).allow_origins == (origin,)
        assert _allowed_origin(target, path, origin, preflight=preflight) == origin.encode()
    target = adapter.build_target(deep_last)
    for path in ("/public/deep/x", "/public/x"):
        assert _allowed_origin(target, path, A, preflight=preflight) == A.encode()
        assert _allowed_origin(target, path, B, preflight=preflight) is None


@pytest.mark.parametrize("preflight", [True, False], ids=["preflight", "get"])
def test_a_prefix_ending_in_a_slash_leaves_the_bare_path_to_the_next_table(
    name: str, preflight: bool
) -> None:
    policy = CorsPolicy(
        allow_origins=(APP,), allow_headers=("*",), paths=(_table("/api/", A), _table("/api", B))
    )
    target = FRAMEWORKS[name].adapter().build_target(policy)
    for path, origin in [("/api/", A), ("/api/x", A), ("/api", B), ("/other", APP)]:
        assert policy.rules_for_path(path).allow_origins == (origin,)
        assert _allowed_origin(target, path, origin, preflight=preflight) == origin.encode()
