"""The declared policy: what the operator intends (DESIGN.md "The policy").

A ``CorsPolicy`` is a frozen value. Semantics (documented in README "Policy semantics"; every
intended verdict rests on them):

* ``allow_origins``: serialized origins, compared exactly after canonicalization; ``"*"`` means
  any origin, including ``null``; ``"null"`` must be listed to allow opaque origins otherwise.
* ``allow_origin_patterns``: Python regular expressions, matched with ``re.fullmatch`` against
  the whole serialized origin (anchoring is implicit); they never match ``null``.
* ``allow_methods``: methods, compared exactly (case-sensitive, as Fetch does); ``"*"`` any.
  The CORS-safelisted methods GET, HEAD and POST are always allowed: the protocol cannot restrict
  them (Fetch never asks a server to list them).
* ``allow_headers``: header names, case-insensitive; ``"*"`` any, including ``Authorization``.
* ``expose_headers``: header names script may read beyond the safelisted ones; ``"*"`` all.
* ``allow_credentials``: whether credentialed requests (cookies, HTTP auth) may be read.
* ``max_age``: seconds a preflight may be cached, or ``None`` for "say nothing".
* ``allow_private_network``: whether to answer a PNA preflight with
  ``Access-Control-Allow-Private-Network: true``.
* ``paths``: ``PathRule`` overrides; the first rule (in declaration order) whose prefix or
  pattern matches the request path wins; matching is case-sensitive on the raw,
  still-percent-encoded path, without the query.

Resolving ``paths`` gives an :class:`EffectivePolicy` (:meth:`CorsPolicy.rules_for_path`): every
key resolved, each regular expression compiled once when the policy is built, and each
``allow_origins`` entry canonicalized once (:func:`canonical_origin`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Final, TypeVar

from reference.origins import OriginError, TupleOrigin, parse_url

ANY = "*"
NULL = "null"
TOP_LEVEL = "top level"
_T = TypeVar("_T")

OVERRIDABLE_KEYS: Final = (
    "allow_origins",
    "allow_origin_patterns",
    "allow_methods",
    "allow_headers",
    "expose_headers",
    "allow_credentials",
    "max_age",
    "allow_private_network",
)
"""The keys of a policy that a ``[[paths]]`` table may override, in documentation order."""


def canonical_origin(entry: str) -> str | None:
    """The form an ``allow_origins`` entry is compared in, or ``None`` if it names no origin.

    ``"*"`` and ``"null"`` stay as they are; anything else is parsed as a URL and replaced by the
    serialization of its origin, so ``https://A.example:443`` becomes ``https://a.example``. An
    entry that is not a URL, or whose origin is opaque (``data:``, ``file:``), matches nothing
    (``load_policy`` rejects such entries; a ``CorsPolicy`` built in Python keeps them inert).
    """
    if entry in (ANY, NULL):
        return entry
    try:
        origin = parse_url(entry).origin
    except OriginError:
        return None
    return origin.serialize() if isinstance(origin, TupleOrigin) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyRules:
    """The keys that a ``[[paths]]`` table may override; ``None`` means "inherit"."""

    allow_origins: tuple[str, ...] | None = None
    allow_origin_patterns: tuple[str, ...] | None = None
    allow_methods: tuple[str, ...] | None = None
    allow_headers: tuple[str, ...] | None = None
    expose_headers: tuple[str, ...] | None = None
    allow_credentials: bool | None = None
    max_age: int | None = None
    allow_private_network: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PathRule:
    """One ``[[paths]]`` table: exactly one of ``prefix`` and ``pattern`` is set.

    ``max_age=None`` is a meaningful override ("send no max-age"), so ``max_age_set`` says whether
    the table gives ``max_age`` at all. A rule whose ``rules.max_age`` is an integer always
    overrides; ``__post_init__`` sets ``max_age_set`` for it, so the two spellings are equal.
    """

    prefix: str | None = None
    pattern: str | None = None  # re.fullmatch against the raw path
    rules: PolicyRules = field(default_factory=PolicyRules)
    max_age_set: bool = False  # distinguishes "max_age = ... given" from inherit
    compiled_pattern: re.Pattern[str] | None = field(
        init=False, default=None, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if (self.prefix is None) == (self.pattern is None):
            raise ValueError("a PathRule sets exactly one of prefix and pattern")
        if self.rules.max_age is not None and not self.max_age_set:
            object.__setattr__(self, "max_age_set", True)
        if self.pattern is not None:
            object.__setattr__(self, "compiled_pattern", re.compile(self.pattern))

    def matches(self, path: str) -> bool:
        """Whether this rule applies to ``path`` (raw, percent-encoded, without the query).

        A prefix matches segment-wise: ``/api`` matches ``/api`` and ``/api/x`` but not ``/apix``;
        a prefix ending in ``/`` matches everything below it. A pattern must match the whole path.
        Both are case-sensitive.
        """
        if self.compiled_pattern is not None:
            return self.compiled_pattern.fullmatch(path) is not None
        prefix = self.prefix or ""
        if path == prefix:
            return True
        if prefix.endswith("/"):
            return path.startswith(prefix)
        return path.startswith(prefix + "/")

    def describe(self) -> str:
        """``prefix '/public'`` or ``pattern '/v[0-9]+/.*'``."""
        if self.prefix is not None:
            return f"prefix {self.prefix!r}"
        return f"pattern {self.pattern!r}"

    def overridden_keys(self) -> frozenset[str]:
        """The keys this table sets (the rest inherit from the top level)."""
        keys = {key for key in OVERRIDABLE_KEYS if getattr(self.rules, key) is not None}
        if self.max_age_set:
            keys.add("max_age")
        return frozenset(keys)


@dataclass(frozen=True, slots=True, kw_only=True)
class EffectivePolicy:
    """The policy that applies to one path: every key resolved, nothing left to inherit.

    ``matched_rule`` says where it came from (``"top level"`` or ``"[[paths]] #2 (prefix
    '/public')"``, counting tables from 1) and ``overridden`` which keys that table set.
    ``origins`` (canonical ``allow_origins``) and ``origin_patterns`` (compiled) are derived once.
    """

    allow_origins: tuple[str, ...]
    allow_origin_patterns: tuple[str, ...]
    allow_methods: tuple[str, ...]
    allow_headers: tuple[str, ...]
    expose_headers: tuple[str, ...]
    allow_credentials: bool
    max_age: int | None
    allow_private_network: bool
    matched_rule: str = TOP_LEVEL
    overridden: frozenset[str] = frozenset()
    origins: frozenset[str] = field(init=False, default=frozenset(), repr=False, compare=False)
    origin_patterns: tuple[re.Pattern[str], ...] = field(
        init=False, default=(), repr=False, compare=False
    )
    # allow_headers and expose_headers as the lowercased bytes names are compared in.
    header_names: frozenset[bytes] = field(
        init=False, default=frozenset(), repr=False, compare=False
    )
    exposed_names: frozenset[bytes] = field(
        init=False, default=frozenset(), repr=False, compare=False
    )

    def __post_init__(self) -> None:
        canonical = (canonical_origin(entry) for entry in self.allow_origins)
        object.__setattr__(self, "origins", frozenset(c for c in canonical if c is not None))
        object.__setattr__(
            self, "origin_patterns", tuple(re.compile(p) for p in self.allow_origin_patterns)
        )
        object.__setattr__(self, "header_names", _name_bytes(self.allow_headers))
        object.__setattr__(self, "exposed_names", _name_bytes(self.expose_headers))

    def key_ref(self, key: str) -> str:
        """Name ``key`` (e.g. ``allow_origin_patterns[0]``) where its value came from: the bare
        key for the top level, ``allow_origins in [[paths]] #1 (prefix '/public')`` for a key that
        table sets. The key always comes first, so ``ref.split(" ")[0].split("[")[0]`` is it."""
        if key.split("[", 1)[0] in self.overridden:
            return f"{key} in {self.matched_rule}"
        return key


@dataclass(frozen=True, slots=True, kw_only=True)
class CorsPolicy:
    allow_origins: tuple[str, ...] = ()
    allow_origin_patterns: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ("GET", "HEAD", "POST")
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age: int | None = None
    allow_private_network: bool = False
    paths: tuple[PathRule, ...] = ()
    # Resolved once per policy: the top level, then each [[paths]] table over it.
    resolved: tuple[EffectivePolicy, ...] = field(init=False, default=(), repr=False, compare=False)
    _hash: int = field(init=False, default=0, repr=False, compare=False)

    def __hash__(self) -> int:
        # Memoized functions hash their policy argument on every call: once per policy, as the
        # dataclass would (its fields that equality compares).
        return self._hash

    def __post_init__(self) -> None:
        compared = (getattr(self, f.name) for f in dataclasses.fields(self) if f.compare)
        object.__setattr__(self, "_hash", hash(tuple(compared)))
        top = EffectivePolicy(
            allow_origins=self.allow_origins,
            allow_origin_patterns=self.allow_origin_patterns,
            allow_methods=self.allow_methods,
            allow_headers=self.allow_headers,
            expose_headers=self.expose_headers,
            allow_credentials=self.allow_credentials,
            max_age=self.max_age,
            allow_private_network=self.allow_private_network,
        )
        resolved = [top]
        for number, rule in enumerate(self.paths, start=1):
            r = rule.rules
            resolved.append(
                EffectivePolicy(
                    allow_origins=_pick(r.allow_origins, top.allow_origins),
                    allow_origin_patterns=_pick(r.allow_origin_patterns, top.allow_origin_patterns),
                    allow_methods=_pick(r.allow_methods, top.allow_methods),
                    allow_headers=_pick(r.allow_headers, top.allow_headers),
                    expose_headers=_pick(r.expose_headers, top.expose_headers),
                    allow_credentials=_pick(r.allow_credentials, top.allow_credentials),
                    max_age=r.max_age if rule.max_age_set else top.max_age,
                    allow_private_network=_pick(r.allow_private_network, top.allow_private_network),
                    matched_rule=f"[[paths]] #{number} ({rule.describe()})",
                    overridden=rule.overridden_keys(),
                )
            )
        object.__setattr__(self, "resolved", tuple(resolved))

    def rules_for_path(self, path: str) -> EffectivePolicy:
        """The policy for a request path: the first ``[[paths]]`` table that matches, over the
        top level. ``path`` is the raw request path; a query (``?...``) is ignored."""
        path = path.split("?", 1)[0]
        for index, rule in enumerate(self.paths, start=1):
            if rule.matches(path):
                return self.resolved[index]
        return self.resolved[0]

    @property
    def top_level(self) -> EffectivePolicy:
        return self.resolved[0]


def _pick(override: _T | None, inherited: _T) -> _T:
    return inherited if override is None else override


def _name_bytes(names: tuple[str, ...]) -> frozenset[bytes]:
    """Policy header names as the lowercased bytes they are compared in (ASCII case only)."""
    return frozenset(name.encode("utf-8").lower() for name in names)
