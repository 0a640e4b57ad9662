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


def test_a_first_value_waits_for_the_next_to_agree_where_asked() -> None:
    """A cloud's counter: a zero burst, or a stray high total, first anchors nothing."""
    guard = CounterGuard([TOTAL], confirm_first=True)
    # Zero first, then the true total: neither published, the next agrees with the second.
    assert guard.apply({"total": 0.0}, now=0) == {"total": None}
    assert guard.apply({"total": 12345.0}, now=300) == {"total": None}
    assert guard.apply({"total": 12345.4}, now=600) == {"total": 12345.4}
    assert guard.last("total") == 12345.4
    # A stray high value first: the true ones that follow went back from it.
    guard = CounterGuard([TOTAL], confirm_first=True)
    assert guard.apply({"total": 99999.0}, now=0) == {"total": None}
    assert guard.apply({"total": 12345.0}, now=300) == {"total": None}
    assert guard.apply({"total": 12345.0}, now=600) == {"total": 12345.0}
    # Seeded (the value shown before a restart): checked against the seed at once.
    guard = CounterGuard([TOTAL], confirm_first=True)
    guard.seed("total", 12345.0, at=0)
    assert guard.apply({"total": 12345.5}, now=300) == {"total": 12345.5}


def test_a_first_value_is_published_at_once_otherwise() -> None:
    """A local device's counter: read the same twice before the guard sees it (Checks)."""
    assert _guard().apply({"total": 0.0}, now=0) == {"total": 0.0}


def test_a_lifetime_counter_counting_on_from_elsewhere_is_a_restart_the_owner_may_accept() -> None:
    guard = _guard()
    guard.seed("total", 5000.0, at=0)
    # Reset by a firmware update: it counts on from zero, and every value is rejected.
    times = [60, 360, 660]
    for step, now in enumerate(times):
        assert guard.apply({"total": 0.1 * step}, now=now) == {"total": None}
    (restart,) = guard.restarts()
    assert (restart.key, restart.last, restart.value) == ("total", 5000.0, 0.2)
    assert guard.accept_restart("total") == 0.2
    assert guard.restarts() == []
    assert guard.apply({"total": 0.3}, now=900) == {"total": 0.3}
    assert guard.accept_restart("total") is None  # nothing to accept any more


def test_a_passing_glitch_is_no_restart() -> None:
    guard = _guard()
    guard.seed("total", 5000.0, at=0)
    # Rejected values that agree, but not for long enough: not yet a restart.
    for now in (60, 90, 120):
        guard.apply({"total": 4000.0}, now=now)
    assert guard.restarts() == []
    # For long enough, but disagreeing with each other: each starts a run of its own.
    for step, now in enumerate((700, 1400, 2100)):
        guard.apply({"total": 4000.0 - 500 * step}, now=now)
    assert guard.restarts() == []
    # The true value again: accepted, and nothing is left to ask about.
    assert guard.apply({"total": 5000.5}, now=2200) == {"total": 5000.5}
    assert guard.restarts() == []


def test_a_daily_counter_is_never_a_restart() -> None:
    guard = _guard()
    guard.seed("today", 25.0, at=0)
    for now in (700, 1400, 2100):
        assert guard.apply({"today": 30.0 + now}, now=now) == {"today": None}
    assert guard.restarts() == []
