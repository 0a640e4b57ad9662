"""Hourly rows of a lifetime energy counter, from the Portal's 5-minute samples.

Each hour is given once, and only when it is over (a sample at or after its end has been
seen); the samples pass the same counter guard as the live values, so the zero bursts
and decreasing totals the service is known for never become energy. A new series starts
only from a sample the next one agrees with, as the live values do; where the counter's
present value is known (the live sensor's), every sample of a new series must also be
plausible against it: what the device could have produced between the two (a zero first
sample of a week ago could not have become today's total).
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
        known: tuple[float, float] | None = None,
    ) -> None:
        """Continue after `last` (the newest row stored); hours before `not_before` are skipped.

        `restart`: the counter started again from this value at this time (its owner
        accepted the new start): the series goes on from there, its sum without a jump.
        `known`: the counter's present value and when (s), for a new series: its samples
        are held until `settle`, then judged back from it.
        """
        self.key = fld.key
        self._known = known if last is None and restart is None else None
        self._held: list[tuple[datetime, float]] = []
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
            if self._known is not None:
                self._held.append((moment, float(value)))
                continue
            accepted = self._guard.apply({self.key: value}, moment.timestamp())[self.key]
            if isinstance(accepted, int | float):
                self._pending[hour] = float(accepted)

    def settle(self) -> list[HourRow]:
        """A new series' held samples, those plausible against the known value; its rows.

        Judged newest first: each sample against the one after it that was kept, the first
        against the known value, so one wrong sample drops alone, not what follows it.
        """
        if self._known is None:
            return []
        later = self._known
        kept: list[tuple[datetime, float]] = []
        for moment, value in reversed(self._held):
            at = moment.timestamp()
            if at >= later[1]:
                # After the known value (a poll behind the service): it must follow it.
                problem = self._guard.problem(self.key, self._known, value, at)
            else:
                problem = self._guard.problem(self.key, (value, at), *later)
                if not problem:
                    later = (value, at)
            if not problem:
                kept.append((moment, value))
        self._known = None
        self._held = []
        kept.reverse()
        self.feed([moment for moment, _ in kept], [value for _, value in kept])
        return self.rows()

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
