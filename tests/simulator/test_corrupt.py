"""The stick's corrupt and crossed faults: valid frames with the wrong data."""

from __future__ import annotations

import asyncio

import pytest

from simulator.eth import EthStick, Framing
from simulator.modbus import rtu_frame, rtu_valid

READ_BATTERY = bytes([0x03, 0x06, 0x04, 0x00, 0x07])  # battery 1: 7 registers


async def _ask(stick: EthStick, frame: bytes, size: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", stick.port)
    writer.write(frame)
    answer = await asyncio.wait_for(reader.readexactly(size), 5)
    writer.close()
    await writer.wait_closed()
    return answer


async def test_a_corrupted_rtu_answer_is_a_valid_frame_with_one_byte_changed(
    stick: EthStick,
) -> None:
    clean = await _ask(stick, rtu_frame(1, READ_BATTERY), 19)
    stick.faults.corrupt = 1.0
    damaged = await _ask(stick, rtu_frame(1, READ_BATTERY), 19)
    assert rtu_valid(clean)
    assert rtu_valid(damaged)  # the CRC is that of the changed bytes
    assert damaged[:3] == clean[:3]  # unit, function, byte count
    assert sum(a != b for a, b in zip(clean[3:-2], damaged[3:-2], strict=True)) == 1
    assert stick.corrupted == 1


async def test_corruption_hits_the_share_of_answers_asked_for(stick: EthStick) -> None:
    stick.faults.corrupt = 0.25
    for _ in range(80):
        await _ask(stick, rtu_frame(1, READ_BATTERY), 19)
    assert 8 < stick.corrupted < 32  # a quarter of 80, give or take three deviations


@pytest.mark.parametrize("framing", [Framing.TCP])
async def test_a_corrupted_modbus_tcp_answer_keeps_its_header(stick: EthStick) -> None:
    request = bytes([0, 9, 0, 0, 0, 6, 1]) + READ_BATTERY
    clean = await _ask(stick, request, 9 + 14)
    stick.faults.corrupt = 1.0
    damaged = await _ask(stick, request, 9 + 14)
    assert damaged[:9] == clean[:9]  # transaction, protocol, length, unit, function, count
    assert sum(a != b for a, b in zip(clean, damaged, strict=True)) == 1


async def test_a_crossed_answer_is_the_previous_one_of_the_same_length(stick: EthStick) -> None:
    read_pv = bytes([0x03, 0x05, 0x84, 0x00, 0x07])  # PV inputs: 7 registers too
    battery = await _ask(stick, rtu_frame(1, READ_BATTERY), 19)
    stick.faults.crossed = 1.0
    crossed = await _ask(stick, rtu_frame(1, read_pv), 19)
    assert rtu_valid(crossed)
    assert crossed == battery  # the battery's registers, as the answer to the PV request
    assert stick.corrupted == 1
    short = await _ask(stick, rtu_frame(1, bytes([0x03, 0x06, 0x08, 0x00, 0x01])), 7)
    assert short[:3] == bytes([1, 0x03, 2])  # no earlier answer of its length: answered right
