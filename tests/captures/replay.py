"""A loopback server that plays a capture back: after each request, what the logger sent."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from enum import StrEnum

from .corpus import Capture, Sent

# V5: header (start, length, control code, sequence, serial) and trailer (checksum, end).
_V5_HEADER, _V5_TRAILER = 11, 2
_MBAP = 6
_WRITE_MULTIPLE = 0x10


class Wire(StrEnum):
    """How requests are framed on the socket."""

    V5 = "v5"
    MODBUS_TCP = "tcp"
    RTU = "rtu"


class Replay:
    """Answers the i-th request it reads with the capture's i-th exchange, on any connection.

    What a logger echoes is patched in (the V5 sequence number and checksum, the Modbus
    TCP transaction id); nothing else is changed.
    """

    def __init__(self, capture: Capture, wire: Wire) -> None:
        """Nothing listens until start()."""
        self.capture = capture
        self.wire = wire
        self.requests: list[bytes] = []  # what the link sent, in order
        self.connections = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        """Listen on loopback; the port."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        if self._server is not None:
            self._server.close()
            self._server.close_clients()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        with contextlib.suppress(asyncio.IncompleteReadError, OSError):
            while True:
                self.requests.append(await self._request(reader))
                exchanges = self.capture.exchanges
                if len(self.requests) > len(exchanges):
                    continue  # more requests than the capture has: it says nothing more
                for chunk in exchanges[len(self.requests) - 1].sent:
                    writer.write(self._patched(chunk))
                    await writer.drain()
        writer.close()

    async def _request(self, reader: asyncio.StreamReader) -> bytes:
        if self.wire is Wire.V5:
            head = await reader.readexactly(3)
            size = _V5_HEADER + int.from_bytes(head[1:3], "little") + _V5_TRAILER
            return head + await reader.readexactly(size - 3)
        if self.wire is Wire.MODBUS_TCP:
            head = await reader.readexactly(_MBAP)
            return head + await reader.readexactly(int.from_bytes(head[4:6]))
        head = await reader.readexactly(7)
        size = 9 + head[6] if head[1] == _WRITE_MULTIPLE else 8
        return head + await reader.readexactly(size - 7)

    def _patched(self, chunk: Sent) -> bytes:
        data = bytearray(chunk.data)
        if chunk.answers is None or chunk.answers >= len(self.requests):
            return bytes(data)
        request = self.requests[chunk.answers]
        if self.wire is Wire.V5:
            data[5] = request[5]
            data[-2] = sum(data[1:-2]) & 0xFF
        elif self.wire is Wire.MODBUS_TCP:
            data[:2] = request[:2]
        return bytes(data)


def answer_words(capture: Capture, exchange: int, wire: Wire, count: int) -> list[int]:
    """The registers the capture's answer to an exchange carries, read straight from its bytes."""
    (frame,) = [s.data for s in capture.exchanges[exchange].sent if s.answers == exchange]
    # Where the unit byte is; the registers follow it, the function and the byte count.
    start = {Wire.V5: 25, Wire.MODBUS_TCP: _MBAP, Wire.RTU: 0}[wire] + 3
    return list(struct.unpack(f">{count}H", frame[start : start + 2 * count]))
