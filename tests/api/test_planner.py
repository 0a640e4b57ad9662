"""Few requests, none over 60 registers, none across a block, none into a gap."""

from __future__ import annotations

import pytest

from custom_components.zcs_azzurro.api.device import ModbusDevice
from custom_components.zcs_azzurro.api.profile.planner import plan
from custom_components.zcs_azzurro.api.profile.schema import Profile, ReadRules, Span

RULES = ReadRules(
    max_registers=10, blocks=(Span(0x100, 32), Span(0x200, 8)), gaps=(Span(0x108, 2),)
)


def _requests(profile: Profile, keys: list[str]) -> tuple[Span, ...]:
    return ModbusDevice(None, 1, profile).plan(keys).requests  # type: ignore[arg-type]


def _follows_the_rules(requests: tuple[Span, ...], rules: ReadRules) -> bool:
    return all(
        span.count <= rules.max_registers and rules.block_of(span) and not rules.in_gap(span)
        for span in requests
    )


def test_a_full_poll_of_the_bundled_profile_takes_one_request_per_block(profile: Profile) -> None:
    every = [f.key for f in profile.fields]
    requests = _requests(profile, every)
    blocks = {profile.rules.block_of(span) for span in requests}
    assert len(requests) == len(blocks) == 12
    assert _follows_the_rules(requests, profile.rules)


def test_the_settings_take_one_request_per_block(profile: Profile) -> None:
    requests = _requests(profile, sorted(profile.settings))
    assert [(hex(span.address), span.count) for span in requests] == [
        ("0x1023", 7),  # export limit mode and power, EPS mode
        ("0x104d", 6),  # depths of discharge up to the EPS buffer
        ("0x1104", 3),  # remote on/off, power control word, output limit
        ("0x1110", 1),  # storage mode
        ("0x1184", 9),  # passive timeout, action and set-points
    ]


def test_the_default_entities_take_five(profile: Profile) -> None:
    # A unit with one tower: its default entities, and what tells whether another has come.
    enabled = [key for key in profile.defaults() if key not in profile.settings]
    probes = [key for part in profile.presence for key in part.probes]
    assert probes == [f"battery{k}_voltage" for k in range(2, 9)]
    requests = _requests(profile, enabled + probes)
    assert [(hex(span.address), span.count) for span in requests] == [
        ("0x404", 58),  # state, faults, temperatures (fault words reach to 0x043d)
        ("0x484", 44),  # grid and meter up to house consumption at 0x04af
        ("0x584", 6),  # PV1 and PV2
        ("0x604", 50),  # battery 1 up to state of health, and the voltages of inputs 2-8
        ("0x686", 22),  # lifetime energy counters
    ]


def test_only_what_is_asked_is_read(profile: Profile) -> None:
    assert _requests(profile, ["battery_soc"]) == (Span(0x0608, 1),)
    # A sum brings its parts along.
    assert _requests(profile, ["pv_power"]) == (Span(0x0586, 4),)
    assert _requests(profile, []) == ()


def test_requests_split_at_the_register_limit() -> None:
    runs = [Span(0x100, 1), Span(0x109 + 1, 1), Span(0x10A, 2), Span(0x113, 1)]
    requests = plan(runs, RULES)
    assert requests == (Span(0x100, 1), Span(0x10A, 10))
    assert _follows_the_rules(requests, RULES)


def test_requests_never_reach_into_a_gap() -> None:
    # 0x106 and 0x10B would fit in one request of 6, but 0x108-0x109 raise an exception.
    requests = plan([Span(0x106, 2), Span(0x10A, 2)], RULES)
    assert requests == (Span(0x106, 2), Span(0x10A, 2))


def test_requests_never_cross_a_block() -> None:
    requests = plan([Span(0x11F, 1), Span(0x200, 1)], RULES)
    assert requests == (Span(0x11F, 1), Span(0x200, 1))


def test_overlapping_and_repeated_runs_are_read_once() -> None:
    assert plan([Span(0x100, 4), Span(0x102, 2), Span(0x100, 4)], RULES) == (Span(0x100, 4),)


@pytest.mark.parametrize("run", [Span(0x0FF, 2), Span(0x108, 1), Span(0x300, 1)])
def test_a_run_that_cannot_be_read_is_refused(run: Span) -> None:
    with pytest.raises(ValueError, match="cannot be read"):
        plan([run], RULES)
