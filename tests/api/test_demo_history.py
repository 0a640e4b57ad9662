"""The demo's past week: the simulated plant's hours, and live counters that start at its end."""

from __future__ import annotations

import itertools

import pytest

from custom_components.zcs_azzurro.api.profile.decoder import decode
from custom_components.zcs_azzurro.api.profile.loader import load_bundled
from scripts import demo_energy, demo_history
from scripts.demo import METERS
from simulator.devices import DEVICES
from tests.conftest import local_time

# A Sunday noon in June: the week runs through days and nights.
NOW = local_time(12) + 1234.5


@pytest.mark.parametrize("device", ["hyd-3ph", "hyd-es", "tl-v3", "dtsu666"])
def test_the_live_counters_start_where_the_week_ends(device: str) -> None:
    profile = demo_history.profile_of(device, load_bundled(), METERS.get(device))
    keys = [key for key in demo_energy.COUNTERS if key in {f.key for f in profile.fields}]
    assert keys
    week = demo_history.week(device, profile, keys, NOW)
    assert week.end == NOW - NOW % 3600
    # The simulator takes the week's memory up at the demo's start, and is read from there.
    live = DEVICES[device](clock=lambda: NOW)  # type: ignore[call-arg]
    live.plant.recall(week.memory)
    live.refresh()
    for key in keys:
        hours = week.readings[key]
        assert len(hours) == demo_history.DAYS * 24
        assert [hour for hour, _ in hours] == [
            week.end - (demo_history.DAYS * 24 - n) * 3600 for n in range(demo_history.DAYS * 24)
        ]
        field = profile.field(key)
        registers = live.inputs if profile.rules.is_input(field.spans[0]) else live.values
        assert decode(field, registers) == pytest.approx(hours[-1][1])


def test_the_sums_start_at_0_with_the_week_and_the_live_ones_are_moved_onto_them() -> None:
    profile = demo_history.profile_of("hyd-3ph", load_bundled(), None)
    week = demo_history.week("hyd-3ph", profile, [demo_energy.PV_ENERGY], NOW)
    rows = demo_history.import_message(week, "pv_energy_total", "sensor.pv", "kWh")["stats"]
    sums = [row["sum"] for row in rows]
    assert sums == sorted(sums)
    assert sums[0] == pytest.approx(rows[0]["state"] - week.start["pv_energy_total"])
    assert sums[-1] == pytest.approx(week.total("pv_energy_total"))
    assert max(b - a for a, b in itertools.pairwise(sums)) < 9.5  # a 9 kWp roof's hour
    # A live counter's first reading, 0.3 kWh on (five minutes of sun before the first
    # statistic): its own sums, from 0 there, move by what the week's start leaves out.
    first = rows[-1]["state"] + 0.3
    adjust = demo_history.adjust_message(week, "pv_energy_total", "sensor.pv", "kWh", first)
    live_sum = (first + 1.0) - first + adjust["adjustment"]
    assert demo_history.continues(week, "pv_energy_total", first + 1.0, live_sum)
    assert not demo_history.continues(week, "pv_energy_total", first + 1.0, 1.0)
    assert demo_history.starts_where_it_ends(week, "pv_energy_total", rows[-1]["state"], 0.1)
    assert not demo_history.starts_where_it_ends(week, "pv_energy_total", first + 0.5, 0.1)
