"""Counters never go backwards and never jump further than physics allows."""

from __future__ import annotations

from custom_components.zcs_azzurro.api.profile.guard import CounterGuard
from custom_components.zcs_azzurro.api.profile.schema import (
    Counter,
    CounterKind,
    Field,
    FieldType,
    Span,
)

TOTAL = Field(
    key="total",
    type=FieldType.U32,
    spans=(Span(0, 2),),
    scale=0.1,
    counter=Counter(CounterKind.LIFETIME, max_rate=36),  # 36 kWh per hour: 0.01 kWh a second
)
TODAY = Field(
    key="today",
    type=FieldType.U32,
    spans=(Span(2, 2),),
    scale=0.01,
    counter=Counter(CounterKind.DAILY, max_rate=36),
)
POWER = Field(key="power", type=FieldType.S16, spans=(Span(4, 1),))


def _guard() -> CounterGuard:
    return CounterGuard([TOTAL, TODAY, POWER])


def test_a_counter_that_reads_lower_is_not_published() -> None:
    guard = _guard()
    assert guard.apply({"total": 100.0}, now=0) == {"total": 100.0}
    assert guard.apply({"total": 99.9}, now=10) == {"total": None}
    # The next honest value is measured against the last accepted one.
    assert guard.apply({"total": 100.1}, now=20) == {"total": 100.1}


def test_a_jump_beyond_what_the_plant_can_make_is_not_published() -> None:
    guard = _guard()
    guard.apply({"total": 100.0}, now=0)
    assert guard.apply({"total": 6653.5}, now=30) == {"total": None}  # a 65535-style spike
    assert guard.apply({"total": 100.3}, now=30) == {"total": 100.3}  # 0.3 kWh in 30 s: fine
    # A long gap allows a bigger step: 10 kWh after 1000 s at 0.01 kWh/s.
    assert guard.apply({"total": 110.3}, now=1030) == {"total": 110.3}


def test_a_daily_counter_may_start_again_from_zero() -> None:
    guard = _guard()
    guard.apply({"today": 25.43}, now=0)
    assert guard.apply({"today": 0.0}, now=30) == {"today": 0.0}
    guard.apply({"today": 25.43}, now=60)
    # Dropping to a value it could not have reached since midnight is no reset.
    assert guard.apply({"today": 12.0}, now=90) == {"today": None}


def test_other_values_and_missing_values_pass_through() -> None:
    guard = _guard()
    assert guard.apply({"power": -5, "total": None}, now=0) == {"power": -5, "total": None}


def test_a_seeded_value_from_before_a_restart_holds() -> None:
    guard = _guard()
    guard.seed("total", 500.0, at=0)
    guard.seed("total", 400.0, at=0)  # a lower seed never lowers the floor
    guard.seed("power", 1.0, at=0)  # only counters are guarded
    assert guard.apply({"total": 499.0, "power": 0}, now=60) == {"total": None, "power": 0}
    assert (guard.last("total"), guard.last("power")) == (500.0, None)
    assert guard.apply({"total": 500.2}, now=60) == {"total": 500.2}
    assert guard.last("total") == 500.2
