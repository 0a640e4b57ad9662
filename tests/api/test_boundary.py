"""api/ could be lifted out as a library unchanged: it imports nothing of Home Assistant."""

from __future__ import annotations

import ast
from pathlib import Path

API = Path(__file__).parents[2] / "custom_components" / "zcs_azzurro" / "api"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_api_imports_no_homeassistant() -> None:
    sources = sorted(API.rglob("*.py"))
    assert len(sources) >= 10
    offenders = {
        str(path.relative_to(API)): sorted(
            n for n in _imports(path) if n.split(".")[0] == "homeassistant"
        )
        for path in sources
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_check_sees_an_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom homeassistant.core import HomeAssistant\n")
    assert "homeassistant.core" in _imports(sample)
