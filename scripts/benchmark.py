"""How much one poll costs: requests, time, and the client's CPU.

Runs the simulator in its own process (so its CPU is not counted) and polls it over
loopback through the real link, as the coordinator does, for the default entities and
for every entity: a unit on a modbus_connection connection, as Home Assistant's
`modbus` opens it, behind our adapter. Setup time is what the config flow's part takes:
finding the framing, then identifying the device. Run with:
.venv/bin/python scripts/benchmark.py [polls]
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from modbus_connection.tmodbus import ModbusConnection  # noqa: E402

from custom_components.zcs_azzurro.api.device import ModbusDevice, identify  # noqa: E402
from custom_components.zcs_azzurro.api.profile.loader import load_bundled  # noqa: E402
from custom_components.zcs_azzurro.api.profile.schema import Profile  # noqa: E402
from custom_components.zcs_azzurro.api.transport.base import Link  # noqa: E402
from custom_components.zcs_azzurro.api.transport.probe import find_framing  # noqa: E402
from custom_components.zcs_azzurro.api.transport.unit import (  # noqa: E402
    Endpoint,
    LinkKind,
    UnitLink,
)
from custom_components.zcs_azzurro.api.transport.v5 import (  # noqa: E402
    V5Endpoint,
    V5Link,
    V5Registry,
)
from custom_components.zcs_azzurro.const import (  # noqa: E402
    PROBE_TIMEOUT,
    SETTINGS_EVERY,
    SLOW_EVERY,
)

# The simulator's --framing, and the link kind that speaks it, in the order setup tries them.
FRAMINGS = {"rtu": LinkKind.RTU_OVER_TCP, "tcp": LinkKind.MODBUS_TCP}
# The WiFi stick (Solarman V5) row, and the logger serial its simulator is started with.
V5 = "v5"
LOGGER_SERIAL = 2712345678


def link_at(endpoint: Endpoint) -> Link:
    """A link to unit 1 at the endpoint, on a connection of its own."""
    connection = ModbusConnection(endpoint.params())
    return UnitLink(
        connection.for_unit(1), 1, kind=endpoint.kind, timeout=5, close=connection.close
    )


def link_to(framing: str, port: int) -> Link:
    """A link to the simulator on loopback."""
    if framing == V5:
        return V5Link(V5Registry(), V5Endpoint("127.0.0.1", port, LOGGER_SERIAL), 1, timeout=5)
    return link_at(Endpoint(FRAMINGS[framing], "127.0.0.1", port))


def hyd_3ph(profiles: tuple[Profile, ...]) -> Profile:
    """The profile of the simulated device measured here (the 3PH HYD ZSS)."""
    return next(p for p in profiles if p.id == "zcs_3ph_hyd_zss")


async def v5_setup_time(port: int) -> float:
    """Seconds from nothing to a device identified through the WiFi stick (no framing to find)."""
    start = time.perf_counter()
    profiles = load_bundled()
    link = link_to(V5, port)
    profile, _ = await identify(link, 1, profiles)
    await ModbusDevice(link, 1, profile).read(f.key for f in profile.identity)
    await link.close()
    return time.perf_counter() - start


async def setup_time(framing: str, port: int) -> float:
    """Seconds from nothing to an identified device, with the shipped probe timeout."""
    start = time.perf_counter()
    endpoints = [Endpoint(kind, "127.0.0.1", port) for kind in FRAMINGS.values()]
    profiles = load_bundled()
    found = await find_framing(
        endpoints, 1, hyd_3ph(profiles).serial.spans[0].address, answer_within=PROBE_TIMEOUT
    )
    link = link_at(found)
    profile, _ = await identify(link, 1, profiles)
    await ModbusDevice(link, 1, profile).read(f.key for f in profile.identity)
    await link.close()
    assert found.kind is FRAMINGS[framing]
    return time.perf_counter() - start


def bounds(profile: Profile, keys: list[str]) -> tuple[int, int]:
    """The fewest requests the rules allow, and the count at one request per register run.

    A read cannot cross a block, so the fewest is one per block the fields lie in; one
    request per run is what polling entity by entity takes.
    """
    device = ModbusDevice(None, 1, profile)  # type: ignore[arg-type]
    runs = device.plan(keys).runs
    return len({profile.rules.block_of(span) for span in runs}), len(runs)


async def measure(link: Link, profile: Profile, keys: list[str], polls: int) -> dict[str, float]:
    """Poll `polls` times; times in ms, CPU in ms per poll."""
    device = ModbusDevice(link, 1, profile)
    await device.read(keys)  # connect, and warm up
    before = link.stats.requests
    durations = []
    cpu = time.process_time()
    for _ in range(polls):
        start = time.perf_counter()
        await device.read(keys)
        durations.append((time.perf_counter() - start) * 1000)
    cpu = (time.process_time() - cpu) * 1000 / polls
    requests = (link.stats.requests - before) / polls
    await link.close()
    durations.sort()
    return {
        "requests": requests,
        "mean": statistics.fmean(durations),
        "p95": durations[int(0.95 * (len(durations) - 1))],
        "cpu": cpu,
        "failures": link.stats.failures,
    }


async def report(ports: dict[str, int], polls: int) -> None:
    """Print one line per framing and set of entities."""
    profile = hyd_3ph(load_bundled())
    readings = [f.key for f, _ in profile.entities() if f.key not in profile.settings]
    sets = {
        "default entities": list(profile.defaults()),
        "every entity": [f.key for f, _ in profile.entities()],
        # What most polls read: the settings come every SETTINGS_EVERY polls.
        "default, readings": [key for key in profile.defaults() if key in readings],
        "settings only": sorted(profile.settings),
    }
    print(f"{polls} polls each, simulator on loopback in another process")
    print(f"{'framing':<7} {'entities':<18} {'fields':>6} {'requests':>8} {'fewest':>6} "
          f"{'per run':>7} {'ms/poll':>8} {'p95 ms':>7} {'CPU ms':>7}")  # fmt: skip
    per_poll: dict[str, float] = {}
    for framing, port in ports.items():
        for name, keys in sets.items():
            result = await measure(link_to(framing, port), profile, keys, polls)
            per_poll[name] = result["requests"]
            assert result["failures"] == 0
            fewest, per_run = bounds(profile, keys)
            print(
                f"{framing:<7} {name:<18} {len(keys):>6} {result['requests']:>8.0f} "
                f"{fewest:>6} {per_run:>7} {result['mean']:>8.2f} {result['p95']:>7.2f} "
                f"{result['cpu']:>7.2f}"
            )
    settings = per_poll["settings only"]
    print(
        f"with the controls, settings every {SETTINGS_EVERY} polls: "
        f"{per_poll['default, readings']:.0f} requests on most polls, "
        f"{per_poll['default entities']:.0f} on a settings poll, "
        f"{per_poll['default, readings'] + settings / SETTINGS_EVERY:.1f} on average"
    )


# Polls the refusal report runs: enough to learn a refusal and read around it.
REFUSAL_POLLS = 6


async def report_refusals(port: int, refused: str) -> None:
    """What firmware that refuses some registers costs: the first polls, then each poll.

    A refusal is learnt only once it repeats (issue 16), so the first polls split the
    request that holds it; after that the plan reads around it.
    """
    profile = hyd_3ph(load_bundled())
    keys = list(profile.defaults())
    link = link_to("rtu", port)
    device = ModbusDevice(link, 1, profile)
    counts = [len((await device.read(keys)).requests) for _ in range(REFUSAL_POLLS - 1)]
    then = await device.read(keys)
    await link.close()
    unread = sum(value is None for value in then.values.values())
    print(
        f"default entities, firmware refusing {refused}: requests in the first "
        f"{len(counts)} polls {counts}, then {len(then.requests)} a poll; "
        f"fields without value: {unread}"
    )


async def report_hub(port: int, pacing: float) -> None:
    """A poll through the HUB, paced: measured at a short pause, worked out for ZCS's 3 s.

    The pause dominates: n requests take (n - 1) pauses plus their wire time, so the time
    at 3 s follows from the count; the measurement checks the rule on the real path.
    """
    profile = hyd_3ph(load_bundled())
    default = list(profile.defaults())
    readings = [key for key in default if key not in profile.settings]
    counters = {f.key for f in profile.fields if f.counter}
    powers = [key for key in readings if key not in counters]
    connection = ModbusConnection(Endpoint(LinkKind.MODBUS_TCP, "127.0.0.1", port).params())
    unit = connection.for_unit(1)
    unit.set_message_spacing(pacing)
    link = UnitLink(unit, 1, kind=LinkKind.MODBUS_TCP, timeout=5, close=connection.close)
    device = ModbusDevice(link, 1, profile)
    # The first poll reads each value twice (nothing to check it against yet): not counted.
    await device.read(default)
    counts: dict[str, int] = {}
    for name, keys in (("powers", powers), ("readings", readings), ("full", default)):
        await asyncio.sleep(pacing)  # the next poll starts long after the last request
        before = link.stats.requests
        start = time.perf_counter()
        await device.read(keys)
        took = time.perf_counter() - start
        counts[name] = link.stats.requests - before
        expected = (counts[name] - 1) * pacing
        print(
            f"HUB at {pacing} s: {name} poll {counts[name]} requests in {took:.2f} s "
            f"({expected:.2f} s of pauses)"
        )
    await link.close()
    average = (
        counts["powers"]
        + (counts["readings"] - counts["powers"]) / SLOW_EVERY
        + (counts["full"] - counts["readings"]) / SETTINGS_EVERY
    )
    for name, count in counts.items():
        print(f"HUB at 3 s: {name} poll {count} requests, {(count - 1) * 3:.0f} s")
    print(
        f"HUB at 3 s, 30 s interval: budget 10 requests; one inverter needs {average:.1f} on "
        f"average (counters every {SLOW_EVERY} polls, settings every {SETTINGS_EVERY}): "
        f"{int(10 // average)} fit per port"
    )


def simulator(*arguments: str) -> tuple[subprocess.Popen[str], int]:
    """The simulator in its own process, and the (first) port it listens on."""
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", "0", *arguments],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, int(process.stdout.readline().split(",")[0].rsplit(":", 1)[1])


def main(polls: int) -> None:
    """Start simulators (one per framing, the WiFi stick, one refusing), measure, stop them."""
    # Reserved addresses inside the grid block that the default poll's request spans.
    refused = "0x0496-0x0497"
    processes = []
    try:
        ports = {}
        for framing in FRAMINGS:
            process, ports[framing] = simulator("--framing", framing)
            processes.append(process)
        process, ports[V5] = simulator("--link", "wifi", "--logger-serial", str(LOGGER_SERIAL))
        processes.append(process)
        process, refusing = simulator("--refuse", refused)
        processes.append(process)
        hub_pacing = 0.2
        process, hub = simulator("--link", "hub", "--pacing", str(hub_pacing))
        processes.append(process)
        asyncio.run(report(ports, polls))
        asyncio.run(report_refusals(refusing, refused))
        asyncio.run(report_hub(hub, hub_pacing))
        for framing in FRAMINGS:
            setup = asyncio.run(setup_time(framing, ports[framing]))
            print(f"setup ({framing} stick): {setup:.2f} s")
        print(f"setup (v5, WiFi stick): {asyncio.run(v5_setup_time(ports[V5])):.2f} s")
    finally:
        for process in processes:
            process.terminate()
            process.wait()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
