"""Registers to values: types, word order, scale, sentinels and plausibility."""

from __future__ import annotations

import pytest

from custom_components.zcs_azzurro.api.profile.decoder import decimals, decode
from custom_components.zcs_azzurro.api.profile.schema import Field, FieldType, Span, WordOrder


def _field(kind: FieldType, count: int = 1, **extra: object) -> Field:
    return Field(key="x", type=kind, spans=(Span(0x10, count),), **extra)  # type: ignore[arg-type]


def _regs(*words: int) -> dict[int, int]:
    return dict(enumerate(words, start=0x10))


@pytest.mark.parametrize(
    ("field", "words", "value"),
    [
        (_field(FieldType.U16, scale=0.1), (2301,), 230.1),
        (_field(FieldType.U16, scale=0.01), (5003,), 50.03),
        (_field(FieldType.U16, scale=10), (334,), 3340),
        (_field(FieldType.S16, scale=-10), (0xFFD6,), 420),  # -42 raw: 420 W import
        (_field(FieldType.S16, scale=-10), (42,), -420),
        (_field(FieldType.S16, scale=-0.01), (0,), 0.0),
        (_field(FieldType.U32, 2, scale=0.1), (0x0002, 0xC836), 18232.6),  # high word first
        (_field(FieldType.U32, 2, word_order=WordOrder.LITTLE), (0xC836, 0x0002), 182326),
        (_field(FieldType.S32, 2), (0xFFFF, 0xFFFE), -2),
        (_field(FieldType.S32, 2, scale=0.01), (0x0000, 0x0001), 0.01),
        (_field(FieldType.U16, options={0: "off", 2: "on"}), (2,), "on"),
        (_field(FieldType.STR, 3), (0x5A50, 0x3145, 0x0000), "ZP1E"),
        (_field(FieldType.BITS, 2), (0b10, 0b1001), (2, 17, 20)),
        (_field(FieldType.BITS, 2), (0, 0), ()),
    ],
)
def test_decodes(field: Field, words: tuple[int, ...], value: object) -> None:
    decoded = decode(field, _regs(*words))
    assert decoded == value
    assert type(decoded) is type(value)


@pytest.mark.parametrize(
    ("field", "words"),
    [
        (_field(FieldType.U16), (0xFFFF,)),
        (_field(FieldType.S16), (0x7FFF,)),
        (_field(FieldType.S16), (0x8000,)),
        (_field(FieldType.U32, 2), (0xFFFF, 0xFFFF)),
        (_field(FieldType.S32, 2), (0x7FFF, 0xFFFF)),
        (_field(FieldType.S32, 2), (0x8000, 0x0000)),
        (_field(FieldType.BITS, 2), (0, 0xFFFF)),
    ],
)
def test_sentinels_are_no_value(field: Field, words: tuple[int, ...]) -> None:
    assert decode(field, _regs(*words)) is None


def test_values_outside_the_valid_range_are_no_value() -> None:
    soc = _field(FieldType.U16, valid=(0, 100))
    assert decode(soc, _regs(100)) == 100
    assert decode(soc, _regs(101)) is None


def test_an_unknown_option_is_no_value() -> None:
    assert decode(_field(FieldType.U16, options={0: "off"}), _regs(9)) is None


@pytest.mark.parametrize("words", [(0x0000, 0x0000), (0x01FF, 0x4142)])
def test_text_that_is_empty_or_not_printable_is_no_value(words: tuple[int, int]) -> None:
    assert decode(_field(FieldType.STR, 2), _regs(*words)) is None


def test_missing_registers_are_no_value() -> None:
    assert decode(_field(FieldType.U32, 2), _regs(1)) is None


def test_decimals_follow_the_scale() -> None:
    assert [decimals(s) for s in (0.01, 0.1, 1, 10, -10, -0.01, 100)] == [2, 1, 0, 0, 0, 2, 0]
