"""Targets: where the suite sends the browser's wire requests.

Every request is built explicitly with exactly the headers the model put on the wire; no client
defaults (httpx adds ``Accept``, ``Accept-Encoding``, ``Connection`` and ``User-Agent`` only in
``Client.build_request``, which is never called here). Responses are read raw: header lines in
order, duplicates kept, never followed (the model follows redirects itself).
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import inspect
import sys
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from conformance.outcomes import (
    NotApplicable,
    SendRefused,
    SetupError,
    TargetUnreachable,
    UsageError,
)
from reference.headers import HeaderList
from reference.origins import OriginError, parse_url
from reference.verdict import RawResponse, WireRequest

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_REQUESTS = 20_000  # per run, for --url targets
DEFAULT_RATE = 100.0  # requests per second, for --url targets


@dataclass(frozen=True, slots=True, kw_only=True)
class TransportLimits:
    """What a transport cannot carry; such cases are not-applicable, never divergences."""

    merges_duplicate_request_headers: bool = False  # WSGI: one environ key per name
    lowercases_header_names: bool = False  # ASGI
    ascii_only_header_values: bool = False


class Target(Protocol):
    name: str
    base_url: str
    limits: TransportLimits

    def send(self, wire: WireRequest) -> RawResponse: ...

    def close(self) -> None: ...


def innermost(target: Target) -> Target:
    """The target under any wrappers (a wrapper keeps what it wraps as ``inner``)."""
    inner = getattr(target, "inner", None)
    while inner is not None:
        target, inner = inner, getattr(inner, "inner", None)
    return target


def in_process(target: Target) -> bool:
    """Whether the app runs in this process (a request costs a function call, not a round
    trip): the memory a request takes can be measured."""
    return isinstance(innermost(target), AsgiTarget | WsgiTarget)


def unthrottled(target: Target) -> bool:
    """Whether requests go out as fast as the suite makes them: in process, or a URL target
    without a rate limit. Then Hypothesis's own work per example weighs as much as a request,
    and several cases per example pay off; under a rate limit, requests are what counts."""
    inner = innermost(target)
    return in_process(inner) or (isinstance(inner, UrlTarget) and inner.rate is None)


def _check_carriable(wire: WireRequest, limits: TransportLimits) -> None:
    if limits.merges_duplicate_request_headers:
        names = [n.lower() for n, _ in wire.headers]
        if len(names) != len(set(names)):
            raise NotApplicable("this transport merges repeated request header names")
    if limits.ascii_only_header_values and any(not v.isascii() for _, v in wire.headers):
        raise NotApplicable("this transport carries only ASCII header values")


def _origin(url: str) -> str:
    try:
        return parse_url(url).origin.serialize()
    except OriginError:
        return url


@functools.lru_cache(maxsize=4096)
def _same_origin(url: str, base_url: str) -> bool:
    return _origin(url) == _origin(base_url)  # a URL's origin is a function of its text


def _check_target_origin(wire: WireRequest, base_url: str) -> None:
    """Only the target is ever sent a request: a browser following a redirect to another origin
    is modelled, but the suite does not send that hop anywhere."""
    if not _same_origin(wire.url, base_url):
        raise SendRefused(
            f"the browser would now request {wire.url}, another origin than the target "
            f"({base_url}); the suite sends requests to the target only"
        )


SAFE_METHODS = frozenset({b"OPTIONS", b"GET", b"HEAD", b"POST"})


def _build(wire: WireRequest) -> httpx.Request:
    return httpx.Request(
        wire.method.decode("latin-1"),
        wire.url,
        headers=list(wire.headers),
        content=wire.body,
    )


def _raw(response: httpx.Response) -> RawResponse:
    return RawResponse(status=response.status_code, headers=tuple(response.headers.raw))


def _describe(wire: WireRequest) -> str:
    return f"{wire.method.decode('latin-1')} {wire.url}"


class AsgiTarget:
    """An ASGI app in process, called directly on a private event loop.

    The scope and the request messages are exactly what ``httpx.ASGITransport`` would give the
    app for the same ``httpx.Request`` (``Host`` first, ``Content-Length`` as httpx adds it, the
    method uppercased, the URL normalized by ``httpx.URL``), built without the client: no
    request and response objects, no cookie jar, one trip through the event loop per request.
    """

    limits = TransportLimits(lowercases_header_names=True)

    def __init__(self, app: Any, *, name: str = "asgi", base_url: str = "http://testserver"):
        self.name = name
        self.base_url = base_url
        self._app = app
        self._loop = asyncio.new_event_loop()

    def send(self, wire: WireRequest) -> RawResponse:
        _check_carriable(wire, self.limits)
        _check_target_origin(wire, self.base_url)
        scope = _asgi_scope(wire)
        try:
            return self._loop.run_until_complete(self._call(scope, wire.body or b""))
        except Exception as exc:  # the app raised: what a server would turn into a 500
            return _app_crashed(exc)

    async def _call(self, scope: dict[str, Any], body: bytes) -> RawResponse:
        status: int | None = None
        headers: Any = None
        complete = False
        body_sent = False
        finished: asyncio.Event | None = None

        async def receive() -> dict[str, Any]:
            nonlocal body_sent, finished
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            # As a server does: the client disconnects once the response is complete.
            if not complete:
                if finished is None:
                    finished = asyncio.Event()
                await finished.wait()
            return {"type": "http.disconnect"}

        async def send(message: Any) -> None:
            nonlocal status, headers, complete
            kind = message["type"]
            if kind == "http.response.start":
                if status is not None:
                    raise RuntimeError("the app started its response twice")
                status = message["status"]
                headers = message.get("headers", [])
            elif kind == "http.response.body":
                if complete:
                    raise RuntimeError("the app sent a body after its response was complete")
                if not message.get("more_body", False):
                    complete = True
                    if finished is not None:
                        finished.set()

        await self._app(scope, receive, send)
        if status is None or headers is None or not complete:
            raise RuntimeError("the app returned without completing its response")
        return RawResponse(status=status, headers=_response_headers(headers))

    def close(self) -> None:
        self._loop.close()


@dataclass(frozen=True, slots=True)
class _UrlParts:
    """What an ASGI scope takes from a URL, as ``httpx.URL`` normalizes it."""

    scheme: str
    path: str
    raw_path: bytes
    query_string: bytes
    server: tuple[str, int | None]
    netloc: bytes  # the Host header httpx adds


@functools.lru_cache(maxsize=4096)
def _url_parts(url: str) -> _UrlParts:
    parsed = httpx.URL(url)
    return _UrlParts(
        scheme=parsed.scheme,
        path=parsed.path,
        raw_path=parsed.raw_path.split(b"?")[0],
        query_string=parsed.query,
        server=(parsed.host, parsed.port),
        netloc=parsed.netloc if parsed.host else b"",
    )


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _asgi_scope(wire: WireRequest) -> dict[str, Any]:
    """The scope ``httpx.ASGITransport`` builds for ``_build(wire)``: httpx puts ``Host`` (when
    not given) and ``Content-Length: 0`` (for a body method without a length) before the
    request's headers, and ``Content-Length`` of a non-empty body after them."""
    url = _url_parts(wire.url)  # raises as httpx.URL does, before the app is called
    method = wire.method.decode("latin-1").upper()
    names = {name.lower() for name, _ in wire.headers}
    headers = [(name.lower(), value) for name, value in wire.headers]
    if wire.body and b"content-length" not in names:
        headers.append((b"content-length", str(len(wire.body)).encode("ascii")))
        names.add(b"content-length")
    first: list[tuple[bytes, bytes]] = []
    if b"host" not in names and url.netloc:
        first.append((b"host", url.netloc))
    if method in _BODY_METHODS and not names & {b"content-length", b"transfer-encoding"}:
        first.append((b"content-length", b"0"))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "headers": first + headers if first else headers,
        "scheme": url.scheme,
        "path": url.path,
        "raw_path": url.raw_path,
        "query_string": url.query_string,
        "server": url.server,
        "client": ("127.0.0.1", 123),
        "root_path": "",
    }


def _header_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):  # as httpx.Headers coerces it
        return value.encode("ascii")
    raise TypeError(f"Header value must be str or bytes, not {type(value)}")


def _response_headers(headers: Any) -> HeaderList:
    """The response header lines as sent: names and values as bytes, order and repeats kept."""
    lines = tuple(headers)
    if all(type(line) is tuple and len(line) == 2 for line in lines) and all(
        type(name) is bytes and type(value) is bytes for name, value in lines
    ):
        return lines  # already what the app should send (pairs of bytes)
    return tuple((_header_bytes(name), _header_bytes(value)) for name, value in lines)


class WsgiTarget:
    """A WSGI app in process, through ``httpx.WSGITransport``."""

    limits = TransportLimits(merges_duplicate_request_headers=True, ascii_only_header_values=True)

    def __init__(self, app: Any, *, name: str = "wsgi", base_url: str = "http://testserver"):
        self.name = name
        self.base_url = base_url
        self._app = app
        self._raw_uri = "/"
        self._client = httpx.Client(transport=httpx.WSGITransport(app=self._with_raw_uri))

    def _with_raw_uri(self, environ: dict[str, Any], start_response: Any) -> Any:
        # httpx's WSGI transport percent-decodes PATH_INFO and sets no RAW_URI; servers such
        # as gunicorn pass the request target as sent, which path rules must see.
        environ["RAW_URI"] = environ["REQUEST_URI"] = self._raw_uri
        return self._app(environ, start_response)

    def send(self, wire: WireRequest) -> RawResponse:
        _check_carriable(wire, self.limits)
        _check_target_origin(wire, self.base_url)
        self._raw_uri = httpx.URL(wire.url).raw_path.decode("ascii")
        try:
            response = self._client.send(_build(wire))
        except Exception as exc:
            return _app_crashed(exc)
        return _raw(response)

    def close(self) -> None:
        self._client.close()


def _app_crashed(exc: BaseException) -> RawResponse:
    # An in-process app that raises is a server answering 500; say why in a header the model
    # never reads, so the report shows it.
    detail = f"{type(exc).__name__}: {exc}"[:200].encode("ascii", "replace")
    return RawResponse(status=500, headers=((b"x-cors-conformance-app-exception", detail),))


class UrlTarget:
    """Any server over real HTTP."""

    limits = TransportLimits()

    def __init__(
        self,
        base_url: str,
        *,
        name: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_requests: int | None = DEFAULT_MAX_REQUESTS,
        rate: float | None = DEFAULT_RATE,
        allow_unsafe: bool = False,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise UsageError(f"--url {base_url!r}: expected an http:// or https:// URL")
        self.name = name or base_url
        self.base_url = str(url.copy_with(path="", query=None, fragment=None)).rstrip("/")
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)
        self._max_requests = max_requests
        self.rate = rate or None  # requests per second; None: no limit
        self._min_interval = 1.0 / rate if rate else 0.0
        self._allow_unsafe = allow_unsafe
        self._sent = 0
        self._last = 0.0

    def send(self, wire: WireRequest) -> RawResponse:
        _check_carriable(wire, self.limits)
        _check_target_origin(wire, self.base_url)
        if not self._allow_unsafe and (wire.method not in SAFE_METHODS or wire.body is not None):
            raise SendRefused(
                f"{wire.method.decode('latin-1')}{' with a body' if wire.body is not None else ''}"
                " is not sent to a --url target without --allow-unsafe (it may change data)"
            )
        if self._max_requests is not None and self._sent >= self._max_requests:
            raise SetupError(
                f"request budget of {self._max_requests} exhausted", request=_describe(wire)
            )
        wait = self._last + self._min_interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._sent += 1
        self._last = time.monotonic()
        try:
            # Headers only: the body is never read (a huge or endless body costs nothing).
            response = self._client.send(_build(wire), stream=True)
            response.close()
        except httpx.LocalProtocolError as exc:
            # h11 will not put this on the wire (e.g. a value with leading whitespace).
            raise NotApplicable(f"the HTTP client cannot send this request: {exc}") from None
        except httpx.ConnectError as exc:
            cls = TargetUnreachable if self._sent == 1 else SetupError
            raise cls(
                f"cannot connect to {self.base_url}: {exc}", request=_describe(wire)
            ) from None
        except httpx.TimeoutException as exc:
            raise SetupError(f"timed out: {type(exc).__name__}", request=_describe(wire)) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise SetupError(
                f"broken HTTP from the target: {exc or type(exc).__name__}",
                request=_describe(wire),
            ) from None
        except httpx.HTTPError as exc:
            raise SetupError(
                f"the request failed: {type(exc).__name__}: {exc}", request=_describe(wire)
            ) from None
        return _raw(response)

    def close(self) -> None:
        self._client.close()


def load_app(spec: str) -> Any:
    """Import ``module:attr`` (``attr`` may be dotted, or a call like ``create_app()``)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"--app {spec!r}: expected MODULE:ATTRIBUTE, e.g. myproject.asgi:app")
    if "" not in sys.path:
        sys.path.insert(0, "")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise UsageError(f"--app {spec!r}: cannot import module {module_name!r}: {exc}") from None
    except Exception as exc:
        raise UsageError(
            f"--app {spec!r}: importing {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from None
    call = attr.endswith("()")
    obj: Any = module
    for part in attr.removesuffix("()").split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UsageError(f"--app {spec!r}: {module_name!r} has no attribute {part!r}") from None
    if call:
        obj = obj()
    if not callable(obj):
        raise UsageError(f"--app {spec!r}: {attr!r} is not an ASGI or WSGI application")
    return obj


def is_asgi(app: Any) -> bool:
    """ASGI 3 apps are coroutine functions of (scope, receive, send); WSGI apps take 2 args."""
    if inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(app.__call__):
        return True
    try:
        params = inspect.signature(app).parameters
    except (TypeError, ValueError):
        return False
    return len(params) == 3


def target_for_app(app: Any, *, name: str) -> Target:
    return AsgiTarget(app, name=name) if is_asgi(app) else WsgiTarget(app, name=name)
