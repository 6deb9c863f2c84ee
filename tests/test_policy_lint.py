"""Lint warnings for valid but dangerous policies (reference.policy_lint)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.policy import CorsPolicy, PathRule, PolicyRules
from reference.policy_lint import PUBLIC_SUFFIXES, LintCode, LintWarning, lint


def codes(policy: CorsPolicy) -> list[tuple[str, str]]:
    return [(warning.code, warning.key) for warning in lint(policy)]


def only(policy: CorsPolicy, code: LintCode) -> LintWarning:
    found = [w for w in lint(policy) if w.code is code]
    assert len(found) == 1, lint(policy)
    return found[0]


def pattern_codes(pattern: str, *, credentials: bool = False) -> set[str]:
    policy = CorsPolicy(allow_origin_patterns=(pattern,), allow_credentials=credentials)
    return {warning.code for warning in lint(policy)}


def test_a_careful_policy_is_clean() -> None:
    policy = CorsPolicy(
        allow_origins=("https://app.example", "http://localhost:3000"),
        allow_origin_patterns=(r"https://[a-z0-9-]+\.preview\.app\.example",),
        allow_methods=("PUT",),
        allow_headers=("x-api-key",),
        expose_headers=("x-request-id",),
        allow_credentials=True,
        max_age=7200,
    )
    assert lint(policy) == ()


def test_codes_are_strings() -> None:
    assert LintCode("null-origin") is LintCode.NULL_ORIGIN
    assert {str(code) for code in LintCode} >= {
        "credentials-any-origin",
        "null-origin",
        "null-origin-credentials",
        "insecure-origin-credentials",
        "unescaped-dot",
        "unanchored-pattern",
        "public-suffix-wildcard",
        "wildcard-headers-credentials",
        "wildcard-methods-credentials",
        "max-age-over-browser-caps",
    }


# -- origins -----------------------------------------------------------------------------------


def test_credentials_any_origin() -> None:
    policy = CorsPolicy(allow_origins=("https://a.example", "*"), allow_credentials=True)
    warning = only(policy, LintCode.CREDENTIALS_ANY_ORIGIN)
    assert warning.key == "allow_origins[1]"
    assert "reflecting every origin" in warning.message
    assert codes(CorsPolicy(allow_origins=("*",))) == []


def test_null_origin() -> None:
    warning = only(CorsPolicy(allow_origins=("null",)), LintCode.NULL_ORIGIN)
    assert warning.key == "allow_origins[0]"
    assert "sandboxed iframes" in warning.message
    assert "ANY site" in warning.message
    assert codes(CorsPolicy(allow_origins=("*",))) == []  # "*" is honest about covering null


def test_null_origin_credentials() -> None:
    policy = CorsPolicy(allow_origins=("null",), allow_credentials=True)
    assert codes(policy) == [(LintCode.NULL_ORIGIN_CREDENTIALS, "allow_origins[0]")]
    assert "read the user's data" in lint(policy)[0].message


@pytest.mark.parametrize(
    ("origin", "warns"),
    [
        ("http://app.example", True),
        ("http://APP.example:80", True),
        ("http://10.0.0.1:8080", True),
        ("https://app.example", False),
        ("http://localhost", False),
        ("http://localhost:3000", False),
        ("http://dev.localhost:3000", False),
        ("http://127.0.0.1:8000", False),
        ("http://127.1.2.3", False),
        ("http://[::1]:3000", False),
        ("http://[::2]", True),
        ("http://localhost.attacker.example", True),
    ],
)
def test_insecure_origin_credentials(origin: str, warns: bool) -> None:
    policy = CorsPolicy(allow_origins=(origin,), allow_credentials=True)
    expected = [(LintCode.INSECURE_ORIGIN_CREDENTIALS, "allow_origins[0]")] if warns else []
    assert codes(policy) == expected
    assert codes(CorsPolicy(allow_origins=(origin,))) == []  # without credentials: fine


def test_insecure_origin_message() -> None:
    policy = CorsPolicy(allow_origins=("http://app.example",), allow_credentials=True)
    assert "network attacker" in lint(policy)[0].message


def test_unparsable_origins_are_not_linted() -> None:
    assert codes(CorsPolicy(allow_origins=("junk",), allow_credentials=True)) == []


# -- origin patterns ---------------------------------------------------------------------------


def test_unescaped_dot() -> None:
    policy = CorsPolicy(allow_origin_patterns=(r"https://x\.example", "https://app.example.com"))
    warning = only(policy, LintCode.UNESCAPED_DOT)
    assert warning.key == "allow_origin_patterns[1]"
    assert "position 11, position 19" in warning.message
    assert "'https://appxexample.com'" in warning.message


@pytest.mark.parametrize(
    ("pattern", "warns"),
    [
        (r"https://app\.example\.com", False),
        (r"https://app[.]example[.]com", False),  # a dot in a class is literal
        (r"https://[]a.]+\.example", False),  # "]" first in a class is literal
        (r"https://[^.]+\.example", False),
        (r"https://[a-z]+\.example(:[0-9]{1,5})?", False),
        (r"https://.+\.example", False),  # a wildcard: unanchored-pattern's business
        (r"https://.{1,20}\.example", False),
        (r"https://a.?\.example", True),
        (r"(https://a.example)", True),
        (r"https://a\\.example", True),  # an escaped backslash, then a bare dot
    ],
)
def test_unescaped_dot_cases(pattern: str, warns: bool) -> None:
    assert (LintCode.UNESCAPED_DOT in pattern_codes(pattern)) is warns


def test_unescaped_dot_without_a_literal_example() -> None:
    warning = only(
        CorsPolicy(allow_origin_patterns=(r"https://(a|b).example",)), LintCode.UNESCAPED_DOT
    )
    assert "(it admits" not in warning.message


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"https://.*\.example\.com", "'.*' in the host admits any characters, dots included"),
        (r"https://.*example\.com", "(it admits 'https://attackerexample.com')"),
        (r"https://.+\.example\.com", "'.+' in the host"),
        (r".*\.example\.com", "it begins with '.*', which admits any scheme and any host"),
        (r"^.*\.example\.com$", "(it admits 'http://attacker.example.com')"),
        (r"https://example\.com.*", "it ends with '.*', which admits anything after the host"),
        (r"https://example\.com.+", "(it admits 'https://example.com.attacker.example')"),
        (r"^https://a\.example", "starts with '^' but is not anchored at the other end"),
        (r"https://a\.example$", "ends with '$' but is not anchored at the other end"),
        (r"https://a\.example|^https://b\.example", "'^https://b\\\\.example' starts with '^'"),
        (r"[a-z]+://.*", "'.*' in the host"),
    ],
)
def test_unanchored_pattern(pattern: str, reason: str) -> None:
    policy = CorsPolicy(allow_origin_patterns=(pattern,))
    warning = only(policy, LintCode.UNANCHORED_PATTERN)
    assert warning.key == "allow_origin_patterns[0]"
    assert "matched in full (re.fullmatch)" in warning.message
    assert reason in warning.message


@pytest.mark.parametrize(
    "pattern",
    [
        r"https://app\.example",
        r"^https://app\.example$",  # anchored at both ends: redundant, not misleading
        r"https://[a-z0-9-]+\.app\.example",
        r"https://app\.example(:[0-9]+)?",
        r"https://(www\.)?app\.example",
        r"https://a\.example|https://b\.example",
        r"https://a\.example\$",  # an escaped dollar is a literal
        r"https://[.*]\.example",  # a class, not a wildcard
        r"https://\.*a\.example",  # an escaped dot repeated, not a wildcard
        r"https://\^a\.example",
    ],
)
def test_anchored_patterns(pattern: str) -> None:
    assert LintCode.UNANCHORED_PATTERN not in pattern_codes(pattern)


def test_wildcard_in_the_scheme_is_not_the_host() -> None:
    # ".*" inside the scheme cannot produce another host: every origin it admits ends in
    # "s://a.example".
    assert LintCode.UNANCHORED_PATTERN not in pattern_codes(r"h.*s://a\.example")


@pytest.mark.parametrize(
    ("pattern", "suffix"),
    [
        (r"https://.*\.com", "com"),
        (r"https://[a-z0-9-]+\.github\.io", "github.io"),
        (r"https://.*\.co\.uk", "co.uk"),
        (r"https?://[a-z]+\.vercel\.app", "vercel.app"),
        (r"http://.*\.herokuapp\.com", "herokuapp.com"),
        (r"https://[a-z0-9-]+\.s3\.amazonaws\.com", "s3.amazonaws.com"),
        (r"https://(.+\.)?pages\.dev", "pages.dev"),
    ],
)
def test_public_suffix_wildcard(pattern: str, suffix: str) -> None:
    warning = only(CorsPolicy(allow_origin_patterns=(pattern,)), LintCode.PUBLIC_SUFFIX_WILDCARD)
    assert suffix in warning.message
    assert warning.key == "allow_origin_patterns[0]"


def test_public_suffix_wildcard_lists_a_few_suffixes() -> None:
    warning = only(CorsPolicy(allow_origin_patterns=(r".*",)), LintCode.PUBLIC_SUFFIX_WILDCARD)
    assert f"and {len(PUBLIC_SUFFIXES) - 6} more" in warning.message
    assert "e.g. 'https://attacker.com'" in warning.message


@pytest.mark.parametrize(
    "pattern",
    [
        r"https://[a-z0-9-]+\.app\.example",
        r"https://(www\.)?github\.io",  # the suffix itself, not names under it
        r"https://me\.github\.io",
        r"https://[a-z]+\.me\.github\.io",
        r"https://[0-9]+\.com",  # no probe label is all digits (a documented limit)
    ],
)
def test_no_public_suffix_wildcard(pattern: str) -> None:
    assert LintCode.PUBLIC_SUFFIX_WILDCARD not in pattern_codes(pattern)


def test_public_suffixes_are_a_documented_subset() -> None:
    assert 30 <= len(PUBLIC_SUFFIXES) <= 50
    assert len(set(PUBLIC_SUFFIXES)) == len(PUBLIC_SUFFIXES)
    for suffix in ("com", "co.uk", "github.io", "herokuapp.com", "s3.amazonaws.com"):
        assert suffix in PUBLIC_SUFFIXES


@pytest.mark.parametrize(
    ("pattern", "warns"),
    [
        (r"https?://[a-z]+\.example\.com", True),
        (r"http://[a-z]+\.example\.com", True),
        (r"(http|https)://a\.example", True),
        (r"(https://a\.example|http://b\.example)", True),  # scheme not readable alone
        (r"(https://a\.example|https://b\.example)", False),
        (r"^https://a\.example|http://b\.example", True),
        (r"[a-z]+://a\.example", True),
        (r".*\.example\.com", True),  # any scheme
        (r"https://[a-z]+\.example\.com", False),
        (r"a\.example", False),  # no scheme at all: it cannot match an origin
        (r"http://localhost(:[0-9]+)?", False),
        (r"http://localhost:\d+", False),
        (r"http://127\.0\.0\.1:\d+", False),
        (r"http://127.0.0.1:\d+", False),
        (r"http://\[::1\]:\d+", False),
        (r"http://localhost.*", True),
        (r"http://localhost(\.[a-z]+)*", True),
    ],
)
def test_insecure_pattern_with_credentials(pattern: str, warns: bool) -> None:
    assert (
        LintCode.INSECURE_ORIGIN_CREDENTIALS in pattern_codes(pattern, credentials=True)
    ) is warns
    assert LintCode.INSECURE_ORIGIN_CREDENTIALS not in pattern_codes(pattern)


def test_insecure_pattern_message_and_key() -> None:
    policy = CorsPolicy(allow_origin_patterns=(r"https?://a\.example",), allow_credentials=True)
    warning = only(policy, LintCode.INSECURE_ORIGIN_CREDENTIALS)
    assert warning.key == "allow_origin_patterns[0]"
    assert "admits http: origins" in warning.message


# -- wildcards with credentials, max-age -------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "code", "header"),
    [
        ("allow_methods", LintCode.WILDCARD_METHODS_CREDENTIALS, "Access-Control-Allow-Methods"),
        ("allow_headers", LintCode.WILDCARD_HEADERS_CREDENTIALS, "Access-Control-Allow-Headers"),
        ("expose_headers", LintCode.WILDCARD_EXPOSE_CREDENTIALS, "Access-Control-Expose-Headers"),
    ],
)
def test_wildcards_with_credentials(key: str, code: LintCode, header: str) -> None:
    with_credentials = CorsPolicy(allow_credentials=True, **{key: ("x", "*")})  # type: ignore[arg-type]
    warning = only(with_credentials, code)
    assert warning.key == f"{key}[1]"
    assert f"`{header}: *`" in warning.message
    assert "must send the actual names" in warning.message
    assert lint(CorsPolicy(**{key: ("*",)})) == ()  # type: ignore[arg-type]
    assert lint(CorsPolicy(allow_credentials=True, **{key: ("x",)})) == ()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("max_age", "warns"), [(None, False), (0, False), (7200, False), (7201, True)]
)
def test_max_age_over_browser_caps(max_age: int | None, warns: bool) -> None:
    found = codes(CorsPolicy(max_age=max_age))
    assert found == ([(LintCode.MAX_AGE_OVER_BROWSER_CAPS, "max_age")] if warns else [])


def test_max_age_message_names_the_caps() -> None:
    message = lint(CorsPolicy(max_age=86400))[0].message
    assert "Chromium caps it at 7200 s" in message
    assert "WebKit at 600 s" in message


# -- [[paths]] tables --------------------------------------------------------------------------


def test_a_table_is_blamed_for_what_it_brings_in() -> None:
    policy = CorsPolicy(
        allow_origins=("https://app.example",),
        allow_credentials=True,
        max_age=9000,
        paths=(
            PathRule(prefix="/public", rules=PolicyRules(allow_origins=("*",))),
            PathRule(
                prefix="/ok", rules=PolicyRules(allow_origins=("*",), allow_credentials=False)
            ),
            PathRule(prefix="/inherits"),
        ),
    )
    assert codes(policy) == [
        (LintCode.MAX_AGE_OVER_BROWSER_CAPS, "max_age"),
        (LintCode.CREDENTIALS_ANY_ORIGIN, "paths[0].allow_origins[0]"),
    ]


def test_a_table_turning_credentials_on_is_blamed_for_it() -> None:
    policy = CorsPolicy(
        allow_origins=("null", "http://app.example"),
        allow_origin_patterns=(r"https?://a\.example",),
        allow_headers=("*",),
        paths=(PathRule(prefix="/login", rules=PolicyRules(allow_credentials=True)),),
    )
    assert codes(policy) == [
        (LintCode.NULL_ORIGIN, "allow_origins[0]"),
        (LintCode.NULL_ORIGIN_CREDENTIALS, "paths[0].allow_credentials"),
        (LintCode.INSECURE_ORIGIN_CREDENTIALS, "paths[0].allow_credentials"),
        (LintCode.INSECURE_ORIGIN_CREDENTIALS, "paths[0].allow_credentials"),
        (LintCode.WILDCARD_HEADERS_CREDENTIALS, "paths[0].allow_credentials"),
    ]


def test_pattern_problems_are_reported_where_the_pattern_is() -> None:
    policy = CorsPolicy(
        allow_origin_patterns=(r"https://.*\.com",),
        paths=(
            PathRule(prefix="/a", rules=PolicyRules(allow_credentials=True)),
            PathRule(prefix="/b", rules=PolicyRules(allow_origin_patterns=("https://a.example",))),
            PathRule(prefix="/c", max_age_set=True, rules=PolicyRules(max_age=10**6)),
        ),
    )
    assert codes(policy) == [
        (LintCode.UNANCHORED_PATTERN, "allow_origin_patterns[0]"),
        (LintCode.PUBLIC_SUFFIX_WILDCARD, "allow_origin_patterns[0]"),
        (LintCode.UNESCAPED_DOT, "paths[1].allow_origin_patterns[0]"),
        (LintCode.MAX_AGE_OVER_BROWSER_CAPS, "paths[2].max_age"),
    ]


# -- properties --------------------------------------------------------------------------------

lint_patterns = st.one_of(
    st.text(alphabet="ab.*+?^$|()[]\\-:/s", max_size=16),
    st.text(max_size=8).map(re.escape),
)


def _compiles(pattern: str) -> bool:
    if any(nested in pattern for nested in ("[[", "--", "&&", "~~", "||")):
        return False  # re warns of possible nested sets (FutureWarning)
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


@given(st.lists(lint_patterns.filter(_compiles), max_size=3), st.booleans())
def test_lint_never_fails_on_a_valid_pattern(patterns: list[str], credentials: bool) -> None:
    policy = CorsPolicy(allow_origin_patterns=tuple(patterns), allow_credentials=credentials)
    for warning in lint(policy):
        assert warning.key.startswith("allow_origin_patterns[")
        assert warning.message
