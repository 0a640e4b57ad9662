"""An Azzurro Portal entry: the cloud source, its alarm events and the history backfill."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.const import CONF_API_KEY, CONF_URL, Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util.hass_dict import HassKey

from .api.cloud.portal import ENDPOINT, PortalClient
from .api.cloud.portal_source import ALARM_KEY, PortalMap, PortalSource, load_portal_map
from .backfill import Backfill
from .const import CONF_CLIENT_CODE, CONF_FIELDS, CONF_THING_KEY, DOMAIN
from .coordinator import ZcsConfigEntry, ZcsCoordinator, ZcsRuntimeData

# Fired once for each alarm that becomes active: automations can notify about it.
EVENT_ALARM = f"{DOMAIN}_alarm"
_MAP: HassKey[PortalMap] = HassKey(f"{DOMAIN}_portal_map")


def portal_client(hass: HomeAssistant, data: Mapping[str, Any]) -> PortalClient:
    """A client with the entry's (or the flow's) credentials, on Home Assistant's session."""
    return PortalClient(
        async_get_clientsession(hass),
        data[CONF_API_KEY],
        data[CONF_CLIENT_CODE],
        url=data.get(CONF_URL, ENDPOINT),
    )


async def async_get_portal_map(hass: HomeAssistant) -> PortalMap:
    """The Portal's field map, read from disk once per instance."""
    if (portal_map := hass.data.get(_MAP)) is None:
        portal_map = hass.data[_MAP] = await hass.async_add_executor_job(load_portal_map)
    return portal_map


async def async_setup_portal_entry(
    hass: HomeAssistant, entry: ZcsConfigEntry, platforms: list[Platform]
) -> bool:
    """Poll the Portal for the entry's device; entities for the fields it answered."""
    portal_map = (await async_get_portal_map(hass)).narrowed(entry.data[CONF_FIELDS])
    source = PortalSource(portal_client(hass, entry.data), entry.data[CONF_THING_KEY], portal_map)
    coordinator = ZcsCoordinator(hass, entry, source)
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = ZcsRuntimeData(coordinator)
    await hass.config_entries.async_forward_entry_setups(entry, platforms)
    if ALARM_KEY in portal_map.names:
        entry.async_on_unload(_watch_alarms(hass, coordinator))
    backfill = Backfill(hass, entry, source)
    entry.async_on_unload(coordinator.async_add_listener(backfill.async_schedule))
    backfill.async_schedule()
    return True


def _watch_alarms(hass: HomeAssistant, coordinator: ZcsCoordinator) -> CALLBACK_TYPE:
    """Fire EVENT_ALARM for each alarm code that was not active at the previous reading.

    The first reading after setup is the baseline: a restart does not announce again the
    alarms already active.
    """
    active: set[int] | None = None

    @callback
    def _changed() -> None:
        nonlocal active
        codes = coordinator.data.values.get(ALARM_KEY) if coordinator.data else None
        if not isinstance(codes, tuple):
            return
        if active is not None and (new := sorted(set(codes) - active)):
            entry_id = coordinator.config_entry.entry_id
            devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry_id)
            for code in new:
                hass.bus.async_fire(
                    EVENT_ALARM,
                    {
                        "device_id": devices[0].id if devices else None,
                        "entry_id": entry_id,
                        "code": code,
                        "codes": list(codes),
                    },
                )
        active = set(codes)

    _changed()
    # Listening under the alarm's key: alarms are read even with the binary sensor disabled.
    return coordinator.async_add_listener(_changed, ALARM_KEY)
