"""Node.js frameworks as real servers on 127.0.0.1: one ``node`` process per framework
(``conformance/node/server.mjs``), started on first use, reconfigured for each policy through its
control path, and stopped at the end of the run (:func:`shutdown`, also at interpreter exit).

The Node packages are pinned in ``conformance/node/package.json`` and its lock file; install them
with ``npm ci --prefix conformance/node``.
"""

from __future__ import annotations

import atexit
import json
import queue
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Final

import httpx

from conformance.outcomes import SetupError
from conformance.servers.reference import demo_response
from conformance.targets import Target, UrlTarget
from reference.policy import CorsPolicy, PathRule

NODE_DIR: Final = Path(__file__).resolve().parent.parent / "node"
SERVER: Final = NODE_DIR / "server.mjs"
CONTROL_PATH: Final = "/__cors_conformance/configure"
NODE_HTTP_METHODS: Final = frozenset(
    [
        "ACL",
        "BIND",
        "CHECKOUT",
        "CONNECT",
        "COPY",
        "DELETE",
        "GET",
        "HEAD",
        "LINK",
        "LOCK",
        "M-SEARCH",
        "MERGE",
        "MKACTIVITY",
        "MKCALENDAR",
        "MKCOL",
        "MOVE",
        "NOTIFY",
        "OPTIONS",
        "PATCH",
        "POST",
        "PROPFIND",
        "PROPPATCH",
        "PURGE",
        "PUT",
        "QUERY",
        "REBIND",
        "REPORT",
        "SEARCH",
        "SOURCE",
        "SUBSCRIBE",
        "TRACE",
        "UNBIND",
        "UNLINK",
        "UNLOCK",
        "UNSUBSCRIBE",
    ]
)
"""Node 20's ``http.METHODS``: its HTTP parser (llhttp) answers any other method, lowercase
spellings included, with a 400 before the framework sees the request; requests with other
methods are skipped for Node.js adapters (``ROUTED_METHODS``)."""
STARTUP_TIMEOUT: Final = 20.0
CONFIGURE_TIMEOUT: Final = 20.0


_DECODE_URI_KEEPS: Final = frozenset(b";/?:@&=+$,#%")
"""The bytes whose escapes JavaScript's ``decodeURI`` leaves encoded (``%25`` too, as Fastify's
router and Hono keep it)."""
_ESCAPE: Final = re.compile(r"%([0-9A-Fa-f]{2})")


def decoded_escapes(path: str) -> list[str]:
    """The percent-escapes in ``path`` that ``decodeURI`` decodes: the escapes Fastify's router
    (find-my-way) and Hono's router decode before matching a request path against routes, so a
    route cannot tell the raw ``/p%41`` from ``/pA``."""
    return [
        match.group(0)
        for match in _ESCAPE.finditer(path)
        if int(match.group(1), 16) not in _DECODE_URI_KEEPS
    ]


def applying_tables(policy: CorsPolicy) -> tuple[list[tuple[int, PathRule]], bool]:
    """The ``[[paths]]`` tables that apply to some path, with their index in
    ``policy.resolved``, in declaration order; and whether the top level applies to some path.

    A table never applies when an earlier prefix table matches every path it does: a prefix
    table matching a later table's prefix matches every path below it too (prefixes match
    segment-wise), and ``/`` matches every path (so then nothing after it applies, nor the top
    level). Leaving those out keeps "the first matching table wins" under a router that picks
    the most specific route, and keeps what never applies from being refused."""
    kept: list[tuple[int, PathRule]] = []
    earlier: list[PathRule] = []
    for index, rule in enumerate(policy.paths, start=1):
        if any(e.prefix in ("", "/") for e in earlier):
            return kept, False
        if rule.prefix is not None and any(e.matches(rule.prefix or "/") for e in earlier):
            continue
        kept.append((index, rule))
        if rule.prefix is not None:
            earlier.append(rule)
    return kept, not any(e.prefix in ("", "/") for e in earlier)


def node_version() -> str:
    node = shutil.which("node")
    if node is None:
        return "node not found"
    done = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"


def package_version(package: str) -> str:
    """The installed version of an npm package (``conformance/node/node_modules``)."""
    manifest = NODE_DIR / "node_modules" / package / "package.json"
    try:
        return str(json.loads(manifest.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return "not installed (npm ci --prefix conformance/node)"


def available() -> bool:
    """Whether ``node`` is on the PATH and the pinned packages are installed."""
    return shutil.which("node") is not None and (NODE_DIR / "node_modules").is_dir()


def _demo() -> dict[str, Any]:
    def encode(answer: tuple[int, Any, bytes]) -> list[Any]:
        status, headers, body = answer
        return [status, [[n.decode(), v.decode()] for n, v in headers], body.decode()]

    return {
        "ok": encode(demo_response("GET", "/")),
        "missing": encode(demo_response("GET", "/x/missing")),
    }


class NodeServer:
    """One framework's ``node`` process."""

    def __init__(self, framework: str) -> None:
        self.framework = framework
        node = shutil.which("node")
        if node is None:
            raise SetupError(f"{framework}: `node` is not on the PATH (Node.js 20 or later)")
        if not (NODE_DIR / "node_modules").is_dir():
            raise SetupError(
                f"{framework}: the Node packages are not installed: run "
                "`npm ci --prefix conformance/node`"
            )
        self._process = subprocess.Popen(
            [node, str(SERVER), framework, "0"],
            cwd=NODE_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._stderr: list[str] = []
        self._threads = [threading.Thread(target=self._drain_stderr, daemon=True)]
        self._threads[0].start()
        self.port = self._wait_ready()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._control = httpx.Client(timeout=CONFIGURE_TIMEOUT)

    def _drain_stderr(self) -> None:
        assert self._process.stderr is not None
        for line in self._process.stderr:
            self._stderr.append(line)
            del self._stderr[:-50]

    def _wait_ready(self) -> int:
        lines: queue.Queue[str] = queue.Queue()
        stdout = self._process.stdout
        assert stdout is not None

        def read() -> None:
            for line in stdout:
                lines.put(line)

        reader = threading.Thread(target=read, daemon=True)
        self._threads.append(reader)
        reader.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.1)
            except queue.Empty:
                if self._process.poll() is not None:
                    break
                continue
            if line.startswith("ready "):
                return int(line.split()[1])
        self.stop()
        why = "".join(self._stderr[-10:]).strip() or "no output"
        raise SetupError(
            f"{self.framework}: the node server did not start within {STARTUP_TIMEOUT:.0f} s: {why}"
        )

    def configure(self, payload: dict[str, Any]) -> None:
        document = dict(payload, demo=_demo())
        try:
            response = self._control.post(self.base_url + CONTROL_PATH, json=document)
        except httpx.HTTPError as exc:
            raise SetupError(f"{self.framework}: cannot configure the node server: {exc}") from None
        if response.status_code != 204:
            raise SetupError(f"{self.framework}: configuring failed: {response.text[:2000]}")

    def target(self) -> Target:
        return UrlTarget(
            self.base_url, name=self.framework, max_requests=None, rate=None, allow_unsafe=True
        )

    def stop(self) -> None:
        process = self._process
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        for thread in self._threads:  # they end at the pipes' end of file, now the process has
            thread.join(timeout=5)  # exited (a process forked after this has no thread to miss)
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        control = getattr(self, "_control", None)
        if control is not None:
            control.close()


_SERVERS: dict[str, NodeServer] = {}
_LOCK = threading.Lock()


def server(framework: str) -> NodeServer:
    """The framework's server, started on first use."""
    with _LOCK:
        running = _SERVERS.get(framework)
        if running is None or running._process.poll() is not None:
            running = _SERVERS[framework] = NodeServer(framework)
        return running


def build_target(framework: str, payload: dict[str, Any]) -> Target:
    running = server(framework)
    running.configure(payload)
    return running.target()


def shutdown(framework: str | None = None) -> None:
    """Stop the server of ``framework`` (of every framework if ``None``)."""
    with _LOCK:
        names = [framework] if framework is not None else list(_SERVERS)
        for name in names:
            running = _SERVERS.pop(name, None)
            if running is not None:
                running.stop()


atexit.register(shutdown)
