"""Requests reaching the device with another program polling it: directly, or through us.

scripts/bench_proxy [--seconds S] [--every S] [--scan S]: the simulated ETH stick and
inverter in this process, our entry in Home Assistant (bench_hass's) polling it every
`--scan` seconds, and a pymodbus client, as evcc would, reading grid power, PV power and
the battery's state of charge every `--every` seconds: first on a connection of its own to
the stick, then through the entry's shared connection. Real time: the proxy answers from
what the last poll read less than a scan interval ago, by the clock.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from homeassistant.const import CONF_SCAN_INTERVAL
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.framer import FramerType

from custom_components.zcs_azzurro import const
from custom_components.zcs_azzurro.api.proxy import ProxyStats
from custom_components.zcs_azzurro.proxy import entry_proxy
from scripts.bench_hass import LOCAL_LINKS, home_assistant, local_entry
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick, Framing

# What an energy manager asks for: grid power, the PV strings' voltage, current and power,
# the battery's state of charge (each read by our default poll).
READS = ((0x0488, 1), (0x0584, 6), (0x0608, 1))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def measure(
    *, through_us: bool, seconds: float, every: float, scan: int
) -> tuple[int, ProxyStats | None]:
    """Requests the stick answered in `seconds`, our polls and the client's together.

    Through us, also what the proxy did with the client's requests.
    """
    stick = EthStick(Hyd3ph(), framing=Framing.RTU)
    await stick.start()
    proxy = _free_port()
    link = next(link for link in LOCAL_LINKS if link.name == "eth-rtu")
    options = {CONF_SCAN_INTERVAL: scan}
    if through_us:
        options |= {const.CONF_PROXY: True, const.CONF_PROXY_PORT: proxy}
    try:
        async with home_assistant() as hass:
            entry = local_entry(link, "zcs_3ph_hyd_zss", stick.port, **options)
            entry.add_to_hass(hass)
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            client = (
                AsyncModbusTcpClient("127.0.0.1", port=proxy, timeout=5)
                if through_us
                else AsyncModbusTcpClient(
                    "127.0.0.1", port=stick.port, framer=FramerType.RTU, timeout=5
                )
            )
            assert await client.connect()
            before = stick.requests
            started = time.monotonic()
            while time.monotonic() - started < seconds:
                for address, count in READS:
                    answer = await client.read_holding_registers(address, count=count, device_id=1)
                    assert not answer.isError(), answer
                await asyncio.sleep(every)
            client.close()
            requests = stick.requests - before
            shared = entry_proxy(hass, entry.entry_id)
            stats = replace(shared.proxy.stats) if shared else None
            await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await stick.stop()
    return requests, stats


async def main() -> None:
    """Both ways, one after the other; one line each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--every", type=float, default=2.0)
    parser.add_argument("--scan", type=int, default=30)
    arguments = parser.parse_args()
    for through_us in (False, True):
        requests, stats = await measure(
            through_us=through_us,
            seconds=arguments.seconds,
            every=arguments.every,
            scan=arguments.scan,
        )
        way = "through the shared connection" if through_us else "directly to the stick"
        per_hour = requests * 3600 / arguments.seconds
        print(
            f"client every {arguments.every:g} s {way}, our polls every {arguments.scan} s: "
            f"{requests} requests reached the device in {arguments.seconds:g} s "
            f"({per_hour:.0f}/h)" + (f"; {stats}" if stats else ""),
            flush=True,
        )


if __name__ == "__main__":
    asyncio.run(main())
