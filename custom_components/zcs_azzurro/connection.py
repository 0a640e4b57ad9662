"""Links from Home Assistant's shared Modbus connections, endpoints from entry data.

Every integration on one device (core `sofar`, `solaredge_modbus`, ...) gets its units
from `homeassistant.components.modbus`, on one connection per device: a stick or HUB that
serves one client well is not fought over.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.components.modbus import async_get_temporary_unit, async_get_unit
from homeassistant.components.modbus.connection import async_get_connection_info
from homeassistant.const import CONF_DEVICE, CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.util.hass_dict import HassKey

from . import const
from .api.device import ModbusDevice
from .api.errors import NoResponseError
from .api.profile.schema import Profile
from .api.transport.base import (
    ALL_FUNCTIONS,
    READ_HOLDING,
    READ_INPUT,
    WRITE_MULTIPLE,
    WRITE_SINGLE,
    Link,
)
from .api.transport.probe import find_framing
from .api.transport.unit import Endpoint, LinkKind, SerialLine, UnitLink
from .api.transport.v5 import V5Endpoint, V5Link, V5Registry
from .logfilter import async_hold_quiet_logs
from .pacing import async_hold_pacing

if TYPE_CHECKING:
    from .coordinator import ZcsConfigEntry

# The WiFi stick speaks Solarman V5, which Home Assistant's Modbus connection does not:
# its loggers' connections are shared here, one per logger, by entries and flows alike.
V5_REGISTRY: HassKey[V5Registry] = HassKey(f"{const.DOMAIN}_v5")
# One turn per device endpoint: see async_get_turn.
_TURNS: HassKey[dict[str, asyncio.Lock]] = HassKey(f"{const.DOMAIN}_turns")


@dataclass(frozen=True)
class LinkSpec:
    """What one link of the config flow's menu speaks, and what it can carry."""

    # The wire formats it may speak, the likeliest first.
    framings: tuple[LinkKind, ...]
    # The function codes it carries; a profile that needs another is refused at setup.
    functions: frozenset[int] = ALL_FUNCTIONS
    # Whether requests need a gap between them (the entry's pacing option).
    paced: bool = False


LINKS = {
    # ZCS's guide describes the ETH stick's frames as RTU over TCP, ZCS Austria's help desk
    # as Modbus TCP (research/modbus_maps.md section 1): setup keeps the one it answers.
    const.LINK_ETH: LinkSpec((LinkKind.RTU_OVER_TCP, LinkKind.MODBUS_TCP)),
    # The HUB passes on reads of holding registers and group writes, nothing else.
    const.LINK_HUB: LinkSpec(
        (LinkKind.MODBUS_TCP,), frozenset({READ_HOLDING, WRITE_MULTIPLE}), paced=True
    ),
    const.LINK_POWER_MAGIC: LinkSpec(
        (LinkKind.MODBUS_TCP,), frozenset({READ_HOLDING, WRITE_SINGLE, WRITE_MULTIPLE})
    ),
    const.LINK_RS485: LinkSpec((LinkKind.RTU_SERIAL,)),
    # Solarman V5 to the logger: our own link, not a Modbus framing (see V5_REGISTRY).
    const.LINK_WIFI: LinkSpec(()),
}


def needed_functions(profile: Profile) -> frozenset[int]:
    """The function codes polling and writing this profile's device sends.

    Reads are of holding registers, and of input registers where the profile has input
    blocks; writes go as whole groups in one write-multiple.
    """
    reads = {READ_HOLDING} | ({READ_INPUT} if profile.rules.input_blocks else set())
    return frozenset(reads | ({WRITE_MULTIPLE} if profile.groups else set()))


def function_codes(functions: frozenset[int]) -> str:
    """Function codes as people who read Modbus maps write them: 0x04, 0x06."""
    return ", ".join(f"{code:#04x}" for code in sorted(functions))


def endpoint_from(data: Mapping[str, Any]) -> Endpoint:
    """Where an entry's (or a flow's) link goes, in the framing the device answered."""
    kind = LinkKind(data.get(const.CONF_FRAMING) or LINKS[data[const.CONF_LINK]].framings[0])
    if kind is LinkKind.RTU_SERIAL:
        line = SerialLine(
            baudrate=data[const.CONF_BAUDRATE],
            bytesize=data[const.CONF_BYTESIZE],
            parity=const.PARITIES[data[const.CONF_PARITY]],
            stopbits=data[const.CONF_STOPBITS],
        )
        return Endpoint(kind, data[CONF_DEVICE], line=line)
    return Endpoint(kind, data[CONF_HOST], data[CONF_PORT])


def endpoint_key(data: Mapping[str, Any]) -> str:
    """The device endpoint an entry reaches: entries behind one share its line."""
    if data[const.CONF_LINK] == const.LINK_WIFI:
        return f"v5 {data[CONF_HOST]}:{data[CONF_PORT]}"
    return str(endpoint_from(data))


def async_get_turn(hass: HomeAssistant, data: Mapping[str, Any]) -> asyncio.Lock:
    """The turn every entry behind one endpoint takes for a poll, a write or a forwarded request.

    Two entries on one HUB port (or one bus) then take whole turns in the order they
    asked (an asyncio lock wakes its waiters first come, first served): one entry's poll
    never has the other's requests, or a request forwarded for it, between its own, and a
    request that selects what the next one reads (the BMS window) is never split from it.
    """
    turns = hass.data.setdefault(_TURNS, {})
    return turns.setdefault(endpoint_key(data), asyncio.Lock())


def _link(unit: Any, data: Mapping[str, Any], pacing: float = 0.0) -> UnitLink:
    functions = LINKS[data[const.CONF_LINK]].functions
    # A request connects (the gap after a connect too) and waits its gap and an answer, each
    # within its bound: past the sum of those (and a second for a loaded event loop) only a
    # busy device can keep it.
    deadline = 2 * (const.REQUEST_TIMEOUT + pacing) + 1.0
    return UnitLink(
        unit,
        data[const.CONF_UNIT_ID],
        kind=endpoint_from(data).kind,
        timeout=const.REQUEST_TIMEOUT,
        functions=functions,
        deadline=deadline,
    )


def _v5_link(hass: HomeAssistant, data: Mapping[str, Any]) -> V5Link:
    registry = hass.data.setdefault(V5_REGISTRY, V5Registry())
    endpoint = V5Endpoint(data[CONF_HOST], data[CONF_PORT], data[const.CONF_LOGGER_SERIAL])
    return V5Link(registry, endpoint, data[const.CONF_UNIT_ID], timeout=const.REQUEST_TIMEOUT)


def async_get_link(hass: HomeAssistant, entry: ZcsConfigEntry) -> Link:
    """The entry's link, held until the entry unloads."""
    if entry.data[const.CONF_LINK] == const.LINK_WIFI:
        v5 = _v5_link(hass, entry.data)
        entry.async_on_unload(v5.close)
        return v5
    endpoint = endpoint_from(entry.data)
    unit = async_get_unit(hass, entry, endpoint.params(), entry.data[const.CONF_UNIT_ID])
    paced = LINKS[entry.data[const.CONF_LINK]].paced
    pacing = entry.options.get(const.CONF_PACING, const.DEFAULT_HUB_PACING) if paced else 0.0
    link = _link(unit, entry.data, pacing)
    entry.async_on_unload(link.close)
    entry.async_on_unload(async_hold_quiet_logs(hass))
    if paced:
        entry.async_on_unload(async_hold_pacing(hass, endpoint, unit, pacing))
    return link


@asynccontextmanager
async def async_temporary_link(hass: HomeAssistant, data: Mapping[str, Any]) -> AsyncIterator[Link]:
    """A config flow's link, held for the context; an entry's connection stays up."""
    if data[const.CONF_LINK] == const.LINK_WIFI:
        v5 = _v5_link(hass, data)
        try:
            yield v5
        finally:
            await v5.close()
        return
    endpoint = endpoint_from(data)
    async with async_get_temporary_unit(hass, endpoint.params(), data[const.CONF_UNIT_ID]) as unit:
        # The flow keeps the HUB's pacing too: its default until the entry has its own.
        pacing = const.DEFAULT_HUB_PACING if LINKS[data[const.CONF_LINK]].paced else 0.0
        link = _link(unit, data, pacing)
        releases = [async_hold_quiet_logs(hass)]
        if pacing:
            releases.append(async_hold_pacing(hass, endpoint, unit, pacing))
        try:
            yield link
        finally:
            for release in releases:
                release()
            await link.close()


async def async_find_framing(
    hass: HomeAssistant, data: Mapping[str, Any], address: int
) -> LinkKind:
    """The framing the device at the flow's endpoint answers in.

    A link that speaks one framing is asked nothing here. A device Home Assistant already
    holds a connection to is asked nothing either: that connection's framing is the one
    that works, and a second client could upset it. When no framing answers the short
    probe, the likeliest one is read with the full timeout: the stick may just be busy
    (reporting to the cloud), or the inverter asleep.
    """
    framings = LINKS[data[const.CONF_LINK]].framings
    if len(framings) == 1:
        return framings[0]
    endpoints = [endpoint_from({**data, const.CONF_FRAMING: kind.value}) for kind in framings]
    in_use = {info.endpoint for info in async_get_connection_info(hass)}
    for endpoint in endpoints:
        if endpoint.params().endpoint in in_use:
            return endpoint.kind
    try:
        found = await find_framing(
            endpoints, data[const.CONF_UNIT_ID], address, answer_within=const.PROBE_TIMEOUT
        )
    except NoResponseError:
        return endpoints[0].kind
    return found.kind


def connection_info(hass: HomeAssistant, entry: ZcsConfigEntry) -> dict[str, Any] | None:
    """Whether the entry's shared connection is up, and which integrations hold it."""
    if entry.data[const.CONF_LINK] == const.LINK_WIFI:
        # Only this integration speaks V5 to the logger.
        device = entry.runtime_data.coordinator.device
        connected = (
            isinstance(device, ModbusDevice)
            and isinstance(device.link, V5Link)
            and device.link.connected
        )
        return {"connected": connected, "integrations": [const.DOMAIN]}
    endpoint = endpoint_from(entry.data).params().endpoint
    for info in async_get_connection_info(hass):
        if info.endpoint == endpoint:
            holders = map(hass.config_entries.async_get_entry, info.units)
            return {
                "connected": info.connected,
                "integrations": sorted({holder.domain for holder in holders if holder}),
            }
    return None
