"""Battery packs through the BMS window: each its own device, read one at a time, whole."""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zcs_azzurro import const
from custom_components.zcs_azzurro.api.bms import PACK_REQUESTS
from simulator.devices.hyd_3ph import BMS_BLOCKS, BMS_SELECT, Hyd3ph
from simulator.registers import Request

from .conftest import SERIAL, poll


def _pack_devices(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, dr.DeviceEntry]:
    registry = dr.async_get(hass)
    return {
        identifier[1]: device
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id)
        for identifier in device.identifiers
        if "_pack_" in identifier[1]
    }


def _value(hass: HomeAssistant, unique_id: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id("sensor", const.DOMAIN, unique_id)
    assert entity_id is not None, unique_id
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


def _selections(log: list[Request]) -> list[int]:
    return [i for i, request in enumerate(log) if request.address == BMS_SELECT]


@pytest.fixture
def inverter(inverter: Hyd3ph) -> Hyd3ph:
    """Two towers of two packs each."""
    inverter.towers = 2
    inverter.fit_packs(2)
    return inverter


async def test_each_pack_of_a_two_tower_battery_is_a_device_with_values(
    hass: HomeAssistant, inverter: Hyd3ph, loaded_entry: MockConfigEntry
) -> None:
    for _ in range(4):  # one pack a poll until each has been read
        await poll(hass)
    devices = _pack_devices(hass, loaded_entry)
    assert sorted(devices) == [f"{SERIAL}_pack_{b}_{p}" for b in (1, 2) for p in (1, 2)]
    (inverter_device,) = (
        d
        for d in dr.async_entries_for_config_entry(dr.async_get(hass), loaded_entry.entry_id)
        if (const.DOMAIN, SERIAL) in d.identifiers
    )
    pack = devices[f"{SERIAL}_pack_2_1"]
    assert pack.via_device_id == inverter_device.id
    assert pack.serial_number == "ZBT5K240602001"
    assert pack.name == f"{loaded_entry.title} battery 2 pack 1"
    prefix = f"{SERIAL}_pack_2_1"
    assert _value(hass, f"{prefix}_pack_soc") == "55"
    assert _value(hass, f"{prefix}_pack_soh") == "97"
    assert float(_value(hass, f"{prefix}_pack_cell_voltage_max")) == pytest.approx(3.286)
    assert float(_value(hass, f"{prefix}_pack_cell_voltage_min")) == pytest.approx(3.282)
    assert float(_value(hass, f"{prefix}_pack_temperature_max")) == 22.5
    assert float(_value(hass, f"{prefix}_pack_temperature_min")) == 21.0
    assert _value(hass, f"{prefix}_pack_cycles") == "313"
    # 13:00 in June: the towers charge.
    assert float(_value(hass, f"{prefix}_pack_current")) > 0
    # Each selection is followed by its own reads, nothing between: the pack, the summary,
    # the echo again.
    log = inverter.log
    for index in _selections(log):
        assert [(r.function, r.address) for r in log[index : index + PACK_REQUESTS]] == [
            (0x10, BMS_SELECT),
            (0x03, 0x9044),
            (0x03, 0x900E),
            (0x03, 0x9044),
        ]


async def test_once_every_pack_is_read_one_is_read_every_fifth_poll(
    hass: HomeAssistant, inverter: Hyd3ph, loaded_entry: MockConfigEntry
) -> None:
    for _ in range(4):
        await poll(hass)
    before = len(_selections(inverter.log))
    for _ in range(const.SLOW_EVERY * 2):
        await poll(hass)
    assert len(_selections(inverter.log)) - before == 2


async def test_a_bms_slow_to_switch_is_waited_for_and_never_shows_another_pack(
    hass: HomeAssistant, inverter: Hyd3ph, loaded_entry: MockConfigEntry
) -> None:
    inverter.bms_lag = 1
    coordinator = loaded_entry.runtime_data.coordinator
    assert coordinator.bms is not None
    coordinator.bms.echo_wait = 0.01
    for _ in range(4):
        await poll(hass)
    for pack, values in coordinator.packs.items():
        assert values["pack_serial"] == f"ZBT5K2406{pack.battery + 1:02d}{pack.pack + 1:03d}"


async def test_without_a_window_nothing_is_added_and_it_is_asked_again_an_hour_later(
    hass: HomeAssistant, inverter: Hyd3ph, config_entry: MockConfigEntry
) -> None:
    # A unit that serves no window: its registers are refused (illegal address).
    for block in BMS_BLOCKS:
        inverter.blocks.remove(block)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    for _ in range(3):
        await poll(hass)
    assert _pack_devices(hass, config_entry) == {}
    coordinator = config_entry.runtime_data.coordinator
    assert coordinator.packs == {}
    # Asked once, at the first poll; not again within the hour.
    assert [r.address for r in inverter.log if r.address >= 0x9000] == [0x900D]
