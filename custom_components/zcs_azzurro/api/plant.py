"""A plant: inverters that belong together, and the meter at its grid connection, as one.

What each inverter makes or stores is its own, and the plant's is their sum (PV, battery,
the inverters' AC output). What crosses the grid connection is measured once: by the
meter there, or by the master inverter, which reads that meter (in a parallel system every
inverter may show the same meter's values: summing them would count the grid as many
times as there are inverters). The house is what the inverters give plus what the grid
gives. Nothing is a sum of some members: a member without a value leaves the plant's
without one, unavailable rather than wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .profile.schema import Value

# Per inverter, summed over the plant.
SUMMED_POWERS = ("pv_power", "inverter_power")
SUMMED_COUNTERS = (
    "pv_energy_total",
    "battery_charge_energy_total",
    "battery_discharge_energy_total",
)
# From the grid connection (the meter, or the master inverter), once.
GRID_POWER = "grid_power"
GRID_COUNTERS = ("grid_import_energy_total", "grid_export_energy_total")
# The plant's energy counters: never backwards (see PlantCounters).
COUNTERS = (*SUMMED_COUNTERS, *GRID_COUNTERS, "house_energy_total")
# What each inverter's battery inputs are read by: input 1, then inputs 2-8.
BATTERY_POWERS = ("battery_power", *(f"battery{k}_power" for k in range(2, 9)))
# A member's state of charge over its inputs, and what weighs it: capacity (Ah) x voltage.
SOC, AVERAGE_SOC = "battery_soc", "battery_average_soc"
CAPACITY, VOLTAGE = "battery_capacity", "battery_voltage"
# Decimals the plant's values keep: the members' finest (a meter's counters: 0.01 kWh).
DIGITS = 2


@dataclass(frozen=True)
class Member:
    """What one inverter of the plant showed last.

    `values` is empty for a member whose last poll failed. `batteries` are the battery
    power keys of the inputs it has reported; `rated` its rated power (W), if read.
    """

    values: Mapping[str, Value | None]
    batteries: tuple[str, ...] = ()
    rated: float | None = None

    def number(self, key: str) -> float | None:
        """The value of the field, if it is a number."""
        value = self.values.get(key)
        return float(value) if isinstance(value, int | float) else None


def _minus(value: float | None) -> float | None:
    return None if value is None else -value


def _sum(parts: Iterable[float | None]) -> float | None:
    numbers = list(parts)
    if any(part is None for part in numbers):
        return None
    return round(sum(part for part in numbers if part is not None), DIGITS)


def totals(
    inverters: Sequence[Member], grid: Mapping[str, Value | None]
) -> dict[str, float | None]:
    """The plant's values from its inverters' and its grid connection's (meter or master)."""
    values: dict[str, float | None] = {
        key: _sum(member.number(key) for member in inverters)
        for key in (*SUMMED_POWERS, *SUMMED_COUNTERS)
    }
    values["battery_power"] = _sum(
        member.number(key) for member in inverters for key in member.batteries
    )
    grid_values = Member(grid)
    values[GRID_POWER] = grid_values.number(GRID_POWER)
    for key in GRID_COUNTERS:
        values[key] = grid_values.number(key)
    values["house_power"] = _sum((values["inverter_power"], values[GRID_POWER]))
    pv, charge, discharge = (values[key] for key in SUMMED_COUNTERS)
    bought, sold = (values[key] for key in GRID_COUNTERS)
    # What came in (PV, battery, grid) less what went out (battery, grid): the house, and
    # the conversion losses on the way, as the inverters' own load counters count them.
    values["house_energy_total"] = _sum((pv, discharge, bought, _minus(charge), _minus(sold)))
    values[SOC] = _state_of_charge(inverters)
    values["rated_power"] = _sum(member.rated for member in inverters)
    return values


def _state_of_charge(inverters: Sequence[Member]) -> float | None:
    """The batteries' charge, each weighed by what it holds (Ah x V); None if one is unknown."""
    held = full = 0.0
    batteries = [member for member in inverters if member.batteries]
    for member in batteries:
        soc = member.number(AVERAGE_SOC if len(member.batteries) > 1 else SOC)
        capacity, volts = member.number(CAPACITY), member.number(VOLTAGE)
        if soc is None or capacity is None or volts is None:
            return None
        held += soc * capacity * volts
        full += capacity * volts
    if not batteries or not full:
        return None
    return round(held / full, 1)


class PlantCounters:
    """Keeps the plant's energy counters from ever going backwards.

    A sum of counters that never go backwards does not either. The house counter is a
    balance of five counters that tick at their own moments (0.1 kWh on an inverter): it
    can dip by a tick or two before the others catch up. Such a dip, within the counters'
    resolution, shows the last value until the balance passes it again; a larger drop is
    no value at all (a member's counter replaced, say), and Home Assistant never sees a
    total go down (which it would take for a new meter and count again in full).
    """

    def __init__(self, tolerance: float) -> None:
        """`tolerance` (kWh): the largest dip held; anything further back is unavailable."""
        self.tolerance = tolerance
        self._last: dict[str, float] = {}

    def seed(self, key: str, value: float) -> None:
        """Start from a value shown before (a restart)."""
        if value > self._last.get(key, float("-inf")):
            self._last[key] = value

    def apply(self, values: Mapping[str, float | None]) -> dict[str, float | None]:
        """The values, with each counter held or withheld where it went back."""
        checked = dict(values)
        for key in COUNTERS:
            value = values.get(key)
            if value is None:
                continue
            last = self._last.get(key)
            if last is None or value >= last:
                self._last[key] = value
            elif last - value <= self.tolerance:
                checked[key] = last
            else:
                checked[key] = None
        return checked
