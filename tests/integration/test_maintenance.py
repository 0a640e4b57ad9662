"""The maintenance charge: towers at the floor charged through battery control (ZCS KB 516).

Against the simulated 3PH HYD at 13:00 on a June day (its clock stands still): the sun alone
would charge the battery at 5000 W, so the maintenance charge's 1000 W shows. The state of
charge is pinned where a test says; Home Assistant's timers move on with `later`, a poll
each scan interval.
"""

from __future__ import annotations

from typing import Any

from homeassistant.const import ATTR_ENTITY_ID, CONF_SCAN_INTERVAL
from homeassistant.core import HomeAssistant

from custom_components.zcs_azzurro import const
from custom_components.zcs_azzurro.maintenance import ATTR_MAINTENANCE, BACK, FLOOR, POWER, STINT
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick

from .conftest import Later, state
from .test_battery import (
    NO_INTERVAL,
    STORAGE_MODE,
    add_entry,
    select_storage_mode,
    set_mode,
    setpoints,
)
from .test_battery import storage_mode as storage

SOC = 0x0608
MAINTAIN = {const.CONF_MAINTENANCE_CHARGE: True, **NO_INTERVAL}
SELF_USE_POINTS = (0, -20000, 20000)
CHARGING = (0, POWER, POWER)


async def reads(later: Later, inverter: Hyd3ph, soc: int) -> None:
    """The battery reads `soc` % at the next poll (and what it asks for is written)."""
    inverter.pin(SOC, [soc])
    await later(const.DEFAULT_SCAN_INTERVAL)


def maintaining(hass: HomeAssistant) -> bool:
    """What the battery mode select says of its charge."""
    shown: bool = state(hass, "battery_mode", "select").attributes[ATTR_MAINTENANCE]
    return shown


async def test_off_by_default_a_battery_at_zero_is_left_alone(
    hass: HomeAssistant, stick: EthStick, inverter: Hyd3ph, later: Later
) -> None:
    await add_entry(hass, stick)
    await reads(later, inverter, 0)
    assert storage(inverter) == 0
    assert not [r for r in inverter.log if r.function == 0x10]
    assert not maintaining(hass)


async def test_a_battery_at_the_floor_charges_until_back_above_it(
    hass: HomeAssistant, stick: EthStick, inverter: Hyd3ph, later: Later
) -> None:
    await add_entry(hass, stick, MAINTAIN)
    await reads(later, inverter, FLOOR + 1)
    assert storage(inverter) == 0
    await reads(later, inverter, FLOOR)
    # Through battery control: passive mode, its timeout, the charge as set-points.
    assert storage(inverter) == 3
    assert setpoints(inverter) == CHARGING
    assert [inverter.values[0x1184], inverter.values[0x1185]] == [const.PASSIVE_TIMEOUT, 1]
    assert state(hass, "battery_mode", "select").state == "charge"
    assert maintaining(hass)
    assert state(hass, "battery_mode_end").state != "unknown"
    await reads(later, inverter, BACK - 1)
    assert float(state(hass, "battery_power").state) == -POWER
    assert storage(inverter) == 3
    await reads(later, inverter, BACK)
    # Back to self use, the inverter's own storage mode: into passive mode and out.
    assert storage(inverter) == 0
    assert state(hass, "battery_mode", "select").state == "self_use"
    assert not maintaining(hass)
    assert inverter.eeprom_writes[STORAGE_MODE] == 2
    await reads(later, inverter, BACK)
    assert float(state(hass, "battery_power").state) == -5000


async def test_a_stint_ends_on_time_and_the_next_poll_starts_another_while_low(
    hass: HomeAssistant, stick: EthStick, inverter: Hyd3ph, later: Later
) -> None:
    await add_entry(hass, stick, {**MAINTAIN, const.CONF_STAY_IN_PASSIVE: True})
    await reads(later, inverter, 2)
    assert setpoints(inverter) == CHARGING
    inverter.log.clear()
    await later(STINT.total_seconds() - const.DEFAULT_SCAN_INTERVAL + 1)
    # Self use came back at the stint's end, and a poll after it charges again: RAM only.
    written = [r.words for r in inverter.log if r.function == 0x10 and r.address == 0x1187]
    assert (0, 0, 0xFFFF, 0xB1E0, 0, 20000) in written
    await reads(later, inverter, 2)
    assert setpoints(inverter) == CHARGING
    assert maintaining(hass)
    assert inverter.eeprom_writes[STORAGE_MODE] == 1


async def test_a_mode_asked_during_it_wins_until_the_towers_were_above_the_floor(
    hass: HomeAssistant, stick: EthStick, inverter: Hyd3ph, later: Later
) -> None:
    entry = await add_entry(hass, stick, {**MAINTAIN, const.CONF_STAY_IN_PASSIVE: True})
    await reads(later, inverter, 3)
    assert setpoints(inverter) == CHARGING
    await set_mode(hass, entry, mode="hold")
    assert not maintaining(hass)
    await reads(later, inverter, 3)
    assert setpoints(inverter) == (0, 0, 20000)
    # Self use asked for too (evcc's "normal" is that): still no maintenance charge.
    await set_mode(hass, entry, mode="self_use")
    await reads(later, inverter, 3)
    assert setpoints(inverter) == SELF_USE_POINTS
    # Once above the floor again, the next time at it charges.
    await reads(later, inverter, BACK)
    await reads(later, inverter, FLOOR)
    assert setpoints(inverter) == CHARGING
    # The mode power number is the select's: it leaves the maintenance charge as it is.
    number = state(hass, "battery_mode_power", "number").entity_id
    await hass.services.async_call(
        "number", "set_value", {ATTR_ENTITY_ID: number, "value": 3000}, blocking=True
    )
    assert setpoints(inverter) == CHARGING
    assert inverter.eeprom_writes[STORAGE_MODE] == 1


async def test_none_starts_over_a_storage_mode_of_the_inverters_own(
    hass: HomeAssistant, stick: EthStick, inverter: Hyd3ph, later: Later
) -> None:
    entry = await add_entry(hass, stick, MAINTAIN)
    await select_storage_mode(hass, entry, "time_of_use")
    inverter.log.clear()
    await reads(later, inverter, 0)
    assert storage(inverter) == 1
    assert not [r for r in inverter.log if r.function == 0x10]


async def test_turned_off_in_the_options_a_running_charge_ends(
    hass: HomeAssistant, stick: EthStick, inverter: Hyd3ph, later: Later
) -> None:
    entry = await add_entry(hass, stick, MAINTAIN)
    await reads(later, inverter, 1)
    assert storage(inverter) == 3
    flow = await hass.config_entries.options.async_init(entry.entry_id)
    schema: dict[str, Any] = {str(key): key for key in flow["data_schema"].schema}
    assert const.CONF_MAINTENANCE_CHARGE in schema
    await hass.config_entries.options.async_configure(
        flow["flow_id"],
        {
            CONF_SCAN_INTERVAL: const.DEFAULT_SCAN_INTERVAL,
            **entry.options,
            const.CONF_MAINTENANCE_CHARGE: False,
        },
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert storage(inverter) == 0
    await reads(later, inverter, 1)
    assert storage(inverter) == 0
    assert state(hass, "battery_mode", "select").state == "self_use"
