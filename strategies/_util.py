"""Weighted pools, and drawing many of them with one choice: what keeps generation cheap while
shrinking goes where the house style wants it.

Every ``draw`` costs Hypothesis a span and a choice (about 0.05 ms) whatever it draws, so the
generators here are built from *pools* computed once per argument set (per policy, keyed on the
frozen :class:`reference.policy.CorsPolicy`) and cached. A :class:`Pool` is a tree: weighted
sections, each a smaller pool or a run of slots picked evenly. A slot holds a ready value, or a
:class:`Drawn` strategy (a rich generator kept in the mix as a minority, so new values still
turn up).

A strategy draws *one* ``st.binary`` string of fixed length, and each part of what it builds
(the origin of a request, its method, ...) reads its own bytes of it (:class:`Layout`,
:class:`Part`): a byte or two per level of the part's pool, the section at each level, then the
slot. That is one choice for a whole request, yet one shrink target per part and per level,
since Hypothesis shrinks each byte of a fixed-size byte string on its own, toward zero, trying
zero first: a part shrinks to its pool's first section (the simplest kind of value: the first
allowed origin, ``GET``, no header), then to that section's first slot. Every part owns its
bytes, used or not (a body's when the method is ``GET``, the sixth header's when there are
two), so that shrinking one part never shifts what another reads.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeAlias, TypeVar

from hypothesis import strategies as st

RARE_SHARE: Final = 16
"""A rich generator kept in a pool gets about one draw in this many of that pool (or section)."""

T = TypeVar("T")
U = TypeVar("U")
T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True, slots=True, eq=False)
class Drawn(Generic[T_co]):
    """A slot whose value is drawn from ``strategy`` (more choices, so it shrinks away)."""

    strategy: st.SearchStrategy[T_co]


Slot: TypeAlias = T | Drawn[T]


Node: TypeAlias = "Pool[T] | tuple[Slot[T], ...]"


class Pool(Generic[T]):
    """Weighted sections, each a pool or a run of slots. Build with :meth:`of`, :func:`mix`
    and :func:`rare`; a section that is a pool of one section is its section.

    A pool picks its section with a level of its own (a shrink target that tries the first
    section first), unless it is ``flat``: then the section and what is in it are picked
    together, by one number read across the sections in order (what :func:`rare` does: the
    rich generators sit after the values, so shrinking leaves them for the values anyway).
    """

    __slots__ = ("_starts", "flat", "sections")

    def __init__(
        self, sections: Iterable[tuple[float, Pool[T] | Sequence[Slot[T]]]], *, flat: bool = False
    ) -> None:
        live: list[tuple[float, Node[T]]] = []
        for weight, node in sections:
            if weight <= 0 or not node:
                continue
            if isinstance(node, Pool):
                live.append((weight, node.sections[0][1] if len(node.sections) == 1 else node))
            else:
                live.append((weight, tuple(node)))
        total = sum(weight for weight, _ in live)
        self.flat = flat
        self.sections: tuple[tuple[float, Node[T]], ...] = tuple(
            (weight / total, node) for weight, node in live
        )
        self._starts = [0.0, *itertools.accumulate(w for w, _ in self.sections[:-1])]

    @classmethod
    def of(cls, slots: Sequence[Slot[T]]) -> Pool[T]:
        """The slots, evenly."""
        return cls([(1.0, slots)])

    def __bool__(self) -> bool:
        return bool(self.sections)

    def pick(self, digits: bytes, levels: Sequence[tuple[int, int, float]]) -> Slot[T]:
        """The slot that ``digits`` lead to, read at ``levels`` (``(start, end, scale)``: a
        number in ``[0, 1)`` is ``digits[start:end]`` big-endian times ``scale``): one level
        per choice to make, the section at each, then the slot."""
        node: Node[T] = self
        level = 0
        carried = -1.0  # what is left of a flat pool's number for its section (-1: nothing)
        while isinstance(node, Pool):
            sections = node.sections
            if len(sections) == 1:
                node = sections[0][1]
                continue
            if carried < 0:
                start, end, scale = levels[level]
                level += 1
                fraction = int.from_bytes(digits[start:end], "big") * scale
            else:
                fraction = carried
            index = bisect.bisect_right(node._starts, fraction) - 1
            weight, child = sections[index]
            carried = (fraction - node._starts[index]) / weight if node.flat else -1.0
            node = child
        if len(node) == 1:
            return node[0]
        if carried < 0:
            start, end, scale = levels[level]
            carried = int.from_bytes(digits[start:end], "big") * scale
        return node[min(int(carried * len(node)), len(node) - 1)]

    def first(self) -> Slot[T]:
        """Where shrinking ends: the first slot of the first section, all the way down."""
        depth = len(self.shares())
        return self.pick(bytes(depth), [(i, i + 1, 1 / 256) for i in range(depth)])

    def slots(self) -> list[Slot[T]]:
        """Every slot, in order."""
        found: list[Slot[T]] = []
        for _, node in self.sections:
            found += node.slots() if isinstance(node, Pool) else node
        return found

    def values(self) -> list[T]:
        """The ready values, in order, without repeats."""
        return list(dict.fromkeys(s for s in self.slots() if not isinstance(s, Drawn)))

    def shares(self) -> list[float]:
        """For each level of choice, the chance of its least likely outcome."""
        below = [_node_shares(node) for _, node in self.sections]
        if len(self.sections) == 1:
            return below[0]
        if self.flat:  # the first level of every section is read from this pool's number
            first = min(
                w * (shares[0] if shares else 1.0)
                for (w, _), shares in zip(self.sections, below, strict=True)
            )
            deeper = [shares[1:] for shares in below]
            return [first] + [min(level) for level in itertools.zip_longest(*deeper, fillvalue=1.0)]
        own = min(w for w, _ in self.sections)
        return [own] + [min(level) for level in itertools.zip_longest(*below, fillvalue=1.0)]

    def _rebuilt(self, function: Callable[[Node[T]], Node[U]]) -> Pool[U]:
        return Pool(((w, function(node)) for w, node in self.sections), flat=self.flat)

    def map(self, function: Callable[[T], U]) -> Pool[U]:
        """``function`` applied to every value, and mapped over every :class:`Drawn` strategy
        (once per distinct slot)."""
        done: dict[Slot[T], Slot[U]] = {}

        def mapped(slot: Slot[T]) -> Slot[U]:
            if slot not in done:
                done[slot] = (
                    Drawn(slot.strategy.map(function))
                    if isinstance(slot, Drawn)
                    else function(slot)
                )
            return done[slot]

        def node_map(node: Node[T]) -> Node[U]:
            if isinstance(node, Pool):
                return node._rebuilt(node_map)
            return tuple(mapped(slot) for slot in node)

        return self._rebuilt(node_map)

    def filter(self, predicate: Callable[[T], bool]) -> Pool[T]:
        """The values that satisfy ``predicate``, and every :class:`Drawn` strategy filtered by
        it; sections keep their weights (an emptied one drops out)."""

        def node_filter(node: Node[T]) -> Node[T]:
            if isinstance(node, Pool):
                return node._rebuilt(node_filter)
            return tuple(
                Drawn(slot.strategy.filter(predicate)) if isinstance(slot, Drawn) else slot
                for slot in node
                if isinstance(slot, Drawn) or predicate(slot)
            )

        return self._rebuilt(node_filter)

    def diluted(self, factor: float) -> Pool[T]:
        """The same pool with every section made of :class:`Drawn` slots only ``factor``
        times rarer; the other sections keep their proportions."""

        def node_dilute(node: Node[T]) -> Node[T]:
            return node.diluted(factor) if isinstance(node, Pool) else node

        return Pool(
            (
                (w / factor if _only_drawn(node) else w, node_dilute(node))
                for w, node in self.sections
            ),
            flat=self.flat,
        )


def _node_shares(node: Node[Any]) -> list[float]:
    if isinstance(node, Pool):
        return node.shares()
    return [1 / len(node)] if len(node) > 1 else []


def _only_drawn(node: Node[Any]) -> bool:
    slots = node.slots() if isinstance(node, Pool) else node
    return all(isinstance(slot, Drawn) for slot in slots)


def mix(sections: Sequence[tuple[float, Pool[T]]]) -> Pool[T]:
    """The pools as sections of one, with these weights (the share of draws each gets); empty
    pools and zero weights drop out."""
    return Pool(sections)


def rare(
    values: Pool[T] | Sequence[Slot[T]], *generators: st.SearchStrategy[T], share: float
) -> Pool[T]:
    """``values`` (evenly, or as the pool they are), then the ``generators`` as :class:`Drawn`
    slots in a section of their own, with about one draw in ``share`` between them."""
    pool = values if isinstance(values, Pool) else Pool.of(values)
    slots: list[Slot[T]] = [Drawn(generator) for generator in generators]
    return Pool([(share - 1, pool), (1, slots)], flat=True)


def resolve(draw: st.DrawFn, slot: Slot[T]) -> T:
    """The slot's value: its own, or one drawn from its strategy."""
    return draw(slot.strategy) if isinstance(slot, Drawn) else slot


def present(value: T | None) -> T:
    """``value``, known not to be ``None`` (after ``.filter(lambda v: v is not None)``)."""
    assert value is not None
    return value


def unique(values: Iterable[T]) -> tuple[T, ...]:
    """``values`` without repeats, in first-seen order."""
    return tuple(dict.fromkeys(values))


# Bytes per level: enough that even the least likely outcome gets this many byte values, so
# that rounding never takes more than half of its chance away (and much less from the rest).
_RESOLUTION: Final = 2


@dataclass(frozen=True, slots=True)
class Part:
    """Where one part reads its bytes in a :class:`Layout`'s byte string: per level of its
    pool, ``(start, end, scale)`` (the number is the bytes, big-endian, times ``scale``)."""

    levels: tuple[tuple[int, int, float], ...]

    def pick(self, draw: st.DrawFn, digits: bytes, pool: Pool[T]) -> T:
        """The slot of ``pool`` that the part's bytes name, resolved."""
        slot = pool.pick(digits, self.levels)
        return draw(slot.strategy) if isinstance(slot, Drawn) else slot


class Layout:
    """The byte positions of a strategy's parts, reserved one part after the other."""

    def __init__(self) -> None:
        self.size = 0

    def part(self, *pools: Pool[Any]) -> Part:
        """Bytes enough to reach every slot of any of ``pools``, in proportion."""
        levels = []
        for level in itertools.zip_longest(*(pool.shares() for pool in pools), fillvalue=1.0):
            width = 1
            while (1 << (8 * width)) * min(level) < _RESOLUTION:
                width += 1
            levels.append((self.size, self.size + width, 1 / (1 << (8 * width))))
            self.size += width
        return Part(levels=tuple(levels))

    def digits(self) -> st.SearchStrategy[bytes]:
        """The byte string to draw, once, for all the parts."""
        return st.binary(min_size=self.size, max_size=self.size)


@st.composite
def _picked(draw: st.DrawFn, digits: st.SearchStrategy[bytes], part: Part, pool: Pool[T]) -> T:
    return part.pick(draw, draw(digits), pool)


def pooled(pool: Pool[T]) -> st.SearchStrategy[T]:
    """The pool as a strategy of values (``st.nothing()`` if it is empty). A pool of one
    even run of ready values is a plain ``st.sampled_from`` (which also lets Hypothesis see
    when it has drawn them all)."""
    if not pool:
        return st.nothing()
    node = pool.sections[0][1]
    if (
        len(pool.sections) == 1
        and not isinstance(node, Pool)
        and not any(isinstance(slot, Drawn) for slot in node)
    ):
        return st.sampled_from(node)
    layout = Layout()
    part = layout.part(pool)
    return _picked(layout.digits(), part, pool)
