"""Harness outcomes: never divergences (see the tree in ``conformance/__init__.py``)."""

from __future__ import annotations


class HarnessOutcome(Exception):
    """Something about the run, not about the target's CORS behaviour."""

    kind = "harness"


class SetupError(HarnessOutcome):
    """The target could not give a CORS answer: unreachable, timed out, broken HTTP."""

    kind = "setup-error"

    def __init__(self, message: str, *, request: str | None = None) -> None:
        super().__init__(message if request is None else f"{message} (request: {request})")
        self.request = request


class TargetUnreachable(SetupError):
    """The target refused or never answered the very first request."""


class NotApplicable(HarnessOutcome):
    """The transport cannot carry this case (e.g. WSGI merges repeated request headers)."""

    kind = "not-applicable"


class SendRefused(NotApplicable):
    """The suite will not send this request to the target: a redirect to another origin, or an
    unsafe method or a body to a ``--url`` target without ``--allow-unsafe``."""


class TimeBudgetExhausted(HarnessOutcome):
    """The run's time budget (``--time-budget``) ran out: the property stopped drawing cases.
    What it found before is reported; that it stopped early is said, never hidden."""

    kind = "time-budget"


class HarnessError(HarnessOutcome):
    """A bug of ours."""

    kind = "harness-error"


class UsageError(Exception):
    """Bad command line, policy file or module path: exit status 2."""
