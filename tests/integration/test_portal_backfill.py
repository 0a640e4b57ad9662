"""History backfill: the Portal's samples become hourly statistics the Energy dashboard reads."""

from __future__ import annotations

import itertools
import logging
from datetime import UTC, datetime, timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import (
    list_statistic_ids,
    statistics_during_period,
)
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.zcs_azzurro.backfill import BACKFILLED, Backfill, statistic_id
from simulator.portal import SimulatedPortal
from tests.conftest import Clock

from .conftest import poll
from .test_portal import portal_entry


@pytest.fixture(autouse=True)
def pinned(plant_time: FrozenDateTimeFactory) -> None:
    """The simulated plant and Home Assistant at one instant, whatever the hour of the run."""


PV = statistic_id("ZP1ES010M2H00017", "pv_energy_total")


@pytest.fixture(autouse=True)
def mock_recorder_before_hass(async_test_recorder: object) -> None:
    """The recorder's database is prepared before Home Assistant starts, as its tests do."""


async def _rows(hass: HomeAssistant, sid: str = PV) -> list[dict]:  # type: ignore[type-arg]
    await async_wait_recording_done(hass)
    start = datetime.now(UTC) - timedelta(days=30)
    found = await hass.async_add_executor_job(
        statistics_during_period, hass, start, None, {sid}, "hour", None, {"state", "sum"}
    )
    return list(found.get(sid, []))


def _total_at(portal: SimulatedPortal, moment: float) -> float:
    """The Portal's PV total at its last sample before `moment`."""
    return max(v["energyGeneratingTotal"] for t, v in portal.samples() if t < moment)


async def _setup(hass: HomeAssistant, portal: SimulatedPortal, days: int) -> MockConfigEntry:
    entry = portal_entry(portal, backfill_days=days)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry


async def test_setup_fills_the_last_days_hour_by_hour(
    recorder_mock: Recorder, hass: HomeAssistant, portal: SimulatedPortal
) -> None:
    await _setup(hass, portal, days=2)
    rows = await _rows(hass)
    # Two days of complete hours (the hour under way waits for its end).
    assert 47 <= len(rows) <= 48
    starts = [row["start"] for row in rows]
    assert starts == sorted(set(starts))
    assert all(b - a == 3600 for a, b in itertools.pairwise(starts))
    # Each row: the counter at the hour's end; the sum is what it gained since the first.
    last = rows[-1]
    assert last["state"] == _total_at(portal, last["end"])
    assert rows[0]["sum"] == 0
    assert last["sum"] == pytest.approx(last["state"] - rows[0]["state"])
    # Every counter the Energy dashboard needs, named in the system's language.
    ids = await hass.async_add_executor_job(list_statistic_ids, hass)
    ours = {i["statistic_id"]: i for i in ids if i["source"] == "zcs_azzurro"}
    assert set(ours) == {statistic_id("ZP1ES010M2H00017", key) for key in BACKFILLED}
    assert ours[PV]["name"] == "Azzurro Portal (00017) PV energy"
    assert ours[PV]["statistics_unit_of_measurement"] == "kWh"


async def test_a_second_run_writes_nothing_and_a_gap_is_resumed(
    recorder_mock: Recorder, hass: HomeAssistant, portal: SimulatedPortal
) -> None:
    entry = await _setup(hass, portal, days=1)
    before = await _rows(hass)
    source = entry.runtime_data.coordinator.device
    backfill = Backfill(hass, entry, source)  # type: ignore[arg-type]
    assert await backfill.async_backfill() == 0
    assert await _rows(hass) == before
    # Home Assistant is away for five hours (or the Portal is): the next run fills them.
    clock = portal.clock
    assert isinstance(clock, Clock)
    clock.now += 5 * 3600
    later = datetime.fromtimestamp(clock.now, UTC)
    imported = await backfill.async_backfill(later)
    assert imported == 5 * len(BACKFILLED)
    after = await _rows(hass)
    assert len(after) == len(before) + 5
    assert [r["start"] for r in after[: len(before)]] == [r["start"] for r in before]
    assert after[-1]["state"] == _total_at(portal, after[-1]["end"])
    # The sum runs on without a jump: each hour adds what the counter gained in it.
    for a, b in itertools.pairwise(after):
        assert abs((b["sum"] - a["sum"]) - (b["state"] - a["state"])) < 1e-6


async def test_bursts_and_drops_in_history_never_become_energy(
    recorder_mock: Recorder, hass: HomeAssistant, portal: SimulatedPortal
) -> None:
    # A zero burst and a dip in the samples the Portal keeps, as users report them.
    samples = portal.samples()
    for index in (-30, -29):
        samples[index][1]["energyGeneratingTotal"] = 0.0
    samples[-20][1]["energyGeneratingTotal"] -= 900.0
    await _setup(hass, portal, days=1)
    rows = await _rows(hass)
    sums = [row["sum"] for row in rows]
    assert sums == sorted(sums)
    gained = rows[-1]["sum"] - rows[0]["sum"]
    assert gained == pytest.approx(rows[-1]["state"] - rows[0]["state"])
    assert gained < 24 * 9 * 1.1  # never more than a day of the 9 kW plant at full sun


async def test_without_the_recorder_nothing_is_backfilled(
    hass: HomeAssistant, portal: SimulatedPortal
) -> None:
    await _setup(hass, portal, days=1)
    assert "recorder" not in hass.config.components, hass.config.components
    # Only the last half hour, once: what confirms the counters' first values.
    (asked,) = [r["historicData"]["params"] for r in portal.requests if "historicData" in r]
    assert (asked["start"], asked["end"]) == (
        "2026-06-21T09:30:00.000Z",
        "2026-06-21T10:00:00.000Z",
    )


async def test_after_an_outage_the_next_good_poll_fills_the_gap(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    portal: SimulatedPortal,
    freezer: FrozenDateTimeFactory,
) -> None:
    await _setup(hass, portal, days=1)
    before = await _rows(hass)
    # The Portal is down for three hours: polls fail, nothing is imported meanwhile.
    portal.faults.error_page = 503
    clock = portal.clock
    assert isinstance(clock, Clock)
    clock.now += 3 * 3600
    freezer.tick(timedelta(hours=3))
    await poll(hass)
    assert len(await _rows(hass)) == len(before)
    # Back: the first good poll brings the missing hours.
    portal.faults.error_page = None
    await poll(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    after = await _rows(hass)
    assert len(after) == len(before) + 3
    assert after[-1]["state"] == _total_at(portal, after[-1]["end"])


async def test_a_sample_stamped_far_in_the_future_is_no_sample(
    recorder_mock: Recorder, hass: HomeAssistant, portal: SimulatedPortal
) -> None:
    portal.faults.history_future = True
    await _setup(hass, portal, days=1)
    rows = await _rows(hass)
    assert 23 <= len(rows) <= 24
    assert rows[-1]["state"] == _total_at(portal, rows[-1]["end"])


def _history_asked(portal: SimulatedPortal) -> int:
    return sum("historicData" in request for request in portal.requests)


async def test_a_failing_backfill_is_asked_again_later_and_later(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    portal: SimulatedPortal,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Realtime answers; history comes in a shape the client does not know.
    portal.faults.history_shape = True
    await _setup(hass, portal, days=1)
    # Once for the counters' first values (the last half hour), once by the backfill.
    assert _history_asked(portal) == 2
    asked = []
    # Polls every 5 minutes: the run is retried after 5, then 10, then 20 minutes.
    for _ in range(7):
        freezer.tick(timedelta(minutes=5))
        await poll(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        asked.append(_history_asked(portal))
    assert asked == [3, 3, 4, 4, 4, 4, 5]
    assert await _rows(hass) == []
    # The service's failure is told at debug level only.
    ours = [r for r in caplog.records if r.name.startswith("custom_components.zcs_azzurro")]
    assert not [r for r in ours if r.levelno >= logging.WARNING]
    # Answering again: the next run after the wait fills the day.
    portal.faults.history_shape = False
    for _ in range(8):
        freezer.tick(timedelta(minutes=5))
        await poll(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
    assert len(await _rows(hass)) >= 23


@pytest.mark.parametrize("first", [0.0, 99999.0], ids=["zero", "stray_high"])
@pytest.mark.parametrize("wrong", [1, 3])
async def test_a_new_series_is_not_anchored_on_a_wrong_first_sample(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    portal: SimulatedPortal,
    first: float,
    wrong: int,
) -> None:
    # The first samples the backfill asks for (a day back, from the hour) are wrong: once,
    # or three in a row (agreeing with each other), in this one counter only.
    oldest = (datetime.now(UTC) - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    samples = [v for t, v in portal.samples() if t >= oldest.timestamp()]
    for sample in samples[:wrong]:
        sample["energyGeneratingTotal"] = first
    await _setup(hass, portal, days=1)
    rows = await _rows(hass)
    assert len(rows) >= 22
    gains = [b["sum"] - a["sum"] for a, b in itertools.pairwise(rows)]
    assert max(gains) < 9 * 1.1  # never more than an hour of the 9 kW plant at full sun
    end = rows[-1]["end"]
    assert (
        rows[-1]["state"]
        == [v for t, v in portal.samples() if t < end][-1]["energyGeneratingTotal"]
    )
