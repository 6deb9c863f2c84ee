"""Forked workers for ``cors-conformance run -n N``: the pytest plugin that runs the suite's
properties in N child processes forked from the run's own process once pytest has collected.

Why not pytest-xdist here: an xdist worker is a fresh interpreter that imports pytest,
Hypothesis, the suite and the app again and collects again before its first property, which on
the 2-core CI machine is about 0.8 s of a 4 s ``ci`` run, so ``-n 2`` was only 1.2x faster than
``-n 0``. A forked worker starts with all of that already done (copy-on-write), and takes the
next property only when it is free, the longest first, so no worker waits with work queued
behind another. pytest-xdist is still used where ``os.fork`` is not (Windows), with
``--parallel xdist``, and for a plain ``pytest -n`` over the suite.

What a worker does: the run's property items, one at a time as the parent hands them out,
through pytest's own ``pytest_runtest_protocol``. Its reports (``pytest_report_to_serializable``,
as xdist sends them), warnings and, at the end, the suite's session state (the plugin's
``SessionState`` as xdist's workers send it) go to the parent over a socket pair. The parent
replays the reports through its own hooks, so the terminal, the exit status and the report
files are the ones a ``-n 0`` run gives. A worker that dies is reported as a harness error of
the property it was running, and a new worker takes the rest.

The workers draw exactly what ``-n 0`` draws: each is a copy of the process that runs ``-n 0``
(same modules loaded, so the same constants in Hypothesis' draws), with the run's seed.

Interrupts: Ctrl-C reaches the whole process group; a SIGTERM to the parent is passed on. Each
worker then stops its property, sends what it found so far, and exits; the parent waits for
them (at most ``GRACE_S``), merges, and ends the session as interrupted, so ``results.json``
holds everything found up to then, as with ``-n 0``.
"""

from __future__ import annotations

import builtins
import contextlib
import gc
import os
import signal
import socket
import sys
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

import pytest

GRACE_S = 10.0  # how long an interrupted parent waits for its workers' findings

WORKERS = pytest.StashKey[int]()


def available() -> bool:
    """Whether forked workers can run here (POSIX)."""
    return hasattr(os, "fork")


def other_threads() -> list[str]:
    """The names of the threads running beside this one (a forked worker has none of them)."""
    return sorted(t.name for t in threading.enumerate() if t is not threading.current_thread())


def worker_count(value: str) -> int:
    """``-n``'s value: a number, or 'auto' (the cores this process may run on)."""
    if value == "auto":
        affinity = getattr(os, "sched_getaffinity", None)
        return len(affinity(0)) if affinity is not None else os.cpu_count() or 1
    return int(value)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("cors-conformance").addoption(
        "--cors-fork-workers",
        type=int,
        default=0,
        metavar="N",
        help="run the properties in N forked workers (POSIX; cors-conformance run -n N)",
    )


def pytest_configure(config: pytest.Config) -> None:
    workers = config.getoption("cors_fork_workers")
    if workers < 0:
        raise pytest.UsageError(f"--cors-fork-workers: {workers} must be 0 or more")
    if workers and not available():  # pragma: no cover - POSIX in CI
        raise pytest.UsageError("forked workers need os.fork (POSIX); use --parallel xdist")
    config.stash[WORKERS] = workers


def forking(config: pytest.Config) -> bool:
    """Whether this run's properties run in forked workers (the parent draws no live line)."""
    return config.stash.get(WORKERS, 0) > 0


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    config = session.config
    workers = min(config.stash.get(WORKERS, 0), len(session.items))
    if workers == 0 or config.option.collectonly:
        return None  # pytest's own loop (it also handles errors during collection)
    if session.testsfailed and not config.option.continue_on_collection_errors:
        return None
    _Parent(session, workers).run()
    return True


# --- the parent ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Worker:
    number: int
    pid: int
    conn: Connection
    running: int | None = None  # index of the item it is running
    done: bool = False  # it said it has finished (its last findings are in)


@dataclass(slots=True)
class _Parent:
    session: pytest.Session
    workers: int
    queue: list[int] = field(default_factory=list)
    live: dict[Connection, _Worker] = field(default_factory=dict)  # by their end of the pair
    started: int = 0
    lines: dict[int, str] = field(default_factory=dict)  # each worker's live line
    draining: bool = False  # interrupted: no worker takes a dead one's place

    def _draw(self) -> None:
        from conformance.plugin import draw_workers

        draw_workers(self.session.config, [self.lines[n] for n in sorted(self.lines)])

    def run(self) -> None:
        from conformance.plugin import EXPECTED_COST, property_of

        items = self.session.items
        # Longest first (longest processing time first): the workers finish close together.
        # Only the order changes: a property draws the same examples in any worker.
        self.queue = sorted(
            range(len(items)), key=lambda i: -EXPECTED_COST.get(property_of(items[i]) or "", 1.0)
        )
        _before_forking()
        for _ in range(self.workers):
            self._spawn()
        try:
            self._serve()
        except KeyboardInterrupt:
            self._drain()
            raise
        finally:
            self._kill()  # none is left, unless this process itself failed
        if self.session.shouldfail:
            raise self.session.Failed(self.session.shouldfail)
        if self.session.shouldstop:
            raise self.session.Interrupted(self.session.shouldstop)

    def _spawn(self) -> None:
        if not self.queue:
            return
        index = self.queue.pop(0)
        self.started += 1
        number = self.started
        ours, theirs = socket.socketpair()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the worker process (coverage does not follow forks)
            ours.close()
            _worker_main(self.session, number, Connection(theirs.detach()), index)
        theirs.close()
        worker = _Worker(number, pid, Connection(ours.detach()), running=index)
        self.live[worker.conn] = worker

    def _serve(self) -> None:
        while self.live:
            for conn in wait([w.conn for w in self.live.values()]):
                assert isinstance(conn, Connection)
                self._receive(self.live[conn])

    def _receive(self, worker: _Worker) -> None:
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):  # it closed its end: it finished, or died
            self._lost(worker)
            return
        except Exception as exc:  # a message that cannot be read: stop the worker
            _signal(worker.pid, signal.SIGKILL)
            self._lost(worker, f"worker {worker.number} sent an unreadable message: {exc!r}")
            return
        kind = message[0]
        if kind == "next":
            worker.running = None
            stop = self.session.shouldfail or self.session.shouldstop
            if self.queue and not stop:
                worker.running = self.queue.pop(0)
                worker.conn.send(("run", worker.running))
            else:
                worker.conn.send(("stop",))
        else:
            self._handle(worker, message)

    def _handle(self, worker: _Worker, message: tuple[Any, ...]) -> None:
        hook = self.session.config.hook
        kind = message[0]
        if kind == "logstart":
            hook.pytest_runtest_logstart(nodeid=message[1], location=message[2])
        elif kind == "report":
            report = hook.pytest_report_from_serializable(
                config=self.session.config, data=message[1]
            )
            hook.pytest_runtest_logreport(report=report)
        elif kind == "logfinish":
            hook.pytest_runtest_logfinish(nodeid=message[1], location=message[2])
        elif kind == "warning":
            hook.pytest_warning_recorded(
                warning_message=_warning(message[1]),
                when="runtest",
                nodeid=message[1]["nodeid"],
                location=None,
            )
        elif kind == "live":
            self.lines[worker.number] = message[1]
            self._draw()
        elif kind == "findings":
            from conformance.plugin import merge_worker_state

            merge_worker_state(self.session.config, message[1])
        elif kind == "done":
            worker.done = True
        elif kind == "error":
            self._lost(worker, message[1])

    def _lost(self, worker: _Worker, why: str | None = None) -> None:
        """The worker closed its end: it finished, or it died (then its property is reported
        as a harness error and a new worker takes its place)."""
        del self.live[worker.conn]
        worker.conn.close()
        status = _reap(worker.pid)
        if self.lines.pop(worker.number, None):
            self._draw()
        if worker.done and why is None:
            return
        if why is None:
            why = f"worker {worker.number} (pid {worker.pid}) ended unexpectedly ({status})"
        if worker.running is not None:
            self._report_crash(worker.running, why)
        else:  # between properties: what it found so far has reached this process already
            print(f"cors-conformance: {why}", file=sys.stderr)
        if not (self.draining or self.session.shouldfail or self.session.shouldstop):
            self._spawn()

    def _report_crash(self, index: int, why: str) -> None:
        from conformance.plugin import record_harness_error

        item = self.session.items[index]
        hook = self.session.config.hook
        hook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        report = pytest.TestReport(
            nodeid=item.nodeid,
            location=item.location,
            keywords=dict.fromkeys(item.keywords, 1),
            outcome="failed",
            longrepr=why,
            when="call",
        )
        record_harness_error(self.session.config, item, report, why)
        hook.pytest_runtest_logreport(report=report)
        hook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)

    def _drain(self) -> None:
        """Interrupted: pass the interrupt on, then take what the workers found so far."""
        self.draining = True
        for worker in self.live.values():
            _signal(worker.pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_S
        try:
            while self.live and time.monotonic() < deadline:
                for conn in wait([w.conn for w in self.live.values()], timeout=0.2):
                    assert isinstance(conn, Connection)
                    worker = self.live[conn]
                    try:
                        message = conn.recv()
                    except Exception:  # closed, or cut short by the interrupt
                        del self.live[conn]
                        conn.close()
                        _reap(worker.pid)
                        continue
                    if message[0] != "next":
                        self._handle(worker, message)
        except KeyboardInterrupt:  # a second interrupt: stop waiting
            pass

    def _kill(self) -> None:
        for worker in self.live.values():
            _signal(worker.pid, signal.SIGKILL)
            worker.conn.close()
            _reap(worker.pid)
        self.live.clear()


def _before_forking() -> None:
    """Work every worker would otherwise do again, done once in the parent.

    - Hypothesis scans the source of every local module loaded for constants to mix into its
      draws, at the first draw of each process (about 80 ms for this suite). The scan is
      incremental (a module loaded later is scanned when it appears), so scanning here draws
      exactly what the scan at the first draw would.
    - ``gc.freeze()``: the objects built so far are left out of the workers' garbage
      collections, which would otherwise traverse them all again in every worker and write
      to their pages, copying them (as CPython's documentation advises before a fork).
    """
    from conformance.plugin import same_constants_in_every_process

    others = other_threads()
    if others:  # `run -n` uses xdist then, unless --parallel fork; plain pytest comes here
        print(
            f"cors-conformance: forking with {len(others)} other thread(s) running "
            f"({', '.join(others[:3])}): the workers will not have them",
            file=sys.stderr,
        )
    same_constants_in_every_process()
    try:
        from hypothesis.internal.conjecture.providers import _get_local_constants
    except ImportError:  # pragma: no cover - a Hypothesis without local constants
        pass
    else:
        _get_local_constants()
    gc.freeze()


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _reap(pid: int) -> str:
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return "already reaped"
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def _warning(data: dict[str, Any]) -> warnings.WarningMessage:
    """A worker's warning, for the parent's summary (its class, if a builtin or pytest's)."""
    category: type[Warning] = UserWarning
    for namespace in (builtins, pytest):
        found = getattr(namespace, data["category"], None)
        if isinstance(found, type) and issubclass(found, Warning):
            category = found
            break
    return warnings.WarningMessage(
        message=category(data["message"]),
        category=category,
        filename=data["filename"],
        lineno=data["lineno"],
    )


# --- the worker ------------------------------------------------------------------------------


class _Forward:
    """In a worker: sends what pytest reports to the parent instead of the terminal."""

    def __init__(self, conn: Connection, config: pytest.Config) -> None:
        self.conn = conn
        self.config = config

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self.conn.send(("logstart", nodeid, location))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = self.config.hook.pytest_report_to_serializable(config=self.config, report=report)
        self.conn.send(("report", data))

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        self.conn.send(("logfinish", nodeid, location))

    def pytest_warning_recorded(
        self, warning_message: warnings.WarningMessage, nodeid: str
    ) -> None:
        self.conn.send(
            (
                "warning",
                {
                    "message": str(warning_message.message),
                    "category": getattr(warning_message.category, "__name__", "UserWarning"),
                    "filename": warning_message.filename,
                    "lineno": warning_message.lineno,
                    "nodeid": nodeid,
                },
            )
        )


def _worker_main(
    session: pytest.Session, number: int, conn: Connection, first: int
) -> None:  # pragma: no cover - runs in the forked worker
    """Run items as the parent hands them out, then send the session state; never returns."""
    code = 0
    try:
        _worker_setup(session, number, conn)
        _worker_loop(session, conn, first)
    except BaseException as exc:  # everything goes to the parent
        code = 1
        if isinstance(exc, KeyboardInterrupt):
            code = 0
        else:
            with contextlib.suppress(Exception):
                conn.send(("error", f"worker {number}: {''.join(traceback.format_exception(exc))}"))
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _worker_setup(session: pytest.Session, number: int, conn: Connection) -> None:
    config = session.config
    os.environ["CORS_CONFORMANCE_WORKER"] = str(number)
    # Only the parent decides when the run stops: a Ctrl-C reaches the whole process group,
    # and the parent then sends each worker one SIGTERM, which ends its property as Ctrl-C
    # would (a second signal arriving while a worker sends its findings would lose them).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _interrupt)
    manager = config.pluginmanager
    for name in ("terminalreporter", "cors-conformance-progress"):
        plugin = manager.get_plugin(name)
        if plugin is not None:
            manager.unregister(plugin)
    # pytest's output capture was set up before the fork: its temporary files are shared with
    # the parent and the other workers. Give this worker its own.
    capture = manager.get_plugin("capturemanager")
    if capture is not None:
        with contextlib.suppress(Exception):
            capture.stop_global_capturing()
        capture.start_global_capturing()
        capture.suspend_global_capture()
    from conformance.plugin import become_worker
    from conformance.progress import Progress, worker_line

    # The worker's live line (drawn at most every 0.2 s, and only when the parent draws a
    # progress display) goes to the parent, which draws the workers' lines as one.
    live = Progress(rewrite=lambda line: conn.send(("live", line)), newline=_no, line=worker_line)
    become_worker(config, live)
    manager.register(_Forward(conn, config), "cors-conformance-forward")


def _worker_loop(session: pytest.Session, conn: Connection, first: int) -> None:
    from conformance.plugin import take_findings

    config = session.config
    items = session.items
    index: int | None = first
    try:
        while index is not None:
            # The next item is not known yet: name another item of the run, so that only this
            # item's own fixtures are torn down after it (the session's stay up).
            nextitem = items[(index + 1) % len(items)] if len(items) > 1 else None
            config.hook.pytest_runtest_protocol(item=items[index], nextitem=nextitem)
            conn.send(("findings", take_findings(config)))
            conn.send(("next",))
            reply = conn.recv()
            index = reply[1] if reply[0] == "run" else None
        session._setupstate.teardown_exact(None)  # as pytest's own pytest_sessionfinish does
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        with contextlib.suppress(Exception):
            session._setupstate.teardown_exact(None)
        conn.send(("findings", take_findings(config)))
        conn.send(("done",))
        raise
    conn.send(("findings", take_findings(config)))
    conn.send(("done",))


def _no() -> None:
    return None


def _interrupt(signum: int, _frame: object) -> None:  # pragma: no cover - in a worker
    raise KeyboardInterrupt(f"signal {signum}")
