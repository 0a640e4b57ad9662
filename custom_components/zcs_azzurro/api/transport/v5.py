"""Solarman V5 (the ZSM-WIFI-USB stick): Modbus RTU inside frames that name the logger.

pysolarmanv5 encodes our requests and checks the answers (start and end, V5 checksum,
sequence number, logger serial, control code, frame type); pymodbus builds and reads the
Modbus RTU frame inside, after its CRC is checked here. The socket is driven here, not by
pysolarmanv5's async client: that client takes one TCP read for one frame (a heartbeat
arriving in the same segment as an answer spoils the answer), reads the logger's "inverter
silent" answer as a Modbus exception, logs unexpected errors with a traceback, and
reconnects from background tasks that resend the last request on their own.

What the logger sends besides answers (pysolarmanv5's protocol notes, #19 there):
heartbeats (0x4710) and other frames of its own, between or before our answers; they are
skipped. A late answer carries an older sequence number and is skipped as well, so it is
never taken for the next request's; as the logger serves one request at a time, the
request after it waits for the late answers too, then for its own. Two answers the logger
gives itself, where the Modbus frame would be (StephanJoubert/home_assistant_solarman
#187, pysolarmanv5 #14 and #87): `05 00`, the inverter did not answer; `06 00` under the
logger's own serial, the request named another logger.

Quirks public captures show (tests/captures/ replays each through this link):
- loggers put answers to their own polls, and to other clients' requests, on every
  connection: the own ones under sequence number 00 (pysolarmanv5 #107), so no request
  goes out under 00; another client's under its number (StephanJoubert/
  home_assistant_solarman #529), skipped. None of them moves a request's deadline;
- some firmware appends `00 00` after a valid Modbus frame, the CRC applied twice
  (pysolarmanv5 #62, PR #65): stripped, as pysolarmanv5 does;
- Sofar firmware refuses a read of registers it does not serve with function byte 0x90
  (`01 90 02 cd c1`, MichaluxPL/Sofar_LSW3 #59), some without a valid CRC (`01 90 02 00 00`,
  davidrapan/ha-solarman #519; `01 90 02 00 03`, Sofar_LSW3 #20): a refusal, so the device
  reads around those registers.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU, ExceptionResponse, ModbusPDU
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    ReadInputRegistersRequest,
    WriteMultipleRegistersRequest,
    WriteSingleRegisterRequest,
)
from pysolarmanv5 import PySolarmanV5, V5FrameError

from ..errors import (
    ConnectError,
    ConnectionLostError,
    DeviceError,
    FrameError,
    InvalidHostError,
    LinkError,
    NoResponseError,
    UnconfirmedError,
    WrongLoggerError,
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
from .rtu import crc_valid, sofar_refusal

_LOGGER = logging.getLogger(__name__)

_START, _END = 0xA5, 0x15
_RESPONSE = 0x1510
# Header (start, length, control code, sequence, logger serial) and trailer (checksum, end).
_HEADER, _TRAILER = 11, 2
# An answer's payload before its Modbus frame: frame type, status, three times.
_ANSWER_PREFIX = 14
_INVERTER_SILENT = b"\x05\x00"
_READ_SIZE = 1024
# The longest payload an answer has: its prefix, the longest Modbus RTU frame (256 bytes)
# and a second CRC. A start byte whose length field says more starts no answer: it is
# skipped at once, not waited for (a hostile stream could announce 64 KiB each time).
_MAX_PAYLOAD = _ANSWER_PREFIX + 256 + 2
# The sequence number loggers give the frames of their own polls.
_LOGGERS_OWN = 0x00


class _Framing(PySolarmanV5):
    """pysolarmanv5's V5 frame encoder and decoder, without the socket it would open."""

    def _socket_setup(self, *args: Any, **kwargs: Any) -> None:
        """No socket: this object only frames."""

    def _get_next_sequence_number(self) -> int:
        """pysolarmanv5's next number, passing over the one of the logger's own frames."""
        number: int = super()._get_next_sequence_number()
        if number == _LOGGERS_OWN:
            number = super()._get_next_sequence_number()
        return number


@dataclass(frozen=True)
class V5Endpoint:
    """A logger: where it listens, and the serial its frames name."""

    host: str
    port: int
    logger_serial: int

    def __str__(self) -> str:
        """Host and port, as users write them."""
        return f"{self.host}:{self.port}"


class V5Connection:
    """One TCP connection to a logger; requests go one at a time, each checked.

    The connection opens on the first request and again after a failure; a connection the
    logger closed while idle (it does, and it reboots) gets one fresh try, unlogged.
    """

    def __init__(self, endpoint: V5Endpoint) -> None:
        """Nothing is opened until a request."""
        self.endpoint = endpoint
        self.users = 0
        self._framing = _Framing(endpoint.host, endpoint.logger_serial, logger=_LOGGER)
        self._lock = asyncio.Lock()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._buffer = bytearray()
        # Whether bytes that are no V5 frame came since the request was sent.
        self._garbage = False
        # Sequence numbers of requests that timed out whose answers the logger may still send.
        self._owed: set[int] = set()

    @property
    def connected(self) -> bool:
        """Whether a connection is open."""
        return self._writer is not None

    async def request(self, adu: bytes, *, timeout: float, stats: LinkStats) -> bytes:  # noqa: ASYNC109
        """Send a Modbus RTU frame; the RTU frame that answers it."""
        async with self._lock:
            reused = self.connected
            try:
                return await self._attempt(adu, timeout, stats)
            except ConnectionLostError:
                if not reused:
                    raise
                _LOGGER.debug("%s closed the idle connection; connecting again", self.endpoint)
                return await self._attempt(adu, timeout, stats)

    async def close(self) -> None:
        """Close the connection, if open."""
        async with self._lock:
            await self._disconnect()

    async def _attempt(self, adu: bytes, wait: float, stats: LinkStats) -> bytes:
        if self._writer is None:
            await self._connect(wait)
            stats.connects += 1
        try:
            return await self._exchange(adu, wait)
        except NoResponseError, WrongLoggerError:
            # Nothing is left half-read: the next answer is told by its sequence number.
            raise
        except LinkError:
            await self._disconnect()
            raise

    async def _connect(self, wait: float) -> None:
        endpoint = self.endpoint
        try:
            async with asyncio.timeout(wait):
                self._reader, self._writer = await asyncio.open_connection(
                    endpoint.host, endpoint.port
                )
        except socket.gaierror as err:
            raise InvalidHostError(f"{endpoint.host}: {err.strerror}") from err
        except TimeoutError as err:
            raise ConnectError(f"{endpoint}: no connection in {wait} s") from err
        except OSError as err:
            raise ConnectError(f"{endpoint}: {err.strerror or err}") from err
        self._buffer.clear()
        self._owed.clear()  # nothing comes late on a new connection
        _LOGGER.debug("Connected to logger %s at %s", endpoint.logger_serial, endpoint)

    async def _disconnect(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError as err:
                _LOGGER.debug("Closing %s: %s", self.endpoint, err)

    async def _exchange(self, adu: bytes, wait: float) -> bytes:
        assert self._writer is not None
        request = bytes(self._framing._v5_frame_encoder(adu))
        sequence = request[5]
        self._garbage = False
        # The logger serves one request at a time: while answers to requests that timed out
        # are still to come, it may be at those, and this one waits for them as well. Only
        # those move the deadline: frames of the logger's own polls, heartbeats and answers
        # to other clients do not, however many come.
        owed = set(self._owed)
        came = False
        loop = asyncio.get_running_loop()
        try:
            self._writer.write(request)
            await self._writer.drain()
            async with asyncio.timeout(wait * (1 + len(owed))) as bound:
                while (number := self._answer_number(frame := await self._next_frame())) != (
                    sequence
                ):
                    if number in owed:
                        owed.discard(number)
                        came = True
                        _LOGGER.debug("Skipping a late answer: %s", frame.hex(" "))
                        bound.reschedule(loop.time() + wait * (1 + len(owed)))
                    elif number is not None:
                        _LOGGER.debug("Skipping another request's answer: %s", frame.hex(" "))
                self._owed.clear()  # served in turn: what it owed came, or never will
                return self._modbus(frame)
        except TimeoutError as err:
            # This one's answer is owed now; earlier ones that did not come in all that
            # wait are not (a frozen stick: every request waits twice the timeout).
            self._owed = {sequence} | (owed if came else set())
            if self._garbage:
                raise FrameError(f"no V5 answer from {self.endpoint}, only other bytes") from err
            raise NoResponseError(f"no answer from {self.endpoint} in {wait} s") from err
        except OSError as err:
            raise ConnectionLostError(f"{self.endpoint}: {err.strerror or err}") from err

    async def _next_frame(self) -> bytes:
        """The next whole V5 frame on the stream; bytes that are none are skipped (noted)."""
        while (frame := self._take_frame()) is None:
            assert self._reader is not None
            if not (chunk := await self._reader.read(_READ_SIZE)):
                raise ConnectionLostError(f"{self.endpoint} closed the connection")
            self._buffer += chunk
            # A stream that keeps the reader's buffer full is read without a pause: give the
            # loop back between chunks.
            await asyncio.sleep(0)
        return frame

    def _take_frame(self) -> bytes | None:
        """The first whole frame in the buffer, taken out of it; None if none is whole yet.

        Each start byte is judged by its length field, then its end byte and checksum,
        before anything is copied; what starts no frame is dropped, so the buffer holds at
        most one frame in progress and each byte is looked at a bounded number of times.
        (The checksum keeps a start byte in other bytes from swallowing the answer after
        them: a real frame holds 0x15 in its length and control code as well as at its end.)
        """
        buffer = self._buffer
        at = buffer.find(_START)
        while at != -1 and len(buffer) - at >= 3:
            payload = int.from_bytes(buffer[at + 1 : at + 3], "little")
            end = at + _HEADER + payload + _TRAILER
            if payload <= _MAX_PAYLOAD:
                if len(buffer) < end:
                    break  # a frame in progress: wait for the rest
                if (
                    buffer[end - 1] == _END
                    and sum(buffer[at + 1 : end - 2]) & 0xFF == (buffer[end - 2])
                ):
                    self._skip(at)
                    frame = bytes(buffer[: end - at])
                    del buffer[: end - at]
                    return frame
            at = buffer.find(_START, at + 1)
        self._skip(len(buffer) if at == -1 else at)
        return None

    def _skip(self, count: int) -> None:
        if count:
            self._garbage = True
            del self._buffer[:count]

    def _answer_number(self, frame: bytes) -> int | None:
        """The sequence number an answer frame carries; None for the logger's other frames."""
        control = int.from_bytes(frame[3:5], "little")
        if control != _RESPONSE:
            _LOGGER.debug("Skipping the logger's frame %04x: %s", control, frame.hex(" "))
            return None
        return frame[5]

    def _modbus(self, frame: bytes) -> bytes:
        """The RTU frame a checked answer carries, or the error the logger's answer means."""
        serial = int.from_bytes(frame[7:11], "little")
        if serial != self.endpoint.logger_serial:
            raise WrongLoggerError(self.endpoint.logger_serial, serial)
        if frame[_HEADER + _ANSWER_PREFIX : -_TRAILER] == _INVERTER_SILENT:
            raise NoResponseError("the logger says the inverter does not answer")
        try:
            return self._framing._v5_frame_decoder(frame)
        except V5FrameError as err:
            raise FrameError(str(err)) from err

    def without_double_crc(self, rtu: bytes) -> bytes:
        """The RTU frame without the `00 00` some logger firmware appends, by pysolarmanv5's rule.

        A valid frame with its CRC applied again ends in `00 00` (pysolarmanv5 #62, PR #65):
        they are dropped only when what is left is a valid frame itself.
        """
        return self._framing._handle_double_crc(rtu)


class V5Registry:
    """One connection per logger, shared by every link to it, closed with the last link."""

    def __init__(self) -> None:
        """No connections yet."""
        self._connections: dict[V5Endpoint, V5Connection] = {}

    def acquire(self, endpoint: V5Endpoint) -> V5Connection:
        """The logger's connection, shared; release() it when done."""
        connection = self._connections.get(endpoint)
        if connection is None:
            connection = self._connections[endpoint] = V5Connection(endpoint)
        connection.users += 1
        return connection

    async def release(self, connection: V5Connection) -> None:
        """Let go of a connection; the last user closes it."""
        connection.users -= 1
        if connection.users == 0:
            self._connections.pop(connection.endpoint, None)
            await connection.close()

    def __len__(self) -> int:
        """How many loggers have a connection."""
        return len(self._connections)


class V5Link(Link):
    """Modbus to the inverter behind a logger, on the logger's shared connection.

    V5 carries any Modbus RTU frame: what the inverter refuses it answers with an exception.
    """

    functions = ALL_FUNCTIONS

    def __init__(
        self, registry: V5Registry, endpoint: V5Endpoint, unit_id: int, *, timeout: float
    ) -> None:
        """Share the logger's connection in `registry`."""
        self.registry = registry
        self.endpoint = endpoint
        self.unit_id = unit_id
        self.timeout = timeout
        self.stats = LinkStats()
        self._connection: V5Connection | None = registry.acquire(endpoint)
        self._framer = FramerRTU(DecodePDU(is_server=False))

    @property
    def connected(self) -> bool:
        """Whether the logger's connection is open."""
        return self._connection is not None and self._connection.connected

    async def read_holding_registers(self, unit: int, address: int, count: int) -> list[int]:
        """Read `count` holding registers (function 0x03)."""
        request = ReadHoldingRegistersRequest(address=address, count=count, dev_id=unit)
        return await self._read(request, count)

    async def read_input_registers(self, unit: int, address: int, count: int) -> list[int]:
        """Read `count` input registers (function 0x04)."""
        request = ReadInputRegistersRequest(address=address, count=count, dev_id=unit)
        return await self._read(request, count)

    async def write_register(self, unit: int, address: int, value: int) -> None:
        """Write one register (function 0x06); the inverter echoes the request."""
        request = WriteSingleRegisterRequest(address=address, registers=[value], dev_id=unit)
        answer = await self._write(request)
        if (answer.address, answer.registers) != (address, [value]):
            raise UnconfirmedError(
                WRITE_SINGLE, FrameError(f"write of {address:#06x} echoed as {answer.address:#06x}")
            )

    async def write_registers(self, unit: int, address: int, values: Sequence[int]) -> None:
        """Write registers (function 0x10); the inverter echoes address and count."""
        request = WriteMultipleRegistersRequest(
            address=address, registers=list(values), dev_id=unit
        )
        answer = await self._write(request)
        if (answer.address, answer.count) != (address, len(values)):
            raise UnconfirmedError(
                WRITE_MULTIPLE,
                FrameError(f"write of {len(values)} at {address:#06x} echoed otherwise"),
            )

    async def close(self) -> None:
        """Let go of the logger's connection."""
        if (connection := self._connection) is not None:
            self._connection = None
            await self.registry.release(connection)

    async def _write(self, request: ModbusPDU) -> ModbusPDU:
        """Send a write; once it went out, an answer that cannot be read leaves it unknown."""
        try:
            return await self._call(request, 8)
        except LinkError as err:
            raise unconfirmed(request.function_code, err) from err

    async def _read(self, request: ModbusPDU, count: int) -> list[int]:
        answer = await self._call(request, 5 + 2 * count)
        registers: list[int] = answer.registers
        return registers

    async def _call(self, request: ModbusPDU, size: int) -> ModbusPDU:
        """Send the request; its answer, `size` bytes of RTU when not an exception."""
        if request.dev_id != self.unit_id:
            raise ValueError(f"link bound to unit {self.unit_id}, asked for unit {request.dev_id}")
        if self._connection is None:
            raise ConnectionLostError("link closed")
        self.stats.requests += 1
        try:
            connection = self._connection
            rtu = await connection.request(
                self._framer.buildFrame(request), timeout=self.timeout, stats=self.stats
            )
            answer = self._decode(request, rtu, connection.without_double_crc(rtu), size)
        except LinkError as err:
            self.stats.failures += 1
            self.stats.last_error = f"{type(err).__name__}: {err}"
            raise
        if isinstance(answer, ExceptionResponse):
            raise DeviceError(request.function_code, answer.exception_code)
        return answer

    def _decode(self, request: ModbusPDU, rtu: bytes, unwrapped: bytes, size: int) -> ModbusPDU:
        """The answer's PDU, once the RTU frame is whole, for this unit and function.

        `unwrapped` is the frame without a second CRC: a logger that applies the CRC twice
        does so to a refusal as well.
        """
        function = request.function_code
        if (code := sofar_refusal(unwrapped, request.dev_id, function)) is not None:
            raise DeviceError(function, code)
        if len(rtu) != size:
            rtu = unwrapped
        exception = len(rtu) == 5 and rtu[1] == function | 0x80
        if not exception and (len(rtu) != size or rtu[1] != function):
            raise FrameError(f"no answer to function {function:#04x} in {rtu.hex()}")
        if not crc_valid(rtu):
            raise FrameError(f"wrong Modbus CRC in {rtu.hex()}")
        if rtu[0] != request.dev_id:
            raise FrameError(f"answer from unit {rtu[0]}, not {request.dev_id}")
        if function in (READ_HOLDING, READ_INPUT) and not exception and rtu[2] != size - 5:
            raise FrameError(f"{rtu[2]} bytes of registers, not {size - 5}")
        answer = self._framer.decoder.decode(rtu[1:-2])
        if answer is None:  # pragma: no cover - the checks above leave nothing to refuse
            raise FrameError(f"undecodable answer {rtu.hex()}")
        return answer
