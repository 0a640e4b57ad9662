"""Diagnostics: the link's counters and connection, the last poll, raw and decoded; no secrets."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.const import (
    CONF_API_KEY,
    CONF_DEVICE,
    CONF_HOST,
    CONF_TOKEN,
    CONF_URL,
    CONF_WEBHOOK_ID,
)
from homeassistant.core import HomeAssistant

from .api.cloud.portal_source import PortalSource
from .api.cloud.system import SystemClient
from .api.device import ModbusDevice
from .api.report import survey
from .connection import connection_info
from .const import (
    CONF_CLIENT_CODE,
    CONF_LINK,
    CONF_LOGGER_SERIAL,
    CONF_MODEL,
    CONF_PLANT_ID,
    CONF_THING_KEY,
    LINK_PLANT,
)
from .coordinator import ZcsConfigEntry
from .plant import PlantCoordinator
from .proxy import diagnostics as proxy_diagnostics
from .webhook import WebhookWrites

# Where a device is and which one it is are the owner's business; credentials are secret.
TO_REDACT = {
    CONF_HOST,
    # A serial port's by-id path carries the adapter's serial number.
    CONF_DEVICE,
    CONF_LOGGER_SERIAL,
    "serial",
    "unique_id",
    CONF_API_KEY,
    CONF_CLIENT_CODE,
    CONF_THING_KEY,
    CONF_URL,
    CONF_TOKEN,
    CONF_PLANT_ID,
    # Anyone who knows it can post to the System entry's webhook.
    CONF_WEBHOOK_ID,
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: ZcsConfigEntry
) -> dict[str, Any]:
    """What a bug report needs."""
    if entry.data[CONF_LINK] == LINK_PLANT:
        plant: PlantCoordinator = entry.runtime_data.coordinator  # type: ignore[assignment]
        return {
            "entry": {"title": entry.title, "data": dict(entry.data)},
            "members": [member.config_entry.title for member in plant.inverters],
            "grid_from": plant.grid.config_entry.title,
            "master": plant.master.config_entry.title,
            "values": plant.data,
        }
    coordinator = entry.runtime_data.coordinator
    device = coordinator.device
    reading = coordinator.data
    poll = None
    if reading is not None:
        poll = {
            "requests": [[f"{span.address:#06x}", span.count] for span in reading.requests],
            "refused": [[f"{span.address:#06x}", span.count] for span in reading.refused],
            "withheld": sorted(reading.withheld),
            "registers": {f"{address:#06x}": value for address, value in reading.registers.items()},
            "values": reading.values,
        }
    link = None
    report = None
    if isinstance(device, ModbusDevice):
        link = asdict(device.link.stats)
        # Link errors name where they failed: the address, or the serial port.
        for endpoint in (entry.data.get(key) for key in (CONF_HOST, CONF_DEVICE)):
            if endpoint and link["last_error"]:
                link["last_error"] = link["last_error"].replace(endpoint, REDACTED)
        # Home Assistant's connection to the device, which other integrations may share.
        link["connection"] = connection_info(hass, entry)
        # What an owner attaches to an issue to confirm the map (docs/help-confirm.md): the
        # raw words of every block, read now, between polls (the counters above are before).
        async with coordinator.async_turn():
            report = await survey(device, coordinator.identity, entry.data[CONF_MODEL])
    portal: dict[str, Any] | None = None
    if isinstance(device, PortalSource):
        portal = {
            "last_update": device.last_update,
            "fields": sorted(device.map.names.values()),
        }
        if isinstance(device.client, SystemClient):
            # The logger decides whether writes can work; no external URL turns them off.
            writes = coordinator.register_writes
            portal["logger"] = device.client.logger
            portal["writes_enabled"] = isinstance(writes, WebhookWrites) and bool(writes.url)
            # What the controls show: the settings as the last confirmed writes left them.
            portal["confirmed_settings"] = (
                dict(writes.held) if isinstance(writes, WebhookWrites) else None
            )
    return async_redact_data(
        {
            "entry": {
                "unique_id": entry.unique_id,
                "data": dict(entry.data),
                "options": dict(entry.options),
            },
            "profile": device.profile.id,
            "identity": coordinator.identity,
            "last_update_success": coordinator.last_update_success,
            "link": link,
            "poll": poll,
            "portal": portal,
            "proxy": proxy_diagnostics(hass, entry.entry_id),
            "device_report": report,
        },
        TO_REDACT,
    )
