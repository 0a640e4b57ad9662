"""Holding registers with the rules a real device enforces on reads and writes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

# Modbus exception codes.
ILLEGAL_FUNCTION = 0x01
ILLEGAL_ADDRESS = 0x02
ILLEGAL_VALUE = 0x03


class ModbusExceptionError(Exception):
    """The device refuses the request with a Modbus exception code."""

    def __init__(self, code: int) -> None:
        """Keep the exception code for the answer."""
        super().__init__(f"exception {code:#04x}")
        self.code = code


class RegisterBank:
    """Registers readable in blocks, at most `max_read` at a time, never touching a gap."""

    def __init__(
        self,
        blocks: Iterable[tuple[int, int]],
        *,
        max_read: int = 60,
        writable: Iterable[tuple[int, int]] = (),
    ) -> None:
        """Blocks and writable ranges are (first, last) address pairs."""
        self.blocks = list(blocks)
        self.writable = list(writable)
        self.max_read = max_read
        self.gaps: list[tuple[int, int]] = []
        self.values: dict[int, int] = {}
        self.pinned: set[int] = set()

    def read(self, address: int, count: int) -> list[int]:
        """The registers, or ModbusExceptionError as the device would answer."""
        if not 1 <= count <= 125:
            raise ModbusExceptionError(ILLEGAL_VALUE)
        last = address + count - 1
        if count > self.max_read or not any(a <= address and last <= b for a, b in self.blocks):
            raise ModbusExceptionError(ILLEGAL_ADDRESS)
        if any(address <= b and a <= last for a, b in self.gaps):
            raise ModbusExceptionError(ILLEGAL_ADDRESS)
        return [self.values.get(a, 0) for a in range(address, last + 1)]

    def write(self, address: int, values: Sequence[int]) -> None:
        """Take values written by a client, where the device allows writes."""
        last = address + len(values) - 1
        if not any(a <= address and last <= b for a, b in self.writable):
            raise ModbusExceptionError(ILLEGAL_ADDRESS)
        self.values.update(zip(range(address, last + 1), values, strict=True))

    def set(self, address: int, values: Sequence[int]) -> None:
        """Update registers from the device's own state; pinned ones keep their value."""
        for offset, value in enumerate(values):
            if address + offset not in self.pinned:
                self.values[address + offset] = value & 0xFFFF

    def pin(self, address: int, values: Sequence[int]) -> None:
        """Fix registers to these raw values until unpinned (for tests and demos)."""
        for offset, value in enumerate(values):
            self.pinned.add(address + offset)
            self.values[address + offset] = value & 0xFFFF

    def unpin(self, address: int, count: int) -> None:
        """Let the device's own state drive these registers again."""
        self.pinned.difference_update(range(address, address + count))


def s16(value: float) -> int:
    """A signed value as the register holds it."""
    return round(value) & 0xFFFF


def u32(value: float) -> list[int]:
    """An unsigned 32-bit value as two registers, high word first."""
    raw = round(value) & 0xFFFFFFFF
    return [raw >> 16, raw & 0xFFFF]


def ascii_registers(text: str, count: int) -> list[int]:
    """Text as registers, two characters each, high byte first, padded with NULs."""
    raw = text.encode("ascii").ljust(2 * count, b"\x00")[: 2 * count]
    return [raw[i] << 8 | raw[i + 1] for i in range(0, 2 * count, 2)]
