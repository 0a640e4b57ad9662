"""An RS485 bus on a pseudo-terminal: RTU frames to the units on it.

The integration opens the pty's other end as it opens a USB adapter's serial port, so
the real serial stack (termios, the backend's RTU framer and its timing) is exercised.
"""

from __future__ import annotations

import asyncio
import os
import tty

from .faults import Faults
from .modbus import (
    READ_HOLDING,
    WRITE_MULTIPLE,
    WRITE_SINGLE,
    Device,
    answer,
    rtu_frame,
    rtu_request_size,
    rtu_unpack,
)


class Rs485Bus:
    """Devices on one bus, each at its unit id; a frame for no unit on it gets no answer."""

    functions = frozenset({READ_HOLDING, WRITE_SINGLE, WRITE_MULTIPLE})

    def __init__(self, units: dict[int, Device]) -> None:
        """Nothing is on the line until open()."""
        self.units = units
        self.faults = Faults()
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
        # A damaged frame, or one for a unit that is not on the bus (or asleep): silence.
        if device is None or device.asleep or self.faults.silent or self._fds is None:
            return
        os.write(self._fds[0], rtu_frame(unit or 0, answer(device, pdu, self.functions)))
