"""The oracle against a real browser: a differential harness that runs cases in headless
Chromium (Debian's package, driven by Playwright) and in the model under the ``chromium``
profile, and reports every difference (DESIGN.md, "Proof that the suite works").

``python -m conformance.browser_check --cases 5000`` runs it alone; the pytest group is
``tests/test_browser_differential.py`` (marker ``browser``).
"""
