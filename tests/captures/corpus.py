"""The corpus: bytes real loggers and sticks sent, as owners pasted them into public issues.

Each capture names its source (repository and issue or pull request), the equipment, what
the bytes mean and what our link does with them. The bytes are as the issue shows them
(hex here where the issue prints Python's bytes repr); a replay patches only what the
logger echoes from the request it answers: the V5 sequence number and checksum, the Modbus
TCP transaction id. Frames no request of ours asked for go out as they came.

An exchange is one request and what came after it. Where a capture shows only the answer,
the request is written as the read that answer fits, and said so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from custom_components.zcs_azzurro.api.errors import (
    DeviceError,
    FrameError,
    NoResponseError,
    UnconfirmedError,
    WrongLoggerError,
)


@dataclass(frozen=True)
class Sent:
    """A chunk the logger wrote, as captured; `answers`: the exchange whose request it answers.

    An answer gets that request's echo (sequence number or transaction id); a chunk with
    `answers` None goes out byte for byte.
    """

    hex: str
    answers: int | None = None

    @property
    def data(self) -> bytes:
        """The chunk's bytes."""
        return bytes.fromhex(self.hex)


@dataclass(frozen=True)
class Read:
    """The registers the answer carries; `named` are those the issue itself decodes."""

    named: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Fails:
    """The link raises this, its message matching, with these attributes."""

    error: type[Exception]
    match: str | None = None
    attributes: dict[str, object] = field(default_factory=dict)
    # What the link met, where the error keeps it (an unconfirmed write's `cause`).
    cause: type[Exception] | None = None


@dataclass(frozen=True)
class Exchange:
    """A request the capture's client sent (hex), what came back, and what it means.

    `ask` is (unit, function, address, count) for a capture that shows no request.
    """

    request: str | None
    sent: tuple[Sent, ...]
    expect: Read | Fails
    ask: tuple[int, int, int, int] | None = None


@dataclass(frozen=True)
class Capture:
    """One capture: where it is from, on what, what the bytes mean, what our link does."""

    name: str
    source: str
    device: str
    meaning: str
    ours: str
    exchanges: tuple[Exchange, ...]
    # The V5 request counter before the first request (a request numbered 00 would follow).
    counter: int | None = None


# Solarman V5: the WiFi stick (ZSM-WIFI-USB) and the loggers of its family.
V5 = (
    Capture(
        "own-poll-under-00",
        "jmccrohan/pysolarmanv5#107",
        "Solarman logger (serial 3594265720) in front of an inverter",
        "The logger puts the answer to its own poll of the inverter (112 registers) on the "
        "client's connection under sequence number 00; the client's request (SunSpec's "
        "0x9c40) gets the logger's `05 00`: the inverter did not answer.",
        "Never sends a request numbered 00 (the counter passes from ff to 01); skips the "
        "00 frame; the `05 00` is the inverter not answering (NoResponseError).",
        (
            Exchange(
                # The client wrapped a Modbus TCP frame; ours asks the same registers.
                None,
                (
                    # Turn 8: the logger's own frame, sequence 00.
                    Sent(
                        "a5 f3 00 10 15 00 2f 78 24 3c d6 02 01 e2 91 01 00 c4 06 00 00 42 f8"
                        " 7e 6a 01 03 e0 32 35 31 31 30 37 30 35 30 39 00 00 81 02 00 00 17 27"
                        " 00 00 a0 28 c3 7f 00 00 d4 c0 00 01 03 01 00 0e 00 ff 00 00 1a 08 0f"
                        " 12 2f 22 00 01 32 c8 15 16 00 00 00 00 00 00 00 0a 00 00 00 00 00 00"
                        " 00 00 3a 66 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 e1 00 00"
                        " 01 00 01 00 00 00 02 2e e0 00 00 00 00 3a 98 00 0a 00 00 00 1e 00 01"
                        " 00 01 00 02 01 2f 00 00 00 00 01 d3 00 00 02 2c 01 d2 01 cf 02 2c 00"
                        " 00 00 3c 00 1d 00 92 00 00 00 45 00 00 00 03 00 00 00 07 13 89 00 00"
                        " 00 00 00 00 00 00 01 32 01 d8 00 00 01 d2 00 00 03 e8 05 a7 05 d9 00"
                        " 01 00 00 07 d0 00 00 02 42 00 00 01 cf 00 00 0a 01 00 00 00 00 00 00"
                        " 00 00 00 00 00 00 00 c8 01 64 0a 78 00 14 0a 52 00 03 0b fc 00 0e 0d"
                        " 38 a0 15"
                    ),
                    # Turn 1: the logger's answer to the read of 0x9c40.
                    Sent(
                        "a5 10 00 10 15 36 1a 78 24 3c d6 02 01 1c 2b 01 00 8b 1e 00 00 34 f8"
                        " 7e 6a 05 00 40 15",
                        answers=0,
                    ),
                ),
                Fails(NoResponseError, "inverter does not answer"),
                ask=(1, 0x03, 0x9C40, 3),
            ),
        ),
        counter=0xFF,
    ),
    Capture(
        "another-clients-answer",
        "StephanJoubert/home_assistant_solarman#529",
        "Sofar inverter behind a logger with serial 2300026682 (23000xxxxx), two clients",
        "The answer to the other client's read of 0x0000-0x0027 (sequence da) reaches this "
        "client while its read of 0x0200-0x0245 waits: the integration that owned sequence "
        "da took it, this one raised 'invalid sequence number'.",
        "Skipped as another request's answer; no answer of its own comes: NoResponseError "
        "within the timeout, never the other read's registers.",
        (
            Exchange(
                "a5 17 00 10 45 08 00 3a 9f 17 89 02 00 00 00 00 00 00 00 00 00 00 00 00 00"
                " 00 01 03 02 00 00 46 c5 80 80 15",
                (
                    Sent(
                        "a5 63 00 10 15 da 73 3a 9f 17 89 02 01 56 82 2d 37 fe 04 00 00 98 53"
                        " b7 2e 01 03 50 00 02 00 00 00 00 00 00 00 00 00 00 07 36 01 0d 07 3d"
                        " 00 d5 00 31 00 27 00 54 00 00 17 6d 08 6e 01 88 00 00 00 00 00 00 00"
                        " 00 00 00 39 af 00 00 1c d7 0c 07 02 71 00 30 00 39 0d 7e 07 36 07 3d"
                        " 00 3c 00 00 00 01 00 00 08 6a 2e e0 2e e0 00 1c 59 99 f7 15"
                    ),
                ),
                Fails(NoResponseError, "no answer"),
            ),
        ),
    ),
    Capture(
        "another-clients-answer-same-length",
        "StephanJoubert/home_assistant_solarman#529",
        "Sofar inverter behind a logger with serial 2300026682, two clients",
        "The same answer (40 registers from 0x0000, sequence da), first as the other "
        "client's, then as the answer to this client's read of the same registers.",
        "Skips the one under sequence da although its size fits, takes its own: the "
        "registers, status 2 at 0x0000.",
        (
            Exchange(
                None,
                (
                    Sent(
                        "a5 63 00 10 15 da 73 3a 9f 17 89 02 01 56 82 2d 37 fe 04 00 00 98 53"
                        " b7 2e 01 03 50 00 02 00 00 00 00 00 00 00 00 00 00 07 36 01 0d 07 3d"
                        " 00 d5 00 31 00 27 00 54 00 00 17 6d 08 6e 01 88 00 00 00 00 00 00 00"
                        " 00 00 00 39 af 00 00 1c d7 0c 07 02 71 00 30 00 39 0d 7e 07 36 07 3d"
                        " 00 3c 00 00 00 01 00 00 08 6a 2e e0 2e e0 00 1c 59 99 f7 15"
                    ),
                    Sent(
                        "a5 63 00 10 15 da 73 3a 9f 17 89 02 01 56 82 2d 37 fe 04 00 00 98 53"
                        " b7 2e 01 03 50 00 02 00 00 00 00 00 00 00 00 00 00 07 36 01 0d 07 3d"
                        " 00 d5 00 31 00 27 00 54 00 00 17 6d 08 6e 01 88 00 00 00 00 00 00 00"
                        " 00 00 00 39 af 00 00 1c d7 0c 07 02 71 00 30 00 39 0d 7e 07 36 07 3d"
                        " 00 3c 00 00 00 01 00 00 08 6a 2e e0 2e e0 00 1c 59 99 f7 15",
                        answers=0,
                    ),
                ),
                Read({0x0000: 2, 0x0027: 0x001C}),
                ask=(1, 0x03, 0x0000, 40),
            ),
        ),
        # The other client's number: ours must not be it for the first frame to be foreign.
        counter=0x10,
    ),
    Capture(
        "sofar-refusal-0x90",
        "MichaluxPL/Sofar_LSW3#59",
        "Sofar G3 inverter behind an LSW-3, firmware LSW3_15_270A_1.6",
        "A read of 0x0000-0x0027, registers the G3 does not serve, refused with `01 90 02 "
        "cd c1`: exception code 02 (illegal data address) under function byte 0x90, CRC "
        "valid; the issue's script read the refusal as register values.",
        "A refusal of the read (DeviceError 0x03/0x02): the device reads around it.",
        (
            Exchange(
                "a5 17 00 10 45 00 00 cc 0d 3d a4 02 00 00 00 00 00 00 00 00 00 00 00 00 00"
                " 00 01 03 00 00 00 28 45 d4 00 15",
                (
                    Sent(
                        "a5 13 00 10 15 00 72 cc 0d 3d a4 02 01 b8 b1 8f 00 2d 26 00 00 f7 cd"
                        " b3 65 01 90 02 cd c1 af 15",
                        answers=0,
                    ),
                ),
                Fails(DeviceError, attributes={"function_code": 0x03, "exception_code": 0x02}),
            ),
        ),
    ),
    Capture(
        "sofar-refusal-0x90-no-crc",
        "MichaluxPL/Sofar_LSW3#20",
        "Sofar inverter behind an LSE-3 (Ethernet), firmware ME_0C_270A_1.05",
        "The same refusal as `01 90 02 00 03`: CRC bytes that are no CRC (ha-solarman#519 "
        "shows `01 90 02 00 00` from an LSW-3).",
        "A refusal (DeviceError 0x03/0x02), as illegal address is all it can say.",
        (
            Exchange(
                "a5 17 00 10 45 00 00 1a 65 e2 69 02 00 00 00 00 00 00 00 00 00 00 00 00 00"
                " 00 01 03 00 00 00 28 45 d4 00 15",
                (
                    Sent(
                        "a5 13 00 10 15 00 3d 1a 65 e2 69 02 01 28 b9 0c 00 6f 0f 00 00 92 c3"
                        " b3 61 01 90 02 00 03 ac 15",
                        answers=0,
                    ),
                ),
                Fails(DeviceError, attributes={"function_code": 0x03, "exception_code": 0x02}),
            ),
        ),
    ),
    Capture(
        "double-crc",
        "jmccrohan/pysolarmanv5#62, PR #65",
        "Deye inverter behind a logger with serial 1782345394 (LSW3_15_FFFF_1.0.9E family)",
        "A valid answer of 5 registers, `30 6e` its CRC, then `00 00`: the CRC applied "
        "twice. The registers are the inverter's serial, '2106234258'.",
        "Strips the `00 00` as pysolarmanv5 does: the 5 registers.",
        (
            Exchange(
                # PR #65 shows only the answer: the read it fits, of Deye's serial.
                None,
                (
                    Sent(
                        "a5 1f 00 10 15 bb 52 b2 6e 3c 6a 02 01 b0 17 ee 00 b4 1a 00 00 62 0e"
                        " b7 65 01 03 0a 32 31 30 36 32 33 34 32 35 38 30 6e 00 00 d6 15",
                        answers=0,
                    ),
                ),
                Read({0x0003: 0x3231, 0x0007: 0x3538}),  # "21" ... "58"
                ask=(1, 0x03, 0x0003, 5),
            ),
        ),
    ),
    Capture(
        "heartbeat-then-late-answer",
        "jmccrohan/pysolarmanv5#19",
        "Solarman logger with serial 2385267882 in front of an inverter",
        "A read of 0x00aa answered (0x010a); the next read gets a heartbeat (0x4710) in "
        "its answer's place; its answer (0x012a) comes after the read after it was sent.",
        "Answers the first; the heartbeat is skipped (NoResponseError at the timeout); the "
        "late answer is skipped by its number, never taken for the third read's.",
        (
            Exchange(
                "a5 17 00 10 45 97 00 aa 4c 2c 8e 02 00 00 00 00 00 00 00 00 00 00 00 00 00"
                " 00 01 03 00 aa 00 01 a4 2a 32 15",
                (
                    Sent(
                        "a5 15 00 10 15 97 6c aa 4c 2c 8e 02 01 b6 a6 0f 00 1b 27 00 00 53 76"
                        " 07 63 01 03 02 01 0a 39 d3 ed 15",
                        answers=0,
                    ),
                ),
                Read({0x00AA: 0x010A}),
            ),
            Exchange(
                "a5 17 00 10 45 98 00 aa 4c 2c 8e 02 00 00 00 00 00 00 00 00 00 00 00 00 00"
                " 00 01 03 00 aa 00 01 a4 2a 33 15",
                (Sent("a5 01 00 10 47 97 6d aa 4c 2c 8e 00 0c 15"),),
                Fails(NoResponseError, "no answer"),
            ),
            Exchange(
                "a5 17 00 10 45 d4 00 aa 4c 2c 8e 02 00 00 00 00 00 00 00 00 00 00 00 00 00"
                " 00 01 03 00 aa 00 01 a4 2a 6f 15",
                (
                    Sent(
                        "a5 15 00 10 15 98 6e aa 4c 2c 8e 02 01 d4 a6 0f 00 3a 27 00 00 53 76"
                        " 07 63 01 03 02 01 2a 38 0b 84 15",
                        answers=1,
                    ),
                ),
                Fails(NoResponseError, "no answer"),
            ),
        ),
    ),
    Capture(
        "input-registers",
        "jmccrohan/pysolarmanv5#19",
        "Solarman logger with serial 4088182226 in front of an inverter read by FC 0x04",
        "A read of 100 input registers from 0x80e8, answered whole in one frame (232 "
        "bytes); the inverter's serial '160F52217230151' in its words.",
        "The 100 registers.",
        (
            Exchange(
                "a5 17 00 10 45 19 00 d2 b5 ac f3 02 00 00 00 00 00 00 00 00 00 00 00 00 00"
                " 00 01 04 80 e8 00 64 58 15 eb 15",
                (
                    Sent(
                        "a5 db 00 10 15 19 c4 d2 b5 ac f3 02 01 ba ef 36 38 75 19 00 00 3b c7"
                        " dd 2b 01 04 c8 00 f5 00 25 00 35 00 01 31 36 30 46 35 32 32 31 37 32"
                        " 33 30 31 35 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
                        " 00 00 00 00 17 00 03 00 11 00 12 00 34 00 23 00 00 00 00 18 b0 00 00"
                        " 00 ee 00 00 00 eb 00 a9 00 69 00 00 02 bd 00 00 15 f3 00 00 00 00 00"
                        " 00 00 00 00 00 00 00 00 00 00 00 03 8c 00 00 03 e9 00 00 00 00 00 00"
                        " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
                        " 00 00 00 00 00 00 05 00 00 0e 74 00 00 09 13 00 00 00 00 00 0e 00 00"
                        " 00 00 00 00 01 54 00 00 00 00 00 00 01 4a 00 00 00 00 00 00 00 00 00"
                        " 00 00 00 00 00 00 34 01 3f 13 8d 00 03 f8 2f 00 00 00 08 00 00 8b 81"
                        " 08 15",
                        answers=0,
                    ),
                ),
                Read({0x80EC: 0x3136, 0x80F2: 0x3135}),  # "16" ... "15"
            ),
        ),
    ),
    Capture(
        "silent-inverter-burst",
        "StephanJoubert/home_assistant_solarman#80",
        "Sofar HYD 5000-ES behind a logger with serial 2356937823",
        "Three frames in one segment: `05 00` (the inverter did not answer) for an earlier "
        "request, a heartbeat, and `05 00` for this read of 0x0210.",
        "Skips the earlier answer and the heartbeat; the last says the inverter does not "
        "answer (NoResponseError): the device is asleep, not the link broken.",
        (
            Exchange(
                "a5 17 00 10 45 00 00 5f 04 7c 8c 02 00 00 00 00 00 00 00 00 00 00 00 00 00"
                " 00 01 03 02 10 00 04 44 74 ab 15",
                (
                    Sent(
                        "a5 10 00 10 15 00 ef 5f 04 7c 8c 02 01 ce 1e 00 00 b8 1c 00 00 26 5f"
                        " f2 62 05 00 30 15 a5 01 00 10 47 00 f0 5f 04 7c 8c 00 b3 15"
                    ),
                    Sent(
                        "a5 10 00 10 15 00 f1 5f 04 7c 8c 02 01 d0 1e 00 00 ba 1c 00 00 26 5f"
                        " f2 62 05 00 36 15",
                        answers=0,
                    ),
                ),
                Fails(NoResponseError, "inverter does not answer"),
            ),
        ),
    ),
    Capture(
        "silent-inverter-zcs",
        "davidrapan/ha-solarman#451",
        "Sofar HYD 3000-EP (read with the zcs_azzurro-hyd-zss-hp profile) behind an LSW-3",
        "The logger answers the read of 0x0404-0x042b with `05 00` after two seconds; its "
        "time fields are zero.",
        "The inverter does not answer (NoResponseError), as the client's 'exception 0x05' was not.",
        (
            Exchange(
                "a5 17 00 10 45 f7 00 63 85 c5 8e 02 00 00 00 00 00 00 00 00 00 00 00 00 00"
                " 00 01 03 04 04 00 28 05 25 fe 15",
                (
                    Sent(
                        "a5 10 00 10 15 f7 4c 63 85 c5 8e 02 01 3c 50 00 00 6f 06 00 00 00 00"
                        " 00 00 05 00 bc 15",
                        answers=0,
                    ),
                ),
                Fails(NoResponseError, "inverter does not answer"),
            ),
        ),
    ),
    Capture(
        "wrong-logger-serial",
        "jmccrohan/pysolarmanv5#14",
        "Solarman logger with serial 4068039735 in front of a micro inverter",
        "A request naming serial 2111130827 is answered `06 00` under the logger's own serial.",
        "WrongLoggerError naming both serials: the user is told which serial to enter.",
        (
            Exchange(
                "a5 17 00 10 45 00 00 cb 4c d5 7d 02 00 00 00 00 00 00 00 00 00 00 00 00 00"
                " 00 01 04 80 fe 00 06 38 38 d0 15",
                (
                    Sent(
                        "a5 10 00 10 15 00 04 37 5c 79 f2 02 01 f3 6d 04 00 64 00 00 00 00 00"
                        " 00 00 06 00 08 15",
                        answers=0,
                    ),
                ),
                Fails(WrongLoggerError, attributes={"asked": 2111130827, "answered": 4068039735}),
            ),
        ),
    ),
    Capture(
        "sofar-ktl-registers",
        "MichaluxPL/Sofar_LSW3#56",
        "Sofar inverter behind an LSW-3 with serial 2768798513, firmware LSW3_15_270A_1.68",
        "40 registers from 0x0000; the issue's script decodes status 3 (fault) and fault 4 "
        "code 0x0002.",
        "The 40 registers.",
        (
            Exchange(
                "a5 17 00 10 45 00 00 31 83 08 a5 02 00 00 00 00 00 00 00 00 00 00 00 00 00"
                " 00 01 03 00 00 00 28 45 d4 00 15",
                (
                    Sent(
                        "a5 63 00 10 15 00 15 31 83 08 a5 02 01 33 7a 05 00 80 05 00 00 eb c0"
                        " 2f 65 01 03 50 00 03 ff c1 05 81 ff ff 00 02 00 00 00 00 00 00 00 00"
                        " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
                        " 00 00 00 00 00 00 00 00 2d 00 00 00 2a 00 00 00 00 00 00 00 00 00 00"
                        " 00 32 00 00 00 00 00 00 00 00 00 00 02 02 00 00 1d 1f dd 15",
                        answers=0,
                    ),
                ),
                Read({0x0000: 3, 0x0004: 2}),
            ),
        ),
    ),
    Capture(
        "sofar-pv-inputs",
        "MichaluxPL/Sofar_LSW3#32",
        "Sofar inverter behind an LSW-3 with serial 1779905606, firmware LSW3_15_270A_1.32",
        "16 registers from 0x0010; the issue's decode starts at 0x0105 (string 2 at "
        "140.9 V is 0x0581).",
        "The 16 registers.",
        (
            Exchange(
                "a5 17 00 10 45 00 00 46 34 17 6a 02 00 00 00 00 00 00 00 00 00 00 00 00 00"
                " 00 01 03 00 10 00 10 45 c3 00 15",
                (
                    Sent(
                        "a5 33 00 10 15 00 bf 46 34 17 6a 02 01 b7 07 04 00 ae 1e 00 00 9f 17"
                        " 27 62 01 03 20 00 03 ff c0 05 81 ff ff 00 02 00 00 00 00 00 00 00 00"
                        " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 6c 79 33 15",
                        answers=0,
                    ),
                ),
                Read({0x0012: 0x0581}),
            ),
        ),
    ),
    Capture(
        "hyd-3ph-mqtt-firmware",
        "MichaluxPL/Sofar_LSW3#63",
        "Sofar HYD 5KTL-3PH behind an LSW-3 with serial 2960385083, LSW3_15_MQTT_270A_1.05",
        "33 registers from 0x0048, nearly all zero; the frame's checksum is 0x15, the end "
        "byte's value, right before the end byte.",
        "The 33 registers (a checksum equal to the end byte is no end).",
        (
            Exchange(
                "a5 17 00 10 45 00 00 3b e4 73 b0 02 00 00 00 00 00 00 00 00 00 00 00 00 00"
                " 00 01 03 00 48 00 21 05 c4 00 15",
                (
                    Sent(
                        "a5 55 00 10 15 00 3c 3b e4 73 b0 02 01 f7 e6 07 00 2f 0b 00 00 e1 4d"
                        " fc 66 01 03 42 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
                        " 00 00 04 04 04 04 03 03 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
                        " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
                        " 00 00 7a 96 15 15",
                        answers=0,
                    ),
                ),
                Read({0x0048: 0, 0x0052: 0x0404}),
            ),
        ),
    ),
    Capture(
        "hyd-ep-block",
        "MichaluxPL/Sofar_LSW3#39",
        "Sofar HYD 6000-EP behind an LSW-3 with serial 2301406605",
        "59 registers from 0x0400; the issue's decode: status 'Normal' at 0x0404, 225 "
        "minutes of generation today at 0x0426.",
        "The 59 registers.",
        (
            Exchange(
                "a5 17 00 10 45 00 00 8d ad 2c 89 02 00 00 00 00 00 00 00 00 00 00 00 00 00"
                " 00 01 03 04 00 00 3b 05 29 00 15",
                (
                    Sent(
                        "a5 89 00 10 15 00 54 8d ad 2c 89 02 01 61 a9 84 38 87 0c 00 00 30 6a"
                        " f1 2a 01 03 76 00 03 f9 c1 05 81 ff ff 00 02 00 00 00 00 00 00 00 00"
                        " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
                        " 00 00 00 00 00 00 00 00 25 00 00 00 15 00 00 00 00 00 00 00 00 00 00"
                        " 00 00 00 00 00 00 00 00 00 00 00 00 00 e1 00 03 09 9e 00 04 31 71 01"
                        " aa 00 16 00 0b 00 11 00 0b 00 39 00 14 00 00 00 00 00 00 00 00 00 00"
                        " 00 00 00 00 00 00 00 00 22 c4 45 15",
                        answers=0,
                    ),
                ),
                Read({0x0404: 2, 0x0426: 225}),
            ),
        ),
    ),
    Capture(
        "hyd-es-legacy-map",
        "MichaluxPL/Sofar_LSW3#16",
        "Sofar HYD3000-ES behind an LSW-3 with serial 1752134534",
        "A read of 0x0000-0x0027 (not the ES's map) gets `05 00`; an FC 0x04 read of "
        "0x2000-0x200d answers the serial 'SM1ES130LBL394' and versions V260, V100, V260.",
        "NoResponseError for the first (the inverter said nothing); the 14 input registers.",
        (
            Exchange(
                "a5 17 00 10 45 00 00 86 73 6f 68 02 00 00 00 00 00 00 00 00 00 00 00 00 00"
                " 00 01 03 00 00 00 28 45 d4 00 15",
                (
                    Sent(
                        "a5 10 00 10 15 00 b7 86 73 6f 68 02 01 30 45 00 00 9b 19 00 00 31 fe"
                        " 8c 61 05 00 09 15",
                        answers=0,
                    ),
                ),
                Fails(NoResponseError, "inverter does not answer"),
            ),
            Exchange(
                "a5 17 00 10 45 00 00 86 73 6f 68 02 00 00 00 00 00 00 00 00 00 00 00 00 00"
                " 00 01 04 20 00 00 0e 7a 0e 00 15",
                (
                    Sent(
                        "a5 2f 00 10 15 00 b6 86 73 6f 68 02 01 27 45 00 00 92 19 00 00 31 fe"
                        " 8c 61 01 04 1c 00 05 53 4d 31 45 53 31 33 30 4c 42 4c 33 39 34 56 32"
                        " 36 30 56 31 30 30 56 32 36 30 58 b9 81 15",
                        answers=1,
                    ),
                ),
                Read({0x2001: 0x534D, 0x2007: 0x3934}),  # "SM" ... "94"
            ),
        ),
    ),
    Capture(
        "at-command-noise",
        "StephanJoubert/home_assistant_solarman#367",
        "Logger with serial 4153169585, module firmware MW3_16U_5406_2.27",
        "The logger writes its module's AT reply 'AT+YZCMPVER=MW3_16U_5406_2.27' onto the "
        "socket in place of an answer.",
        "Bytes that are no V5 frame: skipped, and the request fails as a frame error "
        "('only other bytes') at the timeout, not as a crash or a hang.",
        (
            Exchange(
                "a5 17 00 10 45 17 00 b1 56 8c f7 02 00 00 00 00 00 00 00 00 00 00 00 00 00"
                " 00 01 03 00 01 00 7d d4 2b 90 15",
                (
                    Sent(
                        "41 54 2b 59 5a 43 4d 50 56 45 52 3d 4d 57 33 5f 31 36 55 5f 35 34 30"
                        " 36 5f 32 2e 32 37 0d 0a 0d 0a"
                    ),
                ),
                Fails(FrameError, "only other bytes"),
            ),
        ),
    ),
    Capture(
        "logger-bus-traffic",
        "davidrapan/ha-solarman#287",
        "Deye SUN600 micro inverter's logger (serial 4151439793)",
        "The logger puts its AT reply and its own bus traffic with the inverter (frames "
        "from address 0xaa) on the socket; no V5 answer.",
        "All skipped as bytes that are no V5 frame: a frame error at the timeout.",
        (
            Exchange(
                "a5 17 00 10 45 c0 00 b1 f1 71 f7 02 00 00 00 00 00 00 00 00 00 00 00 00 00"
                " 00 01 03 00 00 00 17 05 c4 1c 15",
                (
                    Sent(
                        "41 54 2b 59 5a 43 4d 50 56 45 52 3d 4d 57 33 5f 31 36 55 5f 35 34 30"
                        " 36 5f 32 2e 33 32 2d 44 31 0d 0a 0d 0a"
                    ),
                    Sent(
                        "aa 03 26 00 04 01 00 02 01 32 32 30 39 30 36 37 31 31 32 00 01 00 00"
                        " 12 0c 07 00 00 00 01 14 12 12 00 00 17 70 00 00 02 01 7c af"
                    ),
                    Sent("aa 03 0a 00 00 00 00 00 00 00 00 00 00 be 9c"),
                ),
                Fails(FrameError, "only other bytes"),
            ),
        ),
    ),
    Capture(
        "truncated-echo",
        "jmccrohan/pysolarmanv5#5",
        "Solarman logger with serial 1918411358, firmware ME_0C_0501_5.08",
        "The logger echoes the first nine bytes of the request (control code 0x4510, "
        "length 0x17) and stops: a frame that never completes.",
        "Waits for the frame within the request's timeout, no longer: NoResponseError.",
        (
            Exchange(
                "a5 17 00 10 45 00 00 5e a2 58 72 02 00 00 00 00 00 00 00 00 00 00 00 00 00"
                " 00 01 04 80 fe 00 06 38 38 31 15",
                (Sent("a5 17 00 10 45 03 00 de 02"),),
                Fails(NoResponseError, "no answer"),
            ),
        ),
    ),
)


# Modbus TCP: the ETH stick (ZSM-ETH-USB, Solarman's LSE-3) in its Modbus TCP mode.
MODBUS_TCP = (
    Capture(
        "lse3-battery-charge",
        "evcc-io/evcc#11454",
        "Sofar HYD 15 KTL behind an LSE-3 ('Sofar ModBus TCP LAN stick')",
        "A read of 0x0608 (SOC of battery 1) answered 0x0035: 53 %.",
        "The register.",
        (
            Exchange(
                "00 01 00 00 00 06 01 03 06 08 00 01",
                (Sent("00 01 00 00 00 05 01 03 02 00 35", answers=0),),
                Read({0x0608: 53}),
            ),
        ),
    ),
    Capture(
        "lse3-write-echo-with-rtu-crc",
        "evcc-io/evcc#11454",
        "Sofar HYD 15 KTL behind an LSE-3",
        "A write of 0x1212 to 0x104d answered with the echo, then the RTU CRC `95 1e` and "
        "eleven zeros, inside a Modbus TCP frame that says 19 bytes.",
        "An unconfirmed write (a frame error under it): the outcome is unknown, and the "
        "writer reads back what the inverter holds.",
        (
            Exchange(
                "00 02 00 00 00 09 01 10 10 4d 00 01 02 12 5c",
                (
                    Sent(
                        "00 02 00 00 00 13 01 10 10 4d 00 01 95 1e 00 00 00 00 00 00 00 00 00"
                        " 00 00",
                        answers=0,
                    ),
                ),
                Fails(UnconfirmedError, attributes={"function_code": 0x10}, cause=FrameError),
            ),
        ),
    ),
    Capture(
        "lse3-write-answer-cut-short",
        "evcc-io/evcc#33016",
        "Deye hybrid inverter behind an LSE-3, firmware ME_0E_5406_4.0E",
        "A write of 0x0019 to 0x007f answered `01 10 00`, three bytes where the echo of "
        "address and count is six; the inverter took the value (the owner read it back).",
        "An unconfirmed write (a frame error under it): the outcome is unknown, and the "
        "writer reads back what the inverter holds.",
        (
            Exchange(
                "00 01 00 00 00 09 01 10 00 7f 00 01 02 00 19",
                (Sent("00 01 00 00 00 03 01 10 00", answers=0),),
                Fails(UnconfirmedError, attributes={"function_code": 0x10}, cause=FrameError),
            ),
        ),
    ),
    Capture(
        "lse3-late-answer",
        "davidrapan/ha-solarman#465",
        "Sofar HYD 20KTL behind an LSE-3 (serial 2108113773) in Modbus TCP mode",
        "The answer to a read of 0x0404-0x042b that timed out (transaction f6a6) arrives "
        "while the same read (transaction 2898) waits, then that read's own.",
        "The late answer is dropped by its transaction id (same connection); the read "
        "gets its own: status 2 at 0x0404.",
        (
            Exchange(
                "f6 a6 00 00 00 06 01 03 04 04 00 28",
                (),
                Fails(NoResponseError),
            ),
            Exchange(
                "28 98 00 00 00 06 01 03 04 04 00 28",
                (
                    Sent(
                        "f6 a6 00 00 00 53 01 03 50 00 02 00 00 00 00 00 00 00 00 00 00 00 00"
                        " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
                        " 00 00 00 00 32 00 00 00 2c 00 00 00 00 00 00 00 00 00 00 00 2c 00 00"
                        " 00 00 00 00 00 00 00 00 00 d0 00 02 1f 4d 00 04 24 16 01 ad",
                        answers=0,
                    ),
                    Sent(
                        "28 98 00 00 00 53 01 03 50 00 02 00 00 00 00 00 00 00 00 00 00 00 00"
                        " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
                        " 00 00 00 00 32 00 00 00 2c 00 00 00 00 00 00 00 00 00 00 00 2c 00 00"
                        " 00 00 00 00 00 00 00 00 00 d0 00 02 1f 4d 00 04 24 16 01 ad",
                        answers=1,
                    ),
                ),
                Read({0x0404: 2, 0x0418: 0x32}),
            ),
        ),
    ),
)

# Modbus RTU: what the inverter puts on its RS485, as the V5 captures carry it whole; here
# through the ETH stick's RTU-over-TCP framing (the RS485 link's framing too).
RTU = (
    Capture(
        "sofar-refusal-0x90-rtu",
        "MichaluxPL/Sofar_LSW3#59",
        "Sofar G3 inverter; the RTU frame its LSW-3 relayed",
        "`01 90 02 cd c1`: the refusal, as the inverter sends it on RS485.",
        "A refusal of the read (DeviceError 0x03/0x02), as on the WiFi link.",
        (
            Exchange(
                "01 03 00 00 00 28 45 d4",
                (Sent("01 90 02 cd c1", answers=0),),
                Fails(DeviceError, attributes={"function_code": 0x03, "exception_code": 0x02}),
            ),
        ),
    ),
    Capture(
        "sofar-registers-rtu",
        "StephanJoubert/home_assistant_solarman#529",
        "Sofar inverter; the RTU frame its logger relayed",
        "40 registers from 0x0000, as the inverter sends them on RS485.",
        "The 40 registers.",
        (
            Exchange(
                "01 03 00 00 00 28 45 d4",
                (
                    Sent(
                        "01 03 50 00 02 00 00 00 00 00 00 00 00 00 00 07 36 01 0d 07 3d 00 d5"
                        " 00 31 00 27 00 54 00 00 17 6d 08 6e 01 88 00 00 00 00 00 00 00 00 00"
                        " 00 39 af 00 00 1c d7 0c 07 02 71 00 30 00 39 0d 7e 07 36 07 3d 00 3c"
                        " 00 00 00 01 00 00 08 6a 2e e0 2e e0 00 1c 59 99",
                        answers=0,
                    ),
                ),
                Read({0x0000: 2, 0x0027: 0x001C}),
            ),
        ),
    ),
)
