"""A second battery tower has entities when the inverter reports one, and not before."""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zcs_azzurro import const
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick
from tests.integration.conftest import SERIAL, poll, state

TOWER = [
    "battery2_voltage",
    "battery2_current",
    "battery2_power",
    "battery2_temperature",
    "battery2_soc",
    "battery2_soh",
    "battery2_state",
    "battery_total_power",
    "battery_average_soc",
]


def _registered(hass: HomeAssistant) -> set[str]:
    return {
        entry.unique_id.removeprefix(f"{SERIAL}_")
        for entry in er.async_get(hass).entities.values()
        if entry.platform == const.DOMAIN
    }


def _shows_the_tower(hass: HomeAssistant) -> None:
    # Enabled by default, with values: 13:00 in June, the plant charges both towers.
    assert float(state(hass, "battery2_voltage").state) >= 40
    assert float(state(hass, "battery2_soc").state) == float(state(hass, "battery_soc").state)
    total = float(state(hass, "battery_total_power").state)
    both = float(state(hass, "battery_power").state) + float(state(hass, "battery2_power").state)
    assert total < 0
    assert total == both
    # The input's state is where no public map confirms it: there, but off unless enabled.
    assert _disabled(hass, "battery2_state")


def _disabled(hass: HomeAssistant, key: str) -> bool:
    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id("sensor", const.DOMAIN, f"{SERIAL}_{key}")
    entry = registry.async_get(entity_id) if entity_id else None
    return entry is not None and entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION


async def test_one_tower_has_no_entities_of_a_second(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    await poll(hass)
    registered = _registered(hass)
    assert "battery_soc" in registered
    assert not registered & set(TOWER)


async def test_a_second_tower_at_setup_has_its_entities_from_the_start(
    hass: HomeAssistant, inverter: Hyd3ph, config_entry: MockConfigEntry
) -> None:
    inverter.towers = 2
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert set(TOWER) <= _registered(hass)
    await poll(hass)  # the settings-free poll: the entities listen now
    _shows_the_tower(hass)


async def test_a_tower_added_later_appears_at_the_next_poll_and_stays(
    hass: HomeAssistant,
    inverter: Hyd3ph,
    loaded_entry: MockConfigEntry,
    stick: EthStick,
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = stick.requests
    await poll(hass)
    # While input 2 is empty, asking costs nothing: its voltage lies in input 1's request.
    assert stick.requests - before == 5
    inverter.towers = 2
    await poll(hass)
    assert set(TOWER) <= _registered(hass)
    assert "3PH HYD10000 ZSS reports battery2: its entities are added" in caplog.messages
    await poll(hass)
    _shows_the_tower(hass)
    # The tower switched off and Home Assistant restarted: its entities stay, and say so.
    inverter.towers = 1
    await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await poll(hass)
    assert set(TOWER) <= _registered(hass)
    assert state(hass, "battery2_voltage").state == "0.0"
    assert state(hass, "battery2_current").state == "0.0"
