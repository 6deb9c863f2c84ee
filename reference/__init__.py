"""The oracle: an executable model of the CORS protocol as the Fetch Standard defines it.

Rule of this package (enforced by import-linter contracts in ``pyproject.toml`` and by
``tests/test_reference_purity.py``): it imports the standard library only, does no I/O, reads no
clock and draws no randomness. Every function is pure over frozen values, so the model can judge
any exchange after the fact and be replayed exactly.

Two sides:

* the browser (``reference.browser``): what a browser puts on the wire for a request and what it
  then does with the server's raw responses (:func:`browser_verdict`);
* the policy (``reference.policy``, ``reference.policy_eval``): what the operator intends for the
  same request (:func:`intended_verdict`).
"""
