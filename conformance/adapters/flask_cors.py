"""flask-cors (the ``CORS`` extension) configured from a policy, in front of a Flask app that
serves the demo application; and a policy read back from an app's flask-cors configuration.

``[[paths]]`` tables become flask-cors ``resources`` (a regular expression per table, each with
its full set of options, and ``.*`` for the top level). flask-cors matches resources on the
*percent-decoded* path, where the policy matches the raw one (:data:`DECODES_PATHS`): a request
whose decoded path falls under another table than its raw path is skipped, as routing, not CORS
(:func:`conformance.frameworks.routes_elsewhere`).

What it cannot express:

* ``allow_methods = ["*"]``: flask-cors matches the requested method against a fixed list and has
  no wildcard for methods;
* ``[[paths]]`` with a ``pattern``, or prefixes that overlap: flask-cors orders resources by
  specificity, not in declaration order, so "the first table wins" cannot be kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from conformance.adapters import Inexpressible
from conformance.adapters import _common as c
from conformance.servers.reference import demo_response
from conformance.targets import Target, WsgiTarget
from reference.policy import ANY, CorsPolicy, EffectivePolicy, PathRule, PolicyRules

NAME: Final = "flask-cors"
FRAMEWORK: Final = "flask-cors"
DECODES_PATHS: Final = True
_REGEX_HINTS: Final = frozenset("*\\]?$^[]()")  # flask-cors's own "probably a regex" test


def package_version() -> str:
    return f"{c.package_version('flask-cors')} (flask {c.package_version('flask')})"


def _literal(value: str) -> str | re.Pattern[str]:
    """A literal origin or header name as flask-cors takes it: a plain string, unless flask-cors
    would take it for a regular expression; then an escaped, anchored pattern."""
    if _REGEX_HINTS.isdisjoint(value):
        return value
    return re.compile(re.escape(value) + r"\Z", re.IGNORECASE)


def _options(rules: EffectivePolicy) -> dict[str, Any]:
    if ANY in rules.allow_methods:
        raise Inexpressible(
            "allow_methods: flask-cors matches the requested method against a fixed list and "
            "has no wildcard for methods"
        )
    origins: Any
    if c.any_origin(rules):
        origins = ANY
    else:
        origins = [_literal(o) for o in c.listed_origins(rules)] + [
            re.compile(c.fullmatch_pattern(p)) for p in rules.allow_origin_patterns
        ]
    return {
        "origins": origins,
        # '*' is sent as is only without credentials; with them flask-cors reflects the origin
        "send_wildcard": c.any_origin(rules) and not rules.allow_credentials,
        "methods": c.methods(rules),
        "allow_headers": ANY
        if c.any_header(rules)
        else [_literal(h) for h in c.header_list(rules)],
        "expose_headers": c.exposed(rules) or None,
        "supports_credentials": rules.allow_credentials,
        # flask-cors drops a falsy max_age: 0 must be given as the string "0"
        "max_age": None if rules.max_age is None else str(rules.max_age),
        "allow_private_network": rules.allow_private_network,
    }


def _resource(rule: PathRule) -> str:
    if rule.pattern is not None:
        raise Inexpressible(
            "[[paths]]: a pattern table: flask-cors orders resources by specificity, not in "
            "declaration order, so the first matching table would not always win"
        )
    prefix = rule.prefix or "/"
    if prefix.endswith("/"):
        return f"^{re.escape(prefix)}.*\\Z"
    return f"^{re.escape(prefix)}(?:/.*)?\\Z"


def _check_prefixes(policy: CorsPolicy) -> None:
    prefixes = [rule.prefix or "/" for rule in policy.paths]
    for a in prefixes:
        for b in prefixes:
            if a != b and PathRule(prefix=a).matches(b):
                raise Inexpressible(
                    f"[[paths]]: prefixes {a!r} and {b!r} overlap: flask-cors orders resources "
                    "by specificity, not in declaration order"
                )


def configuration(policy: CorsPolicy) -> dict[str, Any]:
    """The keyword arguments of ``CORS(app, ...)`` for ``policy``."""
    if not policy.paths:
        return _options(policy.top_level)
    _check_prefixes(policy)
    resources: dict[str, dict[str, Any]] = {}
    for index, rule in enumerate(policy.paths, start=1):
        resources[_resource(rule)] = _options(policy.resolved[index])
    resources[".*"] = _options(policy.top_level)
    return {"resources": resources}


def build_app(policy: CorsPolicy) -> Any:
    from flask import Flask, Response, request
    from flask_cors import CORS
    from werkzeug.routing import Rule

    app = Flask("cors_conformance_flask")

    def demo(path: str = "") -> Response:  # noqa: ARG001 (the routing's argument)
        status, headers, body = demo_response(request.method, request.path)
        response = Response(body, status=status)
        for name, value in headers:
            response.headers[name.decode()] = value.decode()
        return response

    # Rules made directly (not through app.route) match every method, custom ones included,
    # as the demo application does. OPTIONS gets Flask's automatic answer, as on any route of a
    # Flask app; flask-cors adds its headers to it.
    for rule in (
        Rule("/", endpoint="demo", defaults={"path": ""}),
        Rule("/<path:path>", endpoint="demo"),
    ):
        rule.provide_automatic_options = True  # type: ignore[attr-defined]
        app.url_map.add(rule)
    app.view_functions["demo"] = demo
    CORS(app, **configuration(policy))
    return app


def build_target(policy: CorsPolicy) -> Target:
    return WsgiTarget(build_app(policy), name=NAME)


# -- reading a configuration back -----------------------------------------------------------------


def read_policy(source: Any) -> CorsPolicy:
    """The policy a flask-cors configuration means.

    ``source`` is a Flask app that ``CORS(app, ...)`` was applied to (its resources are read from
    the extension's ``after_request`` function), or the keyword arguments of ``CORS(...)`` as a
    mapping. Resource patterns other than the catch-all become ``[[paths]]`` pattern tables
    (flask-cors matches them from the start of the decoded path, so ``.*`` is appended); origin
    patterns likewise (flask-cors matches them case-insensitively from the start).
    """
    from flask_cors.core import DEFAULT_OPTIONS, parse_resources, serialize_options

    resolved: list[tuple[Any, Any]]
    if isinstance(source, Mapping):
        given = dict(source)
        resources = parse_resources(given.pop("resources", r"/*"))
        resolved = [(p, serialize_options({**DEFAULT_OPTIONS, **given, **o})) for p, o in resources]
    else:
        resolved = _resources_of(source)
    top: PolicyRules | None = None
    paths: list[PathRule] = []
    for pattern, computed in resolved:
        rules = _rules(computed)
        text = pattern if isinstance(pattern, str) else pattern.pattern
        if text in (".*", "/.*", "/*", "*"):
            top = rules
        else:
            regex = text if isinstance(pattern, re.Pattern) else re.escape(text)
            paths.append(PathRule(pattern=f"(?:{regex}).*", rules=rules, max_age_set=True))
    return c.policy_of(top or PolicyRules(allow_origins=()), tuple(paths))


def _resources_of(app: Any) -> list[tuple[Any, Any]]:
    for function in app.after_request_funcs.get(None, ()):
        if getattr(function, "__name__", "") == "cors_after_request" and function.__closure__:
            for cell in function.__closure__:
                if isinstance(cell.cell_contents, list):
                    return list(cell.cell_contents)
    raise ValueError(f"{app!r}: flask-cors is not applied to this app (no CORS(app))")


def _rules(options: Any) -> PolicyRules:
    listed: list[str] = []
    patterns: list[str] = []
    for origin in options.origins:
        if isinstance(origin, str):
            listed.append(origin)
        elif origin.pattern == ".*":
            listed.append(ANY)
        else:
            patterns.append(f"(?i:{origin.pattern}).*")
    headers: list[str] = []
    for header in options.allow_headers:
        if isinstance(header, str):
            headers.append(header.lower())
        elif header.pattern == ".*":
            headers.append(ANY)
        else:
            raise ValueError(
                f"allow_headers: the pattern {header.pattern!r} has no equivalent in a policy "
                "(header names are listed, or '*')"
            )
    methods = tuple(m.strip() for m in (options.methods or "").split(",") if m.strip())
    expose = tuple(h.strip() for h in (options.expose_headers or "").split(",") if h.strip())
    max_age = None if options.max_age in (None, "") else int(options.max_age)
    return PolicyRules(
        allow_origins=tuple(listed),
        allow_origin_patterns=tuple(patterns),
        allow_methods=methods,
        allow_headers=tuple(headers),
        expose_headers=expose,
        allow_credentials=options.supports_credentials,
        max_age=max_age,
        allow_private_network=options.allow_private_network,
    )
