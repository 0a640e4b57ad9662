"""The HUB with a full line: three inverters and a meter behind one HUB at its pause.

`scripts/bench --hub-line [--rounds N] [--pacing S]`.
The simulator runs a plant of three 3PH HYD ZSS in parallel behind a HUB (`--plant 3 --link
hub`, the HUB's pause between requests, 3 s unless told), the meter on the meter line, in
its own process; one Home Assistant sets up four entries on it (the inverters at units 1-3
of the inverter line, the meter at unit 1 of the meter line) and polls each once a round, as
their timers would in one scan interval. Per line it shows the requests a round took against
the budget (scan interval / pause), what the integration works out it needs, and the interval
it set; the pause the HUB saw is checked by the simulator (no request earlier than it).
A real HUB's 3 s make a round last about a minute: ten rounds (the settings' cycle) about
ten minutes. Run it under the heavy lock.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
from typing import Any

from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zcs_azzurro import const
from custom_components.zcs_azzurro.coordinator import ZcsCoordinator
from scripts.bench_hass import ROOT, home_assistant
from simulator.devices.site import SERIALS

INVERTERS = 3
HEADER = [
    "line", "devices", "pause s", "interval s", "budget/interval", "requests/round",
    "needed/interval", "interval set s", "repair issue",
]  # fmt: skip


def _entry(port: int, line: str, unit: int, *, profile: str, title: str, pacing: float) -> Any:
    data = {
        const.CONF_LINK: const.LINK_HUB,
        const.CONF_FRAMING: "modbus_tcp",
        CONF_HOST: "127.0.0.1",
        CONF_PORT: port,
        const.CONF_LINE: line,
        const.CONF_UNIT_ID: unit,
        const.CONF_PROFILE: profile,
        const.CONF_MODEL: title,
    }
    unique = SERIALS[unit - 1] if line == "inverters" else f"hub_127.0.0.1:{port}_{unit}"
    return MockConfigEntry(
        domain=const.DOMAIN,
        unique_id=unique,
        title=title,
        data=data,
        options={const.CONF_PACING: pacing},
    )


async def bench(rounds: int, pacing: float) -> list[list[str]]:
    """Set the line up, poll it `rounds` times, and a row per HUB port."""
    simulator = subprocess.Popen(  # noqa: ASYNC220 (started once, waited on at the end)
        [sys.executable, "-m", "simulator", "--plant", str(INVERTERS), "--link", "hub",
         "--port", "0", "--pacing", str(pacing)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert simulator.stdout is not None
        line = simulator.stdout.readline()
        ports = [int(where.rsplit(":", 1)[1]) for where in line.split(" ", 2)[2].split(", ")]
        async with home_assistant() as hass:
            inverter = {"profile": "zcs_3ph_hyd_zss", "pacing": pacing}
            entries = [
                _entry(ports[0], "inverters", unit, title=f"Inverter {unit}", **inverter)
                for unit in range(1, INVERTERS + 1)
            ]
            meter = {"profile": "chint_dtsu666", "title": "DTSU666", "pacing": pacing}
            entries.append(_entry(ports[1], "meters", 1, **meter))
            for entry in entries:
                entry.add_to_hass(hass)
                assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            coordinators: list[ZcsCoordinator] = [e.runtime_data.coordinator for e in entries]
            counts: dict[int, list[int]] = {ports[0]: [], ports[1]: []}
            for _ in range(rounds):
                before = [c.device.link.stats.requests for c in coordinators]  # type: ignore[attr-defined]
                # One scan interval: every entry polls once, as their timers have them.
                await asyncio.gather(*(c.async_refresh() for c in coordinators))
                after = [c.device.link.stats.requests for c in coordinators]  # type: ignore[attr-defined]
                sent = [b - a for a, b in zip(before, after, strict=True)]
                counts[ports[0]].append(sum(sent[:INVERTERS]))
                counts[ports[1]].append(sent[INVERTERS])
            return [
                _row(hass, name, port, devices, counts=counts[port], first=coordinators[first])
                for name, port, devices, first in (
                    ("inverters", ports[0], f"{INVERTERS} inverters", 0),
                    ("meters", ports[1], "1 meter", INVERTERS),
                )
            ]
    finally:
        simulator.terminate()
        simulator.wait(30)


def _row(
    hass: Any, name: str, port: int, devices: str, *, counts: list[int], first: ZcsCoordinator
) -> list[str]:
    coordinator = first
    interval = float(const.DEFAULT_SCAN_INTERVAL)
    watch = coordinator.watch
    assert watch is not None
    pacing = coordinator.config_entry.options[const.CONF_PACING]
    needed = watch.busy_for / pacing if pacing else 0.0
    entries = [
        e.entry_id
        for e in hass.config_entries.async_entries(const.DOMAIN)
        if e.data[CONF_PORT] == port
    ]
    issue = any(
        ir.async_get(hass).async_get_issue(const.DOMAIN, f"hub_budget_{entry_id}")
        for entry_id in entries
    )
    assert coordinator.update_interval is not None
    return [
        f"{name} ({port})", devices, f"{pacing:g}", f"{interval:.0f}",
        f"{interval / pacing:.1f}", f"{statistics.fmean(counts):.1f}", f"{needed:.1f}",
        f"{coordinator.update_interval.total_seconds():.0f}", "yes" if issue else "no",
    ]  # fmt: skip


def main(rounds: int, pacing: float) -> None:
    """Print the table (scripts/bench --hub-line [--rounds N] [--pacing S])."""
    rows = asyncio.run(bench(rounds, pacing))
    print("| " + " | ".join(HEADER) + " |")
    print("| " + " | ".join("---" for _ in HEADER) + " |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
