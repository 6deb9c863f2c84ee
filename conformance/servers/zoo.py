"""The zoo: deliberately broken CORS servers, one per known bug class.

Each is a subclass of :class:`~conformance.servers.reference.ReferenceCors` that overrides the
one decision that has the bug; its docstring names the real-world bug class. :data:`ZOO`
registers each with a small policy under which the bug is reachable, the divergence ``kind``
and grade the suite must report for it, and the properties that catch it (so the zoo test runs
only those).

Run one: ``asgi_app(z.policy, cors=z.cors)`` (or ``wsgi_app``) for ``z`` in :data:`ZOO`.
"""

# The variants override hooks with the base signature and, being broken, ignore arguments:
# ruff: noqa: ARG002

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from conformance.servers.reference import (
    Answer,
    CorsRequest,
    Header,
    ReferenceCors,
)
from reference.headers import ACAC, HeaderList, strip_ows
from reference.origins import Origin, OriginError, TupleOrigin, parse_serialized_origin, parse_url
from reference.policy import ANY, CorsPolicy, EffectivePolicy, PathRule, PolicyRules

APP = "https://app.example"
ADMIN = "https://admin.example:8443"
PREVIEW_PATTERN = r"https://[a-z0-9-]+\.preview\.app\.example"


# -- which origins are allowed ---------------------------------------------------------------


class ReflectAnyOrigin(ReferenceCors):
    """Reflects every ``Origin`` into ``Access-Control-Allow-Origin``, with credentials: the
    most common CORS misconfiguration (``origin: true`` in express ``cors``, ``add_header
    Access-Control-Allow-Origin $http_origin`` in nginx); any site reads authenticated data."""

    def origin_allowed(self, origin: bytes, effective: EffectivePolicy) -> bool:
        return True


class NullOriginTrusted(ReferenceCors):
    """Trusts ``Origin: null`` without the policy listing it (``null`` on an allow-list "for
    local files"): any site can send ``null`` from a sandboxed iframe or a ``data:`` document."""

    def null_allowed(self, effective: EffectivePolicy) -> bool:
        return True


class PrefixMatch(ReferenceCors):
    """Checks ``origin.startswith(allowed)``: ``https://app.example.evil.com`` and
    ``https://app.example:8080`` pass (the prefix-match flaw of PortSwigger's CORS research)."""

    def origin_listed(self, origin: str, effective: EffectivePolicy) -> bool:
        return any(origin.startswith(allowed) for allowed in effective.origins)


class SuffixMatch(ReferenceCors):
    """Checks ``origin.endswith(allowed_host)`` meaning to admit subdomains: any domain an
    attacker registers that ends the same way passes too (``https://evilapp.example``)."""

    def origin_listed(self, origin: str, effective: EffectivePolicy) -> bool:
        hosts = [allowed.partition("://")[2] for allowed in effective.origins]
        return any(host and origin.endswith(host) for host in hosts)


class SubstringMatch(ReferenceCors):
    """Checks that the allowed host appears somewhere in ``Origin`` (``indexOf() != -1``,
    ``strpos``): ``https://app.example.evil.com`` and ``https://notapp.example`` pass."""

    def origin_listed(self, origin: str, effective: EffectivePolicy) -> bool:
        hosts = [allowed.partition("://")[2] for allowed in effective.origins]
        return any(host and host in origin for host in hosts)


class UnanchoredPattern(ReferenceCors):
    """Matches ``allow_origin_patterns`` with ``re.search`` instead of a full match (a regex
    without ``^...$``): ``https://x.preview.app.example.evil.example`` passes."""

    def origin_matches_pattern(self, origin: str, effective: EffectivePolicy) -> bool:
        return any(pattern.search(origin) for pattern in effective.origin_patterns)


class UnescapedDot(ReferenceCors):
    """Turns each allowed origin into a regular expression without escaping it, so every ``.``
    matches any character: ``https://app-example`` (or ``https://appxexample``) passes."""

    def origin_listed(self, origin: str, effective: EffectivePolicy) -> bool:
        return any(re.fullmatch(allowed, origin) for allowed in effective.origins)


class SchemeIgnored(ReferenceCors):
    """Compares hosts (and ports) but not schemes: ``http://app.example`` passes for
    ``https://app.example``, so a network attacker's injected plain-HTTP page reads HTTPS data."""

    def origin_listed(self, origin: str, effective: EffectivePolicy) -> bool:
        hosts = {allowed.partition("://")[2] for allowed in effective.origins}
        return origin.partition("://")[2] in hosts


class LenientOriginParsing(ReferenceCors):
    """Parses ``Origin`` with a URL parser and compares the origin of that URL, then echoes the
    header as sent: a non-browser client's ``https://APP.example:443/`` (or ``.../?x``,
    ``https://user@app.example``) is granted and reflected, values no browser ever sends."""

    def origin_allowed(self, origin: bytes, effective: EffectivePolicy) -> bool:
        try:
            parsed = parse_url(origin.decode("latin-1")).origin
        except (OriginError, ValueError):
            return False
        if not isinstance(parsed, TupleOrigin):
            return False
        text = parsed.serialize()
        return self.origin_listed(text, effective) or self.origin_matches_pattern(text, effective)


class PathCaseInsensitive(ReferenceCors):
    """Matches ``[[paths]]`` prefixes case-insensitively (a router that lowercases the path):
    ``/PUBLIC`` gets the open ``/public`` rule although the application serves it otherwise."""

    def effective_policy(self, path: str) -> EffectivePolicy:
        return self.policy.rules_for_path(path.lower())


# -- state -------------------------------------------------------------------------------------


class PathKeyedDecisionCache(ReferenceCors):
    """Caches the origin decision by path rule, leaving the origin out of the key: after an
    allowed origin requests a path, the next requester of a path under the same rule is granted
    too (a memoized ``is_allowed(path)``; per-route state shared between requests)."""

    def __init__(self, policy: CorsPolicy) -> None:
        super().__init__(policy)
        self.last_granted: dict[int, bytes] = {}

    def origin_allowed(self, origin: bytes, effective: EffectivePolicy) -> bool:
        key = id(effective)  # one entry per path rule
        if super().origin_allowed(origin, effective):
            self.last_granted[key] = origin
            return True
        return self.last_granted.pop(key, None) is not None


class StatefulPattern(ReferenceCors):
    """Tests the origin pattern with a JavaScript ``/.../g`` regular expression, whose
    ``lastIndex`` survives between calls: every second test of a matching origin fails."""

    def __init__(self, policy: CorsPolicy) -> None:
        super().__init__(policy)
        self.last_index = 0

    def origin_matches_pattern(self, origin: str, effective: EffectivePolicy) -> bool:
        # `/^...$/g.test(origin)` searches from lastIndex: past 0, the `^` cannot match, so
        # the test fails and resets lastIndex; a success sets it to the end of the match.
        if self.last_index > 0:
            self.last_index = 0
            return False
        if super().origin_matches_pattern(origin, effective):
            self.last_index = len(origin)
            return True
        return False


# -- the preflight -----------------------------------------------------------------------------


class PreflightToApplication(ReferenceCors):
    """Lets ``OPTIONS`` through to the application, which answers it without CORS headers (a
    router answering ``OPTIONS`` itself before the CORS middleware runs)."""

    def handle(self, method: str, path: str, headers: Sequence[Header]) -> Answer:
        if method == "OPTIONS":
            return Answer(respond=False)
        return super().handle(method, path, headers)


class PreflightAnyOrigin(ReferenceCors):
    """Answers every preflight as allowed whatever the origin (a blanket ``OPTIONS`` handler),
    while actual responses check the allow-list: browsers then send the actual request, whose
    side effects happen although script never reads the answer."""

    def preflight_origin_allowed(self, origin: bytes, effective: EffectivePolicy) -> bool:
        return True


class AnyRequestedHeader(ReferenceCors):
    """Echoes ``Access-Control-Request-Headers`` without checking it against the policy
    (``add_header Access-Control-Allow-Headers $http_access_control_request_headers``)."""

    def headers_allowed(self, names: Sequence[bytes], effective: EffectivePolicy) -> bool:
        return True


class AnyRequestedMethod(ReferenceCors):
    """Echoes ``Access-Control-Request-Method`` without checking it against the policy (a
    copy of the request header, as for the headers)."""

    def method_allowed(self, method: bytes, effective: EffectivePolicy) -> bool:
        return True


class CaseSensitiveHeaderNames(ReferenceCors):
    """Compares request header names case-sensitively with the configured ones: ``X-Api-Key``
    in the configuration never matches the lowercase ``x-api-key`` browsers send."""

    def headers_allowed(self, names: Sequence[bytes], effective: EffectivePolicy) -> bool:
        if ANY in effective.allow_headers:
            return True
        return all(name.decode("latin-1") in effective.allow_headers for name in names)


class MethodUppercased(ReferenceCors):
    """Uppercases the requested method before comparing, then echoes it as requested: ``patch``
    (which browsers do not normalize) is granted when only ``PATCH`` is allowed."""

    def method_allowed(self, method: bytes, effective: EffectivePolicy) -> bool:
        return super().method_allowed(method.upper(), effective)


class QuadraticHeaderParsing(ReferenceCors):
    """De-duplicates ``Access-Control-Request-Headers`` by scanning the names kept so far for
    each new one: O(n²) in the list length, a denial-of-service lever for any client."""

    def requested_headers(self, value: bytes | None) -> tuple[bytes, ...] | None:
        if value is None:
            return ()
        kept: list[bytes] = []
        for element in value.split(b","):
            name = strip_ows(element).lower()
            if not name:
                continue
            duplicate = False
            for seen in kept:
                if seen == name:
                    duplicate = True
            if not duplicate:
                kept.append(name)
        return tuple(kept)


class MemoryBalloon(ReferenceCors):
    """Builds a pairwise table of the requested header names (to "validate combinations"):
    memory grows with the square of the list, so one request with a long list can exhaust a
    worker."""

    def requested_headers(self, value: bytes | None) -> tuple[bytes, ...] | None:
        names = super().requested_headers(value)
        if names:
            table = bytearray(len(names) * len(names) * 2)  # the pairwise table
            table[-1] = 1
        return names


class PrivateNetworkUnasked(ReferenceCors):
    """Sends ``Access-Control-Allow-Private-Network: true`` on every granted preflight, asked
    or not, allowed or not (copied from a PNA tutorial)."""

    def private_network_header(
        self, request: CorsRequest, effective: EffectivePolicy
    ) -> bytes | None:
        return b"true"


class MalformedMaxAge(ReferenceCors):
    """Sends ``Access-Control-Max-Age: 600s`` (units in a delta-seconds field): browsers differ
    on what it then means (Firefox: not cached; the spec: the 5 s default)."""

    def max_age_header(self, effective: EffectivePolicy) -> bytes | None:
        value = super().max_age_header(effective)
        return None if value is None else value + b"s"


class WildcardAllowHeadersWithCredentials(ReferenceCors):
    """Answers ``Access-Control-Allow-Headers: *`` for a policy allowing any header, with
    credentials: browsers read ``*`` literally then, and block credentialed requests with custom
    headers."""

    def allowed_headers_header(
        self, names: Sequence[bytes], effective: EffectivePolicy
    ) -> bytes | None:
        if names and ANY in effective.allow_headers:
            return b"*"
        return super().allowed_headers_header(names, effective)


class WildcardAllowHeadersAuthorization(WildcardAllowHeadersWithCredentials):
    """The same literal ``Access-Control-Allow-Headers: *``, without credentials: by the Fetch
    Standard it does not cover ``Authorization``, but every shipping engine lets it through
    (whatwg/fetch#1919), so the outcome depends on the browser (informational)."""


# -- the actual response -----------------------------------------------------------------------


class WildcardWithCredentials(ReferenceCors):
    """Sends ``Access-Control-Allow-Origin: *`` with ``Access-Control-Allow-Credentials: true``
    for "any origin, with credentials": browsers refuse ``*`` for credentialed requests."""

    def allow_origin_value(self, origin: bytes, effective: EffectivePolicy) -> bytes:
        return b"*" if ANY in effective.origins else origin


class AllowOriginList(ReferenceCors):
    """Sends every allowed origin in one ``Access-Control-Allow-Origin`` (``https://a.example,
    https://b.example``): the header takes a single origin, so browsers block everyone."""

    def allow_origin_value(self, origin: bytes, effective: EffectivePolicy) -> bytes:
        return ", ".join(sorted(effective.origins)).encode("ascii")


class CredentialsCapitalised(ReferenceCors):
    """Sends ``Access-Control-Allow-Credentials: True``: browsers require exactly ``true``."""

    def credentials_headers(self, effective: EffectivePolicy) -> HeaderList:
        return ((ACAC, b"True"),) if effective.allow_credentials else ()


class CredentialsAlways(ReferenceCors):
    """Sends ``Access-Control-Allow-Credentials: true`` whatever the policy says (a
    hard-coded header): credentialed requests are readable from every allowed origin."""

    def credentials_headers(self, effective: EffectivePolicy) -> HeaderList:
        return ((ACAC, b"true"),)


class CredentialsToRefusedOrigins(ReferenceCors):
    """Sends ``Access-Control-Allow-Credentials: true`` to refused origins too (set
    unconditionally, only ``Access-Control-Allow-Origin`` depends on the check)."""

    def refused_headers(self, request: CorsRequest, effective: EffectivePolicy) -> HeaderList:
        return self.credentials_headers(effective)


class ExposesUnlistedHeader(ReferenceCors):
    """Adds a header the policy does not expose to ``Access-Control-Expose-Headers`` (a
    framework default list merged into the configured one)."""

    def expose_headers_header(
        self, effective: EffectivePolicy, response_headers: Sequence[Header]
    ) -> bytes | None:
        listed = super().expose_headers_header(effective, response_headers)
        return b"x-internal-token" if listed is None else listed + b", x-internal-token"


class WildcardExposeWithCredentials(ReferenceCors):
    """Sends ``Access-Control-Expose-Headers: *`` under credentials: browsers then expose only
    a header literally named ``*``, hiding what the policy exposes."""

    def expose_headers_header(
        self, effective: EffectivePolicy, response_headers: Sequence[Header]
    ) -> bytes | None:
        if ANY in effective.expose_headers:
            return b"*"
        return super().expose_headers_header(effective, response_headers)


# -- caching and requests without Origin -------------------------------------------------------


class NoVary(ReferenceCors):
    """Reflects allowed origins without ``Vary: Origin``: a shared cache serves one origin's
    ``Access-Control-Allow-Origin`` (or none) to the next."""

    def vary(self, answer: Answer, status: int) -> tuple[bytes, ...]:
        return ()


class VaryOnlyOnGrants(ReferenceCors):
    """Adds ``Vary: Origin`` only where it adds CORS headers to a successful response: refused
    origins, requests without ``Origin`` and error responses (404) go out without it, and a
    cache keeps serving them to allowed origins."""

    def vary(self, answer: Answer, status: int) -> tuple[bytes, ...]:
        if not answer.granted or status >= 400:
            return ()
        return super().vary(answer, status)


class NoOriginForbidden(ReferenceCors):
    """Answers 403 to requests without ``Origin`` ("not a CORS request"), breaking same-origin
    ``GET``, navigations and server-to-server calls."""

    def without_origin(self, request: CorsRequest) -> Answer:
        return Answer(respond=True, status=403)


class CrashOnMalformedOrigin(ReferenceCors):
    """Parses ``Origin`` with a parser that raises on a malformed value and never catches it:
    any client gets a 500 by sending ``Origin: https://a.example/``."""

    def parse_origin(self, value: bytes) -> Origin | None:
        origin = parse_serialized_origin(value)
        if origin is None:
            raise ValueError(f"invalid Origin header: {value!r}")
        return origin


# -- the registry ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ZooServer:
    """A broken server and what the suite must say about it.

    ``expected_kind`` is a :attr:`conformance.divergences.Divergence.kind`; ``properties``
    names the properties (of :data:`conformance.properties.PROPERTY_BY_NAME`) that catch it
    (empty: all of them); ``paths`` are the request paths to give the suite; ``max_examples``
    the examples per property that find the bug reliably (the rarer the triggering input among
    the generated ones, the more).
    """

    name: str
    description: str
    policy: CorsPolicy
    cors: type[ReferenceCors]
    expected_kind: str
    expected_grade: str
    properties: tuple[str, ...] = ()
    paths: tuple[str, ...] = ("/",)
    max_examples: int = 60


def _zoo(
    name: str,
    cors: type[ReferenceCors],
    policy: CorsPolicy,
    kind: str,
    grade: str,
    *properties: str,
    paths: tuple[str, ...] = ("/",),
    max_examples: int = 60,
) -> ZooServer:
    description = (cors.__doc__ or name).split("\n\n", 1)[0]
    return ZooServer(
        name=name,
        description=" ".join(description.split()),
        policy=policy,
        cors=cors,
        expected_kind=kind,
        expected_grade=grade,
        properties=properties,
        paths=paths,
        max_examples=max_examples,
    )


_EXACT = CorsPolicy(allow_origins=(APP, ADMIN))
_EXACT_CREDENTIALS = CorsPolicy(allow_origins=(APP, ADMIN), allow_credentials=True)
_PATTERNS = CorsPolicy(allow_origin_patterns=(PREVIEW_PATTERN,))
_PREFLIGHTS = CorsPolicy(
    allow_origins=(APP, ADMIN),
    allow_methods=("PUT", "PATCH", "DELETE"),
    allow_headers=("content-type", "x-api-key", "x-requested-with", "authorization"),
    allow_credentials=True,
    max_age=600,
)
_OPEN_PREFLIGHTS = CorsPolicy(
    allow_origins=(APP, ADMIN), allow_methods=("*",), allow_headers=("*",), max_age=600
)

ZOO: tuple[ZooServer, ...] = (
    # -- origins: insecure grants
    _zoo(
        "reflect-any-origin",
        ReflectAnyOrigin,
        _EXACT_CREDENTIALS,
        "origin-granted-against-policy",
        "insecure",
        "simple_requests",
    ),
    _zoo(
        "null-trusted",
        NullOriginTrusted,
        _EXACT,
        "origin-granted-against-policy",
        "insecure",
        "simple_requests",
        max_examples=400,
    ),
    _zoo(
        "prefix-match",
        PrefixMatch,
        _EXACT,
        "origin-granted-against-policy",
        "insecure",
        "simple_requests",
        max_examples=300,
    ),
    _zoo(
        "suffix-match",
        SuffixMatch,
        _EXACT,
        "origin-granted-against-policy",
        "insecure",
        "simple_requests",
    ),
    _zoo(
        "substring-match",
        SubstringMatch,
        _EXACT,
        "origin-granted-against-policy",
        "insecure",
        "simple_requests",
    ),
    _zoo(
        "unanchored-pattern",
        UnanchoredPattern,
        _PATTERNS,
        "origin-granted-against-policy",
        "insecure",
        "simple_requests",
        max_examples=300,
    ),
    _zoo(
        "unescaped-dot",
        UnescapedDot,
        CorsPolicy(allow_origins=(APP,)),
        "origin-granted-against-policy",
        "insecure",
        "simple_requests",
        max_examples=600,
    ),
    _zoo(
        "scheme-ignored",
        SchemeIgnored,
        _EXACT,
        "origin-granted-against-policy",
        "insecure",
        "simple_requests",
        max_examples=150,
    ),
    _zoo(
        "path-case-insensitive",
        PathCaseInsensitive,
        CorsPolicy(
            allow_origins=(APP,),
            paths=(PathRule(prefix="/public", rules=PolicyRules(allow_origins=(ANY,))),),
        ),
        "origin-granted-against-policy",
        "insecure",
        "simple_requests",
        max_examples=500,
    ),
    _zoo(
        "lenient-origin-parsing",
        LenientOriginParsing,
        _EXACT,
        "hostile-input-granted",
        "insecure",
        "hostile_input",
        max_examples=100,
    ),
    # -- credentials
    _zoo(
        "credentials-always",
        CredentialsAlways,
        _EXACT,
        "credentialed-read-against-policy",
        "insecure",
        "credentials_modes",
    ),
    _zoo(
        "wildcard-with-credentials",
        WildcardWithCredentials,
        CorsPolicy(allow_origins=(ANY,), allow_credentials=True),
        "allowed-request-blocked",
        "dysfunctional",
        "credentials_modes",
    ),
    _zoo(
        "credentials-capitalised",
        CredentialsCapitalised,
        _EXACT_CREDENTIALS,
        "allowed-request-blocked",
        "dysfunctional",
        "credentials_modes",
    ),
    _zoo(
        "credentials-to-refused-origins",
        CredentialsToRefusedOrigins,
        _EXACT_CREDENTIALS,
        "credentials-header-to-refused-origin",
        "non-strict",
        "credentials_header_hygiene",
    ),
    _zoo(
        "allow-origin-list",
        AllowOriginList,
        _EXACT,
        "allowed-request-blocked",
        "dysfunctional",
        "simple_requests",
    ),
    # -- preflights
    _zoo(
        "any-requested-header",
        AnyRequestedHeader,
        _PREFLIGHTS,
        "header-granted-against-policy",
        "insecure",
        "preflighted_requests",
        max_examples=150,
    ),
    _zoo(
        "any-requested-method",
        AnyRequestedMethod,
        _PREFLIGHTS,
        "method-granted-against-policy",
        "insecure",
        "preflighted_requests",
    ),
    _zoo(
        "method-uppercased",
        MethodUppercased,
        CorsPolicy(
            allow_origins=(APP, ADMIN),
            allow_methods=("PUT", "PATCH", "DELETE"),
            allow_headers=(ANY,),
        ),
        "method-granted-against-policy",
        "insecure",
        "preflighted_requests",
        max_examples=600,
    ),
    _zoo(
        "preflight-any-origin",
        PreflightAnyOrigin,
        _PREFLIGHTS,
        "preflight-granted-against-policy",
        "insecure",
        "preflighted_requests",
    ),
    _zoo(
        "case-sensitive-header-names",
        CaseSensitiveHeaderNames,
        CorsPolicy(
            allow_origins=(APP, ADMIN),
            allow_methods=(ANY,),
            allow_headers=(
                "Content-Type",
                "X-Api-Key",
                "X-Requested-With",
                "If-None-Match",
                "Cache-Control",
                "Last-Event-ID",
                "X-HTTP-Method-Override",
            ),
        ),
        "allowed-request-blocked",
        "dysfunctional",
        "preflighted_requests",
        max_examples=500,
    ),
    _zoo(
        "preflight-to-application",
        PreflightToApplication,
        _PREFLIGHTS,
        "allowed-request-blocked",
        "dysfunctional",
        "preflighted_requests",
        max_examples=100,
    ),
    _zoo(
        "wildcard-allow-headers-with-credentials",
        WildcardAllowHeadersWithCredentials,
        CorsPolicy(allow_origins=(APP, ADMIN), allow_headers=(ANY,), allow_credentials=True),
        "allowed-request-blocked",
        "dysfunctional",
        "preflighted_requests",
        "credentials_modes",
        max_examples=300,
    ),
    _zoo(
        "wildcard-allow-headers-authorization",
        WildcardAllowHeadersAuthorization,
        CorsPolicy(allow_origins=(ANY,), allow_headers=(ANY,)),
        "browsers-differ",
        "informational",
        "preflighted_requests",
    ),
    _zoo(
        "private-network-unasked",
        PrivateNetworkUnasked,
        _OPEN_PREFLIGHTS,
        "private-network-granted-unasked",
        "non-strict",
        "private_network_hygiene",
    ),
    _zoo(
        "malformed-max-age",
        MalformedMaxAge,
        _OPEN_PREFLIGHTS,
        "malformed-cors-header",
        "non-strict",
        "header_grammar",
    ),
    _zoo(
        "quadratic-header-parsing",
        QuadraticHeaderParsing,
        _OPEN_PREFLIGHTS,
        "superlinear-header-parsing",
        "non-strict",
        "header_list_scaling",
    ),
    _zoo(
        "memory-balloon",
        MemoryBalloon,
        _OPEN_PREFLIGHTS,
        "superlinear-header-parsing",
        "non-strict",
        "header_list_scaling",
    ),
    # -- exposure
    _zoo(
        "exposes-unlisted-header",
        ExposesUnlistedHeader,
        CorsPolicy(allow_origins=(APP, ADMIN), expose_headers=("x-request-id",)),
        "header-exposed-against-policy",
        "insecure",
        "exposed_headers",
    ),
    _zoo(
        "wildcard-expose-with-credentials",
        WildcardExposeWithCredentials,
        CorsPolicy(allow_origins=(APP, ADMIN), expose_headers=(ANY,), allow_credentials=True),
        "exposed-header-hidden",
        "dysfunctional",
        "exposed_headers",
    ),
    # -- caching, state, requests without Origin, robustness
    _zoo(
        "no-vary",
        NoVary,
        _EXACT,
        "missing-vary-origin",
        "non-strict",
        "vary_origin",
    ),
    _zoo(
        "vary-only-on-grants",
        VaryOnlyOnGrants,
        _EXACT,
        "missing-vary-origin",
        "non-strict",
        "vary_origin",
    ),
    _zoo(
        "path-keyed-decision-cache",
        PathKeyedDecisionCache,
        _EXACT_CREDENTIALS,
        "grant-depends-on-history",
        "insecure",
        "history_independence",
        max_examples=100,
    ),
    _zoo(
        "stateful-pattern",
        StatefulPattern,
        _PATTERNS,
        "decision-not-deterministic",
        "dysfunctional",
        "determinism",
    ),
    _zoo(
        "no-origin-forbidden",
        NoOriginForbidden,
        _EXACT,
        "no-origin-request-refused",
        "dysfunctional",
        "no_origin_requests",
    ),
    _zoo(
        "crash-on-malformed-origin",
        CrashOnMalformedOrigin,
        _EXACT,
        "server-error-on-hostile-input",
        "non-strict",
        "hostile_input",
        max_examples=100,
    ),
)
ZOO_BY_NAME: dict[str, ZooServer] = {z.name: z for z in ZOO}
