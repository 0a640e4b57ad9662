"""History backfill of a System entry: the Portal's backfill, through the System's 5-day span."""

from __future__ import annotations

import itertools

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant

from custom_components.zcs_azzurro.api.cloud import system_wire
from custom_components.zcs_azzurro.backfill import statistic_id
from simulator.system import SimulatedSystem

from .test_portal_backfill import _rows
from .test_system import system_entry


@pytest.fixture(autouse=True)
def pinned(plant_time: FrozenDateTimeFactory) -> None:
    """The simulated plant and Home Assistant at one instant, whatever the hour of the run."""


PV = statistic_id("ZP1ES010M2H00017", "pv_energy_total")


@pytest.fixture(autouse=True)
def mock_recorder_before_hass(async_test_recorder: object) -> None:
    """The recorder's database is prepared before Home Assistant starts, as its tests do."""


async def test_a_week_is_filled_in_spans_of_at_most_five_days(
    recorder_mock: Recorder, hass: HomeAssistant, system: SimulatedSystem
) -> None:
    entry = system_entry(system)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    rows = await _rows(hass, PV)
    # Seven days of complete hours, from two requests (5 days, then the rest).
    assert 7 * 24 - 1 <= len(rows) <= 7 * 24
    starts = [row["start"] for row in rows]
    assert all(b - a == 3600 for a, b in itertools.pairwise(starts))
    samples = system._plant.samples()
    last = rows[-1]
    assert last["state"] == max(v["energyGeneratingTotal"] for t, v in samples if t < last["end"])
    assert last["sum"] == pytest.approx(last["state"] - rows[0]["state"])
    assert system_wire.MAX_SPAN.days == 5
    await hass.config_entries.async_unload(entry.entry_id)
