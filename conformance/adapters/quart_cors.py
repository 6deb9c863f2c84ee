"""quart-cors (``quart_cors.cors(app, ...)``) configured from a policy, on a Quart app whose one
route (every path, every method) serves the demo application.

What it cannot express:

* ``[[paths]]``: ``cors(app)`` is app-wide (blueprints could scope it; not mapped by this
  adapter yet);
* ``allow_private_network``: quart-cors has no such option;
* ``allow_methods = ["*"]`` with credentials: the methods are sent as listed, and under
  credentials a browser reads ``*`` as a method name.

Any origin with credentials is ``allow_origin=[re.compile(".*")]`` (quart-cors reflects a matching
origin; with ``"*"`` and credentials it raises on every request).
"""

from __future__ import annotations

import re
from typing import Any, Final

from conformance.adapters import _common as c
from conformance.servers.reference import demo_response
from conformance.targets import Target
from reference.policy import ANY, CorsPolicy

NAME: Final = "quart-cors"
FRAMEWORK: Final = "quart-cors"


def package_version() -> str:
    return f"{c.package_version('quart-cors')} (quart {c.package_version('quart')})"


def configuration(policy: CorsPolicy) -> dict[str, Any]:
    """The keyword arguments of ``quart_cors.cors(app, ...)`` for ``policy``."""
    c.refuse_paths(policy, "cors(app) is app-wide (blueprints not mapped by this adapter yet)")
    c.refuse_private_network(policy, FRAMEWORK)
    c.refuse_literal_wildcard_under_credentials(policy, "allow_methods", FRAMEWORK)
    origins: list[str | re.Pattern[str]]
    if c.any_origin(policy) and policy.allow_credentials:
        origins = [re.compile(".*")]
    elif c.any_origin(policy):
        origins = [ANY]
    else:
        origins = [*c.listed_origins(policy)]
        origins += [re.compile(c.fullmatch_pattern(p)) for p in policy.allow_origin_patterns]
    return {
        "allow_origin": origins,
        "allow_credentials": policy.allow_credentials,
        "allow_methods": c.methods(policy),
        "allow_headers": [ANY] if c.any_header(policy) else c.header_list(policy),
        "expose_headers": c.exposed(policy),
        "max_age": policy.max_age,
        "send_origin_wildcard": c.any_origin(policy) and not policy.allow_credentials,
    }


def build_app(policy: CorsPolicy) -> Any:
    from quart import Quart, Response, request
    from quart_cors import cors

    app = Quart("cors_conformance_quart")

    async def demo(path: str = "") -> Response:  # noqa: ARG001 (the routing's argument)
        status, headers, body = demo_response(request.method, request.path)
        response = Response(body, status=status)
        for name, value in headers:
            response.headers[name.decode()] = value.decode()
        return response

    # Rules made directly match every method (custom ones too), as the demo application does;
    # OPTIONS gets Quart's automatic answer, as on any route of a Quart app.
    for rule in ("/", "/<path:path>"):
        app.url_map.add(
            app.url_rule_class(
                rule,
                endpoint="demo",
                defaults={"path": ""} if rule == "/" else None,
                provide_automatic_options=True,
            )
        )
    app.view_functions["demo"] = demo
    return cors(app, **configuration(policy))


def build_target(policy: CorsPolicy) -> Target:
    return c.LifespanAsgiTarget(build_app(policy), name=NAME)
