"""A device report: the raw words of every block a profile reads, beside their values.

What an owner attaches to an issue to confirm a map, or correct it: each request a full
poll sends (disabled entities and settings too), the words the device answered (or its
refusal), what they decode to, and the words at every other address public sources give
for a field where they disagree with the map. Nothing in it identifies the owner: of the
serial number, only its first characters (the model's prefix) are shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from .device import ModbusDevice
from .errors import DeviceError, LinkError
from .profile.schema import Field, FieldType, Span, Value

# Characters of a serial number a report shows: the prefix that tells the model (ZP1E).
SERIAL_SHOWN = 4
FIRMWARE = ("software_version", "dsp_version", "hardware_version")


def _address(span: Span) -> str:
    return f"{span.address:#06x}"


class _Survey:
    """Reads a device's blocks once each, stopping at the first failure of its link."""

    def __init__(self, device: ModbusDevice) -> None:
        self.device = device
        self.registers: dict[int, int] = {}
        self.error: str | None = None
        # The serial number's registers past its prefix: never shown.
        self.hidden: set[int] = set()
        if device.profile.serial_prefixes:
            (span,) = device.profile.serial.spans
            self.hidden = set(range(span.address + SERIAL_SHOWN // 2, span.end + 1))

    async def read(self, span: Span, function: int | None = None) -> dict[str, Any]:
        """One request: its function, where, and the words or the refusal."""
        function = function or self.device.function_of(span)
        block: dict[str, Any] = {
            "function": f"{function:#04x}",
            "address": _address(span),
            "count": span.count,
        }
        if self.error is not None:
            block["error"] = "not asked: the link failed before"
            return block
        try:
            words = await self.device.read_raw(span, function)
        except DeviceError as err:
            block["error"] = f"exception {err.exception_code:#04x}"
            return block
        except LinkError as err:
            self.error = block["error"] = type(err).__name__
            return block
        shown = [
            None if address in self.hidden else word
            for address, word in zip(range(span.address, span.end + 1), words, strict=True)
        ]
        block["words"] = " ".join("----" if word is None else f"{word:04x}" for word in shown)
        self.registers.update(zip(range(span.address, span.end + 1), words, strict=True))
        return block


def _shown(fld: Field, value: Value | None) -> Value | None:
    return None if fld.key == "serial" else value


async def survey(
    device: ModbusDevice, identity: Mapping[str, Value | None] | None, model: str
) -> dict[str, Any]:
    """Read every block the profile reads, and each candidate address; the report."""
    profile = device.profile
    fields = [f for f in profile.identity + profile.fields if f.type is not FieldType.SUM]
    plan = device.plan(f.key for f in fields)
    reading = _Survey(device)
    blocks = [await reading.read(request) for request in plan.requests]
    values = device.decode(plan.fields, reading.registers)
    for block, batch in zip(blocks, plan.batches, strict=True):
        block["fields"] = {
            fld.key: _shown(fld, values.get(fld.key))
            for fld in plan.fields
            if any(span in batch for span in fld.spans)
        }
    candidates = []
    for fld in profile.identity + profile.fields:
        if (evidence := fld.evidence) is None:
            continue
        for address in evidence.addresses:
            said = next((d for d in evidence.differ if d.address == address), None)
            # As wide as the source reads it, else as the field (a derived one: one register).
            own = fld.spans[0].count if len(fld.spans) == 1 else 1
            count = said.count if said and said.count else own
            span = Span(address, count)
            block = await reading.read(span, said.function if said else None)
            if "words" in block and len(fld.spans) == 1 and count == own:
                moved = replace(fld, spans=(span,))
                block["value"] = _shown(fld, device.decode([moved], reading.registers)[fld.key])
            candidates.append({"field": fld.key, **block})
    serial = identity.get("serial") if identity else None
    return {
        "profile": profile.id,
        "model": model,
        "serial_prefix": serial[:SERIAL_SHOWN] if isinstance(serial, str) else None,
        "firmware": {key: identity[key] for key in FIRMWARE if identity and key in identity},
        "reads": {
            # What the link carries (the HUB's: no input registers, whatever the device has).
            "link_functions": [f"{code:#04x}" for code in sorted(device.link.functions)],
            "max_registers": device.max_registers,
            "profile_max_registers": profile.rules.max_registers,
            "input_blocks": [
                _address(b) for b in sorted(device.input_blocks, key=lambda b: b.address)
            ],
            "skipped_as_refused": [[_address(s), s.count] for s in plan.skipped],
            "fields_found_elsewhere": {
                key: _address(device.field(key).spans[0])
                for key in sorted(f.key for f in fields)
                if device.field(key) is not profile.field(key)
            },
        },
        "doubted": {
            fld.key: str(fld.evidence.status)
            for fld in profile.fields
            if fld.evidence is not None and fld.evidence.doubted
        },
        "blocks": blocks,
        "candidates": candidates,
        "error": reading.error,
    }
