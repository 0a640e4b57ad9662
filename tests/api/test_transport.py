"""The Modbus link (our adapter over a modbus_connection unit) against the simulated stick.

Every test runs for both framings the stick may speak: RTU over TCP and Modbus TCP.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncGenerator

import pytest
from modbus_connection import ModbusTimeoutError, ServerDeviceBusyError
from modbus_connection.tmodbus import ModbusConnection
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.framer import FramerType

from custom_components.zcs_azzurro.api.errors import (
    BusyError,
    ConnectError,
    ConnectionLostError,
    DeviceError,
    FrameError,
    InvalidHostError,
    NoResponseError,
    UnconfirmedError,
)
from custom_components.zcs_azzurro.api.transport.base import Link
from custom_components.zcs_azzurro.api.transport.unit import Endpoint, LinkKind, UnitLink
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick, Framing
from tests.conftest import LINK_KINDS, TEST_TIMEOUT, closed_port, link_at, link_to


@pytest.fixture(params=list(Framing))
def framing(request: pytest.FixtureRequest) -> Framing:
    """Both framings."""
    framing: Framing = request.param
    return framing


async def test_reads_the_registers_the_device_holds(link: Link, inverter: Hyd3ph) -> None:
    inverter.pin(0x0488, [0x1234, 0xFFFF, 0x0000])
    assert await link.read_holding_registers(1, 0x0488, 3) == [0x1234, 0xFFFF, 0x0000]
    assert link.stats.requests == 1
    assert link.stats.connects == 1


async def test_a_modbus_exception_is_a_device_error_and_keeps_the_connection(
    link: Link,
) -> None:
    with pytest.raises(DeviceError) as refused:
        await link.read_holding_registers(1, 0x0400, 10)  # not in any block
    assert refused.value.exception_code == 0x02
    assert refused.value.function_code == 0x03
    await link.read_holding_registers(1, 0x0404, 1)
    assert link.stats.connects == 1
    assert link.stats.failures == 0


@pytest.mark.parametrize("fault", ["silent", "asleep"])
async def test_no_answer_is_no_response_and_the_next_request_heals(
    link: Link, stick: EthStick, inverter: Hyd3ph, fault: str
) -> None:
    await link.read_holding_registers(1, 0x0404, 1)
    if fault == "silent":
        stick.faults.silent = True
    else:
        inverter.asleep = True
    with pytest.raises(NoResponseError):
        await link.read_holding_registers(1, 0x0404, 1)
    stick.faults.silent = inverter.asleep = False
    inverter.pin(0x0404, [7])
    assert await link.read_holding_registers(1, 0x0404, 1) == [7]
    # On the same connection: its reader tells a late answer from the next one's.
    assert link.stats.connects == 1
    assert link.stats.failures == 1
    assert link.stats.last_error is not None
    assert link.stats.last_error.startswith("NoResponseError")


async def test_a_late_answer_is_never_taken_for_the_next_request(
    link: Link, stick: EthStick, inverter: Hyd3ph
) -> None:
    inverter.pin(0x0404, [1111])
    inverter.pin(0x0418, [2222])
    stick.faults.delay = TEST_TIMEOUT * 2
    with pytest.raises(NoResponseError):
        await link.read_holding_registers(1, 0x0404, 1)
    stick.faults.delay = 0
    # Were the link to keep its socket, the late 1111 would arrive here first.
    assert await link.read_holding_registers(1, 0x0418, 1) == [2222]


async def test_a_slow_answer_within_the_timeout_is_fine(link: Link, stick: EthStick) -> None:
    stick.faults.delay = TEST_TIMEOUT / 4
    assert len(await link.read_holding_registers(1, 0x0404, 2)) == 2


# Bytes that answer no pending request, which tmodbus throws away while it waits out the
# timeout: they surface as no answer, not as a frame error (docs/development.md, notes for
# upstream).
DISCARDED = {
    (Framing.RTU, "garbage"),  # and tmodbus logs a warning: "Discarding 28 byte(s) ..."
    (Framing.RTU, "wrong_unit"),
    (Framing.TCP, "garbage"),
    (Framing.TCP, "bad_crc"),  # a wrong transaction id; tmodbus logs a warning for it
}


def discarded_by_the_library(request: pytest.FixtureRequest, framing: Framing, fault: str) -> None:
    """Mark the cases the library answers with a timeout as failing, strictly."""
    if (framing, fault) in DISCARDED:
        request.applymarker(
            pytest.mark.xfail(raises=NoResponseError, strict=True, reason="tmodbus waits")
        )


@pytest.mark.parametrize("fault", ["bad_crc", "garbage", "wrong_unit", "short", "wrong_function"])
async def test_bytes_that_are_no_answer_are_a_frame_error(
    link: Link, stick: EthStick, fault: str, framing: Framing, request: pytest.FixtureRequest
) -> None:
    discarded_by_the_library(request, framing, fault)
    setattr(stick.faults, fault, True)
    with pytest.raises(FrameError):
        await link.read_holding_registers(1, 0x0404, 1)
    setattr(stick.faults, fault, False)
    assert len(await link.read_holding_registers(1, 0x0404, 1)) == 1


@pytest.mark.parametrize("fault", ["drop", "reset"])
async def test_a_stick_that_drops_or_resets_the_connection(
    link: Link, stick: EthStick, fault: str
) -> None:
    setattr(stick.faults, fault, True)
    with pytest.raises(ConnectionLostError):
        await link.read_holding_registers(1, 0x0404, 1)
    assert link.stats.failures == 1
    setattr(stick.faults, fault, False)
    assert len(await link.read_holding_registers(1, 0x0404, 1)) == 1


async def test_a_connection_closed_while_idle_is_reopened_once(link: Link, stick: EthStick) -> None:
    await link.read_holding_registers(1, 0x0404, 1)
    stick.drop_clients()  # the logger rebooted, or closed an idle client
    await asyncio.sleep(0.05)
    assert len(await link.read_holding_registers(1, 0x0404, 1)) == 1
    assert link.stats.connects == 2
    assert link.stats.failures == 0


async def test_a_reused_connection_fails_when_the_retry_fails_too(
    link: Link, stick: EthStick
) -> None:
    await link.read_holding_registers(1, 0x0404, 1)
    stick.faults.drop = True
    with pytest.raises(ConnectionLostError):
        await link.read_holding_registers(1, 0x0404, 1)
    assert stick.requests == 3  # the first read, then the request and its one retry


async def test_nothing_listening_is_a_connect_error(socket_enabled: None) -> None:
    link = link_at(Endpoint(LinkKind.RTU_OVER_TCP, "127.0.0.1", await closed_port()))
    with pytest.raises(ConnectError):
        await link.read_holding_registers(1, 0x0404, 1)
    assert link.stats.connects == 1
    assert link.stats.failures == 1


async def test_a_name_that_does_not_resolve_is_an_invalid_host(
    socket_enabled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No DNS here: the resolver's answer for an unknown name is what is imitated.
    def no_such_name(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    link = link_at(Endpoint(LinkKind.RTU_OVER_TCP, "inverter.invalid", 8899))
    with pytest.raises(InvalidHostError, match=r"inverter\.invalid"):
        await link.read_holding_registers(1, 0x0404, 1)


async def test_writes_land_where_the_device_allows_them(link: Link, inverter: Hyd3ph) -> None:
    await link.write_registers(1, 0x1105, [1, 500])
    assert inverter.read(0x1105, 2) == [1, 500]
    with pytest.raises(DeviceError) as refused:
        await link.write_registers(1, 0x0404, [1])
    assert refused.value.exception_code == 0x02
    assert refused.value.function_code == 0x10


@pytest.mark.parametrize("fault", ["short", "wrong_function", "bad_crc", "lse3_writes", "silent"])
async def test_a_write_answered_unreadably_leaves_its_outcome_unknown(
    link: Link, stick: EthStick, fault: str
) -> None:
    """Once the request went out, an answer that cannot be read is no failure: "unknown".

    The write may well have been applied (the LSE-3 stick applies it, then answers `10 00`);
    only an exception answer is a refusal, and only reading back tells the rest.
    """
    setattr(stick.faults, fault, True)
    with pytest.raises(UnconfirmedError) as unknown:
        await link.write_registers(1, 0x1105, [1, 500])
    assert unknown.value.function_code == 0x10
    assert isinstance(unknown.value.cause, FrameError | NoResponseError)
    assert link.stats.failures == 1


async def test_a_write_that_never_left_is_no_unknown(socket_enabled: None) -> None:
    link = link_at(Endpoint(LinkKind.RTU_OVER_TCP, "127.0.0.1", await closed_port()))
    try:
        with pytest.raises(ConnectError):
            await link.write_registers(1, 0x1105, [1, 500])
    finally:
        await link.close()


@pytest.mark.parametrize(
    ("framing", "other"), [(Framing.RTU, Framing.TCP), (Framing.TCP, Framing.RTU)]
)
async def test_a_stick_ignores_the_other_framing(stick: EthStick, other: Framing) -> None:
    # What setup sees when it guesses the framing wrong: silence, as from a sleeping inverter.
    link = link_to(stick, other)
    with pytest.raises(NoResponseError):
        await link.read_holding_registers(1, 0x0404, 1)
    await link.close()


async def test_pymodbus_own_client_reads_the_simulator(stick: EthStick, inverter: Hyd3ph) -> None:
    """The simulator's framing, checked by a client we did not write."""
    inverter.pin(0x0445, [0x5A50, 0x3145])
    framer = FramerType.RTU if stick.framing is Framing.RTU else FramerType.SOCKET
    client = AsyncModbusTcpClient("127.0.0.1", port=stick.port, framer=framer, timeout=1, retries=0)
    await client.connect()
    try:
        response = await client.read_holding_registers(0x0445, count=2, device_id=1)
        assert response.registers == [0x5A50, 0x3145]
        written = await client.write_registers(0x1104, [1, 3], device_id=1)
        assert not written.isError()
        # More than the firmware reads at once: a register count it does not take.
        refused = await client.read_holding_registers(0x0404, count=61, device_id=1)
        assert refused.isError()
        assert refused.exception_code == 0x03
    finally:
        client.close()
    assert inverter.read(0x1104, 2) == [1, 3]


@pytest.fixture
async def bounded(stick: EthStick) -> AsyncGenerator[UnitLink]:
    """A link with the deadline the integration gives its links: twice the timeout."""
    endpoint = Endpoint(LINK_KINDS[stick.framing], "127.0.0.1", stick.port)
    connection = ModbusConnection(endpoint.params())
    link = UnitLink(
        connection.for_unit(1),
        1,
        kind=endpoint.kind,
        timeout=TEST_TIMEOUT,
        close=connection.close,
        deadline=2 * TEST_TIMEOUT,
    )
    yield link
    await link.close()


async def test_a_busy_device_is_given_up_at_the_deadline(
    bounded: UnitLink, stick: EthStick, inverter: Hyd3ph
) -> None:
    stick.faults.exception = 0x06
    started = time.monotonic()
    with pytest.raises(BusyError) as busy:
        await bounded.read_holding_registers(1, 0x0404, 1)
    # Not the minute the connection would keep asking for.
    assert time.monotonic() - started < 2 * TEST_TIMEOUT + 0.2
    assert (busy.value.function_code, busy.value.exception_code) == (0x03, 0x06)
    assert bounded.stats.failures == 1
    stick.faults.exception = None
    inverter.pin(0x0404, [7])
    assert await bounded.read_holding_registers(1, 0x0404, 1) == [7]


@pytest.mark.parametrize("fault", ["silent", "slow"])
async def test_the_deadline_leaves_timeouts_and_slow_answers_alone(
    bounded: UnitLink, stick: EthStick, fault: str
) -> None:
    if fault == "silent":
        stick.faults.silent = True
        with pytest.raises(NoResponseError):
            await bounded.read_holding_registers(1, 0x0404, 1)
    else:
        stick.faults.delay = TEST_TIMEOUT * 0.8
        assert len(await bounded.read_holding_registers(1, 0x0404, 1)) == 1


# What the library does on its own, behind no adapter of ours: each test fails while the
# library behaves so, and starts passing (failing as a strict xfail) once it is fixed.


@pytest.mark.parametrize("framing", [Framing.RTU])
@pytest.mark.xfail(strict=True, reason="tmodbus takes a late RTU answer for the next one")
async def test_library_never_takes_a_late_answer_for_the_next(
    stick: EthStick, inverter: Hyd3ph
) -> None:
    inverter.pin(0x0404, [1111])
    inverter.pin(0x0418, [2222])
    connection = ModbusConnection(Endpoint(LinkKind.RTU_OVER_TCP, "127.0.0.1", stick.port).params())
    unit = connection.for_unit(1)
    unit.require_timeout(TEST_TIMEOUT)
    stick.faults.delay = TEST_TIMEOUT * 2
    with pytest.raises(ModbusTimeoutError):
        await unit.read_holding_registers(0x0404, 1)
    stick.faults.delay = 0
    try:
        assert await unit.read_holding_registers(0x0418, 1) == [2222]
    finally:
        await connection.close()


@pytest.mark.xfail(strict=True, reason="modbus-connection keeps timeouts per unit id")
async def test_library_keeps_the_timeout_each_holder_of_a_unit_asks_for(stick: EthStick) -> None:
    connection = ModbusConnection(
        Endpoint(LINK_KINDS[stick.framing], "127.0.0.1", stick.port).params()
    )
    patient, hasty = connection.for_unit(1), connection.for_unit(1)
    patient.require_timeout(TEST_TIMEOUT * 3)  # an entry, polling a slow stick
    hasty.require_timeout(TEST_TIMEOUT)  # a flow, probing the same unit
    stick.faults.delay = TEST_TIMEOUT * 2
    try:
        assert len(await patient.read_holding_registers(0x0404, 1)) == 1
    finally:
        await connection.close()


@pytest.mark.xfail(strict=True, reason="modbus-connection asks a busy device again for 60 s")
async def test_library_says_busy_within_the_timeout(stick: EthStick) -> None:
    connection = ModbusConnection(
        Endpoint(LINK_KINDS[stick.framing], "127.0.0.1", stick.port).params()
    )
    unit = connection.for_unit(1)
    unit.require_timeout(TEST_TIMEOUT)
    stick.faults.exception = 0x06
    try:
        async with asyncio.timeout(3 * TEST_TIMEOUT):
            with pytest.raises(ServerDeviceBusyError):
                await unit.read_holding_registers(0x0404, 1)
    finally:
        await connection.close()


async def test_single_writes_and_input_reads_reach_the_device_as_their_own_functions(
    link: Link,
) -> None:
    # The ETH stick passes on 0x06 (the inverter refuses half of a write group) and 0x04 (a
    # G3 inverter does not serve it: illegal function):
    # each answer names the function that was sent, so both went out as themselves.
    with pytest.raises(DeviceError) as single:
        await link.write_register(1, 0x1024, 10)
    assert (single.value.function_code, single.value.exception_code) == (0x06, 0x02)
    with pytest.raises(DeviceError) as inputs:
        await link.read_input_registers(1, 0x0404, 1)
    assert (inputs.value.function_code, inputs.value.exception_code) == (0x04, 0x01)
    assert link.stats.failures == 0


@pytest.mark.parametrize("pause", [0, 0.001, 0.005])
async def test_a_connection_closed_just_before_a_request_is_reopened(
    link: Link, stick: EthStick, pause: float
) -> None:
    """The close may reach the socket as the request is written (serialx: a bare OSError)."""
    for _ in range(20):
        await link.read_holding_registers(1, 0x0404, 1)
        stick.drop_clients()
        await asyncio.sleep(pause)
        assert len(await link.read_holding_registers(1, 0x0404, 1)) == 1
    assert link.stats.failures == 0
