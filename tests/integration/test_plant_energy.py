"""Over one hour with a real recorder: the plant's statistics are its members', counted once."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from custom_components.zcs_azzurro import const
from simulator.devices.site import Site
from simulator.eth import Framing
from tests.conftest import Clock

from . import test_plant
from .conftest import poll
from .test_plant import MASTER, SLAVE, _plant, plant_entity

site, sticks, members = test_plant.site, test_plant.sticks, test_plant.members
__all__ = ["members", "site", "sticks"]

INVERTER_COUNTERS = (
    "pv_energy_total",
    "battery_charge_energy_total",
    "battery_discharge_energy_total",
)
GRID_COUNTERS = ("grid_import_energy_total", "grid_export_energy_total")


@pytest.fixture
def framing() -> Framing:
    """Modbus TCP: RTU's gap between frames is timed by a clock the test holds still."""
    return Framing.TCP


@pytest.fixture(autouse=True)
def mock_recorder_before_hass(async_test_recorder: object) -> None:
    """The recorder's database is prepared before Home Assistant starts, as its tests do."""


@pytest.fixture
def start(site: Site, freezer: FrozenDateTimeFactory) -> datetime:
    """The next 13:00 (local), Home Assistant's clock and the plant's both moved on to it.

    Forward only: the recorder has begun its run, and time going back would confuse it.
    """
    now = time.time()
    noon = time.mktime((*time.localtime(now)[:3], 13, 0, 0, 0, 0, -1))
    moment = noon if noon > now + 60 else noon + 86400
    clock = site.clock
    assert isinstance(clock, Clock)
    clock.now = moment
    freezer.move_to(datetime.fromtimestamp(moment, UTC))
    return datetime.fromtimestamp(moment, UTC)


def _entity(hass: HomeAssistant, unique_id: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id("sensor", const.DOMAIN, unique_id)
    assert entity_id is not None, unique_id
    return entity_id


async def _rows(hass: HomeAssistant, ids: set[str], begin: datetime, period: str) -> dict[str, Any]:
    await async_wait_recording_done(hass)
    return await hass.async_add_executor_job(
        statistics_during_period, hass, begin, None, ids, period, None, {"state", "sum"}
    )


async def test_an_hour_of_plant_statistics_is_the_sum_of_its_members_within_rounding(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    start: datetime,
    site: Site,
    members: list[MockConfigEntry],
    freezer: FrozenDateTimeFactory,
) -> None:
    await _plant(hass, members)
    clock = site.clock
    assert isinstance(clock, Clock)
    # An hour from 13:00 to 14:00: a poll four minutes into each five, then its statistics.
    for period in range(12):
        moment = start + timedelta(minutes=5 * period + 4)
        freezer.move_to(moment)
        clock.now = moment.timestamp()
        await poll(hass)
        do_adhoc_statistics(hass, start=start + timedelta(minutes=5 * period))
    meter = members[2].entry_id
    plant = {key: plant_entity(hass, key) for key in (*INVERTER_COUNTERS, *GRID_COUNTERS)}
    parts = {
        key: [_entity(hass, f"{serial}_{key}") for serial in (MASTER, SLAVE)]
        for key in INVERTER_COUNTERS
    } | {key: [_entity(hass, f"{meter}_{key}")] for key in GRID_COUNTERS}
    ids = {*plant.values(), *(entity for found in parts.values() for entity in found)}
    for period_name, count in (("5minute", 12), ("hour", 1)):
        rows = await _rows(hass, ids, start, period_name)
        for key, entity in plant.items():
            assert len(rows[entity]) == count, (key, period_name)
            for index, row in enumerate(rows[entity]):
                members_sum = sum(rows[part][index]["sum"] for part in parts[key])
                members_state = sum(rows[part][index]["state"] for part in parts[key])
                # The members' counters are 0.1 kWh (0.01 kWh the meter's): the plant's
                # are their sum, to the last digit the members have.
                assert row["state"] == pytest.approx(members_state, abs=0.005), (key, index)
                assert row["sum"] == pytest.approx(members_sum, abs=0.005), (key, index)
    # The hour made energy: PV went up, and nothing is counted twice (the grid once).
    hour = await _rows(hass, ids, start, "hour")
    assert hour[plant["pv_energy_total"]][0]["sum"] > 0.5
    exported = hour[plant["grid_export_energy_total"]][0]["sum"]
    assert exported == pytest.approx(hour[parts["grid_export_energy_total"][0]][0]["sum"])
