"""Modbus PDUs and RTU frames, written here rather than borrowed from the client's library.

A simulator sharing pymodbus with the integration would hide a bug they share.
"""

from __future__ import annotations

import struct
from typing import Protocol

from .registers import ILLEGAL_FUNCTION, ILLEGAL_VALUE, ModbusExceptionError

READ_HOLDING = 0x03
READ_INPUT = 0x04
WRITE_SINGLE = 0x06
WRITE_MULTIPLE = 0x10


class Device(Protocol):
    """What a front end needs of a device model."""

    asleep: bool

    def refresh(self) -> None:
        """Bring registers up to date before answering."""

    def read(self, address: int, count: int) -> list[int]:
        """Registers, or ModbusExceptionError."""

    def read_input(self, address: int, count: int) -> list[int]:
        """Input registers (function 0x04), or ModbusExceptionError."""

    def write(self, address: int, values: list[int], *, function: int = WRITE_MULTIPLE) -> None:
        """Take written registers (by write-single or write-multiple), or ModbusExceptionError."""


def crc16(data: bytes) -> int:
    """Modbus CRC-16 (polynomial 0xA001 reflected, start 0xFFFF)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def rtu_frame(unit: int, pdu: bytes) -> bytes:
    """Unit, PDU and CRC (low byte first)."""
    body = bytes([unit]) + pdu
    return body + struct.pack("<H", crc16(body))


def rtu_request_size(buffer: bytes) -> int | None:
    """The length of the request frame starting the buffer, once enough of it is there."""
    if len(buffer) < 2:
        return None
    if buffer[1] in (READ_HOLDING, READ_INPUT, WRITE_SINGLE):
        return 8
    if buffer[1] == WRITE_MULTIPLE:
        return 9 + buffer[6] if len(buffer) >= 7 else None
    # An unknown function: its length cannot be known, so take what came.
    return len(buffer)


def rtu_valid(frame: bytes) -> bool:
    """Whether the frame's CRC matches its content."""
    return len(frame) >= 4 and crc16(frame[:-2]) == struct.unpack("<H", frame[-2:])[0]


def rtu_unpack(frame: bytes) -> tuple[int | None, bytes]:
    """The unit and PDU of an RTU request; no unit when the CRC is wrong."""
    return (frame[0], frame[1:-2]) if rtu_valid(frame) else (None, b"")


def mbap_unpack(frame: bytes) -> tuple[int | None, bytes]:
    """The unit and PDU of a Modbus TCP request; no unit when it is no Modbus frame."""
    protocol = int.from_bytes(frame[2:4])
    return (frame[6], frame[7:]) if protocol == 0 and len(frame) > 7 else (None, b"")


def mbap_request_size(buffer: bytes) -> int | None:
    """The length of the Modbus TCP frame starting the buffer, once its header is there."""
    return 6 + int.from_bytes(buffer[4:6]) if len(buffer) >= 6 else None


def mbap_frame(transaction: int, unit: int, pdu: bytes) -> bytes:
    """Modbus TCP: transaction id, protocol 0, length, unit, PDU (no CRC: TCP checks)."""
    return struct.pack(">HHHB", transaction, 0, len(pdu) + 1, unit) + pdu


def rtu_answer(request: bytes, unit: int, pdu: bytes) -> bytes:
    """The RTU frame that answers a request."""
    return rtu_frame(unit, pdu)


def mbap_answer(request: bytes, unit: int, pdu: bytes) -> bytes:
    """The Modbus TCP frame that answers a request: under the request's transaction id."""
    return mbap_frame(int.from_bytes(request[:2]), unit, pdu)


def exception_pdu(function: int, code: int) -> bytes:
    """A Modbus exception answer."""
    return bytes([function | 0x80, code])


def answer(device: Device, pdu: bytes, functions: frozenset[int]) -> bytes:
    """The device's answer to a request PDU; `functions` are those the link passes on."""
    try:
        return _apply(device, pdu, functions)
    except ModbusExceptionError as refusal:
        return exception_pdu(pdu[0], refusal.code)


def _apply(device: Device, pdu: bytes, functions: frozenset[int]) -> bytes:
    function = pdu[0]
    if function not in functions:
        raise ModbusExceptionError(ILLEGAL_FUNCTION)
    device.refresh()
    if function in (READ_HOLDING, READ_INPUT):
        address, count = struct.unpack(">HH", pdu[1:5])
        read = device.read if function == READ_HOLDING else device.read_input
        registers = read(address, count)
        return bytes([function, 2 * count]) + struct.pack(f">{count}H", *registers)
    if function == WRITE_SINGLE:
        address, value = struct.unpack(">HH", pdu[1:5])
        device.write(address, [value], function=WRITE_SINGLE)
        return pdu[:5]
    address, count, size = struct.unpack(">HHB", pdu[1:6])
    if size != 2 * count or len(pdu) != 6 + size:
        raise ModbusExceptionError(ILLEGAL_VALUE)
    device.write(address, list(struct.unpack(f">{count}H", pdu[6:])))
    return pdu[:5]
