"""Values to registers: what a user asks for, checked against the profile, as raw words."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import InvalidValueError
from .decoder import decode
from .schema import WIDTHS, Field, FieldType, Value, WordOrder, Writable

_SIGNED = (FieldType.S16, FieldType.S32)
# How far from a whole number of steps a value may be: float noise (0.1 + 0.2), no more.
_TOLERANCE = 1e-6


def allowed(field: Field) -> str:
    """What the field takes, as people read it: "1 - 90, step 1", or its options."""
    write = field.write
    if write is None or write.range is None:
        return ", ".join((field.options or {}).values())
    low, high = write.range
    return f"{low:g} - {high:g}, step {write.step or 1:g}"


def _code(field: Field, write: Writable, value: Value) -> int | None:
    """The raw integer for the value, if the profile allows the value."""
    if field.options is not None:
        return next((code for code, name in field.options.items() if name == value), None)
    if not isinstance(value, int | float) or isinstance(value, bool) or write.range is None:
        return None
    low, high = write.range
    steps = (value - low) / (write.step or 1)
    raw = value / field.scale
    bits = 16 * WIDTHS[field.type]
    lowest = -(1 << (bits - 1)) if field.type in _SIGNED else 0
    fits = (
        low <= value <= high
        and abs(steps - round(steps)) <= _TOLERANCE
        and abs(raw - round(raw)) <= _TOLERANCE
        and lowest <= round(raw) < lowest + (1 << bits)
    )
    return round(raw) if fits else None


def encode(field: Field, value: Value) -> list[int]:
    """The registers that hold the value, in the device's word order.

    Raises InvalidValueError when the profile does not allow the value (range, step,
    options) or the registers cannot hold it; ValueError for a field that is not writable.
    """
    if field.write is None:
        raise ValueError(f"{field.key} is not writable")
    code = _code(field, field.write, value)
    if code is None:
        raise InvalidValueError(field.write.group, field.key, value, allowed(field))
    code &= 0xFFFFFFFF
    words = [code >> 16, code & 0xFFFF] if WIDTHS[field.type] == 2 else [code & 0xFFFF]
    if field.word_order is WordOrder.LITTLE:
        words.reverse()
    return words


def allows(field: Field, registers: Mapping[int, int]) -> bool:
    """Whether the field's registers hold a value the profile allows writing to it.

    The value they decode to must encode back to the very same words (range, step, options).
    """
    value = decode(field, registers)
    if value is None:
        return False
    try:
        return encode(field, value) == [
            registers[span.address + i] for span in field.spans for i in range(span.count)
        ]
    except InvalidValueError:
        return False
