"""The ZSM-WIFI-USB stick: Solarman V5 frames on TCP, and the answer to a LAN scan on UDP.

The stick is a Solarman logger: each request is a Modbus RTU frame wrapped in a V5 frame
naming the logger's serial (pysolarmanv5's docs, "Solarman V5 Protocol"). What the real
logger does, and this one imitates:
- a request naming another logger's serial gets a short answer under its own serial, with
  `06 00` where the Modbus frame goes (pysolarmanv5 #14, #87);
- when the inverter does not answer, the logger answers `05 00` there, after waiting for it
  (StephanJoubert/home_assistant_solarman #187, davidrapan/ha-solarman #451);
- it sends heartbeat frames (control code 0x4710) of its own, between answers
  (pysolarmanv5 #19);
- with the flags of LoggerFaults, what public captures show of real loggers
  (tests/captures/): the answers to its own polls under sequence number 00, other clients'
  answers, `00 00` after the Modbus frame, its module's AT reply on the socket;
- a UDP datagram `WIFIKIT-214028-READ` (or `HF-A11ASSISTHREAD`) to port 48899 is answered
  with `ip,mac,serial` (pysolarmanv5's utils/solarman_scan.py, ZCS's guide).
The Modbus side (the inverter, and the faults of simulator/faults.py) is the ETH stick's.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from dataclasses import dataclass, field

from .eth import EthStick, _Codec
from .modbus import READ_HOLDING, READ_INPUT, Device, rtu_frame, rtu_valid

START, END = 0xA5, 0x15
REQUEST, RESPONSE, HEARTBEAT = 0x4510, 0x1510, 0x4710
# Header (start, length, control code, sequence, serial) and trailer (checksum, end).
HEADER, TRAILER = 11, 2
# A request's payload before its Modbus frame: frame type, sensor type, three times.
REQUEST_PREFIX = 15
# What the logger puts where the Modbus answer goes: the inverter did not answer; the
# request named another logger.
INVERTER_SILENT = b"\x05\x00"
WRONG_LOGGER = b"\x06\x00"
SCAN_REQUESTS = (b"WIFIKIT-214028-READ", b"HF-A11ASSISTHREAD")
# The sequence number of the logger's own frames (pysolarmanv5 #107).
OWN = 0x00
# What a logger's WiFi module answers its AT query with, on the client's socket
# (StephanJoubert/home_assistant_solarman #367).
AT_REPLY = b"AT+YZCMPVER=MW3_16U_5406_2.27\r\n\r\n"
DEFAULT_LOGGER_SERIAL = 2712345678
DEFAULT_MAC = "98D863A1B2C3"


def checksum(frame: bytes | bytearray) -> int:
    """The V5 checksum: the byte sum of everything between start and checksum."""
    return sum(frame[1:-2]) & 0xFF


def v5_frame(control: int, sequence: bytes, serial: int, payload: bytes) -> bytes:
    """A whole V5 frame around `payload`."""
    header = struct.pack("<BHH2sI", START, len(payload), control, sequence, serial)
    frame = bytearray(header + payload + b"\0" + bytes([END]))
    frame[-2] = checksum(frame)
    return bytes(frame)


def v5_size(buffer: bytes) -> int | None:
    """The length of the V5 frame starting the buffer, once its length field is there."""
    if len(buffer) < 3:
        return None
    return HEADER + int.from_bytes(buffer[1:3], "little") + TRAILER


@dataclass
class LoggerFaults:
    """What the logger itself does on the wire; every field is a flag of `python -m simulator`.

    The last four are what real loggers do (tests/captures/ has the captures): a client
    that gets them right reads through them.
    """

    chatter: bool = field(
        default=False, doc="a heartbeat in the same segment before each answer (pysolarmanv5 #19)"
    )
    wrong_sequence: bool = field(default=False, doc="answer under another sequence number")
    bad_checksum: bool = field(default=False, doc="answer with a damaged V5 checksum")
    bad_rtu_crc: bool = field(default=False, doc="answer with a damaged CRC inside a good frame")
    own_frames: bool = field(
        default=False,
        doc="before each answer, an answer to a poll of its own under sequence number 00, of "
        "the same size where it has one (pysolarmanv5 #107)",
    )
    foreign_answers: bool = field(
        default=False,
        doc="before each answer, another client's answer of the same size "
        "(StephanJoubert/home_assistant_solarman #529)",
    )
    double_crc: bool = field(
        default=False, doc="00 00 after each Modbus answer: its CRC twice (pysolarmanv5 #62)"
    )
    at_noise: bool = field(
        default=False,
        doc="its module's AT reply on the socket before each answer "
        "(StephanJoubert/home_assistant_solarman #367)",
    )


class WifiStick(EthStick):
    """Listens on TCP for V5 frames, and on UDP for scans; the inverter is the ETH stick's."""

    def __init__(
        self,
        device: Device,
        *,
        unit: int = 1,
        logger_serial: int = DEFAULT_LOGGER_SERIAL,
        mac: str = DEFAULT_MAC,
    ) -> None:
        """Nothing listens until start()."""
        super().__init__(device, unit=unit)
        self.logger_serial = logger_serial
        self.mac = mac
        # What the scan answer gives as the stick's address (a test moves the stick).
        self.address = "127.0.0.1"
        # Seconds the logger waits for a silent inverter before it says so.
        self.inverter_wait = 0.05
        # Seconds between heartbeats on each connection; 0: none.
        self.heartbeat_interval = 0.0
        # The logger's own faults and quirks (the Modbus ones are in self.faults).
        self.logger = LoggerFaults()
        self._codec = _Codec(v5_size, self._unpack, self._answer, check_byte=-2)
        self._counter = 0
        # The last Modbus answer of each size: what its own polls and other clients get.
        self._answers: dict[int, bytes] = {}
        self._started = time.monotonic()
        self._scan: asyncio.DatagramTransport | None = None
        self.scans = 0  # scan requests answered

    async def start_scan_answer(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Answer scans on UDP at this port (0: one the system picks); the port."""
        loop = asyncio.get_running_loop()
        self._scan, _ = await loop.create_datagram_endpoint(
            lambda: _ScanAnswer(self), local_addr=(host, port)
        )
        scan_port: int = self._scan.get_extra_info("sockname")[1]
        return scan_port

    async def stop(self) -> None:
        """Stop listening on TCP and UDP."""
        if self._scan is not None:
            self._scan.close()
            self._scan = None
        await super().stop()

    def scan_answer(self) -> bytes:
        """What the stick answers a scan with."""
        return f"{self.address},{self.mac},{self.logger_serial}".encode()

    def frame(self, control: int, sequence: bytes, payload: bytes) -> bytes:
        """A V5 frame from this logger."""
        return v5_frame(control, sequence, self.logger_serial, payload)

    def answer_frame(self, request: bytes, modbus: bytes) -> bytes:
        """The V5 answer to a request, carrying `modbus` (an RTU frame or the logger's code)."""
        sequence = request[5] ^ 0xFF if self.logger.wrong_sequence else request[5]
        frame = self.response(sequence, modbus)
        if self.logger.bad_checksum:
            frame = frame[:-2] + bytes([frame[-2] ^ 0xFF, END])
        return frame

    def response(self, sequence: int, modbus: bytes) -> bytes:
        """An answer frame under this sequence number, carrying `modbus`."""
        self._counter = (self._counter + 1) & 0xFF
        uptime = int(time.monotonic() - self._started)
        # Frame type 2 (inverter), status 1, total working time, power-on time, offset.
        payload = struct.pack("<BBIII", 2, 1, 86400 + uptime, uptime, int(time.time()) - 86400)
        return self.frame(RESPONSE, bytes([sequence, self._counter]), payload + modbus)

    def heartbeat(self) -> bytes:
        """A heartbeat frame, as the logger sends unasked."""
        self._counter = (self._counter + 1) & 0xFF
        return self.frame(HEARTBEAT, bytes([0, self._counter]), b"\x00")

    def _valid_request(self, frame: bytes) -> bool:
        return (
            frame[0] == START
            and frame[-1] == END
            and frame[-2] == checksum(frame)
            and int.from_bytes(frame[3:5], "little") == REQUEST
            and len(frame) > HEADER + REQUEST_PREFIX + TRAILER
        )

    def _modbus(self, frame: bytes) -> bytes:
        return frame[HEADER + REQUEST_PREFIX : -TRAILER]

    def _unpack(self, frame: bytes) -> tuple[int | None, bytes]:
        modbus = self._modbus(frame)
        return (modbus[0], modbus[1:-2]) if rtu_valid(modbus) else (None, b"")

    def _answer(self, request: bytes, unit: int, pdu: bytes) -> bytes:
        modbus = rtu_frame(unit, pdu)
        self._answers[len(modbus)] = modbus
        if self.logger.bad_rtu_crc:
            modbus = modbus[:-1] + bytes([modbus[-1] ^ 0xFF])
        if self.logger.double_crc:
            modbus += b"\0\0"
        return self.answer_frame(request, modbus)

    def _others(self, request: bytes) -> bytes:
        """What the logger writes before an answer besides heartbeats: its quirks' frames.

        Its own poll's answer and another client's carry an earlier answer of the size this
        request's will have (a read's), so that only the sequence number tells them apart.
        """
        quirks = self.logger
        modbus = self._modbus(request)
        size = 5 + 2 * int.from_bytes(modbus[4:6]) if modbus[1] in (READ_HOLDING, READ_INPUT) else 0
        earlier = self._answers.get(size) or next(iter(self._answers.values()), None)
        written = AT_REPLY if quirks.at_noise else b""
        if earlier is not None and quirks.own_frames:
            written += self.response(OWN, earlier)
        if earlier is not None and quirks.foreign_answers:
            # Another client's number: neither this request's nor the logger's own.
            other = request[5] ^ 0x80
            written += self.response(other if other != OWN else 0x7F, earlier)
        return written

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        beat = None
        if self.heartbeat_interval:
            beat = asyncio.create_task(self._beat(writer))
        try:
            await super()._serve(reader, writer)
        finally:
            if beat is not None:
                beat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beat

    async def _beat(self, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while not writer.is_closing():
                await asyncio.sleep(self.heartbeat_interval)
                writer.write(self.heartbeat())

    async def _handle(self, frame: bytes, writer: asyncio.StreamWriter) -> bool:
        """Answer one V5 request; what the logger itself answers is answered here."""
        if not self._valid_request(frame):
            # The logger drops what is no V5 request.
            self.requests += 1
            return True
        if int.from_bytes(frame[7:11], "little") != self.logger_serial:
            self.requests += 1
            writer.write(self.answer_frame(frame, WRONG_LOGGER))
            return True
        unit, _ = self._unpack(frame)
        if not self.faults.silent and (self.device.asleep or unit != self.unit):
            self.requests += 1
            await asyncio.sleep(self.inverter_wait)
            writer.write(self.answer_frame(frame, INVERTER_SILENT))
            return True
        if self.logger.chatter:
            writer.write(self.heartbeat())
        writer.write(self._others(frame))
        return await super()._handle(frame, writer)


class _ScanAnswer(asyncio.DatagramProtocol):
    """Answers the scan datagram; ignores anything else."""

    def __init__(self, stick: WifiStick) -> None:
        self.stick = stick
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:
        if data.strip() in SCAN_REQUESTS and self.transport is not None:
            self.stick.scans += 1
            self.transport.sendto(self.stick.scan_answer(), addr)
