"""``reference.explain``: the JSON front door of the model.

Its contract (module and function docstrings): a document that does not follow the schema raises
:class:`ExplainInputError` whose message names the offending field; a well-formed document yields
the verdict as JSON; :func:`explain_text` renders that JSON step by step. The CORS outcomes
asserted here are the digest's (``fetch-cors-digest.md``), section numbers cited per test.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from reference import anchors
from reference.explain import ExplainInputError, explain_document, explain_text

Json = dict[str, Any]

PAGE = "https://app.example"
API = "https://api.example/data"
ACAO_ANY = ["Access-Control-Allow-Origin", "*"]


def _simple(**request: Any) -> Json:
    """A simple cross-origin GET answered with ``ACAO: *`` (digest §7: passes the CORS check)."""
    return {
        "request": {"origin": PAGE, "url": API, **request},
        "response": {"status": 200, "headers": [ACAO_ANY]},
    }


def _raises(doc: Any, **kwargs: Any) -> str:
    with pytest.raises(ExplainInputError) as info:
        explain_document(doc, **kwargs)
    return str(info.value)


# -- input validation: every message names the field ----------------------------------------


def _with(path: tuple[str | int, ...], value: Any) -> Json:
    """The simple document with the value at ``path`` replaced."""
    doc = _simple()
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        pytest.param([], "the document must be a JSON object", id="document-not-object"),
        pytest.param(
            {**_simple(), "respons": {}},
            "unknown top-level field(s) ['respons']",
            id="unknown-top-level",
        ),
        pytest.param(
            {"response": {"status": 200}}, "request: expected an object", id="request-missing"
        ),
        pytest.param(
            _with(("request", "methd"), "PUT"),
            "request: unknown field(s) ['methd']",
            id="request-unknown-field",
        ),
        pytest.param(
            {"request": {"url": API}, "response": {"status": 200}},
            "request.origin: required string",
            id="origin-missing",
        ),
        pytest.param(
            _with(("request", "url"), 42), "request.url: required string", id="url-not-string"
        ),
        pytest.param(
            _with(("request", "origin"), "app.example"),
            "request.origin: not an absolute URL",
            id="origin-not-a-url",
        ),
        pytest.param(
            _with(("request", "url"), "https://api.example:99999/"),
            "request.url: port out of range",
            id="url-port-out-of-range",
        ),
        pytest.param(
            _with(("request", "url"), "https://%ff.example/"),
            "request.url: invalid domain",
            id="url-host-not-utf-8",
        ),
        pytest.param(
            _with(("request", "origin"), "https://%ff.example"),
            "request.origin: invalid domain",
            id="origin-host-not-utf-8",
        ),
        pytest.param(
            _with(("request", "body"), 1),
            "request.body: expected a string or null",
            id="body-not-string",
        ),
        pytest.param(
            _with(("request", "body"), "\u20ac"),
            "request.body: '\u20ac' has a character above U+00FF",
            id="body-not-latin-1",
        ),
        pytest.param(
            _with(("request", "method"), ["GET"]),
            "request.method: expected a string",
            id="method-not-string",
        ),
        pytest.param(
            _with(("request", "use_cors_preflight"), 1),
            "request.use_cors_preflight: expected true or false",
            id="use-cors-preflight-not-bool",
        ),
        pytest.param(
            _with(("request", "unsafe_request"), "yes"),
            "request.unsafe_request: expected true or false",
            id="unsafe-request-not-bool",
        ),
        pytest.param(
            _with(("request", "private_network"), None),
            "request.private_network: expected true or false",
            id="private-network-not-bool",
        ),
        pytest.param(
            _with(("request", "headers"), {"X-A": "1"}),
            "request.headers: expected a list of [name, value] pairs",
            id="headers-not-list",
        ),
        pytest.param(
            _with(("request", "headers"), [["X-A", "1"], ["X-B"]]),
            "request.headers[1]: expected a [name, value] pair, got ['X-B']",
            id="header-not-pair",
        ),
        pytest.param(
            _with(("request", "headers"), [[b"X-A", "1"]]),
            "request.headers[0][0]: expected a string, got bytes",
            id="header-name-not-string",
        ),
        pytest.param(
            _with(("request", "headers"), [["X-A", 1]]),
            "request.headers[0][1]: expected a string, got int",
            id="header-value-not-string",
        ),
        pytest.param(
            _with(("request", "headers"), [["X-A", "caf\u00e9 \u2615"]]),
            "request.headers[0][1]: 'caf\u00e9 \u2615' has a character above U+00FF",
            id="header-value-not-latin-1",
        ),
        pytest.param(
            _with(("request", "cookie"), 7),
            "request.cookie: expected a string, got int",
            id="cookie-not-string",
        ),
        pytest.param(
            _with(("request", "credentials"), "yes"),
            "request.credentials: 'yes' is not one of omit, same-origin, include",
            id="credentials-enum",
        ),
        pytest.param(
            _with(("request", "mode"), "navigate"),
            "request.mode: 'navigate' is not one of cors, no-cors, same-origin",
            id="mode-enum",
        ),
        pytest.param(
            _with(("request", "redirect"), "follow-all"),
            "request.redirect: 'follow-all' is not one of follow, error, manual",
            id="redirect-enum",
        ),
        pytest.param(
            _with(("request", "headers_api"), "jquery"),
            "request.headers_api: 'jquery' is not one of fetch, xhr",
            id="headers-api-enum",
        ),
        pytest.param(
            _with(("response",), "200 OK"),
            "document.response: expected an object with status and headers",
            id="response-not-object",
        ),
        pytest.param(
            _with(("response", "status"), "200"),
            "document.response.status: expected an HTTP status code, got '200'",
            id="status-string",
        ),
        pytest.param(
            _with(("response", "status"), True),
            "document.response.status: expected an HTTP status code, got True",
            id="status-bool",
        ),
        pytest.param(
            _with(("response", "status"), 99),
            "document.response.status: expected an HTTP status code, got 99",
            id="status-below-100",
        ),
        pytest.param(
            _with(("response", "status"), 1000),
            "document.response.status: expected an HTTP status code, got 1000",
            id="status-above-999",
        ),
        pytest.param(
            _with(("response", "body"), ""),
            "document.response: unknown field(s) ['body']",
            id="response-unknown-field",
        ),
        pytest.param(
            _with(("response", "headers"), [["Access-Control-Allow-Origin"]]),
            "document.response.headers[0]: expected a [name, value] pair",
            id="response-header-not-pair",
        ),
        pytest.param(
            {**_simple(method="PUT"), "preflight": {"status": None}},
            "document.preflight.status: expected an HTTP status code, got None",
            id="preflight-status",
        ),
        pytest.param(
            {**_simple(), "hops": [{"response": {"status": 200}}]},
            "document: give either hops or preflight/response, not both",
            id="hops-and-response",
        ),
        pytest.param(
            {"request": _simple()["request"], "hops": []},
            "document.hops: expected a non-empty list",
            id="hops-empty",
        ),
        pytest.param(
            {"request": _simple()["request"], "hops": {"response": {"status": 200}}},
            "document.hops: expected a non-empty list",
            id="hops-not-list",
        ),
        pytest.param(
            {"request": _simple()["request"], "hops": ["302"]},
            "document.hops[0]: expected an object",
            id="hop-not-object",
        ),
        pytest.param(
            {
                "request": _simple()["request"],
                "hops": [{"response": {"status": 302}}, {"response": {"status": 2000}}],
            },
            "document.hops[1].response.status: expected an HTTP status code, got 2000",
            id="hop-nested-status",
        ),
        pytest.param(
            {**_simple(), "profile": "netscape"},
            "profile: unknown browser profile 'netscape' (known: spec, chromium, firefox, webkit)",
            id="profile-unknown",
        ),
        pytest.param({"fetches": []}, "fetches: expected a non-empty list", id="fetches-empty"),
        pytest.param(
            {"fetches": "twice"}, "fetches: expected a non-empty list", id="fetches-not-list"
        ),
        pytest.param(
            {"fetches": [_simple(), None]},
            "fetches[1]: expected an object",
            id="fetch-not-object",
        ),
        pytest.param(
            {"fetches": [{**_simple(), "at": "noon"}]},
            "fetches[0].at: expected seconds as a number",
            id="fetch-at-string",
        ),
        pytest.param(
            {"fetches": [{**_simple(), "at": False}]},
            "fetches[0].at: expected seconds as a number",
            id="fetch-at-bool",
        ),
        pytest.param(
            {"fetches": [{"response": {"status": 200}}]},
            "fetches[0].request: expected an object",
            id="fetch-request-missing",
        ),
        pytest.param(
            {"fetches": [_simple(), {**_simple(), "response": {"status": 0}}]},
            "fetches[1].response.status: expected an HTTP status code, got 0",
            id="fetch-nested-status",
        ),
    ],
)
def test_a_malformed_document_is_rejected_naming_the_field(doc: Any, message: str) -> None:
    assert _raises(doc).startswith(message)


def test_the_profile_argument_overrides_the_document() -> None:
    assert explain_document({**_simple(), "profile": "firefox"})["profile"] == "firefox"
    assert explain_document({**_simple(), "profile": "firefox"}, profile="webkit")["profile"] == (
        "webkit"
    )
    assert explain_document(_simple())["profile"] == "spec"


def test_an_unknown_profile_argument_is_an_input_error() -> None:
    assert _raises(_simple(), profile="lynx").startswith("profile: unknown browser profile 'lynx'")


def test_a_comment_is_allowed_at_the_top_level() -> None:
    assert explain_document({**_simple(), "$comment": "why"})["verdict"] == "allowed"


def test_the_input_is_not_modified() -> None:
    doc = {**_simple(method="PUT"), "preflight": {"status": 204, "headers": [ACAO_ANY]}}
    doc["preflight"]["headers"].append(["Access-Control-Allow-Methods", "PUT"])
    before = copy.deepcopy(doc)
    explain_document(doc)
    assert doc == before


# -- responses given versus requests the browser makes ----------------------------------------


def test_a_missing_response_names_the_request_the_browser_sends() -> None:
    doc = {"request": {"origin": PAGE, "url": API}}
    assert _raises(doc) == (
        f"document: the browser sends an actual request (GET {API}) but no response was "
        "given for it"
    )


def test_a_missing_actual_response_after_the_preflight() -> None:
    # Digest §4.9: PUT is not safelisted, so a preflight comes first, then the actual request.
    doc = {
        "request": {"origin": PAGE, "url": API, "method": "PUT"},
        "preflight": {
            "status": 204,
            "headers": [ACAO_ANY, ["Access-Control-Allow-Methods", "PUT"]],
        },
    }
    assert _raises(doc) == (
        f"document: the browser sends an actual request (PUT {API}) but no response was "
        "given for it"
    )


def test_a_response_where_the_browser_sends_a_preflight() -> None:
    # Digest §4.9: a non-safelisted method needs a preflight, so a plain response does not fit.
    doc = _simple(method="DELETE")
    assert _raises(doc) == (
        f"document: the browser sends a preflight to {API} here, but the next response given "
        "is a response"
    )


def test_a_preflight_where_the_browser_sends_none_explains_why_not() -> None:
    # Digest §4.3/§4.9: GET with only a safelisted Content-Type is a simple request.
    doc = {
        **_simple(headers=[["Content-Type", "text/plain;charset=UTF-8"]]),
        "preflight": {"status": 204, "headers": [ACAO_ANY]},
    }
    assert _raises(doc) == (
        f"document: the browser sends the actual request to {API} here, but the next response "
        "given is a preflight (no preflight: GET with these headers is a CORS-safelisted request)"
    )


def test_responses_left_over_after_a_block_are_an_input_error() -> None:
    # Digest §8: a preflight without ACAO fails, so the actual request is never sent.
    doc = {
        "request": {"origin": PAGE, "url": API, "method": "PUT"},
        "preflight": {"status": 204, "headers": []},
        "response": {"status": 200, "headers": [ACAO_ANY]},
    }
    assert _raises(doc) == (
        "document: 1 response(s) left unused: the browser was done (blocked) before asking for them"
    )


def test_responses_left_over_after_success_are_an_input_error() -> None:
    # Digest §11.1: a 200 is final; a second hop is never requested.
    doc = {
        "request": {"origin": PAGE, "url": API},
        "hops": [
            {"response": {"status": 200, "headers": [ACAO_ANY]}},
            {"response": {"status": 200, "headers": [ACAO_ANY]}},
        ],
    }
    assert _raises(doc) == (
        "document: 1 response(s) left unused: the browser was done (allowed) before asking for them"
    )


def test_mismatches_inside_fetches_name_the_fetch() -> None:
    doc = {"fetches": [_simple(), {"request": {"origin": PAGE, "url": API}}]}
    assert _raises(doc).startswith("fetches[1]: the browser sends an actual request")


# -- well-formed documents: the verdict as JSON ----------------------------------------------


def test_a_page_url_as_origin_is_reduced_to_its_origin() -> None:
    # Digest §3.2: the serialization has no path and drops the default port.
    out = explain_document(_simple(origin="https://app.example:443/page?x"))
    assert out["requests"][0]["headers"][-1] == ["Origin", PAGE]


@pytest.mark.parametrize("origin", ["null", "data:text/html,<p>hi"])
def test_an_opaque_page_sends_origin_null(origin: str) -> None:
    # Digest §3.3: an opaque origin serializes as `null`; §7: ACAO `null` then matches byte for
    # byte.
    doc = _simple(origin=origin)
    doc["response"]["headers"] = [["Access-Control-Allow-Origin", "null"]]
    out = explain_document(doc)
    assert out["requests"][0]["headers"][-1] == ["Origin", "null"]
    assert out["verdict"] == "allowed"


def test_header_values_are_latin_1_code_points_both_ways() -> None:
    # Module docstring: code points 0-255 stand for bytes. Digest §4.3: bytes >= 0x80 are not
    # CORS-unsafe bytes, but X-Name is no safelisted name, so it is preflighted as is.
    doc = {
        **_simple(headers=[["X-Name", "Z\u00fcrich"]]),
        "preflight": {
            "status": 204,
            "headers": [ACAO_ANY, ["Access-Control-Allow-Headers", "x-name"]],
        },
    }
    out = explain_document(doc)
    assert out["verdict"] == "allowed"
    assert ["X-Name", "Z\u00fcrich"] in out["requests"][1]["headers"]


def test_a_blocked_verdict_carries_reason_rule_and_failed_parameter() -> None:
    # Digest §12 table: ACAO `*` never matches a credentialed request.
    doc = _simple(credentials="include")
    out = explain_document(doc)
    assert out["verdict"] == "blocked"
    assert out["reason"] == "WILDCARD_ORIGIN_NOT_ALLOWED"
    assert out["failed_parameter"] == "*"
    assert out["spec_ref"] == anchors.CORS_CHECK
    assert (out["status"], out["response_type"], out["visible_headers"]) == (None, None, [])


def test_a_block_without_a_parameter_reports_none() -> None:
    out = explain_document({**_simple(), "response": {"status": 200, "headers": []}})
    assert out["reason"] == "MISSING_ALLOW_ORIGIN_HEADER"
    assert out["failed_parameter"] is None


def test_hops_model_a_redirect_chain_and_its_taint() -> None:
    # Digest §11.2 table, row "R `*` -> R2 `*` or `null`": success, the second hop sends `null`.
    doc = {
        "request": {"origin": PAGE, "url": API},
        "hops": [
            {
                "response": {
                    "status": 302,
                    "headers": [ACAO_ANY, ["Location", "https://cdn.example/data"]],
                }
            },
            {"response": {"status": 200, "headers": [["Access-Control-Allow-Origin", "null"]]}},
        ],
    }
    out = explain_document(doc)
    assert out["verdict"] == "allowed"
    assert [w["url"] for w in out["requests"]] == [API, "https://cdn.example/data"]
    assert [dict(w["headers"])["Origin"] for w in out["requests"]] == [PAGE, "null"]


def _put_fetch(at: float, *, max_age: str | None = None) -> Json:
    headers = [ACAO_ANY, ["Access-Control-Allow-Methods", "PUT"]]
    if max_age is not None:
        headers.append(["Access-Control-Max-Age", max_age])
    return {
        "at": at,
        "request": {"origin": PAGE, "url": API, "method": "PUT"},
        "preflight": {"status": 204, "headers": headers},
        "response": {"status": 200, "headers": [ACAO_ANY]},
    }


def test_fetches_share_one_preflight_cache() -> None:
    # Digest §9: a cached method entry spares the second preflight until it expires.
    second = _put_fetch(30)
    del second["preflight"]
    out = explain_document({"fetches": [_put_fetch(0, max_age="60"), second, _put_fetch(61)]})
    assert [f["preflighted"] for f in out["fetches"]] == [True, False, True]
    assert [f["cached_max_age"] for f in out["fetches"]] == [60, None, 5]
    # The top level is the last fetch's result, with every fetch's result alongside.
    assert {k: v for k, v in out.items() if k != "fetches"} == out["fetches"][-1]
    assert out["cache"] == [
        {
            "origin": PAGE,
            "url": API,
            "credentials": False,
            "method": "PUT",
            "header": None,
            "expires_at": 66.0,
        }
    ]


# -- explain_text ----------------------------------------------------------------------------


def _credentialed_put() -> Json:
    allow = [
        ["Access-Control-Allow-Origin", PAGE],
        ["Access-Control-Allow-Credentials", "true"],
    ]
    return {
        "request": {
            "origin": PAGE,
            "url": API,
            "method": "PUT",
            "credentials": "include",
            "headers": [["X-Trace", "1"]],
            "cookie": "sid=1",
        },
        "preflight": {
            "status": 204,
            "headers": [
                *allow,
                ["Access-Control-Allow-Methods", "PUT"],
                ["Access-Control-Allow-Headers", "x-trace"],
                ["Access-Control-Max-Age", "60"],
            ],
        },
        "response": {
            "status": 201,
            "headers": [*allow, ["Content-Type", "text/plain"], ["X-Secret", "1"]],
        },
    }


def test_explain_text_renders_an_allowed_preflighted_fetch() -> None:
    out = explain_document(_credentialed_put())
    text = explain_text(out)
    lines = text.splitlines()
    assert text.endswith("\n")
    assert lines[0] == "Profile: spec"
    # Digest §6: the preflight never carries credentials; the actual request does (§12).
    assert lines[1:7] == [
        "The browser sends a preflight:",
        f"  OPTIONS {API}",
        "  Accept: */*",
        "  Access-Control-Request-Method: PUT",
        "  Access-Control-Request-Headers: x-trace",
        f"  Origin: {PAGE}",
    ]
    assert lines[7:13] == [
        "The browser sends a request (with credentials):",
        f"  PUT {API}",
        "  X-Trace: 1",
        "  Accept: */*",
        f"  Origin: {PAGE}",
        "  Cookie: sid=1",
    ]
    assert lines[13] == "Steps:"
    steps = out["steps"]
    for n, step in enumerate(steps, 1):
        assert f"  {n}. {step['text']}\n     [{step['spec_ref']}]" in text
    # Digest §10.2: Content-Type is a safelisted response header; X-Secret is not exposed.
    assert (
        "Verdict: ALLOWED. Script sees a cors response, status 201, readable headers: "
        "content-type" in lines
    )
    # Digest §9.1: one entry for the method and one for the header, credentialed, max-age 60.
    assert lines[-3:] == [
        "Preflight cache now holds:",
        f"  {PAGE} {API} method PUT (credentialed) until t=60s",
        f"  {PAGE} {API} header x-trace (credentialed) until t=60s",
    ]


def test_explain_text_renders_a_block_with_its_rule() -> None:
    out = explain_document(_simple(credentials="include"))
    lines = explain_text(out).splitlines()
    assert lines[-2:] == [
        "Verdict: BLOCKED (WILDCARD_ORIGIN_NOT_ALLOWED). fetch() rejects with a TypeError; "
        "script cannot tell why.",
        f"  Rule: {anchors.CORS_CHECK}",
    ]
    assert "Preflight cache now holds:" not in lines


def test_explain_text_says_none_when_nothing_is_readable() -> None:
    # Digest §13: a no-cors response is opaque: status 0, no headers.
    out = explain_document(_simple(mode="no-cors"))
    assert explain_text(out).splitlines()[-1] == (
        "Verdict: ALLOWED. Script sees a opaque response, status 0, readable headers: (none)"
    )


def test_explain_text_numbers_each_fetch() -> None:
    second = _put_fetch(1.5)
    del second["preflight"]
    out = explain_document({"fetches": [_put_fetch(0.5), second]})
    text = explain_text(out)
    assert text.startswith("== fetch 1 ==\nProfile: spec\n")
    assert "\n== fetch 2 ==\nProfile: spec\n" in text
    first, rest = text.split("== fetch 2 ==")
    assert "The browser sends a preflight:" in first
    assert "The browser sends a preflight:" not in rest  # served from the cache
    # Not credentialed, default 5 s max-age from t=0.5 (digest §9.2).
    assert f"  {PAGE} {API} method PUT until t=5.5s" in rest
