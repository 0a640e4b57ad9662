"""Battery control: a mode for a while, kept alive, ended on time, safe when Home Assistant goes.

Against the simulated 3PH HYD at 13:00 on a June day (its clock stands still unless moved):
the sun would charge the battery at the most it takes, so any other mode shows.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import probatio
import pytest
from aiohttp.test_utils import TestClient
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zcs_azzurro import const
from custom_components.zcs_azzurro.battery import BatteryControl
from custom_components.zcs_azzurro.diagnostics import async_get_config_entry_diagnostics
from simulator.devices.hyd_3ph import CONTACT_SETPOINTS, Hyd3ph
from simulator.eth import EthStick
from simulator.system import SimulatedSystem
from tests.conftest import Clock

from .conftest import SERIAL, Later, entry_data, state
from .test_system import _setup, system_entry

STORAGE_MODE = 0x1110
# Home Assistant's timers are moved on here, not the monotonic clock the minimum interval
# between two EEPROM writes counts on: the interval is off, except where a test says.
NO_INTERVAL = {const.CONF_WRITE_INTERVAL: 0}
STAY = {const.CONF_STAY_IN_PASSIVE: True, **NO_INTERVAL}


@pytest.fixture
def config_entry(stick: EthStick) -> MockConfigEntry:
    """An entry for the simulated inverter, without the interval between EEPROM writes."""
    return MockConfigEntry(
        domain=const.DOMAIN,
        unique_id=SERIAL,
        title="Inverter",
        data=entry_data(stick.port),
        options=NO_INTERVAL,
    )


def _s32(words: list[int]) -> int:
    raw = words[0] << 16 | words[1]
    return raw - (1 << 32) if raw & 0x80000000 else raw


# The test looks into the inverter's registers without a request: a request is contact,
# which restarts the passive timeout.


def setpoints(inverter: Hyd3ph) -> tuple[int, int, int]:
    """Grid, battery minimum and maximum as the inverter holds them (W)."""
    words = [inverter.values[a] for a in range(0x1187, 0x118D)]
    return _s32(words[0:2]), _s32(words[2:4]), _s32(words[4:6])


def storage_mode(inverter: Hyd3ph) -> int:
    """The storage mode now (the timeout checked first, as before every answer)."""
    inverter.refresh()
    return inverter.values[STORAGE_MODE]


async def set_mode(hass: HomeAssistant, entry: MockConfigEntry, **data: Any) -> None:
    """The action, as an automation calls it."""
    await hass.services.async_call(
        const.DOMAIN,
        "set_battery_mode",
        {"config_entry_id": entry.entry_id, **data},
        blocking=True,
    )


async def select_storage_mode(hass: HomeAssistant, entry: MockConfigEntry, option: str) -> None:
    """The storage mode set with its select, as a user does, and read again."""
    await hass.services.async_call(
        "select",
        "select_option",
        {ATTR_ENTITY_ID: state(hass, "storage_mode", "select").entity_id, "option": option},
        blocking=True,
    )
    # Read twice before it is shown (a setting that changed).
    await entry.runtime_data.coordinator.async_refresh_settings()


def control_of(entry: MockConfigEntry) -> BatteryControl:
    control = entry.runtime_data.battery
    assert control is not None
    return control


async def add_entry(
    hass: HomeAssistant, stick: EthStick, options: dict[str, Any] | None = None
) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=const.DOMAIN,
        unique_id=SERIAL,
        title="Inverter",
        data=entry_data(stick.port),
        options=NO_INTERVAL if options is None else options,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry


async def test_the_entities_show_the_inverters_own_mode_until_one_is_asked_for(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, inverter: Hyd3ph
) -> None:
    assert state(hass, "battery_mode", "select").state == "self_use"
    assert state(hass, "battery_mode_power", "number").state == "unknown"
    assert state(hass, "battery_mode_end").state == "unknown"
    assert state(hass, "battery_mode_writes").state == "storage_mode"
    assert state(hass, "storage_mode_writes").state == "0"
    # Nothing is written on its own.
    assert not inverter.eeprom_writes
    assert not [r for r in inverter.log if r.function == 0x10]


async def test_charge_for_two_minutes_then_self_use_comes_back_with_two_storage_writes(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    inverter: Hyd3ph,
    later: Later,
) -> None:
    assert float(state(hass, "battery_power").state) == -5000  # the sun fills the battery
    started = dt_util.utcnow()
    await set_mode(hass, loaded_entry, mode="charge", power=2000, duration={"minutes": 2})
    assert storage_mode(inverter) == 3
    assert setpoints(inverter) == (0, 2000, 2000)
    # The timeout and its action: back to the mode before passive if Home Assistant goes.
    assert [inverter.values[0x1184], inverter.values[0x1185]] == [const.PASSIVE_TIMEOUT, 1]
    # Battery power counts discharge as positive: charging at 2000 W reads -2000.
    assert float(state(hass, "battery_power").state) == -2000
    assert state(hass, "battery_mode", "select").state == "charge"
    assert state(hass, "battery_mode_power", "number").state == "2000"
    ends = dt_util.parse_datetime(state(hass, "battery_mode_end").state)
    assert ends == (started + timedelta(minutes=2)).replace(microsecond=0) or ends == (
        started + timedelta(minutes=2)
    )
    await later(119)
    assert storage_mode(inverter) == 3
    await later(2)
    assert storage_mode(inverter) == 0
    assert state(hass, "battery_mode", "select").state == "self_use"
    assert state(hass, "battery_mode_end").state == "unknown"
    assert float(state(hass, "battery_power").state) == -5000
    # Into passive mode and out: two storage-mode writes; the timeout once.
    assert inverter.eeprom_writes[STORAGE_MODE] == 2
    assert inverter.eeprom_writes[0x1184] == 1
    assert state(hass, "storage_mode_writes").state == "3"


async def test_staying_in_passive_mode_a_day_of_changes_writes_ram_only(
    hass: HomeAssistant, stick: EthStick, inverter: Hyd3ph, later: Later
) -> None:
    entry = await add_entry(hass, stick, STAY)
    # Written once, when the option is taken up: passive mode, self use as set-points.
    assert storage_mode(inverter) == 3
    assert setpoints(inverter) == (0, -20000, 20000)
    assert state(hass, "battery_mode", "select").state == "self_use"
    assert state(hass, "battery_mode_writes").state == "ram_only"
    once = dict(inverter.eeprom_writes)
    assert once == {STORAGE_MODE: 1, 0x1184: 1, 0x1185: 1}
    await set_mode(hass, entry, mode="charge", power=2000, duration="00:02:00")
    assert float(state(hass, "battery_power").state) == -2000
    await set_mode(hass, entry, mode="hold")
    assert setpoints(inverter) == (0, 0, 20000)
    await set_mode(hass, entry, mode="discharge", power=1500, duration={"minutes": 30})
    await set_mode(hass, entry, mode="grid_target", power=-3000)
    assert setpoints(inverter) == (-3000, -20000, 20000)
    await set_mode(hass, entry, mode="self_use")
    await later(3600)
    assert setpoints(inverter) == (0, -20000, 20000)
    assert dict(inverter.eeprom_writes) == once
    assert storage_mode(inverter) == 3


async def test_a_mode_for_a_while_returns_to_the_mode_asked_before_it(
    hass: HomeAssistant, stick: EthStick, inverter: Hyd3ph, later: Later
) -> None:
    entry = await add_entry(hass, stick, STAY)
    await set_mode(hass, entry, mode="hold")
    await set_mode(hass, entry, mode="discharge", power=3000, until="13:30")
    assert setpoints(inverter) == (0, -3000, -3000)
    # A time of day is the next to come: today 13:30 (Home Assistant's clock is frozen here).
    ends = dt_util.parse_datetime(state(hass, "battery_mode_end").state)
    assert ends is not None
    assert timedelta(0) < ends - dt_util.utcnow() <= timedelta(days=1)
    await later((ends - dt_util.utcnow()).total_seconds() + 1)
    assert setpoints(inverter) == (0, 0, 20000)
    assert state(hass, "battery_mode", "select").state == "hold"


async def test_the_set_points_are_written_again_before_the_inverters_timeout(
    hass: HomeAssistant, stick: EthStick, inverter: Hyd3ph, later: Later
) -> None:
    # The strictest reading of the protocol: only set-points restart the timeout, not polls.
    inverter.passive_contact = CONTACT_SETPOINTS
    clock = inverter.clock
    assert isinstance(clock, Clock)
    entry = await add_entry(hass, stick)
    await set_mode(hass, entry, mode="charge", power=2000)
    for _ in range(8):  # 20 minutes, twice the timeout
        clock.now += const.KEEP_ALIVE
        await later(const.KEEP_ALIVE)
    assert storage_mode(inverter) == 3
    assert float(state(hass, "battery_power").state) == -2000
    rewrites = [r for r in inverter.log if r.function == 0x10 and r.address == 0x1187]
    assert len(rewrites) >= 8


async def test_home_assistant_gone_the_inverter_takes_its_timeout_action_in_time(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, inverter: Hyd3ph
) -> None:
    clock = inverter.clock
    assert isinstance(clock, Clock)
    await set_mode(hass, loaded_entry, mode="charge", power=2000, duration={"hours": 3})
    assert storage_mode(inverter) == 3
    # Home Assistant stops: no polls, no set-points; nothing reaches the inverter.
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    gone = clock.now
    clock.now = gone + const.PASSIVE_TIMEOUT - 1
    assert storage_mode(inverter) == 3
    clock.now = gone + const.PASSIVE_TIMEOUT + 1
    # Back to the mode it had before passive: self use, the sun fills the battery again.
    assert storage_mode(inverter) == 0
    inverter.refresh()
    assert inverter.plant.battery_w == 5000


async def test_a_restart_mid_episode_resumes_it_and_one_after_its_end_ends_it(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    inverter: Hyd3ph,
    hass_storage: dict[str, Any],
) -> None:
    entry = loaded_entry
    await set_mode(hass, entry, mode="charge", power=2000, duration={"minutes": 30})
    ends = state(hass, "battery_mode_end").state
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state(hass, "battery_mode", "select").state == "charge"
    assert state(hass, "battery_mode_end").state == ends
    assert setpoints(inverter) == (0, 2000, 2000)
    assert inverter.eeprom_writes[STORAGE_MODE] == 1  # still in passive mode: not rewritten
    # Down past its end (what the entry's storage then holds): it ends as Home Assistant
    # comes back.
    assert await hass.config_entries.async_unload(entry.entry_id)
    stored = hass_storage[f"{const.DOMAIN}.battery.{entry.entry_id}"]["data"]
    assert stored["until"] is not None
    stored["until"] = (dt_util.utcnow() - timedelta(minutes=1)).isoformat()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert storage_mode(inverter) == 0
    assert state(hass, "battery_mode", "select").state == "self_use"
    assert state(hass, "battery_mode_end").state == "unknown"
    assert inverter.eeprom_writes[STORAGE_MODE] == 2


async def test_a_storage_mode_set_elsewhere_has_the_last_word(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    inverter: Hyd3ph,
    later: Later,
) -> None:
    await set_mode(hass, loaded_entry, mode="hold", duration={"hours": 1})
    await select_storage_mode(hass, loaded_entry, "time_of_use")
    assert state(hass, "storage_mode", "select").state == "time_of_use"
    assert state(hass, "battery_mode", "select").state == "unknown"
    assert state(hass, "battery_mode_end").state == "unknown"
    await later(3 * 3600)
    assert storage_mode(inverter) == 1


async def test_a_storage_mode_the_inverters_timeout_changed_is_taken_back(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    inverter: Hyd3ph,
    later: Later,
) -> None:
    control = control_of(loaded_entry)
    await set_mode(hass, loaded_entry, mode="charge", power=2000)
    # Home Assistant was busy past the timeout (no set-points written); the inverter left.
    assert control._asserted is not None
    control._asserted = time.monotonic() - const.PASSIVE_TIMEOUT - 1
    inverter.write(STORAGE_MODE, [0])
    await loaded_entry.runtime_data.coordinator.async_refresh_settings()
    await loaded_entry.runtime_data.coordinator.async_refresh_settings()
    await later(const.KEEP_ALIVE)
    assert storage_mode(inverter) == 3
    assert state(hass, "battery_mode", "select").state == "charge"


async def test_the_mode_select_and_power_number_ask_as_the_action_does(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, inverter: Hyd3ph
) -> None:
    select = state(hass, "battery_mode", "select").entity_id
    number = state(hass, "battery_mode_power", "number").entity_id
    with pytest.raises(ServiceValidationError) as missing:
        await hass.services.async_call(
            "select",
            "select_option",
            {ATTR_ENTITY_ID: select, "option": "discharge"},
            blocking=True,
        )
    assert missing.value.translation_key == "battery_power_missing"
    await hass.services.async_call(
        "number", "set_value", {ATTR_ENTITY_ID: number, "value": 1500}, blocking=True
    )
    await hass.services.async_call(
        "select", "select_option", {ATTR_ENTITY_ID: select, "option": "discharge"}, blocking=True
    )
    assert setpoints(inverter) == (0, -1500, -1500)
    await hass.services.async_call(
        "number", "set_value", {ATTR_ENTITY_ID: number, "value": 1000}, blocking=True
    )
    assert setpoints(inverter) == (0, -1000, -1000)
    assert state(hass, "battery_mode_power", "number").state == "1000"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"mode": "charge"}, "battery_power_missing"),
        ({"mode": "charge", "power": 25000}, "battery_power_invalid"),
        ({"mode": "discharge", "power": -100}, "battery_power_invalid"),
        ({"mode": "charge", "power": 2000, "until": "2020-01-01 06:00"}, "battery_until_past"),
    ],
)
async def test_what_the_inverter_cannot_take_is_refused_before_anything_is_written(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    inverter: Hyd3ph,
    data: dict[str, Any],
    key: str,
) -> None:
    inverter.log.clear()
    with pytest.raises(ServiceValidationError) as refused:
        await set_mode(hass, loaded_entry, **data)
    assert refused.value.translation_key == key
    assert not [r for r in inverter.log if r.function == 0x10]
    assert state(hass, "battery_mode", "select").state == "self_use"


@pytest.mark.parametrize(
    "data",
    [
        {"mode": "hold", "duration": 60, "until": "06:00"},
        {"mode": "boost"},
        {"mode": "charge", "power": 1500.5},
        {"mode": "hold", "until": "tomorrow"},
    ],
)
async def test_calls_the_schema_refuses(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, data: dict[str, Any]
) -> None:
    with pytest.raises(probatio.Invalid):
        await set_mode(hass, loaded_entry, **data)


async def test_a_mode_the_inverter_does_not_take_leaves_the_one_before(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, inverter: Hyd3ph
) -> None:
    await set_mode(hass, loaded_entry, mode="hold")
    inverter.pin(0x1187, [0, 0, 0, 0, 0, 20000])  # firmware that ignores the set-points
    with pytest.raises(HomeAssistantError) as failed:
        await set_mode(hass, loaded_entry, mode="charge", power=2000)
    assert failed.value.translation_key == "write_not_confirmed"
    assert state(hass, "battery_mode", "select").state == "hold"


async def test_a_device_without_passive_mode_has_no_battery_control(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    loaded_entry.runtime_data.battery = None
    with pytest.raises(ServiceValidationError) as refused:
        await set_mode(hass, loaded_entry, mode="hold")
    assert refused.value.translation_key == "no_battery_control"


async def test_the_current_limits_are_numbers_written_with_the_battery_block(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, inverter: Hyd3ph
) -> None:
    assert state(hass, "battery_charge_current_limit", "number").state == "25.0"
    before = [inverter.values.get(a, 0) for a in range(0x1044, 0x1057)]
    inverter.log.clear()
    await hass.services.async_call(
        "number",
        "set_value",
        {ATTR_ENTITY_ID: state(hass, "battery_charge_current_limit", "number").entity_id,
         "value": 5},
        blocking=True,
    )  # fmt: skip
    (write,) = [r for r in inverter.log if r.function == 0x10]
    # The battery block as public write-backs write it (0x1044-0x1056), the rest as the
    # inverter holds it, applied by 0x1053 = 1.
    assert (write.address, len(write.words), write.words[0x104B - 0x1044]) == (0x1044, 19, 500)
    assert [w for a, w in enumerate(write.words, 0x1044) if a not in (0x104B, 0x1053)] == [
        w for a, w in enumerate(before, 0x1044) if a not in (0x104B, 0x1053)
    ]
    assert write.words[0x1053 - 0x1044] == 1
    assert state(hass, "battery_charge_current_limit", "number").state == "5.0"
    # The plant's battery charges no faster than 5 A allow.
    battery = float(state(hass, "battery_power").state)
    assert battery == pytest.approx(-5 * inverter.plant.battery_v, abs=10)


async def test_on_the_system_battery_control_writes_through_its_api(
    hass: HomeAssistant, system: SimulatedSystem, http: TestClient, later: Later
) -> None:
    # The EEPROM interval counts on the monotonic clock, which `later` does not move.
    entry = await _setup(hass, system_entry(system, NO_INTERVAL))
    mode = er.async_get(hass).async_get_entity_id(
        "select", const.DOMAIN, f"system_{system.device}_battery_mode"
    )
    assert mode is not None
    await set_mode(hass, entry, mode="charge", power=2000, duration={"minutes": 4})
    # Each write waits for ZCS's callback at the entry's webhook: the timeout and its action,
    # the set-points, then passive mode (the System reads no storage mode: it is written).
    setpoints = (0x1187, [0, 0, 0, 2000, 0, 2000])
    assert [(w.register, w.values) for w in system.writes] == [
        (0x1184, [const.PASSIVE_TIMEOUT, 1]),
        setpoints,
        (0x1110, [3]),
    ]
    shown = hass.states.get(mode)
    assert shown is not None
    assert shown.state == "charge"
    # The keep-alive goes out although the System's last confirmed write says the inverter
    # holds it: only a write restarts the passive timeout. Nothing else is written again.
    await later(const.KEEP_ALIVE)
    assert [(w.register, w.values) for w in system.writes][3:] == [setpoints]
    await later(91)
    # Back to the storage mode it had (unknown to the System: self use), through the API.
    assert (system.writes[-1].register, system.writes[-1].values) == (0x1110, [0])
    shown = hass.states.get(mode)
    assert shown is not None
    assert shown.state == "self_use"


async def test_on_the_system_the_eeprom_interval_holds_only_the_storage_mode(
    hass: HomeAssistant, system: SimulatedSystem, http: TestClient
) -> None:
    entry = await _setup(hass, system_entry(system))  # 10 s between EEPROM writes of a group
    await set_mode(hass, entry, mode="charge", power=2000)
    # Back to self use would write the storage mode again at once: refused, nothing sent.
    with pytest.raises(HomeAssistantError) as soon:
        await set_mode(hass, entry, mode="self_use")
    assert soon.value.translation_key == "write_too_soon"
    assert [w.register for w in system.writes] == [0x1184, 0x1187, 0x1110]
    mode = er.async_get(hass).async_get_entity_id(
        "select", const.DOMAIN, f"system_{system.device}_battery_mode"
    )
    assert mode is not None
    shown = hass.states.get(mode)
    assert shown is not None
    assert shown.state == "charge"
    # The set-points live in RAM: another power goes at once.
    await set_mode(hass, entry, mode="charge", power=3000)
    assert (system.writes[-1].register, system.writes[-1].values) == (
        0x1187,
        [0, 0, 0, 3000, 0, 3000],
    )


async def test_diagnostics_say_what_battery_control_asks(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    await set_mode(hass, loaded_entry, mode="hold", duration={"hours": 1})
    found = await async_get_config_entry_diagnostics(hass, loaded_entry)
    control = found["battery_control"]
    assert (control["mode"], control["engaged"], control["pending"]) == ("hold", True, False)
    assert control["episode"]["mode"] == "hold"
    assert control["set_points_written_s_ago"] == 0
