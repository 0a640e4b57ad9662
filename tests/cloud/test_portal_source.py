"""The Portal as a source: the field map, the stale-data rule, zero bursts, hourly history."""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from custom_components.zcs_azzurro.api.cloud.history import HourlyCounter, HourRow
from custom_components.zcs_azzurro.api.cloud.portal import PortalClient
from custom_components.zcs_azzurro.api.cloud.portal_source import (
    ALARM_KEY,
    PortalSource,
    load_portal_map,
)
from custom_components.zcs_azzurro.api.errors import ProfileError
from custom_components.zcs_azzurro.api.profile.schema import CounterKind
from simulator.portal import SimulatedPortal

PORTAL_MAP = load_portal_map()


@pytest.fixture
async def source(portal: SimulatedPortal) -> AsyncGenerator[PortalSource]:
    """The simulated device, read through the Portal with every field of the map."""
    async with aiohttp.ClientSession() as session:
        client = PortalClient(session, portal.key, portal.client_code, url=portal.url)
        yield PortalSource(client, portal.thing_key, PORTAL_MAP)


def test_the_map_reuses_the_local_keys_and_guards_every_total() -> None:
    profile = PORTAL_MAP.profile
    assert PORTAL_MAP.names["pv_power"] == "powerGenerating"
    assert PORTAL_MAP.names["grid_import_energy_total"] == "energyImportingTotal"
    for fld in profile.fields:
        shown = fld.presentation
        assert shown is not None
        if PORTAL_MAP.names[fld.key].endswith("Total") and fld.key != "battery2_cycles":
            assert fld.counter is not None
            assert fld.counter.kind is CounterKind.LIFETIME
            assert (shown.state_class, shown.unit, shown.precision) == (
                "total_increasing",
                "kWh",
                1,
            )
    assert profile.field(ALARM_KEY).presentation.platform == "binary_sensor"  # type: ignore[union-attr]


def test_only_the_fields_a_device_answers_are_kept() -> None:
    meter = PORTAL_MAP.narrowed(["powerImporting", "energyExportingTotal", "lastUpdate"])
    assert [f.key for f in meter.profile.fields] == [
        "grid_import_power",
        "grid_export_energy_total",
    ]


def test_a_bad_map_names_the_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "portal.yaml"
    bad.write_text("id: x\nname: x\nmanufacturer: x\nsources: [x]\nfields:\n  - {json: a}\n")
    with pytest.raises(ProfileError, match=r"portal.yaml.*fields\[0\]"):
        load_portal_map(bad)


async def test_fresh_values_keyed_like_a_local_device(
    source: PortalSource, portal: SimulatedPortal
) -> None:
    reading = await source.read(["pv_power", "pv_energy_total", "battery_soc", ALARM_KEY])
    latest = portal.samples()[-1][1]
    assert reading.values == {
        "pv_power": latest["powerGenerating"],
        "pv_energy_total": latest["energyGeneratingTotal"],
        "battery_soc": latest["batterySoC"],
        ALARM_KEY: (),
    }
    assert await source.read([]) == type(reading)({}, {}, (), ())


async def test_stale_data_keeps_the_totals_only(
    source: PortalSource, portal: SimulatedPortal
) -> None:
    portal.faults.stale = 2 * 3600
    portal.alarms = [3]
    reading = await source.read(["pv_power", "pv_energy_today", "pv_energy_total", ALARM_KEY])
    assert reading.values["pv_power"] is None
    assert reading.values["pv_energy_today"] is None
    assert reading.values[ALARM_KEY] is None
    assert isinstance(reading.values["pv_energy_total"], float)


async def test_a_zero_burst_is_no_reading(source: PortalSource, portal: SimulatedPortal) -> None:
    portal.faults.zero_burst = True
    reading = await source.read(["pv_power", "house_power", "pv_energy_total"])
    assert set(reading.values.values()) == {None}


def _counter(**kw: object) -> HourlyCounter:
    return HourlyCounter(PORTAL_MAP.profile.field("pv_energy_total"), **kw)  # type: ignore[arg-type]


T0 = datetime(2026, 6, 21, 10, tzinfo=UTC)


def _samples(values: list[float | None], start: datetime = T0) -> tuple[list[datetime], list]:
    return [start + timedelta(minutes=5 * i) for i in range(len(values))], values


def test_hours_are_given_once_and_only_when_over() -> None:
    counter = _counter()
    # 10:00 .. 11:55, 0.1 kWh per sample; a zero burst and a dip on the way.
    values: list[float | None] = [100 + 0.1 * i for i in range(24)]
    values[5], values[6], values[14] = 0.0, None, 50.0
    counter.feed(*_samples(values))
    (first,) = counter.rows()
    # The 10:00 hour ends at its last sample (10:55); a series starts from its first hour.
    assert first.start == T0
    assert first.state == pytest.approx(101.1)
    assert first.sum == 0
    # 11:00 is not over until a sample at 12:00 or later comes.
    assert counter.rows() == []
    counter.feed(*_samples([102.5], T0 + timedelta(hours=2)))
    (second,) = counter.rows()
    assert second.start == T0 + timedelta(hours=1)
    assert second.state == pytest.approx(102.3)
    assert second.sum == pytest.approx(1.2)
    # Samples seen again (a window's edge) add nothing.
    counter.feed(*_samples(values))
    assert counter.rows() == []


def test_a_series_continues_after_its_newest_row() -> None:
    last = HourRow(T0, 101.0, 7.0)
    counter = _counter(last=last)
    assert counter.resume_at == T0 + timedelta(hours=1)
    counter.feed(*_samples([100.0, 101.0, 101.5, 103.0], T0 + timedelta(minutes=30)))
    counter.feed(*_samples([104.0, 105.0], T0 + timedelta(hours=1, minutes=30)))
    counter.feed(*_samples([106.0], T0 + timedelta(hours=2)))
    (row,) = counter.rows()
    assert (row.start, row.state, row.sum) == (T0 + timedelta(hours=1), 105.0, 11.0)
    # A series that has not begun starts at not_before.
    fresh = _counter(not_before=T0 + timedelta(hours=1))
    fresh.feed(*_samples([1.0] * 36))
    assert [r.start for r in fresh.rows()] == [T0 + timedelta(hours=1)]


@pytest.mark.parametrize("first", [0.0, 99999.0], ids=["zero", "stray_high"])
def test_a_new_series_starts_only_from_a_sample_the_next_agrees_with(first: float) -> None:
    # A new series (first install, a statistic deleted): its first sample is wrong.
    counter = _counter()
    values: list[float | None] = [first] + [12345.0 + 0.1 * i for i in range(1, 36)]
    counter.feed(*_samples(values))
    rows = counter.rows()
    assert [r.start for r in rows] == [T0, T0 + timedelta(hours=1)]
    # Nothing anchors on the wrong sample: no phantom energy, and the series goes on.
    assert rows[0].state == pytest.approx(12346.1)
    assert rows[1].sum == pytest.approx(rows[1].state - rows[0].state)
    assert rows[1].sum < 2


@pytest.mark.parametrize("first", [0.0, 99999.0], ids=["zero", "stray_high"])
@pytest.mark.parametrize("wrong", [1, 3])
def test_a_new_series_is_judged_against_the_counters_present_value(
    first: float, wrong: int
) -> None:
    # The review's week (M5): samples from 12,345 kWh, the first ones wrong, one counter
    # only (no zero burst of every total): agreeing with each other, they would confirm.
    values = [first] * wrong + [12345.0 + 0.01 * i for i in range(wrong, 7 * 288)]
    times, _ = _samples(values)
    # The live counter's value, a poll after the last sample: what the device holds now.
    known = (values[-1] + 0.01, (times[-1] + timedelta(minutes=5)).timestamp())
    counter = _counter(not_before=T0, known=known)
    counter.feed(times, values)
    assert counter.rows() == []  # a new series waits until all its samples are in
    rows = counter.settle()
    assert len(rows) == 7 * 24 - 1
    gains = [b.sum - a.sum for a, b in itertools.pairwise(rows)]
    # At most what the hour's 12 samples gained: never the +12,395 kWh hour.
    assert max(gains) == pytest.approx(0.12)
    assert rows[0].state == pytest.approx(12345.11)
    assert rows[-1].state == pytest.approx(values[-13])
    assert counter.settle() == []  # settled once


def test_a_series_follows_a_counter_restart_its_owner_accepted() -> None:
    last = HourRow(T0, 5000.0, 70.0)
    # The counter was reset at 11:20 and counts on from 0.0; the owner accepted it then.
    counter = _counter(last=last, restart=(0.0, T0 + timedelta(hours=1, minutes=20)))
    counter.feed(*_samples([5000.5, 5000.8, 0.0, 0.2, 0.4, 0.6], T0 + timedelta(hours=1)))
    counter.feed(
        *_samples([0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0], T0 + timedelta(hours=1, minutes=30))
    )
    counter.feed(*_samples([2.2, 2.4], T0 + timedelta(hours=2, minutes=5)))
    rows = counter.rows()
    # The hour of the restart: from the new start on, its sum goes on without a jump.
    assert [r.start for r in rows] == [T0 + timedelta(hours=1)]
    assert rows[0].state == pytest.approx(1.8)
    assert rows[0].sum == pytest.approx(70.0)
