"""Local history with no holes: a local link's missing hours filled from a cloud's history.

While a local link is down (a stick frozen overnight), the energy counters are unavailable
and the recorder compiles no hourly statistics for them; when the link comes back, the
first hour compiled takes the whole outage's energy, and the Energy dashboard shows one
tall bar where there were several hours. Where the same device also has a Portal or System
entry (its thing key is the local entry's serial), the cloud kept its samples: the missing
hours are imported into the local sensors' own statistics (the recorder's statistics
import), each with what the cloud's counter gained in it.

Only hours between two rows the recorder compiled are filled, and the later row is left as
it is: the outage's energy is shared out among the hours it happened in, and the running
sum the dashboard subtracts arrives where it was (nothing counted twice, nothing lost).
What the cloud's counter gained is held between the rows either side (the cloud's counter
is the same inverter's, sampled by another path; it may differ by a sample's worth).
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from homeassistant.components.recorder.models import StatisticData, StatisticMetaData
from homeassistant.components.recorder.statistics import (
    async_import_statistics,
    get_metadata,
    statistics_during_period,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util

from .api.cloud.history import HOUR, HourlyCounter, HourRow, hour_of
from .api.cloud.portal_source import PortalSource
from .api.source import SourceError
from .backfill import BACKFILLED
from .const import (
    CONF_BACKFILL_DAYS,
    CONF_LINK,
    CONF_THING_KEY,
    DEFAULT_BACKFILL_DAYS,
    DOMAIN,
    LINK_PORTAL,
    LINK_SYSTEM,
)
from .coordinator import ZcsConfigEntry

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hole:
    """Hours with no row between two rows of one statistic: `before` and `after`."""

    before: HourRow
    after: HourRow

    @property
    def hours(self) -> list[datetime]:
        """The hours missing, oldest first."""
        count = int((self.after.start - self.before.start) / HOUR) - 1
        return [self.before.start + HOUR * (n + 1) for n in range(count)]


def holes(rows: list[HourRow]) -> list[Hole]:
    """The holes between consecutive rows (sorted by start)."""
    return [
        Hole(before, after)
        for before, after in itertools.pairwise(rows)
        if after.start - before.start > HOUR
    ]


def filled(hole: Hole, cloud: list[HourRow]) -> list[HourRow]:
    """The hole's hours as the cloud's counter saw them, between the rows either side.

    `cloud` are the cloud counter's hourly rows from the hole's first row on; each hour
    gains what the cloud's counter gained in it, held so that the sum never goes back and
    never passes the row after the hole.
    """
    at = {row.start: row.state for row in cloud}
    if (base := at.get(hole.before.start)) is None:
        return []
    rows: list[HourRow] = []
    last = hole.before
    for hour in hole.hours:
        if (state := at.get(hour)) is None:
            break
        gained = min(
            max(state - base, last.sum - hole.before.sum), hole.after.sum - hole.before.sum
        )
        total = hole.before.sum + gained
        last = HourRow(hour, hole.before.state + gained, total)
        rows.append(last)
    return rows


class HistoryFill:
    """Fills one local entry's holes from the cloud entry of the same device, if there is one."""

    def __init__(self, hass: HomeAssistant, entry: ZcsConfigEntry) -> None:
        """Nothing runs until a good poll after a failed one (or the first after setup)."""
        self.hass = hass
        self.entry = entry
        self._was_up = False
        self._done: datetime | None = None

    @callback
    def async_polled(self) -> None:
        """After a poll: once the link is back (or after setup), look for holes; hourly too."""
        coordinator = self.entry.runtime_data.coordinator
        up = coordinator.last_update_success
        back, self._was_up = up and not self._was_up, up
        hour = hour_of(dt_util.utcnow())
        if not up or "recorder" not in self.hass.config.components:
            return
        if not back and self._done is not None and self._done >= hour:
            return
        self._done = hour
        self.entry.async_create_background_task(
            self.hass, self.async_fill(), f"{DOMAIN} history fill {self.entry.title}"
        )

    def cloud(self) -> PortalSource | None:
        """The source of a loaded Portal or System entry for the same device, if any."""
        serial = self.entry.unique_id
        for other in self.hass.config_entries.async_entries(DOMAIN):
            if (
                other.data.get(CONF_LINK) in (LINK_PORTAL, LINK_SYSTEM)
                and other.data.get(CONF_THING_KEY) == serial
                and other.state is ConfigEntryState.LOADED
            ):
                source = other.runtime_data.coordinator.device
                if isinstance(source, PortalSource):
                    return source
        return None

    async def async_fill(self, now: datetime | None = None) -> int:
        """Fill the holes of the last days the cloud can tell; how many rows were imported."""
        source = self.cloud()
        if source is None:
            return 0
        now = now or dt_util.utcnow()
        days = self.entry.options.get(CONF_BACKFILL_DAYS, DEFAULT_BACKFILL_DAYS)
        since = hour_of(now - timedelta(days=days))
        registry = er.async_get(self.hass)
        imported = 0
        for key in BACKFILLED:
            entity_id = registry.async_get_entity_id(
                Platform.SENSOR, DOMAIN, f"{self.entry.unique_id}_{key}"
            )
            if entity_id is None or key not in source.map.names:
                continue
            for hole in holes(await self._rows(entity_id, since)):
                try:
                    cloud = await self._cloud_rows(source, key, hole)
                except SourceError as err:
                    _LOGGER.debug("%s: history fill stopped: %r", self.entry.title, err)
                    return imported
                if rows := filled(hole, cloud):
                    await self._import(entity_id, rows)
                    imported += len(rows)
        if imported:
            _LOGGER.info(
                "%s: %s hourly statistics the link missed filled from the cloud's history",
                self.entry.title,
                imported,
            )
        return imported

    async def _rows(self, entity_id: str, since: datetime) -> list[HourRow]:
        found = await get_instance(self.hass).async_add_executor_job(
            statistics_during_period,
            self.hass,
            since,
            None,
            {entity_id},
            "hour",
            None,
            {"state", "sum"},
        )
        return [
            HourRow(
                datetime.fromtimestamp(row["start"], UTC), row["state"] or 0.0, row["sum"] or 0.0
            )
            for row in found.get(entity_id, [])
        ]

    async def _cloud_rows(self, source: PortalSource, key: str, hole: Hole) -> list[HourRow]:
        """The cloud counter's hourly rows from the hole's first row to its last hour."""
        counter = HourlyCounter(source.profile.field(key), not_before=hole.before.start)
        name = source.map.names[key]
        start, end = hole.before.start, hole.after.start
        rows: list[HourRow] = []
        while start < end:
            stop = min(start + source.client.max_span, end + timedelta(minutes=10))
            history = await source.client.historic(source.thing_key, start, stop)
            counter.feed(history.times, history.series.get(name, (None,) * len(history.times)))
            rows += counter.rows()
            start = stop
        return rows

    async def _import(self, entity_id: str, rows: list[HourRow]) -> None:
        """Into the sensor's own statistics, under the metadata the recorder keeps for it."""
        found = await get_instance(self.hass).async_add_executor_job(
            partial(get_metadata, self.hass, statistic_ids={entity_id})
        )
        if entity_id not in found:
            return
        _, stored = found[entity_id]
        metadata = StatisticMetaData(
            mean_type=stored["mean_type"],
            has_sum=stored["has_sum"],
            name=stored["name"],
            source=stored["source"],
            statistic_id=entity_id,
            unit_class=stored.get("unit_class"),
            unit_of_measurement=stored["unit_of_measurement"],
        )
        async_import_statistics(
            self.hass,
            metadata,
            [StatisticData(start=row.start, state=row.state, sum=row.sum) for row in rows],
        )


@callback
def async_watch_history(hass: HomeAssistant, entry: ZcsConfigEntry) -> None:
    """Fill the entry's holes from a cloud entry of the same device, when it has one."""
    fill = HistoryFill(hass, entry)
    entry.async_on_unload(entry.runtime_data.coordinator.async_add_listener(fill.async_polled))
