"""Issue 16's measure: wrong values published through a corrupting link, and what it costs.

The stick changes one data byte in a share of its answers (RTU frames get a valid CRC);
the plant moves at speed (a kettle, passing clouds, the battery turning from charge to
discharge). Longer runs: scripts/trust.py.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from custom_components.zcs_azzurro.api.profile.schema import Profile
from custom_components.zcs_azzurro.api.transport.base import Link
from custom_components.zcs_azzurro.const import SETTINGS_EVERY
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick, Framing
from tests.conftest import local_time
from tests.trust import run, weather


def _shown(profile: Profile) -> list[str]:
    return list(profile.defaults())  # a unit with one battery tower


@pytest.mark.parametrize("framing", [Framing.RTU, Framing.TCP])
async def test_a_corrupting_link_gets_no_wrong_value_published(
    link: Link, stick: EthStick, profile: Profile
) -> None:
    stick.faults.corrupt = 0.2
    tally = await run(link, stick, profile, _shown(profile), polls=150)
    assert tally.corrupted_polls > 75  # most polls had a damaged answer
    assert tally.wrong == {}, tally.examples
    assert tally.withheld_clean == {}
    assert tally.extra_clean <= tally.polls // 5  # counters that moved, read twice
    # A damaged answer costs about one more request; what could not be confirmed is withheld.
    assert tally.extra_corrupted < 1.5 * tally.corrupted_answers
    assert sum(tally.withheld_corrupted.values()) < tally.corrupted_answers


async def test_answers_handed_to_another_request_get_no_wrong_value_published(
    link: Link, stick: EthStick, profile: Profile
) -> None:
    stick.faults.crossed = 0.3  # the PV and battery requests both read 6 registers
    tally = await run(link, stick, profile, _shown(profile), polls=100)
    assert tally.corrupted_answers > 10
    assert tally.wrong == {}, tally.examples
    assert tally.withheld_clean == {}


async def test_without_the_checks_the_same_link_gets_wrong_values_published(
    link: Link, stick: EthStick, profile: Profile
) -> None:
    stick.faults.corrupt = 0.2
    unchecked = replace(profile, checks=())
    tally = await run(link, stick, unchecked, _shown(profile), polls=100)
    assert sum(tally.wrong.values()) > 10
    assert tally.wrong["fault"] > 0  # false alarms


@pytest.mark.parametrize("hour", [13, 19])
async def test_a_plant_moving_at_speed_is_published_whole(
    link: Link, stick: EthStick, inverter: Hyd3ph, profile: Profile, hour: int
) -> None:
    inverter.clock.now = local_time(hour)  # type: ignore[attr-defined]
    tally = await run(link, stick, profile, _shown(profile), polls=120)
    assert tally.wrong == {}
    assert tally.withheld_clean == {}
    # Read twice on clean polls: counters that moved, and real steps beyond a check's step.
    assert tally.extra_clean <= tally.polls // 5
    # Five requests for the readings every poll, five more for the settings every tenth.
    assert tally.planned == 5 * 120 + 5 * (120 // SETTINGS_EVERY)
    assert tally.requests == tally.planned + tally.extra_clean


async def test_the_weather_moves_the_plant(inverter: Hyd3ph) -> None:
    plant = inverter.plant
    flows = []
    for poll in range(40):
        weather(poll, plant)
        inverter.clock.now += 5  # type: ignore[attr-defined]
        inverter.refresh()
        flows.append((plant.battery_w, plant.load_w))
    assert min(b for b, _ in flows) < 0 < max(b for b, _ in flows)  # charge and discharge
    assert max(load for _, load in flows) - min(load for _, load in flows) > 1900  # kettle
