"""Composition root: registers the suite's pytest plugin (options, fixtures, reports) for both
the suite (``pytest conformance``) and the project's own tests (``pytest``)."""

pytest_plugins = ["conformance.plugin"]
