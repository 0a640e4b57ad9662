"""The simulated WiFi stick, read by a client we did not write: pysolarmanv5's own."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import sys
from collections.abc import AsyncGenerator

import pytest
from pysolarmanv5 import PySolarmanV5Async, V5FrameError

from simulator.devices.hyd_3ph import Hyd3ph
from simulator.wifi import DEFAULT_LOGGER_SERIAL, WifiStick
from tests.simulator.test_simulator import ROOT

SERIAL_REGISTERS = (0x0445, 8)


@pytest.fixture
async def client(wifi: WifiStick) -> AsyncGenerator[PySolarmanV5Async]:
    """pysolarmanv5's async client, connected to the stick."""
    modbus = PySolarmanV5Async(
        "127.0.0.1",
        DEFAULT_LOGGER_SERIAL,
        port=wifi.port,
        mb_slave_id=1,
        socket_timeout=2,
        logger=logging.getLogger("pysolarmanv5"),
    )
    await modbus.connect()
    yield modbus
    await modbus.disconnect()


async def test_pysolarmanv5_reads_the_inverter(
    wifi: WifiStick, client: PySolarmanV5Async, inverter: Hyd3ph
) -> None:
    registers = await client.read_holding_registers(*SERIAL_REGISTERS)
    assert registers == inverter.read(*SERIAL_REGISTERS)
    assert bytes(b for r in registers for b in r.to_bytes(2)).startswith(b"ZP1")
    # And again: the sequence number moves on, the stick echoes it.
    assert await client.read_holding_registers(*SERIAL_REGISTERS) == registers


async def test_pysolarmanv5_writes_through_the_stick(
    client: PySolarmanV5Async, inverter: Hyd3ph
) -> None:
    storage_mode = 0x1110
    assert inverter.read(storage_mode, 1) == [0]
    await client.write_multiple_holding_registers(storage_mode, [1])
    assert inverter.read(storage_mode, 1) == [1]


async def test_pysolarmanv5_skips_the_heartbeats_between_answers(
    wifi: WifiStick, client: PySolarmanV5Async, inverter: Hyd3ph
) -> None:
    wifi.heartbeat_interval = 0.01
    await asyncio.sleep(0.05)  # heartbeats arrive while nobody asks
    for _ in range(3):
        assert await client.read_holding_registers(*SERIAL_REGISTERS) == inverter.read(
            *SERIAL_REGISTERS
        )
        await asyncio.sleep(0.02)


async def test_pysolarmanv5_hears_what_a_logger_says_of_a_sleeping_inverter(
    client: PySolarmanV5Async, inverter: Hyd3ph
) -> None:
    inverter.asleep = True
    # Its decoder takes the logger's `05 00` for a Modbus exception (davidrapan/ha-solarman
    # #451 shows the same bytes from a real logger, read the same way).
    with pytest.raises(V5FrameError, match="AcknowledgeError"):
        await client.read_holding_registers(*SERIAL_REGISTERS)


async def test_pysolarmanv5_hears_a_wrong_logger_serial(wifi: WifiStick) -> None:
    modbus = PySolarmanV5Async(
        "127.0.0.1", 1234567890, port=wifi.port, socket_timeout=2, logger=logging.getLogger()
    )
    await modbus.connect()
    try:
        with pytest.raises(V5FrameError, match="serial number"):
            await modbus.read_holding_registers(*SERIAL_REGISTERS)
    finally:
        await modbus.disconnect()


async def test_the_stick_answers_a_scan_on_udp(wifi: WifiStick) -> None:
    port = await wifi.start_scan_answer()
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)  # noqa: FBT003
        await loop.sock_sendto(sock, b"nonsense", ("127.0.0.1", port))
        await loop.sock_sendto(sock, b"WIFIKIT-214028-READ", ("127.0.0.1", port))
        answer = await asyncio.wait_for(loop.sock_recv(sock, 1024), 2)
    assert answer.decode() == f"127.0.0.1,98D863A1B2C3,{DEFAULT_LOGGER_SERIAL}"


async def test_the_command_line_serves_wifi_and_scans(socket_enabled: None) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", "--link", "wifi", "--port", "0", "--scan-port", "0",
        "--logger-serial", "1234567890", "--heartbeat", "0.2",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        lines = [(await asyncio.wait_for(process.stdout.readline(), 20)).decode() for _ in "ab"]
        port = re.fullmatch(r"listening wifi 127\.0\.0\.1:(\d+)\n", lines[0])
        scan = re.fullmatch(r"answering scans 127\.0\.0\.1:(\d+)\n", lines[1])
        assert port, lines
        assert scan, lines
        modbus = PySolarmanV5Async(
            "127.0.0.1", 1234567890, port=int(port[1]), socket_timeout=5, logger=logging.getLogger()
        )
        await modbus.connect()
        # A heartbeat comes unasked before the read; one every 10 ms (as before) could share
        # a TCP segment with the answer on a loaded machine, which pysolarmanv5 cannot split.
        await asyncio.sleep(0.3)
        assert len(await modbus.read_holding_registers(*SERIAL_REGISTERS)) == 8
        await modbus.disconnect()
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 10) == 0
