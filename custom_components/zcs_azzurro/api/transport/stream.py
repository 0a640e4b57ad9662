"""Modbus over one TCP stream: our own connection handling, pymodbus's frames and PDUs.

pymodbus's client logs every timeout at error level and reconnects in the background;
a sleeping inverter would fill the log every poll. Here a failure raises one typed
error and closes the socket, so a late answer can never be taken for the next one
(RTU frames carry no transaction id).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from contextlib import suppress
from typing import ClassVar, NoReturn

from pymodbus.exceptions import ModbusException
from pymodbus.framer import FRAMER_NAME_TO_CLASS, FramerType
from pymodbus.pdu import DecodePDU, ModbusPDU
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    ReadHoldingRegistersResponse,
    WriteMultipleRegistersRequest,
    WriteMultipleRegistersResponse,
)

from ..errors import (
    ConnectError,
    ConnectionLostError,
    DeviceError,
    FrameError,
    InvalidHostError,
    LinkError,
    NoResponseError,
)
from .base import Link, LinkStats

_READ_SIZE = 512


class StreamLink(Link):
    """A Modbus link over a TCP stream; subclasses choose the framing."""

    framer_type: ClassVar[FramerType]

    def __init__(self, host: str, port: int, *, timeout: float) -> None:
        """Connect lazily, on the first request."""
        self.host = host
        self.port = port
        self.timeout = timeout
        self.stats = LinkStats()
        self._framer = FRAMER_NAME_TO_CLASS[self.framer_type](DecodePDU(is_server=False))
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tid = 0

    async def read_holding_registers(self, unit: int, address: int, count: int) -> list[int]:
        """Read holding registers; the answer must hold exactly `count` of them."""
        request = ReadHoldingRegistersRequest(address=address, count=count, dev_id=unit)
        response = await self._execute(request)
        if not isinstance(response, ReadHoldingRegistersResponse) or (
            len(response.registers) != count
        ):
            await self._fail(FrameError(f"answer to a read of {count} registers: {response}"))
        return list(response.registers)

    async def write_registers(self, unit: int, address: int, values: Sequence[int]) -> None:
        """Write registers with function 0x10; the echo must name the same range."""
        request = WriteMultipleRegistersRequest(
            address=address, registers=list(values), dev_id=unit
        )
        response = await self._execute(request)
        if not isinstance(response, WriteMultipleRegistersResponse) or (
            (response.address, response.count) != (address, len(values))
        ):
            await self._fail(
                FrameError(f"answer to a write of {len(values)} registers: {response}")
            )

    async def close(self) -> None:
        """Close the connection; a later request opens a new one."""
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with suppress(OSError):
                await writer.wait_closed()

    async def _execute(self, request: ModbusPDU) -> ModbusPDU:
        self.stats.requests += 1
        reused = self._writer is not None
        try:
            try:
                response = await self._exchange(request)
            except ConnectionLostError:
                if not reused:
                    raise
                # A connection that sat idle may have been closed by the logger: one fresh try.
                await self.close()
                response = await self._exchange(request)
        except LinkError as err:
            await self._fail(err)
        if response.isError():
            raise DeviceError(request.function_code, response.exception_code)
        return response

    async def _fail(self, err: LinkError) -> NoReturn:
        self.stats.failures += 1
        self.stats.last_error = f"{type(err).__name__}: {err}"
        await self.close()
        raise err

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.stats.connects += 1
        try:
            async with asyncio.timeout(self.timeout):
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        except socket.gaierror as err:
            raise InvalidHostError(f"{self.host}: {err.strerror}") from err
        except TimeoutError as err:
            raise ConnectError(
                f"{self.host}:{self.port}: no connection in {self.timeout} s"
            ) from err
        except OSError as err:
            raise ConnectError(f"{self.host}:{self.port}: {err.strerror or err}") from err
        return self._reader, self._writer

    async def _exchange(self, request: ModbusPDU) -> ModbusPDU:
        if self._reader is None or self._writer is None:
            reader, writer = await self._connect()
        else:
            reader, writer = self._reader, self._writer
        self._tid = self._tid % 0xFFFF + 1
        request.transaction_id = self._tid
        try:
            writer.write(self._framer.buildFrame(request))
            await writer.drain()
        except OSError as err:
            raise ConnectionLostError(str(err)) from err
        received = b""
        deadline = asyncio.get_running_loop().time() + self.timeout
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    chunk = await reader.read(_READ_SIZE)
            except TimeoutError as err:
                if received:
                    raise FrameError(f"no valid frame in {received.hex()}") from err
                raise NoResponseError(f"no answer in {self.timeout} s") from err
            except OSError as err:
                raise ConnectionLostError(str(err)) from err
            if not chunk:
                raise ConnectionLostError("closed by the peer")
            received += chunk
            try:
                _, response = self._framer.handleFrame(
                    received, request.dev_id, request.transaction_id
                )
            except ModbusException as err:
                raise FrameError(str(err)) from err
            if response is not None:
                if response.function_code & 0x7F != request.function_code:
                    raise FrameError(f"answer with function {response.function_code:#04x}")
                return response


class RtuOverTcpLink(StreamLink):
    """Modbus RTU frames (with CRC) carried over TCP, as ZCS's guide says the ETH stick speaks."""

    framer_type = FramerType.RTU


class ModbusTcpLink(StreamLink):
    """Modbus TCP frames (MBAP header, transaction ids), as some ETH stick firmware speaks."""

    framer_type = FramerType.SOCKET
