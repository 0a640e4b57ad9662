"""Controls in Home Assistant: a service call changes the simulated inverter; errors are clear."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import Any

import pytest
from homeassistant.const import ATTR_ENTITY_ID, CONF_SCAN_INTERVAL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zcs_azzurro.const import CONF_WRITE_INTERVAL, DOMAIN, SETTINGS_EVERY
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick
from simulator.registers import COMMIT_REFUSED

from .conftest import entity_id, poll, state


async def _call(hass: HomeAssistant, domain: str, service: str, key: str, **data: Any) -> None:
    await hass.services.async_call(
        domain, service, {ATTR_ENTITY_ID: entity_id(hass, key, domain), **data}, blocking=True
    )


def _writes(inverter: Hyd3ph) -> list[tuple[int, tuple[int, ...]]]:
    return [(r.address, r.words) for r in inverter.log if r.function == 0x10]


async def test_controls_show_what_the_device_holds(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    assert state(hass, "depth_of_discharge", "number").state == "90"
    assert state(hass, "storage_mode", "select").state == "self_use"
    assert state(hass, "storage_mode", "select").attributes["options"][3] == "passive"
    assert state(hass, "remote_control", "switch").state == "on"
    assert state(hass, "passive_grid_power", "number").attributes["min"] == -20000
    entry = er.async_get(hass).async_get(entity_id(hass, "eps_mode", "select"))
    assert entry is not None
    assert entry.entity_category == "config"
    assert state(hass, "set_clock", "button").state == "unknown"


async def test_a_number_set_through_home_assistant_changes_the_inverter(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, inverter: Hyd3ph
) -> None:
    inverter.log.clear()
    await _call(hass, "number", "set_value", "depth_of_discharge", value=80)
    assert inverter.read(0x104D, 1) == [80]
    (write,) = _writes(inverter)
    assert write[0] == 0x1044
    assert len(write[1]) == 19  # 0x1044-0x1056, as public write-backs write it
    # The coordinator read the device again: the entity shows what it holds.
    assert state(hass, "depth_of_discharge", "number").state == "80"


async def test_the_plant_follows_passive_mode(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, inverter: Hyd3ph
) -> None:
    # At 13:00 the sun charges the battery at the most it takes.
    assert float(state(hass, "battery_power").state) == -5000
    await _call(hass, "number", "set_value", "passive_battery_min", value=2000)
    await _call(hass, "number", "set_value", "passive_battery_max", value=2000)
    await _call(hass, "select", "select_option", "storage_mode", option="passive")
    assert state(hass, "storage_mode", "select").state == "passive"
    # Battery power counts discharge as positive: charging at 2000 W reads -2000.
    assert float(state(hass, "battery_power").state) == -2000
    await _call(hass, "switch", "turn_off", "remote_control")
    assert inverter.read(0x1104, 1) == [0]
    assert state(hass, "remote_control", "switch").state == "off"
    assert float(state(hass, "battery_power").state) == 0
    await _call(hass, "switch", "turn_on", "remote_control")
    assert state(hass, "remote_control", "switch").state == "on"


async def test_the_clock_button_sets_the_inverter_clock(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, inverter: Hyd3ph
) -> None:
    inverter.log.clear()
    await _call(hass, "button", "press", "set_clock")
    ((address, words),) = _writes(inverter)
    assert (address, len(words), words[-1]) == (0x1004, 7, 1)


async def test_out_of_range_is_refused_by_home_assistant_and_off_step_by_us(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, inverter: Hyd3ph
) -> None:
    inverter.log.clear()
    with pytest.raises(ServiceValidationError):
        await _call(hass, "number", "set_value", "depth_of_discharge", value=95)
    with pytest.raises(ServiceValidationError) as refused:
        await _call(hass, "number", "set_value", "export_limit", value=150)
    assert refused.value.translation_key == "invalid_value"
    # The export limit's range ends at the rated power read from the inverter (10 kW).
    assert refused.value.translation_placeholders == {
        "value": "150",
        "allowed": "0 - 10000, step 100",
    }
    shown = hass.states.get(entity_id(hass, "export_limit", "number"))
    assert shown is not None
    assert shown.attributes["max"] == 10000
    with pytest.raises(ServiceValidationError):
        await _call(hass, "number", "set_value", "export_limit", value=10100)
    # Past the rated power by any other way (a plant's number, an automation): ours says so.
    with pytest.raises(ServiceValidationError) as refused:
        await loaded_entry.runtime_data.coordinator.async_write({"export_limit": 15000})
    assert refused.value.translation_placeholders == {
        "value": "15000",
        "allowed": "0 - 10000, step 100",
    }
    assert inverter.log == []


@pytest.mark.parametrize(
    ("fault", "key", "message"),
    [
        ("commit", "write_not_applied", "did not apply it (result code 0xfffb)"),
        ("refuse", "write_refused", "refused the setting (exception 0x03)"),
        ("drop", "write_link_failed", "communication with the device failed"),
        ("pin", "write_not_confirmed", "holds number.3ph_hyd10000_zss_depth_of_discharge = 90"),
        ("held", "write_rest_not_allowed", "number.3ph_hyd10000_zss_depth_of_discharge_off_grid"),
        ("silent", "write_outcome_unknown", "it may hold the new value or the old one"),
    ],
)
async def test_a_failed_write_says_why_and_shows_the_device_value(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    inverter: Hyd3ph,
    stick: EthStick,
    fault: str,
    key: str,
    message: str,
) -> None:
    if fault == "commit":
        inverter.commit_result = COMMIT_REFUSED
    elif fault == "refuse":
        inverter.groups = [
            dataclasses.replace(g, limits={0x104D: (50, 90)}) if g.first == 0x1044 else g
            for g in inverter.groups
        ]
    elif fault == "drop":
        stick.faults.drop = True  # the connection closes at the first request: nothing sent
    elif fault == "pin":
        inverter.pin(0x104D, [90])
    elif fault == "held":
        inverter.values[0x104E] = 95  # written with it, and beyond the 1-90 it takes
    else:
        original = inverter.write

        def then_silent(address: int, values: list[int], **kwargs: Any) -> None:
            original(address, values, **kwargs)
            stick.faults.silent = True  # the stick freezes once the write is in

        inverter.write = then_silent  # type: ignore[method-assign]
    with pytest.raises(HomeAssistantError) as failed:
        await _call(hass, "number", "set_value", "depth_of_discharge", value=30)
    assert failed.value.translation_key == key
    assert message in str(failed.value)
    stick.faults.drop = stick.faults.silent = False
    await poll(hass)
    # What the device holds: the write had reached it only where the stick froze after it.
    expected = "30" if fault == "silent" else "90"
    assert state(hass, "depth_of_discharge", "number").state == expected


async def test_an_applied_write_whose_answer_is_lost_succeeds(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, inverter: Hyd3ph, stick: EthStick
) -> None:
    stick.faults.lose_write_answer = True  # the stick applies it, then drops the connection
    await _call(hass, "number", "set_value", "depth_of_discharge", value=30)
    assert inverter.read(0x104D, 1) == [30]
    assert state(hass, "depth_of_discharge", "number").state == "30"


async def test_an_eeprom_setting_is_not_rewritten_within_the_interval(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, inverter: Hyd3ph
) -> None:
    await _call(hass, "number", "set_value", "eps_buffer", value=20)
    with pytest.raises(HomeAssistantError) as soon:
        await _call(hass, "number", "set_value", "eps_buffer", value=30)
    assert soon.value.translation_key == "write_too_soon"
    assert re.search(r"Try again in (9|10) s$", str(soon.value))
    assert state(hass, "eps_buffer", "number").state == "20"
    # Passive set-points live in RAM: no interval.
    for watts in (100, 200):
        await _call(hass, "number", "set_value", "passive_grid_power", value=watts)
    assert state(hass, "passive_grid_power", "number").state == "200"


async def test_settings_are_read_on_a_slow_cadence(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, stick: EthStick
) -> None:
    counts = []
    for _ in range(2 * SETTINGS_EVERY):
        before = stick.requests
        await poll(hass)
        counts.append(stick.requests - before)
    # Five requests a poll; every tenth also reads the five runs of settings.
    assert counts.count(5) == 2 * (SETTINGS_EVERY - 1)
    assert counts.count(10) == 2
    assert state(hass, "storage_mode", "select").state == "self_use"


async def test_the_write_interval_is_an_option(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    assert loaded_entry.runtime_data.coordinator.writer.min_interval == 10
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 30.0, CONF_WRITE_INTERVAL: 60.0}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)
    assert loaded_entry.options == {CONF_SCAN_INTERVAL: 30, CONF_WRITE_INTERVAL: 60}
    assert loaded_entry.runtime_data.coordinator.writer.min_interval == 60


async def test_a_write_waits_for_the_poll_under_way(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, inverter: Hyd3ph, stick: EthStick
) -> None:
    coordinator = loaded_entry.runtime_data.coordinator
    stick.faults.delay = 0.02
    inverter.log.clear()
    polling = hass.async_create_task(coordinator.async_refresh())
    await asyncio.sleep(0)
    await _call(hass, "number", "set_value", "passive_grid_power", value=300)
    await polling
    # The poll under way (five reads) finished before the write's first request.
    assert [r.address for r in inverter.log[:5]] == [0x0404, 0x0484, 0x0584, 0x0604, 0x0686]
    # Then the group read twice alike (two of its three set-points go back as they are).
    assert [(r.function, r.address) for r in inverter.log[5:8]] == [
        (0x03, 0x1187),
        (0x03, 0x1187),
        (0x10, 0x1187),
    ]


async def test_register_writes_of_a_whole_group_reach_the_device(
    hass: HomeAssistant, inverter: Hyd3ph, loaded_entry: MockConfigEntry
) -> None:
    # Through the register action, which writes with the writer as the controls do.
    words = [0, 100, 0xFFFF, 0xFC18, 0, 1000]  # the passive group: 100 W, -1000 W, 1000 W
    await hass.services.async_call(
        DOMAIN,
        "write_registers",
        {"config_entry_id": loaded_entry.entry_id, "address": 0x1187, "values": words},
        blocking=True,
        return_response=True,
    )
    assert inverter.read(0x1187, 6) == words
