"""The model's share (d), sampled: :func:`sampling` counts SIGPROF samples every 0.5 ms of CPU
time (the kernel's tick, in practice), a sample counted as the model's when a frame of
``reference/`` is on the stack. ``benchmarks/suite.py`` samples its bare loop with it.

Also a pytest plugin that samples a real ``cors-conformance run -n 0`` the same way, over its
properties only (start-up left out): loaded with ``PYTEST_ADDOPTS="-p
benchmarks.sample_plugin"``, it writes ``[model, all]`` as JSON to the file named by
``CORS_BENCH_SAMPLES``. Not part of the suite: nothing else loads it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Generator, Iterator
from types import FrameType

import pytest

_MARKER = f"{os.sep}reference{os.sep}"


@contextlib.contextmanager
def sampling() -> Iterator[list[int]]:
    """Sample while the block runs; yields ``[model, all]``, counted as samples come. The
    handler runs in the main thread between bytecodes, on the frame it interrupted."""
    counts = [0, 0]

    def on_sample(_signum: int, frame: FrameType | None) -> None:
        counts[1] += 1
        while frame is not None:
            if _MARKER in frame.f_code.co_filename:
                counts[0] += 1
                return
            frame = frame.f_back

    previous = signal.signal(signal.SIGPROF, on_sample)
    signal.setitimer(signal.ITIMER_PROF, 0.0005, 0.0005)
    try:
        yield counts
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, previous)


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop() -> Generator[None, object, object]:
    with sampling() as counts:
        try:
            return (yield)
        finally:
            path = os.environ.get("CORS_BENCH_SAMPLES")
            if path:
                with open(path, "w", encoding="utf-8") as out:
                    json.dump(counts, out)
