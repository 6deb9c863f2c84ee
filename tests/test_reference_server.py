"""The reference server's decisions, one semantic point each, through both adapters (ASGI and
WSGI, driven by the suite's own in-process targets) and, where the wire cannot show it, through
:class:`ReferenceCors` directly."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterable, Iterator
from importlib import resources
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment

import pytest

from conformance.servers.reference import (
    Answer,
    ReferenceCors,
    asgi_app,
    default_policy,
    demo_response,
    merge_vary,
    wsgi_app,
)
from conformance.targets import AsgiTarget, Target, WsgiTarget, is_asgi, load_app
from reference.headers import HeaderList, get, get_all
from reference.policy import CorsPolicy, PathRule, PolicyRules
from reference.policy_file import load_policy
from reference.verdict import RawResponse, WireRequest

APP = "https://app.example"
ADMIN = "https://admin.example:8443"
EVIL = "https://evil.example"
BASE = "http://testserver"

DEMO_HEADERS = {
    b"content-type",
    b"content-length",
    b"cache-control",
    b"x-request-id",
    b"x-ratelimit-remaining",
    b"x-total-count",
    b"x-internal-token",
}
CORS_HEADERS = (
    b"access-control-allow-origin",
    b"access-control-allow-credentials",
    b"access-control-allow-methods",
    b"access-control-allow-headers",
    b"access-control-expose-headers",
    b"access-control-max-age",
    b"access-control-allow-private-network",
)

LISTED = CorsPolicy(
    allow_origins=(APP, "https://ADMIN.example:8443", "http://localhost:3000"),
    allow_origin_patterns=(r"https://[a-z0-9-]+\.preview\.app\.example",),
    allow_methods=("PUT", "PATCH", "DELETE"),
    allow_headers=("Content-Type", "X-Api-Key", "authorization"),
    expose_headers=("X-Request-Id", "x-ratelimit-remaining"),
    allow_credentials=True,
    max_age=600,
)
ANY_ORIGIN = CorsPolicy(allow_origins=("*",), allow_headers=("*",), expose_headers=("*",))
ANY_WITH_CREDENTIALS = CorsPolicy(
    allow_origins=("*",),
    allow_methods=("*",),
    allow_headers=("*",),
    expose_headers=("*",),
    allow_credentials=True,
)
PATHS = CorsPolicy(
    allow_origins=(APP,),
    paths=(
        PathRule(prefix="/public", rules=PolicyRules(allow_origins=("*",))),
        PathRule(pattern=r"/v[0-9]+/admin/.*", rules=PolicyRules(allow_origins=(ADMIN,))),
        PathRule(prefix="/caf%C3%A9", rules=PolicyRules(allow_origins=(EVIL,))),
    ),
)


# -- helpers -------------------------------------------------------------------------------------


def _demo_with(*extra: tuple[str, str]) -> Any:
    """A WSGI app answering like the demo app, plus ``extra`` headers."""

    def application(_environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain"), *extra])
        return [b"ok"]

    return application


@pytest.fixture(params=["asgi", "wsgi"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def serve(transport: str) -> Iterator[Any]:
    """``serve(policy)`` → a target for the reference server under ``policy``."""
    targets: list[Target] = []

    def make(policy: CorsPolicy, cors: type[ReferenceCors] = ReferenceCors) -> Target:
        if transport == "asgi":
            target: Target = AsgiTarget(asgi_app(policy, cors=cors))
        else:
            target = WsgiTarget(wsgi_app(policy, cors=cors))
        targets.append(target)
        return target

    yield make
    for target in targets:
        target.close()


def send(
    target: Target,
    method: str = "GET",
    path: str = "/",
    *,
    origin: str | None = APP,
    headers: HeaderList = (),
) -> RawResponse:
    wire_headers = [*headers]
    if origin is not None:
        wire_headers.append((b"Origin", origin.encode("latin-1")))
    return target.send(
        WireRequest(
            is_preflight=method == "OPTIONS",
            method=method.encode("ascii"),
            url=BASE + path,
            headers=tuple(wire_headers),
            credentials=False,
        )
    )


def preflight(
    target: Target,
    method: str = "PUT",
    headers: str | None = None,
    *,
    path: str = "/",
    origin: str = APP,
    extra: HeaderList = (),
) -> RawResponse:
    wire: list[tuple[bytes, bytes]] = [(b"Access-Control-Request-Method", method.encode())]
    if headers is not None:
        wire.append((b"Access-Control-Request-Headers", headers.encode("latin-1")))
    return send(target, "OPTIONS", path, origin=origin, headers=(*wire, *extra))


def header(response: RawResponse, name: str) -> bytes | None:
    return get(response.headers, name.encode())


def has_cors_headers(response: RawResponse) -> bool:
    return any(get(response.headers, name) is not None for name in CORS_HEADERS)


def names(response: RawResponse) -> set[bytes]:
    return {n.lower() for n, _ in response.headers}


def vary(response: RawResponse) -> list[bytes]:
    return [
        v.strip().lower() for line in get_all(response.headers, b"vary") for v in line.split(b",")
    ]


# -- preflights ------------------------------------------------------------------------------


def test_preflight_is_answered_204_and_never_reaches_the_app(serve: Any) -> None:
    response = preflight(serve(LISTED), "PUT", "content-type,x-api-key")
    assert response.status == 204
    assert not names(response) & {b"x-request-id", b"x-internal-token"}
    assert header(response, "Access-Control-Allow-Origin") == APP.encode()
    assert header(response, "Access-Control-Allow-Credentials") == b"true"
    assert header(response, "Access-Control-Allow-Methods") == b"PUT"
    assert header(response, "Access-Control-Allow-Headers") == b"content-type, x-api-key"
    assert header(response, "Access-Control-Max-Age") == b"600"
    assert vary(response) == [
        b"origin",
        b"access-control-request-method",
        b"access-control-request-headers",
    ]


def test_options_without_request_method_goes_to_the_app(serve: Any) -> None:
    response = send(serve(LISTED), "OPTIONS")
    assert response.status == 200
    assert b"x-request-id" in names(response)
    assert header(response, "Access-Control-Allow-Origin") == APP.encode()
    assert header(response, "Access-Control-Allow-Methods") is None


def test_refused_preflight_is_204_without_any_cors_header(serve: Any) -> None:
    response = preflight(serve(LISTED), "PUT", origin=EVIL)
    assert response.status == 204
    assert not has_cors_headers(response)
    assert b"origin" in vary(response)


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
def test_safelisted_methods_are_allowed_without_being_listed(serve: Any, method: str) -> None:
    policy = CorsPolicy(allow_origins=(APP,), allow_methods=(), allow_headers=("x-api-key",))
    response = preflight(serve(policy), method, "x-api-key")
    assert header(response, "Access-Control-Allow-Methods") == method.encode()


@pytest.mark.parametrize(
    ("method", "granted"),
    [("PUT", True), ("PATCH", True), ("patch", False), ("Delete", False), ("CHICKEN", False)],
)
def test_methods_are_compared_exactly(serve: Any, method: str, granted: bool) -> None:
    response = preflight(serve(LISTED), method)
    assert (header(response, "Access-Control-Allow-Methods") == method.encode()) is granted
    assert has_cors_headers(response) is granted


def test_any_method_is_echoed_also_under_credentials(serve: Any) -> None:
    response = preflight(serve(ANY_WITH_CREDENTIALS), "chicken")
    assert header(response, "Access-Control-Allow-Methods") == b"chicken"


@pytest.mark.parametrize("method", ["PU T", "PUT,DELETE", ""])
def test_a_request_method_that_is_not_a_token_is_refused(serve: Any, method: str) -> None:
    assert not has_cors_headers(preflight(serve(ANY_WITH_CREDENTIALS), method))


@pytest.mark.parametrize(
    ("requested", "echoed"),
    [
        ("x-api-key", b"x-api-key"),
        ("X-API-KEY,Content-Type", b"x-api-key, content-type"),
        (" x-api-key ,\tcontent-type", b"x-api-key, content-type"),
        (",,x-api-key,,", b"x-api-key"),
        ("x-api-key,X-Api-Key", b"x-api-key"),
        ("Authorization", b"authorization"),
    ],
)
def test_requested_headers_are_checked_case_insensitively_and_echoed_lowercased(
    serve: Any, requested: str, echoed: bytes
) -> None:
    response = preflight(serve(LISTED), "GET", requested)
    assert header(response, "Access-Control-Allow-Headers") == echoed


@pytest.mark.parametrize("requested", ["x-api-key,x-other", "x-other", '"x-api-key"', "x-a;x-b"])
def test_a_preflight_with_an_unlisted_or_malformed_header_is_refused(
    serve: Any, requested: str
) -> None:
    response = preflight(serve(LISTED), "GET", requested)
    assert response.status == 204
    assert not has_cors_headers(response)


def test_any_header_echoes_the_names_so_authorization_is_covered(serve: Any) -> None:
    response = preflight(serve(ANY_ORIGIN), "GET", "authorization,x-anything")
    assert header(response, "Access-Control-Allow-Headers") == b"authorization, x-anything"
    assert header(response, "Access-Control-Allow-Origin") == b"*"


def test_no_requested_headers_means_no_allow_headers(serve: Any) -> None:
    response = preflight(serve(LISTED), "PUT")
    assert header(response, "Access-Control-Allow-Headers") is None
    assert header(response, "Access-Control-Allow-Methods") == b"PUT"


def test_max_age_is_sent_only_when_set(serve: Any) -> None:
    assert header(preflight(serve(LISTED)), "Access-Control-Max-Age") == b"600"
    zero = CorsPolicy(allow_origins=(APP,), max_age=0)
    assert header(preflight(serve(zero), "GET"), "Access-Control-Max-Age") == b"0"
    assert header(preflight(serve(ANY_ORIGIN), "GET"), "Access-Control-Max-Age") is None


@pytest.mark.parametrize(
    ("allowed", "asked", "expected"),
    [
        (True, b"true", b"true"),
        (True, None, None),
        (True, b"false", None),
        (False, b"true", None),
    ],
)
def test_private_network_only_when_asked_and_allowed(
    serve: Any, allowed: bool, asked: bytes | None, expected: bytes | None
) -> None:
    policy = CorsPolicy(allow_origins=(APP,), allow_private_network=allowed)
    extra = () if asked is None else ((b"Access-Control-Request-Private-Network", asked),)
    response = preflight(serve(policy), "GET", extra=extra)
    assert header(response, "Access-Control-Allow-Private-Network") == expected


# -- origins -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [APP, ADMIN, "http://localhost:3000", "https://pr-12.preview.app.example"],
)
def test_listed_and_pattern_origins_are_reflected_with_credentials(serve: Any, origin: str) -> None:
    response = send(serve(LISTED), origin=origin)
    assert header(response, "Access-Control-Allow-Origin") == origin.encode()
    assert header(response, "Access-Control-Allow-Credentials") == b"true"


@pytest.mark.parametrize(
    "origin",
    [
        "https://APP.example",  # not canonical
        "https://app.example/",
        "https://app.example:443",
        "HTTPS://app.example",
        "http://app.example",
        "https://app.example.evil.example",
        "https://evilapp.example",
        "https://preview.app.example",  # the pattern needs a label
        "https://x.preview.app.example.evil.example",  # patterns match in full
        "https://x.preview.app.example:8443",
        "null",
        "",
        "*",
        "https://app.example, https://app.example",
    ],
)
def test_other_origins_are_refused_without_any_cors_header(serve: Any, origin: str) -> None:
    response = send(serve(LISTED), origin=origin)
    assert response.status == 200
    assert not has_cors_headers(response)
    assert b"origin" in vary(response)


def test_origin_value_is_ows_trimmed(serve: Any) -> None:
    response = send(serve(LISTED), origin=f" {APP}\t")
    assert header(response, "Access-Control-Allow-Origin") == APP.encode()


def test_two_origin_lines_are_refused() -> None:
    target = AsgiTarget(asgi_app(LISTED))  # WSGI merges repeated header lines
    response = send(target, headers=((b"Origin", APP.encode()),))
    target.close()
    assert not has_cors_headers(response)


def test_any_origin_without_credentials_is_a_literal_star(serve: Any) -> None:
    target = serve(ANY_ORIGIN)
    for origin in (EVIL, "null", "http://[::1]:8080"):
        response = send(target, origin=origin)
        assert header(response, "Access-Control-Allow-Origin") == b"*"
        assert header(response, "Access-Control-Allow-Credentials") is None


def test_any_origin_with_credentials_reflects(serve: Any) -> None:
    target = serve(ANY_WITH_CREDENTIALS)
    for origin in (EVIL, "null"):
        response = send(target, origin=origin)
        assert header(response, "Access-Control-Allow-Origin") == origin.encode()
        assert header(response, "Access-Control-Allow-Credentials") == b"true"


def test_any_origin_still_refuses_a_malformed_origin(serve: Any) -> None:
    assert not has_cors_headers(send(serve(ANY_ORIGIN), origin="https://a.example/"))


def test_null_only_when_listed(serve: Any) -> None:
    listed = CorsPolicy(allow_origins=("null",))
    assert header(send(serve(listed), origin="null"), "Access-Control-Allow-Origin") == b"null"
    patterns = CorsPolicy(allow_origin_patterns=(".*",))
    assert not has_cors_headers(send(serve(patterns), origin="null"))
    assert header(send(serve(patterns), origin=EVIL), "Access-Control-Allow-Origin")


def test_no_credentials_header_without_credentials(serve: Any) -> None:
    policy = CorsPolicy(allow_origins=(APP,))
    response = send(serve(policy))
    assert header(response, "Access-Control-Allow-Origin") == APP.encode()
    assert header(response, "Access-Control-Allow-Credentials") is None


# -- actual responses --------------------------------------------------------------------------


def test_exposed_headers_are_the_policy_list(serve: Any) -> None:
    response = send(serve(LISTED))
    assert (
        header(response, "Access-Control-Expose-Headers") == b"X-Request-Id, x-ratelimit-remaining"
    )
    assert header(send(serve(LISTED), origin=EVIL), "Access-Control-Expose-Headers") is None
    assert (
        header(send(serve(CorsPolicy(allow_origins=(APP,)))), "Access-Control-Expose-Headers")
        is None
    )


def test_expose_any_without_credentials_is_a_literal_star(serve: Any) -> None:
    assert header(send(serve(ANY_ORIGIN)), "Access-Control-Expose-Headers") == b"*"


def test_expose_any_with_credentials_lists_the_response_headers(serve: Any) -> None:
    response = send(serve(ANY_WITH_CREDENTIALS))
    listed = header(response, "Access-Control-Expose-Headers")
    assert listed is not None
    assert set(listed.split(b", ")) == DEMO_HEADERS


def test_expose_any_with_credentials_never_lists_set_cookie() -> None:
    app = _demo_with(("Set-Cookie", "a=1"), ("X-Custom", "1"))
    target = WsgiTarget(wsgi_app(ANY_WITH_CREDENTIALS, app=app))
    response = send(target)
    target.close()
    assert header(response, "Access-Control-Expose-Headers") == b"content-type, x-custom"


def test_error_responses_get_the_same_cors_headers(serve: Any) -> None:
    response = send(serve(LISTED), path="/things/missing")
    assert response.status == 404
    assert header(response, "Access-Control-Allow-Origin") == APP.encode()
    assert b"origin" in vary(response)


def test_head_has_no_body() -> None:
    assert demo_response("HEAD", "/")[2] == b""
    assert demo_response("GET", "/")[2] == b"ok\n"
    status, headers, _ = demo_response("GET", "/a/missing?x=1")
    assert status == 404
    assert {n.lower() for n, _ in headers} == DEMO_HEADERS


# -- requests without Origin, and Vary -------------------------------------------------------


def test_requests_without_origin_pass_untouched_but_for_vary(serve: Any) -> None:
    response = send(serve(LISTED), origin=None)
    assert response.status == 200
    assert names(response) == DEMO_HEADERS | {b"vary"}
    assert vary(response) == [b"origin"]


def test_preflight_shaped_request_without_origin_goes_to_the_app(serve: Any) -> None:
    response = send(
        serve(LISTED), "OPTIONS", origin=None, headers=((b"Access-Control-Request-Method", b"PUT"),)
    )
    assert response.status == 200
    assert not has_cors_headers(response)


def test_vary_is_merged_into_the_app_vary() -> None:
    target = WsgiTarget(wsgi_app(LISTED, app=_demo_with(("Vary", "Accept-Encoding"))))
    response = send(target)
    target.close()
    assert get_all(response.headers, b"vary") == (b"Accept-Encoding, Origin",)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ((), ((b"Vary", b"Origin"),)),
        (((b"Vary", b"Accept"),), ((b"Vary", b"Accept, Origin"),)),
        (((b"vary", b"origin"),), ((b"vary", b"origin"),)),
        (((b"Vary", b"*"),), ((b"Vary", b"*"),)),
        (((b"Vary", b""),), ((b"Vary", b"Origin"),)),
        (((b"Vary", b"A"), (b"Vary", b"Origin")), ((b"Vary", b"A"), (b"Vary", b"Origin"))),
    ],
)
def test_merge_vary(headers: HeaderList, expected: HeaderList) -> None:
    assert merge_vary(headers, (b"Origin",)) == expected


# -- paths -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "origin", "allowed"),
    [
        ("/public", EVIL, True),
        ("/public/x?y=1", EVIL, True),
        ("/publicx", EVIL, False),
        ("/PUBLIC", EVIL, False),  # case-sensitive
        ("/%70ublic", EVIL, False),  # before percent-decoding
        ("/v2/admin/users", ADMIN, True),
        ("/v2/admin/users", APP, False),
        ("/caf%C3%A9/x", EVIL, True),
        ("/x", APP, True),
    ],
)
def test_paths_resolve_on_the_raw_path(path: str, origin: str, allowed: bool) -> None:
    target = AsgiTarget(asgi_app(PATHS))
    response = send(target, path=path, origin=origin)
    target.close()
    assert has_cors_headers(response) is allowed


def _wsgi_environ(path_info: str, **extra: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path_info,
        "QUERY_STRING": "",
        "HTTP_ORIGIN": EVIL,
        "wsgi.input": io.BytesIO(),
        **extra,
    }


@pytest.mark.parametrize(
    ("environ", "allowed"),
    [
        (_wsgi_environ("/public", RAW_URI="/%70ublic?x=1"), False),  # gunicorn
        (_wsgi_environ("/public", REQUEST_URI="/public/x"), True),  # uWSGI
        (_wsgi_environ("/x", REQUEST_URI="http://testserver/public/x?q"), True),  # absolute form
        (_wsgi_environ("/public"), True),  # PATH_INFO, quoted again
        (_wsgi_environ("/caf\u00c3\u00a9/x"), True),  # PEP 3333: bytes decoded as Latin-1
        (_wsgi_environ("/caf\u00e9/x"), True),  # httpx: decoded as UTF-8
        (_wsgi_environ("/PUBLIC"), False),
    ],
)
def test_wsgi_raw_path(environ: dict[str, Any], allowed: bool) -> None:
    captured: list[list[tuple[str, str]]] = []

    def start_response(_status: str, headers: list[tuple[str, str]], _exc_info: Any = None) -> Any:
        captured.append(headers)
        return lambda _data: None

    body = b"".join(wsgi_app(PATHS)(environ, start_response))
    assert body == b"ok\n"
    header_names = {name.lower() for name, _ in captured[0]}
    assert ("access-control-allow-origin" in header_names) is allowed


# -- the core, directly --------------------------------------------------------------------------


def test_handle_answers() -> None:
    cors = ReferenceCors(LISTED)
    assert cors.handle("GET", "/", []) == Answer(respond=False)
    refused = cors.handle("GET", "/", [(b"origin", EVIL.encode())])
    assert refused == Answer(respond=False)
    granted = cors.handle("GET", "/", [(b"origin", APP.encode())])
    assert granted.granted
    assert not granted.respond
    assert granted.expose is not None
    pre = cors.handle(
        "OPTIONS", "/", [(b"origin", APP.encode()), (b"access-control-request-method", b"PUT")]
    )
    assert pre.respond
    assert pre.preflight
    assert pre.granted
    assert pre.status == 204


def test_finish_lists_response_headers_without_set_cookie() -> None:
    cors = ReferenceCors(ANY_WITH_CREDENTIALS)
    answer = cors.handle("GET", "/", [(b"origin", EVIL.encode())])
    final = cors.finish(answer, 200, [(b"Set-Cookie", b"a=1"), (b"X-A", b"1"), (b"x-a", b"2")])
    assert get(final, b"access-control-expose-headers") == b"x-a"
    only_cookie = cors.finish(answer, 200, [(b"Set-Cookie", b"a=1")])
    assert get(only_cookie, b"access-control-expose-headers") is None


def test_error_status_keeps_vary() -> None:
    cors = ReferenceCors(LISTED)
    answer = cors.handle("GET", "/", [(b"origin", EVIL.encode())])
    assert get(cors.finish(answer, 500, ()), b"vary") == b"Origin"


# -- module surface ------------------------------------------------------------------------------


def test_default_policy_is_default_toml() -> None:
    text = (resources.files("conformance") / "policies" / "default.toml").read_text("utf-8")
    assert default_policy() == load_policy(text)


def test_module_apps_load_as_targets() -> None:
    app = load_app("conformance.servers.reference:app")
    wsgi = load_app("conformance.servers.reference:wsgi")
    assert is_asgi(app)
    assert not is_asgi(wsgi)
    target = AsgiTarget(app)
    response = send(target, origin=APP)
    target.close()
    assert header(response, "Access-Control-Allow-Origin") == APP.encode()


def test_asgi_lifespan() -> None:
    app = asgi_app(LISTED)
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send_message(message: Any) -> None:
        sent.append(dict(message))

    async def main() -> None:
        await app({"type": "lifespan"}, receive, send_message)

    asyncio.run(main())
    assert [m["type"] for m in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
