"""The simulator is the integration's peer, not its copy: it imports none of its code.

A simulator that read the integration's own wire descriptions (the System's, say) could only
agree with them, right or wrong.
"""

from __future__ import annotations

import ast
from pathlib import Path

SIMULATOR = Path(__file__).parents[2] / "simulator"


def test_no_simulator_module_imports_the_integration() -> None:
    borrowed = []
    for path in sorted(SIMULATOR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            borrowed += [f"{path.name}: {name}" for name in names if name.startswith("custom_")]
    assert borrowed == []
