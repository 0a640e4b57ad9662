"""The links Home Assistant holds: one registry per instance, endpoints from entry data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.util.hass_dict import HassKey

from . import const
from .api.transport.registry import Endpoint, LinkKind, LinkRegistry

_REGISTRY: HassKey[LinkRegistry] = HassKey(f"{const.DOMAIN}_links")
# The wire formats each link of the config flow's menu may speak, the likeliest first.
# ZCS's guide describes the ETH stick's frames as RTU over TCP, ZCS Austria's help desk as
# Modbus TCP (research/modbus_maps.md section 1): setup keeps the one the stick answers.
FRAMINGS = {const.LINK_ETH: (LinkKind.RTU_OVER_TCP, LinkKind.MODBUS_TCP)}


def link_registry(hass: HomeAssistant) -> LinkRegistry:
    """The registry every entry and config flow of this instance shares."""
    if (registry := hass.data.get(_REGISTRY)) is None:
        registry = hass.data[_REGISTRY] = LinkRegistry(const.REQUEST_TIMEOUT)
    return registry


def endpoint_from(data: Mapping[str, Any]) -> Endpoint:
    """Where an entry's (or a flow's) link goes, in the framing the device answered."""
    framing = data.get(const.CONF_FRAMING) or FRAMINGS[data[const.CONF_LINK]][0]
    return Endpoint(LinkKind(framing), data[CONF_HOST], data[CONF_PORT])
