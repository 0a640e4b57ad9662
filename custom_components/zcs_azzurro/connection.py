"""Links from Home Assistant's shared Modbus connections, endpoints from entry data.

Every integration on one device (core `sofar`, `solaredge_modbus`, ...) gets its units
from `homeassistant.components.modbus`, on one connection per device: a stick or HUB that
serves one client well is not fought over.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from homeassistant.components.modbus import async_get_temporary_unit, async_get_unit
from homeassistant.components.modbus.connection import async_get_connection_info
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.util.hass_dict import HassKey

from . import const
from .api.errors import NoResponseError
from .api.transport.base import Link
from .api.transport.probe import find_framing
from .api.transport.unit import Endpoint, LinkKind, UnitLink
from .api.transport.v5 import V5Endpoint, V5Link, V5Registry

# The WiFi stick speaks Solarman V5, which Home Assistant's Modbus connection does not:
# its loggers' connections are shared here, one per logger, by entries and flows alike.
V5_REGISTRY: HassKey[V5Registry] = HassKey(f"{const.DOMAIN}_v5")

# The wire formats each link of the config flow's menu may speak, the likeliest first.
# ZCS's guide describes the ETH stick's frames as RTU over TCP, ZCS Austria's help desk as
# Modbus TCP (research/modbus_maps.md section 1): setup keeps the one the stick answers.
FRAMINGS = {const.LINK_ETH: (LinkKind.RTU_OVER_TCP, LinkKind.MODBUS_TCP)}


def endpoint_from(data: Mapping[str, Any]) -> Endpoint:
    """Where an entry's (or a flow's) link goes, in the framing the device answered."""
    framing = data.get(const.CONF_FRAMING) or FRAMINGS[data[const.CONF_LINK]][0]
    return Endpoint(LinkKind(framing), data[CONF_HOST], data[CONF_PORT])


def _v5_link(hass: HomeAssistant, data: Mapping[str, Any]) -> V5Link:
    registry = hass.data.setdefault(V5_REGISTRY, V5Registry())
    endpoint = V5Endpoint(data[CONF_HOST], data[CONF_PORT], data[const.CONF_LOGGER_SERIAL])
    return V5Link(registry, endpoint, data[const.CONF_UNIT_ID], timeout=const.REQUEST_TIMEOUT)


def async_get_link(hass: HomeAssistant, entry: ConfigEntry) -> Link:
    """The entry's link, held until the entry unloads."""
    if entry.data[const.CONF_LINK] == const.LINK_WIFI:
        v5 = _v5_link(hass, entry.data)
        entry.async_on_unload(v5.close)
        return v5
    unit_id = entry.data[const.CONF_UNIT_ID]
    unit = async_get_unit(hass, entry, endpoint_from(entry.data).params(), unit_id)
    link = UnitLink(unit, unit_id, timeout=const.REQUEST_TIMEOUT)
    entry.async_on_unload(link.close)
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
    unit_id = data[const.CONF_UNIT_ID]
    params = endpoint_from(data).params()
    async with async_get_temporary_unit(hass, params, unit_id) as unit:
        link = UnitLink(unit, unit_id, timeout=const.REQUEST_TIMEOUT)
        try:
            yield link
        finally:
            await link.close()


async def async_find_framing(
    hass: HomeAssistant, data: Mapping[str, Any], address: int
) -> LinkKind:
    """The framing the device at the flow's host and port answers in.

    A device Home Assistant already holds a connection to is asked nothing: that
    connection's framing is the one that works, and a second client could upset it.
    When no framing answers the short probe, the likeliest one is read with the full
    timeout: the stick may just be busy (reporting to the cloud), or the inverter asleep.
    """
    endpoints = [
        Endpoint(kind, data[CONF_HOST], data[CONF_PORT]) for kind in FRAMINGS[data[const.CONF_LINK]]
    ]
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


def connection_info(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, Any] | None:
    """Whether the entry's shared connection is up, and which integrations hold it."""
    if entry.data[const.CONF_LINK] == const.LINK_WIFI:
        # Only this integration speaks V5 to the logger.
        link = entry.runtime_data.coordinator.device.link
        connected = isinstance(link, V5Link) and link.connected
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
