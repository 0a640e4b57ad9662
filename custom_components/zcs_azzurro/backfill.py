"""History backfill: a cloud's 5-minute samples as hourly energy statistics (Portal, System).

Imported as external statistics (`zcs_azzurro:<serial>_<counter>`), not into the
sensors' own statistics: the recorder compiles those itself every hour from the states it
saw, and rows written behind its back for hours it also compiles (or before rows it
already has) break the running sum the Energy dashboard subtracts. An external series is
ours alone: every row comes from the Portal's own counters, so it has no hole after an
outage of the service or of Home Assistant, and its sum never jumps.

Each run continues after the newest row stored, one API span per request (its limit),
at most the configured number of days back, and writes only hours that are over: no
hour is written twice.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import (
    async_add_external_statistics,
    get_last_statistics,
)
from homeassistant.const import UnitOfEnergy
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.recorder import get_instance
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util
from homeassistant.util import slugify
from homeassistant.util.unit_conversion import EnergyConverter

from .api.cloud.history import HourlyCounter, HourRow, hour_of
from .api.cloud.portal import History
from .api.cloud.portal_source import PortalSource, zero_burst
from .api.source import SourceError
from .const import CONF_BACKFILL_DAYS, DEFAULT_BACKFILL_DAYS, DOMAIN, MAX_BACKOFF
from .coordinator import ZcsConfigEntry

_LOGGER = logging.getLogger(__name__)

# The lifetime counters the Energy dashboard uses, by field key.
BACKFILLED = (
    "pv_energy_total",
    "grid_import_energy_total",
    "grid_export_energy_total",
    "battery_charge_energy_total",
    "battery_discharge_energy_total",
    "house_energy_total",
)
# The Portal stores a sample some minutes after it was taken: an hour is run for this long
# after it ends, so that its last sample is there and it can be written in that run.
SETTLE = timedelta(minutes=10)


def statistic_id(thing_key: str, key: str) -> str:
    """The external statistic of one counter: zcs_azzurro:<serial>_<counter>."""
    return f"{DOMAIN}:{slugify(thing_key)}_{key.removesuffix('_total')}"


def _bursts(history: History, names: list[str]) -> list[bool]:
    """Which samples are a zero burst: every lifetime total 0 at once (as live, not data)."""
    columns = [history.series[name] for name in names if name in history.series]
    return [zero_burst(c[i] for c in columns) for i in range(len(history.times))]


class Backfill:
    """Keeps an entry's external energy statistics filled up to the last complete hour."""

    def __init__(self, hass: HomeAssistant, entry: ZcsConfigEntry, source: PortalSource) -> None:
        """Nothing runs until scheduled."""
        self.hass = hass
        self.entry = entry
        self.source = source
        self._task: asyncio.Task[None] | None = None
        # The hour the last complete run reached (a failed run leaves it).
        self._done: datetime | None = None
        # Failed runs in a row, and when the next may start.
        self._failures = 0
        self._retry_at: datetime | None = None

    @callback
    def async_schedule(self) -> None:
        """After a good poll, run once per new hour (after a failed run, once its wait is over)."""
        coordinator = self.entry.runtime_data.coordinator
        now = dt_util.utcnow()
        hour = hour_of(now - SETTLE)
        if (
            "recorder" not in self.hass.config.components
            or not coordinator.last_update_success
            or (self._task is not None and not self._task.done())
            or (self._done is not None and self._done >= hour)
            or (self._retry_at is not None and now < self._retry_at)
        ):
            return
        self._task = self.entry.async_create_background_task(
            self.hass, self._async_run(hour), f"{DOMAIN} backfill {self.entry.title}"
        )

    async def _async_run(self, hour: datetime) -> None:
        try:
            imported = await self.async_backfill()
        except Exception as err:
            # The run ends here; a later good poll tries again, from where it stopped, after
            # a wait that doubles with each failure in a row (as the polls' own backoff).
            interval = self.entry.runtime_data.coordinator.update_interval or SETTLE
            wait = min(interval * 2**self._failures, timedelta(seconds=MAX_BACKOFF))
            self._retry_at = dt_util.utcnow() + wait
            self._failures += 1
            if isinstance(err, SourceError) or self._failures > 1:
                _LOGGER.debug("%s: backfill stopped: %r", self.entry.title, err)
            else:
                # Not a failure of the service's: a fault of ours, shown once, not every run.
                _LOGGER.exception("%s: backfill failed", self.entry.title)
            return
        _LOGGER.debug("%s: backfill imported %s hourly rows", self.entry.title, imported)
        self._done = hour
        self._failures = 0
        self._retry_at = None

    async def async_backfill(self, now: datetime | None = None) -> int:
        """Import the hours not stored yet; how many rows were written."""
        now = now or dt_util.utcnow()
        days = self.entry.options.get(CONF_BACKFILL_DAYS, DEFAULT_BACKFILL_DAYS)
        oldest = hour_of(now - timedelta(days=days))
        thing_key = self.source.thing_key
        names = await self._async_names()
        series = []
        guard = self.entry.runtime_data.coordinator.guard
        for key in BACKFILLED:
            if key not in self.source.map.names:
                continue
            sid = statistic_id(thing_key, key)
            last = await self._async_last_row(sid)
            fld = self.source.profile.field(key)
            restart = None
            anchor = guard.anchor(key)
            if last is not None and anchor and anchor[0] + abs(fld.scale) < last.state:
                # Below the series: the counter started again, and its owner accepted it.
                restart = (anchor[0], datetime.fromtimestamp(anchor[1], UTC))
            # A new series is judged against the counter's present value (the live one).
            counter = HourlyCounter(
                fld, last=last, not_before=oldest, restart=restart, known=anchor
            )
            metadata = StatisticMetaData(
                mean_type=StatisticMeanType.NONE,
                has_sum=True,
                name=f"{self.entry.title} {names.get(key, key)}",
                source=DOMAIN,
                statistic_id=sid,
                unit_class=EnergyConverter.UNIT_CLASS,
                unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
            )
            series.append((self.source.map.names[key], counter, metadata))
        if not series:
            return 0
        start = max(min(counter.resume_at or oldest for _, counter, _ in series), oldest)
        imported = 0
        while start < now:
            end = min(start + self.source.client.max_span, now)
            history = await self.source.client.historic(thing_key, start, end)
            burst = _bursts(history, [name for name, _, _ in series])
            for name, counter, metadata in series:
                values = history.series.get(name, (None,) * len(history.times))
                counter.feed(
                    history.times, [None if b else v for v, b in zip(values, burst, strict=True)]
                )
                imported += self._add(metadata, counter.rows())
            start = end
        for _, counter, metadata in series:
            imported += self._add(metadata, counter.settle())
        return imported

    def _add(self, metadata: StatisticMetaData, rows: list[HourRow]) -> int:
        if rows:
            async_add_external_statistics(
                self.hass,
                metadata,
                [StatisticData(start=r.start, state=r.state, sum=r.sum) for r in rows],
            )
        return len(rows)

    async def _async_last_row(self, sid: str) -> HourRow | None:
        """The newest row stored for the statistic, if any."""
        stored = await get_instance(self.hass).async_add_executor_job(
            get_last_statistics,
            self.hass,
            1,
            sid,
            False,  # noqa: FBT003 (convert_units: the rows are stored in kWh)
            {"state", "sum"},
        )
        if not (rows := stored.get(sid)):
            return None
        row = rows[0]
        start = datetime.fromtimestamp(row["start"], UTC)
        return HourRow(start, row.get("state") or 0.0, row.get("sum") or 0.0)

    async def _async_names(self) -> dict[str, str]:
        """The counters' names in the system's language (the sensors' own translations)."""
        strings = await async_get_translations(
            self.hass, self.hass.config.language, "entity", {DOMAIN}
        )
        prefix = f"component.{DOMAIN}.entity.sensor."
        return {
            key.removeprefix(prefix).removesuffix(".name"): name
            for key, name in strings.items()
            if key.startswith(prefix) and key.endswith(".name")
        }
