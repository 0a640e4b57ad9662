"""A Modbus TCP server that shares one device connection with other programs.

Reads answer from what the owner last read where fresh enough (`Unit.cached`); the rest
goes to the device one request at a time, so a client can delay the owner's own traffic
by one request at most. A client that floods waits for its answers: each connection has
one request in hand, and TCP holds back the rest; it gives the event loop back after each
answer and is served at most `rate` requests a second, so that one pipelining its requests
cannot hold Home Assistant up. A client that sends what is not Modbus TCP, sends nothing
for a while, or does not take its answers, is let go; past the client limit, or the limit
for one address, new ones are turned away. The device's silence and a link that is down
answer as a gateway's do (0x0B, 0x0A).

The framing here is ours, the PDUs tmodbus's: tmodbus's own server logs a warning for
every exception answer and every malformed frame, and has no client limit nor idle
timeout; what any program on the network sends must not fill the owner's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from tmodbus.exceptions import InvalidRequestError
from tmodbus.pdu import (
    ReadHoldingRegistersPDU,
    ReadInputRegistersPDU,
    WriteMultipleRegistersPDU,
    WriteSingleRegisterPDU,
)

from .errors import BusyError, DeviceError, LinkError, NoResponseError
from .transport.base import READ_HOLDING, READ_INPUT, WRITE_MULTIPLE, WRITE_SINGLE

_LOGGER = logging.getLogger(__name__)

# Modbus exception codes the proxy answers with (Modbus application protocol 7).
ILLEGAL_FUNCTION = 0x01
ILLEGAL_ADDRESS = 0x02
ILLEGAL_VALUE = 0x03
DEVICE_FAILURE = 0x04
DEVICE_BUSY = 0x06
GATEWAY_PATH = 0x0A
GATEWAY_TARGET = 0x0B

_MBAP = struct.Struct(">HHHB")
# Bytes of answers the system may hold for one client (it doubles what it is given).
_SEND_BUFFER = 1 << 15
# The largest PDU Modbus TCP carries (its length field counts the unit id too).
_MAX_PDU = 253
_PDUS: dict[int, Any] = {
    READ_HOLDING: ReadHoldingRegistersPDU,
    READ_INPUT: ReadInputRegistersPDU,
    WRITE_SINGLE: WriteSingleRegisterPDU,
    WRITE_MULTIPLE: WriteMultipleRegistersPDU,
}


class Refusal(Exception):  # noqa: N818 (an answer, not a failure)
    """The answer to a request is this Modbus exception code."""

    def __init__(self, code: int) -> None:
        """Keep the code."""
        super().__init__(f"Modbus exception {code:#04x}")
        self.code = code


class Unit(ABC):
    """What the proxy serves at one unit id."""

    # The function codes the way to the device carries.
    functions: frozenset[int]

    @abstractmethod
    def cached(self, function: int, address: int, count: int) -> list[int] | None:
        """The registers as last read, if all were and recently enough; else None."""

    @abstractmethod
    async def read(self, function: int, address: int, count: int) -> list[int]:
        """Read registers from the device."""

    @abstractmethod
    async def write(self, address: int, values: list[int], *, single: bool) -> None:
        """Write registers to the device (Refusal when they may not be)."""


@dataclass
class ProxyStats:
    """What the proxy did since it started."""

    served_from_cache: int = 0
    forwarded: int = 0
    # Answered with an exception of the proxy's own: not allowed, not valid, no such unit.
    refused: int = 0
    # Forwarded and failed: the device's exception, its silence, or the link down.
    failed: int = 0
    # Turned away (over the limit) or let go (not Modbus TCP, idle too long).
    dropped_clients: int = 0


class _Pace:
    """One client's share of the event loop: `rate` requests a second, after a burst as many.

    The loop is given back after every request, even one answered from the cache: a client
    that sends thousands of requests at once is then served among everything else.
    """

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._loop = asyncio.get_running_loop()
        self._allowance = rate
        self._at = self._loop.time()

    async def next(self) -> None:
        """Wait for the client's turn to send its next request."""
        now = self._loop.time()
        self._allowance = min(self._allowance + (now - self._at) * self.rate, self.rate) - 1
        self._at = now
        await asyncio.sleep(-self._allowance / self.rate if self._allowance < 0 else 0)


class ModbusProxy:
    """Serves Modbus TCP at `host`:`port` for the units in `units` (by unit id)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        max_clients: int,
        timeout: float,
        idle: float,
        per_address: int | None = None,
        rate: float = 50.0,
    ) -> None:
        """`timeout` bounds each request (queue included) and each answer's sending.

        `idle` bounds a client's silence; `per_address` the clients from one address (half
        the limit unless told); `rate` the requests a second one client is served.
        """
        self.host = host
        self.port = port
        self.max_clients = max_clients
        self.per_address = per_address or max(max_clients // 2, 1)
        self.timeout = timeout
        self.idle = idle
        self.rate = rate
        self.units: dict[int, Unit] = {}
        self.stats = ProxyStats()
        self.clients: dict[asyncio.Task[None], str] = {}
        # One forwarded request at a time, whichever client sent it.
        self._forward = asyncio.Lock()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen (OSError when the address cannot be bound, or the port is taken)."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port)

    async def stop(self) -> None:
        """Stop listening and let every client go."""
        if (server := self._server) is None:
            return
        self._server = None
        server.close()
        server.close_clients()
        for task in list(self.clients):
            task.cancel()
        await asyncio.gather(*self.clients, return_exceptions=True)
        await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        peer = writer.get_extra_info("peername")
        address = str(peer[0]) if peer else "?"
        same = sum(1 for client in self.clients.values() if client.rpartition(":")[0] == address)
        if len(self.clients) >= self.max_clients or same >= self.per_address:
            self.stats.dropped_clients += 1
            _LOGGER.debug(
                "Proxy %s:%s: client limit reached, turned %s away", self.host, self.port, address
            )
            writer.close()
            return
        self.clients[task] = f"{address}:{peer[1] if peer else '?'}"
        if (sock := writer.get_extra_info("socket")) is not None:
            # Answers are a few hundred bytes, one at a time: a small send buffer is plenty,
            # and a client that takes none of them is found out after kilobytes, not
            # megabytes (left alone, the system grows the buffer to several).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SEND_BUFFER)
        pace = _Pace(self.rate)
        try:
            while await self._one(reader, writer):
                await pace.next()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError) as err:
            if not isinstance(err, asyncio.IncompleteReadError) or err.partial:
                self.stats.dropped_clients += 1
            _LOGGER.debug("Proxy client %s left: %r", self.clients[task], err)
        finally:
            del self.clients[task]
            writer.close()
            try:
                async with asyncio.timeout(self.timeout):
                    await writer.wait_closed()
            except TimeoutError:
                # Answers it never took are still queued: drop them with the connection.
                writer.transport.abort()
            except OSError:
                pass

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the client is not speaking Modbus TCP."""
        async with asyncio.timeout(self.idle):
            header = await reader.readexactly(_MBAP.size)
        transaction, protocol, length, unit = _MBAP.unpack(header)
        if protocol != 0 or not 1 < length <= _MAX_PDU + 1:
            self.stats.dropped_clients += 1
            _LOGGER.debug("Proxy client sent no Modbus TCP header: %s", header.hex())
            return False
        async with asyncio.timeout(self.timeout):
            pdu = await reader.readexactly(length - 1)
        answer = await self._answer(unit, pdu)
        writer.write(_MBAP.pack(transaction, 0, len(answer) + 1, unit) + answer)
        # A client that does not take its answers is let go, its slot with it.
        async with asyncio.timeout(self.timeout):
            await writer.drain()
        return True

    async def _answer(self, unit_id: int, pdu: bytes) -> bytes:
        """The answer PDU: the registers, the write's echo, or a Modbus exception."""
        function = pdu[0]
        try:
            return await self._request(unit_id, function, pdu)
        except Refusal as refusal:
            self.stats.refused += 1
            code = refusal.code
        except TimeoutError:
            # Waited in the queue too long: the device was not asked.
            self.stats.refused += 1
            code = DEVICE_BUSY
        except (DeviceError, BusyError) as err:  # busy until the link's deadline: 0x06
            self.stats.failed += 1
            code = err.exception_code
        except NoResponseError:
            self.stats.failed += 1
            code = GATEWAY_TARGET
        except LinkError:
            self.stats.failed += 1
            code = GATEWAY_PATH
        _LOGGER.debug("Proxy: unit %s, function %#04x: exception %#04x", unit_id, function, code)
        return bytes([(function | 0x80) & 0xFF, code])

    async def _request(self, unit_id: int, function: int, pdu: bytes) -> bytes:
        if (unit := self.units.get(unit_id)) is None:
            raise Refusal(GATEWAY_PATH)
        if (kind := _PDUS.get(function)) is None or function not in unit.functions:
            raise Refusal(ILLEGAL_FUNCTION)
        try:
            request = kind.decode_request(pdu)
        except InvalidRequestError:
            raise Refusal(ILLEGAL_VALUE) from None
        if function in (READ_HOLDING, READ_INPUT):
            address, count = request.start_address, request.quantity
            if (words := unit.cached(function, address, count)) is None:
                async with self._turn():
                    words = await unit.read(function, address, count)
            else:
                self.stats.served_from_cache += 1
            return bytes(request.encode_response(words))
        single = function == WRITE_SINGLE
        values = [request.value] if single else list(request.values)
        address = request.address if single else request.start_address
        async with self._turn():
            await unit.write(address, values, single=single)
        return bytes(request.encode_response(values[0] if single else len(values)))

    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """Forward one request, after those before it; waiting at most the timeout.

        The request itself is bounded by the link's own timeout, not cut short here: once
        sent, only its answer says what the device did.
        """
        async with asyncio.timeout(self.timeout):
            await self._forward.acquire()
        try:
            self.stats.forwarded += 1
            yield
        finally:
            self._forward.release()
