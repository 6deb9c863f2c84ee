"""Warnings about valid but dangerous policies (DESIGN.md "The policy").

:func:`lint` looks at the top level and at each ``[[paths]]`` table as it applies (over the top
level). A table is only blamed for what it brings in: a warning goes to a table only when one of
the keys behind it is set by that table; what it inherits is reported once, at the top level.

Every :class:`LintWarning` has a stable ``code`` (:class:`LintCode`), the dotted ``key`` it is
about (``allow_origins[2]``, ``paths[0].allow_credentials``; indices from 0, as in
``reference.policy_file``) and a message that says what an attacker gains.

The checks of origin patterns do not parse regular expressions beyond telling escapes, character
classes, groups and alternatives apart; wherever possible they test the compiled pattern against
synthetic origins instead (``re.fullmatch``, as the policy matches), and the message shows an
origin that matches when one is found.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from reference.policy import ANY, NULL, CorsPolicy, EffectivePolicy, canonical_origin
from reference.profiles import CHROMIUM, FIREFOX, WEBKIT


class LintCode(StrEnum):
    CREDENTIALS_ANY_ORIGIN = "credentials-any-origin"
    NULL_ORIGIN = "null-origin"
    NULL_ORIGIN_CREDENTIALS = "null-origin-credentials"
    INSECURE_ORIGIN_CREDENTIALS = "insecure-origin-credentials"
    UNESCAPED_DOT = "unescaped-dot"
    UNANCHORED_PATTERN = "unanchored-pattern"
    PUBLIC_SUFFIX_WILDCARD = "public-suffix-wildcard"
    WILDCARD_HEADERS_CREDENTIALS = "wildcard-headers-credentials"
    WILDCARD_METHODS_CREDENTIALS = "wildcard-methods-credentials"
    WILDCARD_EXPOSE_CREDENTIALS = "wildcard-expose-credentials"
    MAX_AGE_OVER_BROWSER_CAPS = "max-age-over-browser-caps"


@dataclass(frozen=True, slots=True, kw_only=True)
class LintWarning:
    code: LintCode
    key: str
    message: str


PUBLIC_SUFFIXES: Final = (
    # Generic and country-code top-level domains most often seen in origins.
    "com",
    "net",
    "org",
    "io",
    "dev",
    "app",
    "co",
    "me",
    "info",
    "xyz",
    "de",
    "fr",
    "jp",
    "co.uk",
    "org.uk",
    "com.au",
    "co.jp",
    "com.br",
    # Hosting platforms that give every customer a subdomain (the PSL's "private" section).
    "github.io",
    "gitlab.io",
    "herokuapp.com",
    "vercel.app",
    "netlify.app",
    "pages.dev",
    "workers.dev",
    "web.app",
    "firebaseapp.com",
    "appspot.com",
    "azurewebsites.net",
    "cloudfront.net",
    "s3.amazonaws.com",
    "blogspot.com",
    "onrender.com",
    "fly.dev",
    "ngrok-free.app",
)
"""A documented subset of the Public Suffix List (https://publicsuffix.org/list/): suffixes
under which anyone can get a name. A pattern that admits ``<anything>.<suffix>`` admits
attackers. The list is short on purpose (the reference model embeds no data files); a pattern
that passes is not proven safe."""

_PROBE_LABELS: Final = ("attacker", "x", "evil-site1")
_MAX_AGE_CAP: Final = CHROMIUM.max_age_cap or 7200


def lint(policy: CorsPolicy) -> tuple[LintWarning, ...]:
    """Every warning for ``policy``: the top level first, then each ``[[paths]]`` table."""
    warnings = list(_lint_scope(policy.top_level, "", None))
    for index, rule in enumerate(policy.paths):
        effective = policy.resolved[index + 1]
        warnings.extend(_lint_scope(effective, f"paths[{index}].", rule.overridden_keys()))
    return tuple(warnings)


def _lint_scope(
    effective: EffectivePolicy, where: str, owned: frozenset[str] | None
) -> Iterator[LintWarning]:
    for code, keys, message in _findings(effective):
        for key in keys:
            if owned is None or key.split("[", 1)[0] in owned:
                yield LintWarning(code=code, key=where + key, message=message)
                break


Finding = tuple[LintCode, tuple[str, ...], str]


def _findings(policy: EffectivePolicy) -> Iterator[Finding]:
    """Each problem with the keys behind it, the most specific key first."""
    credentials = policy.allow_credentials
    for index, entry in enumerate(policy.allow_origins):
        keys = (f"allow_origins[{index}]", "allow_credentials")
        canonical = canonical_origin(entry)
        if entry == ANY and credentials:
            yield (
                LintCode.CREDENTIALS_ANY_ORIGIN,
                keys,
                "'*' with allow_credentials = true means reflecting every origin with "
                "Access-Control-Allow-Credentials: true: any website can read responses made "
                "with the user's cookies; list the origins instead",
            )
        elif entry == NULL:
            yield (
                (LintCode.NULL_ORIGIN_CREDENTIALS, keys, _NULL_TEXT + _NULL_CREDENTIALS_TEXT)
                if credentials
                else (LintCode.NULL_ORIGIN, keys[:1], _NULL_TEXT)
            )
        elif (
            credentials
            and canonical is not None
            and canonical.startswith("http://")
            and not _is_loopback_origin(canonical)
        ):
            yield (
                LintCode.INSECURE_ORIGIN_CREDENTIALS,
                keys,
                f"{entry!r} is an http: origin allowed with credentials: a network attacker "
                "(a hostile Wi-Fi, a compromised router) can answer for it with a page of their "
                "own and read the user's data; allow its https: origin only",
            )
    for index, pattern in enumerate(policy.allow_origin_patterns):
        yield from _pattern_findings(f"allow_origin_patterns[{index}]", pattern, credentials)
    wildcards = (
        (LintCode.WILDCARD_METHODS_CREDENTIALS, "allow_methods", "Access-Control-Allow-Methods"),
        (LintCode.WILDCARD_HEADERS_CREDENTIALS, "allow_headers", "Access-Control-Allow-Headers"),
        (LintCode.WILDCARD_EXPOSE_CREDENTIALS, "expose_headers", "Access-Control-Expose-Headers"),
    )
    for code, name, header in wildcards:
        values: tuple[str, ...] = getattr(policy, name)
        if credentials and ANY in values:
            yield (
                code,
                (f"{name}[{values.index(ANY)}]", "allow_credentials"),
                f"{name} '*' with allow_credentials = true: on a credentialed request a literal "
                f"`{header}: *` is not a wildcard (it names '*'), so the server must send the "
                "actual names instead (echo the request's, or list them)",
            )
    if policy.max_age is not None and policy.max_age > _MAX_AGE_CAP:
        yield (
            LintCode.MAX_AGE_OVER_BROWSER_CAPS,
            ("max_age",),
            f"max_age = {policy.max_age} is more than browsers keep a preflight: Chromium caps "
            f"it at {CHROMIUM.max_age_cap} s, WebKit at {WEBKIT.max_age_cap} s, Firefox at "
            f"{FIREFOX.max_age_cap} s; expect more preflights than the policy says",
        )


_NULL_TEXT: Final = (
    "'null' is not one origin: sandboxed iframes, data: and file: documents and some redirected "
    "requests of ANY site send Origin: null, so allowing it allows every site that makes one"
)
_NULL_CREDENTIALS_TEXT: Final = (
    "; with allow_credentials = true any site can read the user's data this way"
)


def _is_loopback_origin(origin: str) -> bool:
    """http://localhost, *.localhost, 127.0.0.0/8 and [::1]: "potentially trustworthy" in the
    Secure Contexts spec (https://w3c.github.io/webappsec-secure-contexts/), out of a network
    attacker's reach."""
    host = origin.split("://", 1)[1]
    if host.startswith("["):
        return host.startswith("[::1]")
    host = host.split(":", 1)[0]
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.IPv4Address(host).is_loopback
    except ValueError:
        return False


# -- origin patterns ---------------------------------------------------------------------------


def _pattern_findings(key: str, pattern: str, credentials: bool) -> Iterator[Finding]:
    compiled = re.compile(pattern)
    syntax = _syntax(pattern)
    dots = [i for i, ch, _ in syntax if ch == "."]
    plain_dots = [i for i in dots if pattern[i + 1 : i + 2] not in ("*", "+", "{")]
    if plain_dots:
        first = plain_dots[0]
        example = _example(compiled, pattern[:first] + "x" + pattern[first + 1 :])
        yield (
            LintCode.UNESCAPED_DOT,
            (key,),
            f"pattern {pattern!r} has an unescaped '.' (at {_positions(plain_dots)}), which "
            f"matches any character{_shown(example)}; write '\\.' for a literal dot",
        )
    reasons = list(_unanchored_reasons(pattern, compiled, syntax))
    if reasons:
        yield (
            LintCode.UNANCHORED_PATTERN,
            (key,),
            f"pattern {pattern!r} is matched in full (re.fullmatch), so anchoring is implicit "
            "and the wildcards decide what it admits: " + "; ".join(reasons),
        )
    probes = [(suffix, _probe(compiled, suffix)) for suffix in PUBLIC_SUFFIXES]
    admitted = [(suffix, origin) for suffix, origin in probes if origin is not None]
    if admitted:
        names = [suffix for suffix, _ in admitted]
        more = f" and {len(names) - 6} more" if len(names) > 6 else ""
        yield (
            LintCode.PUBLIC_SUFFIX_WILDCARD,
            (key,),
            f"pattern {pattern!r} admits names anyone can register under public suffixes "
            f"({', '.join(names[:6])}{more}), e.g. {admitted[0][1]!r}",
        )
    if credentials and _admits_non_loopback_http(pattern, compiled, syntax):
        yield (
            LintCode.INSECURE_ORIGIN_CREDENTIALS,
            (key, "allow_credentials"),
            f"pattern {pattern!r} admits http: origins and credentials are allowed: a network "
            "attacker can answer for such an origin and read the user's data; match https only",
        )


_Syntax = list[tuple[int, str, int]]


def _syntax(pattern: str) -> _Syntax:
    """The pattern's unescaped characters outside character classes: (position, char, depth of
    group nesting). Escapes (``\\.``) and classes (``[.]``) are skipped whole."""
    out: _Syntax = []
    depth = 0
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            j = i + 1
            if pattern[j : j + 1] == "^":
                j += 1
            if pattern[j : j + 1] == "]":
                j += 1  # a "]" first in a class is literal
            while j < len(pattern) and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            i = j + 1
            continue
        if ch == ")":
            depth -= 1
        out.append((i, ch, depth))
        if ch == "(":
            depth += 1
        i += 1
    return out


def _branches(pattern: str, syntax: _Syntax) -> list[tuple[int, str]]:
    """The top-level alternatives, each with its start position."""
    cuts = [i for i, ch, depth in syntax if ch == "|" and depth == 0]
    starts = [0, *(c + 1 for c in cuts)]
    ends = [*cuts, len(pattern)]
    return [(s, pattern[s:e]) for s, e in zip(starts, ends, strict=True)]


def _unanchored_reasons(pattern: str, compiled: re.Pattern[str], syntax: _Syntax) -> Iterator[str]:
    wildcards = {i for i, ch, _ in syntax if ch == "." and pattern[i + 1 : i + 2] in ("*", "+")}
    anchors = {i for i, ch, _ in syntax if ch in "^$"}
    for start, branch in _branches(pattern, syntax):
        end = start + len(branch)
        leading = start in anchors and branch.startswith("^")
        trailing = end - 1 in anchors and branch.endswith("$")
        if leading != trailing:
            which = "starts with '^'" if leading else "ends with '$'"
            yield (
                f"{branch!r} {which} but is not anchored at the other end, as if matching were a "
                "search; it is not, and a framework that searches would read it differently"
            )
        body_start = start + (1 if leading else 0)
        body_end = end - (1 if trailing else 0)
        scheme_end = branch.find("://")
        host_start = start + scheme_end + 3 if scheme_end >= 0 else body_start
        for i in sorted(w for w in wildcards if body_start <= w < body_end):
            wildcard = pattern[i : i + 2]
            if i == body_start:
                example = _example(compiled, "http://attacker" + pattern[i + 2 : body_end])
                yield (
                    f"it begins with {wildcard!r}, which admits any scheme and any host"
                    f"{_shown(example)}"
                )
            elif i + 2 == body_end and i > host_start:
                example = _example(compiled, pattern[body_start:i] + ".attacker.example")
                yield (
                    f"it ends with {wildcard!r}, which admits anything after the host"
                    f"{_shown(example)}"
                )
            elif i >= host_start:
                example = _example(
                    compiled, pattern[body_start:i] + "attacker" + pattern[i + 2 : body_end]
                )
                yield (
                    f"{wildcard!r} in the host admits any characters, dots included (any "
                    f"subdomain at any depth){_shown(example)}; use '[a-z0-9-]+' for one label"
                )


def _admits_non_loopback_http(pattern: str, compiled: re.Pattern[str], syntax: _Syntax) -> bool:
    """Whether the pattern admits http: origins other than loopback ones (a heuristic on the
    scheme part of each alternative; see the module docstring)."""
    for _, branch in _branches(pattern, syntax):
        body = branch.removeprefix("^")
        scheme, separator, host = body.partition("://")
        if separator:
            try:
                admits_http = re.fullmatch(scheme, "http") is not None
            except re.error:  # a group spans the scheme, e.g. (https://a|http://b)
                admits_http = "http://" in branch or "https?" in branch
        else:
            admits_http = body.startswith((".*", ".+"))
        if admits_http and not _loopback_only(host, compiled):
            return True
    return False


def _loopback_only(host: str, compiled: re.Pattern[str]) -> bool:
    for literal, probe in (
        ("localhost", "http://localhost.attacker.example"),
        ("127\\.", "http://127.0.0.1.attacker.example"),
        ("127.", "http://127.0.0.1.attacker.example"),
        ("\\[::1\\]", "http://[::1].attacker.example"),
    ):
        if host.startswith(literal):
            return compiled.fullmatch(probe) is None
    return False


def _example(compiled: re.Pattern[str], candidate: str) -> str | None:
    """``candidate`` with regex escapes of dots and dashes undone, if the pattern admits it."""
    text = candidate.removeprefix("^").removesuffix("$").replace("\\.", ".").replace("\\-", "-")
    return text if compiled.fullmatch(text) else None


def _probe(compiled: re.Pattern[str], suffix: str) -> str | None:
    """A synthetic origin under ``suffix`` that the pattern admits, if any."""
    for scheme in ("https", "http"):
        for label in _PROBE_LABELS:
            origin = f"{scheme}://{label}.{suffix}"
            if compiled.fullmatch(origin):
                return origin
    return None


def _shown(example: str | None) -> str:
    return "" if example is None else f" (it admits {example!r})"


def _positions(positions: list[int]) -> str:
    return ", ".join(f"position {i}" for i in positions)
