"""Exceptions that come and go are a state of the device, not a fact of its register map."""

from __future__ import annotations

import pytest
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulator.eth import EthStick

from .conftest import poll


def _unavailable(hass: HomeAssistant, entry: MockConfigEntry) -> list[str]:
    entries = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    shown = [hass.states.get(e.entity_id) for e in entries if not e.disabled_by]
    return [s.entity_id for s in shown if s is None or s.state == STATE_UNAVAILABLE]


# Illegal address and device failure. Busy (0x06) is retried by the shared connection itself
# (a growing wait, up to a minute a request): a busy spell stalls a poll rather than failing
# it; tests/api/test_device.py shows a short one waited out.
@pytest.mark.parametrize("code", [0x02, 0x04])
async def test_a_burst_of_exceptions_leaves_nothing_unavailable_once_it_ends(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, stick: EthStick, code: int
) -> None:
    assert _unavailable(hass, loaded_entry) == []
    stick.faults.exception = code  # every request refused, for 40 s of 5 s polls
    for _ in range(8):
        await poll(hass)
    assert _unavailable(hass, loaded_entry) != []
    stick.faults.exception = None
    await poll(hass)
    assert _unavailable(hass, loaded_entry) == []
