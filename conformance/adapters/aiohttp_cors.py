"""aiohttp-cors configured from a policy, on an aiohttp application whose one resource (every
path, every method) serves the demo application.

aiohttp-cors is configured per origin: a mapping from each allowed origin (or ``"*"``) to its
``ResourceOptions``. What it cannot express:

* ``allow_origin_patterns``: origins are looked up exactly in that mapping;
* ``allow_private_network``: it has no option for ``Access-Control-Allow-Private-Network``;
* ``[[paths]]``: aiohttp-cors can be configured per resource, but this adapter does not map
  tables to resources yet (the demo app is one resource).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Final

from conformance.adapters import _common as c
from conformance.outcomes import SetupError
from conformance.servers.reference import demo_response
from conformance.targets import Target, UrlTarget
from reference.policy import ANY, CorsPolicy
from reference.verdict import RawResponse, WireRequest

NAME: Final = "aiohttp-cors"
FRAMEWORK: Final = "aiohttp-cors"
STARTUP_TIMEOUT: Final = 15.0


def package_version() -> str:
    return f"{c.package_version('aiohttp-cors')} (aiohttp {c.package_version('aiohttp')})"


def configuration(policy: CorsPolicy) -> dict[str, dict[str, Any]]:
    """The ``defaults`` of ``aiohttp_cors.setup``: options by origin."""
    c.refuse_paths(policy, "not mapped to aiohttp-cors resources by this adapter yet")
    c.refuse_patterns(policy, FRAMEWORK)
    c.refuse_private_network(policy, FRAMEWORK)
    options: dict[str, Any] = {
        "allow_credentials": policy.allow_credentials,
        "expose_headers": ANY if ANY in policy.expose_headers else tuple(policy.expose_headers),
        "allow_headers": ANY if c.any_header(policy) else tuple(c.header_list(policy)),
        "max_age": policy.max_age,
        "allow_methods": ANY if ANY in policy.allow_methods else tuple(c.methods(policy)),
    }
    origins = [ANY] if c.any_origin(policy) else c.listed_origins(policy)
    return {origin: dict(options) for origin in origins}


async def _demo(request: Any) -> Any:
    from aiohttp import web

    status, headers, body = demo_response(request.method, request.raw_path)
    response = web.Response(body=body or None, status=status)
    for name, value in headers:
        if name.lower() not in (b"content-length", b"content-type"):
            response.headers[name.decode()] = value.decode()
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    return response


def build_app(policy: CorsPolicy) -> Any:
    import aiohttp_cors
    from aiohttp import hdrs, web

    defaults = {
        origin: aiohttp_cors.ResourceOptions(**options)  # type: ignore[no-untyped-call]
        for origin, options in configuration(policy).items()
    }
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults=defaults)
    resource = app.router.add_resource("/{tail:.*}")
    # aiohttp-cors adds its OPTIONS (preflight) route to the resource; the catch-all route for
    # every other method comes after it (aiohttp-cors refuses a '*' route already there).
    cors.add(resource)
    resource.add_route(hdrs.METH_ANY, _demo)
    return app


def build_target(policy: CorsPolicy) -> Target:
    """aiohttp speaks no ASGI: the app is served on 127.0.0.1 (a free port) by aiohttp's own
    server, on an event loop in a background thread; the target closes it."""
    return _AiohttpServer(build_app(policy))


class _AiohttpServer:
    """An aiohttp application served on loopback from a background thread, as a target."""

    def __init__(self, app: Any) -> None:
        from aiohttp import web

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="aiohttp-cors server", daemon=True
        )
        self._thread.start()
        self._runner = web.AppRunner(app, access_log=None)
        port = self._call(self._start(), timeout=STARTUP_TIMEOUT)
        self._target = UrlTarget(
            f"http://127.0.0.1:{port}", name=NAME, max_requests=None, rate=None, allow_unsafe=True
        )
        self.name = NAME
        self.base_url = self._target.base_url
        self.limits = self._target.limits

    async def _start(self) -> int:
        from aiohttp import web

        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        return int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]

    def _call(self, coroutine: Any, *, timeout: float) -> Any:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout=timeout)
        except TimeoutError:
            raise SetupError(f"aiohttp did not start within {timeout:.0f} s") from None

    def send(self, wire: WireRequest) -> RawResponse:
        return self._target.send(wire)

    def close(self) -> None:
        self._target.close()
        try:
            self._call(self._runner.cleanup(), timeout=10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()
