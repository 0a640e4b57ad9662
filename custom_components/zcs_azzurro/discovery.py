"""WiFi sticks on the LAN: scanned for while an entry uses one, every 15 minutes.

What a scan finds goes to the config flow as an integration discovery: a stick no entry
uses is offered as a discovered device; one at a new address takes its entry along when
that address serves the entry's logger and inverter, and is offered to the user to confirm
otherwise (the flow matches them by logger serial).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY, ConfigEntry
from homeassistant.const import CONF_HOST, CONF_MAC
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import discovery_flow
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util.hass_dict import HassKey

from . import const
from .api.discovery import Logger, scan

_LOGGER = logging.getLogger(__name__)

_SCANNER: HassKey[_Scanner] = HassKey(f"{const.DOMAIN}_scanner")


async def async_scan(hass: HomeAssistant) -> list[Logger]:
    """The sticks that answer a scan where the settings send it."""
    found = await scan(const.SCAN_ADDRESS, const.SCAN_PORT, const.SCAN_WAIT)
    _LOGGER.debug("Scan of %s found %s", const.SCAN_ADDRESS, found)
    return found


@callback
def async_scan_while_loaded(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Scan now and every 15 minutes until no loaded entry uses a WiFi stick."""
    scanner = hass.data.get(_SCANNER)
    if scanner is None:
        scanner = hass.data[_SCANNER] = _Scanner(hass)
    scanner.entries.add(entry.entry_id)
    entry.async_on_unload(partial(scanner.release, entry.entry_id))


class _Scanner:
    """The background scan, held by the entries that use a WiFi stick."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self.entries: set[str] = set()
        self._stop = async_track_time_interval(
            hass,
            self._async_scan,
            timedelta(minutes=const.SCAN_EVERY_MINUTES),
            name=f"{const.DOMAIN} WiFi stick scan",
            cancel_on_shutdown=True,
        )
        hass.async_create_background_task(self._async_scan(), f"{const.DOMAIN} WiFi stick scan")

    @callback
    def release(self, entry_id: str) -> None:
        """An entry no longer uses its stick; the last one stops the scan."""
        self.entries.discard(entry_id)
        if not self.entries and self.hass.data.get(_SCANNER) is self:
            self._stop()
            del self.hass.data[_SCANNER]

    async def _async_scan(self, now: datetime | None = None) -> None:
        for logger in await async_scan(self.hass):
            discovery_flow.async_create_flow(
                self.hass,
                const.DOMAIN,
                context={"source": SOURCE_INTEGRATION_DISCOVERY},
                data={
                    CONF_HOST: logger.host,
                    CONF_MAC: logger.mac,
                    const.CONF_LOGGER_SERIAL: logger.serial,
                },
            )
