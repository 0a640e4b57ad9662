"""The V5 link against the simulated WiFi stick over loopback: checks, skips, recovery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import AsyncGenerator

import pytest

from custom_components.zcs_azzurro.api.device import LEARN_REFUSAL_AFTER, ModbusDevice
from custom_components.zcs_azzurro.api.discovery import Logger, parse_answer, scan
from custom_components.zcs_azzurro.api.errors import (
    ConnectError,
    ConnectionLostError,
    DeviceError,
    FrameError,
    InvalidHostError,
    NoResponseError,
    UnconfirmedError,
    WrongLoggerError,
)
from custom_components.zcs_azzurro.api.profile.schema import Profile, Span
from custom_components.zcs_azzurro.api.transport.base import ALL_FUNCTIONS
from custom_components.zcs_azzurro.api.transport.v5 import V5Endpoint, V5Link, V5Registry
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick
from simulator.modbus import rtu_frame
from simulator.wifi import DEFAULT_LOGGER_SERIAL, WifiStick
from tests.conftest import TEST_TIMEOUT, closed_port, link_to

SERIAL = (0x0445, 8)


@pytest.fixture
def registry() -> V5Registry:
    """Where links share their logger's connection."""
    return V5Registry()


def v5_link(
    registry: V5Registry, port: int, serial: int = DEFAULT_LOGGER_SERIAL, host: str = "127.0.0.1"
) -> V5Link:
    """A link to unit 1 behind the logger."""
    return V5Link(registry, V5Endpoint(host, port, serial), 1, timeout=TEST_TIMEOUT)


@pytest.fixture
async def link(wifi: WifiStick, registry: V5Registry) -> AsyncGenerator[V5Link]:
    """A link to the stick's inverter."""
    made = v5_link(registry, wifi.port)
    yield made
    await made.close()


async def test_reads_and_writes_reach_the_inverter(link: V5Link, inverter: Hyd3ph) -> None:
    assert link.functions == ALL_FUNCTIONS
    assert await link.read_holding_registers(1, *SERIAL) == inverter.read(*SERIAL)
    await link.write_registers(1, 0x1105, [1, 500])
    assert inverter.read(0x1105, 2) == [1, 500]
    await link.write_register(1, 0x1110, 2)
    assert inverter.read(0x1110, 1) == [2]
    with pytest.raises(DeviceError) as refused:
        await link.write_registers(1, 0x0404, [1])
    assert (refused.value.function_code, refused.value.exception_code) == (0x10, 0x02)
    # The simulated inverter serves no input registers: it says so, and the link passes it.
    with pytest.raises(DeviceError) as no_input:
        await link.read_input_registers(1, 0x0404, 1)
    assert no_input.value.exception_code == 0x01
    assert link.stats.connects == 1
    assert link.stats.requests == 5
    with pytest.raises(ValueError, match="unit"):
        await link.read_holding_registers(2, *SERIAL)


async def test_heartbeats_between_and_before_answers_are_skipped(
    wifi: WifiStick, link: V5Link, inverter: Hyd3ph
) -> None:
    wifi.heartbeat_interval = 0.005
    wifi.logger.chatter = True  # a heartbeat in the same segment, in front of every answer
    for _ in range(3):
        assert await link.read_holding_registers(1, *SERIAL) == inverter.read(*SERIAL)
        await asyncio.sleep(0.02)
    assert link.stats.failures == 0
    assert link.stats.connects == 1


async def test_a_late_answer_is_never_taken_for_the_next_request(
    wifi: WifiStick, link: V5Link, inverter: Hyd3ph
) -> None:
    wifi.faults.delay = TEST_TIMEOUT * 1.5
    with pytest.raises(NoResponseError):
        await link.read_holding_registers(1, 0x0404, 1)
    wifi.faults.delay = 0
    await asyncio.sleep(TEST_TIMEOUT)  # the late answer (to 0x0404) arrives meanwhile
    assert await link.read_holding_registers(1, *SERIAL) == inverter.read(*SERIAL)
    # On the same connection: the sequence number told the two apart.
    assert link.stats.connects == 1


@pytest.mark.parametrize("late", [1.5, 2, 2.5])
async def test_the_request_after_a_late_one_gets_its_own_answer(
    wifi: WifiStick, link: V5Link, inverter: Hyd3ph, caplog: pytest.LogCaptureFixture, late: float
) -> None:
    """Asked at once, while the logger still works on the request that timed out (scripts/soak)."""
    caplog.set_level(logging.DEBUG, "custom_components.zcs_azzurro.api.transport.v5")
    wifi.faults.delay = TEST_TIMEOUT * late
    with pytest.raises(NoResponseError):
        await link.read_holding_registers(1, 0x0404, 1)
    wifi.faults.delay = 0
    assert await link.read_holding_registers(1, *SERIAL) == inverter.read(*SERIAL)
    assert link.stats.connects == 1
    assert any(r.getMessage().startswith("Skipping a late answer") for r in caplog.records)


async def test_a_frozen_stick_costs_each_request_twice_the_timeout_at_most(
    wifi: WifiStick, link: V5Link
) -> None:
    """Waiting for answers still owed is bounded: those that never come are not owed again."""
    wifi.faults.silent = True
    for _ in range(4):
        started = time.monotonic()
        with pytest.raises(NoResponseError):
            await link.read_holding_registers(1, 0x0404, 1)
        assert time.monotonic() - started < 2 * TEST_TIMEOUT + 0.15


async def test_the_loggers_word_for_a_silent_inverter_is_no_response(
    wifi: WifiStick, link: V5Link, inverter: Hyd3ph
) -> None:
    inverter.asleep = True
    with pytest.raises(NoResponseError, match="inverter does not answer"):
        await link.read_holding_registers(1, *SERIAL)
    inverter.asleep = False
    assert await link.read_holding_registers(1, *SERIAL) == inverter.read(*SERIAL)
    assert link.stats.connects == 1


async def test_a_frozen_stick_is_no_response(wifi: WifiStick, link: V5Link) -> None:
    wifi.faults.silent = True
    with pytest.raises(NoResponseError, match="no answer"):
        await link.read_holding_registers(1, *SERIAL)


async def test_the_wrong_logger_serial_is_named(wifi: WifiStick, registry: V5Registry) -> None:
    link = v5_link(registry, wifi.port, serial=1234567890)
    with pytest.raises(WrongLoggerError) as wrong:
        await link.read_holding_registers(1, *SERIAL)
    assert (wrong.value.asked, wrong.value.answered) == (1234567890, DEFAULT_LOGGER_SERIAL)
    await link.close()


@pytest.mark.parametrize(
    "fault",
    ["bad_checksum", "bad_rtu_crc", "bad_crc", "wrong_unit", "short", "wrong_function", "garbage"],
)
async def test_a_damaged_answer_is_a_frame_error_and_the_next_read_is_clean(
    wifi: WifiStick, link: V5Link, inverter: Hyd3ph, fault: str
) -> None:
    target = wifi.logger if hasattr(wifi.logger, fault) else wifi.faults
    setattr(target, fault, True)
    with pytest.raises(FrameError):
        await link.read_holding_registers(1, *SERIAL)
    setattr(target, fault, False)
    assert await link.read_holding_registers(1, *SERIAL) == inverter.read(*SERIAL)
    assert link.stats.failures == 1
    assert link.stats.last_error is not None
    assert link.stats.last_error.startswith("FrameError")


async def test_an_answer_under_another_sequence_number_is_not_taken(
    wifi: WifiStick, link: V5Link
) -> None:
    wifi.logger.wrong_sequence = True
    with pytest.raises(NoResponseError):
        await link.read_holding_registers(1, *SERIAL)


async def test_a_connection_the_logger_closed_while_idle_is_reopened_quietly(
    wifi: WifiStick, link: V5Link, inverter: Hyd3ph, caplog: pytest.LogCaptureFixture
) -> None:
    assert await link.read_holding_registers(1, *SERIAL)
    wifi.drop_clients()
    await asyncio.sleep(0.01)
    with caplog.at_level(logging.INFO):
        assert await link.read_holding_registers(1, *SERIAL) == inverter.read(*SERIAL)
    assert link.stats.connects == 2
    assert link.stats.failures == 0
    assert not [r for r in caplog.records if r.levelno >= logging.INFO and "zcs" in r.name]


async def test_a_drop_mid_request_is_a_lost_connection(wifi: WifiStick, link: V5Link) -> None:
    wifi.faults.drop = True
    with pytest.raises(ConnectionLostError):
        await link.read_holding_registers(1, *SERIAL)
    assert not link.connected


async def test_a_rebooting_logger_is_found_again(
    wifi: WifiStick, link: V5Link, inverter: Hyd3ph
) -> None:
    port = wifi.port
    assert await link.read_holding_registers(1, *SERIAL)
    await wifi.stop()
    with pytest.raises(ConnectError):
        await link.read_holding_registers(1, *SERIAL)
    await wifi.start(port=port)
    assert await link.read_holding_registers(1, *SERIAL) == inverter.read(*SERIAL)


async def test_nothing_listening_is_a_connect_error(
    socket_enabled: None, registry: V5Registry
) -> None:
    link = v5_link(registry, await closed_port())
    with pytest.raises(ConnectError):
        await link.read_holding_registers(1, *SERIAL)
    assert link.stats.failures == 1
    await link.close()


async def test_a_name_that_does_not_resolve_is_an_invalid_host(
    socket_enabled: None, registry: V5Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_such_name(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    link = v5_link(registry, 8899, host="stick.invalid")
    with pytest.raises(InvalidHostError, match=r"stick\.invalid"):
        await link.read_holding_registers(1, *SERIAL)


async def test_links_to_one_logger_share_one_connection_one_request_at_a_time(
    wifi: WifiStick, registry: V5Registry, inverter: Hyd3ph
) -> None:
    first, second = v5_link(registry, wifi.port), v5_link(registry, wifi.port)
    reads = [link.read_holding_registers(1, *SERIAL) for link in (first, second) * 4]
    assert await asyncio.gather(*reads) == [inverter.read(*SERIAL)] * 8
    assert wifi.connections == 1
    assert len(registry) == 1
    await first.close()
    await first.close()  # twice is once
    assert second.connected
    await second.close()
    assert len(registry) == 0
    with pytest.raises(ConnectionLostError):
        await second.read_holding_registers(1, *SERIAL)


async def test_the_scan_finds_the_stick_on_loopback(wifi: WifiStick) -> None:
    port = await wifi.start_scan_answer()
    found = await scan("127.0.0.1", port, wait=0.1)
    assert found == [Logger("127.0.0.1", "98D863A1B2C3", DEFAULT_LOGGER_SERIAL)]


async def test_a_scan_where_nothing_answers_finds_nothing(socket_enabled: None) -> None:
    assert await scan("127.0.0.1", await closed_port(), wait=0.05) == []


@pytest.mark.parametrize(
    ("answer", "logger"),
    [
        (b"192.168.1.115,98d863a1b2c3,2712345678\r\n", Logger("192.168.1.115", "98D863A1B2C3", 2712345678)),  # noqa: E501
        (b"192.168.1.115,98D863A1B2C3,0", None),
        (b"192.168.1.115,98D863A1B2C3,99999999999", None),
        (b"192.168.1.115,98D863A1B2C3,LSW5X", None),
        (b"not-an-ip,98D863A1B2C3,123", None),
        (b"+ok", None),
        (b"\xff\xfe", None),
    ],
)  # fmt: skip
def test_scan_answers_are_read_strictly(answer: bytes, logger: Logger | None) -> None:
    assert parse_answer(answer) == logger


@pytest.mark.parametrize("double_crc", [False, True])
async def test_sofars_refusal_is_learnt_and_read_around(
    wifi: WifiStick, link: V5Link, inverter: Hyd3ph, profile: Profile, double_crc: bool
) -> None:
    """`01 90 02 cd c1` (MichaluxPL/Sofar_LSW3#59) once ended the poll: now the map learns it.

    From a logger that applies the CRC twice too (`01 90 02 cd c1 00 00`: scripts/soak --quirks).
    """
    wifi.faults.sofar_refusal = True
    wifi.logger.double_crc = double_crc
    inverter.gaps.append((0x0584, 0x0589))  # firmware that refuses the PV registers
    device = ModbusDevice(link, 1, profile)
    keys = ["pv1_power", "battery_soc"]
    for _ in range(LEARN_REFUSAL_AFTER):
        reading = await device.read(keys)
        assert reading.values == {"pv1_power": None, "battery_soc": 55}
        assert reading.refused == (Span(0x0586, 1),)
    before = wifi.requests
    again = await device.read(keys)
    assert again.requests == (Span(0x0608, 1),)  # planned around: the PV read is not sent
    assert wifi.requests - before == 1
    assert again.values == reading.values
    assert link.stats.failures == 0  # a refusal is the device's answer, not a broken link


async def test_a_write_echoed_otherwise_leaves_its_outcome_unknown(
    wifi: WifiStick, link: V5Link, inverter: Hyd3ph
) -> None:
    wifi.faults.short = True  # the echo names one register fewer than were written
    with pytest.raises(UnconfirmedError, match="echoed otherwise") as unknown:
        await link.write_registers(1, 0x1105, [1, 500])
    assert isinstance(unknown.value.cause, FrameError)
    # The inverter took it all the same: only reading it back tells.
    assert inverter.read(0x1105, 2) == [1, 500]


async def test_the_eth_and_wifi_sticks_read_the_same_inverter_alike(
    wifi: WifiStick, link: V5Link, inverter: Hyd3ph, profile: Profile
) -> None:
    eth = EthStick(inverter)
    await eth.start()
    unit = link_to(eth)
    try:
        keys = [field.key for field, _ in profile.entities()]
        # At the same moment (the inverter's clock stands still), side by side.
        over_eth, over_wifi = await asyncio.gather(
            ModbusDevice(unit, 1, profile).read(keys), ModbusDevice(link, 1, profile).read(keys)
        )
        assert over_wifi.values == over_eth.values
        assert over_wifi.requests == over_eth.requests
        assert sum(value is not None for value in over_wifi.values.values()) > 50
    finally:
        await unit.close()
        await eth.stop()


@pytest.mark.parametrize(
    "quirks",
    [("own_frames",), ("foreign_answers",), ("double_crc",), ("at_noise",),
     ("chatter", "own_frames", "foreign_answers", "double_crc", "at_noise")],
    ids="+".join,
)  # fmt: skip
async def test_what_real_loggers_do_is_read_through(
    wifi: WifiStick, link: V5Link, inverter: Hyd3ph, quirks: tuple[str, ...]
) -> None:
    """Each quirk of tests/captures/, as the simulator shows it, on the request numbered ff."""
    for quirk in quirks:
        setattr(wifi.logger, quirk, True)
    connection = link._connection
    assert connection is not None
    connection._framing.sequence_number = 0xFD  # the third request would be numbered 00
    for _ in range(4):  # the frames of the first are of another size: they come at once
        assert await link.read_holding_registers(1, *SERIAL) == inverter.read(*SERIAL)
    assert connection._framing.sequence_number == 0x02  # fe, ff, 01, 02
    assert link.stats.failures == 0


async def _stream(writer: asyncio.StreamWriter, data: bytes, every: float, times: int) -> None:
    with contextlib.suppress(OSError):  # until the client leaves, at most
        for _ in range(times):
            writer.write(data)
            await writer.drain()
            await asyncio.sleep(every)


async def test_frames_for_others_do_not_move_the_deadline(socket_enabled: None) -> None:
    """A second client polling the logger kept one request open 20 s (issue #21): no more."""
    done = asyncio.Event()
    other = WifiStick(Hyd3ph()).response(0x42, rtu_frame(1, bytes([0x03, 2, 0, 0])))

    async def logger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(64)
        # Another client's answers, ten timeouts long; none for us.
        await _stream(writer, other, TEST_TIMEOUT / 5, 50)
        done.set()

    server = await asyncio.start_server(logger, "127.0.0.1", 0)
    link = v5_link(V5Registry(), server.sockets[0].getsockname()[1])
    assert link._connection is not None
    link._connection._framing.sequence_number = 0x10  # ours is not the other client's
    try:
        with pytest.raises(NoResponseError):
            await link.read_holding_registers(1, *SERIAL)
        assert not done.is_set()  # given up while the other client's answers still came
    finally:
        await link.close()
        server.close()
        await server.wait_closed()


async def test_a_length_no_answer_has_is_not_waited_for(socket_enabled: None) -> None:
    """A start byte that announces 64 KiB starts no answer (security review L5)."""
    stick = WifiStick(Hyd3ph())
    answer = rtu_frame(1, bytes([0x03, 2, 0, 7]))  # register 7

    async def logger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.read(64)
        writer.write(b"\xa5\xff\xff" + bytes(1000) + stick.answer_frame(request, answer))
        await writer.drain()
        await reader.read(64)

    server = await asyncio.start_server(logger, "127.0.0.1", 0)
    link = v5_link(V5Registry(), server.sockets[0].getsockname()[1])
    try:
        assert await link.read_holding_registers(1, 0x0404, 1) == [7]
    finally:
        await link.close()
        server.close()
        await server.wait_closed()


async def test_a_hostile_stream_leaves_the_loop_running(socket_enabled: None) -> None:
    """256 KiB of would-be frames is scanned chunk by chunk, the loop given back in between."""
    ticks = 0
    stick = WifiStick(Hyd3ph())

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    async def logger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.read(64)
        writer.write(
            b"\xa5\x10\x00" * 87_400
            + stick.answer_frame(request, rtu_frame(1, b"\x03\x02\x00\x07"))
        )
        await writer.drain()
        await reader.read(64)

    server = await asyncio.start_server(logger, "127.0.0.1", 0)
    endpoint = V5Endpoint("127.0.0.1", server.sockets[0].getsockname()[1], DEFAULT_LOGGER_SERIAL)
    link = V5Link(V5Registry(), endpoint, 1, timeout=30)  # as long as a loaded machine needs
    counting = asyncio.create_task(ticker())
    try:
        assert await link.read_holding_registers(1, 0x0404, 1) == [7]
        assert ticks > 200  # once per 1 KiB read, at least
    finally:
        counting.cancel()
        await link.close()
        server.close()
        await server.wait_closed()
