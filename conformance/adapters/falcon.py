"""Falcon's ``CORSMiddleware`` configured from a policy, on a Falcon WSGI app whose one resource
(every path) serves the demo application; and a policy read back from an app's
``CORSMiddleware``.

Falcon's middleware takes only origins, exposed headers, credentials and private network; the
rest comes from the app: ``Access-Control-Allow-Methods`` is the resource's ``Allow`` header (the
methods it has responders for), ``Access-Control-Allow-Headers`` echoes whatever is requested,
and ``Access-Control-Max-Age`` is always 86400. So the adapter gives the resource a responder
for exactly the methods the policy allows (and, for ``OPTIONS``, an ``on_options`` that sets
``Allow``, since Falcon's default one leaves ``OPTIONS`` out), and what it cannot express is:

* ``[[paths]]``: the middleware is app-wide;
* ``allow_origin_patterns``: origins are an exact list;
* ``allow_methods = ["*"]``: a resource responds to a fixed set of methods;
* ``allow_headers`` other than ``["*"]``: every requested header is allowed;
* ``max_age`` other than 86400.

Falcon routes only the methods it knows (:data:`ROUTED_METHODS`); requests with other methods are
skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from conformance.adapters import Inexpressible
from conformance.adapters import _common as c
from conformance.servers.reference import demo_response
from conformance.targets import Target, WsgiTarget
from reference.policy import ANY, CorsPolicy, canonical_origin

NAME: Final = "falcon"
FRAMEWORK: Final = "Falcon's CORSMiddleware"
FALCON_MAX_AGE: Final = 86400
ROUTED_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def package_version() -> str:
    return c.package_version("falcon")


def configuration(policy: CorsPolicy) -> dict[str, Any]:
    """``middleware``: the keyword arguments of ``falcon.CORSMiddleware``; ``responders``: the
    methods the resource responds to."""
    c.refuse_paths(policy, "CORSMiddleware applies one configuration to the whole app")
    c.refuse_patterns(policy, FRAMEWORK)
    if ANY in policy.allow_methods:
        raise Inexpressible(
            "allow_methods: Falcon allows the methods the resource has responders for; there is "
            "no 'any method'"
        )
    if not c.any_header(policy):
        raise Inexpressible(
            "allow_headers: Falcon's CORSMiddleware allows every requested header; the policy "
            "lists some"
        )
    if policy.max_age != FALCON_MAX_AGE:
        raise Inexpressible(
            f"max_age: Falcon's CORSMiddleware always sends Access-Control-Max-Age: "
            f"{FALCON_MAX_AGE}; the policy says {policy.max_age}"
        )
    any_origin = c.any_origin(policy)
    return {
        "middleware": {
            "allow_origins": ANY if any_origin else c.listed_origins(policy),
            "expose_headers": c.exposed(policy) or None,
            "allow_credentials": ANY if policy.allow_credentials else None,
            "allow_private_network": policy.allow_private_network,
        },
        "responders": sorted(m for m in c.methods(policy) if m in ROUTED_METHODS),
    }


def _responder(self: Any, req: Any, resp: Any, path: str = "") -> None:  # noqa: ARG001 (Falcon's signature)
    status, headers, body = demo_response(req.method, req.relative_uri)
    resp.status = status
    for name, value in headers:
        if name.lower() != b"content-length":
            resp.set_header(name.decode(), value.decode())
    resp.data = body


def _options_responder(allowed: str) -> Any:
    """``on_options`` for a policy that allows ``OPTIONS``: Falcon's default one leaves
    ``OPTIONS`` out of ``Allow`` (so out of ``Access-Control-Allow-Methods``); Falcon documents
    that a resource's own ``on_options`` sets ``Allow``. It answers a preflight as the default
    one does (200, no body) and a plain ``OPTIONS`` with the demo application."""

    def on_options(self: Any, req: Any, resp: Any, path: str = "") -> None:
        if req.get_header("Access-Control-Request-Method"):
            resp.status = 200
            resp.set_header("Content-Length", "0")
        else:
            _responder(self, req, resp, path)
        resp.set_header("Allow", allowed)

    return on_options


def build_app(policy: CorsPolicy) -> Any:
    import falcon

    config = configuration(policy)
    responders = {f"on_{m.lower()}": _responder for m in config["responders"]}
    if "OPTIONS" in config["responders"]:
        responders["on_options"] = _options_responder(", ".join(config["responders"]))
    resource = type("Demo", (), responders)()
    app = falcon.App(middleware=[falcon.CORSMiddleware(**config["middleware"])])
    app.add_route("/", resource)
    app.add_route("/{path:path}", resource)
    return app


def build_target(policy: CorsPolicy) -> Target:
    return WsgiTarget(build_app(policy), name=NAME)


# -- reading a configuration back -----------------------------------------------------------------


def read_policy(source: Any) -> CorsPolicy:
    """The policy a Falcon ``CORSMiddleware`` means.

    ``source`` is a ``falcon.App`` or ``falcon.asgi.App`` with one ``CORSMiddleware`` among its
    middleware (``cors_enable=True`` included), the ``CORSMiddleware`` itself, or its keyword
    arguments as a mapping (or :func:`configuration`'s ``{"middleware": ..., "responders":
    ...}``). The middleware's defaults fill what is not given (any origin, no credentials).

    What Falcon always does is written out: every requested header is allowed
    (``allow_headers = ["*"]``) and ``max_age`` is 86400. Origins are compared exactly and
    case-sensitively: an entry a browser never sends as is (``https://App.example``) becomes an
    escaped pattern, which matches what Falcon matches: nothing. Credentials for some allowed
    origins and not others have no policy equivalent (``ValueError`` naming
    ``allow_credentials``).

    The methods are the app's: a preflight is allowed the methods of the resource that answers
    it (its ``Allow`` header). From an app they are read from its routes' default OPTIONS
    responders, and must be the same for every route (a policy without ``[[paths]]`` has one
    list; a resource with its own ``on_options`` says them only when it answers). The middleware
    alone puts no limit on methods: it reads as ``allow_methods = ["*"]``.
    """
    import falcon

    methods: tuple[str, ...] = (ANY,)
    middleware: Any
    if isinstance(source, falcon.CORSMiddleware):
        middleware = source
    elif isinstance(source, Mapping):
        kwargs = source
        if "middleware" in source:
            kwargs = source["middleware"]
            methods = tuple(source.get("responders", ()))
        try:
            middleware = falcon.CORSMiddleware(**kwargs)
        except TypeError as exc:
            raise ValueError(f"CORSMiddleware: {exc}") from None
    elif isinstance(source, falcon.App):
        found = [m for m in source._unprepared_middleware if isinstance(m, falcon.CORSMiddleware)]
        if len(found) != 1:
            raise ValueError(
                f"{source!r}: {len(found) or 'no'} CORSMiddleware among its middleware "
                "(one is read)"
            )
        middleware = found[0]
        methods = _app_methods(source)
    else:
        raise ValueError(f"{source!r}: neither a Falcon app, a CORSMiddleware nor its arguments")
    return _policy(middleware, methods)


def _policy(middleware: Any, methods: tuple[str, ...]) -> CorsPolicy:
    origins: tuple[str, ...] = (ANY,)
    patterns: tuple[str, ...] = ()
    if middleware.allow_origins != ANY:
        exact = sorted(middleware.allow_origins)
        origins = tuple(o for o in exact if canonical_origin(o) == o)
        patterns = tuple(re.escape(o) for o in exact if canonical_origin(o) != o)
    credentials = middleware.allow_credentials
    if credentials == ANY:
        allow_credentials = True
    elif middleware.allow_origins == ANY:
        if credentials:
            raise ValueError(
                f"allow_credentials: Falcon allows credentials for {sorted(credentials)} among "
                "any origin; a policy allows them for every allowed origin or none"
            )
        allow_credentials = False
    else:
        with_credentials = middleware.allow_origins & credentials
        if with_credentials and with_credentials != middleware.allow_origins:
            raise ValueError(
                f"allow_credentials: Falcon allows credentials for {sorted(with_credentials)} "
                f"and not for {sorted(middleware.allow_origins - credentials)}; a policy allows "
                "them for every allowed origin or none"
            )
        allow_credentials = bool(with_credentials)
    exposed = middleware.expose_headers or ""
    return CorsPolicy(
        allow_origins=origins,
        allow_origin_patterns=patterns,
        allow_methods=methods,
        allow_headers=(ANY,),
        expose_headers=tuple(h.strip() for h in exposed.split(",") if h.strip()),
        allow_credentials=allow_credentials,
        max_age=FALCON_MAX_AGE,
        allow_private_network=bool(middleware.allow_private_network),
    )


def _app_methods(app: Any) -> tuple[str, ...]:
    """The methods every route of ``app`` allows (its default OPTIONS responder's ``Allow``)."""
    from falcon.routing import CompiledRouter

    router = app._router
    if not isinstance(router, CompiledRouter):
        raise ValueError(f"allow_methods: a custom router ({router!r}) is not read")
    found: dict[str, tuple[str, ...]] = {}
    for node in _route_nodes(router._roots):
        found[node.uri_template] = _allowed(node)
    distinct = set(found.values())
    if len(distinct) > 1:
        shown = "; ".join(f"{t}: {', '.join(m) or 'none'}" for t, m in found.items())
        raise ValueError(
            f"allow_methods: the routes allow different methods ({shown}); a policy without "
            "[[paths]] has one list"
        )
    return distinct.pop() if distinct else ()


def _route_nodes(nodes: list[Any]) -> Iterator[Any]:
    for node in nodes:
        if node.method_map is not None and node.resource is not None:
            yield node
        yield from _route_nodes(node.children)


def _allowed(node: Any) -> tuple[str, ...]:
    responder = node.method_map.get("OPTIONS")
    code = getattr(responder, "__code__", None)
    qualname = getattr(responder, "__qualname__", "")
    if (
        code is None
        or not qualname.startswith("create_default_options.")
        or ("allowed" not in code.co_freevars)
    ):
        raise ValueError(
            f"allow_methods: the resource of {node.uri_template!r} answers OPTIONS itself "
            "(on_options): the methods it allows are in the Allow header it sends"
        )
    allowed = responder.__closure__[code.co_freevars.index("allowed")].cell_contents
    return tuple(m.strip() for m in allowed.split(",") if m.strip())
