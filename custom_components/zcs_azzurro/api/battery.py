"""Battery modes as the G3 hybrids' passive mode expresses them: three set-points.

In passive mode (storage mode 3) the inverter aims for a grid power (+ import) with a
battery power (+ charge) between a minimum and a maximum (Modbus-G3 protocol V1.38,
5.3.11). Every mode an energy manager asks for is those three numbers: self use is grid 0
with the battery's whole range, hold is grid 0 with no discharge, charging at P W is a
battery fixed at +P. The set-points live in RAM; the storage mode lives in EEPROM.

What a profile must have for this (its field keys) is named here; the numbers' bounds are
the profile's writable ranges of the set-points.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from .profile.schema import WIDTHS, Field, FieldType, Profile, Value, WordOrder

STORAGE_MODE = "storage_mode"
PASSIVE = "passive"
GRID = "passive_grid_power"
BATTERY_MIN = "passive_battery_min"
BATTERY_MAX = "passive_battery_max"
SETPOINTS = (GRID, BATTERY_MIN, BATTERY_MAX)
TIMEOUT = "passive_timeout"
TIMEOUT_ACTION = "passive_timeout_action"
# The timeout action that gives the inverter back its own mode (the one before passive).
BACK_TO_PREVIOUS = "previous_mode"


class BatteryMode(StrEnum):
    """What the battery is asked to do."""

    SELF_USE = "self_use"  # the inverter balances the house with the battery, as it would
    HOLD = "hold"  # no discharge: charge from surplus only
    CHARGE = "charge"  # at a power, from the grid if the sun does not give it
    DISCHARGE = "discharge"  # at a power, exported if the house does not take it
    GRID_TARGET = "grid_target"  # a grid power to aim for (+ import), with the whole range


# Modes that take a power.
POWERED = frozenset({BatteryMode.CHARGE, BatteryMode.DISCHARGE, BatteryMode.GRID_TARGET})


@dataclass(frozen=True)
class SetPoints:
    """Grid power (+ import), battery minimum and maximum (+ charge), in W, as written."""

    grid: int
    low: int
    high: int


@dataclass(frozen=True)
class Limits:
    """What the profile lets the set-points be: grid bounds, battery bounds (W)."""

    grid_low: int
    grid_high: int
    battery_low: int
    battery_high: int

    @classmethod
    def of(cls, profile: Profile) -> Limits:
        """The writable ranges of the profile's set-points (ValueError: it has none)."""
        ranges = [_range(profile, key) for key in SETPOINTS]
        if None in ranges:
            raise ValueError(f"{profile.id}: passive set-points without writable ranges")
        (grid_low, grid_high), (low, _), (_, high) = (r for r in ranges if r is not None)
        return cls(grid_low, grid_high, low, high)

    def clamp(self, points: SetPoints) -> SetPoints:
        """The set-points within the bounds: a client's "no limit" (0x7FFFFFFF) becomes ours.

        The inverter holds the battery to what it can take whatever is asked, so the bound
        asks the same as any larger number.
        """

        def within(value: int, low: int, high: int) -> int:
            return min(max(value, low), high)

        return SetPoints(
            within(points.grid, self.grid_low, self.grid_high),
            within(points.low, self.battery_low, self.battery_high),
            within(points.high, self.battery_low, self.battery_high),
        )

    def power_range(self, mode: BatteryMode) -> tuple[int, int]:
        """The powers a mode takes: charge and discharge up to the battery's bound."""
        if mode is BatteryMode.CHARGE:
            return 1, self.battery_high
        if mode is BatteryMode.DISCHARGE:
            return 1, -self.battery_low
        return self.grid_low, self.grid_high


@dataclass(frozen=True)
class BatteryCommand:
    """A mode, with its power where it takes one (W; for a grid target + is import)."""

    mode: BatteryMode
    power: int = 0

    def setpoints(self, limits: Limits) -> SetPoints:
        """The three set-points that ask for it."""
        low, high = limits.battery_low, limits.battery_high
        match self.mode:
            case BatteryMode.HOLD:
                return SetPoints(0, 0, high)
            case BatteryMode.CHARGE:
                return SetPoints(0, self.power, self.power)
            case BatteryMode.DISCHARGE:
                return SetPoints(0, -self.power, -self.power)
            case BatteryMode.GRID_TARGET:
                return SetPoints(self.power, low, high)
        return SetPoints(0, low, high)

    @classmethod
    def of(cls, points: SetPoints, limits: Limits) -> BatteryCommand | None:
        """The mode these set-points ask for, if they ask for one of ours."""
        whole = points.low <= limits.battery_low and points.high >= limits.battery_high
        if points.low == points.high > 0:
            return cls(BatteryMode.CHARGE, points.low)
        if points.low == points.high < 0:
            return cls(BatteryMode.DISCHARGE, -points.low)
        if points.grid == 0 and points.low == 0 and points.high >= limits.battery_high:
            return cls(BatteryMode.HOLD)
        if whole:
            if points.grid == 0:
                return cls(BatteryMode.SELF_USE)
            return cls(BatteryMode.GRID_TARGET, points.grid)
        return None


def _range(profile: Profile, key: str) -> tuple[int, int] | None:
    write = profile.field(key).write
    if write is None or write.range is None:
        return None
    return int(write.range[0]), int(write.range[1])


def supports(profile: Profile) -> bool:
    """Whether the profile has what battery control writes: passive mode and its timeout."""
    keys = {f.key for f in profile.fields if f.write is not None}
    if not {STORAGE_MODE, TIMEOUT, TIMEOUT_ACTION, *SETPOINTS} <= keys:
        return False
    modes = profile.field(STORAGE_MODE).options or {}
    actions = profile.field(TIMEOUT_ACTION).options or {}
    return (
        PASSIVE in modes.values()
        and BACK_TO_PREVIOUS in actions.values()
        and all(_range(profile, key) for key in SETPOINTS)
    )


def setpoints_of(values: Mapping[str, Value | None]) -> SetPoints | None:
    """The set-points a reading holds, if it holds all three."""
    found = [values.get(key) for key in SETPOINTS]
    numbers = [int(v) for v in found if isinstance(v, int | float)]
    return SetPoints(*numbers) if len(numbers) == len(SETPOINTS) else None


def setpoint_values(points: SetPoints) -> dict[str, Value]:
    """The set-points as the fields' values, to write."""
    return {GRID: points.grid, BATTERY_MIN: points.low, BATTERY_MAX: points.high}


def _raw(fld: Field, registers: Mapping[int, int]) -> int | None:
    """A field's number as its registers hold it, sign and scale applied, no sentinels.

    A program's 0x7FFFFFFF is "no limit" here, not the "no value" a reading would make of it.
    """
    words = [registers.get(a) for s in fld.spans for a in range(s.address, s.end + 1)]
    if None in words:
        return None
    if fld.word_order is WordOrder.LITTLE:
        words.reverse()
    raw = 0
    for word in words:
        raw = raw << 16 | (word or 0)
    bits = 16 * WIDTHS[fld.type]
    if fld.type in (FieldType.S16, FieldType.S32) and raw >= 1 << (bits - 1):
        raw -= 1 << bits
    return round(raw * fld.scale)


def setpoints_from_registers(profile: Profile, registers: Mapping[int, int]) -> SetPoints | None:
    """The set-points registers hold (as a program wrote them), if they hold all three."""
    found = [_raw(profile.field(key), registers) for key in SETPOINTS]
    numbers = [n for n in found if n is not None]
    return SetPoints(*numbers) if len(numbers) == len(SETPOINTS) else None
