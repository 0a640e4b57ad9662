"""Registers to values: type, word order, scale; sentinels and implausible values are None."""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from decimal import Decimal
from functools import cache

from .schema import Field, FieldType, Value, WordOrder

# What a register holds when the device has no value for it (never initialised, no data).
SENTINELS = {
    FieldType.U16: {0xFFFF},
    FieldType.S16: {0x7FFF, 0x8000},
    FieldType.U32: {0xFFFFFFFF},
    FieldType.S32: {0x7FFFFFFF, 0x80000000},
    FieldType.BITS: {0xFFFF},
}
_SIGN_BITS = {FieldType.S16: 16, FieldType.S32: 32}


@cache  # a profile has a handful of scales; each poll asks for every field's (cProfile)
def decimals(scale: float) -> int:
    """How many decimals a value read with this scale carries (0.01 -> 2, 10 -> 0)."""
    exponent = Decimal(str(scale)).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def scaled(raw: int, scale: float) -> int | float:
    """Raw x scale, rounded to the decimals the scale gives (no 230.10000000000002)."""
    if (digits := decimals(scale)) == 0:
        return round(raw * scale)
    # + 0.0 turns the -0.0 of a zero read with a negative scale into 0.0.
    return round(raw * scale, digits) + 0.0


def _words(field: Field, registers: Mapping[int, int]) -> list[int] | None:
    try:
        return [registers[a] for span in field.spans for a in range(span.address, span.end + 1)]
    except KeyError:
        return None


def _text(words: list[int]) -> str | None:
    raw = b"".join(word.to_bytes(2, "big") for word in words)
    text = raw.replace(b"\x00", b" ").decode("ascii", errors="replace").strip()
    return text if text and text.isprintable() and text.isascii() else None


def _bits(words: list[int]) -> tuple[int, ...]:
    """The numbers of the set bits, counting from 1 at bit 0 of the first register."""
    return tuple(
        16 * index + bit + 1
        for index, word in enumerate(words)
        for bit in range(16)
        if word >> bit & 1
    )


def decode(field: Field, registers: Mapping[int, int]) -> Value | None:
    """The field's value from the registers read, or None when there is no true value."""
    words = _words(field, registers)
    if words is None:
        return None
    if field.type is FieldType.STR:
        return _text(words)
    if field.type is FieldType.BITS:
        return None if any(w in SENTINELS[field.type] for w in words) else _bits(words)
    if field.word_order is WordOrder.LITTLE:
        words.reverse()
    raw = 0
    for word in words:
        raw = raw << 16 | word
    return _float(field, raw) if field.type is FieldType.F32 else _integer(field, raw)


def _integer(field: Field, raw: int) -> Value | None:
    """An integer reading: sentinel, sign, option or scaled value."""
    if raw in SENTINELS[field.type]:
        return None
    if (bits := _SIGN_BITS.get(field.type)) and raw >= 1 << (bits - 1):
        raw -= 1 << bits
    if field.options is not None:
        return field.options.get(raw)
    return plausible(field, scaled(raw, field.scale))


def _float(field: Field, raw: int) -> int | float | None:
    """A float32 reading, scaled; NaN and infinity (no reading) are None."""
    value: float = struct.unpack(">f", raw.to_bytes(4))[0]
    if not math.isfinite(value):
        return None
    # Seven significant digits are all a float32 holds: 230.1 stays 230.1, not 230.100006.
    exact = Decimal(f"{value:.7g}") * Decimal(str(field.scale))
    return plausible(field, float(exact) + 0.0)


def plausible(field: Field, value: int | float) -> int | float | None:
    """The value if it lies in the field's valid range."""
    if field.valid is not None and not field.valid[0] <= value <= field.valid[1]:
        return None
    return value
