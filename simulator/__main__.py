"""Run a simulated device: python -m simulator --device hyd-3ph --link eth --port 18899.

--link hub listens on --port and the two ports after it (the HUB's inverter, meter and EV
charger lines; inverters at --unit and the next unit id); --link power-magic on --port;
--link rs485 --pty on a pseudo-terminal whose path it prints.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

from . import portal, system
from .devices import DEVICES, Model
from .devices.chint import Dtsu666
from .devices.hyd_3ph import CONTACT_ANY, CONTACT_SETPOINTS, Hyd3ph, Plant
from .devices.site import SERIALS, Site
from .eth import EthStick, Framing
from .faults import Faults, add_flags, from_flags
from .hub import Hub
from .modbus import Device
from .power_magic import PowerMagic
from .rs485 import Rs485Bus
from .web import ETH_FIRMWARE, WIFI_FIRMWARE, StickWebPage
from .wifi import DEFAULT_LOGGER_SERIAL, LoggerFaults, WifiStick


class Front(Protocol):
    """What every front end does: start where told, stop."""

    async def start(self, host: str, port: int) -> None:
        """Start serving."""

    async def stop(self) -> None:
        """Stop serving."""


def _eth(device: Device, arguments: argparse.Namespace) -> EthStick:
    stick = EthStick(device, unit=arguments.unit, framing=Framing(arguments.framing))
    stick.faults = from_flags(arguments, Faults)
    return stick


def _wifi(device: Model, arguments: argparse.Namespace) -> WifiStick:
    stick = WifiStick(device, unit=arguments.unit, logger_serial=arguments.logger_serial)
    stick.heartbeat_interval = arguments.heartbeat
    stick.faults = from_flags(arguments, Faults)
    stick.logger = from_flags(arguments, LoggerFaults)
    return stick


def _hub(device: Model, arguments: argparse.Namespace) -> Hub:
    """The HUB: the device at --unit and a 3PH HYD ZSS after it, a DTSU666 meter at unit 1."""
    twin = Hyd3ph(serial="ZP1ES010M2H00018", clock=device.clock)
    lines: dict[str, dict[int, Device]] = {
        "inverters": {arguments.unit: device, arguments.unit + 1: twin},
        "meters": {1: Dtsu666(clock=device.clock)},
    }
    hub = Hub(lines, pacing=arguments.pacing)
    for line in hub.lines.values():
        line.faults = from_flags(arguments, Faults)
    return hub


def _plant_front(site: Site, arguments: argparse.Namespace) -> Front:
    """A plant: behind one HUB (inverters at --unit on, the meter at 1), or a stick each."""
    if arguments.link == "hub":
        lines: dict[str, dict[int, Device]] = {
            "inverters": {
                arguments.unit + i: inverter for i, inverter in enumerate(site.inverters)
            },
            "meters": {1: site.meter},
        }
        hub = Hub(lines, pacing=arguments.pacing)
        for line in hub.lines.values():
            line.faults = from_flags(arguments, Faults)
        return hub
    devices: list[Device] = [*site.inverters, site.meter]
    return Sticks([_eth(device, arguments) for device in devices])


class Sticks:
    """One ETH stick per device of a plant (its meter's too), on consecutive ports."""

    def __init__(self, sticks: list[EthStick]) -> None:
        """Nothing listens until start()."""
        self.sticks = sticks

    async def start(self, host: str, port: int) -> None:
        """Listen on `port` and the ports after it, one per device."""
        for offset, stick in enumerate(self.sticks):
            await stick.start(host, port + offset)

    async def stop(self) -> None:
        """Close every stick."""
        for stick in self.sticks:
            await stick.stop()


def _power_magic(device: Model, arguments: argparse.Namespace) -> PowerMagic:
    power_magic = PowerMagic(device, unit=arguments.unit)
    power_magic.faults = from_flags(arguments, Faults)
    return power_magic


def _rs485(device: Model, arguments: argparse.Namespace) -> Rs485Bus:
    bus = Rs485Bus({arguments.unit: device})
    bus.faults = from_flags(arguments, Faults)
    return bus


# How each link's front end is made from the device and the arguments.
LINKS: dict[str, Callable[[Model, argparse.Namespace], Front]] = {
    "eth": _eth,
    "portal": lambda device, a: portal.from_arguments(a, device.clock),
    "system": lambda device, a: system.from_arguments(a, device.clock),
    "wifi": _wifi,
    "hub": _hub,
    "power-magic": _power_magic,
    "rs485": _rs485,
}


def _where(front: Front, arguments: argparse.Namespace) -> str:
    if isinstance(front, Rs485Bus):
        return front.path
    if isinstance(front, Hub):
        return ", ".join(f"{arguments.host}:{line.port}" for line in front.lines.values())
    if isinstance(front, Sticks):
        return ", ".join(f"{arguments.host}:{stick.port}" for stick in front.sticks)
    assert isinstance(front, EthStick | WifiStick | portal.SimulatedPortal | system.SimulatedSystem)
    return f"{arguments.host}:{front.port}"


# The stick links, and the firmware each stick's web page names unless told otherwise.
STICK_FIRMWARE = {"eth": ETH_FIRMWARE, "wifi": WIFI_FIRMWARE}

# Seconds between writes of the counters to the --memory file.
MEMORY_INTERVAL = 5.0
# Where in it the EEPROM writes per register are ("0x1110": 2), which wear survives.
EEPROM = "eeprom_writes"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--device", choices=sorted(DEVICES), default="hyd-3ph")
    parser.add_argument("--link", choices=sorted(LINKS), default="eth")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18899)
    parser.add_argument("--unit", type=int, default=1, help="Modbus unit id of the device")
    parser.add_argument(
        "--framing",
        choices=[framing.value for framing in Framing],
        default=Framing.RTU.value,
        help="rtu: RTU frames over TCP; tcp: Modbus TCP (MBAP)",
    )
    parser.add_argument(
        "--pty",
        action="store_true",
        help="rs485: serve on a pseudo-terminal (the only way here) and print its path",
    )
    parser.add_argument(
        "--pacing",
        type=float,
        default=3.0,
        help="hub: seconds it needs between two requests (earlier ones are held back)",
    )
    parser.add_argument(
        "--logger-serial",
        type=int,
        default=DEFAULT_LOGGER_SERIAL,
        help="eth, wifi: the logger's serial number, as on its label (wifi) and web page",
    )
    parser.add_argument(
        "--web-port",
        type=int,
        help="eth, wifi: serve the stick's web page (its serial and firmware) on this TCP port "
        "of --host (80 on a real stick)",
    )
    parser.add_argument(
        "--firmware",
        help=f"eth, wifi: the stick's firmware, as its web page names it (default: {ETH_FIRMWARE} "
        f"on eth, {WIFI_FIRMWARE} on wifi)",
    )
    parser.add_argument(
        "--port-closed",
        action="store_true",
        help="eth, wifi: the stick accepts no connection on --port (its web page and scan "
        "answer still do), as the WiFi stick's MQTT firmware after an update",
    )
    parser.add_argument(
        "--scan-port",
        type=int,
        help="wifi: answer LAN scans on this UDP port of --host (48899 on a real stick)",
    )
    parser.add_argument(
        "--heartbeat",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wifi: send a heartbeat frame this often on each connection, as loggers do",
    )
    parser.add_argument(
        "--refuse",
        type=_span,
        action="append",
        default=[],
        metavar="FIRST-LAST",
        help="registers the firmware refuses (illegal address), e.g. 0x0496-0x0497; repeatable",
    )
    parser.add_argument(
        "--max-read",
        type=int,
        metavar="N",
        help="the firmware refuses reads of more than N registers (exception 3)",
    )
    parser.add_argument(
        "--memory",
        type=Path,
        metavar="FILE",
        help="keep the counters here across runs, as the inverter keeps them through a restart; "
        "with them the EEPROM writes per register (eeprom_writes), which the demo reads",
    )
    parser.add_argument(
        "--soc",
        type=float,
        metavar="PERCENT",
        help="hybrids: the battery's charge to start from (over --memory's); the demo's "
        "battery check starts at 50 so that a charge shows",
    )
    parser.add_argument(
        "--passive-contact",
        choices=(CONTACT_ANY, CONTACT_SETPOINTS),
        default=CONTACT_ANY,
        help="hybrids: what restarts the passive mode's timeout: any request (the protocol's "
        "'any communication') or only passive set-points written",
    )
    parser.add_argument(
        "--asleep", action="store_true", help="the inverter sleeps: the stick is awake but silent"
    )
    parser.add_argument(
        "--fault-id",
        type=int,
        action="append",
        default=[],
        metavar="ID",
        help="the inverter reports this fault (2: ID002, grid undervoltage on a G3); repeatable",
    )
    parser.add_argument(
        "--second-tower",
        action="store_true",
        help="hyd-3ph: a second battery tower on battery input 2 (off: the input is empty)",
    )
    parser.add_argument(
        "--packs",
        type=int,
        metavar="N",
        help="hyd-3ph: N packs in each battery tower, shown through the BMS window (0x9000-)",
    )
    parser.add_argument(
        "--plant",
        type=int,
        metavar="N",
        help="a plant: N 3PH HYD ZSS in parallel (a master, then slaves) and the meter at its "
        "grid connection; over --link hub (inverters at --unit on, the meter at unit 1 of the "
        "meter line) or --link eth (a stick each from --port on, the meter's last)",
    )
    parser.add_argument(
        "--towers",
        type=int,
        metavar="N",
        help="hyd-3ph: battery towers on inputs 1 to N (the map has 8; default 1)",
    )
    add_flags(parser, title="faults of the ETH or WiFi stick, HUB lines, Power Magic, RS485 bus")
    add_flags(parser, LoggerFaults, title="what the WiFi stick's logger does (--link wifi)")
    portal.add_arguments(parser)
    system.add_arguments(parser)
    return parser.parse_args()


def _span(text: str) -> tuple[int, int]:
    first, _, last = text.partition("-")
    try:
        return int(first, 0), int(last or first, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not FIRST-LAST: {text}") from None


def _site(arguments: argparse.Namespace) -> Site:
    if arguments.link not in ("eth", "hub"):
        raise SystemExit("simulator: a plant is shown over --link eth or --link hub")
    if not 1 <= arguments.plant <= len(SERIALS):
        raise SystemExit(f"simulator: a plant of 1 to {len(SERIALS)} inverters")
    site = Site(arguments.plant, towers=2 if arguments.second_tower else arguments.towers or 1)
    for inverter in site.inverters:
        inverter.passive_contact = arguments.passive_contact
        if arguments.packs:
            inverter.fit_packs(arguments.packs)
    if arguments.memory is not None and arguments.memory.exists():
        site.recall(json.loads(arguments.memory.read_text()))
        site.refresh()
    return site


def _device(arguments: argparse.Namespace) -> Model:
    device = DEVICES[arguments.device]()
    device.gaps.extend(arguments.refuse)
    if arguments.max_read is not None:
        device.max_read = arguments.max_read
    device.asleep = arguments.asleep
    towers = 2 if arguments.second_tower else arguments.towers
    if towers is not None:
        if not isinstance(device, Hyd3ph) or not 1 <= towers <= device.BATTERY_INPUTS:
            raise SystemExit(f"simulator: {arguments.device} has no battery input {towers}")
        device.towers = towers
    if arguments.packs:
        if not isinstance(device, Hyd3ph) or not device.BATTERY_INPUTS:
            raise SystemExit(f"simulator: {arguments.device} has no battery towers")
        device.fit_packs(arguments.packs)
    if isinstance(device, Hyd3ph):
        device.passive_contact = arguments.passive_contact
    if arguments.fault_id:
        try:
            device.report_faults(arguments.fault_id)
        except ValueError as err:
            raise SystemExit(f"simulator: {err}") from None
    if arguments.memory is not None and arguments.memory.exists():
        memory = json.loads(arguments.memory.read_text())
        device.plant.recall(memory)
        device.eeprom_writes.update(
            {int(address, 0): count for address, count in memory.get(EEPROM, {}).items()}
        )
    if arguments.soc is not None:
        if not isinstance(plant := device.plant, Plant):
            raise SystemExit(f"simulator: {arguments.device} has no battery")
        plant.soc = min(max(arguments.soc, 0.0), 100.0)
    device.refresh()
    return device


async def _run(arguments: argparse.Namespace, device: Model | Site) -> None:
    memory: Path | None = arguments.memory
    if isinstance(device, Site):
        front = _plant_front(device, arguments)
    else:
        front = LINKS[arguments.link](device, arguments)
    host = arguments.host
    # The links that are a stick, with a stick's web page and firmware (a plant's have none).
    stick = arguments.link in STICK_FIRMWARE and not isinstance(device, Site)
    if stick and arguments.port_closed:
        print(f"port closed {host}:{arguments.port}", flush=True)
    else:
        await _listen(front.start(host, arguments.port), host, arguments.port)
        print(f"listening {arguments.link} {_where(front, arguments)}", flush=True)
    if isinstance(front, WifiStick) and arguments.scan_port is not None:
        scan_port = await front.start_scan_answer(host, arguments.scan_port)
        print(f"answering scans {host}:{scan_port}", flush=True)
    page = None
    if stick and arguments.web_port is not None:
        firmware = arguments.firmware or STICK_FIRMWARE[arguments.link]
        page = StickWebPage(arguments.logger_serial, firmware, getattr(device, "serial", ""))
        await _listen(page.start(host, arguments.web_port), host, arguments.web_port)
        print(f"web page {host}:{page.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), MEMORY_INTERVAL)
        if memory is not None:
            # Written often, so that even a killed run leaves counters close to the last read.
            _remember(device, memory)
    if page is not None:
        await page.stop()
    await front.stop()


async def _listen(starting: Awaitable[None], host: str, port: int) -> None:
    """Start listening; one line for the person running it if it cannot, not a traceback."""
    try:
        await starting
    except OSError as err:
        where = f"{host}:{port}"
        if err.errno == errno.EADDRINUSE:
            raise SystemExit(f"simulator: {where} is in use (another simulator?)") from None
        raise SystemExit(
            f"simulator: cannot listen on {where}: {os.strerror(err.errno or 0)}"
        ) from None


def _remember(device: Model | Site, memory: Path) -> None:
    device.refresh()
    kept = device.plant.memory()
    if not isinstance(device, Site):
        # One device's wear (a plant's inverters each have theirs, not kept here).
        writes = sorted(device.eeprom_writes.items())
        kept[EEPROM] = {f"{address:#06x}": count for address, count in writes}
    written = memory.with_suffix(".tmp")
    written.write_text(json.dumps(kept))
    written.replace(memory)


def main() -> None:
    """Run until interrupted."""
    with contextlib.suppress(KeyboardInterrupt):
        arguments = _arguments()
        device = _site(arguments) if arguments.plant else _device(arguments)
        asyncio.run(_run(arguments, device))


if __name__ == "__main__":
    main()
