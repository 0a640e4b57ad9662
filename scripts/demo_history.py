"""The demo's past week: the simulated plant run through it, hour by hour, for the recorder.

A fresh demo would show an empty Energy dashboard for its first hour. Instead, before the
simulator starts, the same device model is run from a week ago up to the start of this hour
(`week()`): what its energy counters read at the end of each hour, decoded with the
integration's own profile, becomes one hourly statistic of the entity that shows the counter,
and the plant's state at the end becomes the simulator's memory (--memory), so the live
counters start where the week ends.

The imported sums start at 0 with the week. The recorder starts an entity's own sums at 0
from its first state (it goes on from the last five-minute statistic, and those cannot be
imported), so once the first five-minute statistic is there, the live sums are moved up by
the week's total (`recorder/adjust_sum_statistics`, as the Statistics page's "adjust sum"
does): then they continue the week's without a jump.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from custom_components.zcs_azzurro.api.profile.decoder import decode
from custom_components.zcs_azzurro.api.profile.schema import Field, Profile
from simulator.devices import DEVICES, Model

DAYS = 7
HOUR = 3600
# The plant is moved on a minute at a time: its sun and load curves change within the hour.
STEP = 60


@dataclass(frozen=True)
class Week:
    """Each counter's reading at the end of every hour of the week, and the plant at its end."""

    end: float  # the start of the hour the demo starts in
    start: dict[str, float]  # field key -> its reading when the week starts
    readings: dict[str, list[tuple[float, float]]]  # field key -> (hour start, reading at its end)
    memory: dict[str, Any]  # what the simulator takes up (Plant.memory())

    def total(self, key: str) -> float:
        """What the counter added up over the week: the sum its statistics end at."""
        return self.readings[key][-1][1] - self.start[key]


def _registers(device: Model, profile: Profile, field: Field) -> Mapping[int, int]:
    """The register bank the field is read from (function 0x04's own, where it is there)."""
    if profile.rules.is_input(field.spans[0]):
        inputs: dict[int, int] = getattr(device, "inputs", {})
        return inputs
    values: dict[int, int] = getattr(device, "values", {})
    return values


def week(name: str, profile: Profile, keys: Iterable[str], now: float) -> Week:
    """Run the device model `name` from DAYS ago to the start of this hour."""
    end = now - now % HOUR
    clock = [end - DAYS * 86400]
    # The model's own plant, sun and settings, on a clock of the week's.
    make: Callable[..., Model] = DEVICES[name]
    model = make(clock=lambda: clock[0])
    fields = [profile.field(key) for key in keys]
    readings: dict[str, list[tuple[float, float]]] = {field.key: [] for field in fields}
    start = {
        field.key: float(value)
        for field in fields
        if isinstance(value := decode(field, _registers(model, profile, field)), int | float)
    }
    while clock[0] < end:
        hour = clock[0]
        for _ in range(HOUR // STEP):
            clock[0] += STEP
            model.plant.advance(clock[0])
        model.refresh()
        for field in fields:
            value = decode(field, _registers(model, profile, field))
            if isinstance(value, int | float):
                readings[field.key].append((hour, float(value)))
    return Week(end, start, readings, model.plant.memory())


def statistics(start: float, readings: list[tuple[float, float]]) -> list[dict[str, Any]]:
    """Hourly rows for recorder/import_statistics: the reading, and the sum since the start."""
    return [
        {
            "start": datetime.fromtimestamp(hour, UTC).isoformat(),
            "state": reading,
            "sum": round(reading - start, 3),
        }
        for hour, reading in readings
    ]


def import_message(week: Week, key: str, entity_id: str, unit: str) -> dict[str, Any]:
    """The websocket command that gives the entity's statistics the week."""
    return {
        "type": "recorder/import_statistics",
        "metadata": {
            "has_sum": True,
            "mean_type": 0,
            "name": None,
            "source": "recorder",
            "statistic_id": entity_id,
            "unit_class": "energy",
            "unit_of_measurement": unit,
        },
        "stats": statistics(week.start[key], week.readings[key]),
    }


def adjust_message(week: Week, key: str, entity_id: str, unit: str, first: float) -> dict[str, Any]:
    """The command that moves the live sums (from 0 at the first reading) onto the week's.

    A live sum is the reading less the first one; the week's, the reading less the week's
    start: the difference is the same for every live statistic.
    """
    return {
        "type": "recorder/adjust_sum_statistics",
        "statistic_id": entity_id,
        "start_time": datetime.fromtimestamp(week.end, UTC).isoformat(),
        "adjustment": round(first - week.start[key], 3),
        "adjustment_unit_of_measurement": unit,
    }


def profile_of(name: str, profiles: Iterable[Profile], chosen: str | None) -> Profile:
    """The profile the integration reads the device model with.

    The one the user chose (a meter's), or the one its serial number's prefix names.
    """
    by_id = {profile.id: profile for profile in profiles}
    if chosen is not None:
        return by_id[chosen]
    model = DEVICES[name]()
    for profile in by_id.values():
        if profile.serial_prefixes:
            serial = decode(profile.serial, _registers(model, profile, profile.serial))
            if isinstance(serial, str) and profile.matches(serial):
                return profile
    raise LookupError(f"no profile reads {name}")


def starts_where_it_ends(week: Week, key: str, first: float, resolution: float) -> bool:
    """Whether the live counter's first reading is where the week's last one left it.

    The simulator starts from the week's end; the live reading comes seconds later, so it
    may be one step of the counter's resolution further on, never more, never less.
    """
    last = week.readings[key][-1][1]
    return -resolution / 2 <= first - last <= resolution * 1.5


def continues(week: Week, key: str, state: float, total: float) -> bool:
    """Whether a live statistic's sum goes on from the week's: sum less reading is the same.

    (The week's sums are its readings less its start; so must the live ones be.)
    """
    return abs((total - state) + week.start[key]) < 0.01
