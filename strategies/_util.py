"""Small combinators that keep shrinking where the house style wants it.

Hypothesis shrinks toward the shortest sequence of choices, then toward the lexicographically
smallest one. ``st.one_of(st.sampled_from(pool), ..., st.just(x))`` therefore shrinks to ``x``
(one choice) rather than to ``pool[0]`` (two choices). :func:`pool` puts ``values[0]`` behind a
bare ``st.just`` so it always wins, and :func:`weighted` weighs branches without losing that.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from hypothesis import strategies as st

T = TypeVar("T")


def pool(values: Sequence[T]) -> st.SearchStrategy[T]:
    """``st.sampled_from(values)`` that shrinks to ``values[0]`` even inside ``st.one_of``."""
    if len(values) == 1:
        return st.just(values[0])
    return st.one_of(st.just(values[0]), st.sampled_from(values[1:]))


@st.composite
def _weighted(draw: st.DrawFn, choices: Sequence[st.SearchStrategy[T]]) -> T:
    return draw(choices[draw(st.integers(0, len(choices) - 1))])


def weighted(choices: Sequence[tuple[int, st.SearchStrategy[T]]]) -> st.SearchStrategy[T]:
    """One of the strategies, picked with the given integer weights (``st.one_of`` drops a
    repeated strategy, so repeating it there does not weigh it). Shrinks toward the first."""
    expanded = [strategy for weight, strategy in choices for _ in range(weight)]
    if len(expanded) == 1:
        return expanded[0]
    return _weighted(expanded)


def present(value: T | None) -> T:
    """``value``, known not to be ``None`` (after ``.filter(lambda v: v is not None)``)."""
    assert value is not None
    return value
