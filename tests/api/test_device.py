"""Identifying a device and reading it through its profile, against the simulator."""

from __future__ import annotations

import pytest

from custom_components.zcs_azzurro.api.device import RETRY_REFUSED_AFTER, ModbusDevice, identify
from custom_components.zcs_azzurro.api.errors import NotZcsDeviceError, UnsupportedModelError
from custom_components.zcs_azzurro.api.profile.schema import Profile, Span
from custom_components.zcs_azzurro.api.transport.base import Link
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick
from simulator.registers import ascii_registers
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
    reading = await device.read(["pv1_power", "pv_power", "battery_soc"])
    assert reading.refused == (Span(0x0586, 1), Span(0x0589, 1))
    assert reading.values["pv1_power"] is None
    assert reading.values["pv_power"] is None
    assert reading.values["battery_soc"] == 55
    # The PV request, then each of its two runs alone to find which the device refuses.
    assert reading.requests == (Span(0x0586, 4), Span(0x0586, 1), Span(0x0589, 1), Span(0x0608, 1))
    assert 0x0608 in reading.registers
    assert 0x0586 not in reading.registers

    before = stick.requests
    again = await device.read(["pv1_power", "pv_power", "battery_soc"])
    # Known now: the refused runs are not asked for, and still reported.
    assert again.requests == (Span(0x0608, 1),)
    assert stick.requests - before == 1
    assert again.refused == reading.refused
    assert again.values == reading.values


async def test_a_refused_address_between_fields_is_found_and_read_around(
    link: Link, inverter: Hyd3ph, stick: EthStick, profile: Profile
) -> None:
    keys = ["grid_frequency", "grid_voltage_l1", "grid_voltage_l2", "house_power"]
    served = await ModbusDevice(link, 1, profile).read(keys)
    assert served.requests == (Span(0x0484, 44),)
    # Firmware that refuses a reserved address which the request spans but no field holds.
    inverter.gaps.append((0x0496, 0x0497))
    device = ModbusDevice(link, 1, profile)
    reading = await device.read(keys)
    assert reading.values == served.values
    assert reading.refused == ()
    # The whole request, then its halves: both read, so the space between them is refused.
    assert reading.requests == (Span(0x0484, 44), Span(0x0484, 10), Span(0x0498, 24))

    before = stick.requests
    again = await device.read(keys)
    assert again.requests == (Span(0x0484, 10), Span(0x0498, 24))
    assert stick.requests - before == 2
    assert again.values == served.values


async def test_refused_registers_are_asked_for_again_later(
    link: Link, inverter: Hyd3ph, profile: Profile
) -> None:
    clock = Clock(0.0)
    device = ModbusDevice(link, 1, profile, clock=clock)
    inverter.gaps.append((0x0608, 0x0608))  # refused while, say, the firmware upgrades
    assert (await device.read(["battery_soc"])).values["battery_soc"] is None
    inverter.gaps.clear()
    clock.now = RETRY_REFUSED_AFTER - 1
    assert (await device.read(["battery_soc"])).requests == ()
    clock.now = RETRY_REFUSED_AFTER
    reading = await device.read(["battery_soc"])
    assert (reading.values["battery_soc"], reading.refused) == (55, ())


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
