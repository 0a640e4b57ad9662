"""Identifying a device and reading it through its profile, against the simulator."""

from __future__ import annotations

import pytest

from custom_components.zcs_azzurro.api.device import ModbusDevice, identify
from custom_components.zcs_azzurro.api.errors import NotZcsDeviceError, UnsupportedModelError
from custom_components.zcs_azzurro.api.profile.schema import Profile, Span
from custom_components.zcs_azzurro.api.transport.stream import RtuOverTcpLink
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick
from simulator.registers import ascii_registers


async def test_a_3ph_hyd_zss_is_identified(link: RtuOverTcpLink, profile: Profile) -> None:
    found, serial = await identify(link, 1, [profile])
    assert (found, serial) == (profile, "ZP1ES010M2H00017")


async def test_another_zcs_model_is_unsupported(
    link: RtuOverTcpLink, inverter: Hyd3ph, profile: Profile
) -> None:
    inverter.pin(0x0445, ascii_registers("ZM2ES060M2H00017", 8))
    with pytest.raises(UnsupportedModelError) as error:
        await identify(link, 1, [profile])
    assert error.value.serial == "ZM2ES060M2H00017"


@pytest.mark.parametrize(
    "serial_registers",
    [ascii_registers("SP1ES120N6000001", 8), [0] * 8, [0xFFFF] * 8],
)
async def test_no_zcs_serial_is_not_a_zcs_device(
    link: RtuOverTcpLink, inverter: Hyd3ph, profile: Profile, serial_registers: list[int]
) -> None:
    inverter.pin(0x0445, serial_registers)
    with pytest.raises(NotZcsDeviceError):
        await identify(link, 1, [profile])


async def test_a_device_without_that_register_is_not_a_zcs_device(
    link: RtuOverTcpLink, stick: EthStick, profile: Profile
) -> None:
    stick.faults.exception = 0x02
    with pytest.raises(NotZcsDeviceError):
        await identify(link, 1, [profile])


async def test_a_refused_block_leaves_only_its_fields_without_value(
    link: RtuOverTcpLink, inverter: Hyd3ph, profile: Profile
) -> None:
    inverter.gaps.append((0x0584, 0x0589))  # firmware that refuses the PV block
    device = ModbusDevice(link, 1, profile)
    reading = await device.read(["pv1_power", "pv_power", "battery_soc"])
    assert reading.refused == (Span(0x0586, 4),)
    assert reading.values["pv1_power"] is None
    assert reading.values["pv_power"] is None
    assert reading.values["battery_soc"] == 55
    assert reading.requests == (Span(0x0586, 4), Span(0x0608, 1))
    assert 0x0608 in reading.registers
    assert 0x0586 not in reading.registers
