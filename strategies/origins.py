"""Origins: what a browser can put in ``Origin``, and origins that sit next to a policy's.

Everything here is built from the vocabulary of :mod:`reference.origins` and
:mod:`reference.grammar` (the ABNF-derived patterns, the canonical-form parser); nothing asks the
oracle whether an origin is *allowed*. Near misses are candidates: the consumer decides with
``intended_verdict`` what the policy means for each one.

Shrinking goes toward ``https://a.example`` (first in the special pool), then toward the first
allowed origin of a policy.

Drawing is one choice from a pool computed once (per argument set, or per policy): the special
origins, a fixed spread of domains, IDN, IPv4 and IPv6 hosts and ports, a policy's literals,
strings sampled from each of its patterns, and every fixed near miss. The grammar-driven
generators (``st.from_regex`` labels and patterns, random ports, IP addresses) stay in the pools
as :class:`~strategies._util.Drawn` slots with a small share, so new values keep turning up.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import string
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from reference.grammar import DOMAIN_LABEL_PATTERN
from reference.origins import (
    DEFAULT_PORTS,
    OpaqueOrigin,
    Origin,
    OriginError,
    TupleOrigin,
    parse_serialized_origin,
    parse_url,
    serialize_ipv6,
)
from reference.policy import ANY, NULL, CorsPolicy
from strategies._regex import regex_samples
from strategies._util import (
    RARE_SHARE,
    Pool,
    mix,
    pooled,
    present,
    rare,
    unique,
)
from strategies._validation import BROWSER_SCHEMES, check_bool, check_policy, check_schemes

__all__ = [
    "NULL_ORIGIN",
    "SPECIAL_ORIGINS",
    "NearMiss",
    "NearMissKind",
    "first_allowed_origin",
    "near_miss_origins",
    "near_misses",
    "origins",
    "policy_origins",
    "relevant_origins",
    "serialized_origins",
]

NULL_ORIGIN: Final = OpaqueOrigin(label="null")
"""The opaque origin as a browser reports it (sandboxed iframe, ``data:`` document, ...)."""

SPECIAL_ORIGINS: Final = (
    "https://a.example",
    "http://localhost:3000",
    "http://127.0.0.1:8080",
    "http://[::1]:8080",
    "https://xn--lve-6lad.example",
    "null",
)
"""Mixed into :func:`origins`; the first one is where shrinking ends."""

_TLDS: Final = ("example", "test", "com", "org")
_SPECIAL_PORTS: Final = (8080, 3000, 8443, 80, 443, 444, 65535)
_DOMAIN_LABEL: Final = DOMAIN_LABEL_PATTERN.decode("ascii")
# Letters outside ASCII that IDNA 2003 (the stdlib codec) and UTS #46 (browsers) treat alike.
_IDN_LETTERS: Final = "éèêëàâäôöûüçñåøæœαβγδεζηθλμπρστφабвгдежзиклмнопрстуфテスト例子한국"
# Confusable letters (Cyrillic look-alikes of Latin ones), for the special-characters near miss.
_LOOKALIKES: Final = {  # Latin letter → its Cyrillic twin
    "a": "\u0430",
    "c": "\u0441",
    "e": "\u0435",
    "o": "\u043e",
    "p": "\u0440",
    "x": "\u0445",
    "y": "\u0443",
}
_DIGIT_SWAPS: Final = {"l": "1", "o": "0", "i": "1", "e": "3", "a": "4", "s": "5"}
# What a serialized origin is made of; used as from_regex's alphabet for policy patterns.
_ORIGIN_ALPHABET: Final = string.ascii_lowercase + string.digits + "-.:/[]"
_EVIL_DOMAIN: Final = "evil.com"
# The fixed spread of hosts in the origins() pool (besides SPECIAL_ORIGINS).
_POOL_DOMAINS: Final = (
    "example.com",
    "app.test",
    "sub.a.example",
    "x-y.org",
    "localhost",
    "a",
    "a1.example",
    "a_b.example",
    "1a.test",
    "a.b.c.d.example",
    "sixty-three-characters-long-the-longest-label-that-dns-allows-x.test",
)
_POOL_IDN_TEXTS: Final = ("bücher", "пример", "例子", "테스트", "élève")
_POOL_IPV4: Final = ("10.0.0.1", "192.168.1.20", "8.8.8.8", "0.0.0.0", "255.255.255.255")
_POOL_IPV6: Final = ("2001:db8::1", "fe80::1", "::", "::ffff:192.0.2.128", "1:2:3:4:5:6:7:8")
_POOL_PORTS: Final = (None, 8080, 3000, 8443, 80, 443, 444, 65535, 1)


def _browser_tuple_origin(scheme: str, host: str, port: int | None) -> TupleOrigin | None:
    """The origin ``scheme://host[:port]`` if a browser can send it exactly so, else ``None``.

    The default port is dropped first (a browser never spells it out); the result must be the
    canonical serialization that :func:`reference.origins.parse_serialized_origin` accepts.
    """
    if scheme not in BROWSER_SCHEMES:
        return None
    if port is not None and not 0 < port <= 65535:
        return None
    if port == DEFAULT_PORTS[scheme]:
        port = None
    if not _canonical_host(scheme, host):
        return None
    return TupleOrigin(scheme=scheme, host=host, port=port)


@functools.lru_cache(maxsize=1024)
def _canonical_host(scheme: str, host: str) -> bool:
    """Whether ``scheme://host`` is the canonical serialization of its origin. Checked once a
    host, not once a port: a port in range and not the default changes nothing (the origin
    grammar reads the host up to the port's colon, which a canonical host has only inside
    IPv6 brackets; the port then serializes as written). The pool tries each host under nine
    ports; tests/test_strategies_pools.py checks the shortcut against the whole check."""
    origin = TupleOrigin(scheme=scheme, host=host, port=None)
    return parse_serialized_origin(origin.serialize()) == origin


def _is_browser_label(label: str) -> bool:
    # A browser (UTS #46, CheckHyphens off but punycode validated) rejects an ``xn--`` label
    # that does not decode; the stdlib codec would let it through in ASCII form.
    if not label.startswith("xn--"):
        return True
    try:
        label.encode("ascii").decode("idna")
    except UnicodeError:
        return False
    return True


def _idn_label(text: str) -> str | None:
    """``text`` in punycode if the stdlib IDNA codec takes it unchanged by nameprep."""
    try:
        ascii_label = text.encode("idna").decode("ascii")
        round_trip = ascii_label.encode("ascii").decode("idna")
    except UnicodeError:
        return None
    # Nameprep changed the label (case folding, ß → ss, compatibility forms): IDNA 2003 and the
    # browsers' UTS #46 may disagree, so keep only labels both map the same way.
    if round_trip != text or not ascii_label.startswith("xn--"):
        return None
    return ascii_label


@functools.cache
def _ascii_labels() -> st.SearchStrategy[str]:
    return st.from_regex(_DOMAIN_LABEL, fullmatch=True).filter(_is_browser_label)


@functools.cache
def _idn_labels() -> st.SearchStrategy[str]:
    letters = st.one_of(
        st.sampled_from(_IDN_LETTERS),
        st.sampled_from(string.ascii_lowercase + string.digits),
        st.characters(categories=("Ll", "Lo"), min_codepoint=0xC0, max_codepoint=0x9FFF),
    )
    return (
        st.text(letters, min_size=1, max_size=10)
        .map(_idn_label)
        .filter(lambda label: label is not None)
        .map(present)
    )


@functools.cache
def _domains() -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(st.lists(_ascii_labels(), min_size=1, max_size=3), st.sampled_from(_TLDS)).map(
            lambda parts: ".".join([*parts[0], parts[1]])
        ),
        st.just("localhost"),
        # Straight from the grammar: single labels, numeric-looking last labels (filtered out
        # later when the URL parser would read them as IPv4), long names.
        st.lists(_ascii_labels(), min_size=1, max_size=4).map(".".join),
    )


@functools.cache
def _idn_domains() -> st.SearchStrategy[str]:
    return st.tuples(
        _idn_labels(),
        st.lists(st.one_of(_ascii_labels(), _idn_labels()), max_size=2),
        st.sampled_from(_TLDS),
    ).map(lambda parts: ".".join([parts[0], *parts[1], parts[2]]))


@functools.cache
def _ipv4_hosts() -> st.SearchStrategy[str]:
    return st.ip_addresses(v=4).map(str)


@functools.cache
def _ipv6_hosts() -> st.SearchStrategy[str]:
    return st.ip_addresses(v=6).map(
        lambda address: f"[{serialize_ipv6(ipaddress.IPv6Address(address))}]"
    )


@functools.cache
def _ports() -> st.SearchStrategy[int | None]:
    return st.one_of(st.none(), st.sampled_from(_SPECIAL_PORTS), st.integers(1, 65535))


def _parse_special(text: str) -> Origin:
    origin = parse_serialized_origin(text)
    assert origin is not None, text
    return NULL_ORIGIN if isinstance(origin, OpaqueOrigin) else origin


def origins(
    *,
    schemes: Sequence[str] = BROWSER_SCHEMES,
    allow_null: bool = True,
    allow_ip: bool = True,
    allow_idn: bool = True,
) -> st.SearchStrategy[Origin]:
    """Origins a browser can send in ``Origin``: tuple origins in canonical form, or ``null``.

    Hosts are lowercase domains (from :data:`reference.grammar.DOMAIN_LABEL_PATTERN`), punycode
    IDN domains (``allow_idn``), dotted IPv4 and canonical ``[IPv6]`` (``allow_ip``). A port is
    absent, an explicit non-default port, or a default port, which is dropped as the URL parser
    does. ``null`` is the opaque origin (``allow_null``). :data:`SPECIAL_ORIGINS` are mixed in.
    """
    scheme_names = check_schemes(schemes)
    allow_null = check_bool("allow_null", allow_null)
    allow_ip = check_bool("allow_ip", allow_ip)
    allow_idn = check_bool("allow_idn", allow_idn)
    if not scheme_names and not allow_null:
        raise InvalidArgument(
            f"schemes={schemes!r} with allow_null=False leaves no origin to generate"
        )
    return _origins(scheme_names, allow_null, allow_ip, allow_idn)


@functools.cache
def _origins(
    scheme_names: tuple[str, ...], allow_null: bool, allow_ip: bool, allow_idn: bool
) -> st.SearchStrategy[Origin]:
    return pooled(origin_pool(scheme_names, allow_null, allow_ip, allow_idn))


def _is_ip_host(host: str) -> bool:
    return host.startswith("[") or host.replace(".", "").isdigit()


@functools.cache
def origin_pool(
    scheme_names: tuple[str, ...] = BROWSER_SCHEMES,
    allow_null: bool = True,
    allow_ip: bool = True,
    allow_idn: bool = True,
) -> Pool[Origin]:
    """The pool behind :func:`origins` (arguments already checked): the special origins
    (three sevenths), the fixed spread of hosts under every scheme and port (four sevenths),
    then generated tuple origins now and then."""
    specials: list[Origin] = []
    for text in SPECIAL_ORIGINS:
        origin = _parse_special(text)
        if isinstance(origin, OpaqueOrigin):
            if allow_null:
                specials.append(origin)
            continue
        if origin.scheme not in scheme_names or (_is_ip_host(origin.host) and not allow_ip):
            continue
        if "xn--" in origin.host and not allow_idn:
            continue
        specials.append(origin)
    if not scheme_names:
        return Pool[Origin].of(specials)
    hosts = list(_POOL_DOMAINS)
    if allow_idn:
        hosts += [f"{label}.{_TLDS[i % len(_TLDS)]}" for i, label in enumerate(_pool_idn_labels())]
    if allow_ip:
        hosts += _POOL_IPV4
        hosts += [f"[{serialize_ipv6(ipaddress.IPv6Address(a))}]" for a in _POOL_IPV6]
    found = (
        _browser_tuple_origin(scheme, host, port)
        for port in _POOL_PORTS
        for host in hosts
        for scheme in scheme_names
    )
    spread = [origin for origin in found if origin is not None]
    host_strategies = [_domains()]
    if allow_idn:
        host_strategies.append(_idn_domains())
    if allow_ip:
        host_strategies += [_ipv4_hosts(), _ipv6_hosts()]
    generated = st.builds(
        _browser_tuple_origin,
        scheme=st.sampled_from(scheme_names),
        host=st.one_of(host_strategies),
        port=_ports(),
    )
    drawn = generated.filter(_keeps_ip_rule(allow_ip)).map(present)
    fixed = [(3, Pool[Origin].of(specials)), (4, Pool[Origin].of(unique(spread)))]
    return rare(mix(fixed), drawn, share=RARE_SHARE)


def _keeps_ip_rule(allow_ip: bool) -> Callable[[TupleOrigin | None], bool]:
    # A generated domain can be all digits and dots, which the URL parser reads as IPv4.
    return lambda origin: origin is not None and (allow_ip or not _is_ip_host(origin.host))


def _pool_idn_labels() -> list[str]:
    return [label for text in _POOL_IDN_TEXTS if (label := _idn_label(text)) is not None]


def serialized_origins(
    *,
    schemes: Sequence[str] = BROWSER_SCHEMES,
    allow_null: bool = True,
    allow_ip: bool = True,
    allow_idn: bool = True,
) -> st.SearchStrategy[bytes]:
    """:func:`origins`, serialized as the ``Origin`` header value bytes (``b"null"`` included)."""
    return origins(
        schemes=schemes, allow_null=allow_null, allow_ip=allow_ip, allow_idn=allow_idn
    ).map(lambda origin: origin.serialize().encode("ascii"))


# --- what a policy allows ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _AllowedOrigins:
    """Every origin entry of a policy, top level and all ``[[paths]]`` tables together."""

    literals: tuple[TupleOrigin, ...]  # canonical, de-duplicated, in declaration order
    patterns: tuple[str, ...]
    allows_null: bool
    allows_any: bool

    @property
    def serialized(self) -> frozenset[str]:
        names = {origin.serialize() for origin in self.literals}
        return frozenset(names | ({NULL} if self.allows_null else set()))


@functools.lru_cache(maxsize=256)
def _allowed_origins(policy: CorsPolicy) -> _AllowedOrigins:
    entries: list[str] = list(policy.allow_origins)
    patterns: list[str] = list(policy.allow_origin_patterns)
    for rule in policy.paths:
        entries += rule.rules.allow_origins or ()
        patterns += rule.rules.allow_origin_patterns or ()
    literals: dict[TupleOrigin, None] = {}
    for entry in entries:
        if entry in (ANY, NULL):
            continue
        try:
            origin = parse_url(entry).origin
        except ValueError:  # OriginError, or anything else the URL parser refuses
            continue  # an entry that names no origin allows nothing
        if isinstance(origin, TupleOrigin):
            literals[origin] = None
    return _AllowedOrigins(
        literals=tuple(literals),
        patterns=tuple(dict.fromkeys(patterns)),
        allows_null=NULL in entries,
        allows_any=ANY in entries,
    )


@functools.cache
def _pattern_strings(pattern: str) -> st.SearchStrategy[str]:
    """Strings that fully match ``pattern``, drawn from origin characters where it allows."""
    restricted = st.from_regex(pattern, fullmatch=True, alphabet=_ORIGIN_ALPHABET)
    try:
        restricted.validate()
    except (InvalidArgument, re.error):
        # The pattern spells characters a serialized origin never holds (``App``): generate
        # without restriction; the canonical-form filter downstream decides what survives.
        return st.from_regex(pattern, fullmatch=True)
    return restricted


def _canonical_origin(text: str) -> Origin | None:
    origin = parse_serialized_origin(text)
    if isinstance(origin, TupleOrigin) and origin.scheme not in BROWSER_SCHEMES:
        return None
    return NULL_ORIGIN if isinstance(origin, OpaqueOrigin) else origin


def _pattern_origins(pattern: str) -> st.SearchStrategy[TupleOrigin]:
    def tuple_origin(text: str) -> TupleOrigin | None:
        origin = _canonical_origin(text)
        return origin if isinstance(origin, TupleOrigin) else None  # patterns never match null

    return (
        _pattern_strings(pattern)
        .map(tuple_origin)
        .filter(lambda origin: origin is not None)
        .map(present)
    )


@functools.lru_cache(maxsize=256)
def _pattern_origin_samples(pattern: str) -> tuple[TupleOrigin, ...]:
    """Canonical origins among a few strings sampled from ``pattern`` (computed once)."""
    found = (_canonical_origin(text) for text in regex_samples(pattern, alphabet=_ORIGIN_ALPHABET))
    return unique([origin for origin in found if isinstance(origin, TupleOrigin)])


@functools.lru_cache(maxsize=256)
def listed_origin_pool(policy: CorsPolicy) -> Pool[Origin]:
    """Each kind of entry equally often: the exact origins (and ``null``), each pattern (its
    samples, then ``st.from_regex`` now and then), and :func:`origins` for ``"*"``."""
    allowed = _allowed_origins(policy)
    sections: list[tuple[float, Pool[Origin]]] = []
    exact: list[Origin] = [o for o in allowed.literals if o.scheme in BROWSER_SCHEMES]
    if allowed.allows_null:
        exact.append(NULL_ORIGIN)
    sections.append((1, Pool[Origin].of(exact)))
    for pattern in allowed.patterns:
        samples = _pattern_origin_samples(pattern)
        drawn = _pattern_origins(pattern)
        sections.append((1, rare(Pool[Origin].of(samples), drawn, share=RARE_SHARE)))
    if allowed.allows_any:
        sections.append((1, origin_pool()))
    return mix(sections)


def first_allowed_origin(policy: CorsPolicy) -> st.SearchStrategy[Origin]:
    """The simplest origin for ``policy``: its first listed browser origin (``null`` if that is
    all it lists), else ``https://a.example``. What the request strategies shrink toward."""
    return st.just(simplest_origin(check_policy(policy)))


def simplest_origin(policy: CorsPolicy) -> Origin:
    """The value of :func:`first_allowed_origin` (policy already checked)."""
    allowed = _allowed_origins(policy)
    exact = [o for o in allowed.literals if o.scheme in BROWSER_SCHEMES]
    if exact:
        return exact[0]
    return NULL_ORIGIN if allowed.allows_null else _parse_special(SPECIAL_ORIGINS[0])


def policy_origins(policy: CorsPolicy) -> st.SearchStrategy[Origin]:
    """Origins the policy lists: every ``allow_origins`` entry of the top level and of each
    ``[[paths]]`` table, canonicalized as a browser would send it (``null`` included when listed),
    and canonical origins generated from each ``allow_origin_patterns`` entry. ``"*"`` adds
    :func:`origins`. A policy that allows no origin gives ``st.nothing()``.

    Which of them the policy grants on a given path is the oracle's business, not this one's.
    """
    return _policy_origins(check_policy(policy))


@functools.lru_cache(maxsize=256)
def _policy_origins(policy: CorsPolicy) -> st.SearchStrategy[Origin]:
    return pooled(listed_origin_pool(policy))


# --- near misses ---------------------------------------------------------------------------------


class NearMissKind(StrEnum):
    """How a near-miss origin was derived from an allowed entry (each one a known server bug)."""

    PREFIX = "prefix"  # the allowed origin is a prefix: https://a.example.evil.com
    SUFFIX = "suffix"  # ... a suffix: https://evil-a.example, https://evila.example
    SUBDOMAIN = "subdomain"  # https://x.a.example
    PARENT_DOMAIN = "parent-domain"  # https://api.a.example → https://a.example
    OTHER_SCHEME = "other-scheme"  # http://a.example
    OTHER_PORT = "other-port"  # https://a.example:8443, http://localhost:30001
    TRAILING_DOT = "trailing-dot"  # https://a.example. (only if it serializes canonically)
    CONCATENATION = "concatenation"  # https://a.example.b.example
    DOT_REPLACED = "dot-replaced"  # https://a-example, https://axexample (an unescaped ".")
    SPECIAL_CHARACTERS = "special-characters"  # a1.example, a.examp1e, punycode look-alikes
    NULL_LOOKALIKE = "null-lookalike"  # http://null when "null" is allowed
    OPAQUE = "opaque"  # null when the policy lists origins but not "null"
    PATTERN_DOT = "pattern-dot"  # a pattern match with one "." replaced by a letter
    PATTERN_AFFIX = "pattern-affix"  # a pattern match with a label added before/after the host
    PATTERN_CANONICAL = "pattern-canonical"  # the canonical form of a non-canonical match


@dataclass(frozen=True, slots=True, kw_only=True)
class NearMiss:
    """A near-miss origin, how it was made, and the policy entry it was made from."""

    kind: NearMissKind
    origin: Origin
    source: str  # the allow_origins entry (serialized) or the allow_origin_patterns pattern


def _first_label_variants(host: str) -> list[str]:
    """Hosts that differ from ``host`` by characters a browser can still emit."""
    first, _, rest = host.partition(".")
    tail = f".{rest}" if rest else ""
    variants = [f"{first}1{tail}", f"{first}-x{tail}"]
    for index, char in enumerate(host):
        if char in _DIGIT_SWAPS:
            variants.append(host[:index] + _DIGIT_SWAPS[char] + host[index + 1 :])
            break
    for index, char in enumerate(first):
        if char in _LOOKALIKES:
            punycode = _idn_label(first[:index] + _LOOKALIKES[char] + first[index + 1 :])
            if punycode is not None:
                variants.append(punycode + tail)
            break
    return variants


def _literal_candidates(
    origin: TupleOrigin, literals: Sequence[TupleOrigin]
) -> Iterable[tuple[NearMissKind, str, str, int | None]]:
    scheme, host, port = origin.scheme, origin.host, origin.port
    is_ip = host.startswith("[") or host.replace(".", "").isdigit()
    other_scheme = "http" if scheme == "https" else "https"
    explicit = DEFAULT_PORTS[scheme] if port is None else port
    yield NearMissKind.OTHER_SCHEME, other_scheme, host, port
    yield NearMissKind.OTHER_PORT, scheme, host, None if port is not None else 8443
    yield NearMissKind.OTHER_PORT, scheme, host, explicit + 1
    yield NearMissKind.OTHER_PORT, scheme, host, explicit * 10 + 1  # startswith-style match
    yield NearMissKind.PREFIX, scheme, f"{host}.{_EVIL_DOMAIN}", port
    yield NearMissKind.PREFIX, scheme, f"{host}{_EVIL_DOMAIN}", port
    yield NearMissKind.PREFIX, scheme, f"{host}-evil.example", port
    if is_ip:
        return
    yield NearMissKind.SUFFIX, scheme, f"evil-{host}", port
    yield NearMissKind.SUFFIX, scheme, f"evil{host}", port
    yield NearMissKind.SUBDOMAIN, scheme, f"x.{host}", port
    yield NearMissKind.SUBDOMAIN, scheme, f"www.{host}", port
    labels = host.split(".")
    for start in range(1, len(labels)):
        yield NearMissKind.PARENT_DOMAIN, scheme, ".".join(labels[start:]), port
    yield NearMissKind.TRAILING_DOT, scheme, f"{host}.", port
    for other in literals:
        if not other.host.startswith("["):
            yield NearMissKind.CONCATENATION, scheme, f"{host}.{other.host}", other.port
    for index, char in enumerate(host):
        if char == ".":
            for letter in "-x":
                replaced = host[:index] + letter + host[index + 1 :]
                yield NearMissKind.DOT_REPLACED, scheme, replaced, port
    for variant in _first_label_variants(host):
        yield NearMissKind.SPECIAL_CHARACTERS, scheme, variant, port


def _fixed_near_misses(allowed: _AllowedOrigins) -> list[NearMiss]:
    forbidden = allowed.serialized
    found: dict[str, NearMiss] = {}
    for literal in allowed.literals:
        for kind, scheme, host, port in _literal_candidates(literal, allowed.literals):
            candidate = _browser_tuple_origin(scheme, host, port)
            if candidate is None:
                continue
            text = candidate.serialize()
            if text not in forbidden and text not in found:
                found[text] = NearMiss(kind=kind, origin=candidate, source=literal.serialize())
    if allowed.allows_null:
        for scheme in BROWSER_SCHEMES:
            lookalike = TupleOrigin(scheme=scheme, host=NULL, port=None)
            if lookalike.serialize() not in forbidden:
                near = NearMiss(kind=NearMissKind.NULL_LOOKALIKE, origin=lookalike, source=NULL)
                found.setdefault(lookalike.serialize(), near)
    elif (allowed.literals or allowed.patterns) and not allowed.allows_any:
        found[NULL] = NearMiss(kind=NearMissKind.OPAQUE, origin=NULL_ORIGIN, source=NULL)
    return list(found.values())


_GENERATED_KINDS: Final = (
    NearMissKind.OTHER_PORT,
    NearMissKind.SUBDOMAIN,
    NearMissKind.PREFIX,
    NearMissKind.SUFFIX,
    NearMissKind.SPECIAL_CHARACTERS,
)


@st.composite
def _generated_literal_near_misses(
    draw: st.DrawFn, allowed: _AllowedOrigins, kind: NearMissKind
) -> NearMiss | None:
    """Near misses with a generated label or port in place of the fixed ``evil``/``x``/8443."""
    literal = draw(st.sampled_from(allowed.literals))
    scheme, host, port = literal.scheme, literal.host, literal.port
    if kind is NearMissKind.OTHER_PORT:
        port = draw(_ports())
    elif kind is NearMissKind.SPECIAL_CHARACTERS:
        first, _, rest = host.partition(".")
        index = draw(st.integers(0, len(first)))
        insert = draw(st.sampled_from("-0123456789"))
        host = first[:index] + insert + first[index:] + (f".{rest}" if rest else "")
    else:
        label = draw(_ascii_labels())
        joiner = draw(st.sampled_from((".", "-", "")))
        if kind is NearMissKind.PREFIX:
            host = f"{host}{joiner}{label}.{draw(st.sampled_from(_TLDS))}"
        elif kind is NearMissKind.SUFFIX:
            host = f"{label}{joiner}{host}" if joiner != "." else f"{label}{host}"
        else:
            host = f"{label}.{host}"
    candidate = _browser_tuple_origin(scheme, host, port)
    if candidate is None or candidate.serialize() in allowed.serialized:
        return None
    return NearMiss(kind=kind, origin=candidate, source=literal.serialize())


@dataclass(frozen=True, slots=True)
class _PatternMatch:
    """A string that fully matches an ``allow_origin_patterns`` entry, and what it parses to."""

    text: str
    dots: tuple[int, ...]  # the "."s after the scheme
    matched: TupleOrigin | None  # the text as a canonical origin (None if it is not one)
    parsed: TupleOrigin | None  # the origin of the text as a URL (None if it does not parse)

    @classmethod
    def of(cls, text: str) -> _PatternMatch:
        start = text.find("://") + 3 if "://" in text else 0
        matched = _canonical_origin(text)
        try:
            parsed: Origin | None = parse_url(text).origin
        except (OriginError, ValueError):
            parsed = None
        return cls(
            text=text,
            dots=tuple(i for i, char in enumerate(text) if char == "." and i >= start),
            matched=matched if isinstance(matched, TupleOrigin) else None,
            parsed=parsed if isinstance(parsed, TupleOrigin) else None,
        )

    def kinds(self) -> list[NearMissKind]:
        kinds = []
        if self.dots:
            kinds.append(NearMissKind.PATTERN_DOT)
        if self.matched is not None and not self.matched.host.startswith("["):
            kinds.append(NearMissKind.PATTERN_AFFIX)
        if self.parsed is not None and self.parsed.serialize() != self.text:
            kinds.append(NearMissKind.PATTERN_CANONICAL)
        return kinds

    def dot_replaced(self, index: int, letter: str) -> Origin | None:
        """One "." after the scheme replaced with a letter: what an unescaped "." in the
        pattern (or a glob-style matcher) would also accept."""
        return _canonical_origin(self.text[:index] + letter + self.text[index + 1 :])

    def affixed(self, label: str) -> list[TupleOrigin | None]:
        """A label put before or after the host, four ways."""
        assert self.matched is not None
        scheme, host, port = self.matched.scheme, self.matched.host, self.matched.port
        hosts = [
            f"{label}.{host}",
            f"{label}{host}",
            f"{host}.{label}.{_TLDS[0]}",
            f"{host}-{label}",
        ]
        return [_browser_tuple_origin(scheme, affixed, port) for affixed in hosts]

    def canonicalized(self) -> TupleOrigin | None:
        """The canonical form of a match that is not canonical (uppercase, a default port
        spelled out): what a browser sends instead."""
        assert self.parsed is not None
        return _browser_tuple_origin(self.parsed.scheme, self.parsed.host, self.parsed.port)


@st.composite
def _pattern_near_misses(
    draw: st.DrawFn, pattern: str, forbidden: frozenset[str]
) -> NearMiss | None:
    match = _PatternMatch.of(draw(_pattern_strings(pattern)))
    kinds = match.kinds()
    if not kinds:
        return None
    kind = draw(st.sampled_from(kinds))
    candidate: Origin | None
    if kind is NearMissKind.PATTERN_DOT:
        index = draw(st.sampled_from(match.dots))
        candidate = match.dot_replaced(index, draw(st.sampled_from(string.ascii_lowercase)))
    elif kind is NearMissKind.PATTERN_AFFIX:
        label = draw(st.one_of(st.just("evil"), _ascii_labels()))
        candidate = draw(st.sampled_from(match.affixed(label)))
    else:
        candidate = match.canonicalized()
    if candidate is None or candidate.serialize() in forbidden:
        return None
    return NearMiss(kind=kind, origin=candidate, source=pattern)


def _fixed_pattern_near_misses(pattern: str, forbidden: frozenset[str]) -> list[NearMiss]:
    """The near misses of a few strings sampled from ``pattern``: every "." replaced by ``x``
    or ``z``, the label ``evil`` put around the host, the canonical form."""
    candidates = _pattern_near_miss_candidates(pattern)
    return [near for near in candidates if near.origin.serialize() not in forbidden]


@functools.lru_cache(maxsize=64)
def _pattern_near_miss_candidates(pattern: str) -> tuple[NearMiss, ...]:
    found: dict[str, NearMiss] = {}
    for text in regex_samples(pattern, alphabet=_ORIGIN_ALPHABET):
        match = _PatternMatch.of(text)
        kinds = match.kinds()
        candidates: list[tuple[NearMissKind, Origin | None]] = [
            (NearMissKind.PATTERN_DOT, match.dot_replaced(index, letter))
            for index in match.dots
            for letter in "xz"
        ]
        if NearMissKind.PATTERN_AFFIX in kinds:
            candidates += [(NearMissKind.PATTERN_AFFIX, o) for o in match.affixed("evil")]
        if NearMissKind.PATTERN_CANONICAL in kinds:
            candidates.append((NearMissKind.PATTERN_CANONICAL, match.canonicalized()))
        for kind, candidate in candidates:
            if candidate is not None:
                near = NearMiss(kind=kind, origin=candidate, source=pattern)
                found.setdefault(candidate.serialize(), near)
    return tuple(found.values())


@functools.lru_cache(maxsize=256)
def _near_miss_pool(policy: CorsPolicy) -> Pool[NearMiss]:
    """Pick a kind first, then a candidate of that kind, so that every kind (each one a bug
    class) comes up about as often as the others however many candidates it has: one section
    per kind, the fixed candidates with the generated ones (a random label or port) as a
    minority; one section per pattern, weighed like three kinds."""
    allowed = _allowed_origins(policy)
    by_kind: dict[NearMissKind, list[NearMiss]] = {}
    for near in _fixed_near_misses(allowed):
        by_kind.setdefault(near.kind, []).append(near)
    sections: list[tuple[float, Pool[NearMiss]]] = []
    for kind in NearMissKind:  # declaration order: the simplest kinds first
        generators = []
        if allowed.literals and kind in _GENERATED_KINDS:
            generated = _generated_literal_near_misses(allowed, kind)
            generators.append(generated.filter(lambda near: near is not None).map(present))
        sections.append((1, rare(by_kind.get(kind, ()), *generators, share=RARE_SHARE)))
    forbidden = allowed.serialized
    for pattern in allowed.patterns:
        fixed: dict[NearMissKind, list[NearMiss]] = {}
        for near in _fixed_pattern_near_misses(pattern, forbidden):
            fixed.setdefault(near.kind, []).append(near)
        drawn = _pattern_near_misses(pattern, forbidden).filter(lambda n: n is not None)
        kinds = mix([(1, Pool.of(candidates)) for candidates in fixed.values()])
        sections.append((3, rare(kinds, drawn.map(present), share=RARE_SHARE)))
    return mix(sections)


def _near_origin(near: NearMiss) -> Origin:
    return near.origin


def near_misses(policy: CorsPolicy) -> st.SearchStrategy[NearMiss]:
    """Near misses of every origin entry in ``policy`` (top level and ``[[paths]]`` tables), each
    labelled with its :class:`NearMissKind` and the entry it came from.

    For an exact entry: prefix, suffix, subdomain, parent domain, other scheme, other port,
    trailing dot (only while the reference grammar calls it canonical), concatenation with an
    allowed origin, a ``.`` replaced (``-``, ``x``), special characters (digits, ``-``,
    punycode look-alikes), ``http://null`` next to ``null``, and ``null`` itself when the policy
    does not list it. For a pattern: a fully matching string with one ``.`` replaced by a
    letter, with a label added before or after the host, or canonicalized.

    A kind is picked first, then a candidate of that kind, so each bug class comes up about as
    often as the others. Every candidate is a canonical browser origin and none equals an
    allowed literal; whether the policy grants it is left to the oracle. ``"*"`` entries yield
    none; a policy with nothing to miss gives ``st.nothing()``.
    """
    return _near_misses(check_policy(policy))


@functools.lru_cache(maxsize=256)
def _near_misses(policy: CorsPolicy) -> st.SearchStrategy[NearMiss]:
    return pooled(_near_miss_pool(policy))


def near_miss_origins(policy: CorsPolicy) -> st.SearchStrategy[Origin]:
    """The origins of :func:`near_misses`; where ``policy`` has nothing to miss (it allows only
    ``"*"`` or nothing), generic :func:`origins` instead."""
    return _near_miss_origins(check_policy(policy))


@functools.lru_cache(maxsize=256)
def _near_miss_origins(policy: CorsPolicy) -> st.SearchStrategy[Origin]:
    pool = _near_miss_pool(policy)
    if not pool:
        return origins()
    return pooled(pool.map(_near_origin))


def relevant_origins(policy: CorsPolicy) -> st.SearchStrategy[Origin]:
    """Origins that matter for ``policy``: its allowed origins a third of the time, their near
    misses half of the time, any browser origin otherwise. Shrinks toward the first allowed
    origin."""
    return _relevant_origins(check_policy(policy))


@functools.lru_cache(maxsize=256)
def _relevant_origins(policy: CorsPolicy) -> st.SearchStrategy[Origin]:
    return pooled(relevant_origin_pool(policy))


@functools.lru_cache(maxsize=256)
def relevant_origin_pool(policy: CorsPolicy) -> Pool[Origin]:
    """The pool behind :func:`relevant_origins` (policy already checked)."""
    near = _near_miss_pool(policy).map(_near_origin)
    return mix([(2, listed_origin_pool(policy)), (3, near), (1, origin_pool())])
