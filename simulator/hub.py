"""The Azzurro HUB: Modbus TCP on three ports, each passed on to one RS485 line.

Its rules, as ZCS describes them (research/modbus_maps.md section 2): one client per port
(a new connection drops the old one), a pause it needs between two requests (an early
request is held until the pause is over, and counted), and only function codes 0x03 and
0x10 (anything else gets exception 0x01). Unit ids are routed to the devices on the line.
"""

from __future__ import annotations

import asyncio
import time

from .eth import EthStick, Framing
from .modbus import READ_HOLDING, WRITE_MULTIPLE, Device, mbap_unpack

# The lines and their ports on a real HUB.
LINES = {"inverters": 55400, "meters": 55401, "ev_chargers": 55402}


class _Nobody:
    """What answers at a unit id with no device on the line: nothing, ever."""

    asleep = True

    def refresh(self) -> None:
        """Nothing to bring up to date."""

    def read(self, address: int, count: int) -> list[int]:
        """Never asked: an asleep device is not."""
        raise NotImplementedError

    def read_input(self, address: int, count: int) -> list[int]:
        """Never asked: an asleep device is not."""
        raise NotImplementedError

    def write(self, address: int, values: list[int], *, function: int = WRITE_MULTIPLE) -> None:
        """Never asked: an asleep device is not."""
        raise NotImplementedError


class HubLine(EthStick):
    """One port of the HUB and the devices on its RS485 line, by unit id."""

    functions = frozenset({READ_HOLDING, WRITE_MULTIPLE})

    def __init__(self, units: dict[int, Device], *, pacing: float = 0.0) -> None:
        """Nothing listens until start()."""
        super().__init__(_Nobody(), unit=0, framing=Framing.TCP)
        self.units = units
        self.pacing = pacing
        # Requests that came sooner than `pacing` after the previous answer (held back).
        self.early = 0
        # The shortest pause a client left between an answer and its next request.
        self.shortest_gap: float | None = None
        # Each request's unit id and first register, in the order the line carried them.
        self.order: list[tuple[int, int]] = []
        self._answered = 0.0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # One client per port: whoever connects takes the port from whoever had it.
        self.drop_clients()
        await super()._serve(reader, writer)

    async def _handle(self, frame: bytes, writer: asyncio.StreamWriter) -> bool:
        if self._answered:
            gap = time.monotonic() - self._answered
            if self.shortest_gap is None or gap < self.shortest_gap:
                self.shortest_gap = gap
            if gap < self.pacing:
                self.early += 1
                await asyncio.sleep(self.pacing - gap)
        unit, pdu = mbap_unpack(frame)
        self.order.append((unit or 0, int.from_bytes(pdu[1:3]) if len(pdu) >= 3 else -1))
        # The device at that unit id answers; at a unit id with nobody, the request times out.
        self.unit = unit or 0
        self.device = self.units.get(self.unit, _Nobody())
        try:
            return await super()._handle(frame, writer)
        finally:
            self._answered = time.monotonic()


class Hub:
    """The three lines of one HUB."""

    def __init__(self, lines: dict[str, dict[int, Device]], *, pacing: float = 0.0) -> None:
        """`lines` are the devices on each line, by unit id; every line needs `pacing`."""
        self.lines = {name: HubLine(lines.get(name, {}), pacing=pacing) for name in LINES}

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on `port` and the two after it (each on a port of its own when 0)."""
        for offset, line in enumerate(self.lines.values()):
            await line.start(host, port + offset if port else 0)

    async def stop(self) -> None:
        """Close every line."""
        for line in self.lines.values():
            await line.stop()
