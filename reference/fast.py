"""The browser's decision without its trace: what :func:`reference.browser.simulate_fetch` runs
when ``trace=False``.

The stepwise model (:mod:`reference.browser`) records every decision with its anchor, which is
what ``explain`` and the reports show. A run of the suite only needs the verdicts, for thousands
of fetches, and most of them take one path: a cross-origin, CORS-mode fetch with an empty
preflight cache and no redirect. This module takes that path in straight-line code (each block
names the step of the stepwise model it stands for) and hands every other fetch to the stepwise
model whole: other modes, same-origin and non-HTTP URLs, requests that ``fetch()`` throws on, a
non-empty preflight cache, Private Network Access, and, when it comes to one, a redirect (the
stepwise model is then replayed on the responses already received, and takes over).

Equality is proven, not assumed: ``tests/test_fast_path.py`` checks on generated requests,
responses, profiles and caches that both give the same result (the steps aside), and runs every
pinned case through both. A replay that sees the stepwise model ask for a different request than
this path sent raises instead of judging.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol

from reference.browser import (
    _NEVER_EXPOSED,
    ACAC,
    ACAH,
    ACAM,
    ACAO,
    ACEH,
    ACMA,
    REDIRECT_STATUSES,
    FetchResult,
    MissingResponse,
    Simulation,
    UnusedResponse,
    _stepwise,
    mismatch_reason,
)
from reference.cache import EMPTY_CACHE, PreflightCache, max_age_of, store
from reference.grammar import OWS_BYTES, TOKEN
from reference.headers import FAILURE, HeaderList, ParsedList, extract_values
from reference.origins import TupleOrigin
from reference.profiles import Profile, Quirk
from reference.request import BrowserRequest, CredentialsMode, HeadersApi, RequestMode
from reference.safelist import (
    CORS_SAFELISTED_METHODS,
    CORS_SAFELISTED_RESPONSE_HEADER_NAMES,
    FORBIDDEN_METHODS,
    cors_mode_headers,
    normalize_method,
)
from reference.verdict import Allowed, Blocked, BlockedReason, RawResponse, WireRequest

# A response's headers by lowercased name: one line's value as received (OWS is stripped when
# it is read), or the values of a name sent more than once, each stripped, in order.
Index = dict[bytes, bytes | tuple[bytes, ...]]
Stepwise = Callable[[], Simulation]


# The named tuples this path builds, built as tuples are: a named tuple's own __new__ is Python
# code that only checks the count of fields, which each call site here gives in full and in
# order (and tests/test_fast_path.py compares every field with the stepwise model's).
_new = tuple.__new__


# Why a fetch is blocked: the reason and the failed parameter (the stepwise model's _Blocked
# without its text). Returned, not raised: most fetches a run makes are blocked somewhere.
Failed = tuple[BlockedReason, bytes | None]


class _CheckReasons(NamedTuple):
    """The failures of a CORS check, for an actual response or a preflight's."""

    prefix: str
    missing: BlockedReason
    wildcard: BlockedReason
    credentials: BlockedReason

    @classmethod
    def named(cls, prefix: str) -> _CheckReasons:
        return cls(
            prefix,
            BlockedReason[prefix + "MISSING_ALLOW_ORIGIN_HEADER"],
            BlockedReason[prefix + "WILDCARD_ORIGIN_NOT_ALLOWED"],
            BlockedReason[prefix + "INVALID_ALLOW_CREDENTIALS"],
        )


_ACTUAL_CHECK = _CheckReasons.named("")
_PREFLIGHT_CHECK = _CheckReasons.named("PREFLIGHT_")


def fast_simulation(
    request: BrowserRequest,
    profile: Profile,
    cache: PreflightCache,
    now: float,
    stepwise: Stepwise | None = None,
) -> Simulation:
    """The same protocol as :func:`~reference.browser.simulate_fetch` (yield wire requests, be
    sent responses, return the result). What this path hands over goes to ``stepwise`` (by
    default the stepwise model without tracing, started on the same fetch)."""
    run = _Run.start(request, profile, cache, now)
    if run is None:
        return (yield from _start(stepwise, request, profile, cache, now))
    run.stepwise = stepwise
    out: WireRequest | FetchResult = run.first()
    while not isinstance(out, FetchResult):
        out = run.send((yield out))
    return out


def steps(request: BrowserRequest, profile: Profile, cache: PreflightCache, now: float) -> Steps:
    """:func:`fast_simulation` driven by calls instead of a generator (see
    :func:`reference.browser.fetch_steps`)."""
    run = _Run.start(request, profile, cache, now)
    if run is None:
        return _Driven(_stepwise(request, profile, cache, now, False))
    return run


class Steps(Protocol):
    """A fetch driven one response at a time: :meth:`first` gives the first request the
    browser sends (or the result, for a fetch that ends before sending anything), :meth:`send`
    takes its response and gives the next request or the result."""

    def first(self) -> WireRequest | FetchResult: ...

    def send(self, answer: RawResponse) -> WireRequest | FetchResult: ...

    def close(self) -> None: ...


class _Driven:
    """:class:`Steps` over a generator (the stepwise model's, or the one a redirect hands the
    fetch to)."""

    __slots__ = ("simulation",)

    def __init__(self, simulation: Simulation) -> None:
        self.simulation = simulation

    def first(self) -> WireRequest | FetchResult:
        try:
            return next(self.simulation)
        except StopIteration as stop:
            result: FetchResult = stop.value
            return result

    def send(self, answer: RawResponse) -> WireRequest | FetchResult:
        try:
            return self.simulation.send(answer)
        except StopIteration as stop:
            result: FetchResult = stop.value
            return result

    def close(self) -> None:
        self.simulation.close()


def fast_verdict(
    request: BrowserRequest,
    responses: Sequence[RawResponse],
    profile: Profile,
    cache: PreflightCache,
    now: float,
) -> FetchResult | None:
    """:func:`~reference.browser.browser_verdict` on recorded responses, without the generator;
    ``None`` when the fetch is not this path's (the caller then runs the stepwise model: with
    recorded responses, starting over costs nothing but time)."""
    run = _Run.start(request, profile, cache, now)
    if run is None:
        return None
    wire: WireRequest | FetchResult = run.first()
    for position, answer in enumerate(responses, 1):
        out = run.send(answer)  # at a redirect, the stepwise model's (replayed) from there on
        if isinstance(out, FetchResult):
            if position < len(responses):
                raise UnusedResponse(len(responses) - position)
            return out
        wire = out
    run.close()
    assert isinstance(wire, WireRequest)
    raise MissingResponse(wire)


class _Run:
    """One fetch on this path (a :class:`Steps`): :meth:`first` is the first request the
    browser sends, :meth:`send` takes each response and gives the next request or the result,
    handing the fetch to the stepwise model at a redirect."""

    __slots__ = (
        "answers",
        "cache",
        "cached_max_age",
        "handed",
        "headers",
        "include",
        "method",
        "now",
        "origin",
        "preflight",
        "profile",
        "request",
        "start_cache",
        "stepwise",
        "unsafe",
        "url",
        "wire",
    )

    def __init__(
        self,
        request: BrowserRequest,
        profile: Profile,
        method: bytes,
        parts: tuple[HeaderList, tuple[bytes, ...]],
        origin: bytes,
        *,
        cache: PreflightCache,
        now: float,
    ) -> None:
        # What the fetch decides with, worked out before anything is sent.
        self.request = request
        self.profile = profile
        self.method = method  # normalized
        self.headers, self.unsafe = parts  # the decision list; its CORS-unsafe names, sorted
        # and lowercased (safelist.decision_header_list)
        self.url = request.parsed_url.serialize()
        self.origin = origin  # serialized (never tainted: this path follows no redirect)
        self.include = request.credentials is _INCLUDE
        # Main fetch step 12: the CORS-with-preflight condition (_Fetch.needs_preflight).
        self.preflight = request.use_cors_preflight or (
            request.unsafe_request and (method not in CORS_SAFELISTED_METHODS or bool(self.unsafe))
        )
        self.cache = self.start_cache = cache
        self.now = now
        self.wire: list[WireRequest] = []
        self.cached_max_age: int | None = None
        self.answers: list[RawResponse] = []
        self.handed: _Driven | None = None  # the stepwise model, once a redirect handed it over
        self.stepwise: Stepwise | None = None  # what starts it (None: the stepwise model)

    @classmethod
    def start(
        cls, request: BrowserRequest, profile: Profile, cache: PreflightCache, now: float
    ) -> _Run | None:
        """The run, or ``None`` if the fetch is the stepwise model's."""
        if cache is not EMPTY_CACHE and cache:
            cache = cache.live(now)
            if cache:
                return None
        planned = _planned[0]
        if planned is not None and planned.request is request and planned.profile is profile:
            _planned[0] = None
            planned.cache = planned.start_cache = cache
            planned.now = now
            return planned
        return _plan(request, profile, cache, now)

    def first(self) -> WireRequest:
        # With an empty cache, a preflight that is needed is always sent
        # (_Fetch.preflight_cached).
        wire = _preflight_request(self) if self.preflight else _actual_request(self)
        self.wire.append(wire)
        return wire

    def send(self, answer: RawResponse) -> WireRequest | FetchResult:
        """The next request, or the result; at a redirect, the stepwise model takes the fetch
        over, replayed on the responses already received."""
        handed = self.handed
        if handed is not None:
            return handed.send(answer)
        self.answers.append(answer)
        plan = self
        if self.wire[-1].is_preflight:
            # CORS-preflight fetch step 7 (_Fetch.validate_preflight).
            flag = plan.request.use_cors_preflight
            asked = _new(_Asked, (plan.origin, plan.include, plan.method, plan.unsafe, flag))
            granted = _preflight_outcome(answer, asked, plan.profile)
            if not isinstance(granted, _Granted):
                return self._blocked(*granted)
            methods, names, max_age = granted
            self.cached_max_age = max_age
            self.cache = store(
                self.cache,
                origin=plan.origin,
                url=plan.url,
                include=plan.include,
                methods=methods,
                header_names=names,
                max_age=max_age,
                now=self.now,
            )
            actual = _actual_request(plan)
            self.wire.append(actual)
            return actual
        # HTTP fetch step 4.4: the CORS check, then (if it passes) the redirect.
        read = _actual_outcome(answer, plan.origin, plan.include, plan.profile)
        if not isinstance(read, _Read):
            if read is None:
                return self._hand_over()
            return self._blocked(*read)
        verdict = _new(
            Allowed,
            (
                answer.status,
                read.names,
                len(self.wire) > 1,
                "cors",
                tuple(self.wire),
                (),
                plan.profile.name,
            ),
        )
        return _new(FetchResult, (verdict, self.cache, self.cached_max_age))

    def close(self) -> None:
        if self.handed is not None:
            self.handed.close()

    def _hand_over(self) -> WireRequest | FetchResult:
        # A redirect: the stepwise model takes the fetch over, replayed on the responses
        # received so far (it sends the same requests: _replayed checks).
        start = _start(self.stepwise, self.request, self.profile, self.start_cache, self.now)
        self.handed = handed = _Driven(_replayed(start, self.wire, self.answers))
        return handed.first()

    def _blocked(self, reason: BlockedReason, parameter: bytes | None) -> FetchResult:
        profile = self.profile
        preflighted = self.wire[0].is_preflight
        cache = self.cache
        if preflighted and _ONE_RESULT not in profile.quirks:
            # Main fetch step 12.4: a failed CORS-with-preflight fetch clears the entries of its
            # origin and URL; with an empty cache to start from, those are all there are.
            cache = EMPTY_CACHE
        verdict = _new(
            Blocked, (reason, parameter, preflighted, tuple(self.wire), (), profile.name)
        )
        return _new(FetchResult, (verdict, cache, self.cached_max_age))


_ONE_RESULT = Quirk.PREFLIGHT_CACHE_ONE_RESULT_PER_URL
_NOT_IMPLIED = Quirk.FLAGGED_METHOD_NOT_IMPLIED


# The run reference.browser.needs_preflight planned, for the fetch of the same request that
# usually follows (the properties ask before they fetch): planned once, not twice. One kept,
# by identity (the request object it was planned for): a run not yet started is a pure value of
# its request and profile, and its cache and time are set when a fetch takes it.
_planned: list[_Run | None] = [None]


def keep_planned(run: _Run) -> None:
    """Keep ``run`` (not yet started) for the next fetch of its request, in place of any other."""
    _planned[0] = run


def _start(
    stepwise: Stepwise | None,
    request: BrowserRequest,
    profile: Profile,
    cache: PreflightCache,
    now: float,
) -> Simulation:
    return stepwise() if stepwise is not None else _stepwise(request, profile, cache, now, False)


def _plan(
    request: BrowserRequest,
    profile: Profile,
    cache: PreflightCache = EMPTY_CACHE,
    now: float = 0.0,
) -> _Run | None:
    """The run, if this path decides the fetch; ``None`` hands it to the stepwise model."""
    if request.mode is not _CORS_MODE:
        return None
    if request.private_network and profile.has(Quirk.PRIVATE_NETWORK_ACCESS):
        return None
    target = request.parsed_url
    if target.scheme not in ("http", "https") or target.has_nonempty_userinfo:
        return None
    origin = request.origin
    if (  # same origin (an opaque origin is never same origin with an HTTP(S) URL's)
        isinstance(origin, TupleOrigin)
        and origin.host == target.host
        and origin.scheme == target.scheme
        and origin.port == target.port
    ):
        return None
    method = _method(request.method)
    if method is None or (request.body is not None and method in (b"GET", b"HEAD")):
        return None
    combine = request.headers_api is _XHR or _COMBINE in profile.quirks
    # fetch() throws on an author header whose name is not a token or whose value holds NUL,
    # CR or LF: the stepwise model then says which rule.
    valid, decided, unsafe = cors_mode_headers(request.headers, combine, profile)
    if not valid:
        return None
    return _Run(
        request, profile, method, (decided, unsafe), origin.serialize_bytes(), cache=cache, now=now
    )


# Enum members read on every fetch, looked up once.
_COMBINE = Quirk.COMBINE_DUPLICATE_REQUEST_HEADERS
_CORS_MODE = RequestMode.CORS
_XHR = HeadersApi.XHR
_INCLUDE = CredentialsMode.INCLUDE


@functools.lru_cache(maxsize=256)
def _method(method: str) -> bytes | None:
    """The normalized method; ``None`` if fetch() throws on it (not a token, forbidden): the
    stepwise model then says which rule. Memoized apart from the headers: a run draws a few
    methods, each with many header lists."""
    normalized = normalize_method(method.encode("latin-1", "replace"))
    if TOKEN.fullmatch(normalized) is None or normalized.upper() in FORBIDDEN_METHODS:
        return None
    return normalized


def _index(raw: Sequence[tuple[bytes, bytes]]) -> Index:
    """The response's headers by lowercased name (as reference.headers.HeaderIndex, whose
    values are stripped up front: here only the few read are)."""
    index: Index = {name.lower(): value for name, value in raw}
    if len(index) < len(raw):  # a name more than once: every value, in order
        lines: dict[bytes, list[bytes]] = {}
        for name, value in raw:
            lines.setdefault(name.lower(), []).append(value.strip(OWS_BYTES))
        index = {name: tuple(values) for name, values in lines.items()}
    return index


def _lines(index: Index, name: bytes) -> tuple[bytes, ...]:
    """The values of every ``name`` line, OWS-stripped (the HTTP layer's view)."""
    value = index.get(name)
    if value is None:
        return ()
    return (value.strip(OWS_BYTES),) if isinstance(value, bytes) else value


def _get(index: Index, name: bytes) -> bytes | None:
    # https://fetch.spec.whatwg.org/#concept-header-list-get
    value = index.get(name)
    if value is None:
        return None
    return value.strip(OWS_BYTES) if isinstance(value, bytes) else b", ".join(value)


def _cors_check(
    acao: bytes | None, acac: bytes | None, origin: bytes, include: bool, reasons: _CheckReasons
) -> Failed | None:
    # https://fetch.spec.whatwg.org/#cors-check (_Fetch.cors_check), on the response's
    # Access-Control-Allow-Origin and -Allow-Credentials values (header list get).
    if acao is None:
        return reasons.missing, None
    if acao == b"*":
        return (reasons.wildcard, acao) if include else None
    if acao != origin:
        return BlockedReason[reasons.prefix + mismatch_reason(acao)[0]], acao
    if include and acac != b"true":
        return reasons.credentials, acac
    return None


def _preflight_request(plan: _Run) -> WireRequest:
    # CORS-preflight fetch steps 1-3 (_Fetch.build_preflight).
    if plan.unsafe:
        headers: HeaderList = (
            (b"Accept", b"*/*"),
            (b"Access-Control-Request-Method", plan.method),
            (b"Access-Control-Request-Headers", b",".join(plan.unsafe)),
            (b"Origin", plan.origin),
        )
    else:
        headers = (
            (b"Accept", b"*/*"),
            (b"Access-Control-Request-Method", plan.method),
            (b"Origin", plan.origin),
        )
    return _new(WireRequest, (True, b"OPTIONS", plan.url, headers, False, None))


class _Asked(NamedTuple):
    """What a preflight's response is judged against: the fetch's serialized origin, whether it
    includes credentials, its method, its CORS-unsafe header names, its use-CORS-preflight
    flag."""

    origin: bytes
    include: bool
    method: bytes
    unsafe: tuple[bytes, ...]
    use_cors_preflight: bool


class _Granted(NamedTuple):
    """What a preflight response granted: methods and header names, and its max-age (the
    seconds its result is cached)."""

    methods: tuple[bytes, ...]
    names: tuple[bytes, ...]
    max_age: int


class _Read(NamedTuple):
    """An actual response script can read: the header names it sees."""

    names: tuple[bytes, ...]


# A response is judged by the few values of the fetch it answers, memoized on them: a run gets
# the same few responses over and over (a ci run against the bundled app: about 170 distinct
# among 6,300), so most are judged by a look-up instead of indexing and checking their headers.
# Bounded, so that a target answering differently every time (a Date header) keeps memory flat.
@functools.lru_cache(maxsize=1024)
def _preflight_outcome(answer: RawResponse, asked: _Asked, profile: Profile) -> _Granted | Failed:
    """CORS-preflight fetch step 7: what the preflight granted, or why it failed."""
    return _validate_preflight(_preflight_facts(answer, profile), asked, profile)


class _PreflightFacts(NamedTuple):
    """What step 7 reads of a preflight's response, whatever the fetch asked: a failure that
    needs nothing else (a redirect, a status outside 200-299), the values the CORS check reads,
    both lists as extracted (or FAILURE, with the value) and the max-age."""

    failed: Failed | None
    acao: bytes | None
    acac: bytes | None
    methods: ParsedList
    names: ParsedList
    acam: bytes | None
    acah: bytes | None
    max_age: int


# A run's preflights get far fewer distinct responses than distinct questions (a ci run against
# the FastAPI tutorial's app: 165 responses to 889 origin, method and header-name sets), so the
# response's part is read once for each. Bounded, as _preflight_outcome is.
@functools.lru_cache(maxsize=1024)
def _preflight_facts(answer: RawResponse, profile: Profile) -> _PreflightFacts:
    index = _index(answer.headers)
    status = answer.status
    failed: Failed | None = None
    if status in REDIRECT_STATUSES and b"location" in index:
        failed = BlockedReason.PREFLIGHT_DISALLOWED_REDIRECT, str(status).encode()
    elif not 200 <= status <= 299:
        failed = BlockedReason.PREFLIGHT_INVALID_STATUS, str(status).encode()
    return _new(
        _PreflightFacts,
        (
            failed,
            _get(index, ACAO),
            _get(index, ACAC),
            extract_values(_lines(index, ACAM)),
            extract_values(_lines(index, ACAH)),
            _get(index, ACAM),
            _get(index, ACAH),
            max_age_of(_lines(index, ACMA), profile).seconds,
        ),
    )


@functools.lru_cache(maxsize=1024)
def _actual_outcome(
    answer: RawResponse, origin: bytes, include: bool, profile: Profile
) -> _Read | Failed | None:
    """HTTP fetch step 4.4 on an actual response: the CORS check and, if it passes, the names
    script can read; ``None`` at a redirect (handed over)."""
    index = _index(answer.headers)
    failed = _cors_check(_get(index, ACAO), _get(index, ACAC), origin, include, _ACTUAL_CHECK)
    if failed is not None:
        return failed
    if answer.status in REDIRECT_STATUSES and b"location" in index:
        return None
    return _Read(_visible_names(index, include, profile))


def _validate_preflight(
    facts: _PreflightFacts, asked: _Asked, profile: Profile
) -> _Granted | Failed:
    """Step 7 on the response's facts: the methods and header names the preflight granted and
    its max-age, or why it failed."""
    origin, include, method, unsafe, use_cors_preflight = asked
    if facts.failed is not None:
        return facts.failed
    failed = _cors_check(facts.acao, facts.acac, origin, include, _PREFLIGHT_CHECK)
    if failed is not None:
        return failed
    # Steps 7.1-7.3: extract both lists; either failing fails the preflight.
    methods, names = facts.methods, facts.names
    if methods is FAILURE:
        return BlockedReason.INVALID_ALLOW_METHODS_PREFLIGHT_RESPONSE, facts.acam
    if names is FAILURE:
        return BlockedReason.INVALID_ALLOW_HEADERS_PREFLIGHT_RESPONSE, facts.acah
    # Step 7.4: no Access-Control-Allow-Methods and the use-CORS-preflight flag.
    implied = methods is None and use_cors_preflight
    if implied:
        methods = (method,)
    method_list = methods or ()
    name_list = names or ()
    # Step 7.5: the method (an engine may not take the implied method as granted).
    if (
        (method not in method_list or (implied and _NOT_IMPLIED in profile.quirks))
        and method not in CORS_SAFELISTED_METHODS
        and (include or b"*" not in method_list)
    ):
        return BlockedReason.METHOD_DISALLOWED_BY_PREFLIGHT_RESPONSE, method
    if unsafe:
        lowered = {n.lower() for n in name_list}
        wildcard = b"*" in name_list and not include
        # Step 7.6: `Authorization` (never CORS-safelisted, so among the unsafe names when
        # sent) must be listed, unless the engine lets `*` cover it.
        if (
            b"authorization" in unsafe
            and b"authorization" not in lowered
            and not (wildcard and profile.has(Quirk.AUTHORIZATION_COVERED_BY_WILDCARD))
        ):
            return BlockedReason.HEADER_DISALLOWED_BY_PREFLIGHT_RESPONSE, b"authorization"
        # Step 7.7: every CORS-unsafe request-header name.
        if not wildcard:
            for name in unsafe:
                if name not in lowered:
                    return BlockedReason.HEADER_DISALLOWED_BY_PREFLIGHT_RESPONSE, name
    return _new(_Granted, (method_list, name_list, facts.max_age))


def _actual_request(plan: _Run) -> WireRequest:
    # The request itself, with `Origin` (cors tainting) and the cookie when credentials are
    # included (browser._actual_request).
    request = plan.request
    if plan.include and request.cookie is not None:
        sent = (*plan.headers, (b"Origin", plan.origin), (b"Cookie", request.cookie))
    else:
        sent = (*plan.headers, (b"Origin", plan.origin))
    return _new(WireRequest, (False, plan.method, plan.url, sent, plan.include, request.body))


def _visible_names(index: Index, include: bool, profile: Profile) -> tuple[bytes, ...]:
    # Main fetch step 14.1 with cors tainting (_Fetch.visible_names).
    return _visible(tuple(index), _lines(index, ACEH), include, profile)


@functools.lru_cache(maxsize=4096)
def _visible(
    names: tuple[bytes, ...], lines: tuple[bytes, ...], include: bool, profile: Profile
) -> tuple[bytes, ...]:
    """The names script can read, given the response's (lowercased) header names and its
    Access-Control-Expose-Headers lines. Memoized: a server answers with the same few."""
    exposed: frozenset[bytes] | None = None
    # No line, or an empty line among several where this engine lets it void the list: only
    # the safelisted names.
    if lines and (len(lines) == 1 or all(lines) or _VOIDS not in profile.quirks):
        listed = extract_values(lines)
        if listed is not FAILURE and listed is not None:
            exposed = frozenset(n.lower() for n in listed)
    if exposed is None:
        return tuple(sorted([n for n in names if n in CORS_SAFELISTED_RESPONSE_HEADER_NAMES]))
    if b"*" in exposed and not include:
        return tuple(sorted([n for n in names if n not in _NEVER_EXPOSED]))
    return tuple(
        sorted(
            [
                n
                for n in names
                if n in CORS_SAFELISTED_RESPONSE_HEADER_NAMES
                or (n in exposed and n not in _NEVER_EXPOSED)
            ]
        )
    )


_VOIDS = Quirk.EXPOSE_HEADERS_EMPTY_LINE_VOIDS


def _replayed(
    stepwise: Simulation, sent: list[WireRequest], answers: list[RawResponse]
) -> Simulation:
    """The stepwise model, fed the responses this path already received, then driven on."""
    try:
        wire = next(stepwise)
        for already, answer in zip(sent, answers, strict=True):
            if wire != already:
                raise AssertionError(
                    f"the fast path sent {already!r} where the stepwise model sends {wire!r}"
                )
            wire = stepwise.send(answer)
        while True:
            wire = stepwise.send((yield wire))
    except StopIteration as stop:
        result: FetchResult = stop.value
        return result
