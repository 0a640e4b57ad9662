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
# The wire format each link of the config flow's menu speaks.
_KINDS = {const.LINK_ETH: LinkKind.RTU_OVER_TCP}


def link_registry(hass: HomeAssistant) -> LinkRegistry:
    """The registry every entry and config flow of this instance shares."""
    if (registry := hass.data.get(_REGISTRY)) is None:
        registry = hass.data[_REGISTRY] = LinkRegistry(const.REQUEST_TIMEOUT)
    return registry


def endpoint_from(data: Mapping[str, Any]) -> Endpoint:
    """Where an entry's (or a flow's) link goes."""
    return Endpoint(_KINDS[data[const.CONF_LINK]], data[CONF_HOST], data[CONF_PORT])
