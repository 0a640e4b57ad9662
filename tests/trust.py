"""Counting the wrong values a link gets published, against the simulator's own truth.

Used by tests/api/test_trust.py (short runs) and scripts/trust.py (long runs). A poll reads
the device as the coordinator does (checks, then the counter guard); the truth is the
simulated inverter's registers at that moment, decoded by the profile, with the plant's
clock standing still during a poll. What counts as wrong is issue 16's measure.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from custom_components.zcs_azzurro.api.device import ModbusDevice
from custom_components.zcs_azzurro.api.errors import LinkError
from custom_components.zcs_azzurro.api.profile.decoder import decode
from custom_components.zcs_azzurro.api.profile.guard import CounterGuard
from custom_components.zcs_azzurro.api.profile.schema import Field, FieldType, Profile, Value
from custom_components.zcs_azzurro.api.transport.base import Link
from custom_components.zcs_azzurro.const import SETTINGS_EVERY
from simulator.devices.hyd_3ph import Hyd3ph, Plant
from simulator.eth import EthStick
from tests.conftest import Clock

# How far a published value may be from the truth before it is wrong, by unit (issue 16;
# reactive and apparent power count as powers; temperatures and frequencies are ours).
# Other units: two steps of the field's resolution.
THRESHOLDS = {
    **dict.fromkeys(("W", "var", "VA"), 100.0),
    "A": 2.0,
    "%": 3.0,
    "V": 10.0,
    "kWh": 1.0,
    "°C": 3.0,
    "Hz": 0.5,
}


@dataclass
class Tally:
    """What a run published, by field, and what it cost."""

    polls: int = 0
    corrupted_polls: int = 0  # polls in which at least one answer was corrupted
    corrupted_answers: int = 0
    failed_polls: int = 0  # the link failed (a timeout on a busy machine): all unavailable
    wrong: Counter[str] = field(default_factory=Counter)
    # Published as unavailable while the truth had a value, on clean and corrupted polls.
    withheld_clean: Counter[str] = field(default_factory=Counter)
    withheld_corrupted: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    planned: int = 0  # requests the polls planned (readings every poll, settings seldom)
    extra_clean: int = 0  # requests beyond the plan's: confirmations on clean polls
    extra_corrupted: int = 0
    examples: list[str] = field(default_factory=list)


def truth(profile: Profile, inverter: Hyd3ph, fields: tuple[Field, ...]) -> dict[str, Value | None]:
    """What the inverter holds now, decoded as the profile says."""
    inverter.refresh()
    registers = defaultdict(int, inverter.values)  # as the inverter answers: unset reads 0
    values: dict[str, Value | None] = {}
    for fld in fields:
        if fld.type is FieldType.SUM:
            parts = [values.get(key) for key in fld.sum_of]
            numbers = [p for p in parts if isinstance(p, int | float)]
            values[fld.key] = round(sum(numbers)) if len(numbers) == len(parts) else None
        else:
            values[fld.key] = decode(fld, registers)
    return values


def is_wrong(fld: Field, published: Value | None, true: Value | None) -> bool:
    """Whether a published value is beyond what issue 16 lets pass."""
    if published is None:
        return False
    if not isinstance(published, int | float) or not isinstance(true, int | float):
        return published != true  # states and fault bits: any difference (a false alarm)
    unit = fld.presentation.unit if fld.presentation else None
    threshold = THRESHOLDS.get(unit or "", 2 * abs(fld.scale))
    return abs(published - true) > threshold


def weather(poll: int, plant: Plant) -> None:
    """Steps a real plant makes, every 40 polls: a kettle (2 kW) on twice, a passing cloud.

    Under the cloud, with the kettle on, the battery turns from charging to discharging.
    """
    minute = poll % 40
    plant.extra_load_w = 2000.0 if 5 <= minute < 11 or 20 <= minute < 28 else 0.0
    plant.shade = 0.85 if 15 <= minute < 30 else 0.0


async def run(
    link: Link,
    stick: EthStick,
    profile: Profile,
    keys: list[str],
    polls: int,
    *,
    interval: float = 5.0,
    steps: bool = True,
) -> Tally:
    """Poll `polls` times, `interval` s apart on the inverter's clock, and tally.

    A first poll (not counted) reads every value for the first time, as after a restart.
    As the coordinator, polls read the settings among `keys` only every SETTINGS_EVERY polls.
    """
    inverter = stick.device
    assert isinstance(inverter, Hyd3ph)
    clock = inverter.clock
    assert isinstance(clock, Clock)
    device = ModbusDevice(link, 1, profile, clock=clock)
    guard = CounterGuard(profile.fields)
    guard.apply((await device.read(keys)).values, clock.now)
    readings = [key for key in keys if key not in profile.settings]
    tally = Tally()
    for poll in range(polls):
        if steps:
            weather(poll, inverter.plant)
        clock.now += interval
        requests, corrupted = stick.requests, stick.corrupted
        wanted = readings if (poll + 1) % SETTINGS_EVERY else keys
        plan = device.plan(wanted)
        try:
            reading = await device.read(wanted)
        except LinkError:
            tally.failed_polls += 1  # as the coordinator: every entity unavailable, none wrong
            continue
        published = guard.apply(reading.values, clock.now)
        true = truth(profile, inverter, plan.fields)
        tally.polls += 1
        tally.requests += stick.requests - requests
        tally.planned += len(plan.requests)
        extra = stick.requests - requests - len(plan.requests)
        if stick.corrupted > corrupted:
            tally.corrupted_polls += 1
            tally.corrupted_answers += stick.corrupted - corrupted
            tally.extra_corrupted += extra
        else:
            tally.extra_clean += extra
        for fld in plan.fields:
            value = published.get(fld.key)
            if is_wrong(fld, value, true[fld.key]):
                tally.wrong[fld.key] += 1
                tally.examples.append(f"poll {poll}: {fld.key} {value} (truth {true[fld.key]})")
            elif value is None and true[fld.key] is not None:
                if stick.corrupted > corrupted:
                    tally.withheld_corrupted[fld.key] += 1
                else:
                    tally.withheld_clean[fld.key] += 1
    return tally
