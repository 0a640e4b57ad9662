"""The ZSM-ETH-USB stick: Modbus over TCP, relayed to the inverter's RS485.

ZCS's guide describes its frames as RTU over TCP, ZCS Austria's help desk as Modbus TCP:
the simulated stick speaks either (--framing rtu | tcp).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from collections.abc import Callable
from enum import StrEnum
from typing import NamedTuple

from .faults import AnswerDamage, Faults, refused
from .modbus import (
    READ_HOLDING,
    READ_INPUT,
    WRITE_MULTIPLE,
    WRITE_SINGLE,
    Device,
    answer,
    exception_pdu,
    mbap_answer,
    mbap_request_size,
    mbap_unpack,
    rtu_answer,
    rtu_request_size,
    rtu_unpack,
)

# What something that is not a Modbus device might send back (here, a web server).
NOT_MODBUS = b"HTTP/1.1 400 Bad Request\r\n\r\n"


class Framing(StrEnum):
    """How requests and answers are framed on the TCP stream."""

    RTU = "rtu"  # unit, PDU, CRC
    TCP = "tcp"  # MBAP header (transaction id, protocol, length, unit), PDU


class _Codec(NamedTuple):
    """What a framing needs: split the stream, open a request, frame its answer."""

    request_size: Callable[[bytes], int | None]
    unpack: Callable[[bytes], tuple[int | None, bytes]]
    answer: Callable[[bytes, int, bytes], bytes]  # (request, unit, answer PDU)
    check_byte: int  # what a bad_crc fault damages: RTU's CRC, Modbus TCP's transaction id


_CODECS = {
    Framing.RTU: _Codec(rtu_request_size, rtu_unpack, rtu_answer, check_byte=-1),
    Framing.TCP: _Codec(mbap_request_size, mbap_unpack, mbap_answer, check_byte=1),
}


class EthStick:
    """Listens on TCP; every frame for its unit goes to the device, faults permitting."""

    # A logger stick passes on reads of both kinds and writes (the legacy HYD ES map needs
    # input registers, 0x04); a device that does not serve one answers so itself.
    functions = frozenset({READ_HOLDING, READ_INPUT, WRITE_SINGLE, WRITE_MULTIPLE})

    def __init__(self, device: Device, *, unit: int = 1, framing: Framing = Framing.RTU) -> None:
        """Nothing listens until start()."""
        self.device = device
        self.unit = unit
        self.framing = framing
        self._codec = _CODECS[framing]
        self.faults = Faults()
        self.requests = 0
        self.connections = 0  # accepted since start: how many clients it had to serve
        # Which answers the corrupt fault changes, and how: seeded, so a run can be repeated.
        self.random = random.Random(0)  # noqa: S311 (a simulated fault, not a secret)
        self.damage = AnswerDamage(self.random)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The port it listens on (chosen by the system when started on port 0)."""
        if self._server is None:
            raise RuntimeError("not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen for clients."""
        self._server = await asyncio.start_server(self._serve, host, port)

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        if self._server is None:
            return
        self._server.close()
        # Connections whose handler has not run yet, or is holding back an answer.
        self._server.close_clients()
        for handler in self._handlers:
            handler.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    def drop_clients(self) -> None:
        """Close the connections of all clients, as a logger does when it reboots."""
        for writer in list(self._writers):
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handler = asyncio.current_task()
        if handler is not None:
            self._handlers.add(handler)
        self._writers.add(writer)
        self.connections += 1
        buffer = b""
        try:
            while chunk := await reader.read(512):
                buffer += chunk
                while (size := self._codec.request_size(buffer)) is not None and len(
                    buffer
                ) >= size:
                    frame, buffer = buffer[:size], buffer[size:]
                    if not await self._handle(frame, writer):
                        return
        except OSError:
            pass
        finally:
            if handler is not None:
                self._handlers.discard(handler)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    @property
    def corrupted(self) -> int:
        """Read answers the corrupt and crossed faults changed."""
        return self.damage.corrupted

    async def _handle(self, frame: bytes, writer: asyncio.StreamWriter) -> bool:
        """Answer one request frame; False closes the connection."""
        self.requests += 1
        faults = self.faults
        if faults.drop:
            return False
        if faults.reset:
            # Linger 0: closing sends RST, as a logger that reboots mid-answer does.
            writer.transport.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            writer.transport.abort()
            return False
        unit, pdu = self._codec.unpack(frame)
        # On a bus, a frame that is damaged or for another unit gets no answer.
        if faults.swallows(pdu) or self.device.asleep or unit != self.unit:
            return True
        if faults.exception is not None:
            reply_pdu = exception_pdu(pdu[0], faults.exception)
        else:
            reply_pdu = answer(self.device, pdu, self.functions)
        if faults.lose_write_answer and reply_pdu[0] == WRITE_MULTIPLE:
            return False
        reply_pdu = self.damage.read(faults, refused(faults, reply_pdu))
        if faults.short and reply_pdu[0] == READ_HOLDING:
            reply_pdu = bytes([READ_HOLDING, reply_pdu[1] - 2]) + reply_pdu[2:-2]
        if (changed := self.damage.write(faults, reply_pdu)) is None:
            return True
        reply_pdu = changed
        if faults.wrong_function:
            # The same data as if answering "read input registers" (0x04).
            reply_pdu = bytes([0x04]) + reply_pdu[1:]
        reply = self._codec.answer(
            frame, self.unit + 1 if faults.wrong_unit else self.unit, reply_pdu
        )
        if faults.bad_crc:
            damaged = bytearray(reply)
            damaged[self._codec.check_byte] ^= 0xFF
            reply = bytes(damaged)
        if faults.garbage:
            reply = NOT_MODBUS
        if wait := faults.delay + random.uniform(0, faults.jitter):  # noqa: S311 (not crypto)
            await asyncio.sleep(wait)
        writer.write(reply)
        await writer.drain()
        return True
