"""The demo's battery check (`scripts/demo --battery`): a mode for two minutes, and its cost.

Over Home Assistant's REST API, as an automation would: `zcs_azzurro.set_battery_mode` charge
at 2000 W for 2 minutes. The battery charges at 2000 W at the next poll; after the 2 minutes
the mode before (self use) is back. The simulated inverter counts the writes that reach its
EEPROM per register, and keeps the count in its --memory file: the storage mode (0x1110)
grows by 2 without "stay in passive mode" (into passive mode and out), by 0 with it. The
check runs both, turning the option on in the entry's options as a user does, and back off.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from custom_components.zcs_azzurro.const import DEFAULT_WRITE_INTERVAL
from simulator.__main__ import EEPROM, MEMORY_INTERVAL

DOMAIN = "zcs_azzurro"
STORAGE_MODE = 0x1110
CHARGE_W = 2000
EPISODE_S = 120
# The storage-mode writes an episode costs, without and with "stay in passive mode".
EXPECTED = {False: 2, True: 0}


def _watts(state: str) -> float | None:
    try:
        return float(state)
    except ValueError:
        return None


@dataclass
class BatteryCheck:
    """One run of the check against the demo's Home Assistant and simulator.

    `entities` by the key they show; `memory` the simulator's --memory file.
    """

    session: aiohttp.ClientSession
    url: str
    headers: dict[str, str]
    entities: dict[str, str]
    memory: Path
    say: Callable[[str], None]

    async def state(self, key: str) -> str:
        """The state of the entity with this key, as the REST API gives it."""
        async with self.session.get(
            f"{self.url}/api/states/{self.entities[key]}", headers=self.headers
        ) as response:
            shown: str = (await response.json())["state"]
            return shown

    async def wait_for(self, key: str, wanted: Callable[[str], bool], seconds: float) -> str:
        """The entity's state once it is what is wanted, or the last one after `seconds`."""
        deadline = time.monotonic() + seconds
        shown = await self.state(key)
        while not wanted(shown) and time.monotonic() < deadline:
            await asyncio.sleep(1)
            shown = await self.state(key)
        return shown

    async def eeprom_writes(self) -> int:
        """The simulator's count of EEPROM writes of the storage mode, once it has kept it."""
        await asyncio.sleep(MEMORY_INTERVAL + 1)
        kept: dict[str, Any] = json.loads(self.memory.read_text())
        return int(kept.get(EEPROM, {}).get(f"{STORAGE_MODE:#06x}", 0))

    async def episode(self, entry_id: str, *, stay: bool) -> bool:
        """Charge at 2000 W for two minutes; whether it showed and cost what it should."""
        before = await self.eeprom_writes()
        call = {
            "config_entry_id": entry_id,
            "mode": "charge",
            "power": CHARGE_W,
            "duration": f"00:{EPISODE_S // 60:02d}:00",
        }
        async with self.session.post(
            f"{self.url}/api/services/{DOMAIN}/set_battery_mode", json=call, headers=self.headers
        ) as response:
            if response.status != 200:
                answer = await response.text()
                self.say(f"check: set_battery_mode answered {response.status}: {answer}")
                return False
        started = time.monotonic()
        # Battery power counts discharge as positive: charging at 2000 W reads -2000.
        power = await self.wait_for("battery_power", lambda s: _watts(s) == -CHARGE_W, 60)
        mode = await self.state("battery_mode")
        if _watts(power) != -CHARGE_W or mode != "charge":
            self.say(f"check: after set_battery_mode the battery power is {power} W, mode {mode}")
            return False
        self.say(
            f"check: set_battery_mode charge {CHARGE_W} W for {EPISODE_S // 60} minutes: the "
            f"battery charges at {CHARGE_W} W at the next poll ({self.entities['battery_power']} "
            f"{power}), {self.entities['battery_mode']} {mode}"
        )
        back = await self.wait_for("battery_mode", lambda s: s == "self_use", EPISODE_S + 90)
        took = time.monotonic() - started
        if back != "self_use" or took < EPISODE_S - 5:
            self.say(f"check: {took:.0f} s later the battery mode is {back}, not self_use")
            return False
        storage = await self.state("storage_mode")
        grew = await self.eeprom_writes() - before
        option = "with" if stay else "without"
        self.say(
            f"check: {took:.0f} s later self use is back (storage mode {storage}); the "
            f"simulator's EEPROM counter for 0x1110 grew by {grew} {option} stay in passive mode"
        )
        return grew == EXPECTED[stay] and storage == ("passive" if stay else "self_use")


async def check_battery(
    check: BatteryCheck,
    entry_id: str,
    set_options: Callable[[dict[str, Any]], Awaitable[None]],
) -> bool:
    """Both episodes, the option turned on in between; the option as it was at the end."""
    passed = await check.episode(entry_id, stay=False)
    await set_options({"stay_in_passive": True})
    check.say("turned on the option 'Battery control: stay in passive mode' (the entry reloads)")
    storage = await check.wait_for("storage_mode", lambda s: s == "passive", 120)
    if storage != "passive":
        check.say(f"check: with stay in passive mode the storage mode shows {storage}")
        passed = False
    passed = await check.episode(entry_id, stay=True) and passed
    await set_options({"stay_in_passive": False})
    # Turned off, the option gives the inverter its own storage mode back (a permanent-memory
    # write): what follows may write the storage mode once the interval between two passed.
    storage = await check.wait_for("storage_mode", lambda s: s == "self_use", 120)
    if storage != "self_use":
        check.say(f"check: with the option off again the storage mode shows {storage}")
        passed = False
    await asyncio.sleep(DEFAULT_WRITE_INTERVAL + 1)
    return passed
