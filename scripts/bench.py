"""Poll cost inside Home Assistant: ours and Home Assistant's own `modbus`, side by side.

For each bundled profile and local link (scripts/bench_hass.py), two simulators in their
own processes (same device, same flags, one per integration, so that neither shares the
other's connection) answer with a stick's latency (--delay + --jitter). In one Home
Assistant: our entry, and a core `modbus` hub configured from YAML generated from the
profile, reading the same registers for the same entities. Each polls `polls` times; the
CPU of this process (Home Assistant; the simulators run elsewhere) is taken around each
poll, state writes are counted as state_changed and state_reported events. Run with:
scripts/bench [--polls N] [--delay S] [--jitter S]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from homeassistant.components.modbus.const import DATA_MODBUS_HUBS
from homeassistant.components.modbus.modbus import ModbusHub
from homeassistant.const import CONF_SCAN_INTERVAL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import async_get_platforms
from homeassistant.setup import async_setup_component

from custom_components.zcs_azzurro import const
from custom_components.zcs_azzurro.api.profile.decoder import decimals
from custom_components.zcs_azzurro.api.profile.loader import load_bundled
from custom_components.zcs_azzurro.api.profile.schema import FieldType, Profile, WordOrder
from custom_components.zcs_azzurro.coordinator import ZcsConfigEntry, ZcsCoordinator
from scripts import bench_line
from scripts.bench_hass import (
    LOCAL_LINKS,
    PROFILES,
    ROOT,
    SERIAL,
    LocalLink,
    count_writes,
    home_assistant,
    local_entry,
    system_entry,
)
from simulator.system import NAMES

# Both integrations are compared at our default poll interval.
INTERVAL = const.DEFAULT_SCAN_INTERVAL
# Home Assistant polls nothing on its own while the bench drives the polls.
IDLE = 3600
# Core `modbus` data types for the profile's types (bits are read as raw words).
MODBUS_TYPES = {
    FieldType.U16: "uint16",
    FieldType.S16: "int16",
    FieldType.U32: "uint32",
    FieldType.S32: "int32",
    FieldType.STR: "string",
    FieldType.F32: "float32",
}


@dataclass
class Result:
    """One integration's cost over the polls."""

    entities: int
    setup: float  # s, to every entity showing its first reading
    requests: list[int]
    wall: list[float]  # ms per poll
    cpu: list[float]  # ms per poll
    changed: int
    unchanged: int
    interval: float = INTERVAL  # s between polls, for requests/h (a cloud's is longer)

    def row(self, link: str, who: str) -> list[str]:
        """A table row."""
        polls = len(self.requests)
        per_poll = statistics.fmean(self.requests)
        hourly = per_poll * 3600 / self.interval
        return [
            link, who, str(self.entities), f"{per_poll:.1f}", f"{hourly:.0f}",
            f"{statistics.median(self.wall):.0f}", f"{statistics.median(self.cpu):.2f}",
            f"{self.changed / polls:.1f}", f"{self.unchanged / polls:.1f}", f"{self.setup:.2f}",
        ]  # fmt: skip


def readings(profile: Profile) -> list[str]:
    """The default entities that show readings (the settings are the controls' values).

    (The simulated devices have one battery tower: a second one's entities never appear.)
    """
    return [key for key in profile.defaults() if key not in profile.settings]


def modbus_yaml(
    profile: Profile, keys: list[str], link: LocalLink, where: int | str
) -> dict[str, Any]:
    """A core `modbus` hub reading these fields as sensors: one per register run.

    A derived field (a sum of others) has no register of its own: core `modbus` shows its
    parts, and a template would add the sum without reading anything.
    """
    sensors = []
    for key in keys:
        field = profile.field(key)
        if field.type is FieldType.SUM:
            continue
        for number, span in enumerate(field.spans, start=1):
            sensor: dict[str, Any] = {
                "name": key if len(field.spans) == 1 else f"{key} {number}",
                "unique_id": f"bench_{key}_{number}",
                "address": span.address,
                "device_address": 1,
                "input_type": "input" if profile.rules.is_input(span) else "holding",
                "scan_interval": IDLE,
            }
            if field.type is FieldType.BITS or field.options is not None:
                sensor |= {"data_type": "custom", "structure": f">{span.count}H"}
                sensor["count"] = span.count
            elif field.type is FieldType.STR:
                sensor |= {"data_type": "string", "count": span.count}
            else:
                sensor |= {"data_type": MODBUS_TYPES[field.type], "scale": field.scale}
                sensor["precision"] = decimals(field.scale)
                if field.word_order is WordOrder.LITTLE:
                    sensor["swap"] = "word"
            sensors.append(sensor)
    address = {} if link.serial else {"host": "127.0.0.1"}
    return {
        "name": "bench",
        "type": link.modbus_type,
        **address,
        "port": where,
        "timeout": 5,
        **link.modbus,
        "sensors": sensors,
    }


@contextmanager
def simulator(*arguments: str) -> Iterator[int | str]:
    """The simulator in its own process, on a loopback port it picks; yields the port.

    On a pseudo-terminal (RS485), the path of its end; of a HUB, the inverter line's port.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", "0", *arguments],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        # "listening hub 127.0.0.1:40001, ..." or "listening rs485 /dev/pts/3"
        where = process.stdout.readline().split()[2].rstrip(",")
        yield where if where.startswith("/") else int(where.rsplit(":", 1)[1])
    finally:
        process.terminate()
        process.wait()


async def measure(
    hass: HomeAssistant,
    polls: int,
    poll: Callable[[], Awaitable[None]],
    requests: Callable[[], int],
) -> tuple[list[int], list[float], list[float]]:
    """Requests, wall ms and CPU ms of each poll, Home Assistant's work for it included."""
    counts, wall, cpu = [], [], []
    for _ in range(polls):
        before, started, cpu_before = requests(), time.perf_counter(), time.process_time()
        await poll()
        await hass.async_block_till_done()
        cpu.append((time.process_time() - cpu_before) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
        counts.append(requests() - before)
    return counts, wall, cpu


async def ours(
    hass: HomeAssistant,
    link: LocalLink,
    profile: Profile,
    *,
    port: int | str,
    keys: list[str],
    polls: int,
) -> Result:
    """Our entry, with only the entities of `keys` enabled."""
    entry = local_entry(link, profile.id, port, **{CONF_SCAN_INTERVAL: IDLE})
    entry.add_to_hass(hass)
    registry = er.async_get(hass)
    for field, shown in profile.entities():
        if profile.presence_of(field.key):
            continue  # a part the device lacks has no entity
        # An entity registry entry outlives its config entry: set its state each time.
        registered = registry.async_get_or_create(
            shown.platform, const.DOMAIN, f"{SERIAL}_{field.key}", config_entry=entry
        )
        registry.async_update_entity(
            registered.entity_id,
            disabled_by=None if field.key in keys else er.RegistryEntryDisabler.USER,
        )

    def requests(coordinator: ZcsCoordinator) -> Callable[[], int]:
        stats = coordinator.device.link.stats  # type: ignore[attr-defined]
        return lambda: int(stats.requests)

    return await measured_entry(hass, entry, polls, requests)


async def measured_entry(
    hass: HomeAssistant,
    entry: ZcsConfigEntry,
    polls: int,
    requests: Callable[[ZcsCoordinator], Callable[[], int]],
    interval: float = INTERVAL,
) -> Result:
    """Set the entry up, poll it `polls` times counting its requests, and remove it."""
    started = time.perf_counter()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    setup = time.perf_counter() - started
    coordinator = entry.runtime_data.coordinator
    assert coordinator.last_update_success
    shown = {
        e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.disabled_by is None
    }
    sent = requests(coordinator)
    with count_writes(hass, shown) as writes:
        counts, wall, cpu = await measure(hass, polls, coordinator.async_refresh, sent)
    assert coordinator.last_update_success
    await hass.config_entries.async_remove(entry.entry_id)
    return Result(
        len(shown), setup, counts, wall, cpu, writes["changed"], writes["unchanged"], interval
    )


async def core_modbus(
    hass: HomeAssistant,
    profile: Profile,
    link: LocalLink,
    *,
    port: int | str,
    keys: list[str],
    polls: int,
) -> Result:
    """Home Assistant's `modbus`, from YAML, reading the same registers."""
    config = modbus_yaml(profile, keys, link, port)
    started = time.perf_counter()
    assert await async_setup_component(hass, "modbus", {"modbus": [config]})
    # The hub loads its platforms in the background; each sensor reads once the hub has
    # connected, on a timer of its own.
    async with asyncio.timeout(60):
        while not _all_shown(hass, len(config["sensors"])):  # noqa: ASYNC110 (states: no event)
            await asyncio.sleep(0.01)
    setup = time.perf_counter() - started
    entities = _entities(hass)
    sent = [0]
    calls = _counted(hass.data[DATA_MODBUS_HUBS]["bench"], sent)

    async def poll() -> None:
        # As their timers fire together at the same scan interval.
        await asyncio.gather(*(e.async_update() for e in entities))

    with count_writes(hass, {e.entity_id for e in entities}) as writes:
        counts, wall, cpu = await measure(hass, polls, poll, lambda: sent[0])
    calls()
    return Result(len(entities), setup, counts, wall, cpu, writes["changed"], writes["unchanged"])


async def system(hass: HomeAssistant, *, port: int, polls: int) -> Result:
    """An Azzurro System entry (every field the simulated API answers), its calls counted."""
    fields = sorted([*NAMES.values(), "alarms"])
    entry = system_entry(f"http://127.0.0.1:{port}/", fields, **{CONF_SCAN_INTERVAL: IDLE})
    entry.add_to_hass(hass)

    def requests(coordinator: ZcsCoordinator) -> Callable[[], int]:
        client = coordinator.device.client  # type: ignore[attr-defined]
        sent = [0]
        original = client._call

        async def counted(*args: Any) -> Any:
            sent[0] += 1
            return await original(*args)

        client._call = counted
        return lambda: sent[0]

    return await measured_entry(
        hass, entry, polls, requests, float(const.DEFAULT_PORTAL_SCAN_INTERVAL)
    )


def _entities(hass: HomeAssistant) -> list[Entity]:
    return [e for p in async_get_platforms(hass, "modbus") for e in p.entities.values()]


def _all_shown(hass: HomeAssistant, count: int) -> bool:
    """Whether all `count` entities of the hub have read once (a reading, or unavailable)."""
    entities = _entities(hass)
    return len(entities) == count and all(
        (state := hass.states.get(e.entity_id)) is not None and state.state != "unknown"
        for e in entities
    )


def _counted(hub: ModbusHub, sent: list[int]) -> Callable[[], None]:
    """Count the hub's requests (each entity's read goes through async_pb_call)."""
    original = hub.async_pb_call

    async def counted(*args: Any, **kwargs: Any) -> Any:
        sent[0] += 1
        return await original(*args, **kwargs)

    hub.async_pb_call = counted  # type: ignore[method-assign]

    def restore() -> None:
        hub.async_pb_call = original  # type: ignore[method-assign]

    return restore


HEADER = ["link", "integration", "entities", "requests/poll", "requests/h", "ms/poll",
          "CPU ms/poll", "state changes/poll", "unchanged writes/poll", "setup s"]  # fmt: skip


def table(rows: list[list[str]]) -> str:
    """A Markdown table, as docs/development.md shows it."""
    lines = [HEADER, ["---"] * len(HEADER), *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


async def run(polls: int, latency: tuple[str, ...], profiles: set[str], links: set[str]) -> None:
    """Each profile on each local link: ours (same entities as core, then shipped defaults)."""
    rows, ratios = [], []
    for profile in load_bundled():
        if profile.id not in PROFILES or (profiles and profile.id not in profiles):
            continue
        device = PROFILES[profile.id][0]
        same = readings(profile)
        default = list(profile.defaults())
        for link in LOCAL_LINKS:
            if links and link.name not in links:
                continue
            arguments = ("--device", device, *link.simulator, *latency)
            name = f"{link.name} {profile.id}"
            with simulator(*arguments) as ours_port, simulator(*arguments) as core_port:
                async with home_assistant() as hass:
                    core = None
                    if link.modbus_type is not None:
                        # First: `modbus` takes its YAML only when set up, and ours needs it.
                        core = await core_modbus(
                            hass, profile, link, port=core_port, keys=same, polls=polls
                        )
                    mine = await ours(hass, link, profile, port=ours_port, keys=same, polls=polls)
                    shipped = await ours(
                        hass, link, profile, port=ours_port, keys=default, polls=polls
                    )
            rows.append(mine.row(name, "zcs_azzurro"))
            if core is not None:
                rows.append(core.row(name, "core modbus"))
                ratios.append(
                    f"{name}: ours / core modbus, same {core.entities} readings: requests "
                    f"{statistics.fmean(mine.requests) / statistics.fmean(core.requests):.2f}, "
                    f"CPU {statistics.median(mine.cpu) / statistics.median(core.cpu):.2f}, "
                    f"wall {statistics.median(mine.wall) / statistics.median(core.wall):.2f}, "
                    f"unchanged writes {mine.unchanged} vs {core.unchanged}"
                )
            rows.append(shipped.row(name, "zcs_azzurro, all default"))
    if not links or "system" in links:
        # The cloud's row: its simulated API in another process, on loopback.
        with simulator("--link", "system") as port:
            async with home_assistant() as hass:
                rows.append(
                    (await system(hass, port=port, polls=polls)).row("system", "zcs_azzurro")
                )
    print(
        f"{polls} polls each; requests/h at one poll every {INTERVAL} s (the System: "
        f"{const.DEFAULT_PORTAL_SCAN_INTERVAL} s, its default); medians per poll"
    )
    print(table(rows))
    print("\n".join(ratios))


def main() -> None:
    """Parse the flags and run."""
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--polls", type=int, default=50)
    parser.add_argument("--delay", default="0.05", help="simulator: seconds before each answer")
    parser.add_argument("--jitter", default="0.1", help="simulator: up to this much more")
    parser.add_argument(
        "--profile", action="append", default=[], help="these (by id; default zcs_3ph_hyd_zss)"
    )
    parser.add_argument("--link", action="append", default=[], help="only these (by name)")
    parser.add_argument(
        "--hub-line",
        action="store_true",
        help="instead: three inverters and a meter on one HUB at its pause (docs/plants.md)",
    )
    parser.add_argument("--rounds", type=int, default=10, help="--hub-line: scan intervals")
    parser.add_argument(
        "--pacing", type=float, default=const.DEFAULT_HUB_PACING, help="--hub-line: the pause"
    )
    arguments = parser.parse_args()
    if arguments.hub_line:
        bench_line.main(arguments.rounds, arguments.pacing)
        return
    latency = ("--delay", arguments.delay, "--jitter", arguments.jitter)
    profiles = set(arguments.profile or ["zcs_3ph_hyd_zss"])
    asyncio.run(run(arguments.polls, latency, profiles, set(arguments.link)))


if __name__ == "__main__":
    main()
