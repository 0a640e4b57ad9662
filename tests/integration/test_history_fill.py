"""A stick outage of an hour, a Portal entry beside it: the local statistics show the hour."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from custom_components.zcs_azzurro import const
from custom_components.zcs_azzurro.api.cloud.history import HourRow
from custom_components.zcs_azzurro.history_fill import HistoryFill, Hole, filled, holes
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick, Framing
from simulator.portal import SimulatedPortal
from tests.conftest import LINK_KINDS, Clock

from .conftest import SERIAL, entity_id, entry_data, poll
from .test_portal import portal_entry

HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def mock_recorder_before_hass(async_test_recorder: object) -> None:
    """The recorder's database is prepared before Home Assistant starts, as its tests do."""


@pytest.fixture
def start(freezer: FrozenDateTimeFactory) -> datetime:
    """The next 13:00 (local): Home Assistant's clock moved on to it (forward only)."""
    now = time.time()
    noon = time.mktime((*time.localtime(now)[:3], 13, 0, 0, 0, 0, -1))
    moment = noon if noon > now + 60 else noon + 86400
    freezer.move_to(datetime.fromtimestamp(moment, UTC))
    return datetime.fromtimestamp(moment, UTC)


@pytest.fixture
def clock(start: datetime) -> Clock:
    """The simulated devices' clock: Home Assistant's."""
    return Clock(start.timestamp())


@pytest.fixture
def inverter(clock: Clock) -> Hyd3ph:
    """The inverter behind the stick, on the shared clock."""
    return Hyd3ph(clock=clock)


@pytest.fixture
async def stick(socket_enabled: None, inverter: Hyd3ph) -> AsyncGenerator[EthStick]:
    """Modbus TCP: RTU's gap between frames is timed by a clock the test holds still."""
    front = EthStick(inverter, framing=Framing.TCP)
    await front.start()
    yield front
    await front.stop()


@pytest.fixture
async def portal(socket_enabled: None, clock: Clock) -> AsyncGenerator[SimulatedPortal]:
    """The same device's Portal, a day of samples, on the shared clock."""
    server = SimulatedPortal(clock=clock, history_days=1)
    await server.start()
    yield server
    await server.stop()


async def _set_up(hass: HomeAssistant, stick: EthStick, portal: SimulatedPortal) -> MockConfigEntry:
    local = MockConfigEntry(
        domain=const.DOMAIN,
        unique_id=SERIAL,
        title="Inverter",
        data=entry_data(stick.port, framing=LINK_KINDS[Framing.TCP].value),
    )
    for entry in (local, portal_entry(portal, backfill_days=1)):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
    return local


async def _hours(hass: HomeAssistant, sid: str, since: datetime) -> list[dict[str, Any]]:
    await async_wait_recording_done(hass)
    found = await hass.async_add_executor_job(
        statistics_during_period, hass, since, None, {sid}, "hour", None, {"state", "sum"}
    )
    return list(found.get(sid, []))


def _portal_total(portal: SimulatedPortal, moment: datetime) -> float:
    """The Portal's PV total at the last sample before `moment`."""
    before = [v for t, v in portal.samples() if t < moment.timestamp()]
    return float(before[-1]["energyGeneratingTotal"])


async def test_the_hour_a_stick_was_out_is_filled_from_the_portal_and_nothing_counts_twice(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    start: datetime,
    clock: Clock,
    inverter: Hyd3ph,
    stick: EthStick,
    portal: SimulatedPortal,
    freezer: FrozenDateTimeFactory,
) -> None:
    await _set_up(hass, stick, portal)
    pv = entity_id(hass, "pv_energy_total")

    async def live(period: int) -> None:
        moment = start + timedelta(minutes=5 * period + 4)
        freezer.move_to(moment)
        clock.now = moment.timestamp()
        await poll(hass)
        do_adhoc_statistics(hass, start=start + timedelta(minutes=5 * period))

    # Read until 13:55; from 13:59 to 15:00 the stick answers every request with "gateway
    # target failed to respond" (what it says for an inverter it cannot reach: the entities
    # are unavailable), so 14:00-15:00 has no reading at all; from 15:04 read again.
    for period in range(36):
        stick.faults.exception = 0x0B if 11 <= period < 24 else None
        await live(period)
    assert hass.states.get(pv).state != "unavailable"  # type: ignore[union-attr]
    before = await _hours(hass, pv, start)
    # The recorder compiled no row for the hour without a value; the next took its energy.
    assert [datetime.fromtimestamp(r["start"], UTC) for r in before] == [start, start + 2 * HOUR]
    # The first poll of the next hour looks for holes and finds the Portal's hour.
    await live(36)
    await hass.async_block_till_done(wait_background_tasks=True)
    after = await _hours(hass, pv, start)
    starts = [datetime.fromtimestamp(r["start"], UTC) for r in after]
    assert starts == [start, start + HOUR, start + 2 * HOUR]
    first, gap, last = after
    # The hours on either side are as the recorder compiled them: the running sum arrives
    # where it was, so what the outage produced is counted once, in the hour it happened.
    assert (first["state"], first["sum"]) == (before[0]["state"], before[0]["sum"])
    assert (last["state"], last["sum"]) == (before[1]["state"], before[1]["sum"])
    # The hour filled gained what the Portal's counter gained in it.
    gained = _portal_total(portal, start + 2 * HOUR) - _portal_total(portal, start + HOUR)
    assert gap["sum"] - first["sum"] == pytest.approx(gained, abs=1e-6)
    assert gained > 3  # kWh: an hour of a June afternoon
    assert gap["state"] - first["state"] == pytest.approx(gained, abs=1e-6)
    # The tall bar is gone: the hour after holds only its own hour's energy.
    assert last["sum"] - gap["sum"] < last["sum"] - first["sum"] - 3
    # Asked again, there is nothing left to fill.
    entry = hass.config_entries.async_entries(const.DOMAIN)[0]
    assert await HistoryFill(hass, entry).async_fill() == 0  # type: ignore[arg-type]


def test_a_fill_never_passes_the_row_after_the_hole_nor_goes_back() -> None:
    at = datetime(2026, 6, 21, 10, tzinfo=UTC)
    hole = Hole(HourRow(at, 100.0, 10.0), HourRow(at + 4 * HOUR, 104.0, 14.0))
    assert [h.hour for h in hole.hours] == [11, 12, 13]
    assert holes([hole.before, HourRow(at + HOUR, 101.0, 11.0), hole.after]) == [
        Hole(HourRow(at + HOUR, 101.0, 11.0), hole.after)
    ]
    # The cloud's counter runs 50 kWh apart from the local one: only its gains count; a dip
    # holds, and more than the hole can hold stops at the row after it.
    cloud = [HourRow(at + HOUR * n, 50.0 + v, 0.0) for n, v in enumerate([0, 1.5, 1.0, 9.0])]
    rows = filled(hole, cloud)
    assert [(r.state, r.sum) for r in rows] == [(101.5, 11.5), (101.5, 11.5), (104.0, 14.0)]
    # Without the cloud's value at the hole's first row, nothing is guessed.
    assert filled(hole, cloud[1:]) == []
