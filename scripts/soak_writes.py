"""Write soak: control writes through Home Assistant over every local link, answers damaged.

On scripts/soak.py's harness (Home Assistant and the link's simulator in one process, one
clock), the controls are set as a user sets them: a random control, a random value it takes,
through its entity's service. A share of the answers is damaged the ways sticks damage them:
read answers crossed (another request's answer) or corrupted (a byte changed, validly framed),
write answers cut short, answered as the LSE-3 does, echoing another register, or lost. Each
write the inverter receives is checked against what it held just before: no register the
user did not ask for may be written with a value the inverter did not hold (the commit
register, and the reserved ones public write-backs send as fixed values, aside). And every
write Home Assistant reports done must be what the inverter then holds. Run with:
scripts/soak_writes [--writes N] [--damaged SHARE] [--seed N] [--link NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from custom_components.zcs_azzurro import const
from custom_components.zcs_azzurro.api.profile.decoder import decode
from custom_components.zcs_azzurro.api.profile.loader import load_bundled
from custom_components.zcs_azzurro.api.profile.schema import Field, Profile, Value
from custom_components.zcs_azzurro.coordinator import ZcsCoordinator
from scripts.bench_hass import LOCAL_LINKS, LocalLink, home_assistant
from scripts.soak import START, Clock, local_front, soaked
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.faults import Faults

# Seconds between two writes on the soak's clock: past the EEPROM interval, so that every
# write is one the integration may send.
SPACING = 15.0
# Links wait this long for an answer here: a damaged answer costs the wait, and a loaded
# machine (the poll soak's 50 ms) makes polls fail that are no write's doing.
TIMEOUT = 0.25


@dataclass
class Tally:
    """What the write soak of one link found."""

    writes: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # "done", or the error's key
    sent: int = 0  # write requests the inverter received
    unasked: list[str] = field(default_factory=list)  # registers written it did not hold
    false_done: list[str] = field(default_factory=list)  # "done", and it does not hold it
    unavailable: int = 0  # picks of a control that showed no value then (polled instead)
    damaged_reads: int = 0
    damaged_writes: int = 0
    loud: list[str] = field(default_factory=list)  # log lines a user reads (WARNING and up)

    def line(self, name: str, seconds: float) -> str:
        """The one line the soak prints for the link."""
        outcomes = ", ".join(f"{key} {n}" for key, n in self.outcomes.most_common())
        return (
            f"{name}: writes {self.writes} ({outcomes}; {self.unavailable} times the control "
            f"was unavailable, polled instead); write requests received {self.sent}; "
            f"damaged answers: reads {self.damaged_reads}, writes {self.damaged_writes}; "
            f"registers written unasked and not held {len(self.unasked)}; done but not held "
            f"{len(self.false_done)}; log lines at WARNING or up {len(self.loud)} ({seconds:.0f} s)"
        )


class Loud(logging.Handler):
    """The log lines a user reads in Home Assistant's log: WARNING and up, anyone's."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the line."""
        self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}"[:200])


def _choice(rng: random.Random, fld: Field) -> Value:
    """A value the field takes, at random: an option, or a step of its range."""
    write = fld.write
    assert write is not None
    if fld.options is not None:
        return rng.choice(sorted(fld.options.values()))
    assert write.range is not None
    low, high = write.range
    step = write.step or 1
    value = low + step * rng.randrange(round((high - low) / step) + 1)
    return round(value, 6) if step < 1 else int(value)


async def _set(hass: HomeAssistant, entity_id: str, platform: str, value: Value) -> None:
    """Set the control as the UI does."""
    if platform == "number":
        service, data = "set_value", {"value": value}
    elif platform == "select":
        service, data = "select_option", {"option": value}
    else:
        service, data = ("turn_on" if value == "on" else "turn_off"), {}
    await hass.services.async_call(
        platform, service, {"entity_id": entity_id, **data}, blocking=True
    )


def _check_sent(
    device: Hyd3ph, profile: Profile, fld: Field, before: dict[int, int], since: int
) -> tuple[int, list[str]]:
    """The write requests since `since`, and each register in them written unasked, not held."""
    asked = {a for s in fld.spans for a in range(s.address, s.end + 1)}
    group = profile.group(fld.write.group)  # type: ignore[union-attr]
    allowed = {address for address, _ in group.fixed}
    if group.commit is not None:
        allowed.add(group.commit[0])
    writes = [r for r in device.log[since:] if r.function in (0x06, 0x10)]
    wrong = [
        f"{r.address + i:#06x}={word} (held {before.get(r.address + i, 0)}) writing {fld.key}"
        for r in writes
        for i, word in enumerate(r.words)
        if r.address + i not in asked | allowed and word != before.get(r.address + i, 0)
    ]
    return len(writes), wrong


async def soak_writes(link: LocalLink, *, writes: int, damaged: float, seed: int) -> Tally:
    """Set `writes` controls at random over the link; a share `damaged` of answers damaged."""
    rng = random.Random(seed)
    (profile,) = [p for p in load_bundled() if p.id == "zcs_3ph_hyd_zss"]
    clock = Clock(START)
    tally = Tally()
    loud = Loud()
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    with patch("homeassistant.util.dt.utcnow", clock.utcnow):
        async with home_assistant() as hass:
            front = await local_front(link, clock, profile)
            device, answering = front.device, front.answering
            assert device is not None
            assert answering is not None
            async with soaked(hass, front) as (coordinator, entities):
                coordinator.update_interval = None  # polls only after writes, as they come
                assert isinstance(coordinator, ZcsCoordinator)
                coordinator.writer.interval.clock = clock
                controls = [
                    (entity_id, platform, profile.field(key))
                    for entity_id, (key, platform) in sorted(entities.items())
                    if platform in ("number", "select", "switch")
                ]
                _damage(answering.faults, damaged)
                # From here on (Home Assistant's start has lines of its own).
                root.addHandler(loud)
                while tally.writes < writes:
                    entity_id, platform, fld = rng.choice(controls)
                    if (shown := hass.states.get(entity_id)) is None or shown.state in (
                        "unavailable",
                        "unknown",
                    ):
                        # A control that shows no value takes no write (Home Assistant says
                        # so, and does nothing): poll, as the next scan would.
                        tally.unavailable += 1
                        await coordinator.async_refresh_settings()
                        continue
                    value = _choice(rng, fld)
                    clock.now += SPACING
                    device.refresh()
                    before = dict(device.values)
                    since = len(device.log)
                    try:
                        await _set(hass, entity_id, platform, value)
                        outcome = "done"
                    except HomeAssistantError as err:
                        outcome = err.translation_key or type(err).__name__
                    await hass.async_block_till_done()
                    tally.writes += 1
                    tally.outcomes[outcome] += 1
                    sent, wrong = _check_sent(device, profile, fld, before, since)
                    tally.sent += sent
                    tally.unasked += wrong
                    held = decode(fld, dict(device.values))
                    if outcome == "done" and held != value:
                        tally.false_done.append(f"{fld.key}={value!r}, holds {held!r}")
                tally.damaged_reads = answering.damage.corrupted
                tally.damaged_writes = answering.damage.damaged_writes
    root.removeHandler(loud)
    tally.loud = loud.lines
    return tally


def _damage(answers: Faults, share: float) -> None:
    """Damage `share` of the answers: reads half crossed, half corrupted; writes as they come."""
    answers.crossed = share / 2
    answers.corrupt = share / 2
    answers.damage_writes = share


def main() -> None:
    """Soak every local link's writes; one line each; exit 1 if a write was not as it must be."""
    parser = argparse.ArgumentParser(prog="scripts/soak_writes", description=__doc__)
    parser.add_argument("--writes", type=int, default=1000, help="per link")
    parser.add_argument("--damaged", type=float, default=0.2, help="share of answers damaged")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--link", action="append", help="only these links (by name)")
    arguments = parser.parse_args()
    const.REQUEST_TIMEOUT = TIMEOUT  # type: ignore[misc]
    failed = False
    for link in LOCAL_LINKS:
        if arguments.link and link.name not in arguments.link:
            continue
        started = time.monotonic()
        tally = asyncio.run(
            soak_writes(
                link, writes=arguments.writes, damaged=arguments.damaged, seed=arguments.seed
            )
        )
        print(tally.line(link.name, time.monotonic() - started), flush=True)
        for problem in (*tally.unasked, *tally.false_done, *tally.loud)[:10]:
            print(f"  {problem}")
        failed |= bool(tally.unasked or tally.false_done)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
