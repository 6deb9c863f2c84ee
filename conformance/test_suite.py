"""The suite as pytest tests: one test per property (``pytest conformance``).

``--framework NAME`` without ``--policy`` runs ``framework_configurations`` alone (policies are
generated too; :mod:`conformance.framework_properties`); with ``--policy``, every property runs
against the framework configured from that policy.
"""

from __future__ import annotations

import pytest

from conformance.context import SuiteContext
from conformance.plugin import STATE, selected_properties
from conformance.properties import PROPERTY_BY_NAME


def _generates_policies(config: pytest.Config) -> bool:
    options = config.stash[STATE].options
    return bool(options.framework) and not options.policy_file


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "property_name" in metafunc.fixturenames:
        if _generates_policies(metafunc.config):
            from conformance.framework_properties import PROPERTY_NAME

            metafunc.parametrize("property_name", [PROPERTY_NAME])
        else:
            metafunc.parametrize("property_name", selected_properties(metafunc.config))


def test_property(
    property_name: str, cors_context: SuiteContext, request: pytest.FixtureRequest
) -> None:
    if not _generates_policies(request.config):
        PROPERTY_BY_NAME[property_name].build(cors_context)()
        return
    from conformance.framework_properties import framework_configurations
    from conformance.frameworks import FrameworkSession

    framework = request.config.stash[STATE].options.framework
    assert framework is not None
    session = FrameworkSession(framework)
    try:
        framework_configurations(cors_context, session)()
    finally:
        session.close()
        skipped = ", ".join(f"{k} x{n}" for k, n in cors_context.inexpressible.most_common())
        line = (
            f"{framework}: {cors_context.policies_tested} generated policies tested; "
            f"skipped as inexpressible, by policy key: {skipped or 'none'}"
        )
        plugins = request.config.pluginmanager
        reporter = plugins.get_plugin("terminalreporter")
        capture = plugins.get_plugin("capturemanager")
        if reporter is not None:  # (none on an xdist worker)
            if capture is None:
                reporter.write_line(line)
            else:
                with capture.global_and_fixture_disabled():
                    reporter.write_line(line)
