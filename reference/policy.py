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
"""

from __future__ import annotations

from dataclasses import dataclass, field

ANY = "*"


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
    """One ``[[paths]]`` table: exactly one of ``prefix`` and ``pattern`` is set."""

    prefix: str | None = None
    pattern: str | None = None  # re.fullmatch against the raw path
    rules: PolicyRules = field(default_factory=PolicyRules)
    max_age_set: bool = False  # distinguishes "max_age = ... given" from inherit


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
