"""What scripts/soak found, pinned: every fault is recovered on the first poll after it."""

from __future__ import annotations

import logging

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import UpdateFailed
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick

from .conftest import poll, state


async def test_settings_return_on_the_first_poll_after_a_failing_device(
    hass: HomeAssistant, stick: EthStick, loaded_entry: MockConfigEntry
) -> None:
    """Two polls answered 'device failure' (0x04), then the controls show values again."""
    loaded_entry.runtime_data.coordinator._settings_in = 0  # the fault meets a settings poll
    stick.faults.exception = 0x04
    await poll(hass)
    await poll(hass)
    assert state(hass, "export_limit", "number").state == "unavailable"
    stick.faults.exception = None
    await poll(hass)
    assert state(hass, "export_limit", "number").state != "unavailable"
    assert state(hass, "pv_power").state != "unavailable"


async def test_one_busy_poll_is_skipped_and_a_second_is_said(
    hass: HomeAssistant,
    stick: EthStick,
    loaded_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Busy (0x06): the link gives up at its deadline, not after the library's minute."""
    coordinator = loaded_entry.runtime_data.coordinator
    stick.faults.exception = 0x06
    await poll(hass)
    # One poll skipped: the last reading stands, and nothing is said.
    assert coordinator.last_update_success
    assert state(hass, "battery_soc").state == "55"
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    await poll(hass)
    assert not coordinator.last_update_success
    assert state(hass, "battery_soc").state == "unavailable"
    assert isinstance(coordinator.last_exception, UpdateFailed)
    assert coordinator.last_exception.translation_key == "link_busy"
    stick.faults.exception = None
    await poll(hass)
    assert state(hass, "battery_soc").state == "55"


async def test_a_busy_poll_after_a_failed_one_brings_back_nothing_old(
    hass: HomeAssistant, stick: EthStick, inverter: Hyd3ph, loaded_entry: MockConfigEntry
) -> None:
    """Found by scripts/soak: the skipped poll showed the reading from before the failure."""
    inverter.pin(0x0608, [40])  # battery state of charge
    await poll(hass)
    assert state(hass, "battery_soc").state == "40"
    stick.faults.silent = True
    await poll(hass)
    assert state(hass, "battery_soc").state == "unavailable"
    stick.faults.silent = False
    stick.faults.exception = 0x06
    await poll(hass)
    assert state(hass, "battery_soc").state == "unavailable"  # not the 40 of two polls ago
