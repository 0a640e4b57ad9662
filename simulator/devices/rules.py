"""The G3 hybrids' own battery schedules: timed charge/discharge and time-of-use rules.

As SOFARSOLAR's Modbus-G3 protocol V1.38 (sections 5.3.6 and 5.3.7) describes them: four
timed rules and up to 256 time-of-use rules, each written whole into shadow registers with
its number first and applied by the block's write-control register; writing the number
alone loads that rule into the shadow registers. Times keep the hour in the high byte and
the minute in the low one; dates the month and the day; powers are 32-bit watts, high word
first. The lower a rule's number, the higher its priority.

What no public source describes is left out and says so where it matters: the time-of-use
modes other than forced charge, forced discharge and self use run as self use here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

# Timed charge/discharge: the rule number, then its nine words; 0x111F applies it.
TIMED_RULE = 0x1111
TIMED_COMMIT = 0x111F
TIMED_RULES = 4
# Time of use: the rule number, then its eleven words; 0x112F applies it.
TOU_RULE = 0x1120
TOU_COMMIT = 0x112F
TOU_RULES = 256

# Time-of-use control modes (0x112A) the plant follows; the others run as self use.
FORCED_CHARGE = 0
FORCED_DISCHARGE = 1
SELF_USE = 4


def clock_time(raw: int) -> bool:
    """Whether a register holds a time of day: hour (0-23) high, minute (0-59) low."""
    return raw >> 8 <= 23 and raw & 0xFF <= 59


def day_of_year(raw: int) -> bool:
    """Whether a register holds a day: month (1-12) high, day (1-31) low."""
    return 1 <= raw >> 8 <= 12 and 1 <= raw & 0xFF <= 31


def _minutes(raw: int) -> int:
    return (raw >> 8) * 60 + (raw & 0xFF)


def _within(start: int, end: int, now: int) -> bool:
    """Whether `now` lies in [start, end) on a circle (a window may cross midnight)."""
    if start <= end:
        return start <= now < end
    return now >= start or now < end


def _u32(high: int, low: int) -> int:
    return high << 16 | low


# A fresh unit's time-of-use rule: off, the whole year, every day, self use to 100 %.
BLANK_TOU = [0, 0, 0, 100, 0, 0, 0x0101, 0x0C1F, 0x7F, SELF_USE, 0]
BLANK_TIMED = [0] * 9


@dataclass(frozen=True)
class TimedRule:
    """One timed rule (0x1112-0x111A): a charge and a discharge window, each with a power."""

    words: tuple[int, ...]

    def battery_w(self, minute: int) -> float | None:
        """The battery power (+ charge) it forces at this minute of the day, if any."""
        control, charge_start, charge_end, discharge_start, discharge_end = self.words[:5]
        if control & 1 and _within(_minutes(charge_start), _minutes(charge_end), minute):
            return float(_u32(*self.words[5:7]))
        if control & 2 and _within(_minutes(discharge_start), _minutes(discharge_end), minute):
            return -float(_u32(*self.words[7:9]))
        return None


@dataclass(frozen=True)
class TouRule:
    """One time-of-use rule (0x1121-0x112B)."""

    words: tuple[int, ...]

    def in_force(self, local: time.struct_time) -> bool:
        """Whether it applies now: enabled, on its dates, its weekdays and its hours."""
        enabled, start, end, _, _, _, first, last, weekdays = self.words[:9]
        today = local.tm_mon << 8 | local.tm_mday
        dates = first <= today <= last if first <= last else today >= first or today <= last
        minute = local.tm_hour * 60 + local.tm_min
        return (
            enabled == 1
            and dates
            and bool(weekdays >> local.tm_wday & 1)
            and _within(_minutes(start), _minutes(end), minute)
        )

    def battery_w(self, soc: float) -> float | None:
        """The battery power it forces (+ charge) at this charge; None: self use."""
        target, high, low, mode = self.words[3], self.words[4], self.words[5], self.words[9]
        power = float(_u32(high, low))
        if mode == FORCED_CHARGE and soc < target:
            return power
        if mode == FORCED_DISCHARGE and soc > target:
            return -power
        return None


def timed_battery_w(rules: tuple[TimedRule, ...], local: time.struct_time) -> float | None:
    """What the first timed rule (by number) in force asks of the battery; None: self use."""
    minute = local.tm_hour * 60 + local.tm_min
    return next((w for rule in rules if (w := rule.battery_w(minute)) is not None), None)


def tou_battery_w(rules: tuple[TouRule, ...], local: time.struct_time, soc: float) -> float | None:
    """What the first time-of-use rule in force asks of the battery; None: self use."""
    rule = next((rule for rule in rules if rule.in_force(local)), None)
    return None if rule is None else rule.battery_w(soc)
