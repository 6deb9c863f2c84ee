"""aiohttp-cors configured from a policy, on an aiohttp application that serves the demo
application on every path and for every method; and a policy read back from an app's aiohttp-cors
configuration.

aiohttp-cors is configured per origin (a mapping from each allowed origin, or ``"*"``, to its
``ResourceOptions``) and per resource: ``cors.add(resource, config)``. ``[[paths]]`` tables
become resources with their own configuration, registered in declaration order before the
catch-all ``/{tail:.*}`` that carries the top level: a prefix ``/public`` is the resources
``/public`` and ``/public/{tail:.*}``, a prefix ending in ``/`` only the second, and a pattern
``/v[0-9]+/.*`` the resource ``/{pathN:v[0-9]+/.*}`` (aiohttp full-matches a route's regular
expression). Without tables, the top level is ``aiohttp_cors.setup``'s ``defaults``; with them,
``defaults`` stay empty and every resource has its own configuration, since aiohttp-cors looks an
origin up in the resource's mapping and then in ``defaults`` (a table could not take an origin
away).

aiohttp's router does not try resources in registration order: it tries those under the longest
static path first (the request path cut back one segment at a time), in registration order
among those under the same one. The first matching table still wins: a prefix table that an
earlier prefix table covers entirely is never reached and gets no resource, and a table nested
in a later one is tried first anyway. aiohttp matches routes on the percent-decoded path (``%2F``
and ``%25`` aside), where the policy matches the raw one (:data:`DECODES_PATHS`): a request whose
decoded path falls under another table is skipped, as routing, not CORS.

What it cannot express:

* ``allow_origin_patterns``: origins are looked up exactly in that mapping;
* ``allow_private_network``: it has no option for ``Access-Control-Allow-Private-Network``;
* a ``[[paths]]`` pattern that does not begin with a literal ``/`` that can be split off (a route
  is ``/`` then the variable's regular expression), that refers to groups by number (the route's
  own group shifts them), or that aiohttp's route syntax cannot hold (braces nested twice);
* a ``[[paths]]`` pattern declared before a prefix table other than ``/``: a pattern route sits
  under ``/``, so aiohttp would try the prefix table's routes first wherever both match (the
  adapter does not decide whether they can);
* a ``[[paths]]`` prefix with ``{`` or ``}``: aiohttp's route syntax reads them as a variable.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import re
import threading
from collections import ChainMap
from collections.abc import Collection, Mapping
from typing import Any, Final

from conformance.adapters import Inexpressible, node
from conformance.adapters import _common as c
from conformance.outcomes import SetupError
from conformance.servers.reference import demo_response
from conformance.targets import Target, UrlTarget
from reference.policy import (
    ANY,
    CorsPolicy,
    EffectivePolicy,
    PathRule,
    PolicyRules,
    canonical_origin,
)
from reference.verdict import RawResponse, WireRequest

NAME: Final = "aiohttp-cors"
FRAMEWORK: Final = "aiohttp-cors"
STARTUP_TIMEOUT: Final = 15.0
DECODES_PATHS: Final = True
ROUTED_METHODS: Final = node.NODE_HTTP_METHODS
METHODS_CASE_INSENSITIVE: Final = True
"""The methods aiohttp's HTTP parser accepts: llhttp's list, as Node's, in any case (``pAtCh``
passes). It answers any other method (``CHICKEN``) with 400 "Invalid method" before the
application, aiohttp-cors included, sees the request; such requests are skipped, as for the
Node.js frameworks: the parser, not the CORS middleware, would answer them."""
CATCH_ALL: Final = "/{tail:.*}"

# Private, but what ``re.compile`` itself uses; typeshed only knows the deprecated aliases.
_parser: Any = importlib.import_module("re._parser")
_compiler: Any = importlib.import_module("re._compiler")


def package_version() -> str:
    return f"{c.package_version('aiohttp-cors')} (aiohttp {c.package_version('aiohttp')})"


# -- configuring -----------------------------------------------------------------------------------


def _options(rules: EffectivePolicy) -> dict[str, dict[str, Any]]:
    """Options by origin (the keyword arguments of ``ResourceOptions``)."""
    c.refuse_patterns(rules, FRAMEWORK)
    c.refuse_private_network(rules, FRAMEWORK)
    options: dict[str, Any] = {
        "allow_credentials": rules.allow_credentials,
        "expose_headers": ANY if ANY in rules.expose_headers else tuple(rules.expose_headers),
        "allow_headers": ANY if c.any_header(rules) else tuple(c.header_list(rules)),
        "max_age": rules.max_age,
        "allow_methods": ANY if ANY in rules.allow_methods else tuple(c.methods(rules)),
    }
    origins = [ANY] if c.any_origin(rules) else c.listed_origins(rules)
    return {origin: dict(options) for origin in origins}


def _index_key(path: str) -> str:
    """The static path aiohttp files a route under (``UrlDispatcher._get_resource_index_key``):
    up to the last ``/`` before the first variable, trailing slashes dropped."""
    if "{" in path:
        path = path.partition("{")[0].rpartition("/")[0]
    return path.rstrip("/") or "/"


def _prefix_routes(prefix: str) -> list[str]:
    """The routes that match what ``PathRule(prefix=prefix)`` matches (none for a prefix without
    a leading ``/``: it matches no path)."""
    if "{" in prefix or "}" in prefix:
        raise Inexpressible(
            f"[[paths]]: prefix {prefix!r} holds '{{' or '}}', which aiohttp's route syntax "
            "reads as a variable"
        )
    if prefix in ("", "/"):
        return [CATCH_ALL]
    if not prefix.startswith("/"):
        return []
    if prefix.endswith("/"):
        return [prefix + "{tail:.*}"]
    return [prefix, prefix + "/{tail:.*}"]


def _code(pattern: str) -> Any:
    tree = _parser.parse(pattern)
    return _compiler._code(tree, tree.state.flags)


def _pattern_route(pattern: str, number: int) -> str:
    """The route ``/{pathN:REST}`` that full-matches what ``pattern`` full-matches."""
    from aiohttp import web

    for slash in ("/", "\\/"):
        if pattern.startswith(slash):
            rest = pattern[len(slash) :]
            break
    else:
        raise Inexpressible(
            f"[[paths]]: pattern {pattern!r} does not begin with a literal '/': an aiohttp route "
            "is '/' followed by its variables' regular expressions"
        )
    try:
        same = _code(pattern) == _code(f"/(?:{rest})")
    except re.error:  # '/*', '/?x': the '/' is not a literal on its own
        same = False
    if not same:
        raise Inexpressible(
            f"[[paths]]: pattern {pattern!r} is not a literal '/' followed by one expression "
            "(it has a top-level '|', or its '/' is quantified): an aiohttp route is '/' "
            "followed by its variables' regular expressions"
        )
    if re.search(r"\\[1-9]|\(\?\([0-9]", rest):
        raise Inexpressible(
            f"[[paths]]: pattern {pattern!r} refers to a group by number; in an aiohttp route "
            "the variable's own group comes first and shifts the numbers"
        )
    groups = re.compile(pattern).groupindex
    name = f"path{number}"
    while name in groups:
        name += "_"
    route = f"/{{{name}:{rest}}}"
    try:
        compiled = web.DynamicResource(route).get_info()["pattern"]
    except ValueError as exc:
        raise Inexpressible(
            f"[[paths]]: pattern {pattern!r}: aiohttp's route syntax cannot hold it ({exc})"
        ) from None
    if compiled.pattern != f"/(?P<{name}>{rest})":
        raise Inexpressible(
            f"[[paths]]: pattern {pattern!r}: aiohttp's route syntax reads it as "
            f"{compiled.pattern!r} (its braces are taken for variables)"
        )
    return route


def _routes(policy: CorsPolicy) -> list[tuple[str, int]]:
    """``(route, index into policy.resolved)`` for every ``[[paths]]`` table that can win."""
    out: list[tuple[str, int]] = []
    earlier_prefixes: list[PathRule] = []
    pattern_seen: int | None = None
    for index, rule in enumerate(policy.paths, start=1):
        if rule.pattern is not None:
            pattern_seen = pattern_seen or index
            out.append((_pattern_route(rule.pattern, index), index))
            continue
        prefix = rule.prefix or ""
        # ('' matches what '/' matches: every path)
        if any(earlier.matches(prefix or "/") for earlier in earlier_prefixes):
            continue  # an earlier table matches every path this one does: it never wins
        earlier_prefixes.append(PathRule(prefix=prefix or "/"))
        routes = _prefix_routes(prefix)
        if pattern_seen is not None and any(_index_key(r) != "/" for r in routes):
            raise Inexpressible(
                f"[[paths]]: pattern table #{pattern_seen} comes before prefix table #{index} "
                f"({prefix!r}): aiohttp tries routes under the longest static path first, so "
                "wherever both match, the prefix table's route would win"
            )
        # (a route registered already matches first, wherever the later one would)
        taken = {route for route, _ in out}
        out += [(route, index) for route in routes if route not in taken]
    return out


def configuration(policy: CorsPolicy) -> dict[str, Any]:
    """``defaults``: the ``defaults`` of ``aiohttp_cors.setup`` (options by origin);
    ``resources``: the routes in registration order, each with the options by origin given to
    ``cors.add`` (``None``: the defaults), the catch-all last."""
    top = _options(policy.top_level)
    if not policy.paths:
        return {"defaults": top, "resources": [{"path": CATCH_ALL, "options": None}]}
    resources = [
        {"path": route, "options": _options(policy.resolved[index])}
        for route, index in _routes(policy)
    ]
    if all(entry["path"] != CATCH_ALL for entry in resources):  # (else never reached)
        resources.append({"path": CATCH_ALL, "options": top})
    return {"defaults": {}, "resources": resources}


async def _demo(request: Any) -> Any:
    from aiohttp import web

    status, headers, body = demo_response(request.method, request.raw_path)
    response = web.Response(body=body or None, status=status)
    for name, value in headers:
        if name.lower() not in (b"content-length", b"content-type"):
            response.headers[name.decode()] = value.decode()
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    return response


def _resource_options(by_origin: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    import aiohttp_cors

    return {
        origin: aiohttp_cors.ResourceOptions(**o)  # type: ignore[no-untyped-call]
        for origin, o in by_origin.items()
    }


def build_app(policy: CorsPolicy) -> Any:
    import aiohttp_cors
    from aiohttp import hdrs, web

    config = configuration(policy)
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults=_resource_options(config["defaults"]))
    for entry in config["resources"]:
        resource = app.router.add_resource(entry["path"])
        # aiohttp-cors adds its OPTIONS (preflight) route to the resource; the catch-all route
        # for every other method comes after it (aiohttp-cors refuses a '*' route already there).
        options = entry["options"]
        per_resource: Any = None if options is None else _resource_options(options)
        cors.add(resource, per_resource)
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


# -- reading a configuration back -----------------------------------------------------------------

_NOTHING: Final = c.NO_CORS
"""A resource without CORS, or whose configuration allows no origin: aiohttp-cors answers no
origin there (a configuration keyed by origin keeps no options for none)."""

_CATCH_ALL_PATTERN: Final = re.compile(r"/\(\?P<\w+>\.\*\)")


def read_policy(source: Any) -> CorsPolicy:
    """The policy an aiohttp-cors configuration means.

    ``source`` is an aiohttp ``web.Application`` that ``aiohttp_cors.setup`` was applied to, or
    the ``defaults`` of ``aiohttp_cors.setup`` as a mapping (origin to ``ResourceOptions`` or its
    keyword arguments). ``ResourceOptions``' defaults fill what is not given.

    From an app, every resource becomes a ``[[paths]]`` pattern table (a plain route its escaped
    path, a dynamic one its regular expression, a static one its prefix and what is below it),
    ordered as aiohttp tries them: under the longest static path first, then in registration
    order (aiohttp matches them on the percent-decoded path, the policy on the raw one: they
    agree on paths without percent-encoding). A resource without ``cors.add`` allows no origin; a
    catch-all route (``/{x:.*}``) becomes the top level, and without one the top level allows no
    origin (aiohttp-cors answers only on the resources it was added to). Routes added with
    ``cors.add(route)`` and no options add their method to the resource's allowed methods
    (aiohttp-cors allows them); per-route options, or options that differ by origin, have no
    policy equivalent (``ValueError`` naming the key). ``allow_methods`` left unset is read as
    the safelisted methods only: a policy cannot refuse those, though aiohttp-cors refuses a
    preflight that asks for one.
    """
    from aiohttp import web

    if not isinstance(source, web.Application):  # (an Application is a mapping too)
        if isinstance(source, Mapping):
            return c.policy_of(_rules(_parsed(source), "defaults"), ())
        raise ValueError(f"{source!r}: neither an aiohttp web.Application nor a defaults mapping")
    import aiohttp_cors
    from aiohttp_cors.urldispatcher_router_adapter import ResourcesUrlDispatcherRouterAdapter

    cors: Any = source.get(aiohttp_cors.APP_CONFIG_KEY)
    if cors is None:
        raise ValueError(f"{source!r}: aiohttp_cors.setup was not applied to this app")
    adapter = cors._cors_impl._router_adapter
    if not isinstance(adapter, ResourcesUrlDispatcherRouterAdapter):
        raise ValueError(f"{source!r}: a custom router_adapter ({adapter!r}) cannot be read")
    defaults: Any = adapter._default_config
    configured: Mapping[Any, Any] = adapter._resource_config

    ordered = sorted(
        (
            (_resource_match(resource), n, resource)
            for n, resource in enumerate(source.router.resources())
        ),
        key=lambda entry: (-len(entry[0][0]), entry[1]),
    )
    top = _NOTHING
    paths: list[PathRule] = []
    for (_key, pattern), _n, resource in ordered:
        config = configured.get(resource)
        where = f"resource {resource.canonical!r}"
        rules = _NOTHING if config is None else _resource_rules(config, defaults, where)
        if _CATCH_ALL_PATTERN.fullmatch(pattern):
            top = rules
            break  # aiohttp never gets past a catch-all
        paths.append(PathRule(pattern=pattern, rules=rules, max_age_set=True))
    return c.policy_of(top, tuple(paths))


def _parsed(source: Mapping[Any, Any]) -> dict[str, Any]:
    import aiohttp_cors

    parsed: dict[str, Any] = {}
    for origin, options in source.items():
        if not isinstance(origin, str):
            raise ValueError(f"allow_origins: {origin!r} is not a string")
        if isinstance(options, aiohttp_cors.ResourceOptions):
            parsed[origin] = options
            continue
        try:
            parsed[origin] = aiohttp_cors.ResourceOptions(**options)  # type: ignore[no-untyped-call]
        except TypeError as exc:
            raise ValueError(f"{origin}: {exc}") from None
    return parsed


def _resource_match(resource: Any) -> tuple[str, str]:
    """``(index key, regular expression)`` of what ``resource`` matches, as aiohttp tries it."""
    from aiohttp import web

    if isinstance(resource, web.PlainResource):
        path = resource.canonical
        return _index_key(path), re.escape(path)
    if isinstance(resource, web.DynamicResource):
        return _index_key(resource.canonical), resource.get_info()["pattern"].pattern
    if isinstance(resource, web.StaticResource):  # (aiohttp normalizes dot segments there)
        prefix = resource.canonical
        return _index_key(prefix), f"{re.escape(prefix)}(?:/.*)?"
    raise ValueError(
        f"[[paths]]: {resource!r}: only plain, dynamic and static resources are read as tables "
        "(a sub-application is read from its own app)"
    )


_OPTION_KEYS: Final = (
    "allow_credentials",
    "expose_headers",
    "allow_headers",
    "max_age",
    "allow_methods",
)
"""``ResourceOptions``' fields, named as the policy keys they become."""


def _resource_rules(config: Any, defaults: Any, where: str) -> PolicyRules:
    """The policy a resource's aiohttp-cors configuration means: its options over the defaults,
    with the methods of the routes added to it without options."""
    by_origin = ChainMap(config.default_config, defaults)
    inherited = frozenset(defaults) - frozenset(config.default_config)
    rules = _rules(by_origin, where, inherited)
    extra: list[str] = []
    for method, route_config in config.method_config.items():
        if not route_config:
            if method != "*":
                extra.append(method.upper())
            continue
        routed = _rules(ChainMap(route_config, by_origin), f"{where}, {method} route", inherited)
        for key in ("allow_origins", "allow_origin_patterns", *_OPTION_KEYS):
            if key != "allow_methods" and getattr(routed, key) != getattr(rules, key):
                raise ValueError(
                    f"{key}: the {method} route of {where} has options of its own; a policy's "
                    "options do not vary by method"
                )
        extra.append(method.upper())
    if rules is _NOTHING or ANY in (rules.allow_methods or ()):
        return rules
    methods = tuple(dict.fromkeys((*(rules.allow_methods or ()), *extra)))
    return dataclasses.replace(rules, allow_methods=methods)


def _rules(
    by_origin: Mapping[str, Any], where: str, inherited: frozenset[str] = frozenset()
) -> PolicyRules:
    """One origin mapping's options as policy keys; ``ValueError`` where they differ by origin
    (``inherited``: the origins whose options come from the defaults, named so)."""
    if not by_origin:
        return _NOTHING
    entries = dict(by_origin.items())
    for key in _OPTION_KEYS:
        values = {origin: getattr(options, key) for origin, options in entries.items()}
        if len(set(values.values())) > 1:
            shown = ", ".join(
                f"{o}{' (from the defaults)' if o in inherited else ''}: {v!r}"
                for o, v in values.items()
            )
            raise ValueError(
                f"{key}: aiohttp-cors options differ by origin at {where} ({shown}); a policy "
                "has one value for every allowed origin"
            )
    options = next(iter(entries.values()))
    listed, patterns = _origins(entries)
    return PolicyRules(
        allow_origins=listed,
        allow_origin_patterns=patterns,
        allow_methods=_names(options.allow_methods, upper=True),
        allow_headers=_names(options.allow_headers, upper=False),
        expose_headers=_exposed(options.expose_headers),
        allow_credentials=bool(options.allow_credentials),
        max_age=options.max_age,
        allow_private_network=False,
    )


def _origins(origins: Collection[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``allow_origins`` and ``allow_origin_patterns`` for origins compared exactly: an entry a
    browser never sends as is (``https://App.example``) becomes an escaped pattern, which keeps
    it in view and matches what aiohttp-cors matches: nothing."""
    if ANY in origins:
        return (ANY,), ()
    listed: list[str] = []
    patterns: list[str] = []
    for origin in origins:
        if canonical_origin(origin) == origin:
            listed.append(origin)
        else:
            patterns.append(re.escape(origin))
    return tuple(listed), tuple(patterns)


def _names(value: Any, *, upper: bool) -> tuple[str, ...]:
    if value is None:
        return ()
    if value == ANY:
        return (ANY,)
    return tuple(sorted(name.upper() if upper else name.lower() for name in value))


def _exposed(value: Any) -> tuple[str, ...]:
    # aiohttp-cors's '*' lists every header of the response (the simple ones aside): all of them
    return (ANY,) if value == ANY else tuple(sorted(value))
