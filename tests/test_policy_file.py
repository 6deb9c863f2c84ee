"""The policy file: loading, validation errors (key and line), dump/load round-trip."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from reference.grammar import TOKEN_PATTERN
from reference.policy import CorsPolicy, PathRule, PolicyRules
from reference.policy_file import PolicyError, dump_policy, key_line, load_policy
from reference.policy_lint import lint

DEFAULT_TOML = Path(__file__).parent.parent / "conformance" / "policies" / "default.toml"


def load_error(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        load_policy(text, source="policy.toml")
    return info.value


# -- the bundled default policy ----------------------------------------------------------------


def test_default_policy_file() -> None:
    policy = load_policy(DEFAULT_TOML.read_text(encoding="utf-8"), source="default.toml")
    assert policy == CorsPolicy(
        allow_origins=(
            "https://app.example",
            "https://admin.example:8443",
            "http://localhost:3000",
        ),
        allow_origin_patterns=(r"https://[a-z0-9-]+\.preview\.app\.example",),
        allow_methods=("GET", "POST", "PUT", "PATCH", "DELETE"),
        allow_headers=("content-type", "authorization", "x-requested-with", "x-api-key"),
        expose_headers=("x-request-id", "x-ratelimit-remaining"),
        allow_credentials=True,
        max_age=600,
        allow_private_network=False,
        paths=(
            PathRule(
                prefix="/public",
                rules=PolicyRules(
                    allow_origins=("*",),
                    allow_credentials=False,
                    allow_headers=("*",),
                    allow_methods=("GET",),
                    expose_headers=("*",),
                ),
            ),
            PathRule(
                prefix="/internal",
                rules=PolicyRules(allow_origins=("https://admin.example:8443",)),
            ),
        ),
    )
    assert lint(policy) == ()
    assert load_policy(dump_policy(policy)) == policy


def test_default_policy_file_comments_every_key() -> None:
    lines = DEFAULT_TOML.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if "=" in line and not line.lstrip().startswith(("#", '"', "'")):
            key = line.split("=", 1)[0].strip()
            commented = "#" in line or lines[number - 1].lstrip().startswith("#")
            assert commented, f"line {number + 1}: {key} has no comment"


# -- loading -----------------------------------------------------------------------------------


def test_empty_file_is_the_default_policy() -> None:
    assert load_policy("") == CorsPolicy()


def test_max_age_false_means_send_none() -> None:
    policy = load_policy('max_age = false\n[[paths]]\nprefix = "/a"\nmax_age = false\n')
    assert policy.max_age is None
    assert policy.paths[0].max_age_set
    assert policy.paths[0].rules.max_age is None
    inheriting = load_policy('max_age = 5\n[[paths]]\nprefix = "/a"\n')
    assert not inheriting.paths[0].max_age_set
    assert inheriting.rules_for_path("/a").max_age == 5


def test_paths_as_inline_tables() -> None:
    policy = load_policy('paths = [{prefix = "/a", allow_origins = ["*"]}, {pattern = "/b.*"}]')
    assert policy.paths == (
        PathRule(prefix="/a", rules=PolicyRules(allow_origins=("*",))),
        PathRule(pattern="/b.*"),
    )


def test_origins_are_kept_as_written() -> None:
    # Canonicalization happens when comparing; the value records what the operator wrote.
    policy = load_policy('allow_origins = ["https://App.example:443/", "null", "*"]')
    assert policy.allow_origins == ("https://App.example:443/", "null", "*")
    assert policy.top_level.origins == {"https://app.example", "null", "*"}


# -- errors ------------------------------------------------------------------------------------

# (text, key, line, words the detail must contain)
ERRORS = [
    # TOML syntax
    ("a = 1\nb = ]\n", None, 2, "invalid TOML: Invalid value (column 5)"),
    ("allow_origins = [", None, 1, "invalid TOML"),
    ("max_age = 1\nmax_age = 2\n", None, 2, "invalid TOML"),
    # keys
    ("allow_origin = []", "allow_origin", 1, "unknown key; did you mean 'allow_origins'?"),
    ("\n\nbogus = 1", "bogus", 3, "unknown key (known keys: allow_origins, "),
    ('prefix = "/a"', "prefix", 1, "prefix is only valid inside a [[paths]] table"),
    ("[extra]\nx = 1", "extra", 1, "unknown key"),
    (
        '[[paths]]\nprefix = "/a"\nallow_credential = true',
        "paths[0].allow_credential",
        3,
        "did you mean 'allow_credentials'?",
    ),
    # paths
    ('[paths]\nprefix = "/a"', "paths", 1, "expected an array of tables ([[paths]]), got a table"),
    ("paths = [1]", "paths[0]", 1, "expected a table ([[paths]]), got integer 1"),
    (
        '[[paths]]\nprefix = "/a"\n\n[[paths]]\nprefix = "/b"\npattern = "/b"',
        "paths[1].pattern",
        6,
        "exactly one of prefix and pattern, not both",
    ),
    (
        '[[paths]]\nprefix = "/a"\n[[paths]]\nallow_origins = []',
        "paths[1]",
        3,
        "needs a prefix or a pattern",
    ),
    ("[[paths]]\nprefix = 1", "paths[0].prefix", 2, "expected a string, got integer 1"),
    ('[[paths]]\nprefix = "api"', "paths[0].prefix", 2, "\"api\" does not start with '/'"),
    ('[[paths]]\nprefix = "/a?b=1"', "paths[0].prefix", 2, "paths are matched without the query"),
    ('[[paths]]\nprefix = "/a#b"', "paths[0].prefix", 2, "contains '?' or '#'"),
    ('[[paths]]\nprefix = "/café"', "paths[0].prefix", 2, "percent-encoded"),
    ('[[paths]]\nprefix = "/a b"', "paths[0].prefix", 2, "not a raw request path"),
    (
        '[[paths]]\npattern = "/("',
        "paths[0].pattern",
        2,
        'pattern "/(" does not compile: missing )',
    ),
    ("[[paths]]\npattern = true", "paths[0].pattern", 2, "expected a string, got boolean true"),
    # allow_origins
    (
        'allow_origins = "https://a.example"',
        "allow_origins",
        1,
        'expected an array of strings, got string "https://a.example"',
    ),
    ("allow_origins = [\n  1,\n]", "allow_origins[0]", 2, "expected a string, got integer 1"),
    (
        'allow_origins = [" https://a.example"]',
        "allow_origins[0]",
        1,
        "contains whitespace or control characters",
    ),
    (
        'allow_origins = ["https://*.a.example"]',
        "allow_origins[0]",
        1,
        "use allow_origin_patterns for wildcards",
    ),
    ('allow_origins = ["https://a.example#x"]', "allow_origins[0]", 1, "it has a fragment"),
    (
        'allow_origins = ["a.example"]',
        "allow_origins[0]",
        1,
        '"a.example" is not a valid origin (not an absolute URL',
    ),
    ('allow_origins = ["https://a.example:99999"]', "allow_origins[0]", 1, "port out of range"),
    ('allow_origins = ["NULL"]', "allow_origins[0]", 1, "is not a valid origin"),
    (
        'allow_origins = ["ftp://a.example"]',
        "allow_origins[0]",
        1,
        "is not an http or https origin",
    ),
    (
        'allow_origins = ["data:text/html,x"]',
        "allow_origins[0]",
        1,
        "is not an http or https origin",
    ),
    ('allow_origins = ["https://u:p@a.example"]', "allow_origins[0]", 1, "it has userinfo"),
    ('allow_origins = ["https://a.example/?x"]', "allow_origins[0]", 1, "it has a query"),
    ('allow_origins = ["https://a.example/app"]', "allow_origins[0]", 1, "it has a path (/app)"),
    # allow_origin_patterns
    (
        'allow_origin_patterns = ["https://(a"]',
        "allow_origin_patterns[0]",
        1,
        'pattern "https://(a" does not compile: missing ), unterminated subpattern at position 8',
    ),
    ("allow_origin_patterns = 'x'", "allow_origin_patterns", 1, "expected an array of strings"),
    # tokens
    ('allow_methods = ["GET", "GE T"]', "allow_methods[1]", 1, '"GE T" is not a method token'),
    ('allow_methods = [""]', "allow_methods[0]", 1, '"" is not a method token'),
    ('allow_headers = ["x-ä"]', "allow_headers[0]", 1, '"x-ä" is not a header-name token'),
    ('expose_headers = ["x:y"]', "expose_headers[0]", 1, '"x:y" is not a header-name token'),
    # booleans
    (
        'allow_credentials = "yes"',
        "allow_credentials",
        1,
        'expected true or false, got string "yes"',
    ),
    (
        "allow_private_network = 1",
        "allow_private_network",
        1,
        "expected true or false, got integer 1",
    ),
    # max_age
    ("max_age = -1", "max_age", 1, "-1 is negative"),
    (
        "max_age = true",
        "max_age",
        1,
        "expected a number of seconds (or false to send no max-age), got boolean true",
    ),
    ("max_age = 1.5", "max_age", 1, "got float 1.5"),
    ('max_age = "600"', "max_age", 1, 'got string "600"'),
    ("max_age = 1979-05-27", "max_age", 1, "got date/time 1979-05-27"),
    ("max_age = [1]", "max_age", 1, "got an array"),
    ("max_age = {a = 1}", "max_age", 1, "got a table"),
]


@pytest.mark.parametrize(("text", "key", "line", "detail"), ERRORS)
def test_errors_name_key_and_line(text: str, key: str | None, line: int, detail: str) -> None:
    error = load_error(text)
    assert (error.key, error.line, error.source) == (key, line, "policy.toml")
    assert detail in error.detail
    where = f"policy.toml:{line}: " if key is None else f"policy.toml:{line}: {key}: "
    assert str(error) == where + error.detail
    assert isinstance(error, ValueError)


def test_error_in_a_later_paths_table_points_at_its_line() -> None:
    text = """\
allow_methods = ["GET"]

[[paths]]
prefix = "/a"
allow_methods = ["GET"]

[[paths]]
prefix = "/b"
allow_methods = [
    "GET",  # comment, with "quotes" and [brackets]
    'PUT',
    "GE T",
]
"""
    error = load_error(text)
    assert str(error) == 'policy.toml:12: paths[1].allow_methods[2]: "GE T" is not a method token'


def test_error_without_a_findable_line() -> None:
    error = PolicyError("bad", key="x", line=None, source="p.toml")
    assert str(error) == "p.toml: x: bad"
    assert str(PolicyError("bad", key=None, line=None, source="p.toml")) == "p.toml: bad"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('allow_methods = ["A B"]\nallow_origins = [1]', "allow_methods[0]"),
        ('allow_headers = ["C D"]\nallow_methods = ["A B"]', "allow_headers[0]"),
        ("bogus = 1\nallow_origins = [1]", "bogus"),
        ("allow_origins = [1]\nbogus = 1", "allow_origins[0]"),
        ('paths = [{prefix = "/"}, {x = 1}]\nallow_origins = [1]', "paths[1].x"),
        ('[[paths]]\nmax_age = -1\nprefix = "x"', "paths[0].max_age"),
        ("[[paths]]\nmax_age = 1\nbogus = 1", "paths[0].bogus"),
        ('[[paths]]\npattern = "/a"\nprefix = "/a"', "paths[0].prefix"),
    ],
)
def test_first_error_in_document_order_is_reported(text: str, key: str) -> None:
    assert load_error(text).key == key


# -- finding lines -----------------------------------------------------------------------------

LINES_TEXT = '''\
# a comment with key = "value" and [[paths]]
"allow_origins" = [ # quoted key
  "https://a.example", [1, [2]],
  'literal \\ string', """multi
line [[paths]]
x = 1""", \'\'\'lit
eral\'\'\',
  { a = 1, b = "}" },
]
dotted . key = 1
[table]
inner = "\\"quoted\\" ]"
[[paths]]
prefix = "/a"
[[ paths ]]
inline = { k = [1,
  2], "q" = 3 }
'''


@pytest.mark.parametrize(
    ("key", "line"),
    [
        ("allow_origins", 2),
        ("allow_origins[0]", 3),
        ("allow_origins[1]", 3),
        ("allow_origins[1][1][0]", 3),
        ("allow_origins[2]", 4),
        ("allow_origins[3]", 4),
        ("allow_origins[4]", 6),
        ("allow_origins[5]", 8),
        ("allow_origins[5].b", 8),
        ("dotted.key", 10),
        ("table", 11),
        ("table.inner", 12),
        ("paths", 13),
        ("paths[0]", 13),
        ("paths[0].prefix", 14),
        ("paths[1]", 15),
        ("paths[1].inline.k[1]", 17),
        ("paths[1].inline", 16),
        ("paths[1].inline.q", 17),
        ("paths[1].nothing[3]", 15),  # falls back to the nearest enclosing key
        ("allow_origins[9]", 2),
        ("nothing", None),
        ("nothing.deeper[0]", None),
    ],
)
def test_key_line(key: str, line: int | None) -> None:
    assert tomllib.loads(LINES_TEXT)  # the text is valid TOML
    assert key_line(LINES_TEXT, key) == line


def test_key_line_after_multiline_strings_ending_in_quotes() -> None:
    text = 'a = """x\\"""y""""\nb = \'\'\'z\'\'\'\'\'\nc = 1\n'
    assert tomllib.loads(text) == {"a": 'x"""y"', "b": "z''", "c": 1}
    assert key_line(text, "c") == 3


@pytest.mark.parametrize(
    "text",
    ["a = [1 }", "a = { b = 1 ]", 'a = "open', 'a = """open', "a = [", "[[a", "a = [" * 5000],
)
def test_key_line_survives_malformed_text(text: str) -> None:
    assert key_line(text, "a[0]") in (1, None)


@given(st.text(), st.sampled_from(["a", "a[0]", "paths[0].a", "x.y"]))
def test_key_line_terminates_on_any_text(text: str, key: str) -> None:
    line = key_line(text, key)
    assert line is None or 1 <= line <= text.count("\n") + 1


# -- dump / load -------------------------------------------------------------------------------


def test_dump_quotes_awkward_strings() -> None:
    policy = CorsPolicy(
        allow_origin_patterns=(
            r"https://a\.example",  # backslashes: a literal string
            "it's\\d",  # backslash and apostrophe: a basic string
            'say "hi"\n\x7f\ttab\x00',
        ),
    )
    text = dump_policy(policy)
    assert "'https://a\\.example'" in text
    assert '"it\'s\\\\d"' in text
    assert '"say \\"hi\\"\\n\\u007F\\ttab\\u0000"' in text
    assert tomllib.loads(text)["allow_origin_patterns"] == list(policy.allow_origin_patterns)


def test_dump_writes_only_what_a_path_table_overrides() -> None:
    policy = CorsPolicy(
        paths=(
            PathRule(prefix="/a"),
            PathRule(pattern="/b.*", rules=PolicyRules(max_age=0, allow_credentials=False)),
            PathRule(prefix="/c", max_age_set=True),
        )
    )
    assert dump_policy(policy).split("\n\n")[1:] == [
        '[[paths]]\nprefix = "/a"',
        '[[paths]]\npattern = "/b.*"\nallow_credentials = false\nmax_age = 0',
        '[[paths]]\nprefix = "/c"\nmax_age = false\n',
    ]


TOKEN = TOKEN_PATTERN.decode("ascii")
tokens = st.one_of(st.just("*"), st.from_regex(TOKEN, fullmatch=True))
token_lists = st.lists(tokens, max_size=4).map(tuple)
hosts = st.one_of(
    st.sampled_from(
        ["app.example", "APP.Example", "localhost", "127.0.0.1", "[::1]", "xn--bcher-kva.example"]
    ),
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\.[a-z]{2,5}){1,2}", fullmatch=True),
)
origins = st.one_of(
    st.sampled_from(["*", "null"]),
    st.builds(
        lambda scheme, host, port, slash: f"{scheme}://{host}{port}{slash}",
        st.sampled_from(["http", "https", "HTTPS"]),
        hosts,
        st.sampled_from(["", ":443", ":80", ":8443", ":3000"]),
        st.sampled_from(["", "/"]),
    ),
)
patterns = st.one_of(
    st.text(max_size=20).map(re.escape),
    st.sampled_from([r"https://[a-z0-9-]+\.app\.example", r"https?://.*", "it's", "a'b\\.c"]),
)
path_prefixes = st.from_regex(r"/[A-Za-z0-9._~%/-]{0,12}", fullmatch=True)


def _overrides(draw: st.DrawFn) -> PolicyRules:
    return PolicyRules(
        allow_origins=draw(st.none() | st.lists(origins, max_size=3).map(tuple)),
        allow_origin_patterns=draw(st.none() | st.lists(patterns, max_size=2).map(tuple)),
        allow_methods=draw(st.none() | token_lists),
        allow_headers=draw(st.none() | token_lists),
        expose_headers=draw(st.none() | token_lists),
        allow_credentials=draw(st.none() | st.booleans()),
        max_age=draw(st.none() | st.integers(0, 2**40)),
        allow_private_network=draw(st.none() | st.booleans()),
    )


@st.composite
def path_rules(draw: st.DrawFn) -> PathRule:
    where = draw(st.sampled_from(["prefix", "pattern"]))
    rules = _overrides(draw)
    max_age_set = rules.max_age is not None or draw(st.booleans())
    if where == "prefix":
        return PathRule(prefix=draw(path_prefixes), rules=rules, max_age_set=max_age_set)
    return PathRule(pattern=draw(patterns), rules=rules, max_age_set=max_age_set)


policies = st.builds(
    CorsPolicy,
    allow_origins=st.lists(origins, max_size=4).map(tuple),
    allow_origin_patterns=st.lists(patterns, max_size=3).map(tuple),
    allow_methods=token_lists,
    allow_headers=token_lists,
    expose_headers=token_lists,
    allow_credentials=st.booleans(),
    max_age=st.none() | st.integers(0, 2**40),
    allow_private_network=st.booleans(),
    paths=st.lists(path_rules(), max_size=3).map(tuple),
)


@given(policies)
@example(CorsPolicy())
@example(CorsPolicy(paths=(PathRule(prefix="/a", max_age_set=True),)))
def test_dump_load_round_trip(policy: CorsPolicy) -> None:
    assert load_policy(dump_policy(policy)) == policy
