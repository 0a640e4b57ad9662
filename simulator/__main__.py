"""Run a simulated device: python -m simulator --device hyd-3ph --link eth --port 18899."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import os
import signal
from pathlib import Path

from . import portal, system
from .devices import DEVICES, Model
from .eth import EthStick, Framing
from .faults import add_flags, from_flags
from .wifi import DEFAULT_LOGGER_SERIAL, WifiStick

LINKS = {
    "eth": EthStick,
    "portal": portal.SimulatedPortal,
    "system": system.SimulatedSystem,
    "wifi": WifiStick,
}
# Seconds between writes of the counters to the --memory file.
MEMORY_INTERVAL = 5.0


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
        "--logger-serial",
        type=int,
        default=DEFAULT_LOGGER_SERIAL,
        help="wifi: the logger's serial number, as on its label",
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
        "--memory",
        type=Path,
        metavar="FILE",
        help="keep the counters here across runs, as the inverter keeps them through a restart",
    )
    parser.add_argument(
        "--asleep", action="store_true", help="the inverter sleeps: the stick is awake but silent"
    )
    add_flags(parser)
    portal.add_arguments(parser)
    system.add_arguments(parser)
    return parser.parse_args()


def _span(text: str) -> tuple[int, int]:
    first, _, last = text.partition("-")
    try:
        return int(first, 0), int(last or first, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not FIRST-LAST: {text}") from None


def _device(arguments: argparse.Namespace) -> Model:
    device = DEVICES[arguments.device]()
    device.gaps.extend(arguments.refuse)
    device.asleep = arguments.asleep
    if arguments.memory is not None and arguments.memory.exists():
        device.plant.recall(json.loads(arguments.memory.read_text()))
        device.refresh()
    return device


async def _run(arguments: argparse.Namespace, device: Model) -> None:
    memory: Path | None = arguments.memory
    front: EthStick | portal.SimulatedPortal | system.SimulatedSystem
    if arguments.link == "portal":
        front = portal.from_arguments(arguments, device.clock)
    elif arguments.link == "system":
        front = system.from_arguments(arguments, device.clock)
    else:
        if arguments.link == "wifi":
            front = WifiStick(device, unit=arguments.unit, logger_serial=arguments.logger_serial)
            front.heartbeat_interval = arguments.heartbeat
        else:
            front = EthStick(device, unit=arguments.unit, framing=Framing(arguments.framing))
        front.faults = from_flags(arguments)
    try:
        await front.start(arguments.host, arguments.port)
    except OSError as err:
        # One line for the person running it, not a traceback.
        where = f"{arguments.host}:{arguments.port}"
        if err.errno == errno.EADDRINUSE:
            raise SystemExit(f"simulator: {where} is in use (another simulator?)") from None
        raise SystemExit(
            f"simulator: cannot listen on {where}: {os.strerror(err.errno or 0)}"
        ) from None
    print(f"listening {arguments.link} {arguments.host}:{front.port}", flush=True)
    if isinstance(front, WifiStick) and arguments.scan_port is not None:
        scan_port = await front.start_scan_answer(arguments.host, arguments.scan_port)
        print(f"answering scans {arguments.host}:{scan_port}", flush=True)
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
    await front.stop()


def _remember(device: Model, memory: Path) -> None:
    device.refresh()
    written = memory.with_suffix(".tmp")
    written.write_text(json.dumps(device.plant.memory()))
    written.replace(memory)


def main() -> None:
    """Run until interrupted."""
    with contextlib.suppress(KeyboardInterrupt):
        arguments = _arguments()
        asyncio.run(_run(arguments, _device(arguments)))


if __name__ == "__main__":
    main()
