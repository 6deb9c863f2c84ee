"""The suite as pytest tests: one test per property (``pytest conformance``)."""

from __future__ import annotations

import pytest

from conformance.context import SuiteContext
from conformance.plugin import selected_properties
from conformance.properties import PROPERTY_BY_NAME


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "property_name" in metafunc.fixturenames:
        metafunc.parametrize("property_name", selected_properties(metafunc.config))


def test_property(property_name: str, cors_context: SuiteContext) -> None:
    PROPERTY_BY_NAME[property_name].build(cors_context)()
