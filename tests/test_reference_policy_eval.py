"""intended_verdict is memoized on (policy, request, profile): a remembered intent must never
answer for another policy, request or profile."""

from __future__ import annotations

from dataclasses import replace

from reference.origins import origin_of
from reference.policy import CorsPolicy, PathRule, PolicyRules
from reference.policy_eval import _intended, _unsafe_names, intended_verdict, request_header_list
from reference.profiles import PROFILES, Quirk
from reference.request import BrowserRequest, CredentialsMode, HeadersApi, RequestMode
from reference.safelist import cors_unsafe_request_header_names


def _fresh(policy: CorsPolicy, request: BrowserRequest, profile_name: str) -> tuple[object, ...]:
    """The intent worked out anew, without its steps (compared as text below)."""
    return tuple(_intended(policy, request, PROFILES[profile_name], None)[:-2])


def test_equal_policies_hash_alike_and_others_do_not_share_an_intent() -> None:
    listed = CorsPolicy(allow_origins=("https://app.example",), allow_methods=("PUT",))
    same = CorsPolicy(allow_origins=("https://app.example",), allow_methods=("PUT",))
    assert listed == same
    assert hash(listed) == hash(same)
    other = CorsPolicy(
        allow_origins=("https://app.example",),
        paths=(PathRule(prefix="/x", rules=PolicyRules(allow_credentials=True)),),
    )
    request = BrowserRequest(
        origin=origin_of("https://app.example"),
        url="https://api.example/x/y",
        method="PUT",
        headers=((b"X-Key", b"1"), (b"DPR", b"2")),
    )
    variants = [
        request,
        replace(request, method="GET"),
        replace(request, credentials=CredentialsMode.INCLUDE),
        replace(request, origin=origin_of("https://b.example")),
        replace(request, url="https://api.example/z"),
        replace(request, headers=()),
    ]
    seen = set()
    for _ in range(2):  # the second round answers from the memo the first one filled
        for policy in (listed, same, other):
            for variant in variants:
                for name in ("spec", "chromium"):
                    intent = intended_verdict(policy, variant, profile=PROFILES[name])
                    assert tuple(intent[:-2]) == _fresh(policy, variant, name)
                    assert list(intent.steps) == list(
                        _intended(policy, variant, PROFILES[name], []).steps
                    )
                    seen.add(tuple(intent[:-2]))
    assert len(seen) > 4


def test_the_policy_sides_unsafe_names_are_those_of_the_request_header_list() -> None:
    # _unsafe_names memoizes what the policy side reads of a request's headers: the same
    # names as request_header_list's list gives, for every Headers API, mode and profile.
    headers = ((b"X-A", b"1"), (b"x-a", b"2"), (b"Range", b"bytes=0-"), (b"DPR", b"2"))
    for _ in range(2):  # the second round from the memo
        for api in HeadersApi:
            for mode in RequestMode:
                for profile in PROFILES.values():
                    request = BrowserRequest(
                        origin=origin_of("https://a.example"),
                        url="https://api.example/r",
                        headers=headers,
                        headers_api=api,
                        mode=mode,
                    )
                    combine = api is HeadersApi.XHR or profile.has(
                        Quirk.COMBINE_DUPLICATE_REQUEST_HEADERS
                    )
                    expected = cors_unsafe_request_header_names(
                        request_header_list(request, profile), profile
                    )
                    got = _unsafe_names(headers, combine, mode is RequestMode.NO_CORS, profile)
                    assert got == expected


def test_a_no_cors_request_is_judged_on_the_headers_its_guard_keeps() -> None:
    """In no-cors mode the headers guard drops what is not safelisted before anything is
    sent, so no header of it can be refused by the policy; in cors mode the same header is."""
    policy = CorsPolicy(allow_origins=("https://page.example",), allow_headers=())
    headers = ((b"X-Custom", b"1"), (b"Accept", b"text/plain"))
    base = BrowserRequest(
        origin=origin_of("https://page.example"), url="https://api.example/", headers=headers
    )
    cors = intended_verdict(policy, base)
    no_cors = intended_verdict(policy, replace(base, mode=RequestMode.NO_CORS))
    assert cors.disallowed_headers == (b"x-custom",)
    assert no_cors.disallowed_headers == ()
