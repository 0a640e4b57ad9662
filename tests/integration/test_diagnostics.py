"""Diagnostics carry what a bug report needs and nothing that identifies the owner."""

from __future__ import annotations

import json

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from simulator.eth import EthStick

from .conftest import SERIAL, poll


async def test_diagnostics_are_redacted(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, loaded_entry: MockConfigEntry
) -> None:
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    dumped = json.dumps(diagnostics)
    assert SERIAL not in dumped
    assert "127.0.0.1" not in dumped
    assert diagnostics["entry"]["data"]["host"] == "**REDACTED**"
    assert diagnostics["entry"]["unique_id"] == "**REDACTED**"
    assert diagnostics["identity"]["serial"] == "**REDACTED**"
    assert diagnostics["identity"]["software_version"] == "V110052"
    assert diagnostics["profile"] == "zcs_3ph_hyd_zss"
    assert diagnostics["last_update_success"] is True
    assert diagnostics["link"]["failures"] == 0
    # Identity (2), and the first poll: readings (5) and settings (5), each read twice (again
    # in reverse order), as every value is seen for the first time; and the BMS window's
    # layout (refused: the simulated unit has no packs).
    assert diagnostics["link"]["requests"] == 23
    poll = diagnostics["poll"]
    requests = [
        ["0x0404", 58],
        ["0x0484", 44],
        ["0x0584", 6],
        ["0x0604", 50],  # battery 1, and the voltages of inputs 2-8: has a tower come?
        ["0x0686", 22],
        ["0x1023", 7],
        ["0x104d", 6],
        ["0x1104", 3],
        ["0x1110", 1],
        ["0x1184", 9],
    ]
    assert poll["requests"] == requests + requests[::-1]
    assert poll["refused"] == []
    assert poll["withheld"] == []
    assert poll["registers"]["0x0608"] == 55
    assert poll["values"]["battery_soc"] == 55


async def test_diagnostics_before_any_answer(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    config_entry: MockConfigEntry,
    inverter,
) -> None:
    inverter.asleep = True
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, config_entry)
    assert diagnostics["poll"] is None
    assert diagnostics["identity"] is None
    assert diagnostics["last_update_success"] is False
    assert diagnostics["link"]["last_error"].startswith("NoResponseError")


async def test_a_link_error_in_diagnostics_does_not_name_the_host(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    loaded_entry: MockConfigEntry,
    stick: EthStick,
) -> None:
    await stick.stop()  # the stick is gone: the error names where it was
    await poll(hass)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    error = diagnostics["link"]["last_error"]
    assert error.startswith("ConnectError: ")
    assert "**REDACTED**" in error
    assert "127.0.0.1" not in json.dumps(diagnostics)
