"""A Node.js app's CORS options read into a policy: the ``read_policy`` of the Node adapters
(``express-cors``, ``fastify-cors``, ``koa-cors``, ``hono``).

Node apps configure CORS in JavaScript, so the source is a module: an ES module (``.mjs``, or
``.js`` in a ``"type": "module"`` package), a CommonJS module (``.cjs``) or a ``.json`` file,
whose default export (``module.exports``) is the options object the app gives its middleware:
``cors(options)`` for express, ``@koa/cors`` and hono, ``fastify.register(cors, options)`` for
``@fastify/cors``. For express it may also be an array of scopes, ``{path: "/api", options}``
each (``app.use("/api", cors(options))``), the last one without ``path`` app-wide; they become
``[[paths]]`` prefix tables. ``conformance/node/read-options.mjs`` imports the module with
``node`` and prints the options as JSON (:func:`load_options`); the readers also take options
already loaded (a mapping, or a list of express scopes), RegExps spelled
``{"regex": source, "flags": flags}``, and what the adapters' ``configuration`` writes (for
fastify and hono only with one app-wide scope: their per-path scopes are not read). Reading *is*
running the module: its top-level code runs.

Each reader follows its package's own code, as installed (``conformance/node/node_modules``):
its defaults fill what is not given, and the policy says what a browser sees from the
middleware's answers. So, for instance, express ``cors`` reflects the requested headers when
``allowedHeaders`` is not given (``allow_headers = ["*"]``); ``origin: "*"`` with credentials
sends ``Access-Control-Allow-Origin: *``, which a browser refuses for credentialed requests
(``allow_credentials = false``); a RegExp is a JavaScript ``test()``, a search, so it becomes a
pattern with ``.*`` at the ends it does not anchor, and also allows ``null`` when it matches it.

A configuration whose meaning the policy cannot state raises :class:`ValueError`, the message
starting with the option: functions (an origin function, an options delegate), RegExp flags other
than ``i``, a ``'*'`` that a browser reads as a wildcard without credentials but as a name with
them, ``allowedHeaders: '*'`` without ``authorization`` (a browser's ``*`` leaves it out), a
``maxAge`` that is not a number of seconds (browsers disagree on it), no
``Access-Control-Allow-Methods`` at all (a browser then allows the method of a preflight it was
forced to send, and only then), preflights left to the app (``preflightContinue``, fastify's
``preflight: false``), a preflight status that is not 2xx. So do options that are mistakes: an
unknown option (another package's spelling, as ``allowHeaders`` given to express ``cors``), an
origin that no browser sends (``https://a.example/`` is compared exactly with
``Origin: https://a.example``, and never equals it), a value of a type the package does not take.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import string
import subprocess
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from conformance.adapters.node import NODE_DIR
from reference.grammar import DELTA_SECONDS, OWS_BYTES
from reference.headers import FAILURE, split_list
from reference.policy import ANY, NULL, CorsPolicy, PathRule, PolicyRules, canonical_origin

READER: Final = NODE_DIR / "read-options.mjs"
READ_TIMEOUT: Final = 60.0
SAFELISTED_METHODS: Final = ("GET", "HEAD", "POST")
_CODE: Final = "the policy cannot be read from code; write a policy file"

Source = str | os.PathLike[str] | Mapping[str, Any] | list[Any]
"""What the readers take: a module's path, or its default export already loaded."""


# -- JavaScript values ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JsRegExp:
    source: str
    flags: str = ""

    def __str__(self) -> str:
        return f"/{self.source}/{self.flags}"


@dataclass(frozen=True, slots=True)
class JsFunction:
    name: str


@dataclass(frozen=True, slots=True)
class JsUnsupported:
    what: str


class _Undefined:
    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED: Final = _Undefined()
"""A key set to ``undefined``: JavaScript's spreads and ``Object.assign`` copy it over a
default, so it is not the same as a key left out."""

_NUMBERS: Final = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def decode(value: Any) -> Any:
    """The JSON that ``read-options.mjs`` prints, with its one-key objects turned into
    :class:`JsRegExp`, :class:`JsFunction`, :data:`UNDEFINED`, floats and :class:`JsUnsupported`
    (``{"regex": source}`` without ``flags`` is taken too: the Node harness's spelling)."""
    if isinstance(value, list):
        return [decode(item) for item in value]
    if not isinstance(value, Mapping):
        return value
    keys = set(value)
    if keys in ({"regex"}, {"regex", "flags"}) and isinstance(value["regex"], str):
        return JsRegExp(value["regex"], str(value.get("flags", "")))
    if keys == {"function"}:
        return JsFunction(str(value["function"]))
    if keys == {"undefined"} and value["undefined"] is True:
        return UNDEFINED
    if keys == {"number"} and value["number"] in _NUMBERS:
        return _NUMBERS[value["number"]]
    if keys == {"unsupported"}:
        return JsUnsupported(str(value["unsupported"]))
    return {str(key): decode(item) for key, item in value.items()}


def truthy(value: Any) -> bool:
    """JavaScript truthiness (``[]`` and ``{}`` are truthy; ``0``, ``NaN``, ``""`` are not)."""
    if value is None or value is UNDEFINED or value is False:
        return False
    if isinstance(value, bool):
        return True
    if isinstance(value, int | float):
        return value != 0 and not math.isnan(value)
    if isinstance(value, str):
        return value != ""
    return True


def js_string(value: Any, key: str) -> str:
    """``String(value)`` for the values options hold (an array is joined with ``,``)."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return repr(value)  # not delta-seconds either way
    if isinstance(value, list):
        return ",".join("" if v is None or v is UNDEFINED else js_string(v, key) for v in value)
    raise ValueError(f"{key}: {_show(value)}: not a value this option takes")


def _show(value: Any) -> str:
    if isinstance(value, JsFunction):
        return f"a function ({value.name})"
    if isinstance(value, JsUnsupported):
        return value.what
    if isinstance(value, JsRegExp):
        return f"the RegExp {value}"
    if isinstance(value, str):
        return repr(value)
    if value is None or value is UNDEFINED or isinstance(value, bool | int | float):
        return js_string(value, "")
    return json.dumps(_plain(value))


def _plain(value: Any) -> Any:
    if value is UNDEFINED:
        return "undefined"
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, JsRegExp | JsFunction | JsUnsupported):
        return _show(value)
    if isinstance(value, float) and not math.isfinite(value):
        return js_string(value, "")
    return value


def _refuse_function(value: Any, key: str) -> None:
    if isinstance(value, JsFunction):
        raise ValueError(f"{key}: a function ({value.name}) — {_CODE}")


# -- loading a module -----------------------------------------------------------------------------


def load_options(path: str | os.PathLike[str]) -> Any:
    """A module's default export as JSON (RegExps and other JavaScript values spelled as
    ``read-options.mjs`` says). A ``.json`` file is read here; a JavaScript module is imported
    by ``node`` (its top-level code runs). :class:`ValueError` with the reason when the file is
    missing, ``node`` is not on the PATH, or the module cannot be read."""
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"{file}: no such file" if not file.exists() else f"{file}: not a file")
    if file.suffix == ".json":
        try:
            return json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{file}: not valid JSON: {exc}") from None
    node = shutil.which("node")
    if node is None:
        raise ValueError(
            f"{file}: reading a JavaScript module needs `node` (Node.js 20 or later) on the "
            "PATH; or export the options as a .json file"
        )
    try:
        done = subprocess.run(
            [node, str(READER), str(file.resolve())],
            capture_output=True,
            text=True,
            timeout=READ_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ValueError(
            f"{file}: importing the module did not finish within {READ_TIMEOUT:.0f} s"
        ) from None
    if done.returncode != 0:
        why = done.stderr.strip() or f"node exited with status {done.returncode}"
        raise ValueError(why.removeprefix("read-options: "))
    lines = done.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        raise ValueError(f"{file}: read-options.mjs printed no options: {done.stdout!r}") from None


def _document(source: Source) -> Any:
    if isinstance(source, str | os.PathLike):
        return decode(load_options(source))
    return decode(source)


def _options_object(document: Any, package: str) -> dict[str, Any]:
    """The options object: a mapping. What the adapters' configuration writes is taken too:
    ``{"options": {...}}``, or ``{"scopes": [...]}`` with one app-wide scope."""
    if isinstance(document, Mapping) and set(document) == {"options"}:
        document = document["options"]
    elif isinstance(document, Mapping) and set(document) == {"scopes"}:
        scopes = document["scopes"]
        if not (
            isinstance(scopes, list)
            and len(scopes) == 1
            and isinstance(scopes[0], Mapping)
            and all(scopes[0].get(key) is None for key in ("prefix", "path", "mount"))
        ):
            raise ValueError(
                f"scopes: per-path scopes are not read for {package}: the module exports the "
                "one options object the app gives its middleware"
            )
        document = scopes[0].get("options", {})
    if document is UNDEFINED or document is None:
        return {}  # cors() / cors(null): the package's defaults
    _refuse_function(document, "options")
    if not isinstance(document, Mapping):
        raise ValueError(
            f"options: {_show(document)}: the default export should be the options object "
            f"given to {package}"
        )
    return dict(document)


def _check_keys(options: Mapping[str, Any], known: Iterable[str], package: str, where: str) -> None:
    allowed = tuple(known)
    for key in options:
        if key not in allowed:
            raise ValueError(
                f"{where}{key}: not an option of {package} (it takes {', '.join(allowed)}); "
                "the package would ignore it: is this another package's spelling?"
            )


# -- what a browser reads from the headers ---------------------------------------------------------


def _tokens(text: str, key: str, what: str, consequence: str) -> tuple[str, ...]:
    """A header value as a browser parses it (``#token``, RFC 9110), or :class:`ValueError`."""
    try:
        parsed = split_list(text.encode("latin-1"))
    except UnicodeEncodeError:
        parsed = FAILURE
    if parsed is FAILURE:
        raise ValueError(f"{key}: {text!r} is not a comma-separated list of {what}: {consequence}")
    return tuple(item.decode("latin-1") for item in parsed)


def _methods(text: str | None, key: str) -> tuple[str, ...]:
    if text is None:
        return ()
    return _tokens(text, key, "methods", "a browser fails every preflight")


def _header_names(text: str | None, key: str) -> tuple[str, ...]:
    if text is None:
        return ()
    names = _tokens(text, key, "header names", "a browser fails every preflight")
    return tuple(dict.fromkeys(name.lower() for name in names))


def _exposed(text: str | None, key: str) -> tuple[str, ...]:
    if text is None:
        return ()
    names = _tokens(text, key, "header names", "a browser exposes none of them")
    return tuple(dict.fromkeys(names))


def _max_age(text: str | None, key: str) -> int | None:
    """``Access-Control-Max-Age`` as sent: ``None`` for no header."""
    if text is None:
        return None
    value = text.strip(OWS_BYTES.decode("ascii"))
    if DELTA_SECONDS.fullmatch(value.encode("latin-1", "replace")):
        return int(value)
    raise ValueError(
        f"{key}: sends Access-Control-Max-Age: {text!r}, not a number of seconds: browsers "
        "disagree on what that means (the 5 s default, or no caching)"
    )


def _success_status(value: Any, key: str) -> None:
    if not (isinstance(value, int) and not isinstance(value, bool) and 200 <= value <= 299):
        raise ValueError(
            f"{key}: {_show(value)}: a preflight answered with a status other than 2xx fails "
            "in every browser"
        )


# -- origins -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Origins:
    """Which origins the middleware allows: ``star`` when it answers ``*`` (any origin, never
    with credentials), ``reflect_any`` when it reflects every origin."""

    star: bool = False
    reflect_any: bool = False
    exact: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()

    def allow_origins(self) -> tuple[str, ...]:
        return (ANY,) if self.star or self.reflect_any else self.exact

    def allow_origin_patterns(self) -> tuple[str, ...]:
        return () if self.star or self.reflect_any else self.patterns

    def allows_some(self) -> bool:
        return self.star or self.reflect_any or bool(self.exact or self.patterns)


def _exact_origin(entry: str, key: str, package: str) -> str:
    if entry == NULL:
        return entry
    canonical = canonical_origin(entry)
    if entry != ANY and canonical == entry:
        return entry
    hint = f" (a browser sends {canonical!r})" if canonical not in (None, ANY) else ""
    if entry == ANY:
        why = f"{package} takes '*' as any origin only as the whole option, not in a list"
    else:
        why = "a browser never sends it as an Origin"
    raise ValueError(
        f"{key}: {entry!r} matches no request{hint}: {package} compares it exactly with the "
        f"Origin header and {why}; correct the configuration (or write a policy file)"
    )


def _walk_origins(value: Any, key: str, package: str, into: _Origins) -> None:
    """``isOriginAllowed`` of express ``cors`` and ``@fastify/cors``: arrays are searched,
    strings compared exactly, RegExps tested, and anything else counts for its truthiness."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            _walk_origins(item, f"{key}[{index}]", package, into)
    elif isinstance(value, str):
        if value:  # '' is never an Origin
            entry = _exact_origin(value, key, package)
            if entry not in into.exact:
                into.exact += (entry,)
    elif isinstance(value, JsRegExp):
        pattern, matches_null = python_pattern(value, key)
        if pattern not in into.patterns:
            into.patterns += (pattern,)
        if matches_null and NULL not in into.exact:
            into.exact += (NULL,)
    elif value is True:
        into.reflect_any = True
    elif not truthy(value):
        return
    else:
        raise ValueError(
            f"{key}: {_show(value)}: {package} does not call or compare it; it counts as true "
            "(every origin is allowed): write true, or the origins"
        )


# -- JavaScript regular expressions -----------------------------------------------------------


class _Untranslatable(Exception):
    pass


_JS_QUANTIFIER: Final = re.compile(r"\{[0-9]+(?:,[0-9]*)?\}")
_JS_CONTROL_ESCAPES: Final = {"f": r"\f", "n": r"\n", "r": r"\r", "t": r"\t", "v": r"\v"}


def _hex(text: str) -> bool:
    return all(c in string.hexdigits for c in text)


def _js_escape(source: str, i: int, *, in_class: bool) -> tuple[str, int]:
    """The escape at ``source[i]`` (a backslash) as Python pattern text, and where it ends
    (JavaScript without the ``u`` flag: an unknown escape is the character itself)."""
    if i + 1 >= len(source):
        raise _Untranslatable("a trailing backslash")
    char = source[i + 1]
    if char in "dDwWsS":
        return "\\" + char, i + 2
    if char == "b":
        return (r"\x08" if in_class else r"\b"), i + 2
    if char == "B" and not in_class:
        return r"\B", i + 2
    if char in _JS_CONTROL_ESCAPES:
        return _JS_CONTROL_ESCAPES[char], i + 2
    if char == "c":
        letter = source[i + 2 : i + 3]
        if letter.isascii() and letter.isalpha():
            return f"\\x{ord(letter) % 32:02x}", i + 3
        raise _Untranslatable(r"'\c' without a control letter")
    if char == "x" and len(digits := source[i + 2 : i + 4]) == 2 and _hex(digits):
        return "\\x" + digits, i + 4
    if char == "u" and len(digits := source[i + 2 : i + 6]) == 4 and _hex(digits):
        return "\\u" + digits, i + 6
    if char == "0" and not source[i + 2 : i + 3].isdigit():
        return r"\x00", i + 2
    if char.isdigit():
        raise _Untranslatable(f"'\\{char}': backreferences and octal escapes are not translated")
    if char == "k":
        raise _Untranslatable(r"'\k': named backreferences are not translated")
    return re.escape(char), i + 2


def _js_class(source: str, i: int) -> tuple[str, int]:
    """The character class at ``source[i]`` (``[``) as Python pattern text, and where it ends.
    ``[]`` matches nothing and ``[^]`` anything; characters Python reads as set operations or
    nested sets (``[``, ``&&``, ``~~``, ``||``, ``--``) are escaped."""
    j = i + 1
    negate = source.startswith("^", j)
    if negate:
        j += 1
    if source.startswith("]", j):
        return (r"[\s\S]" if negate else "(?!)"), j + 1
    parts = ["[^" if negate else "["]
    previous = ""
    while True:
        if j >= len(source):
            raise _Untranslatable("an unterminated character class")
        char = source[j]
        if char == "]":
            break
        if char == "\\":
            text, j = _js_escape(source, j, in_class=True)
        else:
            escape = char in "[&~|^" or (char == "-" and previous == "-")
            text, j = ("\\" + char if escape else char), j + 1
        parts.append(text)
        previous = text
    parts.append("]")
    return "".join(parts), j + 1


def _js_tokens(source: str) -> tuple[list[str], bool]:
    """The source as Python pattern text, token by token, and whether it has a top-level
    alternative (``a|b``)."""
    tokens: list[str] = []
    depth = 0
    alternation = False
    i = 0
    while i < len(source):
        char = source[i]
        if char == "\\":
            text, i = _js_escape(source, i, in_class=False)
        elif char == "[":
            text, i = _js_class(source, i)
        elif char == "(":
            depth += 1
            named = source.startswith("(?<", i) and not source.startswith(("(?<=", "(?<!"), i)
            text, i = ("(?P<", i + 3) if named else ("(", i + 1)
        elif char == ")":
            depth -= 1
            text, i = ")", i + 1
        elif char == "{":
            quantifier = _JS_QUANTIFIER.match(source, i)
            if quantifier is not None:
                text, i = quantifier.group(), quantifier.end()
            else:
                text, i = r"\{", i + 1  # a literal brace (Python would read {,n} as a quantifier)
        elif char == "}":
            text, i = r"\}", i + 1
        else:
            alternation = alternation or (char == "|" and depth == 0)
            text, i = char, i + 1
        tokens.append(text)
    return tokens, alternation


def python_pattern(regex: JsRegExp, key: str) -> tuple[str, bool]:
    """What ``regex.test(origin)`` means as a policy pattern (``re.fullmatch``), and whether it
    matches ``null`` (policy patterns never do: the caller lists ``null``).

    ``test`` is a search: an end the source does not anchor (``^``, ``$``, both outside any
    alternative) gets ``.*``. The ``i`` flag becomes ``(?i:...)``; any other flag, or syntax with
    no Python equivalent here (backreferences, variable-width look-behind), is a
    :class:`ValueError`. Origins are ASCII without line breaks, so ``.``, ``\\d``, ``\\w`` and
    ``\\s`` mean the same in both languages on them.
    """
    other_flags = sorted(set(regex.flags) - {"i"})
    if other_flags:
        raise ValueError(
            f"{key}: the RegExp {regex}: flag {', '.join(other_flags)}: only the i flag can be "
            "read into a policy pattern (g and y make test() depend on lastIndex)"
        )
    try:
        tokens, alternation = _js_tokens(regex.source)
    except _Untranslatable as exc:
        raise ValueError(f"{key}: the RegExp {regex}: {exc}") from None
    start = not alternation and tokens[:1] == ["^"]
    body_tokens = tokens[1:] if start else tokens
    end = not alternation and body_tokens[-1:] == ["$"]
    if end:
        body_tokens = body_tokens[:-1]
    body = "".join(body_tokens)
    if "i" in regex.flags:
        body = f"(?i:{body})"
    elif alternation:
        body = f"(?:{body})"
    pattern = ("" if start else ".*") + body + ("" if end else ".*")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            compiled = re.compile(pattern)
        except (re.error, Warning) as exc:
            raise ValueError(
                f"{key}: the RegExp {regex} has no Python equivalent here ({exc})"
            ) from None
    return pattern, compiled.fullmatch(NULL) is not None


# -- the policy ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Read:
    """One middleware's options, read: what its answers say to a browser. The header lists are
    as sent (``None`` for a header not sent); ``reflect_headers`` when the requested headers are
    sent back."""

    origins: _Origins
    credentials: bool
    methods: str | None
    methods_key: str
    allow_headers: str | None
    allow_headers_key: str
    reflect_headers: bool
    expose: str | None
    expose_key: str
    max_age: str | None
    max_age_key: str
    private_network: bool = False


def _wildcard(key: str, what: str) -> ValueError:
    return ValueError(
        f"{key}: '*' with credentials: a browser reads it as {what} for requests without "
        "credentials but as a name for credentialed ones; the policy cannot say both (list them, "
        "or drop credentials)"
    )


def _rules(read: _Read) -> PolicyRules:
    """The policy keys for one middleware. Credentials count only where a browser accepts them:
    with ``Access-Control-Allow-Origin: *`` it refuses every credentialed request."""
    origins = read.origins
    credentials = read.credentials and not origins.star
    methods = _methods(read.methods, read.methods_key)
    exposed = _exposed(read.expose, read.expose_key)
    headers: tuple[str, ...]
    if read.reflect_headers:
        headers = (ANY,)
    else:
        headers = _header_names(read.allow_headers, read.allow_headers_key)
    judged = origins.allows_some()  # with no origin allowed, nothing reaches a browser's script
    if read.methods is None and judged:
        raise ValueError(
            f"{read.methods_key}: none: no Access-Control-Allow-Methods is sent, and a browser "
            "then allows the request's own method when the preflight was forced (a streamed body, "
            "upload listeners) but not otherwise; the policy cannot say that (list the methods: "
            "GET, HEAD, POST for the safelisted ones alone)"
        )
    if ANY in methods:
        if credentials and judged:
            raise _wildcard(read.methods_key, "any method")
        methods = (ANY,)
    if ANY in exposed:
        if credentials and judged:
            raise _wildcard(read.expose_key, "every response header")
        exposed = (ANY,)
    if ANY in headers and not read.reflect_headers:
        if credentials and judged:
            raise _wildcard(read.allow_headers_key, "any request header but Authorization")
        if "authorization" not in headers and judged:
            raise ValueError(
                f"{read.allow_headers_key}: '*': a browser reads it as any request header but "
                "Authorization, which the policy cannot say: list authorization with it, or "
                "list the headers (or leave the option unset where that reflects them)"
            )
        headers = (ANY,)
    return PolicyRules(
        allow_origins=origins.allow_origins(),
        allow_origin_patterns=origins.allow_origin_patterns(),
        allow_methods=methods,
        allow_headers=headers,
        expose_headers=exposed,
        allow_credentials=credentials,
        max_age=_max_age(read.max_age, read.max_age_key),
        allow_private_network=read.private_network,
    )


def _policy(top: PolicyRules, paths: tuple[PathRule, ...] = ()) -> CorsPolicy:
    return CorsPolicy(
        allow_origins=top.allow_origins or (),
        allow_origin_patterns=top.allow_origin_patterns or (),
        allow_methods=top.allow_methods if top.allow_methods is not None else SAFELISTED_METHODS,
        allow_headers=top.allow_headers or (),
        expose_headers=top.expose_headers or (),
        allow_credentials=bool(top.allow_credentials),
        max_age=top.max_age,
        allow_private_network=bool(top.allow_private_network),
        paths=paths,
    )


_NOTHING: Final = PolicyRules(
    allow_origins=(),
    allow_origin_patterns=(),
    allow_methods=SAFELISTED_METHODS,
    allow_headers=(),
    expose_headers=(),
    allow_credentials=False,
    max_age=None,
    allow_private_network=False,
)
"""No CORS answer at all: no origin is allowed (the other keys then decide nothing)."""


def _list_text(value: Any, key: str, separator: str, package: str) -> str:
    """An option that is a string or an array of strings, as the header text it becomes."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return separator.join(value)
    raise ValueError(f"{key}: {_show(value)}: {package} takes a string or an array of strings")


# -- express: cors 2.x ----------------------------------------------------------------------------

EXPRESS: Final = "cors"
_EXPRESS_KEYS: Final = (
    "origin",
    "methods",
    "allowedHeaders",
    "headers",
    "exposedHeaders",
    "credentials",
    "maxAge",
    "preflightContinue",
    "optionsSuccessStatus",
)
_EXPRESS_METHODS: Final = "GET,HEAD,PUT,PATCH,POST,DELETE"
_PATH_CHARS: Final = re.compile(r"/[A-Za-z0-9\-._~$&',;=@%/]*")


def _express_rules(options: Mapping[str, Any], where: str) -> PolicyRules:
    """``cors(options)``: ``Object.assign({}, defaults, options)``, then per request."""
    _check_keys(options, _EXPRESS_KEYS, EXPRESS, where)

    def key(name: str) -> str:
        return f"{where}{name}"

    if truthy(options.get("preflightContinue", False)):
        raise ValueError(
            f"{key('preflightContinue')}: true: the app's own OPTIONS handling answers "
            "preflights, which the options do not say"
        )
    _success_status(options.get("optionsSuccessStatus", 204), key("optionsSuccessStatus"))

    origin = options.get("origin", ANY)
    _refuse_function(origin, key("origin"))
    origins = _Origins()
    if not truthy(origin):  # no origin: the middleware does nothing at all
        return _NOTHING
    if origin == ANY:
        origins.star = True
    elif isinstance(origin, str):  # a fixed Access-Control-Allow-Origin
        origins.exact = (_exact_origin(origin, key("origin"), EXPRESS),)
    else:
        _walk_origins(origin, key("origin"), EXPRESS, origins)

    methods = _list_text(options.get("methods", _EXPRESS_METHODS), key("methods"), ",", EXPRESS)

    allowed_key = key("allowedHeaders")
    allowed = options.get("allowedHeaders")
    if not truthy(allowed):
        allowed_key, allowed = key("headers"), options.get("headers")
    allowed_text = _list_text(allowed, allowed_key, ",", EXPRESS) if truthy(allowed) else None

    exposed = options.get("exposedHeaders")
    exposed_text = (
        _list_text(exposed, key("exposedHeaders"), ",", EXPRESS) if truthy(exposed) else None
    )

    max_age = options.get("maxAge")
    max_age_text: str | None = None
    if isinstance(max_age, int | float) and not isinstance(max_age, bool):
        max_age_text = js_string(max_age, key("maxAge"))
    elif isinstance(max_age, str) and max_age:
        max_age_text = max_age
    elif truthy(max_age):
        raise ValueError(f"{key('maxAge')}: {_show(max_age)}: cors takes a number of seconds")

    return _rules(
        _Read(
            origins=origins,
            credentials=options.get("credentials") is True,  # cors checks === true
            methods=methods or None,
            methods_key=key("methods"),
            allow_headers=allowed_text or None,
            allow_headers_key=allowed_key,
            reflect_headers=allowed_text is None,
            expose=exposed_text or None,
            expose_key=key("exposedHeaders"),
            max_age=max_age_text,
            max_age_key=key("maxAge"),
        )
    )


def _express_path(path: str, case_sensitive: bool, where: str) -> tuple[str | None, str | None]:
    """``app.use(path, ...)`` as a policy prefix or pattern; ``(None, None)`` for app-wide.

    Express 5 mounts match segment-wise on the raw path, a trailing ``/`` of the mount path
    optional, case-insensitively unless the app sets ``case sensitive routing``."""
    if not _PATH_CHARS.fullmatch(path) or "//" in path:
        raise ValueError(
            f"{where}path: {path!r}: only a literal path prefix is read (no parameters, "
            "wildcards or groups: path-to-regexp syntax)"
        )
    prefix = path.removesuffix("/")
    if not prefix:
        return None, None
    if case_sensitive:
        return prefix, None
    return None, f"(?i:{re.escape(prefix)})(?:/.*)?"


def _express_scopes(scopes: list[Any], *, case_sensitive: bool) -> CorsPolicy:
    top: PolicyRules | None = None
    paths: list[PathRule] = []
    for index, scope in enumerate(scopes, start=1):
        where = f"scopes[{index}]."
        if top is not None:
            raise ValueError(
                f"{where[:-1]}: never reached: the app-wide scope before it answers every request"
            )
        _refuse_function(scope, where[:-1])
        if not isinstance(scope, Mapping):
            raise ValueError(f"{where[:-1]}: {_show(scope)}: a scope is {{path, options}}")
        _check_keys(scope, ("path", "prefix", "options", "caseSensitive"), "a scope", where)
        path = scope.get("path", scope.get("prefix"))
        options = scope.get("options", {})
        _refuse_function(options, f"{where}options")
        if not isinstance(options, Mapping):
            raise ValueError(f"{where}options: {_show(options)}: the options of cors(options)")
        sensitive = scope.get("caseSensitive", case_sensitive)
        if not isinstance(sensitive, bool):
            raise ValueError(f"{where}caseSensitive: {_show(sensitive)}: true or false")
        if path is None or path is UNDEFINED:
            prefix = pattern = None
        elif isinstance(path, str):
            prefix, pattern = _express_path(path, sensitive, where)
        else:
            raise ValueError(f"{where}path: {_show(path)}: a path prefix such as '/api'")
        rules = _express_rules(options, f"{where}options.")
        if prefix is None and pattern is None:
            top = rules
        else:
            paths.append(PathRule(prefix=prefix, pattern=pattern, rules=rules, max_age_set=True))
    return _policy(top if top is not None else _NOTHING, tuple(paths))


def read_express(source: Source) -> CorsPolicy:
    """The policy that express's ``cors`` middleware (2.x) applies with these options.

    ``source`` is a module (see the module docstring) or its export already loaded: the options
    object, or an array of scopes ``{path, options, caseSensitive}`` in ``app.use`` order (the
    first scope whose path matches answers: each is a router that ends the request, as the
    Node harness mounts them); a scope without ``path`` (or ``"/"``) is app-wide and must come
    last. ``caseSensitive`` is the app's ``case sensitive routing`` (default false, as Express:
    the table is then a case-insensitive pattern). The Node harness's own document,
    ``{"scopes": [{"prefix", "options"}]}``, is read with its case-sensitive routing.
    """
    document = _document(source)
    if isinstance(document, Mapping) and set(document) == {"scopes"}:
        scopes = document["scopes"]
        if not isinstance(scopes, list):
            raise ValueError(f"scopes: {_show(scopes)}: a list of scopes")
        return _express_scopes(scopes, case_sensitive=True)
    if isinstance(document, list):
        return _express_scopes(document, case_sensitive=False)
    return _policy(_express_rules(_options_object(document, "cors(options)"), ""))


# -- fastify: @fastify/cors -----------------------------------------------------------------------

FASTIFY: Final = "@fastify/cors"
_FASTIFY_KEYS: Final = (
    "origin",
    "methods",
    "allowedHeaders",
    "exposedHeaders",
    "credentials",
    "maxAge",
    "preflightContinue",
    "optionsSuccessStatus",
    "preflight",
    "strictPreflight",
    "hideOptionsRoute",
    "cacheControl",
    "hook",
    "logLevel",
    "delegator",
)
_FASTIFY_HOOKS: Final = ("onRequest", "preParsing", "preValidation", "preHandler")


def _fastify_header(value: Any, key: str) -> str:
    """What ``reply.header(name, value)`` sends: an array joined with ``, ``; ``undefined`` as
    an empty value."""
    if value is UNDEFINED:
        return ""
    if isinstance(value, list):
        return ", ".join("" if v is None or v is UNDEFINED else js_string(v, key) for v in value)
    return js_string(value, key)


def read_fastify(source: Source) -> CorsPolicy:
    """The policy that ``@fastify/cors`` applies with these options (``fastify.register(cors,
    options)``; per-route ``config.cors`` is not part of them)."""
    document = _document(source)
    _refuse_function(document, "options (a delegator)")
    options = {
        "origin": ANY,
        "methods": "GET,HEAD,POST",
        "hook": "onRequest",
        "preflightContinue": False,
        "optionsSuccessStatus": 204,
        "credentials": False,
        "exposedHeaders": None,
        "allowedHeaders": None,
        "maxAge": None,
        "preflight": True,
        "strictPreflight": True,
        **_options_object(document, "fastify.register(cors, options)"),
    }
    _check_keys(options, _FASTIFY_KEYS, FASTIFY, "")
    if truthy(options.get("delegator")):
        raise ValueError(f"delegator: an options delegator — {_CODE}")
    hook = options["hook"]
    if hook == "preSerialization":
        raise ValueError(
            "hook: 'preSerialization': the CORS headers then reach only responses whose payload "
            "is serialized, which depends on the app's routes"
        )
    if hook not in _FASTIFY_HOOKS:
        raise ValueError(f"hook: {_show(hook)}: @fastify/cors refuses it (Invalid hook option)")
    if options["preflight"] is not True:
        raise ValueError(
            "preflight: not true: @fastify/cors leaves preflights to its OPTIONS route, which "
            "answers 404, so every preflight fails; the policy cannot say that"
        )
    if truthy(options["preflightContinue"]):
        raise ValueError(
            "preflightContinue: true: the app's OPTIONS routes answer preflights, which the "
            "options do not say"
        )
    _success_status(options["optionsSuccessStatus"], "optionsSuccessStatus")

    origin = options["origin"]
    _refuse_function(origin, "origin")
    origins = _Origins()
    if isinstance(origin, list) and ANY in origin:
        origin = ANY
    if origin is False:  # CORS disabled: no headers, and the OPTIONS route answers 404
        return _policy(_NOTHING)
    if not truthy(origin):
        raise ValueError(
            f"origin: {_show(origin)}: @fastify/cors fails every request with 'Invalid CORS "
            "origin option' (false disables CORS)"
        )
    if origin == ANY:
        origins.star = True
    elif isinstance(origin, str):
        origins.exact = (_exact_origin(origin, "origin", FASTIFY),)
    else:
        _walk_origins(origin, "origin", FASTIFY, origins)

    exposed = options["exposedHeaders"]
    allowed = options["allowedHeaders"]
    max_age = options["maxAge"]
    return _policy(
        _rules(
            _Read(
                origins=origins,
                credentials=truthy(options["credentials"]),
                methods=_fastify_header(options["methods"], "methods"),
                methods_key="methods",
                allow_headers=None
                if allowed is None
                else _fastify_header(allowed, "allowedHeaders"),
                allow_headers_key="allowedHeaders",
                reflect_headers=allowed is None,
                expose=None if exposed is None else _fastify_header(exposed, "exposedHeaders"),
                expose_key="exposedHeaders",
                max_age=None if max_age is None else js_string(max_age, "maxAge"),
                max_age_key="maxAge",
            )
        )
    )


# -- koa: @koa/cors -------------------------------------------------------------------------------

KOA: Final = "@koa/cors"
_KOA_KEYS: Final = (
    "origin",
    "allowMethods",
    "allowHeaders",
    "exposeHeaders",
    "credentials",
    "maxAge",
    "keepHeadersOnError",
    "secureContext",
    "privateNetworkAccess",
)


def read_koa(source: Source) -> CorsPolicy:
    """The policy that ``@koa/cors`` (5.x) applies with these options.

    Its origin is one string (``*`` by default; with credentials ``*`` reflects the request's
    origin); ``allowHeaders`` unset or empty reflects the requested headers; a ``maxAge`` of
    number ``0`` sends nothing (the string ``"0"`` sends 0); ``privateNetworkAccess`` answers
    private network preflights.
    """
    options = {
        "allowMethods": "GET,HEAD,PUT,POST,DELETE,PATCH",
        **_options_object(_document(source), "cors(options)"),
    }
    _check_keys(options, _KOA_KEYS, KOA, "")
    origin = options.get("origin")
    _refuse_function(origin, "origin")
    credentials = options.get("credentials")
    _refuse_function(credentials, "credentials")
    origins = _Origins()
    if not truthy(origin) or origin == ANY:
        # '*', and with credentials the request's origin, reflected
        origins.star, origins.reflect_any = (False, True) if truthy(credentials) else (True, False)
    elif isinstance(origin, str):
        origins.exact = (_exact_origin(origin, "origin", KOA),)
    else:
        raise ValueError(
            f"origin: {_show(origin)}: @koa/cors takes one origin string (or a function): it "
            "sends anything else as the header's value, which matches no origin"
        )

    def text(name: str) -> str | None:
        """``Array.join(",")`` at construction, then sent when truthy (``String(value)``)."""
        value = options.get(name)
        if isinstance(value, list):
            value = js_string(value, name)
        return js_string(value, name) if truthy(value) else None

    allowed = text("allowHeaders")
    return _policy(
        _rules(
            _Read(
                origins=origins,
                credentials=truthy(credentials),
                methods=text("allowMethods"),
                methods_key="allowMethods",
                allow_headers=allowed,
                allow_headers_key="allowHeaders",
                reflect_headers=allowed is None,
                expose=text("exposeHeaders"),
                expose_key="exposeHeaders",
                max_age=text("maxAge"),
                max_age_key="maxAge",
                private_network=truthy(options.get("privateNetworkAccess")),
            )
        )
    )


# -- hono: hono/cors ------------------------------------------------------------------------------

HONO: Final = "hono/cors"
_HONO_KEYS: Final = (
    "origin",
    "allowMethods",
    "allowHeaders",
    "exposeHeaders",
    "credentials",
    "maxAge",
)


def _hono_list(value: Any, key: str) -> str | None:
    """``opts.X?.length ? opts.X.join(",") : undefined`` for an array option."""
    if value is None or value is UNDEFINED:
        return None
    if isinstance(value, list):
        return js_string(value, key) if value else None
    raise ValueError(f"{key}: {_show(value)}: hono takes an array (it calls .join on it)")


def read_hono(source: Source) -> CorsPolicy:
    """The policy that hono's ``cors`` middleware (4.x) applies with these options.

    Its origin is ``*``, one origin or an array of exact origins (no RegExps); ``allowHeaders``
    empty (the default) reflects the requested headers; ``allowMethods`` must be an array.
    """
    options = {
        "origin": ANY,
        "allowMethods": ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "QUERY"],
        "allowHeaders": [],
        "exposeHeaders": [],
        **_options_object(_document(source), "cors(options)"),
    }
    _check_keys(options, _HONO_KEYS, HONO, "")
    origin = options["origin"]
    _refuse_function(origin, "origin")
    origins = _Origins()
    if origin == ANY:
        origins.star = True
    elif isinstance(origin, str):
        if origin:
            origins.exact = (_exact_origin(origin, "origin", HONO),)
    elif isinstance(origin, list):
        for index, entry in enumerate(origin):
            where = f"origin[{index}]"
            _refuse_function(entry, where)
            if not isinstance(entry, str):
                raise ValueError(
                    f"{where}: {_show(entry)}: hono compares origins with Array.includes, so "
                    "only strings match (no RegExps)"
                )
            exact = _exact_origin(entry, where, HONO)
            if exact not in origins.exact:
                origins.exact += (exact,)
    else:
        raise ValueError(
            f"origin: {_show(origin)}: hono takes a string, an array of strings or a function"
        )

    methods = options["allowMethods"]
    _refuse_function(methods, "allowMethods")
    if isinstance(methods, str):
        raise ValueError(
            "allowMethods: a string: hono takes an array (given a string it sends no "
            "Access-Control-Allow-Methods at all)"
        )
    methods_text = _hono_list(methods, "allowMethods")
    allowed = _hono_list(options["allowHeaders"], "allowHeaders")
    max_age = options.get("maxAge")
    return _policy(
        _rules(
            _Read(
                origins=origins,
                credentials=truthy(options.get("credentials")),
                methods=methods_text,
                methods_key="allowMethods",
                allow_headers=allowed,
                allow_headers_key="allowHeaders",
                reflect_headers=allowed is None,
                expose=_hono_list(options["exposeHeaders"], "exposeHeaders"),
                expose_key="exposeHeaders",
                max_age=None
                if max_age is None or max_age is UNDEFINED
                else js_string(max_age, "maxAge"),
                max_age_key="maxAge",
            )
        )
    )
