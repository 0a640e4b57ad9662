"""What physics and the device's own arithmetic allow a reading to say.

Modbus TCP carries no checksum, and sticks and gateways have handed one request's answer
to another: an answer can be well framed and still wrong. Each reading is held against the
profile's checks (power balances, power = voltage x current, how fast a value can move, a
new alarm, counters that only count up) before it is published. Any source can use them:
they see values, not registers.

A value with nothing to compare it with yet (the first reading, for the checks of how a
value moves) fails too, so that it is read twice before it is first published.

A check only says that a reading is surprising. What a source does about it (a Modbus
device reads the block again) and what it publishes is the source's business; `agree`
tells it whether two readings say the same, which a corrupted answer read again never does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .guard import counter_problem
from .schema import Check, CheckKind, Field, FieldType, Value

# Float arithmetic on values already rounded to their resolution.
_EPSILON = 1e-6
FIRST_SIGHT = "seen for the first time"


@dataclass(frozen=True)
class Failure:
    """A check a reading failed, the fields it covers, and what it found.

    `check` is None for the rules every field has: a counter only counts up, and a value
    shown last time does not turn implausible (a sentinel, out of its range) at once.
    """

    name: str
    keys: tuple[str, ...]
    detail: str
    check: Check | None = None


def _number(value: Value | None) -> float | None:
    return float(value) if isinstance(value, int | float) else None


class Checks:
    """The profile's checks, with the values history checks compare new ones with."""

    def __init__(self, fields: Iterable[Field], checks: Iterable[Check]) -> None:
        """Check these fields (their counters are checked too) by these checks."""
        self._fields = {f.key: f for f in fields}
        self._checks = tuple(checks)
        self._counters = {key: f.counter for key, f in self._fields.items() if f.counter}
        self._history = {
            check.fields[0]
            for check in self._checks
            if check.kind in (CheckKind.CHANGE, CheckKind.CONFIRM)
        } | self._counters.keys()
        self._last: dict[str, tuple[Value, float]] = {}
        self._shown: set[str] = set()

    @property
    def keys(self) -> frozenset[str]:
        """Every field a check reads."""
        return frozenset(key for check in self._checks for key in check.fields)

    def resolution(self, key: str) -> float:
        """The smallest step the field's value moves in."""
        fld = self._fields[key]
        if fld.type is FieldType.SUM:
            return sum(self.resolution(part) for part in fld.sum_of)
        return abs(fld.scale)

    def failures(self, values: Mapping[str, Value | None], now: float) -> list[Failure]:
        """The checks these values fail; a check missing any of its values is not made."""
        found = [
            Failure(str(check), check.fields, detail, check)
            for check in self._checks
            if all(values.get(key) is not None for key in check.fields)
            and (detail := self._fails(check, values, now))
        ]
        found += [
            Failure(f"valid {key}", (key,), "a value last time, none now")
            for key, value in values.items()
            if value is None and key in self._shown
        ]
        for key, counter in self._counters.items():
            if (value := _number(values.get(key))) is None:
                continue
            # A counter that moves is read twice: one count too many, let through once,
            # would hold every later true value below it (a total never goes back).
            last = self._last.get(key)
            if last is None or (previous := _number(last[0])) is None:
                problem: str | None = FIRST_SIGHT
            elif value != previous:
                problem = (
                    counter_problem(counter, self.resolution(key), (previous, last[1]), value, now)
                    or f"moved from {previous} to {value}"
                )
            else:
                problem = None
            if problem:
                found.append(Failure(f"counter {key}", (key,), problem))
        return found

    def agree(
        self,
        first: Mapping[str, Value | None],
        second: Mapping[str, Value | None],
        failure: Failure,
    ) -> bool:
        """Whether two readings give the failure's fields the same values.

        Numbers agree within two steps of their resolution, and half the step a CHANGE
        check allows: the device's word may move a little between two reads. The second
        read is the one published, so this bounds how wrong it can be, should the second
        be the one corrupted. Counters agree only when equal.
        """
        check = failure.check
        for key in failure.keys:
            a, b = first.get(key), second.get(key)
            x, y = _number(a), _number(b)
            if x is not None and y is not None:
                if check is None:
                    allowed = 0.0 if key in self._counters else 2 * self.resolution(key)
                else:
                    allowed = 2 * self.resolution(key) + check.step / 2
                if abs(x - y) > allowed + _EPSILON:
                    return False
            elif a != b:  # (no value twice, a sentinel say, is the device's word too)
                return False
        return True

    def accept(self, values: Mapping[str, Value | None], now: float) -> None:
        """Take the published values as those the next ones are compared with."""
        for key in self._history:
            if (value := values.get(key)) is not None:
                self._last[key] = (value, now)
        # Per key: a setting read every tenth poll was still shown in the polls between.
        self._shown |= {key for key, value in values.items() if value is not None}
        self._shown -= {key for key, value in values.items() if value is None}

    def _fails(self, check: Check, values: Mapping[str, Value | None], now: float) -> str | None:
        if check.kind is CheckKind.CONFIRM:
            return self._new(check.fields[0], values[check.fields[0]])
        got = [n for key in check.fields if (n := _number(values[key])) is not None]
        if len(got) < len(check.fields):
            return None  # not numbers: the loader lets no such check through
        steps = [self.resolution(key) for key in check.fields]
        if check.kind is CheckKind.CHANGE:
            last = self._last.get(check.fields[0])
            if last is None or (previous := _number(last[0])) is None:
                return FIRST_SIGHT
            allowed = steps[0] + check.step + check.per_hour * max(now - last[1], 0.0) / 3600
            return _beyond(got[0] - previous, allowed)
        if check.kind is CheckKind.PRODUCT:
            return _product(check, got, steps)
        if check.kind is CheckKind.SUM:
            miss = got[0] - sum(got[1:])
        else:
            miss = abs(got[0]) - math.hypot(got[1], got[2])
        return _beyond(miss, sum(steps) + check.relative * max(abs(n) for n in got))

    def _new(self, key: str, value: Value | None) -> str | None:
        """What changed: bits set anew (at first sight, any set bit), or another value."""
        last = self._last.get(key)
        if isinstance(value, tuple):
            new = set(value) - set(last[0] if last and isinstance(last[0], tuple) else ())
            return f"new bits {sorted(new)}" if new else None
        if last is None:
            return FIRST_SIGHT
        return f"{last[0]} -> {value}" if last[0] != value else None


def _beyond(miss: float, allowed: float) -> str | None:
    return f"off by {miss:.6g}, {allowed:.6g} allowed" if abs(miss) > allowed + _EPSILON else None


def _product(check: Check, got: list[float], steps: list[float]) -> str | None:
    """Power = voltage x current, within what their steps make of it."""
    power, volts, amps = got
    dp, dv, di = steps
    if abs(volts) < dv:  # no voltage (no battery, PV at night): no current, no power
        if abs(power) <= dp + _EPSILON and abs(amps) <= di + _EPSILON:
            return None
        return f"{amps:g} and {power:g} without voltage"
    allowed = abs(volts) * di + abs(amps) * dv + dp + dv * di
    allowed += check.relative * max(abs(power), abs(volts * amps))
    return _beyond(power - volts * amps, allowed)
