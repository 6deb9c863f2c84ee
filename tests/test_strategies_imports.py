"""``strategies/`` uses the oracle's vocabulary, never its decisions.

import-linter enforces most of this (``pyproject.toml``); this test also covers
``reference.explain``, which the contract there does not list, and fails with the offending
module and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

STRATEGIES = Path(__file__).resolve().parent.parent / "strategies"
FORBIDDEN = (
    "reference.browser",
    "reference.policy_eval",
    "reference.explain",
    "conformance",
    "reports",
)


def _imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


@pytest.mark.parametrize("path", sorted(STRATEGIES.glob("*.py")), ids=lambda p: p.name)
def test_strategies_never_import_the_oracles_decisions(path: Path) -> None:
    offending = [
        f"{path.name}:{line}: {module}"
        for line, module in _imports(path)
        if any(module == f or module.startswith(f"{f}.") for f in FORBIDDEN)
    ]
    assert not offending, offending


def test_the_import_check_sees_the_package() -> None:
    assert (STRATEGIES / "__init__.py").is_file()
