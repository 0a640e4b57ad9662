"""Short runs of scripts/bench and scripts/soak: their tables, and what they must show."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scripts.soak import SOAK_LINKS

ROOT = Path(__file__).resolve().parents[2]


def _start(*arguments: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", *arguments],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_bench_and_soak_short() -> None:
    """Side by side, ours asks less and rewrites nothing; the soak loses nothing."""
    # Both at once: each waits on its own simulator and Home Assistant most of the time.
    bench = _start(
        "scripts.bench", "--polls", "2", "--delay", "0", "--jitter", "0", "--link", "eth-tcp",
        "--link", "system",
    )  # fmt: skip
    # Links wait 0.3 s (as in the other tests), not the soak's 50 ms: here the machine runs
    # the bench beside it, and an answer 50 ms late on a loaded one is no lost answer.
    soak = _start(
        "scripts.soak", "--polls", "150", "--seconds", "40", "--seed", "3", "--timeout", "0.3"
    )
    bench_out, bench_err = bench.communicate(timeout=120)
    soak_out, soak_err = soak.communicate(timeout=120)
    assert bench.returncode == 0, bench_err
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in bench_out.splitlines()
        if line.startswith("| eth")
    ]
    assert len(rows) == 3  # ours, core, ours with every default entity
    for ours, core, _ in zip(rows[::3], rows[1::3], rows[2::3], strict=True):
        assert (ours[1], core[1]) == ("zcs_azzurro", "core modbus")
        assert float(ours[3]) < float(core[3]) / 4  # requests per poll
        # The five docs/development.md shows; asking whether a second tower has come adds none.
        # (30 entities: the Active fault sensor shows the fault field the binary sensor reads.)
        assert (ours[2], ours[3]) == ("30", "5.0")
        assert float(ours[8]) == 0  # unchanged writes per poll
        assert float(core[8]) > 0
    # The System: its realtime and alarm calls each poll, and no state written unchanged.
    (system,) = [line for line in bench_out.splitlines() if line.startswith("| system")]
    cells = [cell.strip() for cell in system.strip("|").split("|")]
    assert (cells[3], cells[8]) == ("2.0", "0.0")
    assert soak.returncode == 0, soak_out + soak_err
    # A line per link; what is listed under it (values off within the measure) is indented.
    lines = [line for line in soak_out.splitlines() if not line.startswith(" ")]
    # A line for every link it soaks, HUB, Power Magic, RS485 and System among them.
    assert [line.split(":")[0] for line in lines] == [link.name for link in SOAK_LINKS]
    assert {"hub", "power-magic", "rs485", "system"} <= {link.name for link in SOAK_LINKS}
    for line in lines:
        assert "wrong values 0 (" in line
        assert "decreases 0, exceptions 0" in line
