"""A pytest plugin for ``benchmarks/suite.py``: samples the model's share (d) inside a real
``cors-conformance run -n 0``, over its properties only (start-up left out), the same way as the
script samples its bare loop: SIGPROF every 0.5 ms of CPU time (the kernel's tick, in practice),
a sample counted as the model's when a frame of ``reference/`` is on the stack.

Loaded with ``PYTEST_ADDOPTS="-p benchmarks.sample_plugin"``; writes ``[model, all]`` as JSON to
the file named by ``CORS_BENCH_SAMPLES``. Not part of the suite: nothing else loads it.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Generator
from types import FrameType

import pytest

_MARKER = f"{os.sep}reference{os.sep}"
_counts = [0, 0]  # in the model, all


def _on_sample(_signum: int, frame: FrameType | None) -> None:
    _counts[1] += 1
    while frame is not None:
        if _MARKER in frame.f_code.co_filename:
            _counts[0] += 1
            return
        frame = frame.f_back


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop() -> Generator[None, object, object]:
    previous = signal.signal(signal.SIGPROF, _on_sample)
    signal.setitimer(signal.ITIMER_PROF, 0.0005, 0.0005)
    try:
        return (yield)
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, previous)
        path = os.environ.get("CORS_BENCH_SAMPLES")
        if path:
            with open(path, "w", encoding="utf-8") as out:
                json.dump(_counts, out)
