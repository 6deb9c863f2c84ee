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
from typing import NamedTuple

from reference.browser import (
    _NEVER_EXPOSED,
    _NUL_CR_LF,
    ACAC,
    ACAH,
    ACAM,
    ACAO,
    ACEH,
    ACMA,
    REDIRECT_STATUSES,
    FetchResult,
    Simulation,
    mismatch_reason,
)
from reference.cache import EMPTY_CACHE, PreflightCache, max_age_of, store
from reference.grammar import OWS_BYTES, TOKEN
from reference.headers import FAILURE, HeaderList, extract_values, split_list
from reference.origins import TupleOrigin
from reference.profiles import Profile, Quirk
from reference.request import BrowserRequest, CredentialsMode, RequestMode
from reference.safelist import (
    CORS_SAFELISTED_METHODS,
    CORS_SAFELISTED_RESPONSE_HEADER_NAMES,
    FORBIDDEN_METHODS,
    cors_unsafe_request_header_names,
    decision_header_list,
    normalize_method,
)
from reference.verdict import Allowed, Blocked, BlockedReason, RawResponse, WireRequest

Index = dict[bytes, list[bytes]]
Stepwise = Callable[[], Simulation]


class _Plan(NamedTuple):
    """What one fetch decides with, worked out before anything is sent."""

    request: BrowserRequest
    profile: Profile
    method: bytes  # normalized
    headers: HeaderList  # the decision header list (safelist.decision_header_list)
    unsafe: tuple[bytes, ...]  # its CORS-unsafe request-header names, sorted and lowercased
    url: str
    origin: bytes  # serialized (never tainted: this path follows no redirect)
    include: bool


class _Handoff(Exception):
    """The fetch leaves the path this module takes; the stepwise model decides it."""


class _Block(Exception):
    """``_Block(reason, failed_parameter)``: the fetch is blocked (the stepwise model's
    ``_Blocked``, without the text)."""

    args: tuple[BlockedReason, bytes | None]


def fast_simulation(
    request: BrowserRequest,
    profile: Profile,
    cache: PreflightCache,
    now: float,
    stepwise: Stepwise,
) -> Simulation:
    """The same protocol as :func:`~reference.browser.simulate_fetch` (yield wire requests, be
    sent responses, return the result); ``stepwise`` starts the stepwise model on the same
    fetch, for what this path hands over."""
    if cache:
        cache = cache.live(now)
    plan = None if cache else _plan(request, profile)
    if plan is None:
        return (yield from stepwise())
    wire: list[WireRequest] = []
    answers: list[RawResponse] = []
    cached_max_age: int | None = None
    try:
        # Main fetch step 12: the CORS-with-preflight condition (_Fetch.needs_preflight). With
        # an empty cache, a preflight that is needed is always sent (_Fetch.preflight_cached).
        if request.use_cors_preflight or (
            request.unsafe_request and (plan.method not in CORS_SAFELISTED_METHODS or plan.unsafe)
        ):
            wire.append(_preflight_request(plan))
            answer = yield wire[0]
            answers.append(answer)
            # CORS-preflight fetch step 7 (_Fetch.validate_preflight).
            index = _index(answer.headers)
            methods, names = _validate_preflight(answer.status, index, plan)
            max_age = max_age_of(tuple(index.get(ACMA, ())), profile)
            cached_max_age = max_age.seconds
            cache = store(
                cache,
                origin=plan.origin,
                url=plan.url,
                include=plan.include,
                methods=methods,
                header_names=names,
                max_age=max_age.seconds,
                now=now,
            )
        actual = _actual_request(plan)
        wire.append(actual)
        answer = yield actual
        answers.append(answer)
        index = _index(answer.headers)
        # HTTP fetch step 4.4: the CORS check, then (if it passes) the redirect.
        _cors_check(index, plan.origin, plan.include, "")
        if answer.status in REDIRECT_STATUSES and b"location" in index:
            raise _Handoff
    except _Block as blocked:
        preflighted = len(wire) > 1 or wire[0].is_preflight
        if preflighted and not profile.has(Quirk.PREFLIGHT_CACHE_ONE_RESULT_PER_URL):
            # Main fetch step 12.4: a failed CORS-with-preflight fetch clears the entries of its
            # origin and URL; with an empty cache to start from, those are all there are.
            cache = EMPTY_CACHE
        reason, parameter = blocked.args
        verdict: Allowed | Blocked = Blocked(
            reason, parameter, preflighted, tuple(wire), (), profile.name
        )
        return FetchResult(verdict, cache, cached_max_age)
    except _Handoff:
        return (yield from _replayed(stepwise(), wire, answers))
    verdict = Allowed(
        answer.status,
        _visible_names(index, plan.include, profile),
        len(wire) > 1,
        "cors",
        tuple(wire),
        (),
        profile.name,
    )
    return FetchResult(verdict, cache, cached_max_age)


def _plan(request: BrowserRequest, profile: Profile) -> _Plan | None:
    """The plan, if this path decides the fetch; ``None`` hands it to the stepwise model."""
    if request.mode is not RequestMode.CORS:
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
    # What fetch() throws on (_check_request): the stepwise model says which rule.
    method = _method(request.method)
    if method is None or (request.body is not None and method in (b"GET", b"HEAD")):
        return None
    combine = request.headers_api == "xhr" or profile.has(Quirk.COMBINE_DUPLICATE_REQUEST_HEADERS)
    headers = _headers(request.headers, combine, profile)
    if headers is None:
        return None
    return _Plan(
        request,
        profile,
        method,
        headers[0],
        headers[1],
        target.serialize(),
        origin.serialize().encode(),
        request.credentials is CredentialsMode.INCLUDE,
    )


# The request's parts that recur from case to case (a method, a header list) are worked out once:
# pure functions of hashable values, memoized like those of reference.safelist.


@functools.lru_cache(maxsize=256)
def _method(method: str) -> bytes | None:
    """The normalized method, or ``None`` if fetch() throws on it (not a token, forbidden)."""
    normalized = normalize_method(method.encode("latin-1", "replace"))
    if TOKEN.fullmatch(normalized) is None or normalized.upper() in FORBIDDEN_METHODS:
        return None
    return normalized


@functools.lru_cache(maxsize=4096)
def _headers(
    headers: HeaderList, combine: bool, profile: Profile
) -> tuple[HeaderList, tuple[bytes, ...]] | None:
    """The decision header list and its CORS-unsafe names, or ``None`` if fetch() throws on
    the author headers (a name not a token, a value with NUL, CR or LF)."""
    for name, value in headers:
        if TOKEN.fullmatch(name) is None or _NUL_CR_LF.search(value.strip(b"\t\n\r ")):
            return None
    decided = decision_header_list(headers, combine=combine, no_cors=False, profile=profile)
    return decided, cors_unsafe_request_header_names(decided, profile)


def _index(raw: Sequence[tuple[bytes, bytes]]) -> Index:
    """Each value OWS-stripped, indexed by lowercased name (reference.headers.HeaderIndex)."""
    index = {name.lower(): [value.strip(OWS_BYTES)] for name, value in raw}
    if len(index) < len(raw):  # a name more than once: every value, in order
        index = {}
        for name, value in raw:
            index.setdefault(name.lower(), []).append(value.strip(OWS_BYTES))
    return index


def _get(index: Index, name: bytes) -> bytes | None:
    values = index.get(name)
    return None if values is None else b", ".join(values)


def _cors_check(index: Index, origin: bytes, include: bool, prefix: str) -> None:
    # https://fetch.spec.whatwg.org/#cors-check (_Fetch.cors_check); prefix "PREFLIGHT_" names
    # the failures of a preflight's check.
    values = index.get(ACAO)
    if values is None:
        raise _Block(BlockedReason[prefix + "MISSING_ALLOW_ORIGIN_HEADER"], None)
    acao = values[0] if len(values) == 1 else b", ".join(values)
    if acao == b"*":
        if include:
            raise _Block(BlockedReason[prefix + "WILDCARD_ORIGIN_NOT_ALLOWED"], acao)
        return
    if acao != origin:
        raise _Block(BlockedReason[prefix + mismatch_reason(acao)[0]], acao)
    if include:
        acac = _get(index, ACAC)
        if acac != b"true":
            raise _Block(BlockedReason[prefix + "INVALID_ALLOW_CREDENTIALS"], acac)


def _preflight_request(plan: _Plan) -> WireRequest:
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
    return WireRequest(True, b"OPTIONS", plan.url, headers, False)


def _validate_preflight(
    status: int, index: Index, plan: _Plan
) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """Step 7 up to the max-age: the methods and header names the preflight granted."""
    if status in REDIRECT_STATUSES and b"location" in index:
        raise _Block(BlockedReason.PREFLIGHT_DISALLOWED_REDIRECT, str(status).encode())
    if not 200 <= status <= 299:
        raise _Block(BlockedReason.PREFLIGHT_INVALID_STATUS, str(status).encode())
    method, include = plan.method, plan.include
    _cors_check(index, plan.origin, include, "PREFLIGHT_")
    # Steps 7.1-7.3: extract both lists; either failing fails the preflight.
    methods = extract_values(index.get(ACAM, ()))
    names = extract_values(index.get(ACAH, ()))
    if methods is FAILURE:
        raise _Block(BlockedReason.INVALID_ALLOW_METHODS_PREFLIGHT_RESPONSE, _get(index, ACAM))
    if names is FAILURE:
        raise _Block(BlockedReason.INVALID_ALLOW_HEADERS_PREFLIGHT_RESPONSE, _get(index, ACAH))
    # Step 7.4: no Access-Control-Allow-Methods and the use-CORS-preflight flag.
    if methods is None and plan.request.use_cors_preflight:
        methods = (method,)
    method_list = methods or ()
    name_list = names or ()
    # Step 7.5: the method.
    if (
        method not in method_list
        and method not in CORS_SAFELISTED_METHODS
        and (include or b"*" not in method_list)
    ):
        raise _Block(BlockedReason.METHOD_DISALLOWED_BY_PREFLIGHT_RESPONSE, method)
    unsafe = plan.unsafe
    if unsafe:
        lowered = {n.lower() for n in name_list}
        wildcard = b"*" in name_list and not include
        # Step 7.6: `Authorization` (never CORS-safelisted, so among the unsafe names when
        # sent) must be listed, unless the engine lets `*` cover it.
        if (
            b"authorization" in unsafe
            and b"authorization" not in lowered
            and not (wildcard and plan.profile.has(Quirk.AUTHORIZATION_COVERED_BY_WILDCARD))
        ):
            raise _Block(BlockedReason.HEADER_DISALLOWED_BY_PREFLIGHT_RESPONSE, b"authorization")
        # Step 7.7: every CORS-unsafe request-header name.
        if not wildcard:
            for name in unsafe:
                if name not in lowered:
                    raise _Block(BlockedReason.HEADER_DISALLOWED_BY_PREFLIGHT_RESPONSE, name)
    return method_list, name_list


def _actual_request(plan: _Plan) -> WireRequest:
    # The request itself, with `Origin` (cors tainting) and the cookie when credentials are
    # included (browser._actual_request).
    request = plan.request
    if plan.include and request.cookie is not None:
        sent = (*plan.headers, (b"Origin", plan.origin), (b"Cookie", request.cookie))
    else:
        sent = (*plan.headers, (b"Origin", plan.origin))
    return WireRequest(False, plan.method, plan.url, sent, plan.include, request.body)


def _visible_names(index: Index, include: bool, profile: Profile) -> tuple[bytes, ...]:
    # Main fetch step 14.1 with cors tainting (_Fetch.visible_names).
    lines = index.get(ACEH)
    if lines is not None:
        if len(lines) == 1:
            exposed = _exposed(lines[0])
        elif all(lines) or not profile.has(Quirk.EXPOSE_HEADERS_EMPTY_LINE_VOIDS):
            parsed = extract_values(lines)
            exposed = None if parsed is FAILURE or parsed is None else _lowered(parsed)
        else:
            exposed = None  # an empty line voids the list in this engine
        if exposed is not None:
            if b"*" in exposed and not include:
                return tuple(sorted([n for n in index if n not in _NEVER_EXPOSED]))
            return tuple(
                sorted(
                    [
                        n
                        for n in index
                        if n in CORS_SAFELISTED_RESPONSE_HEADER_NAMES
                        or (n in exposed and n not in _NEVER_EXPOSED)
                    ]
                )
            )
    return tuple(sorted([n for n in index if n in CORS_SAFELISTED_RESPONSE_HEADER_NAMES]))


@functools.lru_cache(maxsize=1024)
def _exposed(line: bytes) -> frozenset[bytes] | None:
    """The names one Access-Control-Expose-Headers line lists, lowercased; ``None`` if it does
    not parse (then only the safelisted names are exposed)."""
    parsed = split_list(line)
    return None if parsed is FAILURE else _lowered(parsed)


def _lowered(names: tuple[bytes, ...]) -> frozenset[bytes]:
    return frozenset(n.lower() for n in names)


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
