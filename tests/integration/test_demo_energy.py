"""The demo's Energy dashboard: Home Assistant takes it as it is, and records its counters."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
    get_start_time,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.zcs_azzurro.const import DOMAIN
from scripts import demo_energy


@pytest.fixture
def mock_recorder_before_hass(async_test_recorder: Any) -> None:
    """The recorder's database is prepared before Home Assistant starts (phcc's way)."""


async def _ask(client: Any, message: dict[str, Any]) -> Any:
    await client.send_json_auto_id(message)
    answer = await client.receive_json()
    assert answer["success"], answer
    return answer["result"]


async def test_the_demo_sets_up_an_energy_dashboard_home_assistant_accepts(
    recorder_mock: Any,
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    assert await async_setup_component(hass, "config", {})
    assert await async_setup_component(hass, "energy", {})
    client = await hass_ws_client(hass)
    devices = await _ask(client, {"type": "config/device_registry/list"})
    registry = await _ask(client, {"type": "config/entity_registry/list"})
    entities = demo_energy.entities_by_key(loaded_entry.entry_id, devices, registry, DOMAIN)
    # Every place the demo fills has an entity enabled by default.
    assert set(demo_energy.KEYS) <= entities.keys()

    prefs = demo_energy.preferences(entities)
    await _ask(client, {"type": "energy/save_prefs", **prefs})
    saved = await _ask(client, {"type": "energy/get_prefs"})
    assert {entities[key] for key in demo_energy.KEYS} <= demo_energy.used(saved)
    # The recorder compiles statistics for the counters the dashboard draws.
    now = dt_util.utcnow()
    do_adhoc_statistics(hass, start=get_start_time(now))  # the five minutes now is in
    await async_wait_recording_done(hass)
    counters = [entities[key] for key in demo_energy.COUNTERS]
    recorded = await _ask(
        client,
        {
            "type": "recorder/statistics_during_period",
            "start_time": (now - timedelta(minutes=10)).isoformat(),
            "statistic_ids": counters,
            "period": "5minute",
            "types": ["state", "sum"],
        },
    )
    assert set(recorded) == set(counters)
    states = {entity: float(hass.states.get(entity).state) for entity in counters}
    assert {entity: rows[-1]["state"] for entity, rows in recorded.items()} == states
    # What the Energy settings page checks, once statistics exist: units, classes, statistics.
    validation = await _ask(client, {"type": "energy/validate"})
    assert validation["energy_sources"] == [[], [], []]
