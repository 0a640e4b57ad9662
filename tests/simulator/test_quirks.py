"""The simulator's flags for what real sticks and loggers do, held against the captures."""

from __future__ import annotations

import asyncio

from simulator.eth import EthStick
from simulator.modbus import rtu_frame, rtu_valid
from simulator.wifi import DEFAULT_LOGGER_SERIAL, RESPONSE, WifiStick, v5_frame
from tests.captures.corpus import RTU, V5, Capture

READ_0x0000 = bytes.fromhex("01 03 00 00 00 28 45 d4")  # Sofar_LSW3#59's request
READ_SERIAL = rtu_frame(1, bytes([0x03, 0x04, 0x45, 0x00, 0x08]))


def _capture(corpus: tuple[Capture, ...], name: str) -> bytes:
    """The last bytes the capture's logger sent."""
    (capture,) = [c for c in corpus if c.name == name]
    return capture.exchanges[0].sent[-1].data


async def _exchange(port: int, request: bytes, wait: float = 0.2) -> bytes:
    """What the front end writes back for the request, within `wait`."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    received = b""
    try:
        async with asyncio.timeout(wait):
            while chunk := await reader.read(4096):
                received += chunk
    except TimeoutError:
        pass
    writer.close()
    await writer.wait_closed()
    return received


def _frames(stream: bytes) -> list[bytes]:
    frames = []
    while (at := stream.find(0xA5)) != -1:
        size = 13 + int.from_bytes(stream[at + 1 : at + 3], "little")
        frames.append(stream[at : at + size])
        stream = stream[at + size :]
    return frames


def _v5_request(modbus: bytes, sequence: int) -> bytes:
    prefix = bytes([2]) + bytes(14)
    frame = bytearray(
        v5_frame(0x4510, bytes([sequence, 0]), DEFAULT_LOGGER_SERIAL, prefix + modbus)
    )
    return bytes(frame)


async def test_sofar_refusal_is_the_captures_bytes(stick: EthStick) -> None:
    stick.faults.sofar_refusal = True
    assert await _exchange(stick.port, READ_0x0000) == _capture(RTU, "sofar-refusal-0x90-rtu")


async def test_the_logger_puts_its_own_and_other_clients_answers_before_ours(
    wifi: WifiStick,
) -> None:
    wifi.logger.own_frames = wifi.logger.foreign_answers = True
    await _exchange(wifi.port, _v5_request(READ_SERIAL, 0x21))  # an answer of that size
    frames = _frames(await _exchange(wifi.port, _v5_request(READ_SERIAL, 0x22)))
    assert [int.from_bytes(f[3:5], "little") for f in frames] == [RESPONSE] * 3
    own, foreign, ours = frames
    assert (own[5], ours[5]) == (0x00, 0x22)  # as pysolarmanv5#107 shows the logger's own
    assert foreign[5] not in (0x00, 0x22)
    assert len(own) == len(foreign) == len(ours)  # only the number tells them apart


async def test_a_double_crc_is_the_captures_form(wifi: WifiStick) -> None:
    wifi.logger.double_crc = True
    (answer,) = _frames(await _exchange(wifi.port, _v5_request(READ_SERIAL, 0x21)))
    modbus = answer[25:-2]
    assert modbus.endswith(b"\0\0")
    assert rtu_valid(modbus[:-2])
    captured = _capture(V5, "double-crc")[25:-2]  # pysolarmanv5 PR #65's answer
    assert captured.endswith(b"\0\0")
    assert rtu_valid(captured[:-2])


async def test_at_noise_is_the_modules_reply(wifi: WifiStick) -> None:
    wifi.logger.at_noise = True
    received = await _exchange(wifi.port, _v5_request(READ_SERIAL, 0x21))
    assert received.startswith(_capture(V5, "at-command-noise"))
    assert len(_frames(received)) == 1
