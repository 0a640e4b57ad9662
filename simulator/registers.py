"""Holding registers with the rules a real device enforces on reads and writes."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

# Modbus exception codes.
ILLEGAL_FUNCTION = 0x01
ILLEGAL_ADDRESS = 0x02
ILLEGAL_VALUE = 0x03

# What a commit register reads after a write (Modbus-G3 V1.38 section 5.3 note).
COMMIT_OK = 0x0000
COMMIT_IN_PROGRESS = 0x0001
COMMIT_REFUSED = 0xFFFB


@dataclass(frozen=True)
class Group:
    """Registers the device takes only in the runs `accepted` (first, last), in one request.

    With `free`, any run inside the group is accepted. `commit` is the register whose 1
    applies the group and which reads back the result; `limits` are the raw values each
    register accepts (signed where the low end is negative).
    """

    first: int
    last: int
    accepted: tuple[tuple[int, int], ...] = ()
    free: bool = False
    commit: int | None = None
    limits: Mapping[int, tuple[int, int]] = field(default_factory=dict)

    def takes(self, first: int, last: int) -> bool:
        """Whether a write of exactly these registers is one the device accepts."""
        if self.free:
            return self.first <= first and last <= self.last
        return (first, last) in (self.accepted or ((self.first, self.last),))

    def in_range(self, address: int, value: int) -> bool:
        """Whether the register accepts the raw value."""
        if (limits := self.limits.get(address)) is None:
            return True
        low, high = limits
        signed = value - 0x10000 if low < 0 and value >= 0x8000 else value
        return low <= signed <= high


@dataclass(frozen=True)
class Request:
    """A request the device answered or refused: function, first register, count, words written."""

    function: int
    address: int
    count: int
    words: tuple[int, ...] = ()


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
        groups: Iterable[Group] = (),
        input_blocks: Iterable[tuple[int, int]] = (),
    ) -> None:
        """Blocks are (first, last) address pairs; only groups take writes.

        Input blocks are read with function 0x04, from registers of their own (`inputs`);
        a device without any refuses that function.
        """
        self.blocks = list(blocks)
        self.input_blocks = list(input_blocks)
        self.inputs: dict[int, int] = {}
        self.groups = list(groups)
        self.max_read = max_read
        self.gaps: list[tuple[int, int]] = []
        self.values: dict[int, int] = {}
        self.pinned: set[int] = set()
        # Every read and write request that reached the registers, for tests to check.
        self.log: list[Request] = []
        # What commit registers read after a write; anything but COMMIT_OK leaves it unapplied.
        self.commit_result = COMMIT_OK
        # How many reads after a write a commit register says "in progress" before the result.
        self.commit_busy_reads = 0
        self._busy: dict[int, int] = {}

    def read(self, address: int, count: int) -> list[int]:
        """The registers, or ModbusExceptionError as the device would answer."""
        self.log.append(Request(0x03, address, count))
        # More registers than the firmware serves at once: a count it does not take.
        if not 1 <= count <= min(125, self.max_read):
            raise ModbusExceptionError(ILLEGAL_VALUE)
        last = address + count - 1
        if not any(a <= address and last <= b for a, b in self.blocks):
            raise ModbusExceptionError(ILLEGAL_ADDRESS)
        if any(address <= b and a <= last for a, b in self.gaps):
            raise ModbusExceptionError(ILLEGAL_ADDRESS)
        words = [self.values.get(a, 0) for a in range(address, last + 1)]
        for commit, reads in self._busy.items():
            if reads and address <= commit <= last:
                words[commit - address] = COMMIT_IN_PROGRESS
                self._busy[commit] = reads - 1
        return words

    def read_input(self, address: int, count: int) -> list[int]:
        """Input registers (function 0x04), or ModbusExceptionError as the device would answer."""
        self.log.append(Request(0x04, address, count))
        if not self.input_blocks:
            raise ModbusExceptionError(ILLEGAL_FUNCTION)
        last = address + count - 1
        if not 1 <= count <= self.max_read:
            raise ModbusExceptionError(ILLEGAL_VALUE)
        if not any(a <= address and last <= b for a, b in self.input_blocks):
            raise ModbusExceptionError(ILLEGAL_ADDRESS)
        return [self.inputs.get(a, 0) for a in range(address, last + 1)]

    def write(self, address: int, values: Sequence[int], *, function: int = 0x10) -> None:
        """Take a group written by a client, as the device does, or refuse it.

        A write that splits a group or strays outside one is an illegal address; a value
        out of range an illegal value. With a commit register, 1 applies the group and the
        register then reads the result. `function` (0x06 or 0x10) is noted in the log.
        """
        self.log.append(Request(function, address, len(values), tuple(values)))
        last = address + len(values) - 1
        group = next((g for g in self.groups if g.takes(address, last)), None)
        if group is None:
            raise ModbusExceptionError(ILLEGAL_ADDRESS)
        written = dict(zip(range(address, last + 1), values, strict=True))
        if not all(group.in_range(a, v) for a, v in written.items()):
            raise ModbusExceptionError(ILLEGAL_VALUE)
        if group.commit is not None:
            # Only 1 (apply) is modelled; 2 (back to defaults) is refused as a bad value.
            if written.pop(group.commit) != 1:
                raise ModbusExceptionError(ILLEGAL_VALUE)
            self.values[group.commit] = self.commit_result
            self._busy[group.commit] = self.commit_busy_reads
            if self.commit_result != COMMIT_OK:
                return
        # A pinned register holds its value, as firmware that ignores a setting does.
        self.values.update((a, v) for a, v in written.items() if a not in self.pinned)
        self.applied(group)

    def applied(self, group: Group) -> None:
        """A group was written; a device model acts on it here."""

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


def f32(value: float) -> list[int]:
    """An IEEE-754 single-precision value as two registers, high word first."""
    raw = int.from_bytes(struct.pack(">f", value))
    return [raw >> 16, raw & 0xFFFF]


def ascii_registers(text: str, count: int) -> list[int]:
    """Text as registers, two characters each, high byte first, padded with NULs."""
    raw = text.encode("ascii").ljust(2 * count, b"\x00")[: 2 * count]
    return [raw[i] << 8 | raw[i + 1] for i in range(0, 2 * count, 2)]
