"""Sharing an entry's connection: one Modbus TCP proxy per address and port.

Other programs (evcc, another Home Assistant, Node-RED) read the device through the
entry's one connection instead of fighting it for the stick's or HUB's only client slot.
Every entry behind the same device endpoint that asks for the same address and port is
served there under its own unit id.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import socket
import time
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass, field
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util.hass_dict import HassKey

from . import const
from .api.device import ModbusDevice
from .api.errors import DeviceError, LinkError, TooSoonError, WriteRefusedError
from .api.profile.schema import Span
from .api.proxy import (
    DEVICE_BUSY,
    DEVICE_FAILURE,
    ILLEGAL_ADDRESS,
    ILLEGAL_VALUE,
    ModbusProxy,
    Refusal,
    Unit,
)
from .api.transport.base import READ_INPUT, WRITE_MULTIPLE, WRITE_SINGLE
from .connection import endpoint_key
from .const import (
    CONF_PROXY,
    CONF_PROXY_HOST,
    CONF_PROXY_PORT,
    CONF_PROXY_WRITES,
    DEFAULT_PROXY_HOST,
    DEFAULT_PROXY_PORT,
    DOMAIN,
)
from .coordinator import ZcsConfigEntry, ZcsCoordinator
from .services import async_write_words

_LOGGER = logging.getLogger(__name__)


@dataclass
class _Shared:
    """A running proxy, the device endpoint it serves, and the entries it serves there."""

    proxy: ModbusProxy
    endpoint: str
    entries: dict[str, int] = field(default_factory=dict)


# Why a connection cannot be shared where asked: the options form's errors (the last two
# also the repair issues of an entry set up with such options).
HOST_INVALID = "proxy_host_invalid"
HOST_UNAVAILABLE = "proxy_host_unavailable"
PORT_IN_USE = "proxy_port_in_use"
PORT_TAKEN = "proxy_port_taken"
PORT_PROBLEMS = (HOST_INVALID, HOST_UNAVAILABLE, PORT_IN_USE, PORT_TAKEN)

_PROXIES: HassKey[dict[tuple[str, int], _Shared]] = HassKey(f"{DOMAIN}_proxies")
_LOCK: HassKey[asyncio.Lock] = HassKey(f"{DOMAIN}_proxies_lock")


def where(options: Mapping[str, Any]) -> tuple[str, int]:
    """The address and port an entry's options share its connection on."""
    return (
        options.get(CONF_PROXY_HOST, DEFAULT_PROXY_HOST),
        int(options.get(CONF_PROXY_PORT, DEFAULT_PROXY_PORT)),
    )


class EntryUnit(Unit):
    """One entry's device, as the proxy serves it."""

    def __init__(self, hass: HomeAssistant, entry: ZcsConfigEntry) -> None:
        """Serve the entry's device; writes only when its options allow them."""
        self.hass = hass
        self.entry = entry
        self.coordinator: ZcsCoordinator = entry.runtime_data.coordinator
        device = self.coordinator.device
        assert isinstance(device, ModbusDevice)
        self.device = device
        link = device.link
        writes: set[int] = set()
        if entry.options.get(CONF_PROXY_WRITES, False) and WRITE_MULTIPLE in link.functions:
            # A single-register write goes out as a group write where the wire has no 0x06.
            writes = {WRITE_SINGLE, WRITE_MULTIPLE}
        self.functions = frozenset(link.functions - {WRITE_SINGLE, WRITE_MULTIPLE} | writes)

    def cached(self, function: int, address: int, count: int) -> list[int] | None:
        """From the last poll if it read them all less than a scan interval ago."""
        reading = self.coordinator.data
        interval = self.coordinator.update_interval
        if reading is None or interval is None:
            return None
        # The device's clock is time.monotonic here (Home Assistant gives it no other).
        if time.monotonic() - reading.at >= interval.total_seconds():
            return None
        span = Span(address, count)
        rules = self.device.profile.rules
        inputs = rules.is_input(span)
        if (function == READ_INPUT) != inputs or (
            not inputs and any(span.overlaps(block) for block in rules.input_blocks)
        ):
            return None
        wanted = range(address, span.end + 1)
        # What failed the poll's checks was not published; it is not handed on either.
        doubtful = {
            a
            for key in reading.withheld
            for run in self.device.profile.field(key).spans
            for a in range(run.address, run.end + 1)
        }
        words = [reading.registers[a] for a in wanted if a in reading.registers]
        if len(words) < count or doubtful.intersection(wanted):
            return None
        return words

    async def read(self, function: int, address: int, count: int) -> list[int]:
        """Read from the device between two polls."""
        link = self.device.link
        read = link.read_input_registers if function == READ_INPUT else link.read_holding_registers
        async with AsyncExitStack() as turn:
            # Between two polls: a poll waits for one proxied request at most; the request
            # waits for the polls of the line queued before it.
            async with asyncio.timeout(self.coordinator.turn_wait):
                await turn.enter_async_context(self.coordinator.async_turn())
            self.coordinator.forwarded()
            return await read(self.device.unit, address, count)

    async def write(self, address: int, values: list[int], *, single: bool) -> None:
        """Write as the register actions do: checked, whole groups, the event.

        Only what the profile declares writable: raw writes are for an administrator's
        actions, never for whatever program reaches the port (no one signs in there).
        """

        async def check_raw(span: Span) -> None:
            raise Refusal(ILLEGAL_ADDRESS)

        try:
            await async_write_words(
                self.hass, self.entry, address, values, single=single, check_raw=check_raw
            )
        except ServiceValidationError as err:
            raise Refusal(ILLEGAL_VALUE) from err
        except HomeAssistantError as err:
            cause = err.__cause__
            if isinstance(cause, LinkError | DeviceError):
                raise cause from err
            if isinstance(cause, WriteRefusedError):
                raise Refusal(cause.exception_code) from err
            raise Refusal(
                DEVICE_BUSY if isinstance(cause, TooSoonError) else DEVICE_FAILURE
            ) from err


async def async_share(hass: HomeAssistant, entry: ZcsConfigEntry) -> None:
    """Serve the entry's device on its proxy, if its options ask; until it unloads.

    A port that cannot be had is a repair issue, not a failed setup: the entry works
    without sharing.
    """
    if not entry.options.get(CONF_PROXY, False):
        return
    host, port = where(entry.options)
    unit_id = entry.data[const.CONF_UNIT_ID]
    issue = f"proxy_{entry.entry_id}"
    entry.async_on_unload(lambda: ir.async_delete_issue(hass, DOMAIN, issue))
    async with hass.data.setdefault(_LOCK, asyncio.Lock()):
        proxies = hass.data.setdefault(_PROXIES, {})
        shared = proxies.get((host, port))
        problem: str | None = None
        if shared is None:
            proxy = ModbusProxy(
                host,
                port,
                max_clients=const.PROXY_MAX_CLIENTS,
                per_address=const.PROXY_CLIENTS_PER_ADDRESS,
                timeout=const.REQUEST_TIMEOUT,
                idle=const.PROXY_IDLE,
                rate=const.PROXY_RATE,
            )
            try:
                await proxy.start()
            except OSError as err:
                _LOGGER.debug("Proxy on %s:%s not started: %r", host, port, err)
                problem = PORT_IN_USE
            else:
                shared = proxies[(host, port)] = _Shared(proxy, endpoint_key(entry.data))
        elif shared.endpoint != endpoint_key(entry.data) or unit_id in shared.proxy.units:
            problem = PORT_TAKEN
        if problem is not None:
            ir.async_create_issue(
                hass,
                DOMAIN,
                issue,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=problem,
                translation_placeholders={"title": entry.title, "address": f"{host}:{port}"},
            )
            return
        assert shared is not None
        ir.async_delete_issue(hass, DOMAIN, issue)
        shared.proxy.units[unit_id] = EntryUnit(hass, entry)
        shared.entries[entry.entry_id] = unit_id
        _LOGGER.info("Sharing %s's connection on %s:%s", entry.title, host, port)
    async_warn_if_exposed(hass, entry, host, port)

    async def release() -> None:
        async with hass.data[_LOCK]:
            shared.entries.pop(entry.entry_id, None)
            shared.proxy.units.pop(unit_id, None)
            if not shared.entries:
                proxies.pop((host, port), None)
                await shared.proxy.stop()

    entry.async_on_unload(release)


def exposed_issue(entry_id: str) -> str:
    """The repair issue of an entry that takes writes from the network through its proxy."""
    return f"proxy_writes_exposed_{entry_id}"


def async_warn_if_exposed(hass: HomeAssistant, entry: ZcsConfigEntry, host: str, port: int) -> None:
    """A repair issue while writes are served beyond this machine: no one signs in there."""
    issue = exposed_issue(entry.entry_id)
    if entry.options.get(CONF_PROXY_WRITES, False) and not ipaddress.ip_address(host).is_loopback:
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="proxy_writes_exposed",
            translation_placeholders={"title": entry.title, "address": f"{host}:{port}"},
        )
        entry.async_on_unload(lambda: ir.async_delete_issue(hass, DOMAIN, issue))
    else:
        ir.async_delete_issue(hass, DOMAIN, issue)


def entry_proxy(hass: HomeAssistant, entry_id: str) -> _Shared | None:
    """The proxy serving the entry, if one does."""
    return next(
        (s for s in hass.data.get(_PROXIES, {}).values() if entry_id in s.entries),
        None,
    )


def port_problem(hass: HomeAssistant, data: Mapping[str, Any], host: str, port: int) -> str | None:
    """Why an entry could not share its connection at host:port (a form error key), if so.

    Its own proxy (or one of the same device) is no problem; another device's is, and so
    is a port something else holds, or an address this machine does not have.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return HOST_INVALID
    if (shared := hass.data.get(_PROXIES, {}).get((host, port))) is not None:
        return None if shared.endpoint == endpoint_key(data) else PORT_TAKEN
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As asyncio's server binds: a port whose last connections linger is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            return (
                "proxy_port_in_use" if err.errno == errno.EADDRINUSE else "proxy_host_unavailable"
            )
    return None


def diagnostics(hass: HomeAssistant, entry_id: str) -> dict[str, Any] | None:
    """The proxy serving the entry: where, which units, its clients and counters."""
    if (shared := entry_proxy(hass, entry_id)) is None:
        return None
    proxy = shared.proxy
    return {
        "address": f"{proxy.host}:{proxy.port}",
        "unit_ids": sorted(proxy.units),
        "clients": sorted(proxy.clients.values()),
        **asdict(proxy.stats),
    }
