"""Hourly rows of a lifetime energy counter, from the Portal's 5-minute samples.

Each hour is given once, and only when it is over (a sample at or after its end has been
seen); the samples pass the same counter guard as the live values, so the zero bursts
and decreasing totals the service is known for never become energy. A new series starts
only from a sample the next one agrees with, as the live values do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..profile.guard import CounterGuard
from ..profile.schema import Field

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class HourRow:
    """One hour: the counter at its end, and what it has gained since the series began."""

    start: datetime
    state: float
    sum: float


def hour_of(moment: datetime) -> datetime:
    """The start of the UTC hour the moment lies in (an hour of +05:30 starts at :30 UTC)."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class HourlyCounter:
    """Turns one counter's samples into hourly rows, continuing a series already stored."""

    def __init__(
        self,
        fld: Field,
        *,
        last: HourRow | None = None,
        not_before: datetime | None = None,
        restart: tuple[float, datetime] | None = None,
    ) -> None:
        """Continue after `last` (the newest row stored); hours before `not_before` are skipped.

        `restart`: the counter started again from this value at this time (its owner
        accepted the new start): the series goes on from there, its sum without a jump.
        """
        self.key = fld.key
        self._guard = CounterGuard([fld], confirm_first=True)
        self.last = last
        self._not_before = not_before
        self._restart_hour = hour_of(restart[1]) if restart else None
        self._pending: dict[datetime, float] = {}
        self._seen: datetime | None = None
        if restart is not None:
            self._guard.seed(self.key, restart[0], restart[1].timestamp())
        elif last is not None:
            self._guard.seed(self.key, last.state, (last.start + HOUR).timestamp())

    @property
    def resume_at(self) -> datetime | None:
        """The first hour not stored yet, if the series has begun."""
        if self.last is None:
            return None
        resume = self.last.start + HOUR
        return max(resume, self._restart_hour) if self._restart_hour else resume

    def feed(self, times: Iterable[datetime], values: Iterable[float | int | None]) -> None:
        """Take samples in time order; those the guard rejects are left out."""
        first = self.resume_at or self._not_before
        for moment, value in zip(times, values, strict=True):
            self._seen = max(self._seen or moment, moment)
            hour = hour_of(moment)
            if value is None or (first is not None and hour < first):
                continue
            accepted = self._guard.apply({self.key: value}, moment.timestamp())[self.key]
            if isinstance(accepted, int | float):
                self._pending[hour] = float(accepted)

    def rows(self) -> list[HourRow]:
        """The hours now over, oldest first; each is given once."""
        rows = []
        for hour in sorted(self._pending):
            if self._seen is None or hour + HOUR > self._seen:
                break
            state = self._pending.pop(hour)
            # A new series starts from its first hour's end: what came before is unknown.
            previous = self.last or HourRow(hour - HOUR, state, 0.0)
            self.last = HourRow(hour, state, previous.sum + max(state - previous.state, 0.0))
            rows.append(self.last)
        return rows
