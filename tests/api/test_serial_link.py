"""The Modbus link on a serial line (RS485 on a real pseudo-terminal), against the bus."""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncGenerator

import pytest

from custom_components.zcs_azzurro.api.errors import ConnectError, DeviceError, NoResponseError
from custom_components.zcs_azzurro.api.transport.base import Link
from custom_components.zcs_azzurro.api.transport.unit import Endpoint, LinkKind
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.rs485 import Rs485Bus
from tests.conftest import TEST_TIMEOUT, link_at


@pytest.fixture
async def bus(inverter: Hyd3ph) -> AsyncGenerator[Rs485Bus]:
    """The inverter at unit 1 on a bus."""
    line = Rs485Bus({1: inverter})
    line.open()
    yield line
    line.close()


@pytest.fixture
async def serial(bus: Rs485Bus) -> AsyncGenerator[Link]:
    """A link to unit 1 through the bus's serial port."""
    made = link_at(Endpoint(LinkKind.RTU_SERIAL, bus.path))
    yield made
    await made.close()


async def test_a_late_answer_on_the_line_is_never_the_next_ones(
    serial: Link, bus: Rs485Bus, inverter: Hyd3ph
) -> None:
    """scripts/soak on RS485 published a late answer of the right size as the next one's."""
    inverter.pin(0x0404, [1111])
    inverter.pin(0x0418, [2222])
    bus.faults.delay = 2 * TEST_TIMEOUT
    with pytest.raises(NoResponseError):
        await serial.read_holding_registers(1, 0x0404, 1)
    bus.faults.delay = 0
    # Asked at once: the request waits the late answer out, on the same port.
    assert await serial.read_holding_registers(1, 0x0418, 1) == [2222]
    assert await serial.read_holding_registers(1, 0x0404, 1) == [1111]
    assert serial.stats.connects == 1


async def test_sofars_refusal_on_the_line_is_a_refusal(
    serial: Link, bus: Rs485Bus, inverter: Hyd3ph
) -> None:
    """`01 90 02 cd c1` (MichaluxPL/Sofar_LSW3#59), as the inverter writes it on RS485."""
    bus.faults.sofar_refusal = True
    inverter.gaps.append((0x0496, 0x0497))
    with pytest.raises(DeviceError) as refused:
        await serial.read_holding_registers(1, 0x0496, 2)
    assert (refused.value.function_code, refused.value.exception_code) == (0x03, 0x02)
    assert await serial.read_holding_registers(1, 0x0404, 1) == inverter.read(0x0404, 1)


async def _lock(port: int) -> None:
    """The port's lock, once the library's close of it let it go."""
    while True:
        try:
            fcntl.flock(port, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            await asyncio.sleep(0.001)
        else:
            return


@pytest.mark.parametrize("released", [True, False])
async def test_a_port_closed_after_a_refusal_is_opened_once_released(
    serial: Link, bus: Rs485Bus, inverter: Hyd3ph, released: bool
) -> None:
    """The library closes the port on `01 90 ...`; its close takes a thread, the next open waits.

    scripts/soak --quirks on RS485 failed polls: the port still locked by its own close.
    Here the test holds the lock as a slow close does, and lets go (or not) within the timeout.
    """
    bus.faults.sofar_refusal = True
    inverter.gaps.append((0x0496, 0x0497))
    assert await serial.read_holding_registers(1, 0x0404, 1) == inverter.read(0x0404, 1)
    with pytest.raises(DeviceError):
        await serial.read_holding_registers(1, 0x0496, 2)
    holder = os.open(bus.path, os.O_RDWR | os.O_NOCTTY)
    try:
        await _lock(holder)
        if released:
            asyncio.get_running_loop().call_later(
                TEST_TIMEOUT / 4, fcntl.flock, holder, fcntl.LOCK_UN
            )
            assert await serial.read_holding_registers(1, 0x0404, 1) == inverter.read(0x0404, 1)
        else:
            with pytest.raises(ConnectError):  # another program's: said, after the timeout
                await serial.read_holding_registers(1, 0x0404, 1)
    finally:
        os.close(holder)
