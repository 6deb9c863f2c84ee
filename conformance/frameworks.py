"""Framework adapters, by name: build a framework's app (or configure its server) from a policy.

``FRAMEWORKS`` lists every adapter (``conformance/adapters/<module>.py``, see
:mod:`conformance.adapters` for what each exposes). ``--framework NAME`` uses one:

* with ``--policy FILE``, the framework is configured from that policy and every property runs;
* without, ``framework_configurations`` (:mod:`conformance.framework_properties`) generates
  policies with Hypothesis as well as requests, so one run explores the configuration space.

``cors-conformance frameworks list`` (also ``python -m conformance.frameworks list``) prints the
adapters with the versions installed; ``cors-conformance frameworks read-policy NAME SOURCE``
prints, as a policy file, the policy an existing app's CORS configuration means.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast
from urllib.parse import unquote, urlsplit

from conformance.adapters import Inexpressible
from conformance.outcomes import NotApplicable, UsageError
from conformance.targets import Target
from reference.policy import CorsPolicy
from reference.verdict import RawResponse, WireRequest


class Adapter(Protocol):
    """What an adapter module exposes (module attributes, see :mod:`conformance.adapters`)."""

    NAME: str

    def package_version(self) -> str: ...

    def configuration(self, policy: CorsPolicy) -> object: ...

    def build_target(self, policy: CorsPolicy) -> Target: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Framework:
    name: str
    module: str  # under conformance.adapters
    language: str  # "python" or "node"
    package: str  # the CORS package under test, as its users know it

    def adapter(self) -> Adapter:
        return cast(Adapter, importlib.import_module(f"conformance.adapters.{self.module}"))


_ALL = (
    Framework(name="starlette", module="starlette", language="python", package="starlette"),
    Framework(name="fastapi", module="fastapi", language="python", package="fastapi"),
    Framework(name="flask-cors", module="flask_cors", language="python", package="flask-cors"),
    Framework(
        name="django-cors-headers",
        module="django_cors_headers",
        language="python",
        package="django-cors-headers",
    ),
    Framework(
        name="aiohttp-cors", module="aiohttp_cors", language="python", package="aiohttp-cors"
    ),
    Framework(name="litestar", module="litestar", language="python", package="litestar"),
    Framework(name="falcon", module="falcon", language="python", package="falcon"),
    Framework(name="quart-cors", module="quart_cors", language="python", package="quart-cors"),
    Framework(name="sanic-ext", module="sanic_ext", language="python", package="sanic-ext"),
    Framework(name="blacksheep", module="blacksheep", language="python", package="blacksheep"),
    Framework(name="express-cors", module="express_cors", language="node", package="cors"),
    Framework(name="fastify-cors", module="fastify_cors", language="node", package="@fastify/cors"),
    Framework(name="koa-cors", module="koa_cors", language="node", package="@koa/cors"),
    Framework(name="hono", module="hono", language="node", package="hono"),
)
FRAMEWORKS: dict[str, Framework] = {f.name: f for f in _ALL}

PROBE_POLICY = CorsPolicy(
    allow_origins=("https://app.example",),
    allow_headers=("*",),
    max_age=86400,
)
"""Expressible by every adapter: what a ``--framework`` run without ``--policy`` builds first, to
check that the framework starts and answers, before policies are generated."""


def framework(name: str) -> Framework:
    try:
        return FRAMEWORKS[name]
    except KeyError:
        known = ", ".join(FRAMEWORKS)
        raise UsageError(f"--framework {name!r}: unknown (available: {known})") from None


def adapter(name: str) -> Adapter:
    return framework(name).adapter()


def supports_paths(adapter: Adapter) -> bool:
    """Whether the adapter maps ``[[paths]]`` tables at all (else policies are generated without
    them: the middleware is app-wide)."""
    return any(
        getattr(adapter, flag, False) for flag in ("SUPPORTS_PATHS", "DECODES_PATHS", "FOLDS_CASE")
    )


def decodes_paths(adapter: Adapter) -> bool:
    """Whether the framework matches ``[[paths]]`` on the percent-decoded path (the policy matches
    the raw one)."""
    return bool(getattr(adapter, "DECODES_PATHS", False))


def folds_case(adapter: Adapter) -> bool:
    """Whether the framework's router matches paths case-insensitively (the policy's tables are
    case-sensitive)."""
    return bool(getattr(adapter, "FOLDS_CASE", False))


def routes_elsewhere(adapter: Adapter) -> Callable[[CorsPolicy, str], bool]:
    """``(policy, raw path) -> bool``: whether the framework's router, which may decode the path
    or fold its case before matching (:func:`decodes_paths`, :func:`folds_case`), puts the path
    under another ``[[paths]]`` table than the policy does on the raw path.

    Such a request is the router's business, not the CORS middleware's: the application serves
    ``/%70ublic`` or ``/PUBLIC`` from the ``/public`` route, with that route's configuration. The
    suite skips it (not applicable) instead of reporting the router as a CORS divergence.
    """
    decode, fold = decodes_paths(adapter), folds_case(adapter)

    def table(policy: CorsPolicy, path: str, *, routed: bool) -> int | None:
        if routed and decode:
            path = unquote(path)
        for index, rule in enumerate(policy.paths):
            if not (routed and fold):
                hit = rule.matches(path)
            elif rule.pattern is not None:
                hit = re.fullmatch(rule.pattern, path, re.IGNORECASE) is not None
            else:
                prefix, lowered = (rule.prefix or "").lower(), path.lower()
                hit = lowered == prefix or lowered.startswith(
                    prefix if prefix.endswith("/") else prefix + "/"
                )
            if hit:
                return index
        return None

    def elsewhere(policy: CorsPolicy, path: str) -> bool:
        if not policy.paths or not (decode or fold):
            return False
        return table(policy, path, routed=False) != table(policy, path, routed=True)

    return elsewhere


def routed_methods(adapter: Adapter) -> Callable[[str], bool]:
    """Whether the app behind the framework can route a method (as it goes on the wire): those
    in the adapter's ``ROUTED_METHODS`` (compared case-insensitively where the adapter says
    ``METHODS_CASE_INSENSITIVE``), or every method. Requests with other methods are skipped:
    the router or the HTTP parser, not the CORS middleware, would answer them."""
    methods = getattr(adapter, "ROUTED_METHODS", None)
    if methods is None:
        return lambda _method: True
    known = frozenset(methods)
    if getattr(adapter, "METHODS_CASE_INSENSITIVE", False):
        return lambda method: method.upper() in known
    return lambda method: method in known


def build(name: str, policy: CorsPolicy, *, explicit: bool = True) -> Target:
    """The framework configured from ``policy``. An explicit policy (``--policy``) that the
    framework cannot express is a usage error; otherwise :data:`PROBE_POLICY` is used (the
    properties then generate their own policies)."""
    module = adapter(name)
    if not explicit:
        return module.build_target(PROBE_POLICY)
    try:
        target = module.build_target(policy)
    except Inexpressible as exc:
        raise UsageError(
            f"--framework {name}: this policy cannot be expressed in its configuration ({exc}); "
            "leave out --policy to generate policies it can express"
        ) from None
    elsewhere = routes_elsewhere(module)
    if not policy.paths or not (decodes_paths(module) or folds_case(module)):
        return target
    return RoutedTarget(target, lambda path: elsewhere(policy, path))


class RoutedTarget:
    """A framework target whose router decodes the path or folds its case: a request whose path
    the router puts under another ``[[paths]]`` table than the policy does is not applicable
    (:func:`routes_elsewhere`), in every property, as in ``framework_configurations``."""

    def __init__(self, target: Target, elsewhere: Callable[[str], bool]) -> None:
        self.inner = target
        self.name = target.name
        self.base_url = target.base_url
        self.limits = target.limits
        self._elsewhere = elsewhere

    def send(self, wire: WireRequest) -> RawResponse:
        path = urlsplit(wire.url).path or "/"
        if self._elsewhere(path):
            raise NotApplicable(
                f"the framework's router puts {path} under another [[paths]] table than the "
                "policy does (it decodes the path or folds its case): routing, not CORS"
            )
        return self.inner.send(wire)

    def close(self) -> None:
        self.inner.close()


class FrameworkSession:
    """One framework across many policies: each :meth:`configure` gives a target for a new
    policy (an in-process app built afresh, or the framework's one server reconfigured);
    :meth:`close` closes the last target and stops any server the adapter started."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.adapter = adapter(name)
        self._target: Target | None = None

    def configure(self, policy: CorsPolicy) -> Target:
        """Raises :class:`Inexpressible` for a policy the framework cannot express."""
        self.adapter.configuration(policy)  # fail before tearing down the previous target
        if self._target is not None:
            self._target.close()
            self._target = None
        self._target = self.adapter.build_target(policy)
        return self._target

    def close(self) -> None:
        if self._target is not None:
            self._target.close()
            self._target = None
        shutdown = getattr(self.adapter, "shutdown", None)
        if callable(shutdown):
            shutdown()


def versions() -> dict[str, str]:
    out: dict[str, str] = {}
    for name, entry in FRAMEWORKS.items():
        try:
            out[name] = entry.adapter().package_version()
        except Exception as exc:  # an adapter whose framework is missing still lists
            out[name] = f"unavailable ({type(exc).__name__}: {exc})"
    return out


def read_policy(name: str, source: Any) -> CorsPolicy:
    reader = getattr(adapter(name), "read_policy", None)
    if reader is None:
        readers = [n for n, f in FRAMEWORKS.items() if hasattr(f.adapter(), "read_policy")]
        raise UsageError(
            f"{name}: reading a configuration back is not supported "
            f"(supported: {', '.join(readers)})"
        )
    return cast(CorsPolicy, reader(source))


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    from conformance.targets import load_app
    from reference.policy_file import dump_policy

    parser = argparse.ArgumentParser(prog=prog or "python -m conformance.frameworks")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the adapters and the versions installed")
    read = sub.add_parser(
        "read-policy", help="print the policy an existing app's CORS configuration means"
    )
    read.add_argument("framework", choices=sorted(FRAMEWORKS))
    read.add_argument(
        "source",
        help="Python frameworks: MODULE:ATTR, the app (or, for django-cors-headers, the "
        "settings module as MODULE: alone; for Starlette, aiohttp-cors, Falcon and the others, "
        "the app object). Node.js frameworks: the path of a JavaScript module (.mjs, .cjs, .js) "
        "or JSON file whose default export is the options given to the CORS middleware",
    )
    args = parser.parse_args(argv)
    if args.command == "list":
        for name, version in versions().items():
            entry = FRAMEWORKS[name]
            print(f"{name:<22} {entry.language:<7} {entry.package} {version}")
        return 0
    try:
        source: Any
        if FRAMEWORKS[args.framework].language == "node":
            source = args.source  # a file: node_options reads it with node
        elif args.source.endswith(":"):
            source = importlib.import_module(args.source[:-1])
        else:
            source = load_app(args.source)
        sys.stdout.write(dump_policy(read_policy(args.framework, source)))
    except (UsageError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
