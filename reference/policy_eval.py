"""What the declared policy intends for one request (DESIGN.md "The policy").

:func:`intended_verdict` is the policy half of the oracle: given a :class:`CorsPolicy` and the
request a page makes, would the operator want script on the request's origin to read the
response? It answers with an :class:`Intended` value that names the policy key behind each part
of the decision and explains it in plain words.

Only the cross-origin side is judged here; a same-origin request is the caller's to recognise.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from reference.headers import HeaderList
from reference.lazy import LazySteps
from reference.policy import ANY, NULL, TOP_LEVEL, CorsPolicy, EffectivePolicy
from reference.profiles import SPEC, Profile, Quirk
from reference.request import BrowserRequest, CredentialsMode, HeadersApi, RequestMode
from reference.safelist import (
    cors_mode_headers,
    cors_unsafe_request_header_names,
    decision_header_list,
    is_cors_safelisted_method,
    normalize_method,
)


class Intended(NamedTuple):
    """The operator's intent for one request.

    ``allowed`` is the answer (all four parts allowed). ``exposed`` lists, lowercased, the
    response header names script may read beyond the CORS-safelisted ones; ``None`` means all of
    them (``expose_headers = ["*"]``). ``rule`` names the policy key that decided: the first part
    that refused, or, when allowed, the entry that admitted the origin. ``steps`` explain.
    """

    allowed: bool
    origin_allowed: bool
    method_allowed: bool
    headers_allowed: bool
    credentials_allowed: bool
    disallowed_headers: tuple[bytes, ...]
    exposed: frozenset[bytes] | None
    max_age: int | None
    allow_private_network: bool
    rule: str
    steps: Sequence[str]  # formatted when first read (LazySteps)
    effective: EffectivePolicy


_new = tuple.__new__
_XHR = HeadersApi.XHR
_COMBINE = Quirk.COMBINE_DUPLICATE_REQUEST_HEADERS
_NO_CORS = RequestMode.NO_CORS


def intended_verdict(
    policy: CorsPolicy, request: BrowserRequest, *, profile: Profile = SPEC
) -> Intended:
    """Judge ``request`` against ``policy``.

    ``profile`` only decides which request headers count as CORS-unsafe (a header a browser
    safelists, such as Chromium's client hints, is outside any policy's reach); pass the profile
    the browser side is judged with.

    The decision is made at once; its explanation (``steps``) is formatted when first read, as
    a run reads the explanations of the few requests it reports.
    """
    return _decided(policy, request, profile)


@functools.lru_cache(maxsize=2048)
def _decided(policy: CorsPolicy, request: BrowserRequest, profile: Profile) -> Intended:
    """Memoized: a pure function of hashable values (its lazy explanation too, which reads only
    what equality compares), and a run asks about the same request again and again (for each
    property that sends it, for the engines, for the hygiene findings)."""
    return _intended(policy, request, profile, None)


def _explained(policy: CorsPolicy, request: BrowserRequest, profile: Profile) -> list[str]:
    steps: list[str] = []
    _intended(policy, request, profile, steps)
    return steps


def _intended(
    policy: CorsPolicy, request: BrowserRequest, profile: Profile, steps: list[str] | None
) -> Intended:
    """The decision; with a ``steps`` list, also its explanation, appended to it."""
    path = request.parsed_url.path_query.split("?", 1)[0]
    effective = policy.rules_for_path(path)
    if steps is None:
        pass
    elif effective.matched_rule != TOP_LEVEL:
        steps.append(
            f"path {path!r} matches {effective.matched_rule}: the keys it sets "
            f"({_names(sorted(effective.overridden))}) override the top level"
        )
    else:
        steps.append(f"path {path!r} matches no [[paths]] table: the top-level keys apply")

    origin_rule = _origin_rule(effective, request.origin.serialize(), steps)
    method_allowed = _method_allowed(effective, request, steps)
    disallowed = _disallowed_headers(effective, request, profile, steps)
    credentials_allowed = _credentials_allowed(effective, request, steps)

    origin_allowed = origin_rule is not None
    headers_allowed = not disallowed
    if origin_rule is None:
        rule = effective.key_ref("allow_origins")
    elif not method_allowed:
        rule = effective.key_ref("allow_methods")
    elif not headers_allowed:
        rule = effective.key_ref("allow_headers")
    elif not credentials_allowed:
        rule = effective.key_ref("allow_credentials")
    else:
        rule = origin_rule
    allowed = origin_allowed and method_allowed and headers_allowed and credentials_allowed
    if steps is not None:
        steps.append(
            f"so the policy {'allows' if allowed else 'refuses'} this request (decided by {rule})"
        )

    exposed = None if ANY in effective.expose_headers else effective.exposed_names
    # Built as a tuple is (every field, in order): a named tuple's __new__ with keywords is
    # Python code, a sixth of a decision's cost.
    return _new(
        Intended,
        (
            allowed,
            origin_allowed,
            method_allowed,
            headers_allowed,
            credentials_allowed,
            disallowed,
            exposed,
            effective.max_age,
            effective.allow_private_network,
            rule,
            (
                tuple(steps)
                if steps is not None
                else LazySteps(functools.partial(_explained, policy, request, profile))
            ),
            effective,
        ),
    )


def _origin_rule(effective: EffectivePolicy, origin: str, steps: list[str] | None) -> str | None:
    """The key that admits ``origin`` (serialized), or ``None``."""
    if ANY in effective.origins:
        key = effective.key_ref("allow_origins")
        if steps is not None:
            steps.append(f"{key} contains '*': any origin is allowed, {origin!r} included")
        return key
    if origin in effective.origins:
        key = effective.key_ref("allow_origins")
        if steps is not None:
            steps.append(f"origin {origin!r} is listed in {key}")
        return key
    if steps is None:
        if origin != NULL:
            for index, pattern in enumerate(effective.origin_patterns):
                if pattern.fullmatch(origin):
                    return effective.key_ref(f"allow_origin_patterns[{index}]")
        return None
    key = effective.key_ref("allow_origins")
    if origin == NULL:
        steps.append(
            f"origin 'null' is not listed in {key}, and allow_origin_patterns never match 'null'"
        )
        return None
    for index, pattern in enumerate(effective.origin_patterns):
        if pattern.fullmatch(origin):
            pattern_key = effective.key_ref(f"allow_origin_patterns[{index}]")
            steps.append(f"origin {origin!r} matches {pattern_key} {pattern.pattern!r} in full")
            return pattern_key
    if effective.origin_patterns:
        steps.append(
            f"origin {origin!r} is neither listed in {key} nor matched by allow_origin_patterns"
        )
    else:
        steps.append(f"origin {origin!r} is not listed in {key}")
    return None


def _method_allowed(
    effective: EffectivePolicy, request: BrowserRequest, steps: list[str] | None
) -> bool:
    if steps is None:
        shown, safelisted = _method_facts(request.method)
        return safelisted or ANY in effective.allow_methods or shown in effective.allow_methods
    raw = request.method.encode("latin-1", "replace")
    method = normalize_method(raw)
    shown = method.decode("latin-1")
    key = effective.key_ref("allow_methods")
    normalized = f" (normalized from {request.method!r})" if method != raw else ""
    if is_cors_safelisted_method(method):
        steps.append(
            f"method {shown!r}{normalized} is CORS-safelisted: always allowed, whatever {key} says"
        )
        return True
    if ANY in effective.allow_methods:
        steps.append(f"{key} contains '*': method {shown!r}{normalized} is allowed")
        return True
    if shown in effective.allow_methods:
        steps.append(f"method {shown!r}{normalized} is listed in {key}")
        return True
    steps.append(f"method {shown!r}{normalized} is not listed in {key} (compared case-sensitively)")
    return False


@functools.lru_cache(maxsize=256)
def _method_facts(method: str) -> tuple[str, bool]:
    """The normalized method as a policy lists methods, and whether it is CORS-safelisted.
    Memoized: a run draws a few methods, and judges each again and again."""
    normalized = normalize_method(method.encode("latin-1", "replace"))
    return normalized.decode("latin-1"), is_cors_safelisted_method(normalized)


def request_header_list(request: BrowserRequest, profile: Profile) -> HeaderList:
    """The header list the browser holds when it decides on a preflight (shared with the
    browser model: :func:`reference.safelist.decision_header_list`)."""
    combine = request.headers_api is _XHR or _COMBINE in profile.quirks
    return decision_header_list(
        request.headers,
        combine=combine,
        no_cors=request.mode is RequestMode.NO_CORS,
        profile=profile,
    )


@functools.lru_cache(maxsize=4096)
def _unsafe_names(
    headers: HeaderList, combine: bool, no_cors: bool, profile: Profile
) -> tuple[bytes, ...]:
    """The CORS-unsafe names of :func:`request_header_list`'s list, given what it reads of the
    request. Memoized (a pure function of hashable values): one look-up where the policy side
    made a call and two (one with keywords) for every request it judged."""
    decided = decision_header_list(headers, combine=combine, no_cors=no_cors, profile=profile)
    return cors_unsafe_request_header_names(decided, profile)


def _disallowed_headers(
    effective: EffectivePolicy,
    request: BrowserRequest,
    profile: Profile,
    steps: list[str] | None,
) -> tuple[bytes, ...]:
    """The request's CORS-unsafe header names that the policy does not allow."""
    combine = request.headers_api is _XHR or _COMBINE in profile.quirks
    if request.mode is _NO_CORS:
        unsafe = _unsafe_names(request.headers, combine, True, profile)
    else:  # the browser model reads the same memo
        unsafe = cors_mode_headers(request.headers, combine, profile)[2]
    if steps is None:
        if not unsafe or ANY in effective.allow_headers:
            return ()
        return tuple(name for name in unsafe if name.lower() not in effective.header_names)
    key = effective.key_ref("allow_headers")
    if not unsafe:
        steps.append(f"the request has no CORS-unsafe request headers: {key} is not consulted")
        return ()
    names = _names(name.decode("latin-1") for name in unsafe)
    if ANY in effective.allow_headers:
        steps.append(f"{key} contains '*': the CORS-unsafe request headers {names} are allowed")
        return ()
    disallowed = tuple(name for name in unsafe if name.lower() not in effective.header_names)
    if not disallowed:
        steps.append(f"the CORS-unsafe request headers {names} are all listed in {key}")
    else:
        missing = _names(name.decode("latin-1") for name in disallowed)
        steps.append(
            f"of the CORS-unsafe request headers {names}, {missing} are not listed in {key} "
            "(compared case-insensitively)"
        )
    return disallowed


def _credentials_allowed(
    effective: EffectivePolicy, request: BrowserRequest, steps: list[str] | None
) -> bool:
    if steps is None:
        return request.credentials is not CredentialsMode.INCLUDE or effective.allow_credentials
    key = effective.key_ref("allow_credentials")
    if request.credentials is not CredentialsMode.INCLUDE:
        steps.append(
            f"credentials mode is {request.credentials.value!r}, not 'include': "
            f"{key} is not consulted"
        )
        return True
    value = "true" if effective.allow_credentials else "false"
    verb = "allows" if effective.allow_credentials else "refuses"
    steps.append(f"credentials mode is 'include' and {key} is {value}: the policy {verb} it")
    return effective.allow_credentials


def _names(names: Iterable[str]) -> str:
    shown = [repr(name) for name in names]
    return ", ".join(shown) if shown else "none"
