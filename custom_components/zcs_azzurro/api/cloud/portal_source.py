"""The Azzurro Portal as a source: its answers as values keyed like a local device's.

The field map is data (portal_fields.yaml) and becomes a Profile, so the entities, their
availability, the counter guard, restore and translations are the local links' own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import yaml

from ..device import Reading
from ..errors import ProfileError
from ..profile.schema import (
    Counter,
    CounterKind,
    Field,
    FieldType,
    Presentation,
    Profile,
    ReadRules,
    Value,
)
from .portal import History, Realtime

FIELDS_FILE = Path(__file__).parent / "portal_fields.yaml"
ALARM_KEY = "alarm"
# The Portal updates about every 5 minutes; a device it has not heard from for this long
# (s) is not showing what happens now: its powers are unavailable, its totals hold.
STALE_AFTER = 1800.0
# How far back a new entry's counters look for samples that confirm their first value.
RECENT = timedelta(minutes=30)


class CloudClient(Protocol):
    """What a cloud source asks its service (the Portal's and the System's clients alike)."""

    max_span: timedelta

    async def realtime(self, thing_key: str, *, alarms: bool = False) -> Realtime:
        """The device's newest values; with `alarms`, its active alarms."""
        ...

    async def historic(self, thing_key: str, start: datetime, end: datetime) -> History:
        """The samples between start and end (at most max_span apart)."""
        ...


@dataclass(frozen=True)
class PortalMap:
    """The Portal's fields as a profile, and the JSON name of each field key."""

    profile: Profile
    names: Mapping[str, str]

    def narrowed(self, names: Iterable[str]) -> PortalMap:
        """Only the fields with these JSON names: the ones a device answers."""
        present = set(names)
        fields = tuple(f for f in self.profile.fields if self.names[f.key] in present)
        return PortalMap(
            replace(self.profile, fields=fields), {f.key: self.names[f.key] for f in fields}
        )


def _decimals(step: float) -> int:
    return next((digits for digits in range(7) if round(step, digits) == step), 6)


def load_portal_map(path: Path = FIELDS_FILE) -> PortalMap:
    """Read the Portal's field map; a bad one is an error naming the file and field."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    fields: list[Field] = []
    names: dict[str, str] = {}
    for index, item in enumerate(document["fields"]):
        try:
            fields.append(_field(item))
        except (KeyError, TypeError, ValueError) as err:
            raise ProfileError(path.name, None, f"fields[{index}]", f"invalid: {err}") from err
        names[fields[-1].key] = item["json"]
    profile = Profile(
        id=document["id"],
        name=document["name"],
        manufacturer=document["manufacturer"],
        model=document["name"],
        sources=tuple(document["sources"]),
        serial_prefixes=(),
        rules=ReadRules(max_registers=1, blocks=()),
        identity=(),
        fields=tuple(fields),
    )
    return PortalMap(profile, names)


def _field(item: Mapping[str, Any]) -> Field:
    resolution = float(item.get("resolution", 1))
    counter = item.get("counter")
    platform = item.get("platform", "sensor")
    return Field(
        key=item["key"],
        type=FieldType.CLOUD,
        # The guard's allowance of one count is the field's resolution.
        scale=resolution,
        counter=Counter(CounterKind(counter["kind"]), float(counter["max_rate"]))
        if counter
        else None,
        presentation=Presentation(
            platform=platform,
            device_class=item.get("device_class"),
            state_class=item.get("state_class"),
            unit=item.get("unit"),
            precision=_decimals(resolution) if platform == "sensor" else None,
            enabled=bool(item.get("enabled", True)),
            category=item.get("category"),
        ),
    )


class PortalSource:
    """One device of a cloud account (its serial), read as a profile says: Portal or System."""

    def __init__(
        self,
        client: CloudClient,
        thing_key: str,
        portal_map: PortalMap,
        *,
        stale_after: float = STALE_AFTER,
        clock: Callable[[], float] | None = None,
        held: Mapping[str, Value] | None = None,
    ) -> None:
        """Nothing is asked until read; `clock` (seconds since the epoch) defaults to time.time.

        `held`: the values the last confirmed writes gave the settings the service does not
        report (the System's); the caller keeps it up to date.
        """
        self.client = client
        self.thing_key = thing_key
        self.map = portal_map
        self.profile = portal_map.profile
        self.held: Mapping[str, Value] = held if held is not None else {}
        # Settings shown as last written, not as read: the service reports no value for them.
        # A setting the map names (a realtime field) is read instead: a poll confirms it.
        self.assumed = frozenset(
            f.key for f in self.profile.fields if f.write and f.key not in self.map.names
        )
        self.stale_after = stale_after
        self._clock = clock
        # When the Portal last heard from the device, as of the last read.
        self.last_update: float | None = None

    async def read(self, keys: Iterable[str]) -> Reading:
        """The fields with these keys, from one request (alarms with it when asked).

        A stale answer keeps only the lifetime totals; an all-zero burst (every lifetime
        total 0) keeps nothing: both are the service's, not the device's.
        """
        wanted = [self.profile.field(key) for key in set(keys)]
        if not wanted:
            return Reading({}, {}, (), ())
        alarms = any(f.key == ALARM_KEY for f in wanted)
        answer = await self.client.realtime(self.thing_key, alarms=alarms)
        self.last_update = answer.last_update.timestamp() if answer.last_update else None
        # time.time is looked up at each call, so that a test's frozen time reaches it.
        now = self._clock() if self._clock else time.time()
        stale = self.last_update is None or now - self.last_update > self.stale_after
        totals = [
            answer.values.get(name)
            for key, name in self.map.names.items()
            if _lifetime(self.profile.field(key))
        ]
        burst = zero_burst(totals)
        values: dict[str, Value | None] = {}
        for fld in wanted:
            if fld.key in self.assumed:
                values[fld.key] = self.held.get(fld.key)
                continue
            value: Value | None = answer.alarms
            if fld.key != ALARM_KEY:
                value = answer.values.get(self.map.names[fld.key])
                if fld.options is not None and isinstance(value, int):
                    # A setting the service reports as its code (the register's value).
                    value = fld.options.get(value)
            if burst or (stale and not _lifetime(fld)):
                value = None
            values[fld.key] = value
        return Reading(values, {}, (), ())

    async def recent(
        self, now: float, span: timedelta = RECENT
    ) -> list[tuple[float, dict[str, Value | None]]]:
        """The counters in the samples of the last `span` before `now` (s), oldest first.

        Samples whose lifetime totals are all 0 (the service's bursts) are left out.
        """
        end = datetime.fromtimestamp(now, UTC)
        history = await self.client.historic(self.thing_key, end - span, end)
        counters = [f for f in self.profile.fields if f.counter and f.key in self.map.names]
        samples: list[tuple[float, dict[str, Value | None]]] = []
        for index, moment in enumerate(history.times):
            values: dict[str, Value | None] = {
                f.key: column[index]
                if (column := history.series.get(self.map.names[f.key]))
                else None
                for f in counters
            }
            if zero_burst(values[f.key] for f in counters if _lifetime(f)):
                continue
            samples.append((moment.timestamp(), values))
        return samples


def zero_burst(totals: Iterable[Value | None]) -> bool:
    """Whether the lifetime totals of one answer are all 0: the service's burst, no data."""
    given = [value for value in totals if value is not None]
    return bool(given) and not any(given)


def _lifetime(fld: Field) -> bool:
    return fld.counter is not None and fld.counter.kind is CounterKind.LIFETIME
