"""Simulated ZCS devices behind the links the real hardware has."""

import sys

# Older Pythons fail later and less clearly (a traceback on Ctrl-C, for one).
if sys.version_info < (3, 14):  # noqa: UP036 - the check is for the Pythons ruff's target excludes
    sys.exit(
        f"The simulator needs Python 3.14 or newer, not {sys.version.split()[0]}: "
        "run it with the project's .venv/bin/python -m simulator"
    )
