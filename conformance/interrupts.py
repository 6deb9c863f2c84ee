"""Run control: a SIGTERM ends a run as Ctrl-C does. Kept free of heavy imports, so the command
line can install it before pytest starts."""

from __future__ import annotations

import signal
import threading


def interrupt_on_sigterm() -> None:
    """SIGTERM (a CI job cancelled, a container stopped) ends the run as Ctrl-C does, so
    pytest still finishes the session and the report of what was found is written."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return  # someone else handles it

    def handler(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)
