"""The console's progress display during a run: a live line for the property that is running
(cases sent, diverging examples so far), then one line per finished property.

Cheap by construction: the target is wrapped (:class:`CountingTarget`) so each request calls
:meth:`Progress.tick`, which looks at the clock and redraws at most every
:data:`REFRESH_SECONDS`; nothing runs in between. The plugin turns it on only for a terminal
(never for CI logs or pipes). Forked workers (``run -n N``) send their live lines to the parent,
which draws them as one; xdist workers draw none, and the controller prints each property's
line as its report comes back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from conformance.targets import Target, TransportLimits
from reference.verdict import RawResponse, WireRequest

REFRESH_SECONDS = 0.2
MARKS = {"passed": "ok", "baselined": "ok (baselined)", "failed": "FAIL"}


def live_line(name: str, cases: int, diverging: int, seconds: float) -> str:
    return (
        f"  .. {name}: {cases} request{'s' if cases != 1 else ''} sent, "
        f"{diverging} diverging so far ({seconds:.1f} s)"
    )


def worker_line(name: str, cases: int, diverging: int, seconds: float) -> str:
    """A forked worker's part of the parent's one live line (conformance.forked); short, so
    two fit on 80 columns."""
    del seconds  # the property's line gives its time when it ends
    return f"{name}: {cases} sent, {diverging} diverging"


def done_line(
    name: str, *, outcome: str, cases: int, distinct: int, diverging: int, seconds: float
) -> str:
    mark = MARKS.get(outcome, outcome)
    found = (
        f"{distinct} divergence{'s' if distinct != 1 else ''} ({diverging} diverging examples)"
        if distinct
        else "no divergence"
    )
    return f"  {mark:<4} {name}: {cases} requests, {found}, {seconds:.1f} s"


@dataclass(slots=True)
class Progress:
    """Draws through ``rewrite`` (go to the line start, write, erase the rest) and ``newline``."""

    rewrite: Callable[[str], None]
    newline: Callable[[], None]
    clock: Callable[[], float] = time.monotonic
    interval: float = REFRESH_SECONDS
    line: Callable[[str, int, int, float], str] = live_line
    _name: str | None = None
    _counts: Callable[[], tuple[int, int]] | None = None
    _started: float = 0.0
    _drawn: float = field(default=float("-inf"))

    def start(self, name: str, counts: Callable[[], tuple[int, int]]) -> None:
        """A property starts; ``counts()`` gives (cases sent, diverging examples) so far."""
        self._name, self._counts = name, counts
        self._started = self.clock()
        self._drawn = float("-inf")
        self.tick()

    def tick(self) -> None:
        if self._name is None or self._counts is None:
            return
        now = self.clock()
        if now - self._drawn < self.interval:
            return
        self._drawn = now
        cases, diverging = self._counts()
        self.rewrite(self.line(self._name, cases, diverging, now - self._started))

    def stop(self) -> None:
        """The property ended: the live line is erased (the done line replaces it)."""
        if self._name is not None:
            self.rewrite("")
        self._name = self._counts = None

    def done(self, line: str) -> None:
        self.rewrite(line)
        self.newline()


class CountingTarget:
    """A target that calls ``on_send`` after every request (for :meth:`Progress.tick`)."""

    def __init__(self, target: Target, on_send: Callable[[], None]) -> None:
        self.inner = target
        self.name: str = target.name
        self.base_url: str = target.base_url
        self.limits: TransportLimits = target.limits
        self._on_send = on_send

    def send(self, wire: WireRequest) -> RawResponse:
        try:
            return self.inner.send(wire)
        finally:
            self._on_send()

    def close(self) -> None:
        self.inner.close()
