"""``[[paths]]`` tables as regular expressions over what follows a path's leading ``/``, for
routers that match a route's regular expression there (Werkzeug's converters for quart-cors,
Sanic's regex routes for sanic-ext), and origin patterns used with ``re.match`` as policy
patterns (for reading configurations back)."""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable
from typing import Any, Final

from conformance.adapters import Inexpressible
from reference.policy import CorsPolicy, PathRule

# Private, but what ``re`` itself parses patterns with (as strategies/_regex.py reads it).
_parser: Any = importlib.import_module("re._parser")
_ANY_CHARS: Final = "(?s:.*)"


def rest_regex(rule: PathRule, framework: str) -> str | None:
    r"""A regular expression that fully matches what follows a path's leading ``/`` exactly when
    ``rule`` matches the path (for a router that matches a route's regular expression there), or
    ``None`` when ``rule`` matches no path. Raises :class:`Inexpressible` for a pattern that this
    cannot rewrite (see :func:`_pattern_rest`).

    A prefix becomes its text (every character but letters, digits, ``/``, ``_`` and ``-``
    written as ``\xHH``, so that no router reads anything into it) followed by ``(?:/.*)?``, or
    ``.*`` when it ends with ``/``."""
    if rule.prefix is None:
        assert rule.pattern is not None
        return _pattern_rest(rule.pattern, framework)
    prefix = rule.prefix
    if prefix == "":  # PathRule.matches: "" matches every path
        return _ANY_CHARS
    if not prefix.startswith("/"):
        return None  # a path starts with "/": this table matches nothing
    text = _literal(prefix[1:])
    return text + _ANY_CHARS if prefix.endswith("/") else f"{text}(?:/{_ANY_CHARS})?"


def _literal(text: str) -> str:
    out: list[str] = []
    for char in text:
        if (char.isascii() and char.isalnum()) or char in "/_-":
            out.append(char)
        elif ord(char) <= 0xFF:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return "".join(out)


def _pattern_rest(pattern: str, framework: str) -> str:
    def refuse(why: str) -> Inexpressible:
        return Inexpressible(
            f"[[paths]]: pattern {pattern!r} {why}: {framework} matches a route's regular "
            "expression on what follows the path's leading '/', and this adapter cannot rewrite "
            "the pattern for that"
        )

    if pattern.startswith("/"):
        rest = pattern[1:]
    elif pattern.startswith("\\/"):
        rest = pattern[2:]
    else:
        raise refuse("does not begin with a literal '/'")
    if rest[:1] in ("*", "+", "?", "{") or _has_top_level_alternation(rest):
        raise refuse("does not begin with a literal '/' that every match starts with")
    try:
        tree = _parser.parse(rest)
    except re.error as exc:
        raise refuse(f"has no part after its '/' that stands alone ({exc})") from None
    for op, av in _walk(tree):
        if op == "AT" and str(av) in ("AT_BEGINNING", "AT_BEGINNING_STRING"):
            raise refuse("anchors at the start of the path after its '/'")
        if op in ("ASSERT", "ASSERT_NOT") and av[0] < 0:
            raise refuse("looks behind")
        if op in ("GROUPREF", "GROUPREF_EXISTS"):
            raise refuse("refers back to a group")
    return rest


def _has_top_level_alternation(text: str) -> bool:
    depth = 0
    index = 0
    in_class = False
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            # a "]" right after "[" or "[^" is a member, not the end
            if text[index + 1 : index + 2] == "^":
                index += 1
            if text[index + 1 : index + 2] == "]":
                index += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return True
        index += 1
    return False


def _walk(items: Iterable[Any]) -> Iterable[tuple[str, Any]]:
    """Every ``(op, argument)`` of a parsed pattern, nested ones included."""
    for op, av in items:
        yield str(op), av
        yield from _walk_value(av)


def _walk_value(value: Any) -> Iterable[tuple[str, Any]]:
    if isinstance(value, _parser.SubPattern):
        yield from _walk(value)
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _walk_value(item)


def root_owner(policy: CorsPolicy) -> int | None:
    """The number of the first ``[[paths]]`` table that matches ``/`` (from 1), if any."""
    return next((n for n, rule in enumerate(policy.paths, start=1) if rule.matches("/")), None)


def match_pattern(compiled: re.Pattern[str]) -> str:
    """A ``re.fullmatch`` pattern for a compiled one used with ``re.match`` (anchored at the
    start only), its flags kept."""
    letters = "".join(
        letter
        for flag, letter in (
            (re.IGNORECASE, "i"),
            (re.MULTILINE, "m"),
            (re.DOTALL, "s"),
            (re.VERBOSE, "x"),
        )
        if compiled.flags & flag
    )
    inner = compiled.pattern
    if letters:
        # a verbose pattern's comment runs to the end of the line: close the group on the next
        inner = f"(?{letters}:{inner}{chr(10) if 'x' in letters else ''})"
    return f"(?:{inner}){_ANY_CHARS}"
