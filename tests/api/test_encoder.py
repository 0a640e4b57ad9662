"""Values to registers, and what a field says it takes."""

from __future__ import annotations

import pytest

from custom_components.zcs_azzurro.api.errors import InvalidValueError
from custom_components.zcs_azzurro.api.profile.decoder import decode
from custom_components.zcs_azzurro.api.profile.encoder import allowed, encode
from custom_components.zcs_azzurro.api.profile.schema import (
    Field,
    FieldType,
    Profile,
    Span,
    WordOrder,
    Writable,
)

LITTLE = Field(
    key="setpoint",
    type=FieldType.S32,
    spans=(Span(0x0100, 2),),
    scale=0.1,
    word_order=WordOrder.LITTLE,
    write=Writable(group="g", range=(-1e9, 1e9), step=0.1),
)


def test_what_is_encoded_decodes_to_the_same_value() -> None:
    words = encode(LITTLE, -12.3)
    assert words == [0xFF85, 0xFFFF]
    assert decode(LITTLE, dict(zip((0x0100, 0x0101), words, strict=True))) == -12.3


def test_a_value_the_registers_cannot_hold_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="setpoint takes"):
        encode(LITTLE, 1e9)


def test_a_read_only_field_cannot_be_encoded(profile: Profile) -> None:
    with pytest.raises(ValueError, match="not writable"):
        encode(profile.field("battery_soc"), 50)


def test_what_a_field_takes_reads_plainly(profile: Profile) -> None:
    assert allowed(profile.field("depth_of_discharge")) == "1 - 90, step 1"
    assert allowed(profile.field("output_limit")) == "0 - 100, step 0.1"
    assert allowed(profile.field("passive_timeout_action")) == "force_standby, previous_mode"
