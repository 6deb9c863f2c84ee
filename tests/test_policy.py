"""The policy value and its intended verdicts (reference.policy, reference.policy_eval)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.headers import HeaderList
from reference.origins import OpaqueOrigin, Origin, origin_of
from reference.policy import (
    CorsPolicy,
    EffectivePolicy,
    PathRule,
    PolicyRules,
    canonical_origin,
)
from reference.policy_eval import Intended, _intended, intended_verdict, request_header_list
from reference.profiles import CHROMIUM, SPEC, Profile
from reference.request import BrowserRequest, CredentialsMode, HeadersApi, RequestMode

APP = "https://app.example"
NULL_ORIGIN = OpaqueOrigin(label="sandboxed")


def request(
    origin: str | Origin = APP,
    *,
    url: str = "https://api.example/data",
    method: str = "GET",
    headers: HeaderList = (),
    credentials: CredentialsMode = CredentialsMode.OMIT,
    **kwargs: Any,
) -> BrowserRequest:
    return BrowserRequest(
        origin=origin_of(origin) if isinstance(origin, str) else origin,
        url=url,
        method=method,
        headers=headers,
        credentials=credentials,
        **kwargs,
    )


def verdict(policy: CorsPolicy, **kwargs: Any) -> Intended:
    return intended_verdict(policy, request(**kwargs))


# -- canonical origins -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "canonical"),
    [
        ("*", "*"),
        ("null", "null"),
        ("https://app.example", "https://app.example"),
        ("https://APP.example:443", "https://app.example"),
        ("https://app.example:443/", "https://app.example"),
        ("http://app.example:80", "http://app.example"),
        ("http://app.example:8080", "http://app.example:8080"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("https://[0:0::1]", "https://[::1]"),
        ("not a url", None),
        ("https://", None),
        ("data:text/html,x", None),  # an opaque origin is never a listed origin
        ("NULL", None),
    ],
)
def test_canonical_origin(entry: str, canonical: str | None) -> None:
    assert canonical_origin(entry) == canonical


# -- path rules --------------------------------------------------------------------------------


def test_path_rule_needs_exactly_one_of_prefix_and_pattern() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        PathRule()
    with pytest.raises(ValueError, match="exactly one"):
        PathRule(prefix="/a", pattern="/a")


def test_path_rule_pattern_must_compile() -> None:
    with pytest.raises(re.error):
        PathRule(pattern="/(")


@pytest.mark.parametrize(
    ("prefix", "path", "matches"),
    [
        ("/api", "/api", True),
        ("/api", "/api/", True),
        ("/api", "/api/x", True),
        ("/api", "/apix", False),  # segment-aware
        ("/api", "/ap", False),
        ("/api", "/API", False),  # case-sensitive
        ("/api", "/Api/x", False),
        ("/api/", "/api/x", True),  # a prefix ending in "/" matches below it
        ("/api/", "/api/", True),
        ("/api/", "/api", False),
        ("/", "/anything", True),
        ("/", "/", True),
        ("/caf%C3%A9", "/caf%C3%A9/menu", True),  # raw, percent-encoded
        ("/caf%C3%A9", "/café/menu", False),
        ("/caf%C3%A9", "/caf%c3%a9", False),  # percent-encoding is not normalized either
        ("/a%2Fb", "/a/b", False),  # not decoded before matching
    ],
)
def test_prefix_matching(prefix: str, path: str, matches: bool) -> None:
    assert PathRule(prefix=prefix).matches(path) is matches


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        (r"/v[0-9]+/public/.*", "/v2/public/x", True),
        (r"/v[0-9]+/public/.*", "/v2/public", False),
        (r"/v[0-9]+", "/v2/x", False),  # re.fullmatch: the whole path
        (r"/v[0-9]+", "/x/v2", False),
        (r"/api", "/API", False),
        (r"/caf%C3%A9", "/caf%C3%A9", True),
    ],
)
def test_pattern_matching(pattern: str, path: str, matches: bool) -> None:
    assert PathRule(pattern=pattern).matches(path) is matches


def test_describe_and_overridden_keys() -> None:
    rule = PathRule(
        pattern="/v[0-9]+",
        rules=PolicyRules(allow_origins=(), allow_credentials=False),
    )
    assert rule.describe() == "pattern '/v[0-9]+'"
    assert PathRule(prefix="/public").describe() == "prefix '/public'"
    assert rule.overridden_keys() == {"allow_origins", "allow_credentials"}
    assert PathRule(prefix="/a", max_age_set=True).overridden_keys() == {"max_age"}


def test_max_age_given_as_a_value_counts_as_set() -> None:
    implicit = PathRule(prefix="/a", rules=PolicyRules(max_age=5))
    explicit = PathRule(prefix="/a", rules=PolicyRules(max_age=5), max_age_set=True)
    assert implicit.max_age_set
    assert implicit == explicit


POLICY = CorsPolicy(
    allow_origins=(APP,),
    allow_methods=("PUT",),
    max_age=600,
    paths=(
        PathRule(prefix="/public", rules=PolicyRules(allow_origins=("*",))),
        PathRule(prefix="/public/private", rules=PolicyRules(allow_origins=())),
        PathRule(pattern=r"/v[0-9]+/.*", rules=PolicyRules(max_age=30)),
        PathRule(prefix="/nocache", max_age_set=True),  # max_age = None: "send no max-age"
        PathRule(prefix="/inherit", rules=PolicyRules(allow_credentials=True)),
    ),
)


@pytest.mark.parametrize(
    ("path", "matched_rule"),
    [
        ("/", "top level"),
        ("/other", "top level"),
        ("/public", "[[paths]] #1 (prefix '/public')"),
        ("/public/x", "[[paths]] #1 (prefix '/public')"),
        ("/public/private/x", "[[paths]] #1 (prefix '/public')"),  # first match wins, not longest
        ("/publicity", "top level"),
        ("/Public", "top level"),
        ("/public?x=1", "[[paths]] #1 (prefix '/public')"),  # the query is ignored
        ("/top?/public", "top level"),  # ... also when it looks like a path
        ("/v1/x", "[[paths]] #3 (pattern '/v[0-9]+/.*')"),
        ("/v1", "top level"),
        ("/nocache/x", "[[paths]] #4 (prefix '/nocache')"),
    ],
)
def test_rules_for_path_first_match_wins(path: str, matched_rule: str) -> None:
    assert POLICY.rules_for_path(path).matched_rule == matched_rule


def test_keys_a_rule_leaves_unset_inherit_the_top_level() -> None:
    public = POLICY.rules_for_path("/public/x")
    assert public.allow_origins == ("*",)
    assert public.allow_methods == ("PUT",)
    assert public.max_age == 600
    assert public.overridden == {"allow_origins"}
    assert POLICY.rules_for_path("/inherit").allow_credentials is True
    assert POLICY.rules_for_path("/other").allow_credentials is False


@pytest.mark.parametrize(
    ("path", "max_age"),
    [("/other", 600), ("/public", 600), ("/v2/x", 30), ("/nocache", None)],
)
def test_max_age_inheritance(path: str, max_age: int | None) -> None:
    assert POLICY.rules_for_path(path).max_age == max_age


def test_max_age_overrides_a_top_level_none() -> None:
    policy = CorsPolicy(paths=(PathRule(prefix="/a", rules=PolicyRules(max_age=0)),))
    assert policy.max_age is None
    assert policy.rules_for_path("/a").max_age == 0
    assert policy.rules_for_path("/b").max_age is None


def test_top_level_is_the_effective_policy_without_a_match() -> None:
    assert POLICY.top_level is POLICY.rules_for_path("/other")
    assert POLICY.top_level.matched_rule == "top level"
    assert POLICY.top_level.overridden == frozenset()


def test_key_ref_names_where_a_value_came_from() -> None:
    public = POLICY.rules_for_path("/public")
    assert public.key_ref("allow_origins") == "allow_origins in [[paths]] #1 (prefix '/public')"
    assert public.key_ref("allow_methods") == "allow_methods"
    assert POLICY.top_level.key_ref("allow_origins") == "allow_origins"


def test_policies_compare_and_hash_by_their_declared_keys() -> None:
    same = dataclasses.replace(POLICY)
    assert same == POLICY
    assert hash(same) == hash(POLICY)
    assert dataclasses.replace(POLICY, max_age=1) != POLICY
    assert dataclasses.replace(POLICY, max_age=1).rules_for_path("/public").max_age == 1


def test_effective_policy_derives_canonical_origins_and_compiled_patterns() -> None:
    effective = EffectivePolicy(
        allow_origins=("https://A.example:443", "*", "junk"),
        allow_origin_patterns=(r"https://[a-z]+\.b\.example",),
        allow_methods=(),
        allow_headers=(),
        expose_headers=(),
        allow_credentials=False,
        max_age=None,
        allow_private_network=False,
    )
    assert effective.origins == {"https://a.example", "*"}
    assert [p.pattern for p in effective.origin_patterns] == [r"https://[a-z]+\.b\.example"]


def test_evaluation_never_recompiles(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = CorsPolicy(
        allow_origin_patterns=(r"https://[a-z]+\.app\.example", r"https://x\.example"),
        paths=(PathRule(pattern=r"/v[0-9]+/.*", rules=PolicyRules(allow_origin_patterns=())),),
    )
    calls: list[object] = []
    real = re.compile

    def counting(*args: Any, **kwargs: Any) -> re.Pattern[str]:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(re, "compile", counting)
    for path in ("/v1/x", "/other"):
        for _ in range(20):
            intended_verdict(policy, request("https://a.app.example", url=f"https://api{path}"))
    assert calls == []


# -- intended verdicts: origins ----------------------------------------------------------------


def test_listed_origin_is_allowed() -> None:
    result = verdict(CorsPolicy(allow_origins=(APP,)))
    assert result.allowed
    assert result.origin_allowed
    assert result.rule == "allow_origins"
    assert any("listed in allow_origins" in step for step in result.steps)


def test_unlisted_origin_is_refused() -> None:
    result = verdict(CorsPolicy(allow_origins=(APP,)), origin="https://evil.example")
    assert not result.allowed
    assert not result.origin_allowed
    assert result.rule == "allow_origins"
    assert "is not listed in allow_origins" in result.steps[1]
    assert "allow_origin_patterns" not in result.steps[1]


def test_allow_origins_entries_are_canonicalized() -> None:
    policy = CorsPolicy(allow_origins=("https://APP.example:443/",))
    assert verdict(policy).allowed
    assert not verdict(policy, origin="https://app.example:8443").allowed


def test_origin_comparison_is_exact_after_canonicalization() -> None:
    policy = CorsPolicy(allow_origins=(APP,))
    for origin in ("http://app.example", "https://app.example:444", "https://sub.app.example"):
        assert not verdict(policy, origin=origin).origin_allowed


@pytest.mark.parametrize("credentials", list(CredentialsMode))
@pytest.mark.parametrize("allow_credentials", [True, False])
def test_any_origin_covers_null(credentials: CredentialsMode, allow_credentials: bool) -> None:
    policy = CorsPolicy(allow_origins=("*",), allow_credentials=allow_credentials)
    result = verdict(policy, origin=NULL_ORIGIN, credentials=credentials)
    assert result.origin_allowed
    include = credentials is CredentialsMode.INCLUDE
    assert result.credentials_allowed is (allow_credentials or not include)
    assert result.allowed is (allow_credentials or not include)
    assert result.rule == (
        "allow_credentials" if include and not allow_credentials else "allow_origins"
    )


def test_any_origin_with_credentials_intends_reflection() -> None:
    policy = CorsPolicy(allow_origins=("*",), allow_credentials=True)
    result = verdict(policy, origin="https://anyone.example", credentials=CredentialsMode.INCLUDE)
    assert result.allowed


def test_null_must_be_listed() -> None:
    assert not verdict(CorsPolicy(allow_origins=(APP,)), origin=NULL_ORIGIN).origin_allowed
    result = verdict(CorsPolicy(allow_origins=("null",)), origin=NULL_ORIGIN)
    assert result.origin_allowed
    assert result.rule == "allow_origins"


@pytest.mark.parametrize("pattern", [".*", "null", "n.ll", "(?i)NULL", ".*|null"])
def test_patterns_never_match_null(pattern: str) -> None:
    result = verdict(CorsPolicy(allow_origin_patterns=(pattern,)), origin=NULL_ORIGIN)
    assert not result.origin_allowed
    assert "never match 'null'" in result.steps[1]


def test_listed_null_does_not_allow_tuple_origins() -> None:
    assert not verdict(CorsPolicy(allow_origins=("null",))).origin_allowed


def test_patterns_match_the_whole_serialized_origin() -> None:
    policy = CorsPolicy(
        allow_origin_patterns=(r"https://x\.example", r"https://[a-z]+\.app\.example")
    )
    result = verdict(policy, origin="https://preview.app.example")
    assert result.allowed
    assert result.rule == "allow_origin_patterns[1]"
    assert "matches allow_origin_patterns[1]" in result.steps[1]
    # Full match: neither a longer origin nor a port slips through.
    assert not verdict(policy, origin="https://preview.app.example.evil.example").allowed
    assert not verdict(policy, origin="https://preview.app.example:8443").allowed
    assert not verdict(policy, origin="https://a.x.example").allowed
    refused = verdict(policy, origin="https://evil.example")
    assert "nor matched by allow_origin_patterns" in refused.steps[1]


def test_patterns_see_the_serialized_origin() -> None:
    # The default port is never part of a serialized origin, the host is lowercase.
    policy = CorsPolicy(allow_origin_patterns=(r"https://app\.example",))
    assert verdict(policy, origin="https://APP.example:443").allowed


# -- methods -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "get", "post", "Head"])
def test_safelisted_methods_are_implicit(method: str) -> None:
    result = verdict(CorsPolicy(allow_origins=(APP,), allow_methods=()), method=method)
    assert result.method_allowed
    assert result.allowed
    assert "CORS-safelisted" in result.steps[2]


def test_listed_method_is_allowed() -> None:
    policy = CorsPolicy(allow_origins=(APP,), allow_methods=("PUT", "PATCH"))
    assert verdict(policy, method="PUT").allowed
    assert verdict(policy, method="PATCH").allowed
    result = verdict(policy, method="put")  # normalized to PUT by the browser
    assert result.allowed
    assert "normalized from 'put'" in result.steps[2]


def test_methods_compare_case_sensitively() -> None:
    policy = CorsPolicy(allow_origins=(APP,), allow_methods=("PATCH",))
    result = verdict(policy, method="patch")  # not normalized: patch stays patch
    assert not result.method_allowed
    assert not result.allowed
    assert result.rule == "allow_methods"
    assert "case-sensitively" in result.steps[2]
    assert not verdict(
        CorsPolicy(allow_origins=(APP,), allow_methods=("put",)), method="PUT"
    ).allowed


def test_any_method() -> None:
    result = verdict(CorsPolicy(allow_origins=(APP,), allow_methods=("*",)), method="CHICKEN")
    assert result.allowed
    assert "contains '*'" in result.steps[2]


# -- request headers ---------------------------------------------------------------------------


def test_safelisted_headers_need_no_listing() -> None:
    headers = ((b"Accept", b"text/html"), (b"Content-Type", b"text/plain"))
    result = verdict(CorsPolicy(allow_origins=(APP,)), headers=headers)
    assert result.headers_allowed
    assert result.disallowed_headers == ()
    assert "no CORS-unsafe request headers" in result.steps[3]


def test_unsafe_headers_must_be_listed_case_insensitively() -> None:
    policy = CorsPolicy(allow_origins=(APP,), allow_headers=("X-Api-Key", "content-type"))
    headers = ((b"x-api-key", b"1"), (b"Content-Type", b"application/json"))
    result = verdict(policy, headers=headers)
    assert result.headers_allowed
    assert "are all listed in allow_headers" in result.steps[3]


def test_unlisted_unsafe_headers_are_named() -> None:
    policy = CorsPolicy(allow_origins=(APP,), allow_headers=("x-a",))
    headers = ((b"X-A", b"1"), (b"X-B", b"2"), (b"Authorization", b"Bearer t"))
    result = verdict(policy, headers=headers)
    assert not result.headers_allowed
    assert not result.allowed
    assert result.disallowed_headers == (b"authorization", b"x-b")
    assert result.rule == "allow_headers"
    assert "'authorization', 'x-b' are not listed in allow_headers" in result.steps[3]


def test_any_header_covers_authorization() -> None:
    policy = CorsPolicy(allow_origins=(APP,), allow_headers=("*",))
    result = verdict(policy, headers=((b"Authorization", b"Bearer t"), (b"X-Anything", b"1")))
    assert result.headers_allowed
    assert result.disallowed_headers == ()
    assert "contains '*'" in result.steps[3]


def test_forbidden_headers_are_not_the_policys_concern() -> None:
    # The browser drops them before anything is decided.
    result = verdict(CorsPolicy(allow_origins=(APP,)), headers=((b"Cookie", b"a=b"),))
    assert result.allowed


def test_header_classification_follows_the_profile() -> None:
    policy = CorsPolicy(allow_origins=(APP,))
    hint = request(headers=((b"DPR", b"2"),))
    assert not intended_verdict(policy, hint).allowed
    assert intended_verdict(policy, hint, profile=CHROMIUM).allowed


def test_request_header_list_is_what_the_browser_holds() -> None:
    xhr = request(headers=((b"X-A", b"1"), (b"x-a", b"2")), headers_api=HeadersApi.XHR)
    assert request_header_list(xhr, SPEC) == ((b"X-A", b"1, 2"), (b"Accept", b"*/*"))
    fetch = request(headers=((b"Accept", b"text/html"), (b"Cookie", b"x")))
    assert request_header_list(fetch, SPEC) == ((b"Accept", b"text/html"),)
    no_cors = request(headers=((b"X-A", b"1"),), mode=RequestMode.NO_CORS)
    assert request_header_list(no_cors, SPEC) == ((b"Accept", b"*/*"),)


# -- credentials -------------------------------------------------------------------------------


@pytest.mark.parametrize("credentials", [CredentialsMode.OMIT, CredentialsMode.SAME_ORIGIN])
def test_credentials_not_included_need_no_permission(credentials: CredentialsMode) -> None:
    result = verdict(CorsPolicy(allow_origins=(APP,)), credentials=credentials)
    assert result.credentials_allowed
    assert result.allowed
    assert "is not consulted" in result.steps[4]


def test_included_credentials_follow_allow_credentials() -> None:
    include = CredentialsMode.INCLUDE
    refused = verdict(CorsPolicy(allow_origins=(APP,)), credentials=include)
    assert not refused.credentials_allowed
    assert not refused.allowed
    assert refused.rule == "allow_credentials"
    assert "allow_credentials is false" in refused.steps[4]
    allowed = verdict(CorsPolicy(allow_origins=(APP,), allow_credentials=True), credentials=include)
    assert allowed.allowed
    assert "allow_credentials is true" in allowed.steps[4]


# -- the rest of the verdict -------------------------------------------------------------------


def test_refusal_names_the_first_key_that_refused() -> None:
    policy = CorsPolicy(allow_origins=(APP,))
    everything_wrong = verdict(
        policy,
        origin="https://evil.example",
        method="PUT",
        headers=((b"X-A", b"1"),),
        credentials=CredentialsMode.INCLUDE,
    )
    assert not any(
        (
            everything_wrong.origin_allowed,
            everything_wrong.method_allowed,
            everything_wrong.headers_allowed,
            everything_wrong.credentials_allowed,
        )
    )
    assert everything_wrong.rule == "allow_origins"
    assert verdict(policy, method="PUT", headers=((b"X-A", b"1"),)).rule == "allow_methods"
    assert everything_wrong.steps[-1].startswith("so the policy refuses")


def test_exposed_headers() -> None:
    listed = verdict(CorsPolicy(allow_origins=(APP,), expose_headers=("X-Request-Id", "x-b")))
    assert listed.exposed == frozenset({b"x-request-id", b"x-b"})
    assert verdict(CorsPolicy(allow_origins=(APP,))).exposed == frozenset()
    assert verdict(CorsPolicy(allow_origins=(APP,), expose_headers=("*", "x-a"))).exposed is None


def test_max_age_and_private_network_come_from_the_effective_policy() -> None:
    policy = CorsPolicy(
        allow_origins=(APP,),
        max_age=600,
        allow_private_network=True,
        paths=(
            PathRule(
                prefix="/lan",
                rules=PolicyRules(max_age=5, allow_private_network=False),
            ),
        ),
    )
    top = verdict(policy)
    assert (top.max_age, top.allow_private_network) == (600, True)
    lan = verdict(policy, url="https://api.example/lan/x")
    assert (lan.max_age, lan.allow_private_network) == (5, False)
    assert lan.effective is policy.rules_for_path("/lan/x")


def test_path_rules_apply_by_the_request_path() -> None:
    policy = CorsPolicy(
        allow_origins=(APP,),
        paths=(PathRule(prefix="/public", rules=PolicyRules(allow_origins=("*",))),),
    )
    public = verdict(
        policy, origin="https://anyone.example", url="https://api.example/public/a?q=1"
    )
    assert public.allowed
    assert public.rule == "allow_origins in [[paths]] #1 (prefix '/public')"
    assert public.steps[0] == (
        "path '/public/a' matches [[paths]] #1 (prefix '/public'): the keys it sets "
        "('allow_origins') override the top level"
    )
    assert not verdict(
        policy, origin="https://anyone.example", url="https://api.example/Public"
    ).allowed
    top = verdict(policy)
    assert top.steps[0] == "path '/data' matches no [[paths]] table: the top-level keys apply"


def test_rule_inherited_from_the_top_level_is_named_as_such() -> None:
    policy = CorsPolicy(
        allow_origins=(APP,),
        paths=(PathRule(prefix="/a", rules=PolicyRules(allow_headers=("*",))),),
    )
    result = verdict(policy, url="https://api.example/a", method="PUT")
    assert result.rule == "allow_methods"
    empty = CorsPolicy(allow_origins=(APP,), paths=(PathRule(prefix="/a"),))
    assert "keys it sets (none)" in verdict(empty, url="https://api.example/a").steps[0]


def test_every_step_names_a_policy_key() -> None:
    policy = CorsPolicy(
        allow_origins=(APP,),
        allow_origin_patterns=(r"https://[a-z]+\.app\.example",),
        paths=(PathRule(prefix="/p", rules=PolicyRules(allow_methods=("PUT",))),),
    )
    keys = ("allow_", "[[paths]]")
    for origin in (APP, "https://x.app.example", "https://evil.example", NULL_ORIGIN):
        for url in ("https://api.example/p", "https://api.example/q"):
            result = verdict(policy, origin=origin, url=url, method="PUT", headers=((b"X", b"1"),))
            for step in result.steps:
                assert any(key in step for key in keys), step


# -- properties --------------------------------------------------------------------------------

ORIGIN_POOL = [
    "https://app.example",
    "https://APP.example:443",
    "http://app.example",
    "https://a.app.example",
    "https://evil.example",
    "http://localhost:3000",
    "*",
    "null",
]
origin_entries = st.sampled_from(ORIGIN_POOL)
request_origins = st.one_of(
    st.sampled_from([e for e in ORIGIN_POOL if e not in ("*", "null")]).map(origin_of),
    st.just(NULL_ORIGIN),
)
names = st.sampled_from(["PUT", "DELETE", "patch", "*", "x-a", "X-B", "authorization"])
header_entries = st.sampled_from(
    [(b"X-A", b"1"), (b"x-b", b"2"), (b"Authorization", b"t"), (b"Accept", b"*/*")]
)

policies = st.builds(
    CorsPolicy,
    allow_origins=st.lists(origin_entries, max_size=3).map(tuple),
    allow_origin_patterns=st.lists(
        st.sampled_from([r"https://[a-z]+\.app\.example", r"https?://.*", "null"]), max_size=2
    ).map(tuple),
    allow_methods=st.lists(names, max_size=3).map(tuple),
    allow_headers=st.lists(names, max_size=3).map(tuple),
    allow_credentials=st.booleans(),
    paths=st.lists(
        st.builds(
            PathRule,
            prefix=st.sampled_from(["/a", "/a/b", "/"]),
            rules=st.builds(
                PolicyRules,
                allow_origins=st.none() | st.lists(origin_entries, max_size=2).map(tuple),
                allow_credentials=st.none() | st.booleans(),
            ),
        ),
        max_size=2,
    ).map(tuple),
)
requests = st.builds(
    request,
    request_origins,
    url=st.sampled_from(
        ["https://api.example/a/b", "https://api.example/c", "https://api.example/"]
    ),
    method=st.sampled_from(["GET", "PUT", "patch", "DELETE"]),
    headers=st.lists(header_entries, max_size=3).map(tuple),
    credentials=st.sampled_from(list(CredentialsMode)),
)


@given(policies, requests, origin_entries)
def test_adding_an_origin_never_refuses_an_allowed_request(
    policy: CorsPolicy, req: BrowserRequest, extra: str
) -> None:
    wider = dataclasses.replace(policy, allow_origins=(*policy.allow_origins, extra))
    if intended_verdict(policy, req).allowed:
        assert intended_verdict(wider, req).allowed


@given(policies, requests, names)
def test_adding_a_method_or_header_never_refuses_an_allowed_request(
    policy: CorsPolicy, req: BrowserRequest, extra: str
) -> None:
    if intended_verdict(policy, req).allowed:
        methods = dataclasses.replace(policy, allow_methods=(*policy.allow_methods, extra))
        headers = dataclasses.replace(policy, allow_headers=(*policy.allow_headers, extra))
        assert intended_verdict(methods, req).allowed
        assert intended_verdict(headers, req).allowed


@given(policies, requests)
def test_verdict_is_the_conjunction_of_its_parts(policy: CorsPolicy, req: BrowserRequest) -> None:
    result = intended_verdict(policy, req)
    parts = (
        result.origin_allowed,
        result.method_allowed,
        result.headers_allowed,
        result.credentials_allowed,
    )
    assert result.allowed is all(parts)
    assert result.headers_allowed is (result.disallowed_headers == ())
    assert result == intended_verdict(policy, req)  # deterministic
    if isinstance(req.origin, OpaqueOrigin) and not result.effective.origins & {"*", "null"}:
        assert not result.origin_allowed


def test_rule_starts_with_the_deciding_key() -> None:
    policy = CorsPolicy(
        paths=(
            PathRule(
                prefix="/p",
                rules=PolicyRules(allow_origin_patterns=(r"https://[a-z]+\.app\.example",)),
            ),
        ),
    )
    result = verdict(policy, origin="https://x.app.example", url="https://api.example/p")
    assert result.rule == "allow_origin_patterns[0] in [[paths]] #1 (prefix '/p')"
    assert result.rule.split(" ", 1)[0].split("[", 1)[0] == "allow_origin_patterns"


@given(policies, requests, st.sampled_from([SPEC, CHROMIUM]))
def test_the_decision_is_the_same_with_and_without_its_explanation(
    policy: CorsPolicy, req: BrowserRequest, profile: Profile
) -> None:
    # intended_verdict decides without formatting steps (they are formatted when first read,
    # by deciding again with them): both ways must decide alike, or an explanation could
    # contradict its verdict.
    steps: list[str] = []
    explained = _intended(policy, req, profile, steps)
    quick = intended_verdict(policy, req, profile=profile)
    assert quick._replace(steps=()) == explained._replace(steps=())
    assert tuple(quick.steps) == tuple(steps) == explained.steps
    assert steps[-1].startswith("so the policy")
