"""An entity writes its state only when its value or availability changed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import Event, HomeAssistant, callback
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulator.eth import EthStick
from tests.conftest import Clock

from .conftest import entity_id, poll, state


def _count_writes(hass: HomeAssistant) -> list[str]:
    """Every state written (changed or only reported again), by entity id."""
    written: list[str] = []

    @callback
    def _note(event: Event) -> None:
        written.append(event.data["entity_id"])

    @callback
    def _ours(data: Mapping[str, Any]) -> bool:
        return str(data["entity_id"]).partition(".")[2].startswith("3ph_hyd10000_zss")

    hass.bus.async_listen(EVENT_STATE_CHANGED, _note, _ours)
    hass.bus.async_listen(EVENT_STATE_REPORTED, _note, _ours)
    return written


async def test_unchanged_values_write_nothing(
    hass: HomeAssistant, stick: EthStick, loaded_entry: MockConfigEntry
) -> None:
    """The plant standing still: a poll writes no state; when it moves, only what moved."""
    written = _count_writes(hass)
    await poll(hass)
    assert written == []

    clock = stick.device.clock
    assert isinstance(clock, Clock)
    clock.now += 600
    await poll(hass)
    assert entity_id(hass, "pv_power") in written
    # The rated power and the firmware do not move with the sun.
    assert entity_id(hass, "running_state") not in written
    assert len(written) == len(set(written))


async def test_unavailable_is_written_once(
    hass: HomeAssistant, stick: EthStick, loaded_entry: MockConfigEntry
) -> None:
    """A failed poll writes unavailable once; failing on writes nothing more."""
    written = _count_writes(hass)
    stick.faults.silent = True
    await poll(hass)
    assert state(hass, "pv_power").state == "unavailable"
    first = len(written)
    assert first > 0
    await poll(hass)
    assert len(written) == first
