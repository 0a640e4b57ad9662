"""Battery inputs and totals of the 3PH HYD ZSS: a second tower is told by what it reads."""

from __future__ import annotations

import argparse

import pytest

from custom_components.zcs_azzurro.api.device import LEARN_REFUSAL_AFTER, ModbusDevice
from custom_components.zcs_azzurro.api.profile.schema import Presence, Profile, Span
from custom_components.zcs_azzurro.api.transport.base import Link
from simulator.__main__ import _device
from simulator.devices.hyd_3ph import Hyd3ph

# The inverter's totals over its inputs (total power is the inputs' sum: see the profile).
TOTALS = ["battery_average_soc", "battery_total_soh", "battery_packs", "battery_capacity"]


def _tower(profile: Profile) -> list[str]:
    part = profile.presence_of("battery2_voltage")
    assert part is not None
    return sorted(part.fields)


def _part(profile: Profile, key: str = "battery2_voltage") -> Presence:
    part = profile.presence_of(key)
    assert part is not None
    return part


async def test_an_empty_second_input_reports_no_tower(link: Link, profile: Profile) -> None:
    part = _part(profile)
    reading = await ModbusDevice(link, 1, profile).read(_tower(profile))
    assert reading.values["battery2_voltage"] == 0
    # Code 0 is no state the map names: no value.
    assert reading.values["battery2_state"] is None
    assert not part.reported(reading.values)


async def test_a_second_tower_is_reported_and_read(
    link: Link, inverter: Hyd3ph, profile: Profile
) -> None:
    part = _part(profile)
    inverter.towers = 2
    inverter.refresh()
    reading = await ModbusDevice(link, 1, profile).read([*_tower(profile), "battery_power"])
    values = reading.values
    assert part.reported(values)
    # The simulated plant at 13:00 charges; each tower takes half.
    assert values["battery2_state"] == "charging"
    assert isinstance(values["battery2_voltage"], float)
    assert values["battery2_voltage"] >= 40
    assert isinstance(values["battery_power"], int)
    assert isinstance(values["battery2_power"], int)
    assert values["battery_power"] < 0
    assert values["battery2_power"] == pytest.approx(values["battery_power"], abs=10)
    # The total is both inputs' power.
    assert values["battery_total_power"] == values["battery_power"] + values["battery2_power"]


async def test_totals_the_firmware_refuses_are_unavailable_and_nothing_else_is_lost(
    link: Link, inverter: Hyd3ph, profile: Profile
) -> None:
    # As `python -m simulator --refuse 0x0667-0x066B` does.
    inverter.gaps.append((0x0667, 0x066B))
    device = ModbusDevice(link, 1, profile)
    keys = ["battery_state", "battery2_state", "battery_soc", "battery_total_power", *TOTALS]
    for _ in range(LEARN_REFUSAL_AFTER):
        reading = await device.read(keys)
    assert reading.refused == tuple(Span(address, 1) for address in range(0x0668, 0x066C))
    assert {key: reading.values[key] for key in TOTALS} == dict.fromkeys(TOTALS)
    assert reading.values["battery_state"] == "charging"
    # The total power is the inputs', which the firmware serves.
    assert isinstance(reading.values["battery_total_power"], int)
    assert isinstance(reading.values["battery_soc"], int)
    # Learnt: the next poll asks only for what the firmware serves, in as many requests.
    reading = await device.read(keys)
    # (The total power is every input's: 0x0606 to input 8's at 0x0637.)
    assert reading.requests == (Span(0x0606, 50), Span(0x0646, 5))
    assert reading.values["battery_state"] == "charging"


def _arguments(device: str, *, second_tower: bool, towers: int | None = None) -> argparse.Namespace:
    return argparse.Namespace(
        device=device,
        refuse=[],
        max_read=None,
        asleep=False,
        memory=None,
        second_tower=second_tower,
        towers=towers,
        packs=None,
    )


def test_the_simulator_flag_adds_a_second_tower_to_the_three_phase_hybrid_only() -> None:
    model = _device(_arguments("hyd-3ph", second_tower=True))
    assert isinstance(model, Hyd3ph)
    assert model.towers == 2
    model.refresh()
    assert model.values[0x060B] > 4000  # input 2 reads a tower's voltage (0.1 V)
    assert model.values[0x064A] in (1, 2, 3)  # and a battery's state
    one = _device(_arguments("hyd-3ph", second_tower=False))
    assert isinstance(one, Hyd3ph)
    assert (one.towers, one.values[0x060B], one.values[0x064A]) == (1, 0, 0)
    # The single-phase hybrid has one battery input.
    with pytest.raises(SystemExit, match="hyd-1ph has no battery input 2"):
        _device(_arguments("hyd-1ph", second_tower=True))


async def test_every_input_of_the_map_is_reported_when_it_has_a_tower(
    link: Link, inverter: Hyd3ph, profile: Profile
) -> None:
    # Four towers on a map of eight inputs: 2 to 4 are reported, 5 to 8 are not.
    inverter.towers = 4
    inverter.refresh()
    parts = [_part(profile, f"battery{k}_voltage") for k in range(2, 9)]
    device = ModbusDevice(link, 1, profile)
    probes = sorted(set().union(*(part.probes for part in parts)))
    reading = await device.read(probes)
    # One request reads the voltages of inputs 2-8 (read twice: each is seen the first time).
    assert set(reading.requests) == {Span(0x060B, 43)}
    assert [part.reported(reading.values) for part in parts] == [True] * 3 + [False] * 4
    reading = await device.read(sorted(parts[2].fields))  # input 4
    assert reading.values["battery4_state"] == "charging"
    assert reading.values["battery4_soc"] == 55
    assert isinstance(reading.values["battery4_power"], int)
    assert reading.values["battery4_power"] < 0
    # Up to the map's eight from the command line; a ninth is no input.
    assert _device(_arguments("hyd-3ph", second_tower=False, towers=8)).towers == 8  # type: ignore[attr-defined]
    with pytest.raises(SystemExit, match="hyd-3ph has no battery input 9"):
        _device(_arguments("hyd-3ph", second_tower=False, towers=9))
