"""Finding Solarman loggers (the ZSM-WIFI-USB stick) on the LAN.

A logger answers a UDP datagram `WIFIKIT-214028-READ` to port 48899 with its address, MAC
and serial, as `ip,mac,serial` (pysolarmanv5's utils/solarman_scan.py; the scanner in ZCS's
guide prints the same three). Some firmware answers `HF-A11ASSISTHREAD` instead
(pysolarmanv5's utils/solarman_uni_scan.py): both are asked.

Anyone on the LAN can answer, naming any address: a logger is taken to be where its answer
came from, not where the answer says it is.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from dataclasses import dataclass, replace

_LOGGER = logging.getLogger(__name__)

SCAN_PORT = 48899
BROADCAST = "255.255.255.255"
_REQUESTS = (b"WIFIKIT-214028-READ", b"HF-A11ASSISTHREAD")
# A logger serial fits the V5 header's four bytes.
MAX_LOGGER_SERIAL = 0xFFFFFFFF


@dataclass(frozen=True)
class Logger:
    """A logger that answered: where it is, its MAC, and the serial on its label."""

    host: str
    mac: str
    serial: int


def parse_answer(data: bytes) -> Logger | None:
    """The logger an answer names, or None for anything else."""
    try:
        host, mac, serial = data.decode("ascii").strip().split(",")[:3]
        number = int(serial)
        ipaddress.IPv4Address(host)
    except ValueError:
        return None
    if not 0 < number <= MAX_LOGGER_SERIAL:
        return None
    return Logger(host, mac.upper(), number)


class _Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.found: dict[int, Logger] = {}

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:
        if (logger := parse_answer(data)) is None:
            _LOGGER.debug("Not a logger's answer from %s: %r", addr, data[:64])
            return
        source = str(addr[0])
        if logger.host != source:
            _LOGGER.debug(
                "Logger %s answered from %s naming %s", logger.serial, source, logger.host
            )
        self.found.setdefault(logger.serial, replace(logger, host=source))

    def error_received(self, exc: Exception) -> None:
        # A unicast target with nothing listening answers with ICMP "port unreachable".
        _LOGGER.debug("Scan: %s", exc)


async def scan(address: str = BROADCAST, port: int = SCAN_PORT, wait: float = 2.0) -> list[Logger]:
    """The loggers that answer within `wait` seconds, by serial.

    `address` is the LAN's broadcast address on a real installation; one host's address
    asks that host only (a logger on another subnet; the tests' and the demo's loopback).
    """
    loop = asyncio.get_running_loop()
    # SO_BROADCAST permits a broadcast address as target; it sends nowhere else.
    transport, collector = await loop.create_datagram_endpoint(
        _Collector, family=socket.AF_INET, allow_broadcast=True
    )
    try:
        for request in _REQUESTS:
            transport.sendto(request, (address, port))
        await asyncio.sleep(wait)
    finally:
        transport.close()
    return sorted(collector.found.values(), key=lambda logger: logger.serial)
