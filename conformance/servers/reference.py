"""The bundled reference server: a correct, policy-driven CORS implementation.

It is the suite's default target and its control: under any :class:`CorsPolicy` it must pass
every property with zero divergences. One decision core, :class:`ReferenceCors`, takes a request
(method, raw path, header lines) and answers with an :class:`Answer`: either "this is a CORS
preflight (or a request to refuse outright): respond with this status and these headers", or
"pass the request to the application, then add these headers to its response". Thin ASGI 3
(:func:`asgi_app`) and WSGI (:func:`wsgi_app`) adapters wrap it around :func:`demo_asgi` /
:func:`demo_wsgi`, a small application whose responses carry headers worth exposing.

The core is made of small methods, each one decision, so that the broken servers of
:mod:`conformance.servers.zoo` can override exactly the behaviour that has the bug.

What it does (Fetch §"CORS protocol", and the policy semantics of :mod:`reference.policy`):

* The policy for a request is ``policy.rules_for_path(raw_path)``: the raw, still
  percent-encoded path, without the query.
* A CORS preflight is an ``OPTIONS`` request with ``Origin`` and
  ``Access-Control-Request-Method``; it is answered ``204`` and never reaches the application.
* ``Origin`` must be exactly a canonical serialized origin (or ``null``); it is allowed when it
  is listed (canonical ``allow_origins``), fully matches an ``allow_origin_patterns`` entry, or
  the policy allows ``*``. ``null`` is allowed only when listed or under ``*``.
* A refused request gets no CORS header at all (no ``Access-Control-Allow-Credentials`` either).
* An allowed request gets ``Access-Control-Allow-Origin``: ``*`` when the policy allows any
  origin without credentials, else the request's origin; and ``Access-Control-Allow-Credentials:
  true`` when the policy allows credentials.
* A preflight echoes the requested method when it is allowed (GET, HEAD and POST always; others
  listed exactly, or ``*``), and the requested header names, lowercased, when every one is
  allowed (compared case-insensitively, or ``*``); otherwise it is refused.
  ``Access-Control-Max-Age`` is the policy's ``max_age`` when set;
  ``Access-Control-Allow-Private-Network: true`` only when asked for and allowed.
* An actual response to an allowed origin lists the policy's ``expose_headers`` in
  ``Access-Control-Expose-Headers``; ``*`` under credentials (where a browser reads ``*``
  literally) becomes the list of the response's own header names, ``Set-Cookie`` excepted.
* Every response says ``Vary: Origin`` (preflights also vary on the request method and
  headers), merged into the application's own ``Vary``: the CORS headers depend on ``Origin``.
* A request without ``Origin`` goes to the application untouched (but for ``Vary``).

Standard library only; nothing binds a socket.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from importlib import resources
from typing import Any, Final
from urllib.parse import quote
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from reference.grammar import is_token
from reference.headers import (
    ACAC,
    ACAH,
    ACAM,
    ACAO,
    ACAPN,
    ACEH,
    ACMA,
    HeaderList,
    get,
    header_names,
    strip_ows,
)
from reference.origins import OpaqueOrigin, Origin, parse_serialized_origin
from reference.policy import ANY, NULL, CorsPolicy, EffectivePolicy
from reference.policy_file import load_policy

Header = tuple[bytes, bytes]

VARY: Final = b"Vary"

SAFELISTED_METHODS: Final = frozenset({b"GET", b"HEAD", b"POST"})
NEVER_EXPOSED: Final = frozenset({b"set-cookie", b"set-cookie2"})
PREFLIGHT_VARY: Final = (
    b"Origin",
    b"Access-Control-Request-Method",
    b"Access-Control-Request-Headers",
)
ACTUAL_VARY: Final = (b"Origin",)

DEFAULT_POLICY_RESOURCE: Final = "policies/default.toml"


def default_policy() -> CorsPolicy:
    """``conformance/policies/default.toml``, the reference server's policy by default."""
    text = resources.files("conformance").joinpath(DEFAULT_POLICY_RESOURCE).read_text("utf-8")
    return load_policy(text, source="default.toml")


# -- the decision core -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CorsRequest:
    """What the decision needs of a request, read once from its header lines.

    Header values are OWS-trimmed; a name sent several times is combined with ``", "`` (Fetch
    "get"), so two ``Origin`` lines never form a valid origin.
    """

    method: str
    path: str  # raw, percent-encoded, without the query
    headers: HeaderList
    origin: bytes | None
    request_method: bytes | None  # Access-Control-Request-Method
    request_headers: bytes | None  # Access-Control-Request-Headers
    request_private_network: bytes | None  # Access-Control-Request-Private-Network


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    """The decision for one request.

    ``respond``: answer with ``status`` and ``headers`` and never call the application (a
    preflight). Otherwise: call the application, then add ``headers`` to its response.
    Either way :meth:`ReferenceCors.finish` gives the final header list: it adds ``Vary`` and,
    for an actual response to an allowed origin (``expose`` is the policy that applies),
    ``Access-Control-Expose-Headers``, which may list the response's own header names.
    """

    respond: bool
    status: int = 204
    headers: HeaderList = ()
    preflight: bool = False
    granted: bool = False
    expose: EffectivePolicy | None = None


class ReferenceCors:
    """The CORS decision for a :class:`CorsPolicy`; every method is one overridable decision."""

    def __init__(self, policy: CorsPolicy) -> None:
        self.policy = policy

    # -- entry points ------------------------------------------------------------------------
    def handle(self, method: str, path: str, headers: Sequence[Header]) -> Answer:
        """Decide for a request: ``path`` is the raw request path (a query is ignored)."""
        request = self.parse_request(method, path, headers)
        if request.origin is None:
            return self.without_origin(request)
        effective = self.effective_policy(request.path)
        if self.is_preflight(request):
            return self.preflight(request, effective)
        return self.actual(request, effective)

    def finish(self, answer: Answer, status: int, response_headers: Sequence[Header]) -> HeaderList:
        """The final response header list: the application's (none for a preflight), the
        answer's CORS headers, the exposed names when they must be listed, and ``Vary``."""
        out = [*response_headers, *answer.headers]
        if answer.expose is not None:
            expose = self.expose_headers_header(answer.expose, response_headers)
            if expose is not None:
                out.append((ACEH, expose))
        return merge_vary(out, self.vary(answer, status))

    # -- reading the request -----------------------------------------------------------------
    def parse_request(self, method: str, path: str, headers: Sequence[Header]) -> CorsRequest:
        header_list = tuple(headers)
        trimmed = tuple((n, strip_ows(v)) for n, v in header_list)

        def value(name: bytes) -> bytes | None:
            return get(trimmed, name)

        return CorsRequest(
            method=method,
            path=path.split("?", 1)[0],
            headers=header_list,
            origin=value(b"origin"),
            request_method=value(b"access-control-request-method"),
            request_headers=value(b"access-control-request-headers"),
            request_private_network=value(b"access-control-request-private-network"),
        )

    def effective_policy(self, path: str) -> EffectivePolicy:
        """The policy for the raw request path (first matching ``[[paths]]`` table)."""
        return self.policy.rules_for_path(path)

    def is_preflight(self, request: CorsRequest) -> bool:
        """``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``."""
        return (
            request.method == "OPTIONS"
            and request.origin is not None
            and request.request_method is not None
        )

    # -- origins -----------------------------------------------------------------------------
    def parse_origin(self, value: bytes) -> Origin | None:
        """The origin an ``Origin`` value names, if it is exactly a canonical serialization."""
        return parse_serialized_origin(value)

    def origin_allowed(self, origin: bytes, effective: EffectivePolicy) -> bool:
        parsed = self.parse_origin(origin)
        if parsed is None:
            return False
        if isinstance(parsed, OpaqueOrigin):
            return self.null_allowed(effective)
        if ANY in effective.origins:
            return True
        text = origin.decode("ascii")
        return self.origin_listed(text, effective) or self.origin_matches_pattern(text, effective)

    def null_allowed(self, effective: EffectivePolicy) -> bool:
        return NULL in effective.origins or ANY in effective.origins

    def origin_listed(self, origin: str, effective: EffectivePolicy) -> bool:
        """Exact comparison with the canonical ``allow_origins`` entries."""
        return origin in effective.origins

    def origin_matches_pattern(self, origin: str, effective: EffectivePolicy) -> bool:
        """``re.fullmatch`` against each ``allow_origin_patterns`` entry."""
        return any(pattern.fullmatch(origin) for pattern in effective.origin_patterns)

    def allow_origin_value(self, origin: bytes, effective: EffectivePolicy) -> bytes:
        """``*`` for any origin without credentials; otherwise the request's own origin."""
        if ANY in effective.origins and not effective.allow_credentials:
            return b"*"
        return origin

    def credentials_headers(self, effective: EffectivePolicy) -> HeaderList:
        return ((ACAC, b"true"),) if effective.allow_credentials else ()

    def origin_headers(self, origin: bytes, effective: EffectivePolicy) -> HeaderList:
        return (
            (ACAO, self.allow_origin_value(origin, effective)),
            *self.credentials_headers(effective),
        )

    def refused_headers(self, request: CorsRequest, effective: EffectivePolicy) -> HeaderList:  # noqa: ARG002 (a hook: variants use it)
        """What a refused origin (or preflight) gets: no CORS header at all."""
        return ()

    # -- preflight ---------------------------------------------------------------------------
    def preflight(self, request: CorsRequest, effective: EffectivePolicy) -> Answer:
        headers = self.preflight_headers(request, effective)
        granted = headers is not None
        return Answer(
            respond=True,
            status=self.preflight_status(granted),
            headers=headers if headers is not None else self.refused_headers(request, effective),
            preflight=True,
            granted=granted,
        )

    def preflight_status(self, granted: bool) -> int:  # noqa: ARG002 (a hook: variants use it)
        """204 whether granted or not: the answer is in the headers."""
        return 204

    def preflight_headers(
        self, request: CorsRequest, effective: EffectivePolicy
    ) -> HeaderList | None:
        """The headers of a granted preflight, or ``None`` to refuse it."""
        origin, method = request.origin, request.request_method
        if origin is None or method is None:
            return None
        if not self.preflight_origin_allowed(origin, effective):
            return None
        if not is_token(method) or not self.method_allowed(method, effective):
            return None
        names = self.requested_headers(request.request_headers)
        if names is None or not self.headers_allowed(names, effective):
            return None
        out = [*self.origin_headers(origin, effective)]
        out.append((ACAM, self.allowed_methods_header(method, effective)))
        allow_headers = self.allowed_headers_header(names, effective)
        if allow_headers is not None:
            out.append((ACAH, allow_headers))
        max_age = self.max_age_header(effective)
        if max_age is not None:
            out.append((ACMA, max_age))
        private_network = self.private_network_header(request, effective)
        if private_network is not None:
            out.append((ACAPN, private_network))
        return tuple(out)

    def preflight_origin_allowed(self, origin: bytes, effective: EffectivePolicy) -> bool:
        """The origin check of a preflight: the same as for actual requests."""
        return self.origin_allowed(origin, effective)

    def method_allowed(self, method: bytes, effective: EffectivePolicy) -> bool:
        """GET, HEAD and POST always; others listed exactly (case-sensitive), or ``*``."""
        if method in SAFELISTED_METHODS or ANY in effective.allow_methods:
            return True
        return method.decode("latin-1") in effective.allow_methods

    def allowed_methods_header(self, method: bytes, effective: EffectivePolicy) -> bytes:  # noqa: ARG002 (a hook: variants use it)
        """Echo the requested method: right under credentials too, where ``*`` is literal."""
        return method

    def requested_headers(self, value: bytes | None) -> tuple[bytes, ...] | None:
        """``Access-Control-Request-Headers`` as lowercased, de-duplicated names (split on
        commas, OWS trimmed, empty elements ignored); ``None`` if an element is not a token."""
        if value is None:
            return ()
        names: dict[bytes, None] = {}
        for element in value.split(b","):
            name = strip_ows(element)
            if not name:
                continue
            if not is_token(name):
                return None
            names.setdefault(name.lower(), None)
        return tuple(names)

    def headers_allowed(self, names: Sequence[bytes], effective: EffectivePolicy) -> bool:
        """Each requested name listed (case-insensitively), or ``*`` (Authorization included)."""
        if ANY in effective.allow_headers:
            return True
        allowed = {name.encode("utf-8").lower() for name in effective.allow_headers}
        return all(name.lower() in allowed for name in names)

    def allowed_headers_header(
        self,
        names: Sequence[bytes],
        effective: EffectivePolicy,  # noqa: ARG002 (a hook: variants use it)
    ) -> bytes | None:
        """Echo the requested names (a literal ``*`` would not cover ``Authorization``, nor
        anything under credentials)."""
        return b", ".join(names) if names else None

    def max_age_header(self, effective: EffectivePolicy) -> bytes | None:
        return None if effective.max_age is None else str(effective.max_age).encode("ascii")

    def private_network_header(
        self, request: CorsRequest, effective: EffectivePolicy
    ) -> bytes | None:
        """``true`` only when the preflight asked for it and the policy allows it."""
        asked = request.request_private_network == b"true"
        return b"true" if asked and effective.allow_private_network else None

    # -- actual requests ---------------------------------------------------------------------
    def actual(self, request: CorsRequest, effective: EffectivePolicy) -> Answer:
        origin = request.origin
        if origin is None or not self.origin_allowed(origin, effective):
            return Answer(respond=False, headers=self.refused_headers(request, effective))
        return Answer(
            respond=False,
            headers=self.actual_headers(request, effective),
            granted=True,
            expose=effective,
        )

    def actual_headers(self, request: CorsRequest, effective: EffectivePolicy) -> HeaderList:
        """``Access-Control-Allow-Origin`` and ``-Credentials`` for an allowed origin (the
        exposed headers are added by :meth:`finish`, once the response is known)."""
        assert request.origin is not None
        return self.origin_headers(request.origin, effective)

    def expose_headers_header(
        self, effective: EffectivePolicy, response_headers: Sequence[Header]
    ) -> bytes | None:
        """The policy's ``expose_headers``. ``*`` is sent as is without credentials; under
        credentials a browser reads it as a header literally named ``*``, so the response's own
        header names are listed instead (``Set-Cookie`` never: browsers never expose it)."""
        names = effective.expose_headers
        if not names:
            return None
        if ANY not in names:
            return b", ".join(name.encode("utf-8") for name in names)
        if not effective.allow_credentials:
            return b"*"
        own = [n for n in header_names(tuple(response_headers)) if n not in NEVER_EXPOSED]
        return b", ".join(own) if own else None

    # -- requests without Origin -------------------------------------------------------------
    def without_origin(self, request: CorsRequest) -> Answer:  # noqa: ARG002 (a hook: variants use it)
        """Not a CORS request (same-origin GET, navigation, server to server): serve it."""
        return Answer(respond=False)

    # -- caching -----------------------------------------------------------------------------
    def vary(self, answer: Answer, status: int) -> tuple[bytes, ...]:  # noqa: ARG002 (a hook: variants use it)
        """Every response varies on ``Origin`` (refused, error and origin-less ones too: an
        HTTP cache must not serve one of them for a request with another ``Origin``)."""
        return PREFLIGHT_VARY if answer.preflight else ACTUAL_VARY


def merge_vary(headers: Iterable[Header], names: Sequence[bytes]) -> HeaderList:
    """``headers`` with every name of ``names`` in ``Vary``: added to the first ``Vary`` line
    (unless that already says ``*`` or lists it), or as a new ``Vary`` line."""
    out = list(headers)
    if not names:
        return tuple(out)
    present: set[bytes] = set()
    first: int | None = None
    for index, (name, value) in enumerate(out):
        if name.lower() == b"vary":
            first = index if first is None else first
            present.update(strip_ows(item).lower() for item in value.split(b","))
    if b"*" in present:
        return tuple(out)
    missing = [name for name in names if name.lower() not in present]
    if not missing:
        return tuple(out)
    if first is None:
        out.append((VARY, b", ".join(missing)))
    else:
        name, value = out[first]
        items = [value] if strip_ows(value) else []
        out[first] = (name, b", ".join([*items, *missing]))
    return tuple(out)


# -- the application behind it ---------------------------------------------------------------

REQUEST_ID: Final = b"7f3e-demo"
_OK_BODY: Final = b"ok\n"
_MISSING_BODY: Final = b"not found\n"


def demo_response(method: str, path: str) -> tuple[int, HeaderList, bytes]:
    """The demo application: 200 ``text/plain`` (404 for a path ending in ``/missing``), with
    headers worth exposing (and one, ``X-Internal-Token``, that no sane policy exposes)."""
    missing = path.split("?", 1)[0].endswith("/missing")
    status = HTTPStatus.NOT_FOUND if missing else HTTPStatus.OK
    body = _MISSING_BODY if missing else _OK_BODY
    headers: HeaderList = (
        (b"Content-Type", b"text/plain; charset=utf-8"),
        (b"Content-Length", str(len(body)).encode("ascii")),
        (b"Cache-Control", b"no-store"),
        (b"X-Request-Id", REQUEST_ID),
        (b"X-Ratelimit-Remaining", b"99"),
        (b"X-Total-Count", b"3"),
        (b"X-Internal-Token", b"secret"),
    )
    return int(status), headers, b"" if method == "HEAD" else body


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def demo_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    """:func:`demo_response` as an ASGI 3 application (reads and ignores the body)."""
    if scope["type"] != "http":
        return
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    status, headers, body = demo_response(scope["method"], _asgi_raw_path(scope))
    await send({"type": "http.response.start", "status": status, "headers": list(headers)})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def demo_wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """:func:`demo_response` as a WSGI application."""
    status, headers, body = demo_response(environ["REQUEST_METHOD"], _wsgi_raw_path(environ))
    start_response(_status_line(status), _native_headers(headers))
    return [body] if body else []


# -- adapters --------------------------------------------------------------------------------


def asgi_app(
    policy: CorsPolicy | None = None,
    *,
    cors: type[ReferenceCors] = ReferenceCors,
    app: ASGIApp = demo_asgi,
) -> ASGIApp:
    """An ASGI 3 application: ``cors`` (built from ``policy``, by default ``default.toml``)
    around ``app``."""
    engine = cors(policy if policy is not None else default_policy())

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        answer = engine.handle(scope["method"], _asgi_raw_path(scope), list(scope["headers"]))
        if answer.respond:
            headers = engine.finish(answer, answer.status, ())
            await send(
                {"type": "http.response.start", "status": answer.status, "headers": list(headers)}
            )
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                own = tuple((bytes(n), bytes(v)) for n, v in message.get("headers", ()))
                headers = engine.finish(answer, message["status"], own)
                message = {**message, "headers": list(headers)}
            await send(message)

        await app(scope, receive, send_with_cors)

    application.__doc__ = f"{cors.__name__} around {getattr(app, '__name__', 'an ASGI app')}"
    return application


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def wsgi_app(
    policy: CorsPolicy | None = None,
    *,
    cors: type[ReferenceCors] = ReferenceCors,
    app: WSGIApplication = demo_wsgi,
) -> WSGIApplication:
    """A WSGI application: ``cors`` (built from ``policy``, by default ``default.toml``)
    around ``app``."""
    engine = cors(policy if policy is not None else default_policy())

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        answer = engine.handle(
            environ["REQUEST_METHOD"], _wsgi_raw_path(environ), _environ_headers(environ)
        )
        if answer.respond:
            headers = engine.finish(answer, answer.status, ())
            start_response(_status_line(answer.status), _native_headers(headers))
            return []

        def start_with_cors(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            own = tuple((n.encode("latin-1"), v.encode("latin-1")) for n, v in headers)
            final = engine.finish(answer, int(status.split(" ", 1)[0]), own)
            return start_response(status, _native_headers(final), exc_info)

        return app(environ, start_with_cors)

    return application


def _status_line(status: int) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    return f"{status} {phrase}"


def _native_headers(headers: Iterable[Header]) -> list[tuple[str, str]]:
    return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in headers]


def _asgi_raw_path(scope: Scope) -> str:
    raw = scope.get("raw_path")
    if raw:
        return bytes(raw).decode("latin-1").split("?", 1)[0]
    return _requote(scope.get("root_path", "") + scope["path"])


_PCHAR_SAFE: Final = "/!$&'()*+,;=:@"


def _requote(path: str) -> str:
    """A decoded path back in percent-encoded form (UTF-8, RFC 3986 ``pchar`` left as is)."""
    return quote(path.encode("utf-8"), safe=_PCHAR_SAFE)


def _wsgi_raw_path(environ: WSGIEnvironment) -> str:
    """The raw request path: ``RAW_URI`` (gunicorn) or ``REQUEST_URI`` (uWSGI, mod_wsgi) when
    the server gives it, else ``SCRIPT_NAME + PATH_INFO`` percent-encoded again."""
    for key in ("RAW_URI", "REQUEST_URI"):
        raw = environ.get(key)
        if isinstance(raw, str) and raw:
            path = raw.split("?", 1)[0]
            if "://" in path:  # absolute-form request target
                path = "/" + path.split("://", 1)[1].partition("/")[2]
            return path
    decoded = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
    # PEP 3333 servers give the path's bytes decoded as Latin-1; some (httpx's WSGITransport)
    # give it decoded as UTF-8. Bytes that are valid UTF-8 tell the former.
    try:
        raw_bytes = decoded.encode("latin-1")
        raw_bytes.decode("utf-8")
    except UnicodeError:
        raw_bytes = decoded.encode("utf-8")
    return quote(raw_bytes, safe=_PCHAR_SAFE)


def _environ_headers(environ: WSGIEnvironment) -> list[Header]:
    """Request header lines from a WSGI environ (names lowercased; repeats already merged)."""
    out: list[Header] = []
    for key, value in environ.items():
        if not isinstance(value, str):
            continue
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = key
        else:
            continue
        out.append((name.replace("_", "-").lower().encode("latin-1"), value.encode("latin-1")))
    return out


app: Final = asgi_app()
"""The reference server under ``default.toml`` (ASGI):
``--app conformance.servers.reference:app``."""
wsgi: Final = wsgi_app()
"""The same, as WSGI: ``--app conformance.servers.reference:wsgi``."""
