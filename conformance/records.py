"""Divergences → plain records (JSON-ready dicts): the boundary between the suite and
``reports/``, which knows nothing of pytest or httpx. Also the reproduction snippets: a curl
command per wire request and the script a page would run (``fetch()`` or XMLHttpRequest)."""

from __future__ import annotations

import hashlib
import re
import shlex
import textwrap
from typing import Any

from conformance.divergences import Divergence, Exchange
from reference.request import (
    BrowserRequest,
    CredentialsMode,
    HeadersApi,
    RedirectMode,
    RequestMode,
)
from reference.verdict import RawResponse, WireRequest

Record = dict[str, Any]
_BLOB = re.compile(r"@reproduce_failure\((?P<args>[^)]*)\)")
_FALSIFYING = re.compile(r"^(?:Falsifying example|Failing test case): .*", re.DOTALL)


def _text(value: bytes) -> str:
    return value.decode("latin-1")


def _shell_quote(value: str) -> str:
    if all(0x20 <= ord(ch) < 0x7F for ch in value):
        return shlex.quote(value)
    escaped = "".join(
        ch if 0x20 <= ord(ch) < 0x7F and ch not in "'\\" else f"\\x{ord(ch):02x}" for ch in value
    )
    return f"$'{escaped}'"


def curl_command(wire: WireRequest) -> str:
    """A curl command that puts exactly these header lines on the wire."""
    parts = ["curl", "-i", "-sS"]
    method = _text(wire.method)
    if method == "HEAD":
        parts.append("-I")
    elif method != "GET" or wire.body is not None:
        parts += ["-X", _shell_quote(method)]
    # curl adds Host, User-Agent and Accept by default: suppress the latter two unless set.
    names = {_text(n).lower() for n, _ in wire.headers}
    for default in ("user-agent", "accept"):
        if default not in names:
            parts += ["-H", _shell_quote(f"{default.title()}:")]
    for name, value in wire.headers:
        parts += ["-H", _shell_quote(f"{_text(name)}: {_text(value)}")]
    if wire.body is not None:
        parts += ["--data-binary", _shell_quote(_text(wire.body))]
    parts.append(_shell_quote(wire.url))
    return " ".join(parts)


def fetch_call(request: BrowserRequest) -> str:
    """The script a page on ``request.origin`` runs, in the browser console, to make this
    request: a ``fetch()``, or an ``XMLHttpRequest`` where only XHR makes it (headers set with
    ``setRequestHeader``, which combines a repeated name; or upload listeners, which set the
    use-CORS-preflight flag). A body is given as bytes (``Uint8Array``), which adds no implicit
    ``Content-Type``, so that the request is the one the model judged, header for header. What
    script cannot set up is said in comments above the call: a cookie the browser must hold, a
    target on a more private network, a request only the browser itself makes."""
    lines = [f"// in the console of a page on {request.origin.serialize()}"]
    notes: list[str] = []
    if request.cookie is not None and request.credentials is CredentialsMode.INCLUDE:
        notes.append(
            f"the browser holds a cookie for this URL, {_text(request.cookie)} (it goes with "
            'credentials "include")'
        )
    if request.private_network:
        notes.append(
            "the URL is on a more private network than the page (Private Network Access: "
            "Chromium then asks with Access-Control-Request-Private-Network)"
        )
    if not request.unsafe_request:
        notes.append(
            "the browser makes this request itself (its unsafe-request flag unset, as for "
            "<img crossorigin>): no script can, and the call below sets that flag, so it may be "
            "preflighted where the browser's own request is not"
        )
    xhr = _as_xhr(request)
    stream = request.use_cors_preflight and not xhr and request.body is not None
    if request.use_cors_preflight and request.body is None:
        notes.append(
            "the use-CORS-preflight flag without a body: script sets that flag only with one "
            "(XHR upload listeners, a stream body), so the call below does not set it"
        )
    elif stream:
        notes.append(
            "a stream body sets the use-CORS-preflight flag (XMLHttpRequest cannot make this "
            "request: " + why_not_xhr(request) + "); Chromium sends one only over HTTP/2"
        )
    if request.headers_api is HeadersApi.XHR and (why := why_not_xhr(request, headers=False)):
        notes.append(f"XMLHttpRequest cannot make exactly this request: {why}")
    for note in notes:
        lines += ["// " + line for line in textwrap.wrap(note, 92)]
    lines += _xhr_lines(request) if xhr else _fetch_lines(request, stream=stream)
    return "\n".join(lines)


def why_not_xhr(request: BrowserRequest, *, headers: bool = True) -> str:
    """What keeps ``XMLHttpRequest`` from making ``request`` (empty: nothing); with
    ``headers``, a repeated header name too (setRequestHeader would combine it). Also what the
    differential harness skips (``conformance.browser_check.cases``)."""
    why = []
    if request.credentials is CredentialsMode.OMIT:
        why.append('it has no credentials mode "omit"')
    if request.mode is not RequestMode.CORS:
        why.append(f'it has no mode "{request.mode.value}"')
    if request.redirect is not RedirectMode.FOLLOW:
        why.append(f'it has no redirect mode "{request.redirect.value}"')
    lowered = [name.lower() for name, _ in request.headers]
    if headers and len(set(lowered)) < len(lowered):
        why.append("setRequestHeader combines a repeated header name into one line")
    return "; ".join(why)


def _as_xhr(request: BrowserRequest) -> bool:
    if request.headers_api is HeadersApi.XHR:
        return True
    return request.use_cors_preflight and request.body is not None and not why_not_xhr(request)


def _xhr_lines(request: BrowserRequest) -> list[str]:
    """In a block, so that a second snippet pasted into the same console declares its own."""
    lines = ["const xhr = new XMLHttpRequest();"]
    if request.use_cors_preflight:
        # Registered before open(): some browsers miss listeners added after it.
        lines.append("xhr.upload.onprogress = () => {};  // sets the use-CORS-preflight flag")
    lines.append(f"xhr.open({_js(request.method)}, {_js(request.url)});")
    if request.credentials is CredentialsMode.INCLUDE:
        lines.append("xhr.withCredentials = true;")
    lines += [
        f"xhr.setRequestHeader({_js(_text(name))}, {_js(_text(value))});"
        for name, value in request.headers
    ]
    lines += [
        "xhr.onload = () => console.log(xhr.status, xhr.getAllResponseHeaders());",
        "xhr.onerror = () => console.log('blocked');",
        f"xhr.send({'' if request.body is None else _bytes_js(request.body)});",
    ]
    return ["{", *("  " + line for line in lines), "}"]


def _fetch_lines(request: BrowserRequest, *, stream: bool) -> list[str]:
    init: list[str] = []
    if request.method != "GET":
        init.append(f"method: {_js(request.method)}")
    if request.headers:
        pairs = ", ".join(f"[{_js(_text(n))}, {_js(_text(v))}]" for n, v in request.headers)
        init.append(f"headers: [{pairs}]")
    if request.credentials is not CredentialsMode.SAME_ORIGIN:
        init.append(f"credentials: {_js(request.credentials.value)}")
    if request.mode is not RequestMode.CORS:
        init.append(f"mode: {_js(request.mode.value)}")
    if request.redirect is not RedirectMode.FOLLOW:
        init.append(f"redirect: {_js(request.redirect.value)}")
    if request.body is not None and stream:
        chunk = _bytes_js(request.body)
        init.append(f"body: new ReadableStream({{start(c) {{ c.enqueue({chunk}); c.close(); }}}})")
        init.append('duplex: "half"')
    elif request.body is not None:
        init.append(f"body: {_bytes_js(request.body)}")
    args = _js(request.url) + (", {" + ", ".join(init) + "}" if init else "")
    return [
        f"fetch({args})",
        "  .then(r => console.log(r.status, [...r.headers]))",
        "  .catch(e => console.log('blocked:', e))",
    ]


def _bytes_js(body: bytes) -> str:
    """The body as bytes: no implicit ``Content-Type`` (a string body would add one)."""
    if all(0x20 <= b < 0x7F for b in body):
        return f"new TextEncoder().encode({_js(body.decode('ascii'))})"
    return "new Uint8Array([" + ", ".join(str(b) for b in body) + "])"


def _js(value: str) -> str:
    out = value.replace("\\", "\\\\").replace('"', '\\"')
    out = "".join(ch if 0x20 <= ord(ch) < 0x7F else f"\\x{ord(ch):02x}" for ch in out)
    return f'"{out}"'


def wire_json(wire: WireRequest) -> Record:
    return {
        "preflight": wire.is_preflight,
        "method": _text(wire.method),
        "url": wire.url,
        "headers": [[_text(n), _text(v)] for n, v in wire.headers],
        "credentials": wire.credentials,
        "body": None if wire.body is None else _text(wire.body),
    }


def response_json(response: RawResponse) -> Record:
    return {
        "status": response.status,
        "headers": [[_text(n), _text(v)] for n, v in response.headers],
    }


def request_json(request: BrowserRequest) -> Record:
    """The browser request in the ``explain`` input schema (so it can be fed back)."""
    out: Record = {
        "origin": request.origin.serialize(),
        "url": request.url,
        "method": request.method,
        "headers": [[_text(n), _text(v)] for n, v in request.headers],
        "credentials": request.credentials.value,
    }
    if request.mode is not RequestMode.CORS:
        out["mode"] = request.mode.value
    if request.redirect is not RedirectMode.FOLLOW:
        out["redirect"] = request.redirect.value
    if request.headers_api is not HeadersApi.FETCH:
        out["headers_api"] = request.headers_api.value
    if request.body is not None:
        out["body"] = _text(request.body)
    if request.cookie is not None:
        out["cookie"] = _text(request.cookie)
    if request.use_cors_preflight:
        out["use_cors_preflight"] = True
    if not request.unsafe_request:
        out["unsafe_request"] = False
    if request.private_network:
        out["private_network"] = True
    return out


def exchange_json(exchange: Exchange) -> Record:
    out: Record = {
        "request": None if exchange.request is None else request_json(exchange.request),
        "steps": [
            {"request": wire_json(w), "response": response_json(r), "curl": curl_command(w)}
            for w, r in exchange.pairs
        ],
        "elapsed_ms": round(exchange.elapsed * 1000, 3),
    }
    if exchange.request is not None:
        out["fetch"] = fetch_call(exchange.request)
    if exchange.result is not None:
        verdict = exchange.result.verdict
        out["verdict"] = "allowed" if verdict.allowed else "blocked"
        out["reason"] = None if verdict.allowed else getattr(verdict, "reason", None)
    return out


def divergence_id(key: tuple[str, str, str]) -> str:
    return hashlib.sha256("\x1f".join(key).encode()).hexdigest()[:12]


def divergence_record(
    div: Divergence, *, property_name: str, seed: int | None, occurrences: int
) -> Record:
    notes = "\n".join(getattr(div, "__notes__", []))
    blob = _BLOB.search(notes)
    falsifying = next(
        (line for line in getattr(div, "__notes__", []) if _FALSIFYING.match(line)), None
    )
    evidence = div.evidence
    return {
        "id": divergence_id(div.dedup_key),
        "grade": div.grade.value,
        "kind": div.kind,
        "title": div.title,
        "reason": div.reason,
        "spec_ref": div.spec_ref,
        "property": property_name,
        "summary": evidence.summary,
        "occurrences": max(occurrences, 1),
        "profile": evidence.profile,
        "policy_rule": evidence.policy_rule,
        "browser_steps": list(evidence.browser_steps),
        "policy_steps": list(evidence.policy_steps),
        "exchanges": [exchange_json(e) for e in evidence.exchanges],
        "extra": {str(k): v for k, v in evidence.extra.items()},
        "seed": seed,
        "reproduce_blob": blob["args"] if blob else None,
        "falsifying_example": falsifying,
    }


def walk_exceptions(exc: BaseException) -> list[BaseException]:
    """Flatten (nested) exception groups, as Hypothesis reports several distinct bugs."""
    if isinstance(exc, BaseExceptionGroup):
        out: list[BaseException] = []
        for inner in exc.exceptions:
            out.extend(walk_exceptions(inner))
        return out
    return [exc]
