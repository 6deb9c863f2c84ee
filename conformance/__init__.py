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
