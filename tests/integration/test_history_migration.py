"""Keeping years of Energy history when switching from another integration (docs/energy.md).

The path the docs give, against a real recorder: the old integration's energy entity goes,
ours takes its entity id, and the recorder goes on with the old statistic from its last
five-minute statistic, so the sums continue without a jump and nothing is imported.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from homeassistant.components.recorder import Recorder, get_instance
from homeassistant.components.recorder.db_schema import Statistics, StatisticsShortTerm
from homeassistant.components.recorder.models import StatisticMeanType
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
    statistics_during_period,
)

from simulator.devices.hyd_3ph import Hyd3ph

from .conftest import entity_id

# What ha-solarman names the lifetime PV counter (its sofar_g3hyd.yaml: "Total Production").
OLD = "sensor.inverter_total_production"
META: Any = {
    "has_sum": True,
    "mean_type": StatisticMeanType.NONE,
    "name": None,
    "source": "recorder",
    "statistic_id": OLD,
    "unit_class": "energy",
    "unit_of_measurement": "kWh",
}


@pytest.fixture(autouse=True)
def mock_recorder_before_hass(async_test_recorder: object) -> None:
    """The recorder's database is prepared before Home Assistant starts, as its tests do."""


async def _rows(hass: HomeAssistant, period: str) -> list[dict[str, Any]]:
    await async_wait_recording_done(hass)
    start = dt_util.utcnow() - timedelta(days=30)
    found = await hass.async_add_executor_job(
        statistics_during_period, hass, start, None, {OLD}, period, None, {"state", "sum"}
    )
    return list(found.get(OLD, []))


@pytest.mark.parametrize("purged", [False, True])
async def test_our_entity_taking_the_old_entity_id_continues_its_statistics(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    inverter: Hyd3ph,
    purged: bool,
) -> None:
    # What the recorder kept of the old integration's PV counter: a day of hours and its
    # last five minutes, the counter (the inverter's own lifetime total) 1.2 kWh below now.
    ours_now = round(inverter.plant.totals_wh["pv"] / 1000, 1)
    now = dt_util.utcnow().replace(second=0, microsecond=0)
    period = now - timedelta(minutes=now.minute % 5)
    last_state, last_sum = ours_now - 1.2, 5432.1
    hours = [
        {
            "start": period.replace(minute=0) - timedelta(hours=24 - n),
            "state": last_state - (23 - n),
            "sum": last_sum - (23 - n),
        }
        for n in range(24)
    ]
    five = [{"start": period - timedelta(minutes=5), "state": last_state, "sum": last_sum}]
    recorder = get_instance(hass)
    recorder.async_import_statistics(META, hours, Statistics)
    if not purged:
        recorder.async_import_statistics(META, five, StatisticsShortTerm)
    assert len(await _rows(hass, "hour")) == 24
    # The old integration is gone (its entity with it); ours is added and takes the old id
    # (Settings → Entities → the entity → Entity ID).
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    er.async_get(hass).async_update_entity(entity_id(hass, "pv_energy_total"), new_entity_id=OLD)
    await hass.async_block_till_done(wait_background_tasks=True)
    shown = hass.states.get(OLD)
    assert shown is not None
    assert float(shown.state) == pytest.approx(ours_now, abs=0.05)
    # The recorder compiles these five minutes as it does every five minutes.
    do_adhoc_statistics(hass, start=period)
    rows = await _rows(hass, "5minute")
    if purged:
        # The recorder keeps five-minute statistics for its purge_keep_days (10 by default):
        # once the old ones are gone, it starts a new cycle at 0, a drop the Energy dashboard
        # would show. The docs say so: take the old id before then.
        assert [(row["state"], row["sum"]) for row in rows] == [(float(shown.state), 0)]
        return
    assert [row["state"] for row in rows] == [pytest.approx(last_state), float(shown.state)]
    # No new cycle: the old sum goes on by what the counter gained since the old last value.
    assert rows[-1]["sum"] == pytest.approx(last_sum + float(shown.state) - last_state)
    assert len(await _rows(hass, "hour")) == 24
