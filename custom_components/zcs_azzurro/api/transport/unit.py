"""Modbus through a `modbus_connection` unit: the shared connection's requests, our errors.

Home Assistant hands out units on connections shared between integrations (one per
device, requests serialised and paced). This adapter keeps the `Link` interface the
device layer reads through, and says what went wrong in this package's terms.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import suppress
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from modbus_connection import (
    ModbusConnectionError,
    ModbusError,
    ModbusExceptionError,
    ModbusSerialParams,
    ModbusTcpParams,
    ModbusTimeoutError,
    ModbusUnit,
)

from ..errors import (
    BusyError,
    ConnectError,
    ConnectionLostError,
    DeviceError,
    FrameError,
    InvalidHostError,
    LinkError,
    NoResponseError,
    unconfirmed,
)
from .base import (
    ALL_FUNCTIONS,
    READ_HOLDING,
    READ_INPUT,
    WRITE_MULTIPLE,
    WRITE_SINGLE,
    Link,
    LinkStats,
)
from .rtu import sofar_refusal

# True while the running task makes a request through a UnitLink. asyncio runs a
# connection's callbacks in a copy of the context that opened it, so what a library logs
# from the connection our request opened can be told from its logging for anyone else's.
IN_LINK_REQUEST: ContextVar[bool] = ContextVar("zcs_azzurro_link_request", default=False)

_WRITES = frozenset({WRITE_SINGLE, WRITE_MULTIPLE})

# The line speed Home Assistant's `modbus` gives RTU carried over a socket: params equal
# to its own spelling of that link, so another integration on the stick shares it.
_SOCKET_BAUDRATE = 115200
# How late an answer can come, in timeouts after its request was sent (a busy inverter, a
# stick's serial side catching up: scripts/soak's late answers come at two).
LATE_ANSWERS = 3.0
# How often a serial port the library closed is tried again while its close is still under
# way (serialx closes it in a thread; until then the port's lock is held).
_PORT_RELEASE_STEP = 0.01


class LinkKind(StrEnum):
    """The wire formats, one per kind of endpoint (stored in config entries)."""

    RTU_OVER_TCP = "rtu_over_tcp"
    MODBUS_TCP = "modbus_tcp"
    RTU_SERIAL = "rtu_serial"


@dataclass(frozen=True)
class SerialLine:
    """How a serial line is set: 9600 baud, 8 data bits, no parity, 1 stop bit unless told."""

    baudrate: int = 9600
    bytesize: Literal[7, 8] = 8
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1


@dataclass(frozen=True)
class Endpoint:
    """Where a link goes, in which framing.

    For a serial port `host` is the port's device path, `port` is 0 and `line` its settings.
    """

    kind: LinkKind
    host: str
    port: int = 0
    line: SerialLine = SerialLine()

    def __str__(self) -> str:
        """Host and port, or the serial port, as users write them."""
        return self.host if self.kind is LinkKind.RTU_SERIAL else f"{self.host}:{self.port}"

    def params(self) -> ModbusTcpParams | ModbusSerialParams:
        """The connection parameters `modbus_connection` opens this endpoint with.

        RTU over TCP is a serial framing on a socket transport, which is how
        `modbus_connection` (and Home Assistant's `modbus`) spell it.
        """
        if self.kind is LinkKind.MODBUS_TCP:
            return ModbusTcpParams(host=self.host, port=self.port)
        if self.kind is LinkKind.RTU_SERIAL:
            line = self.line
            return ModbusSerialParams(
                device=self.host,
                framer="rtu",
                baudrate=line.baudrate,
                bytesize=line.bytesize,
                parity=line.parity,
                stopbits=line.stopbits,
            )
        host = f"[{self.host}]" if ":" in self.host else self.host
        return ModbusSerialParams(
            device=f"socket://{host}:{self.port}", framer="rtu", baudrate=_SOCKET_BAUDRATE
        )


class UnitLink(Link):
    """A `Link` over one unit of a shared `modbus_connection` connection.

    A request that failed (no answer, a bad one, busy) may still be answered, late, and a
    stick serves one request at a time. So the next request waits until answers to the
    failed one can no longer come (LATE_ANSWERS), on the same connection: tmodbus frames
    and drops an answer that arrives while nothing is asked of the unit, and RTU answers
    carry no transaction id to tell one that arrives after the next request went out from
    that request's own (a new Modbus TCP connection would number requests from 1 again).
    Two failures in a row on a socket start a new connection, after that wait: a stick can
    hang a connection. A serial port is kept: bytes left in a port it reopens would reach
    the next request first.
    """

    def __init__(
        self,
        unit: ModbusUnit,
        unit_id: int,
        *,
        kind: LinkKind,
        timeout: float,
        close: Callable[[], Awaitable[None]] | None = None,
        functions: frozenset[int] = ALL_FUNCTIONS,
        deadline: float | None = None,
    ) -> None:
        """Wrap `unit` (bound to `unit_id`, on a `kind` wire); `close` closes its connection.

        `close` is given when this link owns the connection. `functions` are the function
        codes the wire carries (the HUB's: 0x03 and 0x10). `deadline` bounds a request from
        the call to its answer: the shared connection asks a device that answers busy (0x06)
        again for up to a minute, inside the library and with no setting for it, and a poll
        should not wait that out (BusyError instead).
        """
        self.unit = unit
        self.unit_id = unit_id
        self.kind = kind
        self.timeout = timeout
        self.functions = functions
        self.deadline = deadline
        self.stats = LinkStats()
        self._close = close
        # Drops of the connection: what tells a connection lost from one never made.
        self._losses = 0
        # Requests in a row that failed with the connection up; when the next may go out.
        self._failed = 0
        self._quiet_until = 0.0
        # Whether a request was answered: the port (if serial) was ours.
        self._answered = False
        # The connection waits as long as its most patient unit asks.
        unit.require_timeout(timeout)
        self._unsubscribe: Callable[[], None] | None = unit.on_connection_lost(self._lost)

    async def read_holding_registers(self, unit: int, address: int, count: int) -> list[int]:
        """Read `count` holding registers (the backend checks the answer holds that many)."""
        return await self._call(
            unit, READ_HOLDING, lambda: self.unit.read_holding_registers(address, count)
        )

    async def read_input_registers(self, unit: int, address: int, count: int) -> list[int]:
        """Read `count` input registers (the backend checks the answer holds that many)."""
        return await self._call(
            unit, READ_INPUT, lambda: self.unit.read_input_registers(address, count)
        )

    async def write_register(self, unit: int, address: int, value: int) -> None:
        """Write one register with function 0x06."""
        await self._call(unit, WRITE_SINGLE, lambda: self.unit.write_register(address, value))

    async def write_registers(self, unit: int, address: int, values: Sequence[int]) -> None:
        """Write registers with function 0x10."""
        await self._call(
            unit, WRITE_MULTIPLE, lambda: self.unit.write_registers(address, list(values))
        )

    async def close(self) -> None:
        """Let go of the unit; close its connection if this link owns it."""
        if (unsubscribe := self._unsubscribe) is not None:
            self._unsubscribe = None
            unsubscribe()
        if (close := self._close) is not None:
            self._close = None
            await close()

    def _lost(self) -> None:
        self._losses += 1
        self.stats.losses += 1

    async def _call[T](self, unit: int, function: int, request: Callable[[], Awaitable[T]]) -> T:
        if unit != self.unit_id:
            raise ValueError(f"link bound to unit {self.unit_id}, asked for unit {unit}")
        if function not in self.functions:
            # Callers check `functions` first: a request the wire refuses is never sent.
            raise ValueError(f"this link does not carry function {function:#04x}")
        self.stats.requests += 1
        loop = asyncio.get_running_loop()
        if (quiet := self._quiet_until - loop.time()) > 0:
            await asyncio.sleep(quiet)
        sent = loop.time()
        reused = self.unit.connected
        in_request = IN_LINK_REQUEST.set(True)
        try:
            try:
                answer = await self._bounded(function, request, reused=reused)
            except ConnectionLostError:
                if not reused:
                    raise
                # A connection that sat idle may have been closed by the stick: one fresh try.
                answer = await self._bounded(function, request, reused=False)
            except ConnectError as err:
                if not self._closing_port(err):
                    raise
                answer = await self._reopened(function, request)
        except ModbusExceptionError as err:
            self._failed = 0
            raise DeviceError(function, int(err.exception_code or 0)) from err
        except LinkError as err:
            await self._fail(err, sent)
            if function in _WRITES:
                # Sent, a write whose answer is lost or unreadable may well have been done.
                raise unconfirmed(function, err) from err
            raise
        finally:
            IN_LINK_REQUEST.reset(in_request)
        self._failed = 0
        self._answered = True
        return answer

    def _closing_port(self, err: ConnectError) -> bool:
        """Whether the port would not open because our own close of it is still under way.

        modbus-connection closes the port on a frame it cannot place (Sofar's 0x90 refusal,
        a bad CRC) and the next request opens it again: found by scripts/soak --quirks.
        """
        return (
            self.kind is LinkKind.RTU_SERIAL
            and self._answered
            and any(isinstance(c, OSError) and c.errno == errno.EBUSY for c in _causes(err))
        )

    async def _reopened[T](self, function: int, request: Callable[[], Awaitable[T]]) -> T:
        """The request, sent once the port is released; ConnectError if held past the timeout."""
        loop = asyncio.get_running_loop()
        until = loop.time() + self.timeout
        while True:
            await asyncio.sleep(_PORT_RELEASE_STEP)
            try:
                return await self._bounded(function, request, reused=False)
            except ConnectError as err:
                if not self._closing_port(err) or loop.time() >= until:
                    raise

    async def _bounded[T](
        self, function: int, request: Callable[[], Awaitable[T]], *, reused: bool
    ) -> T:
        bound = asyncio.timeout(self.deadline)
        try:
            async with bound:
                return await self._attempt(function, request, reused=reused)
        except TimeoutError as err:
            if not bound.expired():
                raise
            raise BusyError(function, self.deadline or 0) from err

    async def _attempt[T](
        self, function: int, request: Callable[[], Awaitable[T]], *, reused: bool
    ) -> T:
        if not reused:
            self.stats.connects += 1
        losses = self._losses
        try:
            return await request()
        except ModbusExceptionError:
            raise
        except ModbusTimeoutError as err:
            if not self.unit.connected and not reused:
                raise ConnectError(str(err)) from err
            raise NoResponseError(str(err)) from err
        # serialx raises a bare OSError when the stick's close reaches the socket as a
        # request is written (found by scripts/soak): the connection was lost all the same.
        except (ModbusConnectionError, OSError) as err:
            if reused or self._losses != losses:
                raise ConnectionLostError(str(err)) from err
            if _caused_by(err, socket.gaierror):
                raise InvalidHostError(str(err)) from err
            raise ConnectError(str(err)) from err
        except ModbusError as err:
            if (code := self._refusal(err, function)) is not None:
                raise DeviceError(function, code) from err
            raise FrameError(str(err)) from err

    async def _fail(self, err: LinkError, sent: float) -> None:
        self.stats.failures += 1
        self.stats.last_error = f"{type(err).__name__}: {err}"
        if not isinstance(err, NoResponseError | FrameError | BusyError):
            self._failed = 0
            return
        self._failed += 1
        self._quiet_until = max(self._quiet_until, sent + LATE_ANSWERS * self.timeout)
        if self._failed > 1 and self.kind is not LinkKind.RTU_SERIAL:
            with suppress(ModbusError):
                await self.unit.disconnect()

    def _refusal(self, err: ModbusError, function: int) -> int | None:
        """The exception code, if what the library could not frame was Sofar's refusal.

        tmodbus reads the 0x90 of `01 90 02 cd c1` as another function's exception; the
        bytes it kept say which: the device refuses the read (see rtu.sofar_refusal).
        """
        received: bytes = getattr(err.__cause__, "response_bytes", b"")
        return sofar_refusal(received[:5], self.unit_id, function)


def _caused_by(err: BaseException, kind: type[BaseException]) -> bool:
    return any(isinstance(cause, kind) for cause in _causes(err))


def _causes(err: BaseException) -> Iterator[BaseException]:
    """The error and what caused it, down the chain."""
    cause: BaseException | None = err
    while cause is not None:
        yield cause
        cause = cause.__cause__ or cause.__context__
