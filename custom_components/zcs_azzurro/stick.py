"""The stick an entry reads through: shown with its firmware; firmware called bad, said.

A ZSM-ETH-USB or ZSM-WIFI-USB stick says its serial and firmware on its own web page
(api/stick_page.py). Where it does, the stick is a device, and the inverter's device is
connected through it (`via_device`), as Home Assistant's device model has hubs and bridges.
Two combinations are a repair issue, each with what to do:
- the ETH stick (a Solarman LSE-3) on firmware 1.11: ZCS's knowledge base (article 484) says
  V1.11 must not be given a static IP address; the solax-modbus Sofar FAQ has
  ME_0D_270A_1.11 time out where ME_0D_270A_1.09 does not, and a static IP in the stick as a
  cause of time-outs (DHCP with a reservation in the router instead). The page does not say
  whether the address is static: the issue names the firmware and what to check.
- the WiFi stick on the loggers' MQTT firmware (LSW3_15_MQTT_270A_1.10, 1.22) refusing the
  connection on its port: after such an update port 8899 stays closed to local clients
  (davidrapan/ha-solarman #529, #762, #962; StephanJoubert/home_assistant_solarman #723).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.event import async_track_time_interval
from yarl import URL

from . import const
from .api.errors import ConnectError
from .api.stick_page import StickPage, read_status_page
from .coordinator import POLL_ERRORS, ZcsConfigEntry, ZcsCoordinator

_LOGGER = logging.getLogger(__name__)

# What a failed poll says when nothing accepted the connection on the stick's port.
UNREACHABLE = POLL_ERRORS[ConnectError]


@dataclass(frozen=True)
class Stick:
    """A kind of stick: its name, and the firmware public reports call bad on it."""

    model: str
    # The repair issue (its translation key) for bad firmware on this stick.
    issue: str
    bad: Callable[[StickPage], bool]
    # Whether the firmware is bad only while the stick refuses the entry's connection.
    when_refused: bool


STICKS = {
    const.LINK_ETH: Stick(
        "ZSM-ETH-USB",
        "stick_firmware_static_ip",
        lambda page: page.release == "1.11",
        when_refused=False,
    ),
    const.LINK_WIFI: Stick(
        "ZSM-WIFI-USB", "stick_firmware_port_closed", lambda page: page.mqtt, when_refused=True
    ),
}


def issue_id(entry: ZcsConfigEntry) -> str:
    """The entry's stick firmware repair issue."""
    return f"stick_firmware_{entry.entry_id}"


def stick_id(serial: int) -> tuple[str, str]:
    """The stick's device identifier."""
    return (const.DOMAIN, f"stick_{serial}")


class StickWatch:
    """Reads the page of a local entry's stick: at setup, daily, and when polls stop reaching it."""

    def __init__(self, hass: HomeAssistant, entry: ZcsConfigEntry) -> None:
        """For an entry whose link is a stick (STICKS)."""
        self.hass = hass
        self.entry = entry
        self.stick = STICKS[entry.data[const.CONF_LINK]]
        # Whether the page was read since the polls last stopped reaching the stick.
        self._read_since_refused = False

    async def async_read(self, *, refused: bool) -> StickPage | None:
        """Read the page; show the stick and its firmware; raise or clear the repair issue.

        `refused`: whether nothing accepts a connection on the entry's port now.
        """
        host = self.entry.data[CONF_HOST]
        session = async_get_clientsession(self.hass)
        page = await read_status_page(session, host, const.STICK_WEB_PORT)
        if page is None:
            return None
        serial = self.entry.data.get(const.CONF_LOGGER_SERIAL)
        if serial is not None and page.serial != serial:
            # Another logger answers at this address: its firmware is not this stick's.
            _LOGGER.debug("%s: the page at %s is logger %s's", self.entry.title, host, page.serial)
            return None
        self._show(page, host)
        self._judge(page, refused)
        return page

    def _show(self, page: StickPage, host: str) -> None:
        registry = dr.async_get(self.hass)
        stick = registry.async_get_or_create(
            config_entry_id=self.entry.entry_id,
            identifiers={stick_id(page.serial)},
            manufacturer="ZCS",
            model=self.stick.model,
            name=f"{self.stick.model} ({page.serial})",
            serial_number=str(page.serial),
            sw_version=page.firmware,
            configuration_url=str(URL.build(scheme="http", host=host, port=const.STICK_WEB_PORT)),
        )
        replaced = {
            old.id
            for old in dr.async_entries_for_config_entry(registry, self.entry.entry_id)
            if old.id != stick.id and any(i[1].startswith("stick_") for i in old.identifiers)
        }
        for old_id in replaced:
            # The entry's stick was replaced: the old one goes with the last entry read by it.
            registry.async_update_device(old_id, remove_config_entry_id=self.entry.entry_id)
        # The entry's device (an inverter, a meter) is reached through the stick, unless it
        # is shown through something else (a plant's device).
        device = registry.async_get_device_by_identifier(
            (const.DOMAIN, self.entry.unique_id or ""), self.entry.entry_id
        )
        if device is not None and device.via_device_id in {None, *replaced}:
            registry.async_update_device(device.id, via_device_id=stick.id)

    def _judge(self, page: StickPage, refused: bool) -> None:
        if self.stick.bad(page) and (refused or not self.stick.when_refused):
            ir.async_create_issue(
                self.hass,
                const.DOMAIN,
                issue_id(self.entry),
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=self.stick.issue,
                translation_placeholders={
                    "title": self.entry.title,
                    "model": self.stick.model,
                    "serial": str(page.serial),
                    "firmware": page.firmware,
                    "port": str(self.entry.data[CONF_PORT]),
                },
            )
        else:
            ir.async_delete_issue(self.hass, const.DOMAIN, issue_id(self.entry))

    @callback
    def async_start(self, coordinator: ZcsCoordinator) -> None:
        """Read the page now, daily, and once when the polls stop reaching the stick.

        The coordinator tells its listeners when polls start failing, not why a later one
        fails: a check every hour catches a stick that drops the connection first and then
        refuses it (a firmware update, a reboot into new firmware).
        """
        # Hours since the page was last read (counted: the timer's ticks are the clock).
        hours = 0

        def read(refused: bool) -> None:
            nonlocal hours
            hours = 0
            self._read_since_refused = refused
            self.entry.async_create_background_task(
                self.hass, self.async_read(refused=refused), f"{const.DOMAIN} stick page"
            )

        @callback
        def hourly(_: datetime) -> None:
            nonlocal hours
            hours += 1
            refused = _refused(coordinator)
            if (refused and not self._read_since_refused) or hours >= const.STICK_PAGE_EVERY_HOURS:
                read(refused)

        @callback
        def changed() -> None:
            if coordinator.last_update_success:
                self._read_since_refused = False
                if self.stick.when_refused:
                    # The stick takes the connection again: its firmware is no problem here.
                    ir.async_delete_issue(self.hass, const.DOMAIN, issue_id(self.entry))
            elif _refused(coordinator) and not self._read_since_refused:
                read(refused=True)

        read(_refused(coordinator))
        self.entry.async_on_unload(async_track_time_interval(self.hass, hourly, timedelta(hours=1)))
        self.entry.async_on_unload(coordinator.async_add_listener(changed))
        self.entry.async_on_unload(
            lambda: ir.async_delete_issue(self.hass, const.DOMAIN, issue_id(self.entry))
        )


def _refused(coordinator: ZcsCoordinator) -> bool:
    """Whether the last poll failed because nothing accepted the connection."""
    failure = None if coordinator.last_update_success else coordinator.last_exception
    return getattr(failure, "translation_key", None) == UNREACHABLE
