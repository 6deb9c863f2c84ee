"""The policy file: TOML in, a validated :class:`CorsPolicy` out, and back (DESIGN.md "The policy").

Schema (``conformance/policies/default.toml`` is the commented example)::

    allow_origins         = ["https://app.example", "null", "*"]   # serialized origins
    allow_origin_patterns = ['https://[a-z0-9-]+\\.app\\.example']  # re.fullmatch on the origin
    allow_methods         = ["PUT", "*"]                           # method tokens
    allow_headers         = ["content-type", "*"]                  # header-name tokens
    expose_headers        = ["x-request-id", "*"]                  # header-name tokens
    allow_credentials     = true
    max_age               = 600          # seconds, >= 0; `false`: send no Access-Control-Max-Age
    allow_private_network = false

    [[paths]]                            # first matching table wins
    prefix  = "/public"                  # or: pattern = '/v[0-9]+/public/.*' (re.fullmatch)
    allow_origins = ["*"]                # any key above; the others inherit the top level

Every key is optional. A problem raises :class:`PolicyError`, whose message names the source,
the line and the key (``policy.toml:7: paths[1].allow_methods[2]: "GE T" is not a method
token``); the first problem in document order is the one reported. Indices count from 0, as in
the key ``paths[0]`` for the first ``[[paths]]`` table (which verdicts call ``[[paths]] #1``).

:func:`dump_policy` writes a policy back as TOML that :func:`load_policy` reads to an equal value.
"""

from __future__ import annotations

import contextlib
import difflib
import re
import tomllib
from collections.abc import Callable
from typing import Any, Final

from reference.grammar import is_token
from reference.origins import OriginError, parse_url
from reference.policy import ANY, NULL, OVERRIDABLE_KEYS, CorsPolicy, PathRule, PolicyRules

_TOP_LEVEL_KEYS: Final = (*OVERRIDABLE_KEYS, "paths")
_PATH_KEYS: Final = ("prefix", "pattern", *OVERRIDABLE_KEYS)


class PolicyError(ValueError):
    """A policy file that cannot be loaded.

    ``key`` is the dotted key of the offending value (``paths[1].allow_origins[0]``; ``None``
    for a TOML syntax error), ``line`` the 1-based line where it stands in the text (``None``
    if it cannot be found), ``detail`` what is wrong with it.
    """

    def __init__(self, detail: str, *, key: str | None, line: int | None, source: str) -> None:
        where = source if line is None else f"{source}:{line}"
        super().__init__(f"{where}: {detail}" if key is None else f"{where}: {key}: {detail}")
        self.detail = detail
        self.key = key
        self.line = line
        self.source = source


class _Invalid(Exception):
    """Raised while validating; :func:`load_policy` adds the source and line."""

    def __init__(self, key: str, detail: str) -> None:
        super().__init__(key, detail)
        self.key = key
        self.detail = detail


def load_policy(text: str, *, source: str = "<policy>") -> CorsPolicy:
    """Parse and validate a policy file. ``source`` names the text in error messages."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = re.search(r" \(at line (\d+), column (\d+)\)$", message)
        if found is not None:
            line = int(found[1])
            message = f"{message[: found.start()]} (column {found[2]})"
        else:  # "(at end of document)"
            line = max(1, len(text.splitlines()))
        raise PolicyError(f"invalid TOML: {message}", key=None, line=line, source=source) from None
    try:
        return _policy(document)
    except _Invalid as invalid:
        raise PolicyError(
            invalid.detail, key=invalid.key, line=key_line(text, invalid.key), source=source
        ) from None


# -- validation --------------------------------------------------------------------------------


def _policy(document: dict[str, Any]) -> CorsPolicy:
    values: dict[str, Any] = {}
    paths: tuple[PathRule, ...] = ()
    for key, value in document.items():  # in document order: the first problem is reported
        if key == "paths":
            paths = _paths(value)
        elif key in _CHECKS:
            values[key] = _CHECKS[key](value, key)
        elif key in _PATH_KEYS:
            raise _Invalid(key, f"{key} is only valid inside a [[paths]] table")
        else:
            raise _Invalid(key, _unknown_key(key, _TOP_LEVEL_KEYS))
    return CorsPolicy(**values, paths=paths)


def _paths(tables: object) -> tuple[PathRule, ...]:
    if not isinstance(tables, list):
        raise _Invalid("paths", f"expected an array of tables ([[paths]]), got {_describe(tables)}")
    return tuple(_path_rule(table, f"paths[{index}]") for index, table in enumerate(tables))


def _path_rule(table: object, where: str) -> PathRule:
    if not isinstance(table, dict):
        raise _Invalid(where, f"expected a table ([[paths]]), got {_describe(table)}")
    values: dict[str, Any] = {}
    prefix: str | None = None
    pattern: str | None = None
    for key, value in table.items():
        if key in ("prefix", "pattern") and (prefix is not None or pattern is not None):
            raise _Invalid(
                f"{where}.{key}",
                "a [[paths]] table sets exactly one of prefix and pattern, not both",
            )
        if key == "prefix":
            prefix = _check_prefix(value, f"{where}.prefix")
        elif key == "pattern":
            pattern = _string(value, f"{where}.pattern")
            _compile(pattern, f"{where}.pattern")
        elif key in _CHECKS:
            values[key] = _CHECKS[key](value, f"{where}.{key}")
        else:
            raise _Invalid(f"{where}.{key}", _unknown_key(key, _PATH_KEYS))
    if prefix is None and pattern is None:
        raise _Invalid(
            where, "a [[paths]] table needs a prefix or a pattern to say where it applies"
        )
    return PathRule(
        prefix=prefix,
        pattern=pattern,
        rules=PolicyRules(**values),
        max_age_set="max_age" in table,
    )


def _check_origins(value: object, key: str) -> tuple[str, ...]:
    entries = _strings(value, key)
    for index, entry in enumerate(entries):
        problem = _origin_problem(entry)
        if problem is not None:
            raise _Invalid(f"{key}[{index}]", f"{_quote(entry)} {problem}")
    return entries


def _origin_problem(entry: str) -> str | None:
    """Why ``entry`` is not a valid ``allow_origins`` entry, or ``None`` if it is one."""
    if entry in (ANY, NULL):
        return None
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in entry):
        return "contains whitespace or control characters"
    if "*" in entry:
        return (
            "is not an origin: allow_origins takes exact origins (or '*' alone); "
            "use allow_origin_patterns for wildcards"
        )
    if "#" in entry:
        return "is not an origin: it has a fragment"
    try:
        url = parse_url(entry)
    except OriginError as exc:
        return f"is not a valid origin ({exc})"
    if url.scheme not in ("http", "https"):
        return "is not an http or https origin"
    if url.has_userinfo:
        return "is not an origin: it has userinfo (user@)"
    if "?" in url.path_query:
        return "is not an origin: it has a query"
    if url.path_query != "/":
        return f"is not an origin: it has a path ({url.path_query})"
    return None


def _check_patterns(value: object, key: str) -> tuple[str, ...]:
    patterns = _strings(value, key)
    for index, pattern in enumerate(patterns):
        _compile(pattern, f"{key}[{index}]")
    return patterns


def _check_methods(value: object, key: str) -> tuple[str, ...]:
    return _tokens(value, key, "method")


def _check_header_names(value: object, key: str) -> tuple[str, ...]:
    return _tokens(value, key, "header-name")


def _tokens(value: object, key: str, kind: str) -> tuple[str, ...]:
    tokens = _strings(value, key)
    for index, token in enumerate(tokens):
        if not (token.isascii() and is_token(token.encode("ascii"))):
            raise _Invalid(f"{key}[{index}]", f"{_quote(token)} is not a {kind} token")
    return tokens


def _check_bool(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(key, f"expected true or false, got {_describe(value)}")
    return value


def _check_max_age(value: object, key: str) -> int | None:
    if value is False:
        return None  # "send no Access-Control-Max-Age"
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(
            key,
            f"expected a number of seconds (or false to send no max-age), got {_describe(value)}",
        )
    if value < 0:
        raise _Invalid(key, f"{value} is negative: max_age is a number of seconds, 0 or more")
    return value


_CHECKS: Final[dict[str, Callable[[object, str], object]]] = {
    "allow_origins": _check_origins,
    "allow_origin_patterns": _check_patterns,
    "allow_methods": _check_methods,
    "allow_headers": _check_header_names,
    "expose_headers": _check_header_names,
    "allow_credentials": _check_bool,
    "max_age": _check_max_age,
    "allow_private_network": _check_bool,
}
assert tuple(_CHECKS) == OVERRIDABLE_KEYS


def _check_prefix(value: object, key: str) -> str:
    prefix = _string(value, key)
    if not prefix.startswith("/"):
        raise _Invalid(key, f"{_quote(prefix)} does not start with '/'")
    if "?" in prefix or "#" in prefix:
        raise _Invalid(
            key, f"{_quote(prefix)} contains '?' or '#': paths are matched without the query"
        )
    if not prefix.isascii() or any(ch.isspace() or not ch.isprintable() for ch in prefix):
        raise _Invalid(
            key,
            f"{_quote(prefix)} is not a raw request path: paths are matched as sent, "
            "percent-encoded (write '/caf%C3%A9', not '/café'; '%20', not a space)",
        )
    return prefix


def _compile(pattern: str, key: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise _Invalid(key, f"pattern {_quote(pattern)} does not compile: {exc}") from None


def _string(value: object, key: str) -> str:
    if not isinstance(value, str):
        raise _Invalid(key, f"expected a string, got {_describe(value)}")
    return value


def _strings(value: object, key: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _Invalid(key, f"expected an array of strings, got {_describe(value)}")
    return tuple(_string(item, f"{key}[{index}]") for index, item in enumerate(value))


def _unknown_key(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f" (known keys: {', '.join(known)})"
    return f"unknown key{hint}"


def _describe(value: object) -> str:
    """A TOML value as a TOML user would name it: ``integer 5``, ``string "yes"``."""
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, str):
        return f"string {_quote(value)}"
    if isinstance(value, int | float):
        return f"{'integer' if isinstance(value, int) else 'float'} {value!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"date/time {value}"  # what tomllib makes of the rest: datetime, date, time


# -- finding a key's line ----------------------------------------------------------------------


def key_line(text: str, key: str) -> int | None:
    """The 1-based line of ``text`` where the dotted ``key`` (``paths[1].allow_origins[0]``)
    stands; failing that, the line of the nearest enclosing key that can be found, else ``None``.
    """
    lines = _key_lines(text)
    while key not in lines:
        shorter = re.sub(r"(?:\.[^.\[\]]+|\[\d+\])$", "", key)
        if shorter == key:
            return None
        key = shorter
    return lines[key]


def _key_lines(text: str) -> dict[str, int]:
    """The line of every key, table and array element of a valid TOML text, by dotted key."""
    scanner = _Scanner(text)
    with contextlib.suppress(ValueError, RecursionError):  # malformed text: keep what was found
        scanner.document()
    return scanner.lines


class _Scanner:
    """A small reader of the TOML structure (not values) for :func:`key_line`."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.lines: dict[str, int] = {}

    @property
    def line(self) -> int:
        return self.text.count("\n", 0, self.pos) + 1

    def peek(self, size: int = 1) -> str:
        return self.text[self.pos : self.pos + size]

    def note(self, key: str) -> None:
        self.lines.setdefault(key, self.line)

    def skip(self, *, newlines: bool) -> None:
        """Skip spaces (and, with ``newlines``, line breaks and comments)."""
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch in " \t" or (newlines and ch in "\r\n"):
                self.pos += 1
            elif ch == "#" and newlines:
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    def document(self) -> None:
        table = ""
        counts: dict[str, int] = {}
        while True:
            self.skip(newlines=True)
            if self.pos >= len(self.text):
                return
            if self.peek(2) == "[[":
                self.pos += 2
                name = self.key()
                self.pos = self.text.index("]]", self.pos) + 2
                counts[name] = counts.get(name, -1) + 1
                table = f"{name}[{counts[name]}]"
                self.note(name)
                self.note(table)
            elif self.peek() == "[":
                self.pos += 1
                table = self.key()
                self.pos = self.text.index("]", self.pos) + 1
                self.note(table)
            else:
                key = self.key()
                full = f"{table}.{key}" if table else key
                self.note(full)
                self.pos = self.text.index("=", self.pos) + 1
                self.value(full)

    def key(self) -> str:
        """A possibly dotted, possibly quoted key; its parts joined with ``.``."""
        parts: list[str] = []
        while True:
            self.skip(newlines=False)
            start = self.pos
            if self.peek() in ('"', "'"):
                self.string()
                parts.append(self.text[start + 1 : self.pos - 1])
            else:
                while self.pos < len(self.text) and (
                    self.text[self.pos].isalnum() or self.text[self.pos] in "_-"
                ):
                    self.pos += 1
                parts.append(self.text[start : self.pos])
            self.skip(newlines=False)
            if self.peek() != ".":
                return ".".join(parts)
            self.pos += 1

    def value(self, key: str) -> None:
        self.skip(newlines=False)
        ch = self.peek()
        if ch == "[":
            self.pos += 1
            index = 0
            while True:
                self.skip(newlines=True)
                if self.peek() == "]":
                    self.pos += 1
                    return
                element = f"{key}[{index}]"
                self.note(element)
                self.value(element)
                self.skip(newlines=True)
                if self.peek() == ",":
                    self.pos += 1
                elif self.peek() != "]":
                    raise ValueError("malformed array")
                index += 1
        elif ch == "{":
            self.pos += 1
            while True:
                self.skip(newlines=False)
                if self.peek() == "}":
                    self.pos += 1
                    return
                if self.peek() == ",":
                    self.pos += 1
                    continue
                inner = f"{key}.{self.key()}"
                self.note(inner)
                self.pos = self.text.index("=", self.pos) + 1
                self.value(inner)
                self.skip(newlines=False)
                if self.peek() not in (",", "}"):
                    raise ValueError("malformed inline table")
        elif ch in ('"', "'"):
            self.string()
        else:
            while self.pos < len(self.text) and self.text[self.pos] not in ",]}\n#":
                self.pos += 1

    def string(self) -> None:
        quote = self.peek()
        if self.peek(3) == quote * 3:
            self.pos += 3
            end = quote * 3
            while not self.text.startswith(end, self.pos):
                self.pos += 2 if quote == '"' and self.peek() == "\\" else 1
                if self.pos >= len(self.text):
                    raise ValueError("unterminated string")
            self.pos += 3
            while self.peek() == quote:  # up to two quotes may close the content
                self.pos += 1
            return
        self.pos += 1
        while self.peek() != quote:
            self.pos += 2 if quote == '"' and self.peek() == "\\" else 1
            if self.pos >= len(self.text):
                raise ValueError("unterminated string")
        self.pos += 1


# -- writing -----------------------------------------------------------------------------------


def dump_policy(policy: CorsPolicy) -> str:
    """The policy as TOML; ``load_policy(dump_policy(p)) == p`` for every policy that
    :func:`load_policy` can produce. Top-level keys are all written (``max_age`` only when set);
    a ``[[paths]]`` table writes only the keys it overrides."""
    out = [
        f"allow_origins = {_array(policy.allow_origins)}",
        f"allow_origin_patterns = {_array(policy.allow_origin_patterns)}",
        f"allow_methods = {_array(policy.allow_methods)}",
        f"allow_headers = {_array(policy.allow_headers)}",
        f"expose_headers = {_array(policy.expose_headers)}",
        f"allow_credentials = {_bool(policy.allow_credentials)}",
    ]
    if policy.max_age is not None:
        out.append(f"max_age = {policy.max_age}")
    out.append(f"allow_private_network = {_bool(policy.allow_private_network)}")
    for rule in policy.paths:
        out.extend(("", "[[paths]]"))
        if rule.prefix is not None:
            out.append(f"prefix = {_quote(rule.prefix)}")
        else:
            out.append(f"pattern = {_quote(rule.pattern or '')}")
        overridden = rule.overridden_keys()
        for key in OVERRIDABLE_KEYS:
            if key not in overridden:
                continue
            value = getattr(rule.rules, key)
            if key == "max_age":
                out.append(f"max_age = {'false' if value is None else value}")
            elif isinstance(value, bool):
                out.append(f"{key} = {_bool(value)}")
            else:
                out.append(f"{key} = {_array(value)}")
    return "\n".join(out) + "\n"


def _array(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(_quote(value) for value in values) + "]"


def _bool(value: bool) -> str:
    return "true" if value else "false"


_CONTROL: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_ESCAPES: Final = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}


def _quote(value: str) -> str:
    """A TOML string for ``value``: a literal string ``'...'`` for one with backslashes (regular
    expressions read better unescaped) where it can be one, else a basic string ``"..."``."""
    if "\\" in value and "'" not in value and not _CONTROL.search(value):
        return f"'{value}'"
    escaped = "".join(
        _ESCAPES.get(ch) or (f"\\u{ord(ch):04X}" if _CONTROL.match(ch) else ch) for ch in value
    )
    return f'"{escaped}"'
