"""The browser side: what a browser sends for a request and what it does with the answers.

Sans-IO, in the manner of h11: :func:`simulate_fetch` is a generator that *yields* each
:class:`WireRequest` the browser would put on the wire (a preflight, the actual request, each
redirect hop) and is *sent* the :class:`RawResponse` the server gave; it *returns* the verdict.
The caller does the I/O. :func:`browser_verdict` drives it from responses recorded beforehand.

Main fetch, HTTP fetch, CORS-preflight fetch and HTTP-redirect fetch are followed step by step
(digest §5-§11); every decision is recorded as a :class:`Step` with its anchor.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator, Sequence
from typing import NamedTuple

from reference import anchors
from reference.cache import (
    EMPTY_CACHE,
    PreflightCache,
    clear,
    header_name_cache_match,
    max_age_of,
    method_cache_match,
    result_cached,
    store,
)
from reference.grammar import is_token
from reference.headers import FAILURE, HeaderIndex, HeaderList
from reference.origins import OriginError, ParsedURL, TupleOrigin, parse_url, same_origin
from reference.profiles import SPEC, Profile, Quirk
from reference.request import BrowserRequest, CredentialsMode, RedirectMode, RequestMode
from reference.safelist import (
    CORS_SAFELISTED_RESPONSE_HEADER_NAMES,
    NUL_CR_LF,
    cors_unsafe_request_header_names,
    decision_header_list,
    is_cors_safelisted_method,
    is_forbidden_method,
    is_valid_method,
    normalize_method,
)
from reference.verdict import (
    Allowed,
    Blocked,
    BlockedReason,
    RawResponse,
    Step,
    Verdict,
    WireRequest,
)

_NEVER_EXPOSED = frozenset({b"set-cookie", b"set-cookie2"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 20
ACAO = b"access-control-allow-origin"
ACAC = b"access-control-allow-credentials"
ACAM = b"access-control-allow-methods"
ACAH = b"access-control-allow-headers"
ACEH = b"access-control-expose-headers"
ACAPN = b"access-control-allow-private-network"
ACMA = b"access-control-max-age"


class FetchResult(NamedTuple):
    verdict: Verdict
    cache: PreflightCache
    cached_max_age: int | None  # seconds the last preflight result was cached; None: no preflight


Simulation = Generator[WireRequest, RawResponse, FetchResult]


class _Blocked(Exception):
    def __init__(self, reason: BlockedReason, parameter: bytes | None, text: str) -> None:
        super().__init__(text)
        self.reason = reason
        self.parameter = parameter
        self.text = text


class Received:
    """A response as the HTTP layer hands it to Fetch: each value with leading and trailing
    OWS removed, the list indexed by name once."""

    __slots__ = ("headers", "index", "status")

    def __init__(self, response: RawResponse) -> None:
        self.status = response.status
        self.headers, self.index = HeaderIndex.received(response.headers)


def received(response: RawResponse) -> Received:
    return Received(response)


class _Fetch:
    """Mutable state of one fetch; only lives inside :func:`simulate_fetch`."""

    def __init__(
        self,
        request: BrowserRequest,
        profile: Profile,
        cache: PreflightCache,
        now: float,
        trace: bool = True,
    ) -> None:
        self.trace = trace
        self._serialized: tuple[int, bytes] | None = None
        self.request = request
        self.profile = profile
        self.cache = cache
        self.now = now
        self.steps: list[Step] = []
        self.wire: list[WireRequest] = []
        self.url_list: list[ParsedURL] = [request.parsed_url]
        self.method = normalize_method(request.method.encode("latin-1", "replace"))
        self.include = request.credentials is CredentialsMode.INCLUDE
        self.tainting = "basic"
        self.preflighted = False
        self.cached_max_age: int | None = None
        self.body = request.body
        combine = request.headers_api == "xhr" or profile.has(
            Quirk.COMBINE_DUPLICATE_REQUEST_HEADERS
        )
        self.headers: HeaderList = decision_header_list(
            request.headers,
            combine=combine,
            no_cors=request.mode is RequestMode.NO_CORS,
            profile=profile,
        )

    def step(self, text: str | Callable[[], str], ref: str) -> None:
        """Record a decision; the text is formatted only when tracing (reports need it, the
        hot path of a run does not: a verdict is the same either way)."""
        if self.trace:
            self.steps.append(Step(text=text() if callable(text) else text, spec_ref=ref))

    # -- origins -----------------------------------------------------------------------------
    @property
    def current_url(self) -> ParsedURL:
        return self.url_list[-1]

    def tainted_origin(self) -> bool:
        # https://fetch.spec.whatwg.org/#concept-request-tainted-origin
        origin = self.request.origin
        last: ParsedURL | None = None
        for url in self.url_list:
            # A hop between two different origins, away from a URL not of the request's own
            # origin, taints it.
            moved = last is not None and not same_origin(url.origin, last.origin)
            if moved and last is not None and not same_origin(origin, last.origin):
                return True
            last = url
        return False

    def serialized_origin(self) -> bytes:
        # https://fetch.spec.whatwg.org/#serializing-a-request-origin
        hops = len(self.url_list)
        if self._serialized is None or self._serialized[0] != hops:
            value = b"null" if self.tainted_origin() else self.request.origin.serialize().encode()
            self._serialized = (hops, value)
        return self._serialized[1]

    # -- the CORS check ----------------------------------------------------------------------
    def cors_check(self, response: Received, *, preflight: bool) -> None:
        # https://fetch.spec.whatwg.org/#cors-check
        prefix = "PREFLIGHT_" if preflight else ""
        # Step 1: let origin be the result of getting `Access-Control-Allow-Origin`.
        acao = response.index.get(ACAO)
        # Step 2: if origin is null, return failure.
        if acao is None:
            raise _Blocked(
                BlockedReason[prefix + "MISSING_ALLOW_ORIGIN_HEADER"],
                None,
                "the response has no Access-Control-Allow-Origin header",
            )
        # Step 3: credentials mode not "include" and origin is `*`: return success.
        if acao == b"*":
            if not self.include:
                self.step(
                    "Access-Control-Allow-Origin is `*` and credentials are not included: "
                    "the CORS check passes",
                    anchors.CORS_CHECK,
                )
                return
            raise _Blocked(
                BlockedReason[prefix + "WILDCARD_ORIGIN_NOT_ALLOWED"],
                acao,
                "Access-Control-Allow-Origin is `*`, which never matches a request whose "
                'credentials mode is "include"',
            )
        # Step 4: if the byte-serialization of request's origin is not origin, return failure.
        expected = self.serialized_origin()
        if acao != expected:
            reason, why = mismatch_reason(acao)
            raise _Blocked(
                BlockedReason[prefix + reason],
                acao,
                f"Access-Control-Allow-Origin {_q(acao)} {why}: the request's origin serializes "
                f"as {_q(expected)} and the comparison is byte for byte",
            )
        self.step(
            lambda: f"Access-Control-Allow-Origin equals the request's origin {_q(expected)}",
            anchors.CORS_CHECK,
        )
        # Step 5: if credentials mode is not "include", return success.
        if not self.include:
            return
        # Steps 6-7: `Access-Control-Allow-Credentials` must be exactly `true`.
        acac = response.index.get(ACAC)
        if acac != b"true":
            raise _Blocked(
                BlockedReason[prefix + "INVALID_ALLOW_CREDENTIALS"],
                acac,
                f"credentials are included but Access-Control-Allow-Credentials is {_q(acac)}, "
                "not exactly `true`",
            )
        self.step(
            "credentials are included and Access-Control-Allow-Credentials is `true`",
            anchors.CORS_CHECK,
        )

    # -- preflight ---------------------------------------------------------------------------
    def needs_preflight(self) -> bool:
        # https://fetch.spec.whatwg.org/#main-fetch step 12 (the CORS-with-preflight branch)
        request = self.request
        if request.use_cors_preflight:
            return True
        if request.private_network and self.profile.has(Quirk.PRIVATE_NETWORK_ACCESS):
            # https://wicg.github.io/private-network-access/#cors-preflight : a private network
            # request is preflighted even when it would otherwise be simple.
            return True
        if not request.unsafe_request:
            return False
        if not is_cors_safelisted_method(self.method):
            return True
        return bool(cors_unsafe_request_header_names(self.headers, self.profile))

    def preflight_cached(self, unsafe: tuple[bytes, ...]) -> bool:
        # https://fetch.spec.whatwg.org/#concept-http-fetch step 4.1 (the preflight condition)
        if not self.cache:
            # Nothing can match: only a request that needs no cached permission (a safelisted
            # method without the flag, no unsafe header: a private network preflight) passes.
            return (
                not unsafe
                and is_cors_safelisted_method(self.method)
                and not self.request.use_cors_preflight
            )
        origin = self.serialized_origin()
        url = self.current_url.serialize()
        kwargs = {
            "origin": origin,
            "url": url,
            "include": self.include,
            "now": self.now,
            "profile": self.profile,
        }
        method_ok = method_cache_match(self.cache, method=self.method, **kwargs)  # type: ignore[arg-type]
        if (
            not method_ok
            and self.request.use_cors_preflight
            and is_cors_safelisted_method(self.method)
            and self.profile.has(Quirk.FLAGGED_SAFELISTED_METHOD_NEEDS_NO_ENTRY)
            and result_cached(
                self.cache, origin=origin, url=url, include=self.include, now=self.now
            )
        ):
            method_ok = True
            self.step(
                lambda: (
                    f"a cached preflight result for this URL serves the safelisted method "
                    f"{_q(self.method)} despite the use-CORS-preflight flag "
                    f"({Quirk.FLAGGED_SAFELISTED_METHOD_NEEDS_NO_ENTRY})"
                ),
                anchors.CORS_PREFLIGHT_CACHE,
            )
        if not method_ok and (
            not is_cors_safelisted_method(self.method) or self.request.use_cors_preflight
        ):
            return False
        return all(
            header_name_cache_match(self.cache, name=name, **kwargs)  # type: ignore[arg-type]
            for name in unsafe
        )

    def build_preflight(self, unsafe: tuple[bytes, ...]) -> WireRequest:
        # https://fetch.spec.whatwg.org/#cors-preflight-fetch-0 steps 1-3
        headers: list[tuple[bytes, bytes]] = [
            (b"Accept", b"*/*"),
            (b"Access-Control-Request-Method", self.method),
        ]
        if unsafe:
            # Step 3: comma-joined, no space: "not ", " because of existing deployments".
            headers.append((b"Access-Control-Request-Headers", b",".join(unsafe)))
        if self.profile.has(Quirk.PRIVATE_NETWORK_ACCESS) and self.request.private_network:
            headers.append((b"Access-Control-Request-Private-Network", b"true"))
        headers.append((b"Origin", self.serialized_origin()))
        return WireRequest(
            is_preflight=True,
            method=b"OPTIONS",
            url=self.current_url.serialize(),
            headers=tuple(headers),
            credentials=False,
        )

    def validate_preflight(self, response: Received, unsafe: tuple[bytes, ...]) -> None:
        # https://fetch.spec.whatwg.org/#cors-preflight-fetch-0 step 7
        status = response.status
        if status in REDIRECT_STATUSES and response.index.get(b"location") is not None:
            raise _Blocked(
                BlockedReason.PREFLIGHT_DISALLOWED_REDIRECT,
                str(status).encode(),
                f"the preflight was answered with a {status} redirect; preflights are never "
                "redirected",
            )
        ok_status = 200 <= status <= 299
        # Step 7: "If a CORS check for request and response returns success and response's
        # status is an ok status". Chromium reports a failed check on a non-ok response as an
        # invalid status, so the status is tested first.
        if not ok_status:
            raise _Blocked(
                BlockedReason.PREFLIGHT_INVALID_STATUS,
                str(status).encode(),
                f"the preflight response status {status} is not an ok status (200-299)",
            )
        self.step(lambda: f"preflight status {status} is an ok status", anchors.OK_STATUS)
        self.cors_check(response, preflight=True)
        if self.profile.has(Quirk.PRIVATE_NETWORK_ACCESS) and self.request.private_network:
            acapn = response.index.get(ACAPN)
            if acapn is None:
                raise _Blocked(
                    BlockedReason.PREFLIGHT_MISSING_ALLOW_PRIVATE_NETWORK,
                    None,
                    "no Access-Control-Allow-Private-Network on the preflight",
                )
            if acapn != b"true":
                raise _Blocked(
                    BlockedReason.PREFLIGHT_INVALID_ALLOW_PRIVATE_NETWORK,
                    acapn,
                    "Access-Control-Allow-Private-Network is not exactly `true`",
                )
        # Step 7.1: methods = extract `Access-Control-Allow-Methods`.
        methods = response.index.extract(ACAM)
        # Step 7.2: header names = extract `Access-Control-Allow-Headers`.
        names = response.index.extract(ACAH)
        # Step 7.3: if either is failure, return a network error.
        if methods is FAILURE:
            raise _Blocked(
                BlockedReason.INVALID_ALLOW_METHODS_PREFLIGHT_RESPONSE,
                response.index.get(ACAM),
                "Access-Control-Allow-Methods does not parse as a list of tokens",
            )
        if names is FAILURE:
            raise _Blocked(
                BlockedReason.INVALID_ALLOW_HEADERS_PREFLIGHT_RESPONSE,
                response.index.get(ACAH),
                "Access-Control-Allow-Headers does not parse as a list of tokens",
            )
        # Step 7.4: methods null and use-CORS-preflight flag set: methods = [request's method].
        implied = methods is None and self.request.use_cors_preflight
        if implied:
            methods = (self.method,)
        method_list: tuple[bytes, ...] = methods or ()
        name_list: tuple[bytes, ...] = names or ()
        # An engine that takes nothing as granted from an absent list: the implied method only
        # counts where a safelisted method passes anyway (and is cached as the spec caches it).
        not_implied = implied and self.profile.has(Quirk.FLAGGED_METHOD_NOT_IMPLIED)
        # Step 7.5: method not in methods, not safelisted, and (include or `*` not in methods).
        if (
            (self.method not in method_list or not_implied)
            and not is_cors_safelisted_method(self.method)
            and (self.include or b"*" not in method_list)
        ):
            if not_implied:
                why = (
                    "Access-Control-Allow-Methods is absent, and this engine does not take the "
                    f"request's method as granted for the use-CORS-preflight flag "
                    f"({Quirk.FLAGGED_METHOD_NOT_IMPLIED})"
                )
            elif b"*" in method_list:
                why = "`*` is not a wildcard when credentials are included"
            else:
                why = "it is not listed (comparison is case-sensitive)"
            raise _Blocked(
                BlockedReason.METHOD_DISALLOWED_BY_PREFLIGHT_RESPONSE,
                self.method,
                f"method {_q(self.method)} is not allowed by Access-Control-Allow-Methods "
                f"{_q(response.index.get(ACAM))}: {why}",
            )
        self.step(lambda: f"method {_q(self.method)} is allowed", anchors.CORS_PREFLIGHT_FETCH)
        lowered = {n.lower() for n in name_list}
        # Step 7.6: an `Authorization` in the request must be listed explicitly.
        has_authorization = any(n.lower() == b"authorization" for n, _ in self.headers)
        if has_authorization and b"authorization" not in lowered:
            covered = (
                b"*" in name_list
                and not self.include
                and self.profile.has(Quirk.AUTHORIZATION_COVERED_BY_WILDCARD)
            )
            if not covered:
                raise _Blocked(
                    BlockedReason.HEADER_DISALLOWED_BY_PREFLIGHT_RESPONSE,
                    b"authorization",
                    "`Authorization` is a CORS non-wildcard request-header name: it must be "
                    "listed in Access-Control-Allow-Headers explicitly; `*` does not cover it",
                )
            self.step(
                lambda: (
                    f"`Authorization` covered by `*` ({Quirk.AUTHORIZATION_COVERED_BY_WILDCARD})"
                ),
                anchors.NON_WILDCARD_REQUEST_HEADER_NAME,
            )
        # Step 7.7: each unsafe name must be listed, or `*` without credentials.
        for name in unsafe:
            if name in lowered or (b"*" in name_list and not self.include):
                continue
            raise _Blocked(
                BlockedReason.HEADER_DISALLOWED_BY_PREFLIGHT_RESPONSE,
                name,
                f"request header {_q(name)} is not allowed by Access-Control-Allow-Headers "
                f"{_q(response.index.get(ACAH))}"
                + (
                    ": `*` is not a wildcard when credentials are included"
                    if b"*" in name_list
                    else ""
                ),
            )
        if unsafe:
            self.step(
                lambda: f"request headers {_q(b','.join(unsafe))} are allowed",
                anchors.CORS_PREFLIGHT_FETCH,
            )
        # Steps 7.8-7.11: max-age, then cache entries.
        max_age = max_age_of(response.index.get_all(ACMA), self.profile)
        self.cached_max_age = max_age.seconds
        self.step(
            lambda: f"Access-Control-Max-Age: cached for {max_age.seconds} s ({max_age.note})",
            anchors.ACMA,
        )
        self.cache = store(
            self.cache,
            origin=self.serialized_origin(),
            url=self.current_url.serialize(),
            include=self.include,
            methods=method_list,
            header_names=name_list,
            max_age=max_age.seconds,
            now=self.now,
        )

    # -- what script sees --------------------------------------------------------------------
    def visible_names(self, response: Received) -> tuple[bytes, ...]:
        # https://fetch.spec.whatwg.org/#main-fetch step 14.1 and #concept-filtered-response-cors
        present = response.index.names()
        if self.tainting == "basic":
            return tuple(sorted(n for n in present if n not in (b"set-cookie", b"set-cookie2")))
        exposed = response.index.extract(ACEH)
        lines = response.index.get_all(ACEH)
        if (
            self.profile.has(Quirk.EXPOSE_HEADERS_EMPTY_LINE_VOIDS)
            and len(lines) > 1
            and any(not line for line in lines)
        ):
            self.step(
                lambda: (
                    f"an empty Access-Control-Expose-Headers line voids the list "
                    f"({Quirk.EXPOSE_HEADERS_EMPTY_LINE_VOIDS})"
                ),
                anchors.ACEH,
            )
            exposed = None
        allowed: set[bytes] | frozenset[bytes] = CORS_SAFELISTED_RESPONSE_HEADER_NAMES
        if exposed is FAILURE or exposed is None:
            if exposed is FAILURE:
                self.step(
                    "Access-Control-Expose-Headers does not parse: nothing beyond the "
                    "safelisted response headers is exposed",
                    anchors.ACEH,
                )
        elif not self.include and b"*" in exposed:
            allowed = set(present)
            self.step(
                "Access-Control-Expose-Headers `*` without credentials exposes every "
                "header (but Set-Cookie)",
                anchors.ACEH,
            )
        else:
            allowed = allowed | {n.lower() for n in exposed}
        return tuple(sorted(n for n in present if n in allowed and n not in _NEVER_EXPOSED))


def mismatch_reason(acao: bytes) -> tuple[str, str]:
    """Which failure an Access-Control-Allow-Origin value other than the request's origin (and
    other than `*`) is, as Chromium names it, and why."""
    if b"," in acao or b" " in acao:
        return "MULTIPLE_ALLOW_ORIGIN_VALUES", "holds more than one value"
    if acao == b"null":
        return "ALLOW_ORIGIN_MISMATCH", "is `null`, not the request's origin"
    if not _is_valid_url(acao):
        return "INVALID_ALLOW_ORIGIN_VALUE", "is not a valid origin"
    return "ALLOW_ORIGIN_MISMATCH", "is a different origin"


def _q(value: bytes | str | None) -> str:
    """Show a byte string in a step: in backticks, non-printable bytes escaped."""
    if value is None:
        return "(absent)"
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    if text.isascii() and text.isprintable():
        return f"`{text}`"
    shown = "".join(ch if 0x20 <= ord(ch) < 0x7F else f"\\x{ord(ch):02x}" for ch in text)
    return f"`{shown}`"


def _is_valid_url(value: bytes) -> bool:
    try:
        parse_url(value.decode("latin-1"))
    except (OriginError, ValueError):
        return False
    return b"://" in value


def simulate_fetch(
    request: BrowserRequest,
    *,
    profile: Profile = SPEC,
    cache: PreflightCache = EMPTY_CACHE,
    now: float = 0.0,
    trace: bool = True,
) -> Simulation:
    """Run the fetch; yields each wire request, receives its raw response, returns the result.

    With ``trace=False`` the verdict carries no steps (the same decision, computed faster, by
    :mod:`reference.fast` where it can); re-run with tracing to explain it.
    """
    if trace:
        return _stepwise(request, profile, cache, now, True)
    return _fast.fast_simulation(request, profile, cache, now)


def fetch_steps(
    request: BrowserRequest,
    *,
    profile: Profile = SPEC,
    cache: PreflightCache = EMPTY_CACHE,
    now: float = 0.0,
) -> _fast.Steps:
    """:func:`simulate_fetch` with ``trace=False``, driven by calls instead of a generator:
    ``first()`` gives the first wire request (or the result, for a fetch that ends before
    sending anything), ``send(response)`` the next request or the result. The same decision by
    the same code (:mod:`reference.fast`, or the stepwise model where that hands over), without
    a generator's frames: what a run calls for each of its thousands of fetches."""
    return _fast.steps(request, profile, cache, now)


def _stepwise(
    request: BrowserRequest, profile: Profile, cache: PreflightCache, now: float, trace: bool
) -> Simulation:
    """The model, step by step: main fetch, HTTP fetch, CORS-preflight fetch and HTTP-redirect
    fetch as the spec writes them."""
    state = _Fetch(request, profile, cache.live(now), now, trace)
    considered_preflight = False
    try:
        _check_request(state)
        while True:
            url = state.current_url
            # https://fetch.spec.whatwg.org/#main-fetch step 12: routing.
            if (same_origin(request.origin, url.origin) and state.tainting == "basic") or (
                url.scheme == "data"
            ):
                state.step("same-origin request with basic tainting: no CORS", anchors.MAIN_FETCH)
            elif request.mode is RequestMode.SAME_ORIGIN:
                raise _Blocked(
                    BlockedReason.DISALLOWED_BY_MODE,
                    None,
                    'mode "same-origin" forbids a cross-origin URL',
                )
            elif request.mode is RequestMode.NO_CORS:
                if request.redirect is not RedirectMode.FOLLOW:
                    raise _Blocked(
                        BlockedReason.DISALLOWED_BY_MODE,
                        None,
                        'mode "no-cors" requires redirect mode "follow"',
                    )
                state.tainting = "opaque"
                state.step(
                    'mode "no-cors": opaque response, no preflight, no CORS check',
                    anchors.MAIN_FETCH,
                )
            elif url.scheme not in ("http", "https"):
                raise _Blocked(
                    BlockedReason.CORS_DISABLED_SCHEME,
                    url.scheme.encode(),
                    f"scheme {_q(url.scheme)} does not support CORS",
                )
            else:
                state.tainting = "cors"
                if state.needs_preflight():
                    considered_preflight = True
                    unsafe = cors_unsafe_request_header_names(state.headers, profile)
                    state.step(
                        functools.partial(_why_preflight, state, unsafe),
                        anchors.UNSAFE_REQUEST_HEADER_NAMES
                        if unsafe
                        else anchors.SAFELISTED_METHOD,
                    )
                    if state.preflight_cached(unsafe):
                        state.step(
                            "the preflight cache holds a matching entry for the method "
                            "and every header: no preflight is sent",
                            anchors.CORS_PREFLIGHT_CACHE,
                        )
                    else:
                        if profile.has(Quirk.PREFLIGHT_CACHE_ONE_RESULT_PER_URL):
                            # The cached result did not cover this request: it goes, and the
                            # new preflight's result (if granted) replaces it whole.
                            state.cache = clear(
                                state.cache,
                                origin=state.serialized_origin(),
                                url=state.current_url.serialize(),
                            )
                        preflight = state.build_preflight(unsafe)
                        state.wire.append(preflight)
                        state.preflighted = True
                        response = received((yield preflight))
                        state.validate_preflight(response, unsafe)
                else:
                    state.step(
                        "no preflight: the method is CORS-safelisted and every request "
                        "header is CORS-safelisted",
                        anchors.UNSAFE_REQUEST_HEADER_NAMES,
                    )
            actual = _actual_request(state)
            state.wire.append(actual)
            response = received((yield actual))
            # https://fetch.spec.whatwg.org/#concept-http-fetch step 4.4: CORS check.
            if state.tainting == "cors":
                state.cors_check(response, preflight=False)
            if response.status in REDIRECT_STATUSES and response.index.get(b"location") is not None:
                if _redirect(state, response):
                    continue
                return _done(
                    state,
                    Allowed(
                        status=0,
                        visible_header_names=(),
                        preflighted=state.preflighted,
                        response_type="opaqueredirect",
                        wire=tuple(state.wire),
                        steps=tuple(state.steps),
                        profile=profile.name,
                    ),
                )
            if state.tainting == "opaque":
                return _done(
                    state,
                    Allowed(
                        status=0,
                        visible_header_names=(),
                        preflighted=False,
                        response_type="opaque",
                        wire=tuple(state.wire),
                        steps=tuple(state.steps),
                        profile=profile.name,
                    ),
                )
            visible = state.visible_names(response)
            state.step(
                functools.partial(_readable, response.status, visible),
                anchors.CORS_FILTERED_RESPONSE,
            )
            return _done(
                state,
                Allowed(
                    status=response.status,
                    visible_header_names=visible,
                    preflighted=state.preflighted,
                    response_type=state.tainting,
                    wire=tuple(state.wire),
                    steps=tuple(state.steps),
                    profile=profile.name,
                ),
            )
    except _Blocked as blocked:
        state.step(blocked.text, blocked.reason.spec_ref)
        if considered_preflight and not profile.has(Quirk.PREFLIGHT_CACHE_ONE_RESULT_PER_URL):
            # https://fetch.spec.whatwg.org/#main-fetch step 12.4: clear cache entries.
            state.cache = clear(
                state.cache, origin=state.serialized_origin(), url=state.current_url.serialize()
            )
        return _done(
            state,
            Blocked(
                reason=blocked.reason,
                failed_parameter=blocked.parameter,
                preflighted=state.preflighted,
                wire=tuple(state.wire),
                steps=tuple(state.steps),
                profile=profile.name,
            ),
        )


def _readable(status: int, visible: tuple[bytes, ...]) -> str:
    return f"script may read status {status} and headers {[n.decode() for n in visible]}"


def _why_preflight(state: _Fetch, unsafe: tuple[bytes, ...]) -> str:
    why = []
    if not is_cors_safelisted_method(state.method):
        why.append(f"method {_q(state.method)} is not CORS-safelisted")
    if unsafe:
        why.append(f"CORS-unsafe request headers {_q(b','.join(unsafe))}")
    if state.request.use_cors_preflight:
        why.append("the use-CORS-preflight flag is set")
    return "a preflight is needed: " + "; ".join(why)


def _done(state: _Fetch, verdict: Verdict) -> FetchResult:
    return FetchResult(verdict=verdict, cache=state.cache, cached_max_age=state.cached_max_age)


def _check_request(state: _Fetch) -> None:
    # What the Request constructor / fetch() rejects with a TypeError before any I/O.
    request, method = state.request, state.method
    if not is_valid_method(method):
        raise _Blocked(BlockedReason.INVALID_REQUEST, method, f"{_q(method)} is not a method token")
    if is_forbidden_method(method):
        raise _Blocked(
            BlockedReason.INVALID_REQUEST, method, f"{_q(method)} is a forbidden method (TypeError)"
        )
    if method in (b"GET", b"HEAD") and request.body is not None:
        raise _Blocked(
            BlockedReason.INVALID_REQUEST,
            method,
            "a GET or HEAD request cannot have a body (TypeError)",
        )
    if request.mode is RequestMode.NO_CORS and not is_cors_safelisted_method(method):
        raise _Blocked(
            BlockedReason.INVALID_REQUEST,
            method,
            'mode "no-cors" allows only CORS-safelisted methods (TypeError)',
        )
    # https://fetch.spec.whatwg.org/#concept-headers-validate : a name that is not a token, or
    # a (normalized) value containing 0x00, 0x0A or 0x0D, makes Headers throw a TypeError.
    for name, value in request.headers:
        if not is_token(name):
            raise _Blocked(
                BlockedReason.INVALID_REQUEST,
                name,
                f"header name {_q(name)} is not a token (TypeError)",
            )
        if NUL_CR_LF.search(value.strip(b"\t\n\r ")):
            raise _Blocked(
                BlockedReason.INVALID_REQUEST,
                value,
                f"the value of header {_q(name)} contains NUL, CR or LF (TypeError)",
            )
    if request.parsed_url.has_nonempty_userinfo:
        raise _Blocked(
            BlockedReason.INVALID_REQUEST,
            None,
            "a fetch() URL cannot include credentials (TypeError)",
        )


def _actual_request(state: _Fetch) -> WireRequest:
    request = state.request
    headers = list(state.headers)
    # https://fetch.spec.whatwg.org/#append-a-request-origin-header
    if state.tainting == "cors":
        headers.append((b"Origin", state.serialized_origin()))
    elif state.method not in (b"GET", b"HEAD"):
        origin = state.serialized_origin()
        # Step 4.2: mode not cors: apply the referrer policy (default strict-origin-when-cross-
        # origin): `null` when an https origin requests a non-https URL.
        page = request.origin
        if (
            isinstance(page, TupleOrigin)
            and page.scheme == "https"
            and state.current_url.scheme != "https"
        ):
            origin = b"null"
        headers.append((b"Origin", origin))
    # https://fetch.spec.whatwg.org/#concept-http-network-or-cache-fetch step 8.13:
    # includeCredentials is "include", or "same-origin" with basic tainting.
    credentials = state.include or (
        request.credentials is CredentialsMode.SAME_ORIGIN and state.tainting == "basic"
    )
    if credentials and request.cookie is not None:
        headers.append((b"Cookie", request.cookie))
    return WireRequest(
        is_preflight=False,
        method=state.method,
        url=state.current_url.serialize(),
        headers=tuple(headers),
        credentials=credentials,
        body=state.body,
    )


def _redirect(state: _Fetch, response: Received) -> bool:
    """HTTP-redirect fetch; True to follow, False for an opaque-redirect result."""
    # https://fetch.spec.whatwg.org/#concept-http-fetch step 8: redirect mode.
    request = state.request
    if request.redirect is RedirectMode.ERROR:
        raise _Blocked(
            BlockedReason.REDIRECT_MODE_ERROR,
            str(response.status).encode(),
            'redirect mode "error" and the response is a redirect',
        )
    if request.redirect is RedirectMode.MANUAL:
        state.step('redirect mode "manual": an opaque-redirect response', anchors.HTTP_FETCH)
        return False
    # https://fetch.spec.whatwg.org/#http-redirect-fetch
    location = response.index.get(b"location") or b""
    # Step 3: parse location against the current URL; failure is a network error.
    try:
        new_url = parse_url(location.decode("latin-1"), base=state.current_url)
    except (OriginError, ValueError):
        raise _Blocked(
            BlockedReason.INVALID_REDIRECT,
            location,
            f"Location {_q(location)} does not parse as a URL",
        ) from None
    # Step 5: not an HTTP(S) scheme.
    if new_url.scheme not in ("http", "https"):
        raise _Blocked(
            BlockedReason.INVALID_REDIRECT,
            location,
            f"Location {_q(location)} is not an HTTP(S) URL",
        )
    # Step 6: redirect count 20.
    if len(state.url_list) - 1 >= MAX_REDIRECTS:
        raise _Blocked(
            BlockedReason.TOO_MANY_REDIRECTS, location, f"more than {MAX_REDIRECTS} redirects"
        )
    # Step 8: cors mode, userinfo, and the request's origin is not same origin with the URL.
    if new_url.has_nonempty_userinfo and (
        (request.mode is RequestMode.CORS and not same_origin(request.origin, new_url.origin))
        or state.tainting == "cors"
    ):
        raise _Blocked(
            BlockedReason.REDIRECT_CONTAINS_CREDENTIALS,
            location,
            f"the redirect target {_q(location)} includes credentials",
        )
    # Step 12: 301/302 with POST, or 303 with a method other than GET/HEAD: becomes GET.
    status = response.status
    if (status in (301, 302) and state.method == b"POST") or (
        status == 303 and state.method not in (b"GET", b"HEAD")
    ):
        state.step(
            lambda: (
                f"{status} turns {_q(state.method)} into GET and drops the body and its "
                "Content-* headers"
            ),
            anchors.HTTP_REDIRECT_FETCH,
        )
        state.method = b"GET"
        state.body = None
        dropped = (b"content-encoding", b"content-language", b"content-location", b"content-type")
        state.headers = tuple((n, v) for n, v in state.headers if n.lower() not in dropped)
    # Step 13: not same origin with the current URL: remove `Authorization`.
    if not same_origin(state.current_url.origin, new_url.origin):
        state.headers = tuple((n, v) for n, v in state.headers if n.lower() != b"authorization")
    state.step(
        lambda: f"follow the {status} redirect to {new_url.serialize()}",
        anchors.HTTP_REDIRECT_FETCH,
    )
    state.url_list.append(new_url)
    return True


def browser_verdict(
    request: BrowserRequest,
    responses: Sequence[RawResponse] | Callable[[WireRequest], RawResponse],
    *,
    profile: Profile = SPEC,
    cache: PreflightCache = EMPTY_CACHE,
    now: float = 0.0,
    trace: bool = True,
) -> FetchResult:
    """Drive :func:`simulate_fetch` with recorded responses (in the order the browser asks for
    them) or with a responder function. Raises :class:`MissingResponse` when the recording ends
    before the browser is done, and :class:`UnusedResponse` when responses are left over."""
    if not trace and not callable(responses):
        decided = _fast.fast_verdict(request, responses, profile, cache, now)
        if decided is not None:
            return decided
    simulation = simulate_fetch(request, profile=profile, cache=cache, now=now, trace=trace)
    responder = responses if callable(responses) else None
    queue = list(responses) if not callable(responses) else []
    try:
        wire = next(simulation)
        while True:
            if responder is not None:
                answer = responder(wire)
            elif queue:
                answer = queue.pop(0)
            else:
                raise MissingResponse(wire)
            wire = simulation.send(answer)
    except StopIteration as stop:
        result: FetchResult = stop.value
    if queue:
        raise UnusedResponse(len(queue))
    return result


class MissingResponse(LookupError):
    """The browser sent a request for which no response was recorded."""

    def __init__(self, wire: WireRequest) -> None:
        kind = "a preflight" if wire.is_preflight else "an actual request"
        super().__init__(
            f"the browser sends {kind} ({wire.method.decode()} {wire.url}) "
            "but no response was given for it"
        )
        self.wire = wire


class UnusedResponse(LookupError):
    """More responses were recorded than the browser asked for."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} response(s) given but never requested by the browser")
        self.count = count


def needs_preflight(request: BrowserRequest, *, profile: Profile = SPEC) -> bool:
    """Whether a browser with ``profile`` sends a CORS-preflight for ``request`` (empty cache,
    cross-origin target): main fetch's CORS-with-preflight condition (digest §4.9)."""
    run = _fast._plan(request, profile)  # the common fetch: reference.fast's own condition
    if run is not None:
        _fast.keep_planned(run)
        return run.preflight
    return _stepwise_needs_preflight(request, profile)


def _stepwise_needs_preflight(request: BrowserRequest, profile: Profile) -> bool:
    state = _Fetch(request, profile, EMPTY_CACHE, 0.0)
    if same_origin(request.origin, request.parsed_url.origin):
        return False
    return request.mode is RequestMode.CORS and state.needs_preflight()


# The trace-free path calls back into this module (its hand-over to the stepwise model), so it is
# imported once this module is whole.
from reference import fast as _fast  # noqa: E402
