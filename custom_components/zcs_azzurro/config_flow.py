"""Config flow: a menu of links; each finds the device, identifies it, and names the error."""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, override

import voluptuous as vol
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_HOST, CONF_PORT, CONF_SCAN_INTERVAL
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
)

from .api.device import ModbusDevice, Reading, identify
from .api.errors import (
    ConnectError,
    ConnectionLostError,
    FrameError,
    InvalidHostError,
    NoResponseError,
    NotZcsDeviceError,
    UnsupportedModelError,
)
from .api.profile.schema import Profile
from .connection import async_find_framing, async_temporary_link
from .const import (
    CONF_FRAMING,
    CONF_LINK,
    CONF_MODEL,
    CONF_PROFILE,
    CONF_UNIT_ID,
    DEFAULT_ETH_PORT,
    DEFAULT_SCAN_INTERVAL,
    DEFAULT_UNIT_ID,
    DOMAIN,
    LINK_ETH,
    MAX_SCAN_INTERVAL,
    MIN_SCAN_INTERVAL,
)
from .profiles import async_get_profiles

_LOGGER = logging.getLogger(__name__)

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.IGNORECASE)


def _box(low: int, high: int, unit: str | None = None) -> NumberSelector:
    config = NumberSelectorConfig(min=low, max=high, step=1, mode=NumberSelectorMode.BOX)
    if unit:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


ETH_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_HOST): TextSelector(),
        vol.Required(CONF_PORT, default=DEFAULT_ETH_PORT): _box(1, 65535),
        vol.Required(CONF_UNIT_ID, default=DEFAULT_UNIT_ID): _box(1, 247),
    }
)
OPTIONS_SCHEMA = vol.Schema(
    {vol.Required(CONF_SCAN_INTERVAL): _box(MIN_SCAN_INTERVAL, MAX_SCAN_INTERVAL, "s")}
)


def valid_host(host: str) -> bool:
    """An IP address, or a host name as RFC 1123 allows it (a numeric top label is not)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.removesuffix(".").split(".")
        return len(host) <= 253 and all(map(_LABEL.match, labels)) and not labels[-1].isdigit()
    return True


def _eth_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    # Number selectors hand back floats.
    return {
        CONF_LINK: LINK_ETH,
        CONF_HOST: str(user_input[CONF_HOST]).strip(),
        CONF_PORT: int(user_input[CONF_PORT]),
        CONF_UNIT_ID: int(user_input[CONF_UNIT_ID]),
    }


# What each failure to reach or identify the device tells the user: (form field, error).
_PROBE_ERRORS: dict[type[Exception], tuple[str, str]] = {
    InvalidHostError: (CONF_HOST, "invalid_host"),
    ConnectError: ("base", "cannot_connect"),
    ConnectionLostError: ("base", "cannot_connect"),
    NoResponseError: ("base", "inverter_silent"),
    FrameError: ("base", "not_zcs"),
    NotZcsDeviceError: ("base", "not_zcs"),
    UnsupportedModelError: ("base", "unsupported_model"),
}


@dataclass
class _Probe:
    """What trying the device gave: its identity, or the form errors to show."""

    serial: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    placeholders: dict[str, str] = field(default_factory=dict)


async def _async_identify(
    hass: HomeAssistant, data: dict[str, Any]
) -> tuple[dict[str, Any], Profile, str, Reading]:
    """The device's profile, serial and identity, in the framing it answers."""
    profiles = await async_get_profiles(hass)
    unit = data[CONF_UNIT_ID]
    framing = await async_find_framing(hass, data, profiles[0].serial.spans[0].address)
    attempt = {**data, CONF_FRAMING: framing.value}
    # Through Home Assistant's shared connection: an entry already using this stick keeps it.
    async with async_temporary_link(hass, attempt) as link:
        profile, serial = await identify(link, unit, profiles)
        identity = await ModbusDevice(link, unit, profile).read(f.key for f in profile.identity)
    return attempt, profile, serial, identity


async def _async_probe(hass: HomeAssistant, data: dict[str, Any]) -> _Probe:
    """Connect, identify the device and read its model; errors are translation keys."""
    if not valid_host(data[CONF_HOST]):
        return _Probe(errors={CONF_HOST: "invalid_host"})
    try:
        data, profile, serial, identity = await _async_identify(hass, data)
    except tuple(_PROBE_ERRORS) as err:
        field_name, key = _PROBE_ERRORS[type(err)]
        placeholders = {"error": str(err), "serial": getattr(err, "serial", "")}
        return _Probe(errors={field_name: key}, placeholders=placeholders)
    except Exception:
        _LOGGER.exception("Unexpected error while probing %s", data[CONF_HOST])
        return _Probe(errors={"base": "unknown"})
    model = profile.model_name(identity.values)
    return _Probe(serial, {**data, CONF_PROFILE: profile.id, CONF_MODEL: model})


class ZcsConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a ZCS device over one of its links."""

    VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask how the device is connected."""
        return self.async_show_menu(step_id="user", menu_options=[LINK_ETH])

    async def async_step_eth(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A ZSM-ETH-USB stick: host, port and the inverter's unit id."""
        probe = _Probe()
        if user_input is not None:
            probe = await _async_probe(self.hass, _eth_data(user_input))
            if not probe.errors:
                await self.async_set_unique_id(probe.serial)
                self._abort_if_unique_id_configured()
                return self.async_create_entry(title=probe.data[CONF_MODEL], data=probe.data)
        return self.async_show_form(
            step_id=LINK_ETH,
            data_schema=self.add_suggested_values_to_schema(ETH_SCHEMA, user_input),
            errors=probe.errors,
            description_placeholders=probe.placeholders,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Point the entry at a new address; it must still be the same device."""
        entry = self._get_reconfigure_entry()
        probe = _Probe()
        if user_input is not None:
            probe = await _async_probe(self.hass, _eth_data(user_input))
            if not probe.errors:
                await self.async_set_unique_id(probe.serial)
                self._abort_if_unique_id_mismatch(reason="wrong_device")
                return self.async_update_reload_and_abort(
                    entry, data=probe.data, reason="reconfigure_successful"
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(ETH_SCHEMA, user_input or entry.data),
            errors=probe.errors,
            description_placeholders=probe.placeholders,
        )

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: ConfigEntry) -> ZcsOptionsFlow:
        """How often to poll."""
        return ZcsOptionsFlow()


class ZcsOptionsFlow(OptionsFlowWithReload):
    """Options: the scan interval."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the scan interval."""
        if user_input is not None:
            return self.async_create_entry(
                data={CONF_SCAN_INTERVAL: int(user_input[CONF_SCAN_INTERVAL])}
            )
        current = self.config_entry.options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL)
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                OPTIONS_SCHEMA, {CONF_SCAN_INTERVAL: current}
            ),
        )
