"""What physics and the device's own arithmetic allow a reading to say.

Modbus TCP carries no checksum, and sticks and gateways have handed one request's answer
to another: an answer can be well framed and still wrong. Each reading is held against the
profile's checks (power balances, power = voltage x current, how fast a value can move, a
new alarm) before it is published. Any source can use them: they see values, not registers.

A check only says that a reading is surprising. What a source does about it (a Modbus
device reads the block again) and what it publishes is the source's business; `agree`
tells it whether two readings say the same, which a corrupted answer repeated never does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .guard import counter_problem
from .schema import Check, CheckKind, Field, FieldType, Value

# Float arithmetic on values already rounded to their resolution.
_EPSILON = 1e-6


@dataclass(frozen=True)
class Failure:
    """A check a reading failed: its name, the fields it covers, and what it found."""

    name: str
    keys: tuple[str, ...]
    detail: str


def _number(value: Value | None) -> float | None:
    return float(value) if isinstance(value, int | float) else None


class Checks:
    """The profile's checks, with what each history check last accepted."""

    def __init__(self, fields: Iterable[Field], checks: Iterable[Check]) -> None:
        """Check these fields (their counters are checked too) by these checks."""
        self._fields = {f.key: f for f in fields}
        self._checks = tuple(checks)
        self._counters = {key: f.counter for key, f in self._fields.items() if f.counter}
        self._last: dict[str, tuple[Value, float]] = {}

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
            Failure(str(check), check.fields, detail)
            for check in self._checks
            if all(values.get(key) is not None for key in check.fields)
            and (detail := self._fails(check, values, now))
        ]
        for key, counter in self._counters.items():
            value, last = _number(values.get(key)), self._last.get(key)
            if value is None or last is None or (previous := _number(last[0])) is None:
                continue
            if problem := counter_problem(
                counter, self.resolution(key), (previous, last[1]), value, now
            ):
                found.append(Failure(f"counter {key}", (key,), problem))
        return found

    def agree(
        self,
        first: Mapping[str, Value | None],
        second: Mapping[str, Value | None],
        keys: Iterable[str],
    ) -> bool:
        """Whether two readings give these fields the same values (within two steps)."""
        for key in keys:
            a, b = first.get(key), second.get(key)
            x, y = _number(a), _number(b)
            if x is not None and y is not None:
                if abs(x - y) > 2 * self.resolution(key) + _EPSILON:
                    return False
            elif a != b or a is None:
                return False
        return True

    def accept(self, values: Mapping[str, Value | None], now: float) -> None:
        """Take the published values as what history checks compare the next ones with."""
        history = {
            check.fields[0]
            for check in self._checks
            if check.kind in (CheckKind.CHANGE, CheckKind.CONFIRM)
        }
        for key in history | self._counters.keys():
            if (value := values.get(key)) is not None:
                self._last[key] = (value, now)

    def _fails(self, check: Check, values: Mapping[str, Value | None], now: float) -> str | None:
        if check.kind is CheckKind.CONFIRM:
            return self._new(check.fields[0], values[check.fields[0]])
        numbers = [_number(values[key]) for key in check.fields]
        if None in numbers:
            return None  # a check of numbers on a text or bit field: the loader refuses these
        got = [n for n in numbers if n is not None]
        steps = [self.resolution(key) for key in check.fields]
        if check.kind is CheckKind.SUM:
            total, parts = got[0], got[1:]
            allowed = sum(steps) + check.relative * max(abs(n) for n in got)
            miss = total - sum(parts)
        elif check.kind is CheckKind.PRODUCT:
            power, volts, amps = got
            dp, dv, di = steps
            allowed = (
                abs(volts) * di
                + abs(amps) * dv
                + dp
                + dv * di
                + check.relative * max(abs(power), abs(volts * amps))
            )
            miss = power - volts * amps
        else:
            key = check.fields[0]
            last = self._last.get(key)
            if last is None or (previous := _number(last[0])) is None:
                return None
            allowed = steps[0] + check.step + check.per_hour * max(now - last[1], 0.0) / 3600
            miss = got[0] - previous
        if abs(miss) <= allowed + _EPSILON:
            return None
        return f"off by {miss:.6g}, {allowed:.6g} allowed"

    def _new(self, key: str, value: Value | None) -> str | None:
        """What changed: bits set anew (at first sight, any set bit), or another value.

        A state seen for the first time has nothing to differ from: it is not held back.
        """
        last = self._last.get(key)
        if isinstance(value, tuple):
            new = set(value) - set(last[0] if last and isinstance(last[0], tuple) else ())
            return f"new bits {sorted(new)}" if new else None
        if last is not None and last[0] != value:
            return f"{last[0]} -> {value}"
        return None
