"""LazySteps: explanation steps formatted on first read, and then read like the tuple."""

from __future__ import annotations

import pickle

from reference.lazy import LazySteps


def test_steps_are_computed_once_on_first_read() -> None:
    calls: list[int] = []

    def compute() -> list[str]:
        calls.append(1)
        return ["a", "b"]

    steps = LazySteps(compute)
    assert calls == []
    assert list(steps) == ["a", "b"]
    assert (steps[0], steps[-1], steps[:1], len(steps)) == ("a", "b", ("a",), 2)
    assert calls == [1]


def test_steps_compare_pickle_and_print_as_their_tuple() -> None:
    steps = LazySteps(lambda: ("x",))
    assert steps == ("x",)
    assert steps == LazySteps(lambda: ["x"])
    assert steps != ["x"]  # a tuple's equality: a list is not equal to it
    assert steps != LazySteps(lambda: ())
    assert pickle.loads(pickle.dumps(steps)) == ("x",)
    assert repr(steps) == "('x',)"
