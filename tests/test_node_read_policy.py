"""``read_policy`` for the Node adapters (:mod:`conformance.adapters.node_options`): round trips
from generated policies (:mod:`tests.readback`), modules read through ``node``
(``conformance/node/read-options.mjs``), the refusals, and the live packages judged against the
policies read from their options (the reading is exact where the round trip cannot tell: the
options no adapter writes)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, settings

from conformance import compare
from conformance.adapters import express_cors, fastify_cors, hono, koa_cors, node, node_options
from conformance.exchange import run_fetch
from conformance.framework_properties import _parser_safe, _wire_method
from conformance.frameworks import routed_methods
from conformance.outcomes import NotApplicable
from conformance.settings import DEFAULT_PATHS
from reference.cache import DEFAULT_MAX_AGE
from reference.policy import CorsPolicy, PathRule, PolicyRules
from reference.policy_eval import intended_verdict
from reference.profiles import SPEC
from reference.request import BrowserRequest
from strategies import cors_requests
from tests.readback import check_round_trip

needs_node = pytest.mark.skipif(
    not node.available(), reason="needs node and `npm ci --prefix conformance/node`"
)

READERS: dict[str, tuple[ModuleType, Callable[[node_options.Source], CorsPolicy]]] = {
    "express-cors": (express_cors, node_options.read_express),
    "fastify-cors": (fastify_cors, node_options.read_fastify),
    "koa-cors": (koa_cors, node_options.read_koa),
    "hono": (hono, node_options.read_hono),
}


@pytest.fixture
def wired() -> None:
    """``read_policy`` on each Node adapter is its reader (``conformance.frameworks`` finds it
    there)."""
    for module, reader in READERS.values():
        assert getattr(module, "read_policy", None) is reader


def exported(value: Any) -> Any:
    """The harness's JSON as a user's module exports it: ``{"regex": source}`` is a RegExp
    (``read-options.mjs`` spells it with its flags)."""
    if isinstance(value, list):
        return [exported(item) for item in value]
    if isinstance(value, dict):
        if set(value) == {"regex"}:
            return {"regex": value["regex"], "flags": ""}
        return {key: exported(item) for key, item in value.items()}
    return value


def express_scopes(policy: CorsPolicy) -> list[dict[str, Any]]:
    """The scopes an express app mounts for ``policy``, routing case-sensitively as the
    harness does."""
    out: list[dict[str, Any]] = []
    for scope in express_cors.configuration(policy)["scopes"]:
        options = exported(scope["options"])
        if scope["prefix"] is None:
            out.append({"options": options})
        else:
            out.append({"path": scope["prefix"], "options": options, "caseSensitive": True})
    return out


def app_wide_options(configuration: dict[str, Any]) -> Any:
    """The one options object of an adapter's configuration: ``{"options": ...}``, or
    ``{"scopes": [...]}`` with one app-wide scope; ``None`` when it mounts per-path scopes."""
    if "options" in configuration:
        return configuration["options"]
    scopes = configuration["scopes"]
    if len(scopes) == 1 and all(scopes[0].get(k) is None for k in ("prefix", "mount")):
        return scopes[0]["options"]
    return None


def options_of(module: ModuleType) -> Callable[[CorsPolicy], Any]:
    """What a user's module exports for ``policy``: the options object. A policy whose
    ``[[paths]]`` the adapter mounts as scopes has none (the reader takes one options object)."""

    def source(policy: CorsPolicy) -> Any:
        options = app_wide_options(module.configuration(policy))
        if options is None:
            reject()
        return exported(options)

    return source


# -- round trips ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("wired")
def test_express_round_trip() -> None:
    check_round_trip("express-cors", express_scopes)


@pytest.mark.usefixtures("wired")
def test_fastify_round_trip() -> None:
    check_round_trip("fastify-cors", options_of(fastify_cors))


@pytest.mark.usefixtures("wired")
def test_koa_round_trip() -> None:
    check_round_trip("koa-cors", options_of(koa_cors))


@pytest.mark.usefixtures("wired")
def test_hono_round_trip() -> None:
    check_round_trip("hono", options_of(hono))


@pytest.mark.usefixtures("wired")
def test_express_reads_the_harness_document() -> None:
    """The adapter's own configuration, wrapper and all (``{"scopes": [{"prefix", ...}]}``)."""
    check_round_trip("express-cors", express_cors.configuration, max_examples=20)


# -- modules read through node --------------------------------------------------------------------


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


@needs_node
def test_express_module_with_scopes(tmp_path: Path) -> None:
    module = write(
        tmp_path,
        "cors.mjs",
        """
        const origins = ['https://app.example', /^https:\\/\\/[a-z0-9-]+\\.preview\\.example$/]
        export default [
          { path: '/public/', options: { origin: '*', methods: 'GET,PUT' } },
          { path: '/internal', caseSensitive: true, options: { origin: false } },
          {
            options: {
              origin: origins,
              credentials: true,
              methods: ['GET', 'PUT'],
              allowedHeaders: ['Content-Type', 'X-Api-Key'],
              exposedHeaders: 'X-Request-Id',
              maxAge: 600,
            },
          },
        ]
        """,
    )
    nothing = PolicyRules(
        allow_origins=(),
        allow_origin_patterns=(),
        allow_methods=("GET", "HEAD", "POST"),
        allow_headers=(),
        expose_headers=(),
        allow_credentials=False,
        max_age=None,
        allow_private_network=False,
    )
    public = PolicyRules(
        allow_origins=("*",),
        allow_origin_patterns=(),
        allow_methods=("GET", "PUT"),
        allow_headers=("*",),
        expose_headers=(),
        allow_credentials=False,
        max_age=None,
        allow_private_network=False,
    )
    assert node_options.read_express(module) == CorsPolicy(
        allow_origins=("https://app.example",),
        allow_origin_patterns=(r"https://[a-z0-9-]+\.preview\.example",),
        allow_methods=("GET", "PUT"),
        allow_headers=("content-type", "x-api-key"),
        expose_headers=("X-Request-Id",),
        allow_credentials=True,
        max_age=600,
        paths=(
            # Express mounts ignore case (and a trailing slash) unless told otherwise.
            PathRule(pattern="(?i:/public)(?:/.*)?", rules=public, max_age_set=True),
            PathRule(prefix="/internal", rules=nothing, max_age_set=True),
        ),
    )


@needs_node
def test_fastify_commonjs_module(tmp_path: Path) -> None:
    module = write(
        tmp_path,
        "cors.cjs",
        """
        module.exports = {
          origin: [/\\.example\\.com$/i, 'https://app.example', /null/],
          methods: 'GET, PUT',
          credentials: true,
          allowedHeaders: [],
          maxAge: 0,
          hook: 'preHandler',
        }
        """,
    )
    assert node_options.read_fastify(module) == CorsPolicy(
        allow_origins=("https://app.example", "null"),
        allow_origin_patterns=(r".*(?i:\.example\.com)", ".*null.*"),
        allow_methods=("GET", "PUT"),
        allow_headers=(),  # [] sends an empty list (null would reflect)
        allow_credentials=True,
        max_age=0,
    )


@needs_node
def test_koa_module(tmp_path: Path) -> None:
    module = write(
        tmp_path,
        "cors.mjs",
        """
        export default {
          credentials: true,
          allowMethods: ['GET', 'DELETE'],
          allowHeaders: [],
          exposeHeaders: ['X-Request-Id', 'X-Total-Count'],
          maxAge: 0,
          privateNetworkAccess: true,
        }
        """,
    )
    assert node_options.read_koa(module) == CorsPolicy(
        allow_origins=("*",),  # '*' with credentials reflects the request's origin
        allow_methods=("GET", "DELETE"),
        allow_headers=("*",),  # an empty list reflects the requested headers
        expose_headers=("X-Request-Id", "X-Total-Count"),
        allow_credentials=True,
        max_age=None,  # the number 0 sends nothing
        allow_private_network=True,
    )
    with_regex = write(tmp_path, "regex.mjs", "export default { origin: /app/ }")
    with pytest.raises(ValueError, match=r"^origin: the RegExp /app/: @koa/cors takes one origin"):
        node_options.read_koa(with_regex)


@needs_node
def test_hono_module(tmp_path: Path) -> None:
    module = write(
        tmp_path,
        "cors.js",  # a .js file outside any "type": "module" package: CommonJS
        """
        const origins = ['https://app.example', 'http://localhost:3000']
        module.exports = { origin: origins, credentials: true, allowMethods: ['PUT'], maxAge: 0 }
        """,
    )
    assert node_options.read_hono(module) == CorsPolicy(
        allow_origins=("https://app.example", "http://localhost:3000"),
        allow_methods=("PUT",),
        allow_headers=("*",),  # the default [] reflects the requested headers
        allow_credentials=True,
        max_age=0,
    )
    with_regex = write(
        tmp_path, "regex.mjs", "export default { origin: ['https://a.example', /b/] }"
    )
    with pytest.raises(ValueError, match=r"^origin\[1\]: the RegExp /b/: hono compares origins"):
        node_options.read_hono(with_regex)


@needs_node
def test_a_key_set_to_undefined_is_not_a_key_left_out(tmp_path: Path) -> None:
    """``cors({origin: process.env.UNSET})`` turns CORS off: ``Object.assign`` copies the
    ``undefined`` over the default ``'*'``."""
    unset = write(tmp_path, "unset.mjs", "export default { origin: undefined, maxAge: NaN }")
    assert node_options.load_options(unset) == {
        "origin": {"undefined": True},
        "maxAge": {"number": "NaN"},
    }
    assert node_options.read_express(unset).allow_origins == ()
    assert node_options.read_koa(unset).allow_origins == ("*",)  # `origin || '*'`
    assert node_options.read_koa(unset).max_age is None  # NaN is falsy
    with pytest.raises(ValueError, match=r"^origin: undefined: @fastify/cors fails every request"):
        node_options.read_fastify(unset)


def test_json_file_is_read_without_node(tmp_path: Path) -> None:
    options = {"origin": [{"regex": "^https://(www\\.)?app\\.example$", "flags": ""}]}
    path = write(tmp_path, "cors.json", json.dumps(options))
    assert node_options.read_express(path).allow_origin_patterns == (
        r"https://(www\.)?app\.example",
    )


# -- refusals -------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"nope\.mjs: no such file"):
        node_options.read_express(tmp_path / "nope.mjs")


def test_node_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = write(tmp_path, "cors.mjs", "export default {}")
    monkeypatch.setattr("shutil.which", lambda _name: None)
    with pytest.raises(ValueError, match=r"cors\.mjs: reading a JavaScript module needs `node`"):
        node_options.read_koa(module)


@needs_node
def test_function_origin(tmp_path: Path) -> None:
    module = write(
        tmp_path, "cors.mjs", "export default { origin: (origin, cb) => cb(null, true) }"
    )
    with pytest.raises(
        ValueError,
        match=r"^origin: a function \(origin\) — the policy cannot be read from code; "
        "write a policy file$",
    ):
        node_options.read_express(module)


@needs_node
def test_module_that_throws(tmp_path: Path) -> None:
    module = write(tmp_path, "cors.mjs", "throw new Error('no CORS_ORIGIN in the environment')")
    with pytest.raises(ValueError, match="failed to load") as raised:
        node_options.read_fastify(module)
    assert "cors.mjs" in str(raised.value)
    assert "no CORS_ORIGIN in the environment" in str(raised.value)


@needs_node
def test_module_without_default_export(tmp_path: Path) -> None:
    module = write(tmp_path, "cors.mjs", "export const corsOptions = { origin: '*' }")
    with pytest.raises(ValueError, match=r"no default export \(it exports corsOptions\)"):
        node_options.read_hono(module)


@pytest.mark.parametrize(
    ("reader", "options", "message"),
    [
        (
            node_options.read_express,
            {"allowHeaders": ["x-a"]},
            "allowHeaders: not an option of cors",
        ),
        (
            node_options.read_express,
            {"origin": {"regex": "app", "flags": "g"}},
            "origin: the RegExp /app/g: flag g: only the i flag",
        ),
        (
            node_options.read_express,
            {"origin": ["https://app.example/"]},
            r"origin\[0\]: 'https://app.example/' matches no request \(a browser sends "
            "'https://app.example'\\)",
        ),
        (
            node_options.read_express,
            {"origin": ["*", "https://app.example"]},
            r"origin\[0\]: '\*' matches no request: cors compares it exactly",
        ),
        (
            node_options.read_express,
            {"origin": True, "credentials": True, "methods": "*"},
            "methods: '\\*' with credentials",
        ),
        (
            node_options.read_express,
            {"allowedHeaders": "*"},
            "allowedHeaders: '\\*': a browser reads it as any request header but Authorization",
        ),
        (
            node_options.read_express,
            {"maxAge": -1},
            "maxAge: sends Access-Control-Max-Age: '-1', not a number of seconds",
        ),
        (
            node_options.read_express,
            {"preflightContinue": True},
            "preflightContinue: true: the app's own OPTIONS handling",
        ),
        (
            node_options.read_express,
            {"methods": "GET PUT"},
            "methods: 'GET PUT' is not a comma-separated list of methods",
        ),
        (
            node_options.read_express,
            [{"options": {}}, {"path": "/api", "options": {}}],
            r"scopes\[2\]: never reached",
        ),
        (
            node_options.read_express,
            [{"path": "/users/:id", "options": {}}],
            r"scopes\[1\]\.path: '/users/:id': only a literal path prefix",
        ),
        (
            node_options.read_fastify,
            {"origin": "https://app.example", "preflight": False},
            "preflight: not true",
        ),
        (
            node_options.read_fastify,
            {"hook": "preSerialization"},
            "hook: 'preSerialization'",
        ),
        (
            node_options.read_fastify,
            {"delegator": {"function": "delegate"}},
            "delegator: an options delegator — the policy cannot be read from code",
        ),
        (
            node_options.read_koa,
            {"origin": ["https://app.example"]},
            "origin: .*: @koa/cors takes one origin string",
        ),
        (
            node_options.read_koa,
            {"credentials": {"function": "credentials"}},
            "credentials: a function",
        ),
        (
            node_options.read_koa,
            {"credentials": True, "exposeHeaders": "*"},
            "exposeHeaders: '\\*' with credentials",
        ),
        (
            node_options.read_koa,
            {"allowMethods": []},
            "allowMethods: none: no Access-Control-Allow-Methods is sent",
        ),
        (
            node_options.read_express,
            {"origin": "https://app.example", "methods": ""},
            "methods: none",
        ),
        (
            node_options.read_hono,
            {"allowMethods": "GET,PUT"},
            "allowMethods: a string: hono takes an array",
        ),
        (
            node_options.read_hono,
            {"exposeHeaders": "x-request-id"},
            "exposeHeaders: 'x-request-id': hono takes an array",
        ),
    ],
)
def test_refused(
    reader: Callable[[node_options.Source], CorsPolicy], options: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{message}"):
        reader(options)


# -- regular expressions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "flags", "pattern"),
    [
        (r"^https:\/\/app\.example$", "", r"https://app\.example"),
        (r"\.example$", "", r".*\.example"),
        (r"^https://", "", r"https://.*"),
        (r"^https://a\.example|b$", "", r".*(?:^https://a\.example|b$).*"),
        (r"APP", "i", r".*(?i:APP).*"),
        (r"x{,3}[]", "", r".*x\{,3\}(?!).*"),
        (r"[^]", "", r".*[\s\S].*"),
        (r"\A\Z", "", r".*AZ.*"),  # identity escapes (Python's \A and \Z are anchors)
        (r"(?<host>[a-z]+)\.example", "", r".*(?P<host>[a-z]+)\.example.*"),
    ],
)
def test_javascript_regex_translation(source: str, flags: str, pattern: str) -> None:
    translated, _ = node_options.python_pattern(node_options.JsRegExp(source, flags), "origin")
    assert translated == pattern


@needs_node
@pytest.mark.parametrize(
    "source",
    [
        r"^https:\/\/app\.example$",
        r"\.example$",
        r"^https://a\.example|b$",
        r"x{,3}",
        r"[+--][^]",
        r"\A\Z\cJ\u0041\x41\0",
        r"(?<host>[a-z]+)\.example",
        r"l{2}",
        r"[\w.-]+\.(?:com|org)",
        r"(?=.*\.example)https?",
    ],
)
def test_regex_translation_agrees_with_javascript(source: str, tmp_path: Path) -> None:
    """The translated pattern matches (in full) exactly the origins ``RegExp.test`` accepts."""
    samples = [
        "https://app.example",
        "http://app.example",
        "https://x.app.example",
        "https://a.example",
        "http://b",
        "null",
        "https://x{,3}y",
        "https://AZ\nJAA\x00",
        "https://shop.example.com",
        "https://+-.example",
        "http://localhost:3000",
        "https://-x.org",
    ]
    module = write(
        tmp_path,
        "regex.mjs",
        f"const r = new RegExp({json.dumps(source)})\n"
        f"export default {json.dumps(samples)}.map((s) => r.test(s))\n",
    )
    expected = node_options.load_options(module)
    pattern, _ = node_options.python_pattern(node_options.JsRegExp(source), "origin")
    got = [re.fullmatch(pattern, sample, re.DOTALL) is not None for sample in samples]
    assert got == expected


# -- the live packages against the policies read from their options ------------------------------

LIVE: list[tuple[str, Any]] = [
    ("express-cors", {}),
    ("express-cors", {"origin": False}),
    ("express-cors", {"origin": True, "credentials": True, "allowedHeaders": [], "maxAge": 0}),
    (
        "express-cors",
        {
            "origin": ["https://app.example", {"regex": r"preview\.example"}, {"regex": "ul"}],
            "methods": "PUT",
            "exposedHeaders": ["X-Request-Id"],
            "credentials": True,
        },
    ),
    (
        "express-cors",
        {"origin": "*", "credentials": True, "methods": "*", "exposedHeaders": "*"},
    ),
    ("express-cors", {"origin": "https://app.example", "allowedHeaders": "*, authorization"}),
    (
        "express-cors",
        [
            {"path": "/public", "options": {"origin": "*", "maxAge": 5}, "caseSensitive": True},
            {"options": {"origin": ["https://app.example"], "headers": "x-api-key"}},
        ],
    ),
    ("fastify-cors", {}),
    ("fastify-cors", {"origin": False}),
    ("fastify-cors", {"origin": "https://app.example", "methods": [], "allowedHeaders": ""}),
    ("fastify-cors", {"origin": ["*", "https://app.example"], "credentials": True}),
    (
        "fastify-cors",
        {
            "origin": {"regex": r"app\.example$"},
            "credentials": "yes",
            "allowedHeaders": [],
            "methods": ["PUT", "DELETE"],
            "maxAge": 0,
        },
    ),
    (
        "fastify-cors",
        {"origin": True, "exposedHeaders": "x-request-id", "allowedHeaders": "x-api-key"},
    ),
    ("koa-cors", {}),
    (
        "koa-cors",
        {
            "credentials": True,
            "exposeHeaders": ["x-request-id"],
            "allowHeaders": "x-api-key,authorization",
        },
    ),
    (
        "koa-cors",
        {
            "origin": "https://app.example",
            "allowHeaders": [],
            "maxAge": 0,
            "allowMethods": ["PUT"],
            "credentials": True,
        },
    ),
    ("koa-cors", {"maxAge": "0", "exposeHeaders": ["x-request-id"], "allowMethods": "PUT"}),
    ("hono", {}),
    (
        "hono",
        {
            "origin": ["https://app.example", "null"],
            "credentials": True,
            "allowMethods": ["PUT"],
            "maxAge": 0,
            "allowHeaders": ["x-api-key"],
        },
    ),
    ("hono", {"origin": "*", "credentials": True, "exposeHeaders": ["*"]}),
    ("hono", {"origin": "https://app.example", "allowMethods": ["GET"], "exposeHeaders": []}),
]


@pytest.fixture(scope="module")
def node_servers() -> Iterator[None]:
    yield
    node.shutdown()


def harness_document(module: ModuleType, options: Any) -> dict[str, Any]:
    """The Node harness's document for ``options`` as they are: the adapter's document for a
    policy without ``[[paths]]``, its options replaced (express scopes spelled out)."""
    if isinstance(options, list):
        return {"scopes": [{"prefix": s.get("path"), "options": s["options"]} for s in options]}
    document: dict[str, Any] = copy.deepcopy(
        module.configuration(
            CorsPolicy(allow_origins=("https://app.example",), allow_headers=("x-api-key",))
        )
    )
    if "options" in document:
        document["options"] = options
    else:
        [scope] = document["scopes"]
        scope["options"] = options
    return document


@needs_node
@pytest.mark.usefixtures("node_servers")
@pytest.mark.parametrize(
    ("name", "options"), LIVE, ids=[f"{n}-{i}" for i, (n, _) in enumerate(LIVE)]
)
def test_live_package_agrees_with_the_policy_read(name: str, options: Any) -> None:
    """Configure the package with ``options`` as they are, and judge a browser's verdicts on
    its answers against the policy read from the same options (the spec profile)."""
    module, reader = READERS[name]
    policy = reader(options)
    target = node.build_target(name, harness_document(module, options))
    routes = routed_methods(module)

    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(cors_requests(policy=policy, base_url=target.base_url, paths=DEFAULT_PATHS))
    def agree(request: BrowserRequest) -> None:
        if not routes(_wire_method(request)):
            return
        if not _parser_safe(request):
            return
        try:
            exchange = run_fetch(target, request)
        except NotApplicable:
            return
        if not compare.is_cross_origin(exchange) or exchange.result is None:
            return
        intended = intended_verdict(policy, request)
        divergence = compare.decide(intended, exchange.result, exchange, SPEC)
        assert divergence is None, f"{policy}\n{divergence.evidence.summary}"
        if exchange.result.verdict.allowed and exchange.result.verdict.preflighted:
            want = DEFAULT_MAX_AGE if intended.max_age is None else intended.max_age
            assert exchange.result.cached_max_age == want

    agree()


def test_readers_take_what_the_adapters_write() -> None:
    """The adapters' ``{"options": ...}`` wrapper is read through."""
    policy = CorsPolicy(
        allow_origins=("https://app.example",), allow_headers=("x-api-key",), max_age=600
    )
    for module, reader in READERS.values():
        assert reader(module.configuration(policy)).allow_origins == ("https://app.example",)
