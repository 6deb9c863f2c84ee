"""reference/ is the oracle: standard library only, no I/O, no clock, no randomness.

Enforced twice: import-linter's contracts (pyproject.toml) keep our other packages out, and
this test reads every module's syntax tree for imports and calls that would break the rule.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parent.parent / "reference"
BANNED_MODULES = {
    "asyncio",
    "datetime",
    "http",
    "io",
    "os",
    "pathlib",
    "random",
    "secrets",
    "select",
    "shutil",
    "socket",
    "ssl",
    "subprocess",
    "sys",
    "tempfile",
    "threading",
    "time",
    "urllib.request",
    "uuid",
}
BANNED_CALLS = {"open", "print", "input", "exec", "eval", "__import__"}
BANNED_METHODS = {"now", "today", "utcnow", "fromtimestamp"}  # datetime may be named, not read


def _modules() -> list[Path]:
    return sorted(REFERENCE.glob("*.py"))


def _imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.name)
def test_standard_library_only_and_no_io(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for name in _imports(tree):
        top = name.split(".")[0]
        assert top == "reference" or top in sys.stdlib_module_names or top == "__future__", (
            f"{path.name} imports {name!r}, which is not the standard library"
        )
        assert name not in BANNED_MODULES, f"{path.name} imports {name!r}: no I/O, no clock"
        assert top not in BANNED_MODULES, f"{path.name} imports {name!r}: no I/O, no clock"
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in BANNED_CALLS, f"{path.name} calls {node.func.id}()"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in BANNED_METHODS, f"{path.name} reads the clock"


def test_import_contracts_hold() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=REFERENCE.parent,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
