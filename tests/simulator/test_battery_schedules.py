"""The simulated hybrid's battery control: passive timeout, its own schedules, its limits.

And the wear its EEPROM takes from writes, counted per register.
"""

from __future__ import annotations

import pytest

from simulator.devices.hyd_3ph import CONTACT_SETPOINTS, Hyd3ph
from simulator.registers import ILLEGAL_VALUE, ModbusExceptionError
from tests.conftest import Clock, local_time

BATTERY = [0, 0, 0, 4800, 4700, 3800, 4000, 2500, 2500, 90, 90, 24, 4320, 1, 10, 1]
MONDAY = (2026, 6, 22)


def _s32(watts: int) -> list[int]:
    raw = watts & 0xFFFFFFFF
    return [raw >> 16, raw & 0xFFFF]


def _battery_w(device: Hyd3ph) -> float:
    device.refresh()
    return device.plant.battery_w


def _at(hour: int, minute: int = 0) -> int:
    return hour << 8 | minute


def test_settings_writes_wear_the_eeprom_and_ram_writes_do_not() -> None:
    device = Hyd3ph(clock=Clock(local_time(13)))
    device.write(0x1110, [3])
    device.write(0x1110, [3])  # the same value again: counted, as the firmware may store it
    device.write(0x1187, [*_s32(0), *_s32(2000), *_s32(2000)])
    device.write(0x1104, [1])
    device.write(0x1004, [26, 6, 21, 13, 0, 0, 1])  # the clock
    device.write(0x1044, BATTERY)
    with pytest.raises(ModbusExceptionError):
        device.write(0x1110, [9])  # refused: nothing reaches the EEPROM
    counted = device.eeprom_writes
    assert counted[0x1110] == 2
    assert not any(counted[a] for a in [*range(0x1187, 0x118D), 0x1104, *range(0x1004, 0x100B)])
    # The battery block: each register written once; its write control (0x1053) is no setting.
    assert counted[0x104D] == 1
    assert 0x1053 not in counted


def test_the_passive_timeout_counts_from_the_last_contact_or_set_point() -> None:
    clock = Clock(local_time(13))
    device = Hyd3ph(clock=clock)
    device.write(0x1184, [60, 1])  # after 60 s: back to the mode before passive
    device.write(0x1110, [3])
    device.write(0x1187, [*_s32(0), *_s32(2000), *_s32(2000)])
    for _ in range(3):
        clock.now += 50
        device.refresh()
        device.read(0x0404, 1)  # a poll is contact, as the protocol's "any communication"
    assert _battery_w(device) == 2000
    strict = Hyd3ph(clock=clock)
    strict.passive_contact = CONTACT_SETPOINTS
    strict.write(0x1184, [60, 1])
    strict.write(0x1110, [3])
    strict.write(0x1187, [*_s32(0), *_s32(2000), *_s32(2000)])
    clock.now += 50
    strict.read(0x0404, 1)
    clock.now += 11
    strict.refresh()  # as every front end does before it answers
    assert strict.read(0x1110, 1) == [0]  # polls alone did not keep it in passive mode


def _timed_rule(
    number: int,
    control: int,
    charge: tuple[int, int],
    discharge: tuple[int, int],
    charge_w: int,
    discharge_w: int,
) -> list[int]:
    return [number, control, *charge, *discharge, 0, charge_w, 0, discharge_w, 0, 0, 0, 0, 1]


def test_timed_rules_charge_and_discharge_in_their_windows_lower_numbers_first() -> None:
    clock = Clock(local_time(2))
    device = Hyd3ph(clock=clock)
    # Rule 1: charge 01:30-05:00 at 3000 W, discharge 18:00-21:00 at 2500 W.
    device.write(0x1111, _timed_rule(1, 3, (_at(1, 30), _at(5)), (_at(18), _at(21)), 3000, 2500))
    # Rule 0 wins from 04:00: discharge at 1000 W.
    device.write(0x1111, _timed_rule(0, 2, (0, 0), (_at(4), _at(4, 30)), 1, 1000))
    assert _battery_w(device) < 0  # self use at night until the mode is timed
    device.write(0x1110, [2])
    assert _battery_w(device) == 3000
    clock.now += 2 * 3600  # 04:00
    assert _battery_w(device) == -1000
    clock.now += 3600  # 05:00: no rule, self use (the sun is not up)
    assert _battery_w(device) < 0
    clock.now = local_time(19)
    assert _battery_w(device) == -2500
    # The shadow registers show the rule last written; its number alone loads another.
    assert device.read(0x1111, 2) == [0, 2]
    device.write(0x1111, [1])
    assert device.read(0x1111, 10) == [1, 3, _at(1, 30), _at(5), _at(18), _at(21), 0, 3000, 0, 2500]
    with pytest.raises(ModbusExceptionError) as refused:
        device.write(0x1111, _timed_rule(0, 1, (_at(24), _at(5)), (0, 0), 1, 1))
    assert refused.value.code == ILLEGAL_VALUE


def _tou_rule(
    number: int,
    mode: int,
    window: tuple[int, int],
    soc: int,
    watts: int,
    weekdays: int = 0x7F,
    dates: tuple[int, int] = (0x0101, 0x0C1F),
) -> list[int]:
    return [number, 1, *window, soc, 0, watts, *dates, weekdays, mode, 0, 0, 0, 0, 1]


def test_time_of_use_rules_force_charge_to_their_target_on_their_days() -> None:
    clock = Clock(local_time(2, MONDAY))
    device = Hyd3ph(clock=clock)
    device.write(0x1110, [1])
    # Forced charge 01:00-06:00 at 2500 W up to 60 %, Mondays only.
    device.write(0x1120, _tou_rule(0, 0, (_at(1), _at(6)), 60, 2500, weekdays=0b1))
    assert device.plant.soc < 60
    assert _battery_w(device) == 2500
    device.plant.soc = 60
    assert _battery_w(device) < 0  # target reached: self use
    device.plant.soc = 40
    clock.now = local_time(2, (2026, 6, 23))  # Tuesday
    assert _battery_w(device) < 0
    # Forced discharge on a rule valid in winter only: not in June.
    device.write(0x1120, _tou_rule(1, 1, (0, _at(23, 59)), 10, 2000, dates=(0x0B01, 0x021C)))
    assert _battery_w(device) < 0
    assert device.eeprom_writes[0x1124] == 2


def test_current_limits_cap_the_battery_power() -> None:
    device = Hyd3ph(clock=Clock(local_time(13)))
    assert _battery_w(device) == 5000  # the sun fills the battery at the most it takes
    limited = list(BATTERY)
    limited[7] = 500  # 5 A charge
    device.write(0x1044, limited)
    assert _battery_w(device) == pytest.approx(5 * device.plant.battery_v)
    night = Hyd3ph(clock=Clock(local_time(20)))
    night.write(0x1110, [3])
    night.write(0x1187, [*_s32(0), *_s32(-4000), *_s32(-4000)])
    assert _battery_w(night) == -4000
    limited = list(BATTERY)
    limited[8] = 300  # 3 A discharge
    night.write(0x1044, limited)
    assert _battery_w(night) == pytest.approx(-3 * night.plant.battery_v)
