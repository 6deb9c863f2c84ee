"""BlackSheep's CORS (``app.use_cors(...)``, ``app.add_cors_policy(...)``, ``@app.cors(name)``)
configured from a policy, on a BlackSheep app whose catch-all route serves the demo application;
and a policy read back from an app's CORS configuration.

The top level is the default policy (``use_cors``). Each ``[[paths]]`` table with a prefix becomes
a named policy (``add_cors_policy``) bound with ``@app.cors(name)`` to routes of its own handler:
the prefix itself (``/public``, which BlackSheep also matches as ``/public/``) and everything
below it (``/public/{path:tail}``), for every routed method. BlackSheep routes on the raw,
still-percent-encoded path (:data:`SUPPORTS_PATHS`). It orders routes by specificity, not in
registration order (literal routes first, then by number of segments, the catch-all last), so the
adapter keeps "the first matching table wins" itself: a table whose prefix lies under an earlier
table's never applies and gets no routes, and a table after a more specific one is already
matched after it. A table whose prefix is ``/`` applies to every path: it becomes the default
policy, and what follows it is never reached.

BlackSheep matches routes case-insensitively: ``/PUBLIC/x`` is served by the ``/public`` route,
with that route's CORS policy (:data:`FOLDS_CASE`). The policy's prefixes are case-sensitive, but
what the application serves at ``/PUBLIC/x`` *is* the ``/public`` resource, so the suite skips
requests whose table the router's case folding changes, as it skips percent-encoded paths for
routers that decode them (:func:`conformance.frameworks.routes_elsewhere`).

What it cannot express:

* ``[[paths]]`` with a ``pattern``: BlackSheep routes are path templates (a literal path with
  parameters, always accepting a trailing ``/``, matched case-insensitively), not regular
  expressions, so a full match on the raw path has no route;
* ``[[paths]]`` with a prefix that holds a character BlackSheep's route syntax gives a meaning
  (``*``, ``{``, ``}``, ``?``, ``+``, ``|``, ``^``, ``$``, ``\\``, or ``:``/``<`` after a
  ``/``): route patterns have no escape for them;
* ``[[paths]]`` with a prefix ``/p`` after a table for ``/p/``: a BlackSheep route matches with
  and without a trailing slash, so ``/p/`` cannot go to the first table and ``/p`` to the second;
* ``allow_origin_patterns``: origins are an exact list;
* ``max_age`` unset: BlackSheep always sends ``Access-Control-Max-Age`` (5 by default);
* ``allow_private_network``: no such option;
* ``allow_methods = ["*"]`` with credentials: the methods are sent as listed, and under
  credentials a browser reads ``*`` as a method name.

BlackSheep's CORS middleware answers only requests that match a route, so the demo is routed for
the standard methods (:data:`ROUTED_METHODS`); requests with other methods are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from blacksheep import Application, Request, Response
from blacksheep.contents import Content
from blacksheep.server.cors import CORSPolicy
from blacksheep.server.routing import FilterRoute, Route, Router

from conformance.adapters import Inexpressible
from conformance.adapters import _common as c
from conformance.servers.reference import demo_response
from conformance.targets import Target
from reference.policy import (
    ANY,
    CorsPolicy,
    EffectivePolicy,
    PathRule,
    PolicyRules,
    canonical_origin,
)

NAME: Final = "blacksheep"
FRAMEWORK: Final = "BlackSheep"
BLACKSHEEP_DEFAULT_MAX_AGE: Final = 5
ROUTED_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
SUPPORTS_PATHS: Final = True
FOLDS_CASE: Final = True
USE_CORS_KEYS: Final = frozenset(
    {
        "allow_methods",
        "allow_headers",
        "allow_origins",
        "allow_credentials",
        "max_age",
        "expose_headers",
    }
)
"""The keyword arguments ``use_cors`` and ``add_cors_policy`` take (besides the name)."""

# Characters a BlackSheep route pattern gives a meaning: the catch-all, parameters, and the
# regular-expression syntax it passes through unescaped (it escapes only ". [ ] ( )").
_ROUTE_SYNTAX: Final = re.compile(r"[*{}?+|^$\\]|/[:<]")
_TAIL_ROUTE: Final = re.compile(r"(?P<head>.*)/(?:\{path:\w+\}|<path:\w+>)")

Handler = Callable[[Request], Awaitable[Response]]


def package_version() -> str:
    return c.package_version("blacksheep")


# -- configuring -----------------------------------------------------------------------------------


def _options(rules: CorsPolicy | EffectivePolicy) -> dict[str, Any]:
    """The keyword arguments of ``use_cors`` / ``add_cors_policy`` for one set of rules."""
    c.refuse_patterns(rules, FRAMEWORK)
    max_age = c.refuse_unset_max_age(rules, FRAMEWORK, BLACKSHEEP_DEFAULT_MAX_AGE)
    c.refuse_private_network(rules, FRAMEWORK)
    c.refuse_literal_wildcard_under_credentials(rules, "allow_methods", FRAMEWORK)
    return {
        "allow_origins": [ANY] if c.any_origin(rules) else c.listed_origins(rules),
        "allow_methods": c.methods(rules),
        "allow_headers": [ANY] if c.any_header(rules) else c.header_list(rules),
        "allow_credentials": rules.allow_credentials,
        "expose_headers": c.exposed(rules),
        "max_age": max_age,
    }


def _matches_everything(prefix: str) -> bool:
    return prefix in ("", "/")


def _routes_for(prefix: str) -> list[str]:
    """The route patterns that cover ``prefix`` and everything below it (segment-wise)."""
    if prefix.endswith("/"):
        return [f"{prefix}{{path:tail}}"]
    return [prefix, f"{prefix}/{{path:tail}}"]


def configuration(policy: CorsPolicy) -> dict[str, Any]:
    """``default``: the keyword arguments of ``app.use_cors(...)``; ``named``: for each
    ``[[paths]]`` table that gets routes, in declaration order, the name given to
    ``app.add_cors_policy(name, ...)``, its keyword arguments and the route patterns bound to it
    with ``@app.cors(name)``."""
    named: list[dict[str, Any]] = []
    default: dict[str, Any] | None = None
    for index, rule in enumerate(policy.paths, start=1):
        if rule.prefix is None:
            raise Inexpressible(
                "[[paths]]: a pattern table: BlackSheep routes are path templates (literal paths "
                "with parameters, matched case-insensitively and with or without a trailing '/'), "
                "not regular expressions, so no route fully matches the pattern on the raw path"
            )
        prefix = rule.prefix
        syntax = _ROUTE_SYNTAX.search(prefix)
        if syntax is not None:
            raise Inexpressible(
                f"[[paths]]: prefix {prefix!r}: BlackSheep route patterns give {syntax.group()!r} "
                "a meaning and have no escape for it"
            )
        earlier = policy.paths[: index - 1]
        if any(other.matches(prefix) for other in earlier):
            continue  # every path under it matches an earlier table: it never applies
        if not _matches_everything(prefix) and not prefix.startswith("/"):
            continue  # no request path starts otherwise: it never applies
        if any(other.prefix == prefix + "/" for other in earlier):
            raise Inexpressible(
                f"[[paths]]: prefix {prefix!r} after {prefix + '/'!r}: a BlackSheep route "
                f"matches with and without a trailing '/', so {prefix + '/'!r} cannot go to the "
                f"earlier table and {prefix!r} to this one"
            )
        options = _options(policy.resolved[index])
        if _matches_everything(prefix):
            default = options  # every path no earlier table matches: nothing after it applies
            break
        named.append({"name": f"paths-{index}", "options": options, "routes": _routes_for(prefix)})
    if default is None:
        default = _options(policy.top_level)
    return {"default": default, "named": named}


async def _demo(request: Request) -> Response:
    status, headers, body = demo_response(request.method, request.url.path.decode("latin-1"))
    content_type = b"text/plain; charset=utf-8"
    extra = [(n, v) for n, v in headers if n.lower() not in (b"content-type", b"content-length")]
    return Response(status, extra, Content(content_type, body) if body else None)


def _new_handler() -> Handler:
    """A handler of its own (``@app.cors(name)`` binds every route of a handler), serving the
    demo."""

    async def demo(request: Request) -> Response:
        return await _demo(request)

    return demo


def build_app(policy: CorsPolicy) -> Any:
    config = configuration(policy)
    app = Application(router=Router())  # not the module-level default router
    app.use_cors(**config["default"])
    for table in config["named"]:
        app.add_cors_policy(table["name"], **table["options"])
        handler = _new_handler()
        for pattern in table["routes"]:
            for method in sorted(ROUTED_METHODS):
                app.router.add(method, pattern, handler)
        app.cors(table["name"])(handler)
    demo = _new_handler()
    for method in sorted(ROUTED_METHODS - {"OPTIONS"}):  # use_cors routes OPTIONS * itself
        app.router.add(method, "/", demo)
        app.router.add(method, "*", demo)
    return app


def build_target(policy: CorsPolicy) -> Target:
    return c.LifespanAsgiTarget(build_app(policy), name=NAME)


# -- reading a configuration back -----------------------------------------------------------------


def read_policy(source: Any) -> CorsPolicy:
    """The policy a BlackSheep CORS configuration means.

    ``source`` is a BlackSheep ``Application`` that ``use_cors`` (and ``add_cors_policy``) was
    applied to, or the keyword arguments of ``use_cors`` as a mapping. BlackSheep's defaults fill
    what is not given (``max_age`` 5, its list of exposed headers). Routes bound to a named
    policy with ``@app.cors(name)`` become ``[[paths]]`` tables, in the order BlackSheep tries
    the routes: a literal route with its ``{path:...}`` route below it is a prefix table, a
    ``{path:...}`` route alone a prefix ending in ``/``, a literal route alone a pattern table
    (the path, with or without a trailing ``/``), and any other route a pattern table of its
    regular expression. Route patterns keep their case: BlackSheep matches them
    case-insensitively, which the suite then finds.

    Raises ``ValueError`` (naming the key) for what no policy means: a route bound to different
    policies for different methods, ``*`` as methods or exposed headers with credentials (sent
    literally), or methods that leave out GET, HEAD or POST while an origin is allowed
    (BlackSheep then rejects those simple requests, which a policy always allows).
    """
    if isinstance(source, Mapping):
        unknown = sorted(set(source) - USE_CORS_KEYS)
        if unknown:
            raise ValueError(f"{unknown[0]}: use_cors takes no such argument")
        top = _policy_rules(CORSPolicy(**source), "use_cors")
        return c.policy_of(top, ())
    strategy = getattr(source, "_cors_strategy", None)
    if not isinstance(source, Application) or strategy is None:
        raise ValueError(f"{source!r}: not a BlackSheep Application with use_cors applied")
    top = _policy_rules(strategy.default_policy, "use_cors")
    names = {id(p): name for name, p in strategy.policies.items()}
    entries = _bound_routes(source.router, strategy.get_policy_by_route, names)
    return c.policy_of(top, _path_rules(entries, names))


def _policy_rules(policy: CORSPolicy, where: str) -> PolicyRules:
    """Every key of one BlackSheep ``CORSPolicy`` (``where`` names it in errors)."""
    origins = tuple(sorted(o for o in policy.allow_origins if canonical_origin(o) == o))
    methods = tuple(sorted(policy.allow_methods))
    credentials = policy.allow_credentials
    if credentials and ANY in methods:
        raise ValueError(
            f"allow_methods ({where}): '*' with allow_credentials: BlackSheep sends it literally, "
            "and under credentials a browser reads it as a method name; no policy means that"
        )
    if credentials and ANY in policy.expose_headers:
        raise ValueError(
            f"expose_headers ({where}): '*' with allow_credentials: BlackSheep sends it "
            "literally, and under credentials a browser reads it as a header name; no policy "
            "means that"
        )
    missing = [m for m in c.SAFELISTED_METHODS if m not in methods]
    if origins and ANY not in methods and missing:
        raise ValueError(
            f"allow_methods ({where}): {', '.join(missing)} not listed: BlackSheep rejects "
            "simple requests with an unlisted method, which a policy always allows"
        )
    return PolicyRules(
        allow_origins=origins,
        allow_origin_patterns=(),
        allow_methods=methods,
        allow_headers=tuple(sorted(policy.allow_headers)),
        expose_headers=tuple(sorted(policy.expose_headers)),
        allow_credentials=credentials,
        max_age=policy.max_age,
        allow_private_network=False,
    )


@dataclass(frozen=True, slots=True)
class _Entry:
    """One route pattern, in the order BlackSheep tries it, and the named policy bound to it on
    every method it is routed for (``None``: the default)."""

    route: Route
    policy: CORSPolicy | None


def _all_routes(router: Router) -> Iterator[tuple[str, Route]]:
    for method, routes in router.routes.items():
        for route in routes:
            yield method.decode(), route
    yield from router.registered_routes  # not applied yet (the app has not started)


def _sort_key(route: Route) -> tuple[bool, int, bool, int, int]:
    """``Router.sort_routes`` as one key (its stable sorts, last one first)."""
    return (
        route.pattern in (b"*", b"/*"),
        -len(route.filters) if isinstance(route, FilterRoute) else 0,
        b".*" in route.rx.pattern,
        len(route.param_names),
        -route.pattern.count(b"/"),
    )


def _bound_routes(
    router: Router,
    policy_of: Callable[[Route], CORSPolicy | None],
    names: Mapping[int, str],
) -> list[_Entry]:
    first: dict[bytes, Route] = {}
    bound: dict[bytes, CORSPolicy | None] = {}
    for method, route in _all_routes(router):
        policy = policy_of(route)
        if policy is not None and isinstance(route, FilterRoute) and route.filters:
            raise ValueError(
                f"[[paths]]: route {route.pattern.decode()!r} is bound to CORS policy "
                f"{names.get(id(policy), '?')!r} only for requests its filters accept (host, "
                "headers, query); a [[paths]] table depends on the path alone"
            )
        if route.pattern not in first:
            first[route.pattern] = route
            bound[route.pattern] = policy
        elif bound[route.pattern] is not policy:
            which = [
                "the default" if p is None else repr(names.get(id(p), "?"))
                for p in (bound[route.pattern], policy)
            ]
            raise ValueError(
                f"[[paths]]: route {route.pattern.decode()!r} is bound to {which[0]} CORS policy "
                f"for some methods and to {which[1]} for {method}; a [[paths]] table applies to "
                "every method"
            )
    ordered = sorted(first.values(), key=_sort_key)
    return [_Entry(route, bound[route.pattern]) for route in ordered]


def _literal(pattern: str) -> bool:
    return _ROUTE_SYNTAX.search(pattern) is None


@dataclass(frozen=True, slots=True)
class _Table:
    """A ``[[paths]]`` table read from one route; ``exact`` is the path of a literal route, which
    BlackSheep matches with or without a trailing ``/`` (``/`` itself only as is)."""

    rule: PathRule
    policy: CORSPolicy | None
    exact: str | None = None

    def matched_paths(self) -> tuple[str, ...]:
        assert self.exact is not None
        return (self.exact,) if self.exact == "/" else (self.exact, self.exact + "/")


def _table(route: Route, policy: CORSPolicy | None, rules: PolicyRules) -> _Table:
    pattern = route.pattern.decode()
    if pattern in ("*", "/*"):
        return _Table(PathRule(prefix="/", rules=rules), policy)
    if _literal(pattern):
        regex = "/" if pattern == "/" else re.escape(pattern) + "/?"
        return _Table(PathRule(pattern=regex, rules=rules), policy, exact=pattern)
    tail = _TAIL_ROUTE.fullmatch(pattern)
    if tail is not None and _literal(tail["head"]):
        return _Table(PathRule(prefix=tail["head"] + "/", rules=rules), policy)
    regex = route.rx.pattern.decode().removeprefix("^").removesuffix("$")
    return _Table(PathRule(pattern=regex, rules=rules), policy)


def _path_rules(entries: list[_Entry], names: Mapping[int, str]) -> tuple[PathRule, ...]:
    """The ``[[paths]]`` tables for BlackSheep's routes, in the order it tries them: one per
    route up to the last one bound to a named policy (routes of the default policy become tables
    that override nothing, where they come before a route they may shadow)."""
    bound = [i for i, e in enumerate(entries) if e.policy is not None]
    if not bound:
        return ()
    rules_of: dict[int, PolicyRules] = {}
    tables: list[_Table] = []
    for entry in entries[: bound[-1] + 1]:
        if entry.policy is None:
            rules = PolicyRules()
        else:
            key = id(entry.policy)
            if key not in rules_of:
                rules_of[key] = _policy_rules(entry.policy, repr(names.get(key, "?")))
            rules = rules_of[key]
        tables.append(_table(entry.route, entry.policy, rules))
    return tuple(table.rule for table in _merged(_pruned(tables)))


def _any_matches(tables: list[_Table], paths: tuple[str, ...]) -> bool:
    return any(t.rule.matches(path) for t in tables for path in paths)


def _pruned(tables: list[_Table]) -> list[_Table]:
    """Without the default policy's literal routes that no later named table matches."""
    out: list[_Table] = []
    for i, table in enumerate(tables):
        if table.policy is None and table.exact is not None:
            later = [t for t in tables[i + 1 :] if t.policy is not None]
            if not _any_matches(later, table.matched_paths()):
                continue
        out.append(table)
    return out


def _merged(tables: list[_Table]) -> list[_Table]:
    """A literal route ``/p`` and the ``/p/{path:...}`` route of the same policy as one prefix
    table ``/p``, in the place of the latter, provided no table between them matches ``/p`` or
    ``/p/``."""
    out = list(tables)
    dropped: set[int] = set()
    for i, table in enumerate(tables):
        if table.policy is None or table.exact is None or table.exact == "/":
            continue
        for j in range(i + 1, len(tables)):
            below = tables[j]
            if below.rule.prefix == table.exact + "/" and below.policy is table.policy:
                if not _any_matches(tables[i + 1 : j], table.matched_paths()):
                    merged = PathRule(prefix=table.exact, rules=below.rule.rules)
                    out[j] = _Table(merged, below.policy)
                    dropped.add(i)
                break
    return [t for i, t in enumerate(out) if i not in dropped]
