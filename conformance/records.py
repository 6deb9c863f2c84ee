"""Divergences → plain records (JSON-ready dicts): the boundary between the suite and
``reports/``, which knows nothing of pytest or httpx. Also the reproduction snippets: a curl
command per wire request and the ``fetch()`` call a page would make."""

from __future__ import annotations

import hashlib
import re
import shlex
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
    """The ``fetch()`` a page on ``request.origin`` runs to show this in a browser console."""
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
    if request.body is not None:
        init.append(f"body: {_js(_text(request.body))}")
    args = _js(request.url) + (", {" + ", ".join(init) + "}" if init else "")
    return (
        f"// in the console of a page on {request.origin.serialize()}\n"
        f"fetch({args})\n"
        "  .then(r => console.log(r.status, [...r.headers]))\n"
        "  .catch(e => console.log('blocked:', e))"
    )


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
