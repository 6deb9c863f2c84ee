"""A sequence of explanation steps computed on first read (see :class:`LazySteps`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import overload


class LazySteps(Sequence[str]):
    """Explanation steps worked out when first read; reads as (and compares and pickles as)
    the tuple of steps.

    A run judges thousands of requests and reads the explanation of a few: the divergences it
    reports. Formatting every step of every decision was most of the policy side's cost, and
    re-running the browser model with tracing for each failing example Hypothesis tries while
    it searches and shrinks was most of the browser side's.
    """

    __slots__ = ("_compute", "_steps")

    def __init__(self, compute: Callable[[], Sequence[str]]) -> None:
        self._compute: Callable[[], Sequence[str]] | None = compute
        self._steps: tuple[str, ...] = ()

    def _value(self) -> tuple[str, ...]:
        if self._compute is not None:
            self._steps, self._compute = tuple(self._compute()), None
        return self._steps

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._value()[index]

    def __len__(self) -> int:
        return len(self._value())

    def __iter__(self) -> Iterator[str]:
        return iter(self._value())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazySteps):
            other = other._value()
        return isinstance(other, tuple) and self._value() == other

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type[tuple[str, ...]], tuple[tuple[str, ...]]]:
        return tuple, (self._value(),)

    def __repr__(self) -> str:
        return repr(self._value())
