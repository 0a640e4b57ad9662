"""An Azzurro System entry: the Portal's cloud entry, plus register writes through a webhook."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from homeassistant.const import CONF_TOKEN, CONF_URL, CONF_WEBHOOK_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .api.cloud import system_wire
from .api.cloud.portal_source import PortalMap, PortalSource
from .api.cloud.system import SystemClient
from .api.profile.schema import GroupKind, Profile, WriteGroup
from .const import (
    CONF_FIELDS,
    CONF_PLANT_ID,
    CONF_THING_KEY,
    CONF_WRITE_INTERVAL,
    DEFAULT_WRITE_INTERVAL,
    DOMAIN,
)
from .coordinator import ZcsConfigEntry, ZcsCoordinator
from .portal import async_get_portal_map, async_setup_cloud_entry
from .profiles import async_get_bundled_profile
from .webhook import WebhookWrites

SYSTEM_FIELDS = Path(__file__).parent / "api" / "cloud" / "system_fields.yaml"
# The register map of the inverters the System writes to (behind ZCS's own loggers): its
# clock group is what "Set clock" writes, its write groups what the register actions check.
REGISTER_MAP = "zcs_3ph_hyd_zss"


def system_client(hass: HomeAssistant, data: Mapping[str, Any]) -> SystemClient:
    """A client with the entry's (or the flow's) token and plant, on Home Assistant's session."""
    return SystemClient(
        async_get_clientsession(hass),
        data[CONF_TOKEN],
        data[CONF_PLANT_ID],
        url=data.get(CONF_URL, system_wire.BASE_URL),
    )


def writable_groups(local: Profile) -> tuple[WriteGroup, ...]:
    """The settings groups a System entry has controls for: every register a field of ours.

    The API reports no registers, so a group is written whole from values we know: those
    asked, the others' last confirmed ones, and the group's fixed registers (0x102A, EPS's
    reserved one, is always sent as 0). A group with other registers that are no field (the
    local writer sends them back as the device holds them) cannot be completed, and is left
    out: on the 3PH HYD ZSS, "battery" (depth of discharge among 19 registers, most of them
    no field of ours).
    """

    def covered(group: WriteGroup) -> bool:
        held = {
            span.address + offset
            for fld in local.members(group)
            for span in fld.spans
            for offset in range(span.count)
        }
        if group.commit is not None:
            held.add(group.commit[0])
        held.update(address for address, _ in group.fixed)
        span = group.span
        return held >= set(range(span.address, span.end + 1))

    return tuple(g for g in local.groups if g.kind is GroupKind.SETTINGS and covered(g))


def with_controls(system_map: PortalMap, local: Profile) -> PortalMap:
    """The System's map with the local map's clock and the settings groups it can write.

    A setting the System's realtime call reports (its field map names the key) is read from
    it; the others show what their last write confirmed.
    """
    clocks = tuple(g for g in local.groups if g.kind is GroupKind.CLOCK)
    groups = writable_groups(local)
    settings = {fld.key: fld for group in groups for fld in local.members(group)}
    fields = tuple(settings.pop(f.key, f) for f in system_map.profile.fields)
    profile = replace(
        system_map.profile, fields=fields + tuple(settings.values()), groups=clocks + groups
    )
    return replace(system_map, profile=profile)


def no_url_issue(entry_id: str) -> str:
    """The repair issue of an entry whose writes are off: no URL ZCS can reach."""
    return f"system_no_external_url_{entry_id}"


def plain_http_issue(entry_id: str) -> str:
    """The repair issue of an entry whose write results come over plain http."""
    return f"system_webhook_plain_http_{entry_id}"


async def async_setup_system_entry(
    hass: HomeAssistant, entry: ZcsConfigEntry, platforms: list[Platform]
) -> bool:
    """Poll the System for the entry's inverter; take write callbacks at the entry's webhook."""
    system_map = (await async_get_portal_map(hass, SYSTEM_FIELDS)).narrowed(entry.data[CONF_FIELDS])
    # The inverter's clock and settings, written through the API: their registers are the
    # local profile's (the System writes the inverter's own Modbus registers).
    system_map = with_controls(system_map, await async_get_bundled_profile(hass, REGISTER_MAP))
    client = system_client(hass, entry.data)
    device = entry.data[CONF_THING_KEY]
    webhook_id = entry.data[CONF_WEBHOOK_ID]
    writes = WebhookWrites(
        hass,
        entry.entry_id,
        client,
        device,
        webhook_id,
        profile=system_map.profile,
        reported=frozenset(system_map.names),
        interval=entry.options.get(CONF_WRITE_INTERVAL, DEFAULT_WRITE_INTERVAL),
    )
    await writes.async_load()
    source = PortalSource(client, device, system_map, held=writes.held)
    coordinator = ZcsCoordinator(hass, entry, source)
    coordinator.register_writes = writes
    writes.register(entry.title)
    entry.async_on_unload(writes.unregister)
    # Anyone on the way of a plain http URL reads the webhook id and the writes' ids, and can
    # answer for ZCS; without a URL, ZCS's servers cannot reach the webhook at all.
    plain = writes.url is not None and writes.url.startswith("http:")
    _repair(hass, entry, plain_http_issue(entry.entry_id), "system_webhook_plain_http", plain)
    _repair(hass, entry, no_url_issue(entry.entry_id), "system_no_external_url", not writes.url)
    await async_setup_cloud_entry(hass, entry, platforms, coordinator)
    return True


def _repair(
    hass: HomeAssistant, entry: ZcsConfigEntry, issue: str, translation_key: str, raised: bool
) -> None:
    """The entry's repair issue raised (a warning naming the entry) or gone; gone with it."""
    if raised:
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=translation_key,
            translation_placeholders={"name": entry.title},
        )
    else:
        ir.async_delete_issue(hass, DOMAIN, issue)
    entry.async_on_unload(lambda: ir.async_delete_issue(hass, DOMAIN, issue))
