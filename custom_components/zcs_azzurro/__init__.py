"""ZCS Azzurro for Home Assistant: ZCS inverters and batteries, local links and cloud."""

from __future__ import annotations

import logging

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady, HomeAssistantError

from .api.device import ModbusDevice
from .connection import async_get_link, function_codes, needed_functions
from .const import CONF_LINK, CONF_PROFILE, CONF_UNIT_ID, DOMAIN, LINK_PORTAL, LINK_WIFI
from .coordinator import (
    SILENT_DEVICE,
    SILENT_STICK,
    ZcsConfigEntry,
    ZcsCoordinator,
    ZcsRuntimeData,
)
from .discovery import async_scan_while_loaded
from .portal import async_setup_portal_entry
from .profiles import async_get_profile

_LOGGER = logging.getLogger(__name__)

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]


# Entries whose source is a cloud, not a link: each sets itself up.
CLOUD_SETUPS = {LINK_PORTAL: async_setup_portal_entry}


async def async_setup_entry(hass: HomeAssistant, entry: ZcsConfigEntry) -> bool:
    """Hold the entry's link, poll once, and add the entities."""
    if (setup := CLOUD_SETUPS.get(entry.data[CONF_LINK])) is not None:
        return await setup(hass, entry, PLATFORMS)
    profile = await async_get_profile(hass, entry.data[CONF_PROFILE])
    if profile is None:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="profile_missing",
            translation_placeholders={"profile": entry.data[CONF_PROFILE]},
        )
    if entry.data[CONF_LINK] == LINK_WIFI:
        # New sticks are offered, and this one followed should it move (before the first
        # poll: a stick at a new address is what keeps that poll from answering).
        async_scan_while_loaded(hass, entry)
    # On Home Assistant's shared connection to the device, let go when the entry unloads.
    try:
        link = async_get_link(hass, entry)
    except HomeAssistantError as err:
        # Another integration holds the device over other link settings; it may let go.
        raise ConfigEntryNotReady(translation_domain=DOMAIN, translation_key="link_in_use") from err
    if missing := needed_functions(profile) - link.functions:
        # Never sent: the link would refuse it (the HUB carries 0x03 and 0x10 only).
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="link_cannot_carry",
            translation_placeholders={"functions": function_codes(missing)},
        )
    coordinator = ZcsCoordinator(hass, entry, ModbusDevice(link, entry.data[CONF_UNIT_ID], profile))
    try:
        await coordinator.async_config_entry_first_refresh()
    except ConfigEntryNotReady as err:
        # The stick answers but the inverter does not (asleep, or switched off): set up
        # anyway with unavailable entities; they come back on the first poll it answers.
        if err.translation_key not in (SILENT_STICK, SILENT_DEVICE):
            raise
        # The coordinator logs no failure of a first refresh; say it once here.
        _LOGGER.info("%s does not answer; its entities are unavailable until it does", entry.title)
    entry.runtime_data = ZcsRuntimeData(coordinator)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ZcsConfigEntry) -> bool:
    """Remove the entities; the shared connection lets go of the entry's unit itself."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
