"""Fault soak: thousands of polls per link with faults injected at random, nothing lost.

Home Assistant (scripts/bench_hass.py) polls the simulator's front end for each link, here
in the same process so that the soak can switch faults and move the clock between polls:
time runs one scan interval per poll (Home Assistant's clock and the plant's alike), so
10,000 polls are days of sun, nights and midnights; the inverter's own faults come and go
(its fault words, shown by the fault sensors in words). Every state Home Assistant receives is
recorded and checked afterwards against the simulator's registers (or the Portal's
answer) at that poll or the one before: no value the simulator did not hold, no
total_increasing decrease, no unhandled exception, every fault recovered on the first poll
after it ends, and at most MAX_LINES log lines per fault. Run with:
scripts/soak [--polls N] [--seconds S] [--seed N] [--link NAME] [--quirks]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from unittest.mock import patch

from homeassistant.const import CONF_API_KEY, CONF_SCAN_INTERVAL, CONF_URL
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zcs_azzurro import const
from custom_components.zcs_azzurro.alarms import (
    ACTIVE_FAULT_KEY,
    FAULT_KEY,
    active_fault,
    fault_ids,
    fault_texts_of,
)
from custom_components.zcs_azzurro.api.cloud.portal_source import ALARM_KEY
from custom_components.zcs_azzurro.api.profile.decoder import decode
from custom_components.zcs_azzurro.api.profile.schema import Field, FieldType, Profile, Value
from custom_components.zcs_azzurro.battery import ENTITIES as BATTERY_ENTITIES
from custom_components.zcs_azzurro.coordinator import ZcsCoordinator
from custom_components.zcs_azzurro.portal import async_get_portal_map
from custom_components.zcs_azzurro.system import SYSTEM_FIELDS
from scripts.bench_hass import (
    LOCAL_LINKS,
    SHORT_PACING,
    LocalLink,
    home_assistant,
    local_entry,
    system_entry,
)
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick, Framing
from simulator.hub import Hub
from simulator.portal import SimulatedPortal
from simulator.power_magic import PowerMagic
from simulator.rs485 import Rs485Bus
from simulator.system import NAMES as SYSTEM_NAMES
from simulator.system import SimulatedSystem
from simulator.wifi import WifiStick
from tests.trust import is_wrong

# Links wait this long for an answer in the soak (unless told otherwise); a delay fault
# answers after twice what they wait.
TIMEOUT = 0.05
# While on, the share of read answers handed another's (same length), or with a byte changed.
CROSSED = 0.5
CORRUPT = 0.3
# Log lines a fault may cause, from its start to its recovery: ours (the failure, the
# recovery), and a library's warnings, two a poll at most (tmodbus resynchronising after a bad
# CRC, or noting a connection reset).
OURS = "custom_components.zcs_azzurro"
# Faults that hand over well-framed wrong answers: what the checks let through of them is
# judged by issue 16's measure (tests/trust.py), within the checks' tolerance not exactly.
DAMAGING = frozenset({"crossed", "corrupt"})
# Chance that a fault starts on a poll with none, and how many polls it lasts at most.
FAULT_CHANCE = 0.03
LONGEST = 3
# Chance that the inverter's own faults change on a poll (its fault words, not the link's).
PLANT_FAULT_CHANCE = 0.05
MAX_LINES = 2 + 2 * LONGEST
START = datetime(2026, 6, 20, 4, 0, tzinfo=UTC).timestamp()


class Clock:
    """The soak's time: Home Assistant's utcnow and the plant's clock, moved per poll."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        """Seconds since the epoch, soak time."""
        return self.now

    def utcnow(self) -> datetime:
        """As homeassistant.util.dt.utcnow."""
        return datetime.fromtimestamp(self.now, UTC)


@dataclass
class Front:
    """A simulator front end in this process, with its faults and the truth it holds."""

    entry: MockConfigEntry
    faults: dict[str, Callable[[bool], None]]  # fault name -> switch it on (True) or off
    truth: Callable[[], dict[str, Value | None]]  # field key -> the value it holds now
    stop: Callable[[], Any]
    # A local link's simulated device, and the front end that answers for it, with its own
    # faults (shares of damaged answers: scripts/soak_writes.py).
    device: Hyd3ph | None = None
    answering: EthStick | Rs485Bus | None = None
    # Seconds the clock moves a poll; None: the entry's scan interval.
    interval: float | None = None
    # The profile's fields by key: how far off a damaged answer may leave each (issue 16).
    fields: dict[str, Field] = field(default_factory=dict)


def eth_faults(stick: EthStick, device: Hyd3ph) -> dict[str, Callable[[bool], None]]:
    """The stick's faults; the inverter asleep behind it; a logger reboot (connections dropped).

    The same on a HUB's line (a reboot is another client taking the port) and a Power Magic.

    Not among them: an illegal-address answer, which is firmware refusing registers and
    is left out of the plan for an hour by design (tests/api/test_device.py). "Busy" (0x06)
    is: modbus_connection asks a busy device again for up to 60 s a request, and our link
    gives up at its deadline (twice the timeout) instead.
    """

    def flag(name: str, on: Any = True) -> Callable[[bool], None]:
        off = getattr(stick.faults, name)
        return lambda active: setattr(stick.faults, name, on if active else off)

    def asleep(active: bool) -> None:
        device.asleep = active

    def reboot(active: bool) -> None:
        if active:
            stick.drop_clients()

    v5 = {}
    if isinstance(stick, WifiStick):
        logger = stick.logger

        def v5_flag(name: str) -> Callable[[bool], None]:
            return lambda active: setattr(logger, name, active)

        v5 = {name: v5_flag(name) for name in ("wrong_sequence", "bad_checksum", "bad_rtu_crc")}
    return v5 | {
        "silent": flag("silent"),
        "delay": flag("delay", 2 * const.REQUEST_TIMEOUT),
        "drop": flag("drop"),
        "reset": flag("reset"),
        "bad_crc": flag("bad_crc"),
        "garbage": flag("garbage"),
        "exception_04": flag("exception", 0x04),
        "busy": flag("exception", 0x06),
        "wrong_unit": flag("wrong_unit"),
        "short": flag("short"),
        "wrong_function": flag("wrong_function"),
        "crossed": flag("crossed", CROSSED),
        "corrupt": flag("corrupt", CORRUPT),
        "asleep": asleep,
        "reboot": reboot,
    }


def register_truth(device: Hyd3ph, profile: Profile) -> dict[str, Value | None]:
    """What each field holds in the device's registers now, decoded."""
    device.refresh()
    values: dict[str, Value | None] = {}
    for fld in profile.fields:
        if fld.type is not FieldType.SUM:
            # As the device reads: an address never written holds 0.
            values[fld.key] = decode(fld, defaultdict(int, device.values))
    for fld in profile.fields:
        if fld.type is FieldType.SUM:
            parts = [values.get(key) for key in fld.sum_of]
            numbers = [p for p in parts if isinstance(p, int | float)]
            values[fld.key] = sum(numbers) if len(numbers) == len(parts) else None
    # The Active fault sensor shows the fault words in words: no fault, or the first ID's.
    if fault_texts_of(profile) is not None and isinstance(codes := values[FAULT_KEY], tuple):
        values[ACTIVE_FAULT_KEY] = active_fault(codes)
    return values


def plant_faults(device: Hyd3ph, profile: Profile, rng: random.Random) -> None:
    """The inverter reports none, one or two fault IDs of its map from now on."""
    device.report_faults(rng.sample(fault_ids(profile), rng.randint(0, 2)))


def rs485_faults(bus: Rs485Bus, device: Hyd3ph) -> dict[str, Callable[[bool], None]]:
    """What a bus shows: silence, a late, damaged, crossed or foreign answer, exceptions, sleep."""

    def flag(name: str, on: Any = True) -> Callable[[bool], None]:
        off = getattr(bus.faults, name)
        return lambda active: setattr(bus.faults, name, on if active else off)

    def asleep(active: bool) -> None:
        device.asleep = active

    return {
        "silent": flag("silent"),
        "delay": flag("delay", 2 * const.REQUEST_TIMEOUT),
        "bad_crc": flag("bad_crc"),
        "garbage": flag("garbage"),
        "wrong_unit": flag("wrong_unit"),
        "exception_04": flag("exception", 0x04),
        "busy": flag("exception", 0x06),
        "crossed": flag("crossed", CROSSED),
        "corrupt": flag("corrupt", CORRUPT),
        "asleep": asleep,
    }


@dataclass
class Settings:
    """What the command line sets for every link's run."""

    # What real sticks and loggers do (tests/captures/), on for the whole run.
    quirks: bool = False


SETTINGS = Settings()
# Registers no field holds, inside the request for the grid's (tests/api/test_device.py).
RESERVED = (0x0496, 0x0497)


def show_quirks(front: EthStick | Rs485Bus, device: Hyd3ph) -> None:
    """Switch on, for good, what public captures show real sticks and loggers do.

    The inverter refuses two reserved registers inside a read of the grid block, as Sofar
    firmware does (function byte 0x90): no field is there, so the device must learn the
    refusal and read around it with every value still shown.
    """
    front.faults.sofar_refusal = True
    device.gaps.append(RESERVED)
    if isinstance(front, WifiStick):
        for quirk in ("chatter", "own_frames", "foreign_answers", "double_crc", "at_noise"):
            setattr(front.logger, quirk, True)
        front.heartbeat_interval = const.REQUEST_TIMEOUT


async def local_front(link: LocalLink, clock: Clock, profile: Profile) -> Front:
    """The link's front end in this process: on a loopback port, or a pty for RS485."""
    device = Hyd3ph(clock=clock)
    kind = link.data[const.CONF_LINK]
    where: int | str
    if kind == const.LINK_RS485:
        bus = Rs485Bus({1: device})
        await bus.start()
        front: Any = bus
        faults = rs485_faults(bus, device)
        where = bus.path
        answering: EthStick | Rs485Bus = bus
    else:
        if kind == const.LINK_WIFI:
            stick: EthStick = WifiStick(device)
            front = stick
        elif kind == const.LINK_HUB:
            front = Hub({"inverters": {1: device}}, pacing=SHORT_PACING)
            stick = front.lines["inverters"]
        elif kind == const.LINK_POWER_MAGIC:
            front = stick = PowerMagic(device)
        else:
            framing = Framing(link.simulator[link.simulator.index("--framing") + 1])
            front = stick = EthStick(device, framing=framing)
        await front.start()
        faults = eth_faults(stick, device)
        where = stick.port
        answering = stick
    if SETTINGS.quirks:
        show_quirks(answering, device)
    # The entry's own interval keeps Home Assistant's scheduler out of the run; the clock moves
    # as a user's default polls do, so that the checks of how fast values move judge as they
    # do for a user (an hour apart, a temperature may move 120 °C).
    entry = local_entry(link, profile.id, where, **{CONF_SCAN_INTERVAL: const.MAX_SCAN_INTERVAL})
    truth = lambda: register_truth(device, profile)  # noqa: E731
    return Front(
        entry,
        faults,
        truth,
        front.stop,
        device,
        answering,
        interval=const.DEFAULT_SCAN_INTERVAL,
        fields={fld.key: fld for fld in profile.fields},
    )


async def portal_front(clock: Clock, hass: HomeAssistant) -> Front:
    """The simulated Azzurro Portal in this process."""
    portal = SimulatedPortal(clock=clock)
    await portal.start()
    portal_map = await async_get_portal_map(hass)

    def truth() -> dict[str, Value | None]:
        # The sample a realtime answer shows now, and the alarms it reports.
        _, sample = portal._latest()
        held = {key: sample.get(name) for key, name in portal_map.names.items()}
        return held | {ALARM_KEY: tuple(portal.alarms or ())}

    def flag(name: str, on: Any = True) -> Callable[[bool], None]:
        off = getattr(portal.faults, name)
        return lambda active: setattr(portal.faults, name, on if active else off)

    entry = MockConfigEntry(
        domain=const.DOMAIN,
        unique_id=f"portal_{portal.thing_key}",
        title="Azzurro Portal",
        data={
            const.CONF_LINK: const.LINK_PORTAL,
            CONF_API_KEY: portal.key,
            const.CONF_CLIENT_CODE: portal.client_code,
            const.CONF_THING_KEY: portal.thing_key,
            CONF_URL: portal.url,
            const.CONF_FIELDS: sorted(portal_map.names.values()),
            const.CONF_MODEL: const.PORTAL_MODEL,
        },
        options={
            CONF_SCAN_INTERVAL: const.DEFAULT_PORTAL_SCAN_INTERVAL,
            const.CONF_BACKFILL_DAYS: 0,
        },
    )
    faults = {
        "error_502": flag("error_page", 502),
        "error_503": flag("error_page", 503),
        "empty": flag("empty"),
        "offline": flag("offline"),
        "zero_burst": flag("zero_burst"),
        "stale": flag("stale", 3 * 3600.0),
    }
    return Front(entry, faults, truth, portal.stop)


async def system_front(clock: Clock, hass: HomeAssistant) -> Front:
    """The simulated Azzurro System API in this process (its faults: HTTP errors, the token)."""
    system = SimulatedSystem(clock=clock)
    await system.start()
    system_map = await async_get_portal_map(hass, SYSTEM_FIELDS)
    portal_names = {name: portal for portal, name in SYSTEM_NAMES.items()}

    def truth() -> dict[str, Value | None]:
        # The sample a realtime answer shows now, and the alarms it reports.
        _, sample = system._plant.samples()[-1]
        names = system_map.names.items()
        held = {key: sample.get(portal_names[name]) for key, name in names if key != ALARM_KEY}
        return held | {ALARM_KEY: tuple(system.alarms or ())}

    def flag(name: str, on: Any = True) -> Callable[[bool], None]:
        off = getattr(system.faults, name)
        return lambda active: setattr(system.faults, name, on if active else off)

    fields = sorted([*SYSTEM_NAMES.values(), "alarms"])
    interval = {CONF_SCAN_INTERVAL: const.DEFAULT_PORTAL_SCAN_INTERVAL}
    faults = {
        "error_500": flag("server_error", 500),
        "error_502": flag("server_error", 502),
        "error_503": flag("server_error", 503),
        "token_rejected": flag("token_rejected"),
    }
    return Front(system_entry(system.url, fields, **interval), faults, truth, system.stop)


@dataclass
class Tally:
    """What the soak of one link found."""

    polls: int = 0
    injected: int = 0
    recovered: int = 0
    wrong: list[str] = field(default_factory=list)
    # Off the truth after a damaged answer, but within issue 16's measure.
    tolerated: list[str] = field(default_factory=list)
    decreases: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    most_lines: int = 0
    unrecovered: list[str] = field(default_factory=list)
    noisiest: list[str] = field(default_factory=list)  # that fault's log lines
    slowest: tuple[float, str] = (0.0, "")  # the longest poll (s), and the fault during it

    def line(self, name: str, seconds: float) -> str:
        """The one line the soak prints for the link."""
        return (
            f"{name}: polls {self.polls}, faults injected {self.injected}, recovered "
            f"{self.recovered}, wrong values {len(self.wrong)} (and {len(self.tolerated)} off "
            f"within issue 16's measure after damaged answers), decreases {len(self.decreases)}, "
            f"exceptions {len(self.exceptions)}, most log lines per fault {self.most_lines} "
            f"({seconds:.0f} s; slowest poll {self.slowest[0]:.2f} s, fault {self.slowest[1]})"
        )


class LogCounter(logging.Handler):
    """Counts the log lines a user reads: WARNING and up (Home Assistant's default), and ours.

    Keeps those with a traceback. (Libraries' INFO lines, such as tmodbus noting each
    reconnect, are not in a default log.)
    """

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0
        self.tracebacks: list[str] = []
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Count the record if a user would read it."""
        if record.levelno < logging.WARNING and not record.name.startswith(OURS):
            return
        self.count += 1
        self.lines.append(f"{record.name}: {record.getMessage()}"[:200])
        if record.exc_info:
            self.tracebacks.append(self.format(record))


def within_measure(state: str, held: list[Value | None], fld: Field | None) -> bool:
    """Whether a number shown off the truth is within what issue 16 lets pass (tests/trust.py)."""
    if fld is None:
        return False
    try:
        shown = float(state)
    except ValueError:
        return False
    return any(isinstance(v, int | float) and not is_wrong(fld, shown, v) for v in held)


def matches(state: str, value: Value | None, platform: str) -> bool:
    """Whether a state Home Assistant received shows this value."""
    if value is None:
        return False
    if isinstance(value, str):
        return state == value
    if platform == "binary_sensor":
        return state == ("on" if value else "off")
    if isinstance(value, tuple):
        return False
    try:
        return abs(float(state) - float(value)) < 1e-6
    except ValueError:
        return False


@asynccontextmanager
async def soaked(
    hass: HomeAssistant, front: Front
) -> AsyncIterator[tuple[ZcsCoordinator, dict[str, tuple[str, str]]]]:
    """The front's entry set up; its entities' ids -> (field key, platform)."""
    front.entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(front.entry.entry_id)
    await hass.async_block_till_done()
    registry = er.async_get(hass)
    prefix = f"{front.entry.unique_id}_"
    # Battery control's entities show what Home Assistant asks, not a reading of the device.
    entities = {
        e.entity_id: (e.unique_id.removeprefix(prefix), e.domain)
        for e in er.async_entries_for_config_entry(registry, front.entry.entry_id)
        if e.disabled_by is None and e.unique_id.removeprefix(prefix) not in BATTERY_ENTITIES
    }
    try:
        yield front.entry.runtime_data.coordinator, entities
    finally:
        await hass.config_entries.async_unload(front.entry.entry_id)
        await front.stop()


async def soak(  # noqa: PLR0912, PLR0915 (one loop: poll, fault, record, check)
    make: Callable[[HomeAssistant, Clock], Any], *, polls: int, seconds: float, seed: int
) -> Tally:
    """Poll `polls` times (or for `seconds`), faults at random; check what was published."""
    rng = random.Random(seed)
    # The plant's faults draw from their own sequence: the link's stay as the seed made them.
    plant_rng = random.Random(seed + 1)
    clock = Clock(START)
    tally = Tally()
    counter = LogCounter()
    root = logging.getLogger()
    root.addHandler(counter)
    root.setLevel(logging.INFO)
    loop_errors: list[str] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, context: loop_errors.append(str(context.get("message"))))
    started = time.monotonic()
    with patch("homeassistant.util.dt.utcnow", clock.utcnow):
        async with home_assistant() as hass:
            front: Front = await make(hass, clock)
            async with soaked(hass, front) as (coordinator, entities):
                scheduled = coordinator.update_interval
                assert scheduled is not None
                interval = front.interval or scheduled.total_seconds()
                coordinator.update_interval = None  # the soak polls, on its own clock
                if hasattr(coordinator.device, "_clock"):
                    coordinator.device._clock = clock
                received: list[tuple[int, str, str]] = []

                @callback
                def _record(event: Event) -> None:
                    if (new := event.data["new_state"]) is not None:
                        received.append((tally.polls, new.entity_id, new.state))

                @callback
                def _ours(data: Any) -> bool:
                    return data["entity_id"] in entities

                hass.bus.async_listen("state_changed", _record, _ours)
                truths: list[dict[str, Value | None]] = [front.truth()]
                damaged: dict[int, str] = {}  # polls with an answer-damaging fault on: which
                fault: str | None = None
                left = 0
                recovering: str | None = None
                lines_at = 0
                last_total: dict[str, float] = {}
                total_ids = {
                    entity_id
                    for entity_id in entities
                    if (s := hass.states.get(entity_id))
                    and s.attributes.get("state_class") == "total_increasing"
                }
                while tally.polls < polls and time.monotonic() - started < seconds:
                    # None starts so late that it could not end, and be recovered, in the run.
                    late = tally.polls >= polls - LONGEST - 1
                    if (
                        fault is None
                        and recovering is None
                        and not late
                        and rng.random() < FAULT_CHANCE
                    ):
                        fault = rng.choice(sorted(front.faults))
                        left = rng.randint(1, LONGEST)
                        front.faults[fault](active=True)
                        tally.injected += 1
                        lines_at = counter.count
                    if front.device is not None and plant_rng.random() < PLANT_FAULT_CHANCE:
                        plant_faults(front.device, coordinator.device.profile, plant_rng)
                    if fault in DAMAGING:
                        damaged[tally.polls] = fault
                    clock.now += interval
                    poll_started = time.monotonic()
                    await coordinator.async_refresh()
                    await hass.async_block_till_done()
                    took = time.monotonic() - poll_started
                    if took > tally.slowest[0]:
                        tally.slowest = (took, fault or recovering or "none")
                    tally.polls += 1
                    truths.append(front.truth())
                    if recovering is not None:
                        truth = truths[-1]
                        down = [
                            entity_id
                            for entity_id, (key, _) in entities.items()
                            if key in truth
                            and truth[key] is not None
                            and (s := hass.states.get(entity_id))
                            and s.state == "unavailable"
                        ]
                        if coordinator.last_update_success and not down:
                            tally.recovered += 1
                        else:
                            tally.unrecovered.append(
                                f"poll {tally.polls} {recovering}: {down[:3]}"
                                f" ({why_down(coordinator, entities, down)})"
                            )
                        if counter.count - lines_at > tally.most_lines:
                            tally.most_lines = counter.count - lines_at
                            tally.noisiest = [recovering, *counter.lines[lines_at:]]
                        recovering = None
                    if fault is not None:
                        left -= 1
                        if left == 0:
                            front.faults[fault](active=False)
                            recovering, fault = fault, None
                # Afterwards: every state received, against the truth then or a poll before.
                for poll, entity_id, state in received:
                    key, platform = entities[entity_id]
                    if state in ("unavailable", "unknown") or platform == "button":
                        continue
                    # Received during poll `poll` + 1: what it read, or what the one before did.
                    held = [truths[poll + 1].get(key), truths[poll].get(key)]
                    if not any(matches(state, value, platform) for value in held):
                        off = f"poll {poll} {entity_id}={state} held {held}"
                        if poll in damaged and within_measure(state, held, front.fields.get(key)):
                            tally.tolerated.append(f"{off} ({damaged[poll]})")
                        else:
                            tally.wrong.append(off)
                    if entity_id in total_ids:
                        if float(state) < last_total.get(entity_id, float("-inf")):
                            tally.decreases.append(f"poll {poll} {entity_id}={state}")
                        last_total[entity_id] = float(state)
    logging.getLogger().removeHandler(counter)
    tally.exceptions = counter.tracebacks + loop_errors
    return tally


def why_down(
    coordinator: ZcsCoordinator, entities: dict[str, tuple[str, str]], down: list[str]
) -> str:
    """Why entities are unavailable after a poll: the poll failed, or what the reading says."""
    if not coordinator.last_update_success or coordinator.data is None:
        return f"poll failed: {coordinator.last_exception!r}"
    reading = coordinator.data
    keys = {entities[entity_id][0] for entity_id in down}
    refused = [f"{span.address:#06x}+{span.count}" for span in reading.refused]
    return f"withheld {sorted(keys & reading.withheld)}, refused {refused}"


@dataclass(frozen=True)
class SoakLink:
    """A link the soak runs: its name and how its front end and entry come about."""

    name: str
    make: Callable[[HomeAssistant, Clock], Any]


def _local(link: LocalLink) -> SoakLink:
    async def make(hass: HomeAssistant, clock: Clock) -> Front:
        from custom_components.zcs_azzurro.api.profile.loader import load_bundled  # noqa: PLC0415

        (profile,) = [p for p in load_bundled() if p.id == "zcs_3ph_hyd_zss"]
        del hass
        return await local_front(link, clock, profile)

    return SoakLink(link.name, make)


SOAK_LINKS = (
    *(_local(link) for link in LOCAL_LINKS),
    SoakLink("portal", lambda hass, clock: portal_front(clock, hass)),
    SoakLink("system", lambda hass, clock: system_front(clock, hass)),
)


def main() -> None:
    """Soak every link; one line each; exit 1 if anything was lost."""
    parser = argparse.ArgumentParser(prog="scripts/soak", description=__doc__)
    parser.add_argument("--polls", type=int, default=10_000, help="per link")
    parser.add_argument("--seconds", type=float, default=600, help="per link, at most")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--verbose", action="store_true", help="the noisiest fault's log lines")
    parser.add_argument("--link", action="append", help="only these links (by name)")
    parser.add_argument(
        "--quirks",
        action="store_true",
        help="what real sticks and loggers do, all run long: the WiFi logger's own frames, "
        "other clients' answers, a second CRC, AT noise, heartbeats; Sofar's 0x90 refusal",
    )
    parser.add_argument(
        "--timeout", type=float, default=TIMEOUT, help="s a link waits for an answer"
    )
    arguments = parser.parse_args()
    const.REQUEST_TIMEOUT = arguments.timeout  # type: ignore[misc]
    SETTINGS.quirks = arguments.quirks
    failed = False
    for link in SOAK_LINKS:
        if arguments.link and link.name not in arguments.link:
            continue
        started = time.monotonic()
        tally = asyncio.run(
            soak(link.make, polls=arguments.polls, seconds=arguments.seconds, seed=arguments.seed)
        )
        print(tally.line(link.name, time.monotonic() - started), flush=True)
        if arguments.verbose:
            print("\n".join(f"  log: {line}" for line in tally.noisiest))
        for problem in (*tally.wrong, *tally.decreases, *tally.exceptions, *tally.unrecovered)[:10]:
            print(f"  {problem}")
        for off in tally.tolerated[:10]:
            print(f"  within the measure: {off}")
        failed |= bool(
            tally.wrong or tally.decreases or tally.exceptions or tally.unrecovered
            or tally.most_lines > MAX_LINES
        )  # fmt: skip
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
