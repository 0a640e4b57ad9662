"""Issue 16's measure over a long run: wrong values published through a damaging link.

The simulated stick changes one data byte in a share of its answers (a valid frame; RTU with
the CRC of the changed bytes), or hands a request the previous answer of the same length.
The plant moves at speed on its own clock (a kettle, passing clouds, the battery turning
from charge to discharge), 5 s a poll. Each published value is held against the
simulator's truth with the issue's thresholds (100 W, 2 A, 3 points of charge, 10 V,
1 kWh, any false alarm; 3 °C and 0.5 Hz are ours).

Run with: .venv/bin/python scripts/trust.py [--polls 2000] [--corrupt 0.2] [--hour 13] ...
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from custom_components.zcs_azzurro.api.profile.loader import load_bundled  # noqa: E402
from simulator.devices.hyd_3ph import Hyd3ph  # noqa: E402
from simulator.eth import EthStick, Framing  # noqa: E402
from tests.conftest import Clock, link_to, local_time  # noqa: E402
from tests.trust import Tally, run  # noqa: E402


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/trust.py", description=__doc__)
    parser.add_argument("--polls", type=int, default=2000)
    parser.add_argument("--corrupt", type=float, default=0.2, help="share of answers damaged")
    parser.add_argument(
        "--crossed", type=float, default=0.0, help="share of answers given another's answer"
    )
    parser.add_argument("--seed", type=int, default=0, help="which answers, which bytes")
    parser.add_argument("--framing", choices=[f.value for f in Framing], default="rtu")
    parser.add_argument("--hour", type=int, default=13, help="local hour the run starts at")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between polls")
    parser.add_argument("--all", action="store_true", help="every entity, not the default ones")
    return parser.parse_args()


def _report(arguments: argparse.Namespace, tally: Tally) -> None:
    print(
        f"{tally.polls} polls at {arguments.interval:g} s from {arguments.hour}:00, "
        f"{arguments.framing}, corrupt {arguments.corrupt:g}, crossed {arguments.crossed:g} "
        f"(seed {arguments.seed}): "
        f"{tally.corrupted_answers} answers damaged, in {tally.corrupted_polls} polls; "
        f"{tally.failed_polls} polls failed on the link"
    )
    keys = sorted({*tally.wrong, *tally.withheld_clean, *tally.withheld_corrupted})
    print(f"{'field':34} {'wrong':>6} {'withheld clean':>15} {'withheld damaged':>17}")
    for key in keys:
        print(
            f"{key:34} {tally.wrong[key]:6} {tally.withheld_clean[key]:15}"
            f" {tally.withheld_corrupted[key]:17}"
        )
    print(
        f"{'total':34} {tally.wrong.total():6} {tally.withheld_clean.total():15}"
        f" {tally.withheld_corrupted.total():17}"
    )
    clean = tally.polls - tally.corrupted_polls
    print(
        f"requests: {tally.requests} ({tally.planned} planned); confirmations: "
        f"{tally.extra_clean} on {clean} clean polls, {tally.extra_corrupted} on "
        f"{tally.corrupted_polls} damaged ones"
    )
    for example in tally.examples[:20]:
        print("  wrong:", example)


async def _main(arguments: argparse.Namespace) -> int:
    profile = next(p for p in load_bundled() if p.id == "zcs_3ph_hyd_zss")
    inverter = Hyd3ph(clock=Clock(local_time(arguments.hour)))
    stick = EthStick(inverter, framing=Framing(arguments.framing))
    await stick.start()
    stick.faults.corrupt = arguments.corrupt
    stick.faults.crossed = arguments.crossed
    stick.random.seed(arguments.seed)
    link = link_to(stick)
    keys = [f.key for f, _ in profile.entities()] if arguments.all else list(profile.defaults())
    try:
        tally = await run(link, stick, profile, keys, arguments.polls, interval=arguments.interval)
    finally:
        await link.close()
        await stick.stop()
    _report(arguments, tally)
    return 1 if tally.wrong or tally.withheld_clean else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(_main(_arguments())))
