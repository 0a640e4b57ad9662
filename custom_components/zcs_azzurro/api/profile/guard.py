"""Energy counters that never go backwards and never jump further than physics allows.

Home Assistant reads any drop of a total_increasing sensor as a meter reset and counts
the next value again in full: one bad frame can put thousands of phantom kWh into the
Energy dashboard. A value the guard rejects is published as no value at all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from .schema import Counter, CounterKind, Field, Value

_LOGGER = logging.getLogger(__name__)


class CounterGuard:
    """Remembers each counter's last accepted value and when it was accepted."""

    def __init__(self, fields: Iterable[Field]) -> None:
        """Guard the fields that are counters."""
        self._counters: dict[str, tuple[Counter, float]] = {
            f.key: (f.counter, f.scale) for f in fields if f.counter is not None
        }
        self._last: dict[str, tuple[float, float]] = {}

    def seed(self, key: str, value: float, at: float) -> None:
        """Start from a value published earlier (before a restart), at time `at` (s)."""
        if key in self._counters and (key not in self._last or value > self._last[key][0]):
            self._last[key] = (value, at)

    def last(self, key: str) -> float | None:
        """The counter's last accepted value (or seed), if it has one."""
        last = self._last.get(key)
        return last[0] if last else None

    def apply(self, values: Mapping[str, Value | None], now: float) -> dict[str, Value | None]:
        """The values, with counters that moved impossibly replaced by None."""
        return {key: self._check(key, value, now) for key, value in values.items()}

    def _check(self, key: str, value: Value | None, now: float) -> Value | None:
        if key not in self._counters or not isinstance(value, int | float):
            return value
        counter, resolution = self._counters[key]
        if (last := self._last.get(key)) is not None and (
            problem := counter_problem(counter, resolution, last, value, now)
        ):
            _LOGGER.debug("%s %s: not published", key, problem)
            return None
        self._last[key] = (value, now)
        return value


def counter_problem(
    counter: Counter, resolution: float, last: tuple[float, float], value: float, now: float
) -> str | None:
    """Why a counter last at `last` (value, time in s) cannot read `value` at `now`, if so."""
    previous, at = last
    # What the counter can have gained since it was last accepted, plus one count.
    allowance = counter.max_rate * max(now - at, 0.0) / 3600 + abs(resolution)
    if value < previous:
        # A daily counter starts again from zero at midnight; nothing else may drop.
        if counter.kind is not CounterKind.DAILY or value > allowance:
            return f"went back from {previous} to {value}"
    elif value - previous > allowance:
        return f"jumped from {previous} to {value}"
    return None
