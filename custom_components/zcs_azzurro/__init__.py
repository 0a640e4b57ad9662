"""ZCS Azzurro for Home Assistant: ZCS inverters and batteries, local links and cloud."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from homeassistant.const import CONF_DEVICE, CONF_HOST, CONF_PORT, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady, HomeAssistantError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.typing import ConfigType

from .api.device import ModbusDevice, identify
from .api.errors import IdentifyError, LinkError
from .api.profile.schema import Profile
from .api.transport.base import Link
from .battery_health import async_watch_battery_health
from .connection import async_get_link, function_codes, needed_functions
from .const import (
    CONF_LINK,
    CONF_MODEL,
    CONF_PROFILE,
    CONF_UNIT_ID,
    DOMAIN,
    LINK_PLANT,
    LINK_PORTAL,
    LINK_SYSTEM,
    LINK_WIFI,
)
from .coordinator import (
    SILENT_DEVICE,
    SILENT_STICK,
    ZcsConfigEntry,
    ZcsCoordinator,
    ZcsRuntimeData,
)
from .discovery import async_scan_while_loaded
from .history_fill import async_watch_history
from .plant import PLANT_PLATFORMS, async_setup_plant_entry
from .portal import async_setup_portal_entry
from .profiles import async_load, async_report
from .proxy import async_share
from .services import async_setup_services
from .system import async_setup_system_entry
from .webhook import held_store

_LOGGER = logging.getLogger(__name__)

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]

# Set up from the UI only; async_setup is here for the actions.
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the register actions, once for every entry."""
    async_setup_services(hass)
    return True


# Entries whose source is a cloud, not a link: each sets itself up.
CLOUD_SETUPS = {LINK_PORTAL: async_setup_portal_entry, LINK_SYSTEM: async_setup_system_entry}


async def async_setup_entry(hass: HomeAssistant, entry: ZcsConfigEntry) -> bool:
    """Hold the entry's link, poll once, and add the entities."""
    if entry.data[CONF_LINK] == LINK_PLANT:
        return await async_setup_plant_entry(hass, entry)  # type: ignore[arg-type]
    if (setup := CLOUD_SETUPS.get(entry.data[CONF_LINK])) is not None:
        return await setup(hass, entry, PLATFORMS)
    loaded = await async_load(hass)
    profile_id = entry.data[CONF_PROFILE]
    profile = next((p for p in loaded.profiles if p.id == profile_id), None)
    # A user's profile file that does not load is a repair issue naming file, line and field.
    async_report(hass, entry.entry_id, error := loaded.error(profile_id))
    if error is not None:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="profile_invalid",
            translation_placeholders={"file": error.source},
        )
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
    if entry.unique_id is None and profile.serial_prefixes:
        # Set up while the device slept: it is identified once it answers (a device with
        # no serial number, a meter, never is: its entry goes by its own id).
        profile = await _async_detect(hass, entry, link, loaded.profiles)
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
    _drop_moved_entities(hass, entry, profile)
    # Other programs read the device through this entry's connection, if its options ask.
    await async_share(hass, entry)
    # Hours the link missed, filled from a cloud entry of the same device, if there is one.
    async_watch_history(hass, entry)
    async_watch_battery_health(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


def _drop_moved_entities(hass: HomeAssistant, entry: ZcsConfigEntry, profile: Profile) -> None:
    """Remove the entities of fields the profile now shows on another platform.

    A field that moved (max charge SOC, a number until its write-back was found unconfirmed,
    now a sensor) would otherwise stay as an orphan "no longer provided" entity.
    """
    shown = {fld.key: how.platform for fld, how in profile.entities()}
    registry = er.async_get(hass)
    prefix = f"{entry.unique_id or entry.entry_id}_"
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        key = entity.unique_id.removeprefix(prefix)
        if shown.get(key, entity.domain) != entity.domain:
            registry.async_remove(entity.entity_id)


async def _async_detect(
    hass: HomeAssistant, entry: ZcsConfigEntry, link: Link, profiles: tuple[Profile, ...]
) -> Profile:
    """The device's profile and serial, read now; until it answers, the setup is retried."""
    unit = entry.data[CONF_UNIT_ID]
    try:
        profile, serial = await identify(link, unit, profiles)
        identity = await ModbusDevice(link, unit, profile).read(f.key for f in profile.identity)
    except LinkError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN, translation_key="waiting_for_device"
        ) from err
    except IdentifyError as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN, translation_key="device_not_identified"
        ) from err
    model = profile.model_name(identity.values)
    if other := hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, serial):
        # Added again while it slept, by another way (its address by name, say).
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="device_already_added",
            translation_placeholders={"serial": serial, "title": other.title},
        )
    hass.config_entries.async_update_entry(
        entry,
        unique_id=serial,
        title=f"{model} ({serial[-5:]})",
        data={**entry.data, CONF_PROFILE: profile.id, CONF_MODEL: model},
    )
    return profile


async def async_migrate_entry(hass: HomeAssistant, entry: ZcsConfigEntry) -> bool:
    """Bring an entry of an older version up to date.

    1.2: a meter's entry (a device with no serial number) was known by its link, address
    and unit id, and its device and entities by the same; Home Assistant accepts no
    address as a unique id. They now go by the entry's own id, which no move changes.
    """
    if entry.version > 1:
        return False
    if entry.minor_version < 2:
        if entry.unique_id is not None and entry.unique_id == _placed_id(entry.data):
            _rename(hass, entry, entry.unique_id, entry.entry_id)
            hass.config_entries.async_update_entry(entry, unique_id=None)
        hass.config_entries.async_update_entry(entry, minor_version=2)
    return True


def _placed_id(data: Mapping[str, Any]) -> str | None:
    """The unique id a meter's entry had before 1.2: link, where it is, unit id."""
    if CONF_UNIT_ID not in data or CONF_LINK not in data:
        return None
    where = data.get(CONF_DEVICE) or f"{data.get(CONF_HOST)}:{data.get(CONF_PORT)}"
    return f"{data[CONF_LINK]}_{where}_{data[CONF_UNIT_ID]}"


def _rename(hass: HomeAssistant, entry: ZcsConfigEntry, old: str, new: str) -> None:
    """The entry's device and entities, known by `new` where they were by `old`."""
    entities = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(entities, entry.entry_id):
        if entity.unique_id.startswith(f"{old}_"):
            key = entity.unique_id.removeprefix(f"{old}_")
            entities.async_update_entity(entity.entity_id, new_unique_id=f"{new}_{key}")
    devices = dr.async_get(hass)
    if device := devices.async_get_device_by_identifier((DOMAIN, old), entry.entry_id):
        devices.async_update_device(device.id, new_identifiers={(DOMAIN, new)})


async def async_unload_entry(hass: HomeAssistant, entry: ZcsConfigEntry) -> bool:
    """Remove the entities; the shared connection lets go of the entry's unit itself."""
    platforms = PLANT_PLATFORMS if entry.data[CONF_LINK] == LINK_PLANT else PLATFORMS
    return await hass.config_entries.async_unload_platforms(entry, platforms)


async def async_remove_entry(hass: HomeAssistant, entry: ZcsConfigEntry) -> None:
    """Forget what a removed System entry's writes set (kept across restarts)."""
    if entry.data[CONF_LINK] == LINK_SYSTEM:
        await held_store(hass, entry.entry_id).async_remove()
