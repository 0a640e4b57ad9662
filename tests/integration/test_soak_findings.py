"""What scripts/soak found, pinned: every fault is recovered on the first poll after it."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

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
