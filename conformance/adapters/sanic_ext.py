r"""sanic-ext's CORS (the ``CORS_*`` settings of ``Extend``, and its ``@cors`` decorator per route)
configured from a policy, on a Sanic app whose routes (every path) serve the demo application;
and a policy read back from an app's sanic-ext configuration. The app runs in process through
Sanic's ASGI interface, its lifespan included (sanic-ext sets CORS up at server start).

``[[paths]]`` tables become routes, each with its own ``@cors(...)`` (which overrides the
``CORS_*`` settings for that route). Sanic does not route in declaration order: it tries static
routes first, then routes with typed parameters, then the routes whose parameter may hold a
``/`` (``<name:path>``, or a regular expression with a ``/`` in it) by their number of segments
and, among equals, in the order they were added. So each table's route is ``/<cors_paths_N:R>``,
one segment whose regular expression ``R`` (with a ``/`` in it) matches exactly what follows the
leading ``/`` of the paths the table matches; the tables' routes are added in declaration order,
before the catch-all ``/<path:path>`` (one segment too): the first matching table wins, as in the
policy. ``/`` (a static route, tried first) takes the configuration of the first table that
matches it, if any. Sanic routes on the raw, still percent-encoded path, as the policy matches
it (:data:`SUPPORTS_PATHS`).

What it cannot express:

* ``allow_private_network``: sanic-ext has no such option;
* a ``[[paths]]`` pattern that cannot be rewritten for a route (see
  :func:`conformance.adapters._paths.rest_regex`: it must begin with a literal ``/``, and
  what follows must stand alone), or that holds a character Sanic's route syntax
  ``<name:regex>`` does not carry (``%``, which Sanic percent-decodes in a route, ``<``, ``>``,
  ``=``, where it cuts the regular expression), or a group of its own (Sanic makes the
  parameter of a route's one group).

Any origin with credentials is ``CORS_ORIGINS=[re.compile(".*")]`` (``origin=[...]`` for a route;
sanic-ext reflects a matching origin; ``"*"`` with credentials is refused at start-up). Any origin
without credentials is ``CORS_SEND_WILDCARD`` (``"*"`` sent as is), which sanic-ext applies
app-wide, before a route's own ``origin``: a table that restricts origins below such a top level
is not honoured, a divergence the suite reports. Sanic routes only the standard methods
(:data:`ROUTED_METHODS`); requests with other methods are skipped.
"""

from __future__ import annotations

import inspect
import itertools
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from conformance.adapters import Inexpressible
from conformance.adapters import _common as c
from conformance.adapters._paths import match_pattern, rest_regex, root_owner
from conformance.servers.reference import demo_response
from conformance.targets import Target
from reference.policy import (
    ANY,
    NULL,
    CorsPolicy,
    EffectivePolicy,
    PathRule,
    PolicyRules,
    canonical_origin,
)

NAME: Final = "sanic-ext"
FRAMEWORK: Final = "sanic-ext"
ROUTED_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
SUPPORTS_PATHS: Final = True
TABLE_NAME: Final = "cors_paths_{}"
"""A ``[[paths]]`` table's route (and its parameter), by number (counting from 1)."""
_APP_NUMBERS = itertools.count(1)
_NOT_IN_ROUTES: Final = frozenset("%<>=")
_SLASH_NAMED: Final = "(?:/){0}"
"""Matches nothing, but names a ``/``: Sanic tries a route in its ordered list (rather than its
tree of segments) only when the regular expression holds one."""


def package_version() -> str:
    return f"{c.package_version('sanic-ext')} (sanic {c.package_version('sanic')})"


def _origins(rules: CorsPolicy | EffectivePolicy) -> str | list[str | re.Pattern[str]]:
    if c.any_origin(rules) and rules.allow_credentials:
        return [re.compile(".*")]
    if c.any_origin(rules):
        return ANY
    origins: list[str | re.Pattern[str]] = [*c.listed_origins(rules)]
    return origins + [re.compile(c.fullmatch_pattern(p)) for p in rules.allow_origin_patterns]


def _settings(rules: EffectivePolicy) -> dict[str, Any]:
    c.refuse_private_network(rules, FRAMEWORK)
    return {
        "CORS_ORIGINS": _origins(rules),
        "CORS_SEND_WILDCARD": c.any_origin(rules) and not rules.allow_credentials,
        "CORS_SUPPORTS_CREDENTIALS": rules.allow_credentials,
        "CORS_METHODS": c.methods(rules),
        "CORS_ALLOW_HEADERS": [ANY] if c.any_header(rules) else c.header_list(rules),
        "CORS_EXPOSE_HEADERS": c.exposed(rules),
        "CORS_MAX_AGE": "" if rules.max_age is None else str(rules.max_age),
    }


def _decorator(rules: EffectivePolicy) -> dict[str, Any]:
    """The arguments of ``sanic_ext.cors(...)`` for one table's rules (every key, so that none
    falls back to the ``CORS_*`` settings)."""
    c.refuse_private_network(rules, FRAMEWORK)
    return {
        "origin": _origins(rules),
        "supports_credentials": rules.allow_credentials,
        "allow_methods": c.methods(rules),
        "allow_headers": [ANY] if c.any_header(rules) else c.header_list(rules),
        "expose_headers": c.exposed(rules),
        "max_age": "" if rules.max_age is None else str(rules.max_age),
    }


def _route_regex(rule: PathRule) -> str | None:
    rest = rest_regex(rule, FRAMEWORK)
    if rest is None or rule.pattern is None:
        return rest
    bad = sorted(_NOT_IN_ROUTES.intersection(rest))
    if bad:
        raise Inexpressible(
            f"[[paths]]: pattern {rule.pattern!r} holds {''.join(bad)!r}: Sanic's route syntax "
            "<name:regex> does not carry it ('%' is percent-decoded in a route, '=' cuts the "
            "regular expression, '<' and '>' delimit it)"
        )
    if re.compile(rest).groups:
        raise Inexpressible(
            f"[[paths]]: pattern {rule.pattern!r} has a group of its own: Sanic makes a route's "
            "group its parameter, and takes no more than one"
        )
    return rest


def configuration(policy: CorsPolicy) -> dict[str, Any]:
    """``settings``: the ``CORS_*`` settings of the Sanic app (the top level); ``routes``: for
    each ``[[paths]]`` table that can match a path, in declaration order, its route's ``name``
    and ``uri``, whether ``/`` is its (``root``), and the arguments of its ``@cors(...)``
    (``cors``)."""
    settings = _settings(policy.top_level)
    owner = root_owner(policy)
    routes: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, rule in enumerate(policy.paths, start=1):
        regex = _route_regex(rule)
        if regex is None or regex in seen:
            continue  # matches no path, or none an earlier table leaves
        seen.add(regex)
        label = f"(?:{regex})" + ("" if "/" in regex else _SLASH_NAMED)
        name = TABLE_NAME.format(number)
        routes.append(
            {
                "name": name,
                "uri": f"/<{name}:{label}>",
                "root": number == owner,
                "cors": _decorator(policy.resolved[number]),
            }
        )
    return {"settings": settings, "routes": routes}


def build_app(policy: CorsPolicy) -> Any:
    from sanic import HTTPResponse, Sanic
    from sanic_ext import Extend, cors

    config = configuration(policy)
    app = Sanic(f"cors_conformance_{next(_APP_NUMBERS)}", configure_logging=False)
    app.config.update(config["settings"])
    app.config.TOUCHUP = False  # Sanic rewrites its own modules at start-up, once per process
    app.config.OAS = False  # no /docs routes (static ones, which Sanic tries before any other)

    def handler() -> Any:
        # One function per route: @cors marks the function itself. No annotations: Sanic reads
        # the handler's, and these names are local.
        async def demo(request, **_):  # type: ignore[no-untyped-def]
            status, headers, body = demo_response(request.method, request.path)
            response = HTTPResponse(body, status=status)
            for name, value in headers:
                if name.lower() != b"content-length":
                    response.headers[name.decode()] = value.decode()
            return response

        return demo

    methods = sorted(ROUTED_METHODS - {"OPTIONS"})
    top = handler()
    root = top
    for route in config["routes"]:
        decorated = cors(**route["cors"])(handler())
        app.add_route(decorated, route["uri"], methods=methods, name=route["name"])
        if route["root"]:
            root = decorated
    app.add_route(root, "/", methods=methods, name="root")
    app.add_route(top, "/<path:path>", methods=methods, name="demo")
    Extend(app)
    return app


def build_target(policy: CorsPolicy) -> Target:
    return c.LifespanAsgiTarget(build_app(policy), name=NAME)


# -- reading a configuration back -----------------------------------------------------------------


def read_policy(source: Any) -> CorsPolicy:
    """The policy a sanic-ext CORS configuration means.

    ``source`` is a Sanic app (its ``CORS_*`` settings, and the ``@cors(...)`` of its routes), or
    the ``CORS_*`` settings as a mapping; what is not set takes sanic-ext's defaults.

    For an app, each route group with a ``@cors`` of its own becomes a ``[[paths]]`` pattern
    table, the route as a regular expression over the raw path; the tables come in the order
    Sanic tries routes (static ones, then those with typed parameters, then those whose
    parameter may hold a ``/``, each by number of segments, then in the order they were added;
    the tree Sanic builds of typed parameters is taken in that order too, approximately), and
    routes without a ``@cors`` of their own that come before the last one with are tables too
    (of the settings), so that the first matching table is the route Sanic picks.

    ``CORS_METHODS`` unset (``""``) lists each route's own methods: the methods of the app's
    routes when they all route the same ones, Sanic's standard methods for a mapping.
    ``CORS_SEND_WILDCARD`` is app-wide in sanic-ext (a route's ``origin`` does not turn it off);
    the tables say what each route's ``@cors`` says.

    Raises :class:`ValueError` for what has no policy equivalent: ``CORS_AUTOMATIC_OPTIONS``
    off (preflights get no preflight headers), ``"*"`` sent as the origin with credentials,
    ``"*"`` among the exposed headers with credentials (sanic-ext sends it to credentialed
    requests as a name), a method list that differs between routes while ``CORS_METHODS`` is
    unset.
    """
    if isinstance(source, Mapping):
        return c.policy_of(_rules(source, {}, _standard_methods()), ())
    settings: Mapping[str, Any] = source.config
    methods = _app_methods(source)
    top = _rules(settings, {}, methods)
    return c.policy_of(top, _route_tables(source, settings, top, methods))


_DEFAULT_SETTINGS: dict[str, Any] = {}


def _setting(settings: Mapping[str, Any], key: str) -> Any:
    if not _DEFAULT_SETTINGS:
        from sanic_ext.config import Config

        for name, parameter in inspect.signature(Config.__init__).parameters.items():
            if name.startswith("cors"):
                _DEFAULT_SETTINGS[name.upper()] = parameter.default
    return settings.get(key, _DEFAULT_SETTINGS[key])


_NOTHING: Final = c.NO_CORS

_ROUTE_KEYS: Final = {
    # @cors's attribute on the handler -> the setting it overrides
    "_cors_origin": "CORS_ORIGINS",
    "_cors_supports_credentials": "CORS_SUPPORTS_CREDENTIALS",
    "_cors_allow_methods": "CORS_METHODS",
    "_cors_allow_headers": "CORS_ALLOW_HEADERS",
    "_cors_expose_headers": "CORS_EXPOSE_HEADERS",
    "_cors_max_age": "CORS_MAX_AGE",
}


def _rules(
    settings: Mapping[str, Any], route: Mapping[str, Any], methods: tuple[str, ...] | None
) -> PolicyRules:
    """What the settings mean, overridden by a route's ``@cors`` (keyed by setting name), as
    sanic-ext resolves them at request time."""

    def value(key: str) -> Any:
        return route[key] if key in route else _setting(settings, key)

    if not _setting(settings, "CORS"):
        return _NOTHING  # the extension sends no CORS headers
    if not _setting(settings, "CORS_AUTOMATIC_OPTIONS"):
        raise ValueError(
            "CORS_AUTOMATIC_OPTIONS: off: sanic-ext then answers preflights without "
            "Access-Control-Allow-Methods, -Headers or -Max-Age"
        )
    credentials = bool(value("CORS_SUPPORTS_CREDENTIALS"))
    origins, patterns = _origins_of(value("CORS_ORIGINS"))
    if not route and credentials and value("CORS_ORIGINS") == ANY:
        raise ValueError(
            "CORS_ORIGINS: '*' with CORS_SUPPORTS_CREDENTIALS: sanic-ext refuses to start"
        )
    if not route and credentials and ANY in origins and _setting(settings, "CORS_SEND_WILDCARD"):
        raise ValueError(
            "CORS_SEND_WILDCARD: with CORS_SUPPORTS_CREDENTIALS, sanic-ext sends '*' with "
            "Access-Control-Allow-Credentials, which a browser refuses"
        )
    expose = tuple(h.strip() for h in _split(value("CORS_EXPOSE_HEADERS")))
    if ANY in expose and credentials:
        raise ValueError(
            "CORS_EXPOSE_HEADERS: '*' with credentials: sanic-ext sends it to credentialed "
            "requests as a header name (and as every header to the others)"
        )
    listed_methods = tuple(m.strip().upper() for m in _split(value("CORS_METHODS")))
    if not listed_methods:
        if methods is None:
            raise ValueError(
                "CORS_METHODS: unset, so sanic-ext lists each route's own methods, and the "
                "app's routes do not all route the same methods"
            )
        listed_methods = methods
    headers = tuple(h.strip().lower() for h in _split(value("CORS_ALLOW_HEADERS")))
    return PolicyRules(
        allow_origins=origins,
        allow_origin_patterns=patterns,
        allow_methods=(ANY,) if ANY in listed_methods else listed_methods,
        allow_headers=(ANY,) if ANY in headers else headers,
        expose_headers=(ANY,) if ANY in expose else expose,
        allow_credentials=credentials,
        max_age=_max_age(value("CORS_MAX_AGE")),
        allow_private_network=False,
    )


def _split(value: Any) -> list[str]:
    """A setting as sanic-ext reads a list: a comma-separated string or a collection."""
    if not value:
        return []
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, set | frozenset):  # what @cors parses a list into
        items = sorted(value)
    else:
        items = list(value)
    return [str(item) for item in items if str(item).strip()]


def _origins_of(value: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``CORS_ORIGINS`` as ``_parse_allow_origins`` reads it: ``"*"`` (the string alone) any
    origin, else comma-separated exact origins; a compiled pattern, used with ``re.match``; a
    list of exact origins (``"*"`` among them is exact too) and patterns."""
    entries: list[Any]
    if isinstance(value, str):
        if value == ANY:
            return (ANY,), ()
        entries = [entry.strip() for entry in value.split(",")] if value else []
    elif isinstance(value, re.Pattern):
        entries = [value]
    else:
        entries = list(value or ())
    listed: list[str] = []
    patterns: list[str] = []
    for entry in entries:
        if isinstance(entry, re.Pattern):
            if entry == re.compile(".*"):  # sanic-ext's own wildcard
                listed.append(ANY)
                continue
            patterns.append(match_pattern(entry))
            if entry.match(NULL):  # a policy's patterns never match null: list it
                listed.append(NULL)
        elif entry != ANY and canonical_origin(entry) == entry:
            listed.append(entry)
        # else: compared as is ("*" too), so only a string no browser sends matches it
    return tuple(dict.fromkeys(listed)), tuple(dict.fromkeys(patterns))


def _max_age(value: Any) -> int | None:
    if isinstance(value, timedelta):
        value = int(value.total_seconds())
    return int(value) if value else None  # sanic-ext sends none for a falsy max-age (0 too)


def _standard_methods() -> tuple[str, ...]:
    from sanic.constants import HTTP_METHODS

    return tuple(str(m) for m in HTTP_METHODS)


# -- the routes of an app -------------------------------------------------------------------------


def _groups(app: Any) -> list[Any]:
    """The app's route groups, in the order Sanic tries them (see :func:`read_policy`)."""
    router = app.router
    static = list(router.static_routes.values())
    dynamic = list(router.dynamic_routes.values()) + list(router.regex_routes.values())
    tree = [g for g in dynamic if not _dynamic_path(g)]
    paths = [g for g in dynamic if _dynamic_path(g)]
    return static + sorted(tree, key=_depth, reverse=True) + sorted(paths, key=_depth, reverse=True)


def _depth(group: Any) -> int:
    return len(group[0].parts)


def _dynamic_path(group: Any) -> bool:
    """Whether Sanic tries the group in its ordered list (a parameter that may hold a ``/``)
    rather than in its tree of segments (``RouteGroup.dynamic_path``, which needs a finalized
    router)."""
    return any(
        param.label == "path" or "/" in param.label for param in group[0].defined_params.values()
    )


def _app_methods(app: Any) -> tuple[str, ...] | None:
    """The methods every route of the app routes (``None``: they differ); HEAD and OPTIONS,
    which sanic-ext adds to every route, aside."""
    found = {frozenset(group.methods) - {"HEAD", "OPTIONS"} for group in _groups(app)}
    if len(found) > 1:
        return None
    return tuple(sorted(found.pop() | {"HEAD", "OPTIONS"})) if found else _standard_methods()


def _route_overrides(group: Any) -> dict[str, Any]:
    """The ``@cors`` of a route group's handlers, keyed by the setting each overrides (merged as
    sanic-ext merges them at start-up)."""
    from sanic.helpers import Default

    merged: dict[str, Any] = {}
    for route in group:
        marked = getattr(route.handler, "__cors__", None)
        if marked is not None:
            merged.update(vars(marked))
    return {
        _ROUTE_KEYS[attribute]: value
        for attribute, value in merged.items()
        if attribute in _ROUTE_KEYS and not isinstance(value, Default)
    }


def _route_tables(
    app: Any, settings: Mapping[str, Any], top: PolicyRules, methods: tuple[str, ...] | None
) -> tuple[PathRule, ...]:
    entries: list[tuple[str, PolicyRules | None]] = []
    for group in _groups(app):
        overrides = _route_overrides(group)
        rules = _rules(settings, overrides, methods) if overrides else None
        entries.append((_group_regex(group), rules))
    own = [index for index, (_, rules) in enumerate(entries) if rules is not None]
    if not own:
        return ()
    return tuple(
        PathRule(pattern=regex, rules=rules or top, max_age_set=True)
        for regex, rules in entries[: own[-1] + 1]
    )


def _group_regex(group: Any) -> str:
    """A route as a regular expression over the raw path: static segments as they are, each
    parameter its type's (or its own) regular expression. (Without strict slashes, Sanic also
    routes ``/a/`` to ``/a`` when no route matches ``/a/``; that fallback is left out.)"""
    route = group[0]
    parts: list[str] = []
    for part in route.parts:
        if part.startswith("<"):
            _, _, _, pattern, _ = route.parse_parameter_string(part[1:-1])
            text = pattern if isinstance(pattern, str) else pattern.pattern
            parts.append(f"(?:{text.removeprefix('^').removesuffix('$')})")
        else:
            parts.append(re.escape(part))
    return "/" + "/".join(parts)
