"""An RS485 bus on a pseudo-terminal: RTU frames to the units on it.

The integration opens the pty's other end as it opens a USB adapter's serial port, so
the real serial stack (termios, the backend's RTU framer and its timing) is exercised.
"""

from __future__ import annotations

import asyncio
import os
import random
import tty

from .faults import AnswerDamage, Faults, refused
from .modbus import (
    READ_HOLDING,
    WRITE_MULTIPLE,
    WRITE_SINGLE,
    Device,
    answer,
    exception_pdu,
    rtu_frame,
    rtu_request_size,
    rtu_unpack,
)

# What a bus carries when something else talks on it: bytes that are no frame.
NOISE = bytes(range(0xF0, 0x100)) * 2


class Rs485Bus:
    """Devices on one bus, each at its unit id; a frame for no unit on it gets no answer.

    Of the faults, it shows silence, delay and jitter, a bad CRC, garbage, another unit's
    answer, exception codes, damaged read answers (corrupt, crossed) and the write answers'
    (lse3_writes, damage_writes).
    """

    functions = frozenset({READ_HOLDING, WRITE_SINGLE, WRITE_MULTIPLE})

    def __init__(self, units: dict[int, Device]) -> None:
        """Nothing is on the line until open()."""
        self.units = units
        self.faults = Faults()
        # Which answers the corrupt, crossed and damage_writes faults change: seeded.
        self.random = random.Random(0)  # noqa: S311 (a simulated fault, not a secret)
        self.damage = AnswerDamage(self.random)
        self.requests = 0
        self.path = ""
        self._fds: tuple[int, int] | None = None
        self._buffer = b""

    def open(self) -> str:
        """Make the pseudo-terminal pair; the path of the end a client opens."""
        master, slave = os.openpty()
        # Raw: bytes pass as they are, as on a serial line (no echo, no line editing).
        tty.setraw(slave)
        tty.setraw(master)
        self._fds = (master, slave)
        self.path = os.ttyname(slave)
        asyncio.get_running_loop().add_reader(master, self._readable)
        return self.path

    async def start(self, host: str = "", port: int = 0) -> None:
        """Open the line (a pty has no host or port: its path says where it is)."""
        self.open()

    async def stop(self) -> None:
        """Close the line."""
        self.close()

    def close(self) -> None:
        """Take the line away."""
        if self._fds is None:
            return
        master, slave = self._fds
        self._fds = None
        asyncio.get_running_loop().remove_reader(master)
        os.close(master)
        os.close(slave)

    def _readable(self) -> None:
        if self._fds is None:
            return
        try:
            self._buffer += os.read(self._fds[0], 512)
        except OSError:
            return
        while (size := rtu_request_size(self._buffer)) is not None and len(self._buffer) >= size:
            frame, self._buffer = self._buffer[:size], self._buffer[size:]
            self._handle(frame)

    def _handle(self, frame: bytes) -> None:
        self.requests += 1
        unit, pdu = rtu_unpack(frame)
        device = self.units.get(unit) if unit is not None else None
        faults = self.faults
        # A damaged frame, or one for a unit that is not on the bus (or asleep): silence.
        if device is None or device.asleep or faults.swallows(pdu) or self._fds is None:
            return
        if faults.exception is not None:
            reply_pdu = exception_pdu(pdu[0], faults.exception)
        else:
            reply_pdu = answer(device, pdu, self.functions)
        reply_pdu = self.damage.read(faults, refused(faults, reply_pdu))
        if (changed := self.damage.write(faults, reply_pdu)) is None:
            return
        reply_pdu = changed
        # As on the wire: another unit's answer, a damaged CRC, noise in place of a frame.
        reply = rtu_frame((unit or 0) + 1 if faults.wrong_unit else unit or 0, reply_pdu)
        if faults.bad_crc:
            reply = reply[:-1] + bytes([reply[-1] ^ 0xFF])
        if faults.garbage:
            reply = NOISE
        if wait := faults.delay + random.uniform(0, faults.jitter):  # noqa: S311 (not crypto)
            asyncio.get_running_loop().call_later(wait, self._write, reply)
        else:
            self._write(reply)

    def _write(self, reply: bytes) -> None:
        if self._fds is not None:
            os.write(self._fds[0], reply)
