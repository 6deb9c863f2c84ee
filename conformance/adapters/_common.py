"""What the adapters share: reading a policy into the terms frameworks use, the refusals every
adapter words the same way, the demo application's headers, and an ASGI target that runs the
app's lifespan (frameworks that set up routing or middleware on start-up need it)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import MutableMapping
from importlib import metadata
from typing import Any, Final

from conformance.adapters import Inexpressible
from conformance.outcomes import SetupError
from conformance.servers.reference import demo_response
from conformance.targets import AsgiTarget
from reference.policy import (
    ANY,
    NULL,
    CorsPolicy,
    EffectivePolicy,
    PathRule,
    PolicyRules,
    canonical_origin,
)

SAFELISTED_METHODS: Final = ("GET", "HEAD", "POST")
"""Always allowed by the policy (CORS cannot restrict them); adapters list them explicitly for
frameworks that check every requested method against their list."""

DEMO_HEADER_NAMES: Final = tuple(name.decode("ascii") for name, _ in demo_response("GET", "/")[1])
"""Every header the demo application sets: what ``expose_headers = ["*"]`` means under
credentials, where a browser reads a literal ``*`` as a header name."""

SAFELISTED_REQUEST_HEADERS: Final = frozenset(
    {"accept", "accept-language", "content-language", "content-type"}
)
"""The request headers some middlewares (Starlette, Litestar) always allow, whatever the value."""


def package_version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def any_origin(rules: CorsPolicy | EffectivePolicy) -> bool:
    return ANY in rules.allow_origins


def listed_origins(rules: CorsPolicy | EffectivePolicy) -> list[str]:
    """The exact origins, canonicalized as a browser serializes them (``null`` kept), without
    ``*``; entries that name no origin are dropped (they match nothing under the policy)."""
    out: list[str] = []
    for entry in rules.allow_origins:
        if entry == ANY:
            continue
        canonical = canonical_origin(entry)
        if canonical is not None and canonical not in out:
            out.append(canonical)
    return out


def methods(rules: CorsPolicy | EffectivePolicy) -> list[str]:
    """``["*"]``, or the listed methods with the safelisted ones added (first, in order)."""
    if ANY in rules.allow_methods:
        return [ANY]
    return list(dict.fromkeys((*SAFELISTED_METHODS, *rules.allow_methods)))


def any_header(rules: CorsPolicy | EffectivePolicy) -> bool:
    return ANY in rules.allow_headers


def header_list(rules: CorsPolicy | EffectivePolicy) -> list[str]:
    """The listed request headers, lowercased, without duplicates."""
    return list(dict.fromkeys(h.lower() for h in rules.allow_headers if h != ANY))


def exposed(rules: CorsPolicy | EffectivePolicy) -> list[str]:
    """What to put in ``Access-Control-Expose-Headers``. ``"*"`` stays a literal ``*`` without
    credentials (browsers read it as "all"); under credentials it becomes the names of every
    header the demo application sets, which is what the policy means."""
    if ANY in rules.expose_headers:
        return list(DEMO_HEADER_NAMES) if rules.allow_credentials else [ANY]
    return list(dict.fromkeys(rules.expose_headers))


def fullmatch_pattern(pattern: str) -> str:
    """A pattern for a framework that uses ``re.match`` (anchored at the start only) that means
    the policy's ``re.fullmatch``."""
    return f"(?:{pattern})\\Z"


def combined_fullmatch(patterns: tuple[str, ...]) -> str | None:
    """One regular expression for several patterns, for a framework that takes one and uses
    ``re.fullmatch`` on it."""
    if not patterns:
        return None
    return "|".join(f"(?:{p})" for p in patterns)


_PYTHON_ONLY_REGEX: Final = re.compile(r"\(\?P|\(\?[aiLmsux-]+[:)]|\\[AZ]|\(\?#|\*\+|\+\+|\?\+")


def javascript_regex(pattern: str, *, framework: str) -> str:
    """The policy's ``re.fullmatch`` pattern as the source of a JavaScript ``RegExp``
    (``^(?:...)$``), or :class:`Inexpressible` where Python-only syntax has no JavaScript
    equivalent that this translation knows."""
    if _PYTHON_ONLY_REGEX.search(pattern):
        raise Inexpressible(
            f"allow_origin_patterns: {pattern!r} uses Python-only regular-expression syntax; "
            f"{framework} takes JavaScript regular expressions"
        )
    return f"^(?:{pattern})$"


NO_CORS: Final = PolicyRules(
    allow_origins=(),
    allow_origin_patterns=(),
    allow_methods=(),
    allow_headers=(),
    expose_headers=(),
    allow_credentials=False,
    max_age=None,
    allow_private_network=False,
)
"""The rules of a scope without CORS (a resource or route the middleware is not applied to):
no origin is allowed, nothing else is set."""


def policy_of(top: PolicyRules, paths: tuple[PathRule, ...] = ()) -> CorsPolicy:
    """A policy read back from a framework: the top level's rules (what they leave unset is
    empty or false) and the ``[[paths]]`` tables."""
    return CorsPolicy(
        allow_origins=top.allow_origins or (),
        allow_origin_patterns=top.allow_origin_patterns or (),
        allow_methods=top.allow_methods or (),
        allow_headers=top.allow_headers or (),
        expose_headers=top.expose_headers or (),
        allow_credentials=bool(top.allow_credentials),
        max_age=top.max_age,
        allow_private_network=bool(top.allow_private_network),
        paths=paths,
    )


# -- refusals, worded the same way for every framework -------------------------------------------


def refuse_paths(policy: CorsPolicy, why: str) -> None:
    if policy.paths:
        raise Inexpressible(f"[[paths]]: {why}")


def refuse_private_network(rules: CorsPolicy | EffectivePolicy, framework: str) -> None:
    if rules.allow_private_network:
        raise Inexpressible(
            f"allow_private_network: {framework} has no option to send "
            "Access-Control-Allow-Private-Network"
        )


def refuse_patterns(rules: CorsPolicy | EffectivePolicy, framework: str) -> None:
    if rules.allow_origin_patterns:
        raise Inexpressible(
            f"allow_origin_patterns: {framework} matches origins only against an exact list"
        )


def refuse_unset_max_age(rules: CorsPolicy | EffectivePolicy, framework: str, default: int) -> int:
    if rules.max_age is None:
        raise Inexpressible(
            f"max_age: {framework} always sends Access-Control-Max-Age (default {default}); "
            "the policy says to send none"
        )
    return rules.max_age


def refuse_unlisted_safelisted_headers(rules: CorsPolicy | EffectivePolicy, framework: str) -> None:
    if any_header(rules):
        return
    missing = sorted(SAFELISTED_REQUEST_HEADERS - set(header_list(rules)))
    if missing:
        raise Inexpressible(
            f"allow_headers: {framework} always allows {', '.join(missing)} (whatever the "
            "value); the policy does not list them"
        )


def refuse_literal_wildcard_under_credentials(
    rules: CorsPolicy | EffectivePolicy, key: str, framework: str
) -> None:
    """For a framework that sends a configured ``*`` as is: under credentials a browser reads it
    as a literal name, and the framework has no option that means "any" there."""
    values: tuple[str, ...] = getattr(rules, key)
    if rules.allow_credentials and ANY in values:
        raise Inexpressible(
            f"{key}: {framework} sends '*' literally and has no other way to say 'any'; with "
            "credentials a browser reads '*' as a name, not a wildcard"
        )


def null_listed(rules: CorsPolicy | EffectivePolicy) -> bool:
    return NULL in rules.allow_origins


# -- an ASGI target that runs the lifespan --------------------------------------------------------


class _Lifespan:
    """Drives an ASGI app's lifespan protocol: start-up before the first request, shut-down at
    the end (BlackSheep, Sanic and Quart set up their routing and middleware there)."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._outgoing: asyncio.Queue[MutableMapping[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def startup(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._task = asyncio.get_running_loop().create_task(
            self._app(scope, self._incoming.get, self._outgoing.put)
        )
        await self._incoming.put({"type": "lifespan.startup"})
        message = await asyncio.wait_for(self._outgoing.get(), timeout=30)
        if message["type"] != "lifespan.startup.complete":
            raise SetupError(f"the app failed to start: {message.get('message', message)}")

    async def shutdown(self) -> None:
        if self._task is None or self._task.done():
            return
        await self._incoming.put({"type": "lifespan.shutdown"})
        try:
            await asyncio.wait_for(self._outgoing.get(), timeout=10)
        finally:
            if not self._task.done():
                self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class LifespanAsgiTarget(AsgiTarget):
    """:class:`AsgiTarget` that runs the app's lifespan start-up first and its shut-down on
    :meth:`close`."""

    def __init__(self, app: Any, *, name: str) -> None:
        super().__init__(app, name=name)
        self._lifespan = _Lifespan(app)
        try:
            self._loop.run_until_complete(self._lifespan.startup())
        except BaseException:
            super().close()
            raise

    def close(self) -> None:
        try:
            self._loop.run_until_complete(self._lifespan.shutdown())
        finally:
            super().close()


def node_origin_option(rules: CorsPolicy | EffectivePolicy, framework: str) -> Any:
    """The ``origin`` option as express ``cors`` and ``@fastify/cors`` both take it: ``true``
    (reflect) for any origin with credentials, ``"*"`` without, else the listed origins and a
    ``{"regex": ...}`` per pattern (the Node harness turns those into RegExps)."""
    if any_origin(rules):
        return True if rules.allow_credentials else ANY
    return [*listed_origins(rules)] + [
        {"regex": javascript_regex(p, framework=framework)} for p in rules.allow_origin_patterns
    ]
