"""Identifying a device and reading it through its profile, against the simulator."""

from __future__ import annotations

import asyncio

import pytest

from custom_components.zcs_azzurro.api.device import (
    FIRST_RETRY_POLLS,
    LEARN_REFUSAL_AFTER,
    RETRY_REFUSED_AFTER,
    ModbusDevice,
    identify,
)
from custom_components.zcs_azzurro.api.errors import NotZcsDeviceError, UnsupportedModelError
from custom_components.zcs_azzurro.api.profile.schema import Profile, Span
from custom_components.zcs_azzurro.api.transport.base import Link
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick
from simulator.registers import ModbusExceptionError, ascii_registers
from tests.conftest import Clock


async def test_a_3ph_hyd_zss_is_identified(link: Link, profile: Profile) -> None:
    found, serial = await identify(link, 1, [profile])
    assert (found, serial) == (profile, "ZP1ES010M2H00017")


async def test_another_zcs_model_is_unsupported(
    link: Link, inverter: Hyd3ph, profile: Profile
) -> None:
    inverter.pin(0x0445, ascii_registers("ZX9ES030M2H00017", 8))
    with pytest.raises(UnsupportedModelError) as error:
        await identify(link, 1, [profile])
    assert error.value.serial == "ZX9ES030M2H00017"


@pytest.mark.parametrize(
    "serial_registers",
    [ascii_registers("SP1ES120N6000001", 8), [0] * 8, [0xFFFF] * 8],
)
async def test_no_zcs_serial_is_not_a_zcs_device(
    link: Link, inverter: Hyd3ph, profile: Profile, serial_registers: list[int]
) -> None:
    inverter.pin(0x0445, serial_registers)
    with pytest.raises(NotZcsDeviceError):
        await identify(link, 1, [profile])


async def test_a_device_without_that_register_is_not_a_zcs_device(
    link: Link, stick: EthStick, profile: Profile
) -> None:
    stick.faults.exception = 0x02
    with pytest.raises(NotZcsDeviceError):
        await identify(link, 1, [profile])


async def test_a_refused_block_leaves_only_its_fields_without_value(
    link: Link, inverter: Hyd3ph, stick: EthStick, profile: Profile
) -> None:
    inverter.gaps.append((0x0584, 0x0589))  # firmware that refuses the PV registers
    device = ModbusDevice(link, 1, profile)
    keys = ["pv1_power", "pv_power", "battery_soc"]
    reading = await device.read(keys)
    assert reading.refused == (Span(0x0586, 1), Span(0x0589, 1))
    assert reading.values["pv1_power"] is None
    assert reading.values["pv_power"] is None
    assert reading.values["battery_soc"] == 55
    # Every request, then each of the PV request's two runs alone, to find which it refuses;
    # then the state of charge again, seen for the first time (see test_checks.py).
    assert reading.requests == (
        Span(0x0586, 4),
        Span(0x0608, 1),
        Span(0x0586, 1),
        Span(0x0589, 1),
        Span(0x0608, 1),
    )
    assert 0x0608 in reading.registers
    assert 0x0586 not in reading.registers
    for _ in range(LEARN_REFUSAL_AFTER - 1):
        assert (await device.read(keys)).requests == reading.requests[:-1]

    before = stick.requests
    again = await device.read(keys)
    # Refused poll after poll while the rest answers: planned around, and still reported.
    assert again.requests == (Span(0x0608, 1),)
    assert stick.requests - before == 1
    assert again.refused == reading.refused
    assert again.values == reading.values


async def test_a_refused_address_between_fields_is_found_and_read_around(
    link: Link, inverter: Hyd3ph, stick: EthStick, profile: Profile
) -> None:
    keys = ["grid_frequency", "grid_voltage_l1", "grid_voltage_l2", "house_power", "battery_soc"]
    served = await ModbusDevice(link, 1, profile).read(keys)
    assert served.requests[:2] == (Span(0x0484, 44), Span(0x0608, 1))
    # Firmware that refuses a reserved address which the request spans but no field holds.
    inverter.gaps.append((0x0496, 0x0497))
    device = ModbusDevice(link, 1, profile)
    for _ in range(LEARN_REFUSAL_AFTER):
        reading = await device.read(keys)
        assert reading.values == served.values
        assert reading.refused == ()
        # The whole request, then its halves: both read, so the space between is refused.
        assert reading.requests[:4] == (
            Span(0x0484, 44),
            Span(0x0608, 1),
            Span(0x0484, 10),
            Span(0x0498, 24),
        )

    before = stick.requests
    again = await device.read(keys)
    assert again.requests == (Span(0x0484, 10), Span(0x0498, 24), Span(0x0608, 1))
    assert stick.requests - before == 3
    assert again.values == served.values


async def _read_soc(device: ModbusDevice) -> bool:
    """Read the state of charge (and the frequency, which always answers); whether it was asked."""
    reading = await device.read(["battery_soc", "grid_frequency"])
    return Span(0x0608, 1) in reading.requests


async def test_a_refusal_is_asked_for_again_sooner_the_fewer_times_it_was_learnt(
    link: Link, inverter: Hyd3ph, profile: Profile
) -> None:
    clock = Clock(0.0)
    device = ModbusDevice(link, 1, profile, clock=clock)
    inverter.gaps.append((0x0608, 0x0608))  # refused while, say, the firmware upgrades
    asked = [await _read_soc(device) for _ in range(LEARN_REFUSAL_AFTER)]
    # Learnt; left out for a few polls, then asked again: still refused, so learnt again at
    # once, and left out twice as long.
    asked += [await _read_soc(device) for _ in range(3 * FIRST_RETRY_POLLS)]
    assert asked == [True] * LEARN_REFUSAL_AFTER + (
        [False] * (FIRST_RETRY_POLLS - 1) + [True] + [False] * (2 * FIRST_RETRY_POLLS - 1) + [True]
    )
    # However many polls the backoff asks for, an hour is the longest a lesson stands.
    inverter.gaps.clear()
    assert not await _read_soc(device)
    clock.now = RETRY_REFUSED_AFTER - 1
    assert not await _read_soc(device)
    clock.now = RETRY_REFUSED_AFTER
    reading = await device.read(["battery_soc"])
    assert (reading.values["battery_soc"], reading.refused) == (55, ())
    # Read again: the lesson is forgotten, backoff and all.
    inverter.gaps.append((0x0608, 0x0608))
    asked = [await _read_soc(device) for _ in range(LEARN_REFUSAL_AFTER + FIRST_RETRY_POLLS)]
    assert asked == [True] * LEARN_REFUSAL_AFTER + [False] * (FIRST_RETRY_POLLS - 1) + [True]


async def test_a_refusal_of_fewer_polls_than_it_takes_to_learn_is_forgotten(
    link: Link, inverter: Hyd3ph, profile: Profile
) -> None:
    device = ModbusDevice(link, 1, profile)
    for _ in range(3):
        inverter.gaps.append((0x0608, 0x0608))
        assert all([await _read_soc(device) for _ in range(LEARN_REFUSAL_AFTER - 1)])
        inverter.gaps.clear()
        assert await _read_soc(device)  # served again: the count starts over


# Busy (0x06) never reaches the device this way: the shared connection retries a busy answer
# itself, with a growing wait, for up to a minute (see the test after this one). Device
# failure (0x04) stands in for it: it takes the same path, any code but an illegal address.
@pytest.mark.parametrize("code", [0x02, 0x04, 0x0A, 0x0B])
async def test_a_burst_of_exceptions_across_the_board_teaches_nothing(
    link: Link, stick: EthStick, profile: Profile, code: int
) -> None:
    clock = Clock(0.0)
    device = ModbusDevice(link, 1, profile, clock=clock)
    keys = profile.defaults()  # a unit with one battery tower
    plan = device.plan(keys)
    stick.faults.exception = code  # illegal address, failure, or a gateway's codes, for 40 s
    while clock.now < 40:
        before = stick.requests
        reading = await device.read(keys)
        # Nothing answered: no request is split to find what the device refuses.
        assert stick.requests - before == len(plan.batches)
        assert all(value is None for value in reading.values.values())
        clock.now += 5
    stick.faults.exception = None
    reading = await device.read(keys)
    assert reading.refused == ()
    # Every request, each read twice (again in reverse order): no value had been seen before.
    assert reading.requests == plan.requests + plan.requests[::-1]
    assert None not in reading.values.values()


async def test_a_short_busy_spell_is_waited_out_by_the_connection(
    link: Link, stick: EthStick, profile: Profile
) -> None:
    device = ModbusDevice(link, 1, profile)
    stick.faults.exception = 0x06
    asyncio.get_running_loop().call_later(0.3, setattr, stick.faults, "exception", None)
    reading = await device.read(["battery_soc"])
    assert stick.requests > 1  # the busy answer, then the retry the connection made itself
    assert reading.refused == ()
    assert reading.values["battery_soc"] == 55


async def test_a_device_failure_is_not_taken_for_missing_registers(
    link: Link, stick: EthStick, profile: Profile
) -> None:
    device = ModbusDevice(link, 1, profile)
    stick.faults.exception = 0x04  # server device failure: says nothing of the addresses
    reading = await device.read(["battery_soc", "pv_power"])
    assert reading.refused == reading.requests == (Span(0x0586, 4), Span(0x0608, 1))
    stick.faults.exception = None
    reading = await device.read(["battery_soc", "pv_power"])
    assert reading.refused == ()
    assert reading.values["battery_soc"] == 55


# Not busy (0x06), which the shared connection retries for up to a minute per request; the
# codes it passes on at once take the same path in the device.
@pytest.mark.parametrize("code", [0x04, 0x0B])
async def test_a_block_failing_poll_after_poll_while_the_rest_answers_teaches_nothing(
    link: Link, inverter: Hyd3ph, profile: Profile, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    read = inverter.read

    def failing_battery(address: int, count: int) -> list[int]:
        if address == 0x0608:
            raise ModbusExceptionError(code)  # says nothing of the map
        return read(address, count)

    monkeypatch.setattr(inverter, "read", failing_battery)
    device = ModbusDevice(link, 1, profile)
    for _ in range(2 * LEARN_REFUSAL_AFTER):
        assert await _read_soc(device)
    monkeypatch.undo()
    assert (await device.read(["battery_soc"])).values["battery_soc"] == 55
