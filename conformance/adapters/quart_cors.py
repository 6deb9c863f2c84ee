r"""quart-cors (``quart_cors.cors``) configured from a policy, on a Quart app whose routes (every
path, every method) serve the demo application; and a policy read back from an app's quart-cors
configuration.

``[[paths]]`` tables become blueprints, each with its own ``cors(blueprint, ...)``: Quart runs a
blueprint's after-request functions before the app's, and quart-cors leaves a response alone once
one of them has set its headers, so a route of the blueprint gets the blueprint's configuration.
Each blueprint owns one route, ``/<cors_paths_N:rest>``, whose converter matches exactly what
follows the leading ``/`` of the paths its table matches. Werkzeug does not route in declaration
order (a static segment beats a converter), but it tries converters that consume the rest of the
path by weight, then in the order they were added; these routes, all of one weight and lighter
than the app's catch-all ``/<path:path>``, are added in declaration order, so the first matching
table wins, as in the policy. ``/`` (a static rule, tried before any converter) belongs to the
blueprint of the first table that matches it, if any. Werkzeug matches the *percent-decoded*
path, where the policy matches the raw one: requests whose decoded path falls under another table
than their raw path are the router's business and skipped (:data:`DECODES_PATHS`).

What it cannot express:

* ``allow_private_network``: quart-cors has no such option;
* ``allow_methods = ["*"]`` with credentials: the methods are sent as listed, and under
  credentials a browser reads ``*`` as a method name;
* a ``[[paths]]`` pattern this adapter cannot rewrite for a converter, which sees the path
  without its leading ``/``: the pattern must begin with a literal ``/`` (not repeated, not one
  alternative of several), and what follows it must not depend on what precedes it (``^``,
  ``\A``, a look-behind) or refer back to a group (a converter's regular expression is itself a
  group of the rule's).

Any origin with credentials is ``allow_origin=[re.compile(".*")]`` (quart-cors reflects a matching
origin; with ``"*"`` and credentials it raises on every request).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any, Final

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

NAME: Final = "quart-cors"
FRAMEWORK: Final = "quart-cors"
DECODES_PATHS: Final = True
TABLE_NAME: Final = "cors_paths_{}"
"""A ``[[paths]]`` table's blueprint, and its route's converter, by number (counting from 1)."""


def package_version() -> str:
    return f"{c.package_version('quart-cors')} (quart {c.package_version('quart')})"


# -- configuration --------------------------------------------------------------------------------


def _options(rules: EffectivePolicy) -> dict[str, Any]:
    """The keyword arguments of ``cors(app_or_blueprint, ...)`` for one scope's rules."""
    c.refuse_private_network(rules, FRAMEWORK)
    c.refuse_literal_wildcard_under_credentials(rules, "allow_methods", FRAMEWORK)
    origins: list[str | re.Pattern[str]]
    if c.any_origin(rules) and rules.allow_credentials:
        origins = [re.compile(".*")]
    elif c.any_origin(rules):
        origins = [ANY]
    else:
        origins = [*c.listed_origins(rules)]
        origins += [re.compile(c.fullmatch_pattern(p)) for p in rules.allow_origin_patterns]
    return {
        "allow_origin": origins,
        "allow_credentials": rules.allow_credentials,
        "allow_methods": c.methods(rules),
        "allow_headers": [ANY] if c.any_header(rules) else c.header_list(rules),
        "expose_headers": c.exposed(rules),
        "max_age": rules.max_age,
        "send_origin_wildcard": c.any_origin(rules) and not rules.allow_credentials,
    }


def configuration(policy: CorsPolicy) -> dict[str, Any]:
    """``cors``: the keyword arguments of ``quart_cors.cors(app, ...)`` (the top level);
    ``blueprints``: for each ``[[paths]]`` table that can match a path, in declaration order, its
    blueprint's ``name``, the regular expression of its route's converter (``rest``, matched
    against what follows the leading ``/``), whether ``/`` is its (``root``), and the keyword
    arguments of its ``cors(blueprint, ...)`` (``cors``)."""
    top = _options(policy.top_level)
    owner = root_owner(policy)
    blueprints: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, rule in enumerate(policy.paths, start=1):
        rest = rest_regex(rule, FRAMEWORK)
        if rest is None or rest in seen:
            continue  # matches no path, or none an earlier table leaves
        seen.add(rest)
        blueprints.append(
            {
                "name": TABLE_NAME.format(number),
                "rest": rest,
                "root": number == owner,
                "cors": _options(policy.resolved[number]),
            }
        )
    return {"cors": top, "blueprints": blueprints}


def build_app(policy: CorsPolicy) -> Any:
    from quart import Blueprint, Quart, Response, request
    from quart_cors import cors
    from werkzeug.routing import BaseConverter

    config = configuration(policy)
    app = Quart("cors_conformance_quart", static_folder=None)  # no /static/<path:filename>

    async def demo(**_: Any) -> Response:  # the routing's arguments are not used
        status, headers, body = demo_response(request.method, request.path)
        response = Response(body, status=status)
        for name, value in headers:
            response.headers[name.decode()] = value.decode()
        return response

    def route(rule: str, endpoint: str) -> None:
        # Rules made directly match every method (custom ones too), as the demo application
        # does; OPTIONS gets Quart's automatic answer, as on any route of a Quart app.
        app.url_map.add(app.url_rule_class(rule, endpoint=endpoint, provide_automatic_options=True))
        app.view_functions[endpoint] = demo

    root = "demo"
    for table in config["blueprints"]:
        name = table["name"]
        converter = type(
            f"{name}_converter", (BaseConverter,), {"regex": table["rest"], "part_isolating": False}
        )
        app.url_map.converters[name] = converter
        app.register_blueprint(cors(Blueprint(name, __name__), **table["cors"]))
        route(f"/<{name}:rest>", f"{name}.demo")
        if table["root"]:
            root = f"{name}.demo"
    route("/", root)
    route("/<path:path>", "demo")
    return cors(app, **config["cors"])


def build_target(policy: CorsPolicy) -> Target:
    return c.LifespanAsgiTarget(build_app(policy), name=NAME)


# -- reading a configuration back -----------------------------------------------------------------


def read_policy(source: Any) -> CorsPolicy:
    """The policy a quart-cors configuration means.

    ``source`` is a Quart app that ``cors(app, ...)`` (or ``cors(blueprint, ...)``, or
    ``route_cors``) was applied to, a blueprint that ``cors(blueprint, ...)`` was applied to, or
    the keyword arguments of ``cors(...)`` as a mapping. What an argument leaves unset comes from
    the app's ``QUART_CORS_*`` settings (for an app), else quart-cors's defaults.

    For an app, each route whose configuration is its own (its blueprint's ``cors``, a
    ``route_cors`` view, a ``cors_exempt`` view, which gets no CORS headers at all) becomes a
    ``[[paths]]`` pattern table, its rule as a regular expression; the tables come in the order
    Werkzeug tries the rules (static segments first, then converters by weight, then in the order
    they were added), and routes of the app's own configuration that come before the last such
    route are tables too, so that the first matching table is the route Werkzeug picks. Werkzeug
    matches the percent-decoded path: for a percent-encoded path the tables are approximate.

    Raises :class:`ValueError` for what has no policy equivalent: ``"*"`` among the origins with
    credentials (quart-cors raises on every request), ``"*"`` among the methods or exposed headers
    with credentials (sent as is, a browser reads a name under credentials, a wildcard without),
    a ``route_cors`` view that leaves ``OPTIONS`` to Quart (preflights then get another
    configuration than the requests they are for).
    """
    from quart import Blueprint

    if isinstance(source, Mapping):
        return c.policy_of(_rules(source, {}), ())
    if isinstance(source, Blueprint):
        found = _cors_keywords(source.after_request_funcs.get(None, ()))
        if found is None:
            raise ValueError(f"{source!r}: quart-cors is not applied to this blueprint")
        return c.policy_of(_rules(found, {}), ())
    config: Mapping[str, Any] = source.config
    own = _cors_keywords(source.after_request_funcs.get(None, ()))
    top = _NOTHING if own is None else _rules(own, config)
    tables = _route_tables(source, config)
    if own is None and not tables:
        raise ValueError(f"{source!r}: quart-cors is not applied to this app or its routes")
    return c.policy_of(top, tables)


_NOTHING: Final = c.NO_CORS


def _cors_keywords(functions: Iterable[Callable[..., Any]]) -> Mapping[str, Any] | None:
    """The keyword arguments of the ``cors(...)`` among an app's or a blueprint's after-request
    functions (quart-cors registers a ``functools.partial`` of its ``_after_request``)."""
    import quart_cors

    for function in functions:
        if isinstance(function, functools.partial) and function.func is getattr(
            quart_cors, "_after_request", None
        ):
            return function.keywords
    return None


def _setting(config: Mapping[str, Any], key: str) -> Any:
    from quart_cors import DEFAULTS

    return config.get(key, DEFAULTS[key])


def _rules(kwargs: Mapping[str, Any], config: Mapping[str, Any]) -> PolicyRules:
    """What one ``cors(...)`` (or ``route_cors(...)``) means, as quart-cors resolves it at
    request time: an argument, else the ``QUART_CORS_*`` setting, else the default (``or`` for
    the two flags, as quart-cors has it)."""

    def given(argument: str, key: str) -> Any:
        value = kwargs.get(argument)
        return _setting(config, key) if value is None else value

    credentials = bool(
        kwargs.get("allow_credentials") or _setting(config, "QUART_CORS_ALLOW_CREDENTIALS")
    )
    origins, patterns = _origins(given("allow_origin", "QUART_CORS_ALLOW_ORIGIN"), credentials)
    methods = _names(given("allow_methods", "QUART_CORS_ALLOW_METHODS"))
    if ANY in methods and credentials:
        raise ValueError(
            "allow_methods: '*' with credentials: quart-cors sends it as is, which a browser "
            "reads as a method name under credentials (and as any method without)"
        )
    expose = _names(given("expose_headers", "QUART_CORS_EXPOSE_HEADERS"))
    if ANY in expose and credentials:
        raise ValueError(
            "expose_headers: '*' with credentials: quart-cors sends it as is, which a browser "
            "reads as a header name under credentials (and as every header without)"
        )
    headers = _names(given("allow_headers", "QUART_CORS_ALLOW_HEADERS"))
    return PolicyRules(
        allow_origins=origins,
        allow_origin_patterns=patterns,
        allow_methods=methods,
        # "*" reflects the requested headers, credentials or not
        allow_headers=(ANY,) if ANY in headers else tuple(h.lower() for h in headers),
        expose_headers=expose,
        allow_credentials=credentials,
        max_age=_max_age(kwargs.get("max_age"), config),
        allow_private_network=False,
    )


def _origins(value: Any, credentials: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    entries = [value] if isinstance(value, str | re.Pattern) else list(value)
    listed: list[str] = []
    patterns: list[str] = []
    for entry in entries:
        if isinstance(entry, re.Pattern):
            if entry.pattern == ".*":
                listed.append(ANY)
                continue
            patterns.append(match_pattern(entry))
            if entry.match(NULL):  # a policy's patterns never match null: list it
                listed.append(NULL)
        elif entry == ANY:
            if credentials:
                raise ValueError(
                    "allow_origin: '*' with credentials: quart-cors raises ValueError on every "
                    "request"
                )
            listed.append(ANY)  # sent as '*', or the origin reflected: any origin either way
        elif canonical_origin(entry) == entry:
            listed.append(entry)
        # else: compared as is, so only a string no browser sends as an Origin matches it
    return tuple(dict.fromkeys(listed)), tuple(dict.fromkeys(patterns))


def _names(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else list(value)
    return tuple(dict.fromkeys(str(item).strip() for item in items if str(item).strip()))


def _max_age(value: Any, config: Mapping[str, Any]) -> int | None:
    if value is None:
        value = _setting(config, "QUART_CORS_MAX_AGE")
        if isinstance(value, timedelta):
            raise ValueError(
                "QUART_CORS_MAX_AGE: a timedelta: quart-cors converts only the argument's, and "
                "fails on every request (int(timedelta))"
            )
    elif isinstance(value, timedelta):
        value = value.total_seconds()
    return None if value is None else int(value)


# -- the routes of an app -------------------------------------------------------------------------


def _route_tables(app: Any, config: Mapping[str, Any]) -> tuple[PathRule, ...]:
    rules = [rule for rule in app.url_map.iter_rules() if not rule.websocket]
    entries: list[tuple[str, PolicyRules | None]] = []
    for rule in sorted(rules, key=_werkzeug_order(rules)):
        entries.append((_rule_regex(rule), _route_rules(app, rule, config)))
    own = [index for index, (_, rules_of) in enumerate(entries) if rules_of is not None]
    if not own:
        return ()
    top = _cors_keywords(app.after_request_funcs.get(None, ()))
    top_rules = _NOTHING if top is None else _rules(top, config)
    return tuple(
        PathRule(pattern=regex, rules=rules_of or top_rules, max_age_set=True)
        for regex, rules_of in entries[: own[-1] + 1]
    )


def _route_rules(app: Any, rule: Any, config: Mapping[str, Any]) -> PolicyRules | None:
    """The configuration of a route when it is its own (``None``: the app's)."""
    from quart.helpers import _split_blueprint_path
    from quart_cors import QUART_CORS_EXEMPT_ATTRIBUTE

    view = app.view_functions.get(rule.endpoint)
    wrapped = _route_cors_keywords(view)
    if wrapped is not None:
        return _rules(wrapped, config)
    if getattr(view, QUART_CORS_EXEMPT_ATTRIBUTE, False):
        return _NOTHING
    if "." in rule.endpoint:
        for name in _split_blueprint_path(rule.endpoint.rsplit(".", 1)[0]):
            found = _cors_keywords(app.after_request_funcs.get(name, ()))
            if found is not None:
                return _rules(found, config)
    return None


_ROUTE_CORS_ARGUMENTS: Final = (
    "allow_credentials",
    "allow_headers",
    "allow_methods",
    "allow_origin",
    "expose_headers",
    "max_age",
    "send_origin_wildcard",
)


def _route_cors_keywords(view: Any) -> dict[str, Any] | None:
    """The arguments of ``route_cors(...)`` if ``view`` is its wrapper (read from the wrapper's
    closure)."""
    code = getattr(view, "__code__", None)
    if code is None or not getattr(code, "co_qualname", "").startswith("route_cors."):
        return None
    cells = dict(zip(code.co_freevars, view.__closure__ or (), strict=True))
    automatic = cells.get("provide_automatic_options")
    if automatic is not None and not automatic.cell_contents:
        raise ValueError(
            f"provide_automatic_options: False for route_cors on {view.__name__!r}: preflights "
            "get Quart's automatic answer, with another configuration than the requests"
        )
    return {name: cells[name].cell_contents for name in _ROUTE_CORS_ARGUMENTS if name in cells}


def _rule_regex(rule: Any) -> str:
    """A Werkzeug rule as a regular expression over the whole path (host or subdomain parts are
    left out)."""
    out: list[str] = []
    in_path = False
    for is_dynamic, data in rule._trace:
        if not in_path:
            in_path = not is_dynamic and data == "|"
            continue
        out.append(f"(?:{rule._converters[data].regex})" if is_dynamic else re.escape(data))
    return "".join(out)


def _werkzeug_order(rules: list[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """A sort key that puts rules in the order Werkzeug's state machine tries them: part by part,
    a static part before any dynamic one, dynamic ones by weight, then in the order their
    transition was first added; rules that end at the same state, in the order they were
    added."""
    first: dict[tuple[Any, ...], int] = {}
    added = {id(rule): index for index, rule in enumerate(rules)}
    for index, rule in enumerate(rules):
        for depth in range(len(rule._parts)):
            first.setdefault(_transition(rule._parts[: depth + 1]), index)

    def key(rule: Any) -> tuple[Any, ...]:
        parts: list[tuple[Any, ...]] = []
        for depth, part in enumerate(rule._parts):
            if part.static:
                parts.append((0, part.content))
            else:
                parts.append((1, part.weight, first[_transition(rule._parts[: depth + 1])]))
        return (*parts, (2, added[id(rule)]))

    return key


def _transition(parts: Any) -> tuple[Any, ...]:
    return tuple((p.content, p.final, p.static, p.suffixed) for p in parts)
