"""Run a simulated device: python -m simulator --device hyd-3ph --link eth --port 18899."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from .devices import DEVICES
from .eth import EthStick

LINKS = {"eth": EthStick}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--device", choices=sorted(DEVICES), default="hyd-3ph")
    parser.add_argument("--link", choices=sorted(LINKS), default="eth")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18899)
    parser.add_argument("--unit", type=int, default=1, help="Modbus unit id of the device")
    return parser.parse_args()


async def _run(arguments: argparse.Namespace) -> None:
    front = LINKS[arguments.link](DEVICES[arguments.device](), unit=arguments.unit)
    await front.start(arguments.host, arguments.port)
    print(f"listening {arguments.link} {arguments.host}:{front.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await front.stop()


def main() -> None:
    """Run until interrupted."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(_arguments()))


if __name__ == "__main__":
    main()
