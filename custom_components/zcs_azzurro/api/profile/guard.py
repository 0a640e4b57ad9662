"""Energy counters that never go backwards and never jump further than physics allows.

Home Assistant reads any drop of a total_increasing sensor as a meter reset and counts
the next value again in full: one bad frame can put thousands of phantom kWh into the
Energy dashboard. A value the guard rejects is published as no value at all.

Where the values come from a service known for zero bursts and stray totals (a cloud), a
counter's first value anchors nothing until the next one agrees with it. And a lifetime
counter that keeps counting from somewhere else (an inverter replaced, a firmware reset)
is noticed as such (`restarts`), for the owner to accept its new start; until then it is
rejected, as any value that cannot follow the last one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from .schema import Counter, CounterKind, Field, Value

_LOGGER = logging.getLogger(__name__)

# A counter that starts again elsewhere: rejected values that agree with each other, this
# many in a row and over this long (s), before the owner is asked to accept them.
RESTART_READINGS = 3
RESTART_AFTER = 600.0


@dataclass(frozen=True)
class _Run:
    """Rejected values of one counter that agree with each other: since when, and the last."""

    since: float
    value: float
    at: float
    count: int = 1


@dataclass(frozen=True)
class Restart:
    """A lifetime counter that counts on from another value than the last accepted."""

    key: str
    last: float
    value: float


class CounterGuard:
    """Remembers each counter's last accepted value and when it was accepted."""

    def __init__(self, fields: Iterable[Field], *, confirm_first: bool = False) -> None:
        """Guard the fields that are counters; with `confirm_first`, a first value waits.

        A first value (nothing seeded or accepted before) is published at once, unless
        `confirm_first`: then only once the next value agrees with it.
        """
        self._counters: dict[str, tuple[Counter, float]] = {
            f.key: (f.counter, f.scale) for f in fields if f.counter is not None
        }
        self._confirm_first = confirm_first
        self._last: dict[str, tuple[float, float]] = {}
        self._runs: dict[str, _Run] = {}

    def seed(self, key: str, value: float, at: float) -> None:
        """Start from a value published earlier (before a restart), at time `at` (s)."""
        if key in self._counters and (key not in self._last or value > self._last[key][0]):
            self._last[key] = (value, at)

    def last(self, key: str) -> float | None:
        """The counter's last accepted value (or seed), if it has one."""
        last = self._last.get(key)
        return last[0] if last else None

    def anchor(self, key: str) -> tuple[float, float] | None:
        """The counter's last accepted value (or seed) and when (s), if it has one."""
        return self._last.get(key)

    def problem(self, key: str, last: tuple[float, float], value: float, now: float) -> str | None:
        """Why the counter, `last` (value, time in s), cannot read `value` at `now`, if so."""
        counter, resolution = self._counters[key]
        return counter_problem(counter, resolution, last, value, now)

    def apply(self, values: Mapping[str, Value | None], now: float) -> dict[str, Value | None]:
        """The values, with counters that moved impossibly replaced by None."""
        return {key: self._check(key, value, now) for key, value in values.items()}

    def restarts(self) -> list[Restart]:
        """The lifetime counters rejected for a while with values that agree with each other."""
        return [
            Restart(key, self._last[key][0], run.value)
            for key, run in self._runs.items()
            if key in self._last
            and self._counters[key][0].kind is CounterKind.LIFETIME
            and run.count >= RESTART_READINGS
            and run.at - run.since >= RESTART_AFTER
        ]

    def accept_restart(self, key: str) -> float | None:
        """Take the counter's new start (the owner said so); the value it starts from."""
        if (run := self._runs.pop(key, None)) is None:
            return None
        _LOGGER.debug("%s starts again from %s", key, run.value)
        self._last[key] = (run.value, run.at)
        return run.value

    def _check(self, key: str, value: Value | None, now: float) -> Value | None:
        if key not in self._counters or not isinstance(value, int | float):
            return value
        counter, resolution = self._counters[key]
        last = self._last.get(key)
        if last is None and not self._confirm_first:
            return self._accept(key, value, now)
        if last is not None and not (
            problem := counter_problem(counter, resolution, last, value, now)
        ):
            return self._accept(key, value, now)
        run = self._runs.get(key)
        if run is not None and not counter_problem(
            counter, resolution, (run.value, run.at), value, now
        ):
            run = replace(run, value=value, at=now, count=run.count + 1)
        else:
            run = _Run(since=now, value=value, at=now)
        self._runs[key] = run
        if last is None:
            if run.count > 1:
                # Two values in a row that agree: the first one is confirmed.
                return self._accept(key, value, now)
            _LOGGER.debug("%s %s: a first value, not published until confirmed", key, value)
            return None
        _LOGGER.debug("%s %s: not published", key, problem)
        return None

    def _accept(self, key: str, value: float, now: float) -> float:
        self._last[key] = (value, now)
        self._runs.pop(key, None)
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
