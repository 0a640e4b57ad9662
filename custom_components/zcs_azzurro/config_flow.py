"""Config flow: a menu of links; each finds the device, identifies it, and names the error."""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
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
    BooleanSelector,
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
    CONF_ALLOW_RAW_WRITES,
    CONF_FRAMING,
    CONF_LINK,
    CONF_MODEL,
    CONF_PROFILE,
    CONF_UNIT_ID,
    CONF_WRITE_INTERVAL,
    DEFAULT_ETH_PORT,
    DEFAULT_SCAN_INTERVAL,
    DEFAULT_UNIT_ID,
    DEFAULT_WRITE_INTERVAL,
    DOMAIN,
    LINK_ETH,
    MAX_SCAN_INTERVAL,
    MAX_WRITE_INTERVAL,
    MIN_SCAN_INTERVAL,
)
from .profiles import async_get_profiles

_LOGGER = logging.getLogger(__name__)

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.IGNORECASE)


# The links the first step offers, each a step of this flow. Every entry is one device (a
# stick's inverter, one device behind a HUB port, one cloud serial): the manifest's
# integration_type is "device".
MENU = [LINK_ETH]

# The whole numbers the forms ask for, and the range of each (the field's hint states it).
RANGES: dict[str, tuple[int, int]] = {
    CONF_PORT: (1, 65535),
    CONF_UNIT_ID: (1, 247),
    CONF_SCAN_INTERVAL: (MIN_SCAN_INTERVAL, MAX_SCAN_INTERVAL),
    CONF_WRITE_INTERVAL: (0, MAX_WRITE_INTERVAL),
}


def _box(unit: str | None = None) -> NumberSelector:
    # No min/max here: the selector's own check would refuse 300 with "Value 300.0 is too
    # large", in English, before the step could say it in the user's language.
    config = NumberSelectorConfig(step=1, mode=NumberSelectorMode.BOX)
    if unit:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


def _out_of_range(user_input: Mapping[str, Any]) -> dict[str, str]:
    """The form errors of numbers that are not whole or not in their field's range."""
    return {
        key: f"{key}_range"
        for key, (low, high) in RANGES.items()
        if key in user_input
        and not (float(user_input[key]).is_integer() and low <= user_input[key] <= high)
    }


ETH_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_HOST): TextSelector(),
        vol.Required(CONF_PORT, default=DEFAULT_ETH_PORT): _box(),
        vol.Required(CONF_UNIT_ID, default=DEFAULT_UNIT_ID): _box(),
    }
)
OPTIONS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_SCAN_INTERVAL): _box("s"),
        vol.Optional(CONF_WRITE_INTERVAL): _box("s"),
        vol.Optional(CONF_ALLOW_RAW_WRITES): BooleanSelector(),
    }
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
# The words say only what is known; the exception's own text goes to the debug log.
_PROBE_ERRORS: dict[type[Exception], tuple[str, str]] = {
    InvalidHostError: (CONF_HOST, "invalid_host"),
    # Nothing accepted a connection.
    ConnectError: ("base", "cannot_connect"),
    # Something accepted, then closed without answering, or sent bytes that are not a
    # Modbus answer: a web server on that port, say, not a stick.
    ConnectionLostError: ("base", "not_modbus"),
    FrameError: ("base", "not_modbus"),
    # Connected, but no answer came through: inverter asleep or off, wrong unit, frozen stick.
    NoResponseError: ("base", "no_answer"),
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
        _LOGGER.debug("Probing %s port %s: %r", data[CONF_HOST], data[CONF_PORT], err)
        field_name, key = _PROBE_ERRORS[type(err)]
        return _Probe(errors={field_name: key}, placeholders={"serial": getattr(err, "serial", "")})
    except Exception:
        _LOGGER.exception("Unexpected error while probing %s", data[CONF_HOST])
        return _Probe(errors={"base": "unknown"})
    model = profile.model_name(identity.values)
    return _Probe(serial, {**data, CONF_PROFILE: profile.id, CONF_MODEL: model})


async def _async_check(hass: HomeAssistant, user_input: Mapping[str, Any]) -> _Probe:
    """The form's numbers in range, then the device they point at."""
    if errors := _out_of_range(user_input):
        return _Probe(errors=errors)
    return await _async_probe(hass, _eth_data(user_input))


def _title(model: str, serial: str) -> str:
    """The entry's and device's name: the model, and the serial's tail to tell two apart."""
    return f"{model} ({serial[-5:]})"


class ZcsConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a ZCS device over one of its links."""

    VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask how the device is connected; while there is one way only, take it."""
        if len(MENU) == 1:
            step: Callable[[], Awaitable[ConfigFlowResult]] = getattr(self, f"async_step_{MENU[0]}")
            return await step()
        return self.async_show_menu(step_id="user", menu_options=MENU)

    async def async_step_eth(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A ZSM-ETH-USB stick: host, port and the inverter's unit id."""
        probe = _Probe()
        if user_input is not None:
            probe = await _async_check(self.hass, user_input)
            if not probe.errors:
                await self.async_set_unique_id(probe.serial)
                self._abort_if_unique_id_configured()
                title = _title(probe.data[CONF_MODEL], probe.serial)
                return self.async_create_entry(title=title, data=probe.data)
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
            probe = await _async_check(self.hass, user_input)
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
    """Options: the scan interval, how often an EEPROM setting may be written, raw writes."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the intervals."""
        errors: dict[str, str] = {}
        if user_input is not None and not (errors := _out_of_range(user_input)):
            # Number selectors hand back floats; the switch a bool.
            return self.async_create_entry(
                data={k: v if isinstance(v, bool) else int(v) for k, v in user_input.items()}
            )
        options = self.config_entry.options
        current = {
            CONF_SCAN_INTERVAL: options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL),
            CONF_WRITE_INTERVAL: options.get(CONF_WRITE_INTERVAL, DEFAULT_WRITE_INTERVAL),
            CONF_ALLOW_RAW_WRITES: options.get(CONF_ALLOW_RAW_WRITES, False),
        }
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(OPTIONS_SCHEMA, user_input or current),
            errors=errors,
        )
