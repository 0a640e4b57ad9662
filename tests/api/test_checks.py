"""Checks of what physics and the device's arithmetic allow, and the second read they ask for."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from custom_components.zcs_azzurro.api.device import ModbusDevice
from custom_components.zcs_azzurro.api.errors import ProfileError
from custom_components.zcs_azzurro.api.profile.checks import FIRST_SIGHT, Checks
from custom_components.zcs_azzurro.api.profile.loader import load_profile
from custom_components.zcs_azzurro.api.profile.schema import Check, CheckKind, Profile, Span
from custom_components.zcs_azzurro.api.transport.base import Link
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick
from simulator.registers import s16
from tests.api.test_profile_loader import GOOD
from tests.conftest import Clock


def _checks(profile: Profile) -> Checks:
    return Checks(profile.fields, profile.checks)


def _names(checks: Checks, values: dict[str, object], now: float = 0.0) -> list[str]:
    return [failure.name for failure in checks.failures(values, now)]  # type: ignore[arg-type]


# A plant at rest: 600 W house, 1500 W from the inverter, 900 W exported; battery charging.
BALANCED = {
    "house_power": 600,
    "inverter_power": 1500,
    "grid_power": -900,
    "inverter_power_l1": 500,
    "inverter_power_l2": 500,
    "inverter_power_l3": 500,
    "grid_power_l1": -300,
    "grid_power_l2": -300,
    "grid_power_l3": -300,
    "battery_voltage": 432.1,
    "battery_current": -12.34,
    "battery_power": -5330,
    "pv1_voltage": 600.0,
    "pv1_current": 5.57,
    "pv1_power": 3340,
}


def _steady(profile: Profile) -> Checks:
    """Checks that have seen the balanced reading already (so nothing is seen first)."""
    checks = _checks(profile)
    checks.accept(BALANCED, 0)
    return checks


def test_a_reading_that_adds_up_passes(profile: Profile) -> None:
    assert _names(_steady(profile), BALANCED) == []


@pytest.mark.parametrize(
    ("key", "value", "failed"),
    [
        # One data byte changed: the balance, the phase sum, or V x I no longer holds.
        ("house_power", 600 + 2560, ["house_power = inverter_power + grid_power"]),
        (
            "grid_power",
            -900 + 1000,
            [
                "house_power = inverter_power + grid_power",
                "grid_power = grid_power_l1 + grid_power_l2 + grid_power_l3",
            ],
        ),
        ("battery_current", -73.0, ["battery_power = battery_voltage x battery_current"]),
        ("pv1_power", 3340 + 110, ["pv1_power = pv1_voltage x pv1_current"]),
        ("pv1_voltage", 587.0, ["pv1_power = pv1_voltage x pv1_current", "change pv1_voltage"]),
    ],
)
def test_a_value_that_breaks_the_arithmetic_fails(
    profile: Profile, key: str, value: float, failed: list[str]
) -> None:
    assert _names(_steady(profile), {**BALANCED, key: value}) == failed


def test_apparent_power_is_the_vector_sum_and_no_voltage_means_no_current(
    profile: Profile,
) -> None:
    checks = _checks(profile)
    power = {"inverter_power": 3000, "reactive_power": 400}
    tower = {"battery2_voltage": 0.0, "battery2_power": 0}  # no second tower
    checks.accept({**power, **tower}, 0)  # seen before: what moves slowly has not moved
    assert _names(checks, {**power, "apparent_power": 3030}) == []
    assert _names(checks, {**power, "apparent_power": 3330}) == [
        "apparent_power = |inverter_power, reactive_power|"
    ]
    assert _names(checks, {**tower, "battery2_current": 0.0}) == []
    (failure,) = checks.failures({**tower, "battery2_current": -2.04}, 0)
    assert failure.detail == "-2.04 and 0 without voltage"


def test_tolerances_come_from_the_resolution(profile: Profile) -> None:
    checks = _checks(profile)
    # Three values rounded to 10 W each may miss by 30 W (and 1 % of the largest).
    assert _names(checks, {"house_power": 630, "inverter_power": 1500, "grid_power": -900}) == []
    assert _names(checks, {"house_power": 660, "inverter_power": 1500, "grid_power": -900}) != []
    # A missing value leaves its checks unmade.
    assert _names(checks, {"house_power": 9999, "inverter_power": 1500, "grid_power": None}) == []


def test_slow_values_move_no_faster_than_the_plant(profile: Profile) -> None:
    checks = _checks(profile)
    assert checks.failures({"battery_soc": 54}, 0)[0].detail == FIRST_SIGHT
    checks.accept({"battery_soc": 54}, 0)
    assert _names(checks, {"battery_soc": 55}, 5) == []  # one count: the resolution
    assert _names(checks, {"battery_soc": 93}, 5) == ["change battery_soc"]  # 54 -> 93 %
    assert _names(checks, {"battery_soc": 93}, 5 + 3600) == []  # an hour later: possible
    checks.accept({"battery_soc": 55}, 5)
    assert checks.failures({"battery_soc": 57}, 10)[0].detail == "off by 2, 1.16667 allowed"


def test_a_new_alarm_or_another_state_is_to_be_confirmed(profile: Profile) -> None:
    checks = _checks(profile)
    assert _names(checks, {"fault": ()}) == []
    assert _names(checks, {"fault": (2,)}) == ["confirm fault"]  # set at first sight
    assert _names(checks, {"running_state": "grid_connected"}) == ["confirm running_state"]
    checks.accept({"fault": (2,), "running_state": "grid_connected"}, 0)
    assert _names(checks, {"fault": (2,), "running_state": "grid_connected"}) == []
    assert _names(checks, {"fault": ()}) == []  # an alarm that ends is no false alarm
    assert _names(checks, {"fault": (2, 7)}) == ["confirm fault"]
    assert _names(checks, {"running_state": "permanent_fault"}) == ["confirm running_state"]


def test_counters_and_values_that_turn_implausible(profile: Profile) -> None:
    checks = _checks(profile)
    assert _names(checks, {"pv_energy_total": 100.0}) == ["counter pv_energy_total"]
    checks.accept({"pv_energy_total": 100.0, "grid_frequency": 50.0}, 0)
    assert _names(checks, {"pv_energy_total": 100.0, "grid_frequency": 50.01}, 10) == []
    # A counter that moves at all is read twice: a count too many let through once would
    # hold every true value below it. Beyond that, the counter rules say what is wrong.
    details = [
        checks.failures({"pv_energy_total": total}, 10)[0].detail for total in (100.1, 125.6, 99.9)
    ]
    assert details == [
        "moved from 100.0 to 100.1",
        "jumped from 100.0 to 125.6",
        "went back from 100.0 to 99.9",
    ]
    # A value shown last time that decodes to nothing now (a sentinel, out of range).
    assert _names(checks, {"grid_frequency": None}, 10) == ["valid grid_frequency"]
    checks.accept({"grid_frequency": None}, 10)
    assert _names(checks, {"grid_frequency": None}, 20) == []  # gone for good: no re-read


def test_two_readings_agree_within_two_steps_and_half_a_step_check(profile: Profile) -> None:
    checks = _checks(profile)
    (failure,) = checks.failures({"grid_voltage_l1": 230.0}, 0)
    assert checks.agree({"grid_voltage_l1": 230.0}, {"grid_voltage_l1": 231.7}, failure)
    assert not checks.agree({"grid_voltage_l1": 230.0}, {"grid_voltage_l1": 231.8}, failure)
    (failure,) = checks.failures({"fault": (3,)}, 0)
    assert checks.agree({"fault": (3,)}, {"fault": (3,)}, failure)
    assert not checks.agree({"fault": (3,)}, {"fault": ()}, failure)


async def test_a_value_read_once_and_failing_is_not_published_and_the_log_says_why(
    link: Link,
    stick: EthStick,
    profile: Profile,
    caplog: pytest.LogCaptureFixture,
) -> None:
    device = ModbusDevice(link, 1, profile, clock=Clock(0.0))
    keys = ["battery_soc", "battery_power", "grid_frequency"]
    assert (await device.read(keys)).values["battery_soc"] == 55
    stick.faults.corrupt = 1.0  # every answer has a byte changed, differently each time
    stick.random.seed(7)
    caplog.set_level(logging.DEBUG, "custom_components.zcs_azzurro.api.device")
    reading = await device.read(keys)
    # Each request read again once, in reverse order; this seed damages every answer.
    assert reading.requests == (Span(0x0484, 1), Span(0x0606, 3), Span(0x0606, 3), Span(0x0484, 1))
    # Neither answer is trusted, in any of its fields (the battery temperature, read on the
    # way and checked though not asked for, failed in the battery's).
    assert reading.values == {"battery_soc": None, "battery_power": None, "grid_frequency": None}
    logged = [r.getMessage() for r in caplog.records if "not published" in r.getMessage()]
    assert logged == [
        "Check change grid_frequency failed (off by 15.36, 0.16 allowed), and the device did"
        " not say the same twice: 0x0484=0x7585, then 0x0484=0x1985; not published",
        "Check valid battery_temperature failed (a value last time, none now), and the device"
        " did not say the same twice: 0x0607=0x0016, then 0x0607=0x9616; not published",
    ]
    stick.faults.corrupt = 0.0
    assert (await device.read(keys)).values["battery_soc"] == 55


async def test_a_surprising_value_the_device_says_twice_is_its_word(
    link: Link, stick: EthStick, inverter: Hyd3ph, profile: Profile
) -> None:
    device = ModbusDevice(link, 1, profile, clock=Clock(0.0))
    keys = ["battery_soc", "battery_power", "battery_current", "battery_voltage"]
    first = await device.read(keys)
    inverter.pin(0x0608, [93])  # 54 -> 93 %, as a damaged answer showed
    reading = await device.read(keys)
    assert reading.values["battery_soc"] == 93  # said twice: the device's word
    inverter.unpin(0x0608, 1)
    inverter.pin(0x0605, [s16(7300)])  # now the current alone, steadily: V x I is off
    reading = await device.read(keys)
    assert reading.values["battery_current"] is not None  # the device said so twice
    assert reading.requests == (Span(0x0604, 5), Span(0x0604, 5))
    inverter.unpin(0x0605, 1)
    assert (await device.read(keys)).values == first.values


async def test_a_new_fault_bit_is_published_once_read_twice(
    link: Link, stick: EthStick, inverter: Hyd3ph, profile: Profile
) -> None:
    device = ModbusDevice(link, 1, profile)
    assert (await device.read(["fault"])).values["fault"] == ()
    inverter.pin(0x0405, [0b10])
    reading = await device.read(["fault"])
    assert reading.values["fault"] == (2,)
    assert len(reading.requests) == 2


def test_checks_load_from_the_profile(tmp_path: Path) -> None:
    text = GOOD + (
        "checks:\n"
        "  - {kind: sum, total: twice, of: [power, power], relative: 0.1}\n"
        "  - {kind: change, fields: [power, energy], step: 5, per_hour: 60}\n"
        "  - {kind: confirm, fields: [alarms, mode]}\n"
    )
    path = tmp_path / "device.yaml"
    path.write_text(text, encoding="utf-8")
    checks = load_profile(path).checks
    assert checks == (
        Check(CheckKind.SUM, ("twice", "power", "power"), relative=0.1),
        Check(CheckKind.CHANGE, ("power",), step=5, per_hour=60),
        Check(CheckKind.CHANGE, ("energy",), step=5, per_hour=60),
        Check(CheckKind.CONFIRM, ("alarms",)),
        Check(CheckKind.CONFIRM, ("mode",)),
    )
    assert [str(check) for check in checks[:2]] == ["twice = power + power", "change power"]
    assert str(Check(CheckKind.PRODUCT, ("p", "v", "i"))) == "p = v x i"
    assert str(Check(CheckKind.VECTOR, ("s", "p", "q"))) == "s = |p, q|"


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ("{kind: sum, total: power, of: [nothing]}", "checks[0].of: nothing is not a field"),
        ("{kind: change, fields: [alarms]}", "checks[0].fields: alarms is not a numeric field"),
        ("{kind: change, fields: [mode]}", "checks[0].fields: mode is not a numeric field"),
        ("{kind: product, power: power, voltage: power}", "checks[0].current: is required"),
        ("{kind: sum, total: power, of: [power], relative: 2}", "relative: must be a number 0..1"),
        ("{kind: change, fields: [power], step: -1}", "step: must be a number 0 or more"),
        ("{kind: change, fields: [], step: 1}", "fields: must be a list of field keys"),
        ("{kind: confirm, fields: [mode], step: 1}", "checks[0].step: is not a known key"),
        ("{kind: guess, fields: [mode]}", "checks[0].kind: must be sum or product or vector"),
    ],
)
def test_a_bad_check_names_its_line_and_key(tmp_path: Path, check: str, message: str) -> None:
    path = tmp_path / "device.yaml"
    path.write_text(GOOD + f"checks:\n  - {check}\n", encoding="utf-8")
    with pytest.raises(ProfileError) as error:
        load_profile(path)
    assert message in str(error.value)
    assert str(error.value).startswith("device.yaml:55: checks[0].")


def test_checks_made_by_hand_of_values_that_are_no_numbers_are_not_made(profile: Profile) -> None:
    # Another source may build its checks itself; a state is not a number.
    checks = Checks(profile.fields, [Check(CheckKind.CHANGE, ("running_state",))])
    assert checks.failures({"running_state": "waiting"}, 0) == []
    assert checks.resolution("pv_power") == 20  # a sum moves in its parts' steps


async def test_a_refused_second_read_leaves_its_fields_unavailable(
    link: Link, inverter: Hyd3ph, profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = ModbusDevice(link, 1, profile, clock=Clock(0.0))
    keys = ["battery_soc", "grid_frequency"]
    await device.read(keys)
    inverter.pin(0x0608, [93])  # surprising: read again, and the second read is refused
    refresh = inverter.refresh
    answers = iter([False, False, True])  # the third request this poll: the second read

    def refusing_the_second() -> None:
        if next(answers, False):
            inverter.gaps.append((0x0608, 0x0608))
        refresh()

    monkeypatch.setattr(inverter, "refresh", refusing_the_second)
    reading = await device.read(keys)
    assert reading.requests == (Span(0x0484, 1), Span(0x0608, 1), Span(0x0608, 1))
    assert reading.values["battery_soc"] is None
    assert reading.values["grid_frequency"] is not None
    assert reading.refused == ()  # a refused second read teaches nothing
    assert 0x0608 not in reading.registers
