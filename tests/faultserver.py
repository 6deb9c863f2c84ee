"""A misbehaving HTTP server on 127.0.0.1 for fault-injection tests: real sockets, one thread,
bounded in time. Each behaviour is what a broken or hostile target does to a client."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Literal

Behaviour = Literal[
    "ok",
    "reset",
    "stall",
    "garbage",
    "huge-header",
    "non-ascii",
    "slow-headers",
    "close-after",
    "stall-after",
    "redirect-away",
    "error-500",
]

OK = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
    b"Access-Control-Allow-Origin: *\r\nVary: Origin\r\nConnection: close\r\n\r\nok"
)


class FaultServer:
    def __init__(self, behaviour: Behaviour, *, after: int = 3) -> None:
        self.behaviour = behaviour
        self.after = after
        self.served = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        deadline = time.monotonic() + 120  # never outlive a test run
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    self._answer(conn)
            if self.behaviour == "close-after" and self.served >= self.after:
                self._sock.close()  # the server goes away: later connects are refused
                return

    def _answer(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        self.served += 1
        behaviour = self.behaviour
        if behaviour in ("ok", "close-after"):
            conn.sendall(OK)
        elif behaviour == "reset":
            # SO_LINGER 0: close() sends a TCP reset mid-exchange.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif behaviour == "stall" or (behaviour == "stall-after" and self.served > self.after):
            self._stop.wait(5)
        elif behaviour == "stall-after":
            conn.sendall(OK)
        elif behaviour == "garbage":
            conn.sendall(b"HELLO THERE\r\n\r\n")
        elif behaviour == "huge-header":
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n")
        elif behaviour == "non-ascii":
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: https://\xe9.example\r\n"
                b"Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
        elif behaviour == "slow-headers":
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            self._stop.wait(5)
        elif behaviour == "redirect-away":
            conn.sendall(
                b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://elsewhere.invalid/x\r\n"
                b"Access-Control-Allow-Origin: *\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
        elif behaviour == "error-500":
            conn.sendall(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
                b"Connection: close\r\n\r\n"
            )

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with contextlib.suppress(OSError):
            self._sock.close()


@contextlib.contextmanager
def fault_server(behaviour: Behaviour, *, after: int = 3) -> Iterator[FaultServer]:
    with FaultServer(behaviour, after=after) as server:
        yield server
