"""A Modbus device read through its profile."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import DeviceError, NotZcsDeviceError, UnsupportedModelError
from .profile import planner
from .profile.decoder import decimals, decode, plausible
from .profile.schema import Field, FieldType, Profile, Span, Value
from .transport.base import Link

# Every ZCS serial number seen in the wild starts with Z (ZP1, ZP2, ZM2E, ZS2E, ZA3, ZE1E,
# ZM1E; research/modbus_maps.md section 3.1); Sofar's own start with S.
ZCS_SERIAL_START = "Z"


@dataclass(frozen=True)
class Reading:
    """What one read gave: values by key, the raw registers, and how they were asked for."""

    values: dict[str, Value | None]
    registers: dict[int, int]
    requests: tuple[Span, ...]
    refused: tuple[Span, ...]


class ModbusDevice:
    """One unit behind a link, read as its profile says."""

    def __init__(self, link: Link, unit: int, profile: Profile) -> None:
        """Nothing is read until asked."""
        self.link = link
        self.unit = unit
        self.profile = profile
        self._plans: dict[frozenset[str], tuple[tuple[Field, ...], tuple[Span, ...]]] = {}

    def plan(self, keys: Iterable[str]) -> tuple[tuple[Field, ...], tuple[Span, ...]]:
        """The fields to decode and the requests to send for these keys (kept for next time)."""
        wanted = frozenset(keys)
        if (cached := self._plans.get(wanted)) is None:
            fields = {key: self.profile.field(key) for key in wanted}
            for derived in [f for f in fields.values() if f.type is FieldType.SUM]:
                fields.update((part, self.profile.field(part)) for part in derived.sum_of)
            # Sums last: they are computed from the values of their parts.
            ordered = sorted(fields.values(), key=lambda f: f.type is FieldType.SUM)
            requests = planner.plan((span for f in ordered for span in f.spans), self.profile.rules)
            cached = self._plans[wanted] = (tuple(ordered), requests)
        return cached

    async def read(self, keys: Iterable[str]) -> Reading:
        """Read the fields with these keys; a block the device refuses leaves its fields None.

        Link failures raise: the device cannot be reached, so nothing read is worth keeping.
        """
        fields, requests = self.plan(keys)
        registers: dict[int, int] = {}
        refused: list[Span] = []
        for request in requests:
            try:
                words = await self.link.read_holding_registers(
                    self.unit, request.address, request.count
                )
            except DeviceError:
                refused.append(request)
                continue
            registers.update(zip(range(request.address, request.end + 1), words, strict=True))
        values: dict[str, Value | None] = {}
        for fld in fields:
            if fld.type is FieldType.SUM:
                values[fld.key] = self._sum(fld, values)
            else:
                values[fld.key] = decode(fld, registers)
        return Reading(values, registers, requests, tuple(refused))

    def _sum(self, field: Field, values: dict[str, Value | None]) -> float | int | None:
        parts = [values.get(key) for key in field.sum_of]
        numbers = [p for p in parts if isinstance(p, int | float)]
        if len(numbers) != len(parts):
            return None
        digits = max(decimals(self.profile.field(key).scale) for key in field.sum_of)
        total = round(sum(numbers), digits) if digits else round(sum(numbers))
        return plausible(field, total)


async def identify(link: Link, unit: int, profiles: Sequence[Profile]) -> tuple[Profile, str]:
    """Which profile maps the device, and its serial number.

    Raises NotZcsDeviceError when no ZCS serial number is where the profiles look for one,
    and UnsupportedModelError for a ZCS serial number no profile covers.
    """
    serials: dict[tuple[Span, ...], Value | None] = {}
    for profile in profiles:
        where = profile.serial.spans
        if where not in serials:
            reading = await ModbusDevice(link, unit, profile).read(["serial"])
            serials[where] = reading.values["serial"]
        serial = serials[where]
        if isinstance(serial, str) and profile.matches(serial):
            return profile, serial
    for serial in serials.values():
        if isinstance(serial, str) and serial.startswith(ZCS_SERIAL_START):
            raise UnsupportedModelError(serial)
    raise NotZcsDeviceError("no ZCS serial number where ZCS devices keep it")
