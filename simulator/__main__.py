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
    parser.add_argument(
        "--refuse",
        type=_span,
        action="append",
        default=[],
        metavar="FIRST-LAST",
        help="registers the firmware refuses (illegal address), e.g. 0x0496-0x0497; repeatable",
    )
    return parser.parse_args()


def _span(text: str) -> tuple[int, int]:
    first, _, last = text.partition("-")
    try:
        return int(first, 0), int(last or first, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not FIRST-LAST: {text}") from None


async def _run(arguments: argparse.Namespace) -> None:
    device = DEVICES[arguments.device]()
    device.gaps.extend(arguments.refuse)
    front = LINKS[arguments.link](device, unit=arguments.unit)
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
