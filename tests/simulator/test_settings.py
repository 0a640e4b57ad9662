"""The simulated inverter takes settings as the real one does, and its plant obeys them."""

from __future__ import annotations

import time

import pytest

from simulator.devices.hyd_3ph import Hyd3ph
from simulator.registers import (
    COMMIT_OK,
    COMMIT_REFUSED,
    ILLEGAL_ADDRESS,
    ILLEGAL_VALUE,
    ModbusExceptionError,
)
from tests.conftest import Clock, local_time

BATTERY = [0, 0, 0, 4800, 4700, 3800, 4000, 2500, 2500, 90, 90, 24, 4320, 1, 10, 1]


def _refusal(device: Hyd3ph, address: int, values: list[int]) -> int:
    with pytest.raises(ModbusExceptionError) as refused:
        device.write(address, values)
    return refused.value.code


def _s32(watts: int) -> list[int]:
    raw = watts & 0xFFFFFFFF
    return [raw >> 16, raw & 0xFFFF]


def test_a_write_that_splits_a_group_is_refused_as_the_device_does() -> None:
    device = Hyd3ph(clock=Clock(local_time(13)))
    # Writing 0x104C alone: the unit answers 0x90 0x02 (DR #920).
    assert _refusal(device, 0x104C, [5000]) == ILLEGAL_ADDRESS
    assert _refusal(device, 0x1023, [1]) == ILLEGAL_ADDRESS
    assert _refusal(device, 0x1187, [0, 0]) == ILLEGAL_ADDRESS
    assert _refusal(device, 0x0404, [1]) == ILLEGAL_ADDRESS
    # The runs integrations write are taken.
    device.write(0x1044, BATTERY)
    device.write(0x1044, [*BATTERY, 0, 0, 0])
    device.write(0x1189, [*_s32(100), *_s32(200)])
    device.write(0x1105, [1, 500, 0])


def test_values_out_of_range_are_refused_and_nothing_changes() -> None:
    device = Hyd3ph(clock=Clock(local_time(13)))
    battery = list(BATTERY)
    battery[9] = 95  # depth of discharge 1-90
    assert _refusal(device, 0x1044, battery) == ILLEGAL_VALUE
    assert device.read(0x104D, 1) == [90]
    assert _refusal(device, 0x1106, [1101]) == ILLEGAL_VALUE
    assert _refusal(device, 0x1108, [(-1001) & 0xFFFF]) == ILLEGAL_VALUE
    device.write(0x1108, [(-1000) & 0xFFFF])
    assert _refusal(device, 0x1110, [8]) == ILLEGAL_VALUE
    # A commit register takes 1 only.
    assert _refusal(device, 0x1044, [*BATTERY[:-1], 0]) == ILLEGAL_VALUE


def test_a_commit_register_applies_and_reads_back_the_result() -> None:
    device = Hyd3ph(clock=Clock(local_time(13)))
    battery = list(BATTERY)
    battery[9] = 80
    device.write(0x1044, battery)
    assert device.read(0x104D, 1) == [80]
    assert device.read(0x1053, 1) == [COMMIT_OK]
    device.commit_result = COMMIT_REFUSED
    battery[9] = 70
    device.write(0x1044, battery)
    assert device.read(0x104D, 1) == [80]
    assert device.read(0x1053, 1) == [COMMIT_REFUSED]


def test_the_clock_is_set_by_its_group() -> None:
    clock = Clock(local_time(13))
    device = Hyd3ph(clock=clock)
    device.write(0x1004, [27, 1, 2, 3, 4, 5, 1])
    device.refresh()
    assert device.read(0x1004, 7) == [27, 1, 2, 3, 4, 5, COMMIT_OK]
    assert device.read(0x042C, 6) == [27, 1, 2, 3, 4, 5]
    clock.now += 60
    device.refresh()
    assert device.read(0x1008, 1) == [5]
    assert time.localtime(clock.now).tm_hour == 13


def _battery_w(device: Hyd3ph) -> float:
    device.refresh()
    return device.plant.battery_w


def test_passive_mode_holds_the_grid_set_point_within_the_battery_limits() -> None:
    device = Hyd3ph(clock=Clock(local_time(13)))
    device.write(0x1110, [3])
    # Charge 2000 W whatever the sun does: min = max = +2000.
    device.write(0x1187, [*_s32(0), *_s32(2000), *_s32(2000)])
    assert _battery_w(device) == 2000
    assert device.plant.grid_w == pytest.approx(device.plant.pv_w - device.plant.load_w - 2000)
    # Export 6000 W with room in the limits: the battery takes the rest of the surplus.
    device.write(0x1187, [*_s32(-6000), *_s32(-5000), *_s32(5000)])
    assert 0 < _battery_w(device) < 5000
    assert device.plant.grid_w == pytest.approx(6000)
    # Import 1000 W from the grid (at night, the battery charges from it).
    night = Hyd3ph(clock=Clock(local_time(2)))
    night.write(0x1110, [3])
    night.write(0x1187, [*_s32(1000), *_s32(-5000), *_s32(5000)])
    night.refresh()
    assert night.plant.grid_w == pytest.approx(-1000)
    assert night.read(0x0488, 1) == [(-100) & 0xFFFF]


def test_an_export_limit_caps_export() -> None:
    device = Hyd3ph(clock=Clock(local_time(13)))
    device.write(0x1110, [3])
    # Discharge 3000 W at noon: far more than the house uses, so it would be exported.
    device.write(0x1187, [*_s32(0), *_s32(-3000), *_s32(-3000)])
    device.refresh()
    assert device.plant.grid_w > 3000
    device.write(0x1023, [1, 5])  # limit export to 500 W
    device.refresh()
    assert device.plant.grid_w == pytest.approx(500)
    assert device.plant.pv_w == 0


def test_the_output_limit_caps_the_inverter() -> None:
    device = Hyd3ph(clock=Clock(local_time(13)))
    device.write(0x1105, [1, 100])  # 10 % of 10 kW
    device.refresh()
    assert device.plant.pv_w - device.plant.battery_w == pytest.approx(1000)


def test_depth_of_discharge_stops_discharge_and_max_soc_stops_charge() -> None:
    device = Hyd3ph(clock=Clock(local_time(2)))
    assert _battery_w(device) < 0  # night: the battery feeds the house
    battery = list(BATTERY)
    battery[9] = 40  # discharge no lower than 60 %, above its 55 %
    device.write(0x1044, battery)
    assert _battery_w(device) == 0
    noon = Hyd3ph(clock=Clock(local_time(13)))
    assert _battery_w(noon) > 0
    noon.write(0x1044, [*BATTERY, 0, 0, 0, 0, 0, 0, 0, 60])
    noon.plant.soc = 60
    assert _battery_w(noon) == 0


def test_remote_off_stops_output() -> None:
    device = Hyd3ph(clock=Clock(local_time(13)))
    device.write(0x1104, [0])
    device.refresh()
    assert (device.plant.pv_w, device.plant.battery_w) == (0, 0)
    assert device.plant.grid_w == -device.plant.load_w
    assert device.read(0x0404, 1) == [0]


def test_registers_other_readers_use_agree_with_the_plant() -> None:
    device = Hyd3ph(clock=Clock(local_time(13)))
    plant = device.plant
    assert device.read(0x05C4, 1) == [round(plant.pv_w / 100)]
    power, soc, soh, packs, capacity = device.read(0x0667, 5)
    assert (power, soc, soh, packs) == (round(plant.battery_w / 100), round(plant.soc), 98, 1)
    assert capacity > 0
    apparent, wide, _ = device.read(0x048A, 3)
    assert apparent == round(abs(plant.grid_w) / 10)
    assert wide == round(plant.grid_w / 100) & 0xFFFF
    assert all(2200 < v < 2400 for v in device.read(0x0512, 1) + device.read(0x051A, 1))
    line = device.read(0x04BA, 3)
    assert all(3900 < v < 4050 for v in line)
    assert device.read(0x04B0, 1) == device.read(0x048D, 1)


def test_passive_mode_times_out_without_new_set_points() -> None:
    clock = Clock(local_time(13))
    device = Hyd3ph(clock=clock)
    device.write(0x1184, [60, 1])  # after 60 s without set-points: back to the previous mode
    device.write(0x1110, [3])
    device.write(0x1187, [*_s32(0), *_s32(2000), *_s32(2000)])
    clock.now += 50
    device.write(0x1187, [*_s32(0), *_s32(1000), *_s32(1000)])  # a set-point keeps it alive
    clock.now += 50
    assert _battery_w(device) == 1000
    clock.now += 20
    assert _battery_w(device) == 5000  # self use again: the sun fills the battery
    assert device.read(0x1110, 1) == [0]
    # Force standby: passive mode stays, the battery idles until set-points come again.
    device.write(0x1184, [60, 0])
    device.write(0x1110, [3])
    clock.now += 61
    assert _battery_w(device) == 0
    assert device.read(0x1110, 1) == [3]
    device.write(0x1187, [*_s32(0), *_s32(-500), *_s32(-500)])
    assert _battery_w(device) == -500
