"""A scripted HTTP/1.1 server on loopback for the differential run against Chromium.

It writes, byte for byte, the status and header lines a case chooses (duplicates, padding and
odd bytes kept), and logs every request it receives with its raw header lines, so the harness
knows whether a preflight and an actual request arrived and with which headers.

A request's case is named by the first path segment after ``/c/``: ``/c/<token>/rest``. A
preflight is an ``OPTIONS`` carrying ``Access-Control-Request-Method``; any other request is an
actual request (an ``OPTIONS`` without that header too). ``/`` on any port serves the page the
browser runs ``fetch()`` from; ``/step/<token>/<n>`` sets which step of a preflight-cache
sequence the next requests for ``<token>`` belong to.

Bound to 127.0.0.1 only; every socket has a timeout, so nothing here can hang a run.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Final

from reference.headers import HeaderList
from reference.verdict import RawResponse

LOOPBACK: Final = "127.0.0.1"
SOCKET_TIMEOUT: Final = 30.0
MAX_HEAD_BYTES: Final = 256 * 1024
MAX_BODY_BYTES: Final = 1024 * 1024

PAGE_HTML: Final = b"""<!doctype html>
<meta charset="utf-8">
<title>cors-conformance: differential page</title>
<p>cors-conformance drives fetch() from here.</p>
"""


@dataclass(frozen=True, slots=True)
class Received:
    """One request as it arrived: the method, the raw path, the header lines in order."""

    method: bytes
    path: bytes
    headers: HeaderList
    step: int
    is_preflight: bool


# A responder picks the response for a request of a case: (token, step, request) -> response.
Responder = Callable[[str, int, Received], RawResponse]


@dataclass
class _Registry:
    responders: dict[str, Responder] = field(default_factory=dict)
    steps: dict[str, int] = field(default_factory=dict)
    log: dict[str, list[Received]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def response_bytes(response: RawResponse, *, body: bytes = b"") -> bytes:
    """The exact bytes written for ``response``: its header lines as given, nothing added
    (the caller puts any ``Content-Length`` in ``response.headers`` itself)."""
    try:
        phrase = HTTPStatus(response.status).phrase.encode()
    except ValueError:
        phrase = b"Status"
    lines = [b"HTTP/1.1 %d %s" % (response.status, phrase)]
    lines += [name + b": " + value for name, value in response.headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class ScriptedServer:
    """Two listening sockets on 127.0.0.1 (the page's origin and the API's origin) sharing one
    case registry. Start with :meth:`start`, stop with :meth:`close` (or use ``with``)."""

    def __init__(self) -> None:
        self._registry = _Registry()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self.page_port = 0
        self.api_port = 0

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> ScriptedServer:
        for _ in range(2):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((LOOPBACK, 0))
            sock.listen(128)
            sock.settimeout(0.5)
            self._sockets.append(sock)
            thread = threading.Thread(target=self._accept_loop, args=(sock,), daemon=True)
            thread.start()
            self._threads.append(thread)
        self.page_port = self._sockets[0].getsockname()[1]
        self.api_port = self._sockets[1].getsockname()[1]
        return self

    def close(self) -> None:
        self._stopping.set()
        for sock in self._sockets:
            sock.close()
        for thread in self._threads:
            thread.join(timeout=2.0)

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def page_origin(self) -> str:
        return f"http://{LOOPBACK}:{self.page_port}"

    @property
    def api_origin(self) -> str:
        return f"http://{LOOPBACK}:{self.api_port}"

    # -- the registry --------------------------------------------------------------------------
    def register(self, token: str, responder: Responder) -> None:
        with self._registry.lock:
            self._registry.responders[token] = responder
            self._registry.log[token] = []
            self._registry.steps[token] = 0

    def set_step(self, token: str, step: int) -> None:
        with self._registry.lock:
            self._registry.steps[token] = step

    def received(self, token: str) -> list[Received]:
        with self._registry.lock:
            return list(self._registry.log.get(token, ()))

    def forget(self, token: str) -> None:
        with self._registry.lock:
            self._registry.responders.pop(token, None)
            self._registry.log.pop(token, None)
            self._registry.steps.pop(token, None)

    # -- I/O -----------------------------------------------------------------------------------
    def _accept_loop(self, sock: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(SOCKET_TIMEOUT)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        try:
            while not self._stopping.is_set():
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk or len(buffer) > MAX_HEAD_BYTES:
                        return
                    buffer += chunk
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                request_line, *lines = head.split(b"\r\n")
                parts = request_line.split(b" ")
                if len(parts) != 3:
                    return
                method, path = parts[0], parts[1]
                headers = tuple(_split_line(line) for line in lines)
                rest = self._skip_body(conn, headers, buffer)
                if rest is None:
                    return
                buffer = rest
                conn.sendall(self._answer(method, path, headers))
        except OSError:
            return
        finally:
            conn.close()

    def _skip_body(self, conn: socket.socket, headers: HeaderList, buffer: bytes) -> bytes | None:
        length = 0
        for name, value in headers:
            if name.lower() == b"content-length":
                length = int(value.strip() or b"0")
            elif name.lower() == b"transfer-encoding":
                return None  # chunked uploads are not used by the harness
        if length > MAX_BODY_BYTES:
            return None
        while len(buffer) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            buffer += chunk
        return buffer[length:]

    def _answer(self, method: bytes, path: bytes, headers: HeaderList) -> bytes:
        if path == b"/":
            return response_bytes(
                RawResponse(
                    status=200,
                    headers=(
                        (b"Content-Type", b"text/html; charset=utf-8"),
                        (b"Content-Length", b"%d" % len(PAGE_HTML)),
                    ),
                ),
                body=PAGE_HTML,
            )
        segments = path.split(b"?", 1)[0].split(b"/")
        if len(segments) >= 4 and segments[1] == b"step":  # /step/<token>/<n>
            self.set_step(segments[2].decode("latin-1"), int(segments[3] or b"0"))
            return response_bytes(
                RawResponse(status=204, headers=((b"Cache-Control", b"no-store"),))
            )
        if len(segments) >= 3 and segments[1] == b"c":  # /c/<token>/...
            token = segments[2].decode("latin-1")
            with self._registry.lock:
                responder = self._registry.responders.get(token)
                step = self._registry.steps.get(token, 0)
                is_preflight = method == b"OPTIONS" and any(
                    n.lower() == b"access-control-request-method" for n, _ in headers
                )
                received = Received(
                    method=method,
                    path=path,
                    headers=headers,
                    step=step,
                    is_preflight=is_preflight,
                )
                if responder is not None:
                    self._registry.log[token].append(received)
            if responder is not None:
                return response_bytes(responder(token, step, received))
        return response_bytes(RawResponse(status=404, headers=((b"Content-Length", b"0"),)))


def _split_line(line: bytes) -> tuple[bytes, bytes]:
    name, _, value = line.partition(b":")
    return name, value.lstrip(b" \t")
