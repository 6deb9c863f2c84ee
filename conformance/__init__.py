"""The suite: the only package that does I/O.

Data flow (DESIGN.md): strategies → BrowserRequest → ``conformance.targets`` (drive the model's
wire requests against a target) → ``Exchange`` → ``conformance.compare`` (browser verdict vs
intended verdict) → divergences → ``reports``.

Two trees of outcomes, never mixed (httpx's ``_exceptions.py`` does the same for its errors)::

    target wrong                         harness or setting
    ────────────                         ──────────────────
    Divergence (AssertionError)          HarnessOutcome (Exception)
     ├─ graded insecure                   ├─ SetupError       target unreachable, timed out, 5xx
     ├─ graded dysfunctional              │                    where a CORS answer was needed
     ├─ graded non-strict                 ├─ NotApplicable    the transport cannot carry the case
     └─ graded informational              └─ HarnessError     a bug of ours
"""

import sys

# httpx imports its own command-line client (click, rich and pygments: about 80 modules, 50 to
# 100 ms of every start-up: each run, each xdist worker) unless that import fails, in which case
# it defines a stub `httpx.main` that says the extra is missing (httpx/__init__.py). The suite
# never uses httpx's command line, so it makes that one import fail. Nothing else of httpx
# changes; where httpx was imported first, this does nothing.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
