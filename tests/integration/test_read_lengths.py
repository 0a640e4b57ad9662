"""A device that takes shorter reads than its map allows shows everything all the same."""

from __future__ import annotations

import re

import pytest
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zcs_azzurro import const
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick

from .conftest import poll


def _unavailable(hass: HomeAssistant, entry: MockConfigEntry) -> set[str]:
    """The entry's entities that show no value."""
    entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    assert entities
    return {
        entity.entity_id
        for entity in entities
        if entity.platform == const.DOMAIN
        and (state := hass.states.get(entity.entity_id)) is not None
        and state.state == STATE_UNAVAILABLE
    }


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("fault", ["max_read", "silent_over"])
async def test_a_device_refusing_reads_over_48_registers_shows_everything_within_two_polls(
    hass: HomeAssistant,
    inverter: Hyd3ph,
    stick: EthStick,
    config_entry: MockConfigEntry,
    fault: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # What a device that takes the map's 60 registers shows, every entity enabled.
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await poll(hass)
    served = _unavailable(hass, config_entry)
    # python -m simulator --max-read 48 (exception 3), or --silent-over 48 (no answer).
    if fault == "max_read":
        inverter.max_read = 48
    else:
        stick.faults.silent_over = 48
    await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)  # the first poll
    await poll(hass)  # the second
    assert _unavailable(hass, config_entry) == served
    assert re.search(r"refuses to read \d+ registers at once", caplog.text)
    # Told once, as a fact of the device, not as a failure.
    assert "refuses to read registers" not in caplog.text
