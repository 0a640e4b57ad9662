"""Modbus RTU answers as real firmware writes them, beyond what the standard allows.

Each form is from public captures (replayed in tests/captures/); the links that carry RTU
frames whole (the WiFi stick's V5, and the RTU links through their library's errors) read
them here, so that every link means the same by the same bytes.
"""

from __future__ import annotations

from pymodbus.framer import FramerRTU

from .base import READ_HOLDING, READ_INPUT

# Sofar firmware refuses a read of registers it does not serve with this function byte (the
# exception form of 0x10), not with the read's own 0x83 or 0x84.
SOFAR_REFUSAL = 0x90
_ILLEGAL_ADDRESS = 0x02


def crc_valid(frame: bytes) -> bool:
    """Whether the frame's last two bytes are the CRC of the rest."""
    return len(frame) >= 4 and FramerRTU.check_CRC(frame[:-2], int.from_bytes(frame[-2:]))


def sofar_refusal(frame: bytes, unit: int, function: int) -> int | None:
    """The exception code of Sofar's refusal of a read, if the frame is one.

    `01 90 02 cd c1` (MichaluxPL/Sofar_LSW3 #59) is valid; two firmwares write the same
    refusal with CRC bytes that are none (`00 00`, davidrapan/ha-solarman #519; `00 03`,
    Sofar_LSW3 #20): without a valid CRC it is taken only as the illegal address all three
    say, a refusal that the device layer learns only when it repeats.
    """
    if (
        len(frame) != 5
        or frame[0] != unit
        or frame[1] != SOFAR_REFUSAL
        or function not in (READ_HOLDING, READ_INPUT)
    ):
        return None
    code = frame[2]
    return code if crc_valid(frame) or code == _ILLEGAL_ADDRESS else None
