"""Battery packs through the G3 BMS window: one pack at a time, chosen by a register write.

The G3 map passes its battery management systems' data through the window 0x9000-0x9FFF
(Modbus-G3 V1.38 5.2; research/modbus_maps.md 3.10). What the window shows is chosen by
writing 0x9020 (bits 0-7 the battery input, 8-11 the pack, 12-15 a fault number); the
pack's own data then reads from 0x9044 on, its first register echoing the selection once
the BMS has answered (wills106/homeassistant-solax-modbus plugin_sofar, battery_config:
select, wait, check the echo, read; it reads 0x900D for the layout: the high byte the packs
of each battery, the low byte the batteries). Each ZBT-5K / BTS-5K module has a BMS of its
own (ZCS knowledge base 516), whose state of charge and health read at 0x9012 and 0x9013.

A selection is a write: it needs the one connection, and must not be split from the reads
it selects for. The caller holds the link's turn (the coordinator's, which every poll,
write and forwarded request of the same endpoint takes) for a whole pack.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import DeviceError
from .profile.decoder import decode
from .profile.schema import Field, FieldType, Span, Value
from .transport.base import Link

SELECT = 0x9020
LAYOUT = Span(0x900D, 1)
# The selected BMS's summary (0x900E-0x9013) and the pack's data (0x9044-0x9074).
SUMMARY = Span(0x900E, 6)
PACK = Span(0x9044, 0x9074 - 0x9044 + 1)
ECHO = 0x9044
# How often, and how far apart (s), the echo is read again before a pack is given up.
ECHO_TRIES = 3
ECHO_WAIT = 0.3
# Requests one pack takes when its BMS answers at once: the selection, the pack's data, the
# summary, and the echo again.
PACK_REQUESTS = 4
# The most batteries and packs per battery the selection can name (its bits).
MAX_BATTERIES, MAX_PACKS = 8, 16


def _field(key: str, kind: FieldType, address: int, count: int = 1, **kwargs: object) -> Field:
    return Field(key, kind, (Span(address, count),), **kwargs)  # type: ignore[arg-type]


# What a pack shows: its cells' extremes, its temperatures, current, capacities, cycles, and
# its BMS's charge and health. Ranges keep a damaged answer from showing (LFP cells: 2-4 V).
FIELDS = (
    _field("pack_soc", FieldType.U16, 0x9012, valid=(0, 100)),
    _field("pack_soh", FieldType.U16, 0x9013, valid=(0, 100)),
    _field("pack_serial", FieldType.STR, 0x9048, 9),
    _field("pack_cell_voltage_max", FieldType.U16, 0x9069, scale=0.001, valid=(2.0, 4.0)),
    _field("pack_cell_voltage_min", FieldType.U16, 0x906A, scale=0.001, valid=(2.0, 4.0)),
    *(
        _field(f"pack_temperature_{n}", FieldType.S16, 0x906B + n - 1, scale=0.1, valid=(-40, 100))
        for n in range(1, 5)
    ),
    _field("pack_mos_temperature", FieldType.S16, 0x906F, scale=0.1, valid=(-40, 120)),
    _field("pack_current", FieldType.S16, 0x9071, scale=0.1, valid=(-200, 200)),
    _field("pack_remaining_capacity", FieldType.U16, 0x9072, scale=0.1, valid=(0, 1000)),
    _field("pack_full_capacity", FieldType.U16, 0x9073, scale=0.1, valid=(0, 1000)),
    _field("pack_cycles", FieldType.U16, 0x9074, valid=(0, 20000)),
)
# The cell temperatures are shown as their extremes.
TEMPERATURES = tuple(f"pack_temperature_{n}" for n in range(1, 5))


@dataclass(frozen=True)
class PackId:
    """A pack: the battery input it is on (from 0) and its place there (from 0)."""

    battery: int
    pack: int

    @property
    def selector(self) -> int:
        """What 0x9020 takes to show this pack (no fault number)."""
        return self.pack << 8 | self.battery


def layout(word: int) -> list[PackId]:
    """The packs the layout word (0x900D) tells of: high byte packs each, low byte batteries."""
    packs, batteries = word >> 8, word & 0xFF
    if not (0 < batteries <= MAX_BATTERIES and 0 < packs <= MAX_PACKS):
        return []
    return [PackId(battery, pack) for battery in range(batteries) for pack in range(packs)]


class BmsWindow:
    """Reads one unit's battery packs through the window; the caller holds the link's turn."""

    def __init__(self, link: Link, unit: int) -> None:
        """Nothing is read until asked."""
        self.link = link
        self.unit = unit
        self.echo_wait = ECHO_WAIT

    async def packs(self) -> list[PackId]:
        """The packs the unit reports; none where it has no window (an illegal address).

        Link failures raise: nothing is known then.
        """
        try:
            (word,) = await self.link.read_holding_registers(self.unit, LAYOUT.address, 1)
        except DeviceError:
            return []
        return layout(word)

    async def read(self, pack: PackId) -> dict[str, Value | None]:
        """Select the pack, then read it; all None if the window never showed it.

        The echo (0x9044) must name the pack both before and after the reads: a BMS that
        had not switched yet, or switched away meanwhile, gave another pack's data.
        """
        await self.link.write_registers(self.unit, SELECT, [pack.selector])
        registers: dict[int, int] = {}
        for attempt in range(ECHO_TRIES):
            if attempt:
                await asyncio.sleep(self.echo_wait)
            words = await self.link.read_holding_registers(self.unit, PACK.address, PACK.count)
            if words[0] == pack.selector:
                registers.update(zip(range(PACK.address, PACK.end + 1), words, strict=True))
                break
        else:
            return dict.fromkeys((f.key for f in FIELDS), None)
        summary = await self.link.read_holding_registers(self.unit, SUMMARY.address, SUMMARY.count)
        registers.update(zip(range(SUMMARY.address, SUMMARY.end + 1), summary, strict=True))
        (echo,) = await self.link.read_holding_registers(self.unit, ECHO, 1)
        if echo != pack.selector:
            return dict.fromkeys((f.key for f in FIELDS), None)
        return shown(registers)


def shown(registers: Mapping[int, int]) -> dict[str, Value | None]:
    """The pack's values from its registers: the cell temperatures as their extremes."""
    values = {field.key: decode(field, dict(registers)) for field in FIELDS}
    temperatures = [values.pop(key) for key in TEMPERATURES]
    numbers = [t for t in temperatures if isinstance(t, int | float)]
    values["pack_temperature_max"] = max(numbers) if numbers else None
    values["pack_temperature_min"] = min(numbers) if numbers else None
    return values
