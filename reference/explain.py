"""The model's public face: a JSON document in, the browser's verdict out.

Input schema (README "explain"): ``{"profile"?, "request", "preflight"?, "response"?}`` for one
URL, ``"hops": [{"preflight"?, "response"}]`` for a redirect chain, or ``"fetches": [{"at",
"request", "preflight"?, "response"?}]`` for a sequence that shares one preflight cache. Header
values are strings whose code points 0-255 stand for bytes (Latin-1).

Pure: the caller reads stdin and prints; this module only converts values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reference.browser import FetchResult, MissingResponse, browser_verdict
from reference.cache import EMPTY_CACHE, PreflightCache
from reference.headers import HeaderList
from reference.origins import OpaqueOrigin, OriginError, origin_of, parse_serialized_origin
from reference.profiles import SPEC, Profile, profile_named
from reference.request import (
    BrowserRequest,
    CredentialsMode,
    HeadersApi,
    RedirectMode,
    RequestMode,
)
from reference.verdict import Allowed, RawResponse, WireRequest

Json = dict[str, Any]


class ExplainInputError(ValueError):
    """The document does not follow the schema; the message names the field."""


_REQUEST_KEYS = frozenset(
    {
        "origin",
        "url",
        "method",
        "headers",
        "credentials",
        "mode",
        "redirect",
        "headers_api",
        "use_cors_preflight",
        "body",
        "cookie",
        "unsafe_request",
        "private_network",
    }
)


def _bytes(value: Any, where: str) -> bytes:
    if not isinstance(value, str):
        raise ExplainInputError(f"{where}: expected a string, got {type(value).__name__}")
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        raise ExplainInputError(
            f"{where}: {value!r} has a character above U+00FF; header bytes are written as "
            "code points 0-255"
        ) from None


def _headers(value: Any, where: str) -> HeaderList:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ExplainInputError(f"{where}: expected a list of [name, value] pairs")
    out = []
    for i, pair in enumerate(value):
        if not (isinstance(pair, list) and len(pair) == 2):
            raise ExplainInputError(f"{where}[{i}]: expected a [name, value] pair, got {pair!r}")
        out.append((_bytes(pair[0], f"{where}[{i}][0]"), _bytes(pair[1], f"{where}[{i}][1]")))
    return tuple(out)


def _enum(cls: Any, value: Any, default: Any, where: str) -> Any:
    if value is None:
        return default
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise ExplainInputError(f"{where}: {value!r} is not one of {allowed}") from None


def parse_request(doc: Any, where: str = "request") -> BrowserRequest:
    if not isinstance(doc, Mapping):
        raise ExplainInputError(f"{where}: expected an object")
    unknown = set(doc) - _REQUEST_KEYS
    if unknown:
        raise ExplainInputError(f"{where}: unknown field(s) {sorted(unknown)}")
    for key in ("origin", "url"):
        if not isinstance(doc.get(key), str):
            raise ExplainInputError(f"{where}.{key}: required string")
    origin_text = doc["origin"]
    origin = parse_serialized_origin(origin_text)
    if origin is None:
        try:
            origin = origin_of(origin_text)
        except OriginError as exc:
            raise ExplainInputError(f"{where}.origin: {exc}") from None
    if isinstance(origin, OpaqueOrigin):
        origin = OpaqueOrigin(label="page")
    body = doc.get("body")
    if body is not None and not isinstance(body, str):
        raise ExplainInputError(f"{where}.body: expected a string or null")
    method = doc.get("method", "GET")
    if not isinstance(method, str):
        raise ExplainInputError(f"{where}.method: expected a string")
    for flag in ("use_cors_preflight", "unsafe_request", "private_network"):
        if flag in doc and not isinstance(doc[flag], bool):
            raise ExplainInputError(f"{where}.{flag}: expected true or false")
    cookie = doc.get("cookie")
    try:
        return BrowserRequest(
            origin=origin,
            url=doc["url"],
            method=method,
            headers=_headers(doc.get("headers"), f"{where}.headers"),
            credentials=_enum(
                CredentialsMode,
                doc.get("credentials"),
                CredentialsMode.SAME_ORIGIN,
                f"{where}.credentials",
            ),
            mode=_enum(RequestMode, doc.get("mode"), RequestMode.CORS, f"{where}.mode"),
            redirect=_enum(
                RedirectMode, doc.get("redirect"), RedirectMode.FOLLOW, f"{where}.redirect"
            ),
            headers_api=_enum(
                HeadersApi, doc.get("headers_api"), HeadersApi.FETCH, f"{where}.headers_api"
            ),
            body=None if body is None else _bytes(body, f"{where}.body"),
            use_cors_preflight=doc.get("use_cors_preflight", False),
            unsafe_request=doc.get("unsafe_request", True),
            private_network=doc.get("private_network", False),
            cookie=None if cookie is None else _bytes(cookie, f"{where}.cookie"),
        )
    except OriginError as exc:
        raise ExplainInputError(f"{where}.url: {exc}") from None


def parse_response(doc: Any, where: str) -> RawResponse:
    if not isinstance(doc, Mapping):
        raise ExplainInputError(f"{where}: expected an object with status and headers")
    status = doc.get("status")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 999:
        raise ExplainInputError(f"{where}.status: expected an HTTP status code, got {status!r}")
    unknown = set(doc) - {"status", "headers"}
    if unknown:
        raise ExplainInputError(f"{where}: unknown field(s) {sorted(unknown)}")
    return RawResponse(status=status, headers=_headers(doc.get("headers"), f"{where}.headers"))


def _responses_of(doc: Mapping[str, Any], where: str) -> list[tuple[str, RawResponse]]:
    """The recorded responses, labelled by what the browser should be asking for."""
    if "hops" in doc:
        if "preflight" in doc or "response" in doc:
            raise ExplainInputError(f"{where}: give either hops or preflight/response, not both")
        hops = doc["hops"]
        if not isinstance(hops, list) or not hops:
            raise ExplainInputError(f"{where}.hops: expected a non-empty list")
        out = []
        for i, hop in enumerate(hops):
            if not isinstance(hop, Mapping):
                raise ExplainInputError(f"{where}.hops[{i}]: expected an object")
            out.extend(_responses_of(hop, f"{where}.hops[{i}]"))
        return out
    out = []
    if "preflight" in doc:
        out.append(("preflight", parse_response(doc["preflight"], f"{where}.preflight")))
    if "response" in doc:
        out.append(("response", parse_response(doc["response"], f"{where}.response")))
    return out


def _run(
    request: BrowserRequest,
    labelled: list[tuple[str, RawResponse]],
    *,
    profile: Profile,
    cache: PreflightCache,
    now: float,
    where: str,
) -> FetchResult:
    queue = list(labelled)

    def responder(wire: WireRequest) -> RawResponse:
        wanted = "preflight" if wire.is_preflight else "response"
        if not queue:
            raise MissingResponse(wire)
        label, response = queue.pop(0)
        if label != wanted:
            what = "a preflight" if wire.is_preflight else "the actual request"
            raise ExplainInputError(
                f"{where}: the browser sends {what} to {wire.url} here, "
                f"but the next response given is a {label}"
                + (
                    ""
                    if wire.is_preflight
                    else " (no preflight: " + _no_preflight_hint(request) + ")"
                )
            )
        return response

    try:
        result = browser_verdict(request, responder, profile=profile, cache=cache, now=now)
    except MissingResponse as exc:
        raise ExplainInputError(f"{where}: {exc}") from None
    if queue:
        raise ExplainInputError(
            f"{where}: {len(queue)} response(s) left unused: the browser was done "
            f"({'allowed' if result.verdict.allowed else 'blocked'}) before asking for them"
        )
    return result


def _no_preflight_hint(request: BrowserRequest) -> str:
    return f"{request.method} with these headers is a CORS-safelisted request"


def _wire_json(wire: WireRequest) -> Json:
    return {
        "preflight": wire.is_preflight,
        "method": wire.method.decode("latin-1"),
        "url": wire.url,
        "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in wire.headers],
        "credentials": wire.credentials,
    }


def result_json(result: FetchResult) -> Json:
    verdict = result.verdict
    out: Json = {
        "profile": verdict.profile,
        "verdict": "allowed" if verdict.allowed else "blocked",
        "reason": None,
        "spec_ref": None,
        "failed_parameter": None,
        "status": None,
        "response_type": None,
        "visible_headers": [],
        "preflighted": verdict.preflighted,
        "cached_max_age": result.cached_max_age,
        "requests": [_wire_json(w) for w in verdict.wire],
        "cache": [
            {
                "origin": e.serialized_origin.decode("latin-1"),
                "url": e.url,
                "credentials": e.credentials,
                "method": None if e.method is None else e.method.decode("latin-1"),
                "header": None if e.header_name is None else e.header_name.decode("latin-1"),
                "expires_at": e.expires_at,
            }
            for e in result.cache.entries
        ],
        "steps": [{"text": s.text, "spec_ref": s.spec_ref} for s in verdict.steps],
    }
    if isinstance(verdict, Allowed):
        out["status"] = verdict.status
        out["response_type"] = verdict.response_type
        out["visible_headers"] = [n.decode("latin-1") for n in verdict.visible_header_names]
    else:
        out["reason"] = verdict.reason.value
        out["spec_ref"] = verdict.spec_ref
        if verdict.failed_parameter is not None:
            out["failed_parameter"] = verdict.failed_parameter.decode("latin-1")
    return out


def explain_document(doc: Any, *, profile: str | None = None) -> Json:
    """Evaluate one explain document; raises :class:`ExplainInputError` naming the bad field."""
    if not isinstance(doc, Mapping):
        raise ExplainInputError("the document must be a JSON object")
    known = {"profile", "request", "preflight", "response", "hops", "fetches", "$comment"}
    unknown = set(doc) - known
    if unknown:
        raise ExplainInputError(f"unknown top-level field(s) {sorted(unknown)}")
    name = profile or doc.get("profile") or SPEC.name
    try:
        chosen = profile_named(name)
    except ValueError as exc:
        raise ExplainInputError(f"profile: {exc}") from None
    if "fetches" in doc:
        fetches = doc["fetches"]
        if not isinstance(fetches, list) or not fetches:
            raise ExplainInputError("fetches: expected a non-empty list")
        cache = EMPTY_CACHE
        outputs = []
        for i, item in enumerate(fetches):
            where = f"fetches[{i}]"
            if not isinstance(item, Mapping):
                raise ExplainInputError(f"{where}: expected an object")
            at = item.get("at", 0)
            if not isinstance(at, int | float) or isinstance(at, bool):
                raise ExplainInputError(f"{where}.at: expected seconds as a number")
            request = parse_request(item.get("request"), f"{where}.request")
            result = _run(
                request,
                _responses_of(item, where),
                profile=chosen,
                cache=cache,
                now=float(at),
                where=where,
            )
            cache = result.cache
            outputs.append(result_json(result))
        last = dict(outputs[-1])
        last["fetches"] = outputs
        return last
    request = parse_request(doc.get("request"))
    return result_json(
        _run(
            request,
            _responses_of(doc, "document"),
            profile=chosen,
            cache=EMPTY_CACHE,
            now=0.0,
            where="document",
        )
    )


def explain_text(out: Json) -> str:
    """A readable step-by-step explanation of :func:`explain_document`'s output."""
    lines: list[str] = []
    for i, one in enumerate(out.get("fetches", [out])):
        if "fetches" in out:
            lines.append(f"== fetch {i + 1} ==")
        lines.append(f"Profile: {one['profile']}")
        for wire in one["requests"]:
            kind = "preflight" if wire["preflight"] else "request"
            creds = " (with credentials)" if wire["credentials"] else ""
            lines.append(f"The browser sends a {kind}{creds}:")
            lines.append(f"  {wire['method']} {wire['url']}")
            lines.extend(f"  {n}: {v}" for n, v in wire["headers"])
        lines.append("Steps:")
        lines.extend(
            f"  {n}. {s['text']}\n     [{s['spec_ref']}]" for n, s in enumerate(one["steps"], 1)
        )
        if one["verdict"] == "allowed":
            readable = ", ".join(one["visible_headers"]) or "(none)"
            lines.append(
                f"Verdict: ALLOWED. Script sees a {one['response_type']} response, status "
                f"{one['status']}, readable headers: {readable}"
            )
        else:
            lines.append(
                f"Verdict: BLOCKED ({one['reason']}). fetch() rejects with a TypeError; "
                "script cannot tell why."
            )
            lines.append(f"  Rule: {one['spec_ref']}")
        if one["cache"]:
            lines.append("Preflight cache now holds:")
            for e in one["cache"]:
                what = f"method {e['method']}" if e["method"] else f"header {e['header']}"
                creds = " (credentialed)" if e["credentials"] else ""
                lines.append(
                    f"  {e['origin']} {e['url']} {what}{creds} until t={e['expires_at']:g}s"
                )
    return "\n".join(lines) + "\n"
