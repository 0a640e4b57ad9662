"""An Azzurro Portal entry; what every cloud entry shares: source, alarm events, backfill."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from homeassistant.const import CONF_API_KEY, CONF_URL, Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util.hass_dict import HassKey

from .api.cloud.portal import ENDPOINT, PortalClient
from .api.cloud.portal_source import (
    ALARM_KEY,
    FIELDS_FILE,
    PortalMap,
    PortalSource,
    load_portal_map,
)
from .backfill import Backfill
from .battery_health import async_watch_battery_health
from .const import CONF_CLIENT_CODE, CONF_FIELDS, CONF_THING_KEY, DOMAIN
from .coordinator import ZcsConfigEntry, ZcsCoordinator, ZcsRuntimeData

# Fired once for each alarm that becomes active: automations can notify about it.
EVENT_ALARM = f"{DOMAIN}_alarm"
_MAPS: HassKey[dict[Path, PortalMap]] = HassKey(f"{DOMAIN}_cloud_maps")


def portal_client(hass: HomeAssistant, data: Mapping[str, Any]) -> PortalClient:
    """A client with the entry's (or the flow's) credentials, on Home Assistant's session."""
    return PortalClient(
        async_get_clientsession(hass),
        data[CONF_API_KEY],
        data[CONF_CLIENT_CODE],
        url=data.get(CONF_URL, ENDPOINT),
    )


async def async_get_portal_map(hass: HomeAssistant, path: Path = FIELDS_FILE) -> PortalMap:
    """A cloud's field map (the Portal's unless told another), read once per instance."""
    maps = hass.data.setdefault(_MAPS, {})
    if (portal_map := maps.get(path)) is None:
        portal_map = maps[path] = await hass.async_add_executor_job(load_portal_map, path)
    return portal_map


async def async_setup_portal_entry(
    hass: HomeAssistant, entry: ZcsConfigEntry, platforms: list[Platform]
) -> bool:
    """Poll the Portal for the entry's device; entities for the fields it answered."""
    portal_map = (await async_get_portal_map(hass)).narrowed(entry.data[CONF_FIELDS])
    source = PortalSource(portal_client(hass, entry.data), entry.data[CONF_THING_KEY], portal_map)
    await async_setup_cloud_entry(hass, entry, platforms, ZcsCoordinator(hass, entry, source))
    return True


async def async_setup_cloud_entry(
    hass: HomeAssistant,
    entry: ZcsConfigEntry,
    platforms: list[Platform],
    coordinator: ZcsCoordinator,
) -> None:
    """Poll a cloud's source; its entities, alarm events and history backfill (any cloud)."""
    source = coordinator.device
    assert isinstance(source, PortalSource)  # the clouds' one source type
    coordinator.recent = source.recent
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = ZcsRuntimeData(coordinator)
    await hass.config_entries.async_forward_entry_setups(entry, platforms)
    if ALARM_KEY in source.map.names:
        entry.async_on_unload(_watch_alarms(hass, coordinator))
    async_watch_battery_health(hass, entry)
    backfill = Backfill(hass, entry, source)
    entry.async_on_unload(coordinator.async_add_listener(backfill.async_schedule))
    backfill.async_schedule()


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
