"""A short run of scripts/soak_writes: nothing written unasked, every "done" held."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_write_soak_writes_nothing_unasked() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "scripts.soak_writes", "--writes", "40", "--seed", "2",
         "--link", "eth-tcp", "--link", "rs485"],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["eth-tcp", "rs485"]
    for line in lines:
        assert "registers written unasked and not held 0; done but not held 0" in line
        assert "log lines at WARNING or up 0" in line
        # The faults were there: read and write answers damaged, writes received.
        reads, writes = map(int, re.findall(r"reads (\d+), writes (\d+)", line)[0])
        assert reads > 0
        assert writes > 0
        assert int(re.findall(r"write requests received (\d+)", line)[0]) > 0
