"""The pools behind the strategies, and how a strategy reads them from its bytes.

Pools are finite, so every ready value in them is checked here (a property test would only
sample some); the rich generators they keep are sampled. The reading of pools from bytes
(:mod:`strategies._util`) is checked to reach every slot in proportion and to shrink to the
first one.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reference.grammar import is_token
from reference.origins import DEFAULT_PORTS, Origin, TupleOrigin, parse_serialized_origin
from reference.policy import CorsPolicy
from reference.safelist import (
    cors_unsafe_request_header_names,
    is_forbidden_method,
    is_forbidden_request_header,
)
from strategies._regex import regex_samples
from strategies._util import Drawn, Layout, Pool, mix, rare
from strategies.headers import entry_pool, safelisted_shapes
from strategies.methods import method_pool
from strategies.origins import (
    _browser_tuple_origin,
    listed_origin_pool,
    origin_pool,
    relevant_origin_pool,
)

FAST = settings(max_examples=60, deadline=None, database=None)
POLICY = CorsPolicy(
    allow_origins=("https://api.a.example", "http://localhost:3000", "null"),
    allow_origin_patterns=(r"https://[a-z0-9-]+\.preview\.example", r"https://c\.example:443"),
)


def drawn_strategies(pool: Pool[Any]) -> st.SearchStrategy[Any]:
    """Values from the rich generators a pool keeps."""
    generators = [slot.strategy for slot in pool.slots() if isinstance(slot, Drawn)]
    return st.sampled_from(generators).flatmap(lambda strategy: strategy)


# --- header pools ----------------------------------------------------------------------------


def _browser_entry_problems(name: bytes, value: bytes) -> list[str]:
    problems = []
    if not is_token(name):
        problems.append("name is not a token")
    if is_forbidden_request_header(name, value):
        problems.append("forbidden")
    if any(byte in value for byte in b"\x00\r\n"):
        problems.append("NUL, CR or LF")
    if value != value.strip(b"\t\n\r "):
        problems.append("padded")
    return problems


def test_every_browser_header_entry_is_valid_and_never_forbidden() -> None:
    entries = entry_pool("browser").values()
    assert len(entries) > 300
    bad = {entry: p for entry in entries if (p := _browser_entry_problems(*entry))}
    assert not bad


def test_every_hostile_header_entry_can_go_on_the_wire() -> None:
    entries = entry_pool("hostile").values()
    assert any(is_forbidden_request_header(*entry) for entry in entries)
    for name, value in entries:
        assert is_token(name), name
        assert not any(byte in value for byte in b"\x00\r\n"), (name, value)


def test_every_safelisted_entry_stays_safelisted() -> None:
    pools = {pool for pool, size in safelisted_shapes().values() if size}
    entries = [entry for pool in pools for entry in pool.values()]
    assert len(entries) > 50
    unsafe = [entry for entry in entries if cors_unsafe_request_header_names((entry,))]
    assert not unsafe


@FAST
@given(drawn_strategies(entry_pool("browser")))
def test_rich_browser_header_entries_are_valid(entry: tuple[bytes, bytes]) -> None:
    assert not _browser_entry_problems(*entry)


# --- method and origin pools -----------------------------------------------------------------


def test_every_pooled_method_is_a_token_never_forbidden() -> None:
    for method in method_pool().values():
        assert is_token(method.encode()), method
        assert not is_forbidden_method(method.encode()), method


def _round_trips(origin: Origin) -> bool:
    return parse_serialized_origin(origin.serialize()) == origin


def test_every_pooled_origin_is_a_browser_origin() -> None:
    for pool in (origin_pool(), relevant_origin_pool(POLICY), listed_origin_pool(POLICY)):
        assert all(_round_trips(origin) for origin in pool.values())


def _whole_check(scheme: str, host: str, port: int | None) -> TupleOrigin | None:
    """What _browser_tuple_origin checked before it judged a host once for every port."""
    if scheme not in ("http", "https") or (port is not None and not 0 < port <= 65535):
        return None
    if port == DEFAULT_PORTS[scheme]:
        port = None
    origin = TupleOrigin(scheme=scheme, host=host, port=port)
    return origin if parse_serialized_origin(origin.serialize()) == origin else None


_HOSTS = [
    "a.example",
    "A.example",
    "a.example.",
    "a:1",
    "a:80",
    "a:443",
    "a@b",
    "a/b",
    "[::1]",
    "[::1]:8",
    "[0:0::1]",
    "[::ffff:1.2.3.4]",
    "127.0.0.1",
    "127.1",
    "0x7f.0.0.1",
    "300.1.1.1",
    "xn--bcher-kva.example",
    "xn--zz.example",
    "b\u00fccher.example",
    "",
    "a b",
    "1.2.3.4.example",
]
_PORTS = [None, 0, 1, 80, 443, 8080, 65535, 65536, 99999, -1]


def test_a_host_judged_once_for_every_port_is_judged_as_each_origin_alone() -> None:
    for scheme, host, port in itertools.product(("http", "https", "ws"), _HOSTS, _PORTS):
        assert _browser_tuple_origin(scheme, host, port) == _whole_check(scheme, host, port)


@FAST
@given(
    st.sampled_from(["http", "https"]),
    st.text(st.sampled_from("ab1.:-_[]@%/AZ\u00fc"), max_size=12),
    st.one_of(st.none(), st.integers(-1, 70000)),
)
def test_the_host_shortcut_agrees_on_generated_hosts(
    scheme: str, host: str, port: int | None
) -> None:
    assert _browser_tuple_origin(scheme, host, port) == _whole_check(scheme, host, port)


def _is_ip(origin: Origin) -> bool:
    host = origin.host if isinstance(origin, TupleOrigin) else ""
    return host.startswith("[") or re.fullmatch(r"[0-9.]+", host) is not None


def test_origin_pool_honours_its_arguments() -> None:
    values = origin_pool(("https",), False, False, False).values()
    assert values
    for origin in values:
        assert isinstance(origin, TupleOrigin)
        assert origin.scheme == "https"
        assert not _is_ip(origin)
        assert "xn--" not in origin.host


@FAST
@given(drawn_strategies(origin_pool(("https",), False, False, False)))
def test_generated_origins_without_ip_never_read_as_ipv4(origin: Origin) -> None:
    # A domain from the label grammar can be all digits and dots ("0.0.0.0"), which the URL
    # parser reads as an IPv4 address: allow_ip=False must keep it out.
    assert _round_trips(origin)
    assert not _is_ip(origin)


def test_pattern_origins_are_sampled_into_the_pool() -> None:
    listed = {origin.serialize() for origin in listed_origin_pool(POLICY).values()}
    assert "https://a.preview.example" in listed
    assert "https://c.example" not in listed  # ":443" is no canonical serialization


# --- regex samples ---------------------------------------------------------------------------


def test_regex_samples_fully_match_simplest_first() -> None:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-.:/"
    for pattern in (
        r"https://[a-z0-9-]+\.preview\.example",
        r"https://([a-z0-9-]+\.)?app\.example",
        r"http://localhost:[0-9]{4}",
        r"/v[0-9]+/(items|things)",
        r"/api/(?!internal).*",
        r"[^/]\w\d",
    ):
        samples = regex_samples(pattern, alphabet=alphabet)
        assert samples, pattern
        assert all(re.fullmatch(pattern, text) for text in samples), pattern
    assert regex_samples(r"https://[a-z]+\.example", alphabet=alphabet)[0] == "https://a.example"


def test_regex_samples_give_up_rather_than_guess() -> None:
    assert regex_samples(r"(a|b)\1", alphabet="ab") == ()  # back reference
    assert regex_samples(r"(", alphabet="ab") == ()  # not a pattern


# --- reading pools from bytes ----------------------------------------------------------------


def _all_picks(pool: Pool[str]) -> Counter[str]:
    """What a part reads from each of its possible byte strings (drawn slots as "<drawn>")."""
    layout = Layout()
    part = layout.part(pool)
    assert layout.size <= 2  # at most 65,536 byte strings to try
    found: Counter[str] = Counter()
    for digits in itertools.product(range(256), repeat=layout.size):
        slot = pool.pick(bytes(digits), part.levels)
        found["<drawn>" if isinstance(slot, Drawn) else slot] += 1
    return found


def test_zero_bytes_read_the_first_slot_and_every_slot_is_reachable() -> None:
    pool = mix(
        [
            (3, Pool.of(["a", "b"])),
            (1, rare(["c", "d", "e"], st.just("z"), share=100)),
        ]
    )
    layout = Layout()
    part = layout.part(pool)
    assert pool.pick(bytes(layout.size), part.levels) == "a" == pool.first()
    picks = _all_picks(pool)
    assert set(picks) == {"a", "b", "c", "d", "e", "<drawn>"}
    total = sum(picks.values())
    assert abs((picks["a"] + picks["b"]) / total - 0.75) < 0.01
    assert 0 < picks["<drawn>"] / total < 0.01


def test_dilution_thins_the_drawn_slots_only() -> None:
    pool = rare(["a", "b"], st.just("z"), share=4)
    diluted = pool.diluted(100)
    assert diluted.values() == pool.values()
    before, after = _all_picks(pool), _all_picks(diluted)
    share_before = before["<drawn>"] / sum(before.values())
    share_after = after["<drawn>"] / sum(after.values())
    assert abs(share_before - 0.25) < 0.01
    assert 0 < share_after < share_before / 50
    assert abs(after["a"] - after["b"]) <= 1
