"""Config flow: a menu of links; each finds the device, identifies it, and names the error."""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, override

import voluptuous as vol
from homeassistant.components import webhook
from homeassistant.config_entries import (
    SOURCE_IGNORE,
    ConfigEntry,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import (
    CONF_API_KEY,
    CONF_DEVICE,
    CONF_HOST,
    CONF_MAC,
    CONF_PORT,
    CONF_SCAN_INTERVAL,
    CONF_TOKEN,
    CONF_URL,
    CONF_WEBHOOK_ID,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    SerialPortSelector,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from . import const
from .api.cloud import system_wire
from .api.cloud.portal import ENDPOINT, PortalAuthError, PortalError, PortalOfflineError
from .api.cloud.portal_source import ALARM_KEY, FIELDS_FILE, CloudClient
from .api.cloud.system import SystemApiError, SystemAuthError, SystemOfflineError
from .api.device import ModbusDevice, Reading, identify
from .api.discovery import MAX_LOGGER_SERIAL, Logger
from .api.errors import (
    BusyError,
    ConnectError,
    ConnectionLostError,
    FrameError,
    InvalidHostError,
    LinkError,
    NoResponseError,
    NotZcsDeviceError,
    UnsupportedModelError,
    WrongLoggerError,
)
from .api.profile.schema import Profile
from .connection import (
    LINKS,
    async_find_framing,
    async_temporary_link,
    function_codes,
    needed_functions,
)
from .const import (
    BAUDRATES,
    CONF_ALLOW_RAW_WRITES,
    CONF_BACKFILL_DAYS,
    CONF_BAUDRATE,
    CONF_BYTESIZE,
    CONF_CLIENT_CODE,
    CONF_FIELDS,
    CONF_FRAMING,
    CONF_LINE,
    CONF_LINK,
    CONF_LOGGER_SERIAL,
    CONF_MODEL,
    CONF_PACING,
    CONF_PARITY,
    CONF_PLANT_ID,
    CONF_PROFILE,
    CONF_PROXY,
    CONF_PROXY_HOST,
    CONF_PROXY_PORT,
    CONF_PROXY_WRITES,
    CONF_STOPBITS,
    CONF_THING_KEY,
    CONF_UNIT_ID,
    CONF_WRITE_INTERVAL,
    DEFAULT_BACKFILL_DAYS,
    DEFAULT_ETH_PORT,
    DEFAULT_HUB_PACING,
    DEFAULT_PORTAL_SCAN_INTERVAL,
    DEFAULT_POWER_MAGIC_PORT,
    DEFAULT_PROXY_HOST,
    DEFAULT_PROXY_PORT,
    DEFAULT_SCAN_INTERVAL,
    DEFAULT_UNIT_ID,
    DEFAULT_WRITE_INTERVAL,
    DOMAIN,
    HUB_LINES,
    LINK_ETH,
    LINK_HUB,
    LINK_PLANT,
    LINK_PORTAL,
    LINK_POWER_MAGIC,
    LINK_RS485,
    LINK_SYSTEM,
    LINK_WIFI,
    MAX_BACKFILL_DAYS,
    MAX_HUB_PACING,
    MAX_SCAN_INTERVAL,
    MAX_WRITE_INTERVAL,
    MIN_PORTAL_SCAN_INTERVAL,
    MIN_SCAN_INTERVAL,
    PARITIES,
    PORTAL_MODEL,
    SYSTEM_MODEL,
)
from .discovery import async_scan
from .plant_flow import PlantFlow
from .portal import async_get_portal_map, portal_client
from .profiles import async_get_profiles, async_load, error_placeholders
from .proxy import HOST_INVALID, HOST_UNAVAILABLE, port_problem
from .system import SYSTEM_FIELDS, system_client
from .webhook import webhook_url

_LOGGER = logging.getLogger(__name__)

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.IGNORECASE)


# The whole numbers the forms ask for, and the range of each (the field's hint states it).
RANGES: dict[str, tuple[int, int]] = {
    CONF_PORT: (1, 65535),
    CONF_UNIT_ID: (1, 247),
    CONF_SCAN_INTERVAL: (MIN_SCAN_INTERVAL, MAX_SCAN_INTERVAL),
    CONF_WRITE_INTERVAL: (0, MAX_WRITE_INTERVAL),
    CONF_BACKFILL_DAYS: (1, MAX_BACKFILL_DAYS),
    CONF_LOGGER_SERIAL: (1, MAX_LOGGER_SERIAL),
    CONF_PROXY_PORT: (1, 65535),
}
# The Portal updates every few minutes: polling it faster gains nothing.
PORTAL_RANGES = {**RANGES, CONF_SCAN_INTERVAL: (MIN_PORTAL_SCAN_INTERVAL, MAX_SCAN_INTERVAL)}


def _box(unit: str | None = None) -> NumberSelector:
    # No min/max here: the selector's own check would refuse 300 with "Value 300.0 is too
    # large", in English, before the step could say it in the user's language.
    config = NumberSelectorConfig(step=1, mode=NumberSelectorMode.BOX)
    if unit:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


# Numbers that may have decimals (the HUB's pacing: tenths of a second).
DECIMAL_RANGES: dict[str, tuple[float, float]] = {CONF_PACING: (0, MAX_HUB_PACING)}


def _out_of_range(
    user_input: Mapping[str, Any], ranges: Mapping[str, tuple[int, int]] = RANGES
) -> dict[str, str]:
    """The form errors of numbers that are not whole or not in their field's range."""
    return {
        key: f"{key}_range"
        for key, (low, high) in ranges.items()
        if key in user_input
        and not (float(user_input[key]).is_integer() and low <= user_input[key] <= high)
    } | {
        key: f"{key}_range"
        for key, (low, high) in DECIMAL_RANGES.items()
        if key in user_input and not low <= user_input[key] <= high
    }


def _choice(options: list[str], translation_key: str | None = None) -> SelectSelector:
    config = SelectSelectorConfig(options=options, mode=SelectSelectorMode.DROPDOWN)
    if translation_key:
        config["translation_key"] = translation_key
    return SelectSelector(config)


def _tcp_schema(port: int) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_HOST): TextSelector(),
            vol.Required(CONF_PORT, default=port): _box(),
            vol.Required(CONF_UNIT_ID, default=DEFAULT_UNIT_ID): _box(),
        }
    )


ETH_SCHEMA = _tcp_schema(DEFAULT_ETH_PORT)
HUB_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_HOST): TextSelector(),
        vol.Required(CONF_LINE, default=next(iter(HUB_LINES))): _choice(list(HUB_LINES), "line"),
        vol.Required(CONF_UNIT_ID, default=DEFAULT_UNIT_ID): _box(),
    }
)
RS485_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_DEVICE): SerialPortSelector(),
        vol.Required(CONF_BAUDRATE, default="9600"): _choice([str(b) for b in BAUDRATES]),
        vol.Required(CONF_PARITY, default="none"): _choice(list(PARITIES), "parity"),
        vol.Required(CONF_STOPBITS, default="1"): _choice(["1", "2"]),
        vol.Required(CONF_BYTESIZE, default="8"): _choice(["7", "8"]),
        vol.Required(CONF_UNIT_ID, default=DEFAULT_UNIT_ID): _box(),
    }
)
# Setting up (not reconfiguring), the user may ask to see and change the profile detected.
CONF_CHOOSE_PROFILE = "choose_profile"


def _choosing(schema: vol.Schema) -> vol.Schema:
    """A link's setup form, with the box that shows the profile detected, to choose another."""
    return schema.extend({vol.Optional(CONF_CHOOSE_PROFILE, default=False): BooleanSelector()})


ETH_SETUP_SCHEMA = _choosing(ETH_SCHEMA)
# The WiFi stick by hand: on another subnet, or one whose firmware ignores the scan
# (pysolarmanv5 #72). The serial is the logger's, on its label; the inverter's is read.
WIFI_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_HOST): TextSelector(),
        vol.Required(CONF_LOGGER_SERIAL): _box(),
        vol.Required(CONF_PORT, default=const.DEFAULT_WIFI_PORT): _box(),
        vol.Required(CONF_UNIT_ID, default=DEFAULT_UNIT_ID): _box(),
    }
)
# The pick list's choice for a stick the scan did not find.
STICK = "stick"
MANUAL = "manual"
_SECRET = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
PORTAL_CREDENTIALS = vol.Schema(
    {vol.Required(CONF_API_KEY): _SECRET, vol.Required(CONF_CLIENT_CODE): _SECRET}
)
# Folded away: another address of the Portal (a test server, a proxy).
ADVANCED = "advanced"
PORTAL_SCHEMA = PORTAL_CREDENTIALS.extend(
    {
        vol.Required(CONF_THING_KEY): TextSelector(),
        vol.Required(ADVANCED): section(
            vol.Schema({vol.Required(CONF_URL, default=ENDPOINT): TextSelector()}),
            {"collapsed": True},
        ),
    }
)
SYSTEM_CREDENTIALS = vol.Schema({vol.Required(CONF_TOKEN): _SECRET})
# The base URL is a guess (system_wire.py): the advanced field corrects it.
SYSTEM_SCHEMA = SYSTEM_CREDENTIALS.extend(
    {
        vol.Required(CONF_PLANT_ID): TextSelector(),
        vol.Required(CONF_THING_KEY): TextSelector(),
        vol.Required(ADVANCED): section(
            vol.Schema({vol.Required(CONF_URL, default=system_wire.BASE_URL): TextSelector()}),
            {"collapsed": True},
        ),
    }
)
PORTAL_OPTIONS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_SCAN_INTERVAL): _box("s"),
        vol.Required(CONF_BACKFILL_DAYS): _box("d"),
    }
)
# A System entry writes through ZCS's service: the same wear limit as a local link's.
SYSTEM_OPTIONS_SCHEMA = PORTAL_OPTIONS_SCHEMA.extend({vol.Optional(CONF_WRITE_INTERVAL): _box("s")})
OPTIONS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_SCAN_INTERVAL): _box("s"),
        vol.Optional(CONF_WRITE_INTERVAL): _box("s"),
        vol.Optional(CONF_ALLOW_RAW_WRITES): BooleanSelector(),
        # Sharing the connection: other programs read the device through this entry.
        vol.Optional(CONF_PROXY): BooleanSelector(),
        vol.Optional(CONF_PROXY_PORT): _box(),
        vol.Optional(CONF_PROXY_HOST): TextSelector(),
        vol.Optional(CONF_PROXY_WRITES): BooleanSelector(),
    }
)
# The HUB's gap between requests, in tenths of a second.
PACING_BOX = NumberSelector(
    NumberSelectorConfig(step=0.1, mode=NumberSelectorMode.BOX, unit_of_measurement="s")
)


def valid_host(host: str) -> bool:
    """An IP address, or a host name as RFC 1123 allows it (a numeric top label is not)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.removesuffix(".").split(".")
        return len(host) <= 253 and all(map(_LABEL.match, labels)) and not labels[-1].isdigit()
    return True


def _tcp_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    # Number selectors hand back floats.
    return {
        CONF_HOST: str(user_input[CONF_HOST]).strip(),
        CONF_PORT: int(user_input[CONF_PORT]),
        CONF_UNIT_ID: int(user_input[CONF_UNIT_ID]),
    }


def _wifi_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    return _tcp_data(user_input) | {CONF_LOGGER_SERIAL: int(user_input[CONF_LOGGER_SERIAL])}


def _found_data(logger: Logger) -> dict[str, Any]:
    """A stick the scan found, on the port every stick listens on, inverter at unit 1."""
    return {
        CONF_LINK: LINK_WIFI,
        CONF_HOST: logger.host,
        CONF_PORT: const.DEFAULT_WIFI_PORT,
        CONF_UNIT_ID: DEFAULT_UNIT_ID,
        CONF_LOGGER_SERIAL: logger.serial,
    }


def _hub_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    line = user_input[CONF_LINE]
    return _tcp_data({**user_input, CONF_PORT: HUB_LINES[line]}) | {CONF_LINE: line}


def _rs485_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    return {
        CONF_DEVICE: str(user_input[CONF_DEVICE]).strip(),
        CONF_BAUDRATE: int(user_input[CONF_BAUDRATE]),
        CONF_PARITY: user_input[CONF_PARITY],
        CONF_STOPBITS: int(user_input[CONF_STOPBITS]),
        CONF_BYTESIZE: int(user_input[CONF_BYTESIZE]),
        CONF_UNIT_ID: int(user_input[CONF_UNIT_ID]),
    }


def _rs485_form(data: Mapping[str, Any]) -> dict[str, Any]:
    # Select selectors take their options as text.
    numbers = (CONF_BAUDRATE, CONF_STOPBITS, CONF_BYTESIZE)
    return {key: str(value) if key in numbers else value for key, value in data.items()}


@dataclass(frozen=True)
class LinkForm:
    """One choice of the menu as the flow sees it (what it speaks is `connection.LINKS`)."""

    schema: vol.Schema
    # The form's answers as entry data.
    data: Callable[[Mapping[str, Any]], dict[str, Any]] = _tcp_data
    # Entry data as the form's answers (for reconfigure).
    form: Callable[[Mapping[str, Any]], dict[str, Any]] = dict
    # Errors worded for this link, in place of the stick's.
    errors: Mapping[str, str] = field(default_factory=dict)
    # The form of a new entry, where it asks more than reconfigure does.
    setup_schema: vol.Schema | None = None


_DEVICE_ERRORS = {"cannot_connect": "device_cannot_connect", "no_answer": "device_no_answer"}

# The links the first step offers, each a step of this flow. Every entry is one device (a
# stick's inverter, one device behind a HUB port, one unit on a bus): the manifest's
# integration_type is "device".
LINK_FORMS = {
    LINK_ETH: LinkForm(ETH_SCHEMA, setup_schema=ETH_SETUP_SCHEMA),
    # Found by a scan first; this is its form by hand (and for reconfigure).
    LINK_WIFI: LinkForm(WIFI_SCHEMA, _wifi_data),
    LINK_HUB: LinkForm(
        HUB_SCHEMA, _hub_data, errors=_DEVICE_ERRORS, setup_schema=_choosing(HUB_SCHEMA)
    ),
    LINK_POWER_MAGIC: LinkForm(
        _tcp_schema(DEFAULT_POWER_MAGIC_PORT),
        errors=_DEVICE_ERRORS,
        setup_schema=_choosing(_tcp_schema(DEFAULT_POWER_MAGIC_PORT)),
    ),
    LINK_RS485: LinkForm(
        RS485_SCHEMA,
        _rs485_data,
        _rs485_form,
        {"cannot_connect": "serial_cannot_open", "no_answer": "serial_no_answer"},
        setup_schema=_choosing(RS485_SCHEMA),
    ),
}
# Several devices of one Portal account are several entries: each its own device, options
# and removal, as for the local links; the form offers the account's credentials again.
MENU = [*LINK_FORMS, LINK_PORTAL, LINK_SYSTEM, LINK_PLANT]


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
    # Answered, but busy (0x06) until the link's deadline.
    BusyError: ("base", "device_busy"),
    # A Solarman logger answered under another serial than the one given.
    WrongLoggerError: ("base", "wrong_logger_serial"),
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
    # What failed, before a link words it its own way (no_answer: the HUB's device_no_answer).
    cause: str = ""


async def _async_identify(
    hass: HomeAssistant, data: dict[str, Any]
) -> tuple[dict[str, Any], Profile, str, Reading]:
    """The device's profile, serial and identity, in the framing it answers."""
    profiles = await async_get_profiles(hass)
    unit = data[CONF_UNIT_ID]
    attempt = data
    if LINKS[data[CONF_LINK]].framings:
        # The framing is found by reading a serial number that is a holding register.
        detected = [p for p in profiles if p.serial_prefixes]
        where = next(p.serial.spans[0] for p in detected if not p.rules.is_input(p.serial.spans[0]))
        framing = await async_find_framing(hass, data, where.address)
        attempt = {**data, CONF_FRAMING: framing.value}
    # Through Home Assistant's shared connection: an entry already using this stick keeps it.
    async with async_temporary_link(hass, attempt) as link:
        profile, serial = await identify(link, unit, profiles)
        identity = await ModbusDevice(link, unit, profile).read(f.key for f in profile.identity)
    return attempt, profile, serial, identity


async def _async_probe(hass: HomeAssistant, data: dict[str, Any]) -> _Probe:
    """Connect, identify the device and read its model; errors are translation keys."""
    if CONF_HOST in data and not valid_host(data[CONF_HOST]):
        return _Probe(errors={CONF_HOST: "invalid_host"})
    where = data.get(CONF_DEVICE) or f"{data[CONF_HOST]}:{data[CONF_PORT]}"
    try:
        data, profile, serial, identity = await _async_identify(hass, data)
    except tuple(_PROBE_ERRORS) as err:
        _LOGGER.debug("Probing %s: %r", where, err)
        field_name, cause = _PROBE_ERRORS[type(err)]
        key = LINK_FORMS[data[CONF_LINK]].errors.get(cause, cause)
        placeholders = {"serial": getattr(err, "serial", "")}
        if isinstance(err, WrongLoggerError):
            placeholders["logger"] = str(err.answered)
        return _Probe(errors={field_name: key}, placeholders=placeholders, cause=cause)
    except Exception:
        _LOGGER.exception("Unexpected error while probing %s", where)
        return _Probe(errors={"base": "unknown"})
    if missing := needed_functions(profile) - LINKS[data[CONF_LINK]].functions:
        # Refused here rather than sent: the link would answer them with an exception.
        placeholders = {"functions": function_codes(missing), "model": profile.name}
        return _Probe(errors={"base": "link_cannot_carry"}, placeholders=placeholders)
    model = profile.model_name(identity.values)
    return _Probe(serial, {**data, CONF_PROFILE: profile.id, CONF_MODEL: model})


async def _async_check(hass: HomeAssistant, link: str, user_input: Mapping[str, Any]) -> _Probe:
    """The form's numbers in range, then the device they point at."""
    if errors := _out_of_range(user_input):
        return _Probe(errors=errors)
    return await _async_probe(hass, {CONF_LINK: link} | LINK_FORMS[link].data(user_input))


@dataclass(frozen=True)
class _Cloud:
    """What the flow needs of one cloud: its client, credentials, field map and errors."""

    client: Callable[[HomeAssistant, Mapping[str, Any]], CloudClient]
    credentials: vol.Schema
    fields: Path
    # What each failure tells the user, most specific first.
    errors: Mapping[type[Exception], str]


CLOUDS = {
    LINK_PORTAL: _Cloud(
        portal_client,
        PORTAL_CREDENTIALS,
        FIELDS_FILE,
        {
            PortalAuthError: "invalid_auth",
            PortalOfflineError: "device_offline",
            PortalError: "portal_unreachable",
        },
    ),
    LINK_SYSTEM: _Cloud(
        system_client,
        SYSTEM_CREDENTIALS,
        SYSTEM_FIELDS,
        {
            SystemAuthError: "system_invalid_auth",
            SystemOfflineError: "system_device_offline",
            SystemApiError: "system_unreachable",
        },
    ),
}


async def _async_check_cloud(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> tuple[dict[str, str], list[str]]:
    """Ask the entry's cloud for the device: form errors, or the fields it answers."""
    if not data[CONF_THING_KEY]:
        return {CONF_THING_KEY: "invalid_thing_key"}, []
    cloud = CLOUDS[data[CONF_LINK]]
    try:
        answer = await cloud.client(hass, data).realtime(data[CONF_THING_KEY], alarms=True)
    except tuple(cloud.errors) as err:
        # The client's message names no secret; the details stay in the debug log.
        _LOGGER.debug("Asking the cloud for %s: %r", data[CONF_THING_KEY], err)
        key = next(key for kind, key in cloud.errors.items() if isinstance(err, kind))
        return {"base": key}, []
    except Exception:
        _LOGGER.exception("Unexpected error while asking the %s cloud", data[CONF_LINK])
        return {"base": "unknown"}, []
    cloud_map = await async_get_portal_map(hass, cloud.fields)
    names = [*answer.values, *([cloud_map.names[ALARM_KEY]] if answer.alarms is not None else [])]
    return {}, sorted(names)


async def _async_reads(
    hass: HomeAssistant, data: dict[str, Any], profile: Profile
) -> dict[str, str]:
    """The form errors if the profile reads nothing at the device (its link may not carry it)."""
    if needed_functions(profile) - LINKS[data[CONF_LINK]].functions:
        return {"base": "profile_reads_nothing"}
    keys = [fld.key for fld, _ in profile.entities()]
    try:
        async with async_temporary_link(hass, data) as link:
            reading = await ModbusDevice(link, data[CONF_UNIT_ID], profile).read(keys)
    except LinkError as err:
        _LOGGER.debug("Reading %s with %s: %r", data.get(CONF_UNIT_ID), profile.id, err)
        return {"base": "profile_reads_nothing"}
    if all(value is None for value in reading.values.values()):
        return {"base": "profile_reads_nothing"}
    return {}


def _portal_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """The form's text, trimmed (users paste serials with a space before them), unfolded."""
    flat = {**user_input, **user_input.get(ADVANCED, {})}
    return {key: str(value).strip() for key, value in flat.items() if key != ADVANCED}


def _title(model: str, serial: str) -> str:
    """The entry's and device's name: the model, and the serial's tail to tell two apart."""
    return f"{model} ({serial[-5:]})"


# A user's profile file that did not load is listed under its file name with this prefix.
_BAD_FILE = "file:"


class ZcsConfigFlow(PlantFlow, domain=DOMAIN):
    """Set up a ZCS device over one of its links."""

    VERSION = 1
    # 2: a meter's entry has no unique id; its device and entities go by the entry's id.
    MINOR_VERSION = 2
    # A System entry's webhook id, made when its form is first shown.
    _webhook_id: str | None = None

    def __init__(self) -> None:
        """Nothing scanned yet."""
        # The sticks the scan found that no entry uses, by serial (as the pick list has it).
        self._found: dict[str, Logger] = {}
        self._discovered: Logger | None = None
        # The entry whose stick answered from an address not confirmed, and why not.
        self._moving = ""
        self._moved = _Probe()
        # The device identified, while the user looks at its profile (choose_profile).
        self._detected = _Probe()
        # Where a device that did not answer is (choose_profile), while its model is asked.
        self._asleep: dict[str, Any] = {}

    async def _async_found(self, probe: _Probe, choose: bool) -> ConfigFlowResult:
        """The device is identified: create the entry, or show the profile to change it."""
        await self.async_set_unique_id(probe.serial)
        self._abort_if_unique_id_configured()
        if choose:
            self._detected = probe
            return await self.async_step_profile()
        title = _title(probe.data[CONF_MODEL], probe.serial)
        # A paced link (the HUB) starts at the pause ZCS advises, until the user sets its own.
        paced = LINKS[probe.data[CONF_LINK]].paced
        options = {CONF_PACING: DEFAULT_HUB_PACING} if paced else {}
        return self.async_create_entry(title=title, data=probe.data, options=options)

    async def async_step_asleep(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Nothing answered behind the stick: the user names the model.

        The entry identifies the device when it wakes; until then its setup is retried.
        """
        profiles = [p for p in await async_get_profiles(self.hass) if p.serial_prefixes]
        # Known by its serial only once it answers: until then, by where it is. An entry
        # already there (waiting too, or identified) is this device.
        self._async_abort_entries_match(self._asleep)
        if user_input is not None:
            profile = next(p for p in profiles if p.id == user_input[CONF_PROFILE])
            data = {**self._asleep, CONF_PROFILE: profile.id, CONF_MODEL: profile.name}
            return self.async_create_entry(title=profile.name, data=data)
        options = [SelectOptionDict(value=p.id, label=p.name) for p in profiles]
        schema = vol.Schema(
            {vol.Required(CONF_PROFILE): SelectSelector(SelectSelectorConfig(options=options))}
        )
        return self.async_show_form(step_id="asleep", data_schema=schema)

    async def async_step_unidentified(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A device that answers but carries no serial number (a meter): its profile is chosen.

        With no serial, the entry has no unique id (Home Assistant accepts no address as
        one): its device and entities are known by the entry's own id, and a second entry
        for the same place (link, address or port, unit id) is refused. The profile must
        read values there before the entry is made.
        """
        data = self._asleep
        profiles = [p for p in (await async_load(self.hass)).profiles if not p.serial_prefixes]
        errors: dict[str, str] = {}
        if user_input is not None:
            profile = next(p for p in profiles if p.id == user_input[CONF_PROFILE])
            data = {**data, CONF_PROFILE: profile.id, CONF_MODEL: profile.name}
            if not (errors := await _async_reads(self.hass, data, profile)):
                where = data.get(CONF_DEVICE) or f"{data[CONF_HOST]}:{data[CONF_PORT]}"
                unit = data[CONF_UNIT_ID]
                self._async_abort_entries_match(self._asleep)
                paced = LINKS[data[CONF_LINK]].paced
                # Named as an inverter is (model, what tells two apart), in no language:
                # the model alone (not the profile's longer name) keeps entity ids short.
                return self.async_create_entry(
                    title=f"{profile.model_name({})} ({where} #{unit})",
                    data=data,
                    options={CONF_PACING: DEFAULT_HUB_PACING} if paced else {},
                )
        options = [SelectOptionDict(value=p.id, label=p.name) for p in profiles]
        schema = vol.Schema(
            {vol.Required(CONF_PROFILE): SelectSelector(SelectSelectorConfig(options=options))}
        )
        return self.async_show_form(step_id="unidentified", data_schema=schema, errors=errors)

    async def async_step_profile(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the profile detected; another one (a user's own too) may be picked instead."""
        probe = self._detected
        loaded = await async_load(self.hass)
        errors: dict[str, str] = {}
        placeholders = {"detected": probe.data[CONF_MODEL], "serial": probe.serial}
        if user_input is not None:
            chosen = user_input[CONF_PROFILE]
            bad = next((e for e in loaded.errors if _BAD_FILE + e.source == chosen), None)
            profile = next((p for p in loaded.profiles if p.id == chosen), None)
            if bad is not None or profile is None:
                # A file that does not load (or went away since the form was shown).
                errors = {"base": "profile_invalid"}
                if bad is not None:
                    _LOGGER.debug("Profile chosen does not load: %s", bad)
                    placeholders |= error_placeholders(bad)
            else:
                data = probe.data
                if profile.id != data[CONF_PROFILE]:
                    data = {**data, CONF_PROFILE: profile.id, CONF_MODEL: profile.name}
                return self.async_create_entry(
                    title=_title(data[CONF_MODEL], probe.serial), data=data
                )
        # An entry is a device with a serial number: profiles without one are not offered.
        options = [
            SelectOptionDict(value=p.id, label=p.name) for p in loaded.profiles if p.serial_prefixes
        ]
        options += [
            SelectOptionDict(value=_BAD_FILE + e.source, label=e.source) for e in loaded.errors
        ]
        schema = vol.Schema(
            {
                vol.Required(CONF_PROFILE, default=probe.data[CONF_PROFILE]): SelectSelector(
                    SelectSelectorConfig(options=options)
                )
            }
        )
        placeholders.setdefault("file", "")
        placeholders.setdefault("line", "")
        placeholders.setdefault("field", "")
        return self.async_show_form(
            step_id="profile",
            data_schema=schema,
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask how the device is connected; while there is one way only, take it."""
        if len(MENU) == 1:
            step: Callable[[], Awaitable[ConfigFlowResult]] = getattr(self, f"async_step_{MENU[0]}")
            return await step()
        return self.async_show_menu(step_id="user", menu_options=MENU)

    async def async_step_eth(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A ZSM-ETH-USB stick: host, port and the inverter's unit id."""
        return await self._async_link_step(LINK_ETH, user_input)

    async def async_step_hub(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """An Azzurro HUB: host, the line the device is on, and its unit id."""
        return await self._async_link_step(LINK_HUB, user_input)

    async def async_step_power_magic(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A Power Magic: Modbus TCP, host, port and unit id."""
        return await self._async_link_step(LINK_POWER_MAGIC, user_input)

    async def async_step_rs485(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A unit on an RS485 bus: the serial port, its settings and the unit id."""
        return await self._async_link_step(LINK_RS485, user_input)

    async def _async_link_step(
        self, link: str, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """Ask where the device is on this link; identify it; make the entry."""
        probe = _Probe()
        if user_input is not None:
            probe = await _async_check(self.hass, link, user_input)
            choose = user_input.get(CONF_CHOOSE_PROFILE, False)
            if not probe.errors:
                return await self._async_found(probe, choose)
            if choose and probe.cause == "no_answer":
                # The stick answers, the inverter does not (asleep): its model is asked.
                self._asleep = {CONF_LINK: link} | LINK_FORMS[link].data(user_input)
                return await self.async_step_asleep()
            if choose and probe.cause == "not_zcs":
                # Something answers, with no ZCS serial: a meter, say, whose profile is chosen.
                self._asleep = {CONF_LINK: link} | LINK_FORMS[link].data(user_input)
                return await self.async_step_unidentified()
        form = LINK_FORMS[link]
        return self.async_show_form(
            step_id=link,
            data_schema=self.add_suggested_values_to_schema(
                form.setup_schema or form.schema, user_input
            ),
            errors=probe.errors,
            description_placeholders=probe.placeholders,
        )

    async def async_step_wifi(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A ZSM-WIFI-USB stick: scan the LAN, then pick one that answered, or enter one."""
        probe = _Probe()
        if user_input is None:
            used = self._logger_serials()
            loggers = await async_scan(self.hass)
            self._found = {str(f.serial): f for f in loggers if f.serial not in used}
            if not self._found:
                return await self.async_step_wifi_manual(nothing_found=True)
        elif user_input[STICK] == MANUAL:
            return await self.async_step_wifi_manual()
        else:
            probe = await _async_probe(self.hass, _found_data(self._found[user_input[STICK]]))
            if not probe.errors:
                return await self._async_create_local(probe)
        options = [
            SelectOptionDict(value=serial, label=f"{serial} ({found.host}, MAC {found.mac})")
            for serial, found in self._found.items()
        ]
        options.append(SelectOptionDict(value=MANUAL, label=MANUAL))
        schema = vol.Schema(
            {
                vol.Required(STICK): SelectSelector(
                    SelectSelectorConfig(options=options, translation_key=STICK)
                )
            }
        )
        return self.async_show_form(
            step_id=LINK_WIFI,
            data_schema=self.add_suggested_values_to_schema(schema, user_input),
            errors=probe.errors,
            description_placeholders=probe.placeholders,
        )

    async def async_step_wifi_manual(
        self, user_input: dict[str, Any] | None = None, *, nothing_found: bool = False
    ) -> ConfigFlowResult:
        """The stick's address and the logger serial on its label, typed in."""
        probe = _Probe(errors={"base": "no_stick_found"} if nothing_found else {})
        if user_input is not None:
            probe = await _async_check(self.hass, LINK_WIFI, user_input)
            if not probe.errors:
                return await self._async_create_local(probe)
        return self.async_show_form(
            step_id="wifi_manual",
            data_schema=self.add_suggested_values_to_schema(WIFI_SCHEMA, user_input),
            errors=probe.errors,
            description_placeholders={"logger": "", "serial": "", **probe.placeholders},
        )

    async def async_step_integration_discovery(
        self, discovery_info: dict[str, Any]
    ) -> ConfigFlowResult:
        """A stick the background scan found: follow it to a new address, or offer it."""
        logger = Logger(
            discovery_info[CONF_HOST],
            discovery_info[CONF_MAC],
            discovery_info[CONF_LOGGER_SERIAL],
        )
        # Entries are the inverter's; the stick is known by the logger serial they keep.
        for entry in self._async_current_entries(include_ignore=False):
            if entry.data.get(CONF_LOGGER_SERIAL) == logger.serial:
                if entry.data[CONF_HOST] == logger.host:
                    return self.async_abort(reason="already_configured")
                return await self._async_moved(entry, logger)
        # Until the inverter is read, the flow is the stick's (so "ignore" sticks to it).
        await self.async_set_unique_id(f"{LINK_WIFI}_{logger.serial}")
        self._abort_if_unique_id_configured()
        self._discovered = logger
        self.context["title_placeholders"] = {"serial": str(logger.serial)}
        return await self.async_step_wifi_confirm()

    async def _async_moved(self, entry: ConfigEntry, logger: Logger) -> ConfigFlowResult:
        """An entry's stick answered from another address: follow it if it is shown to be.

        Anyone on the LAN can answer a scan with the stick's serial. The entry moves by
        itself only when the new address serves the same logger (every V5 frame names it)
        and the same inverter (its serial, the entry's unique id); otherwise the user is
        asked, and told what could not be confirmed.
        """
        probe = await _async_probe(self.hass, {**entry.data, CONF_HOST: logger.host})
        if not probe.errors and probe.serial == entry.unique_id:
            return self.async_update_reload_and_abort(
                entry, data_updates={CONF_HOST: logger.host}, reason="already_configured"
            )
        _LOGGER.debug("%s's stick at %s not confirmed: %s", entry.title, logger.host, probe)
        # One question per stick at a time; "ignore" stops the questions (not a confirmed move).
        await self.async_set_unique_id(f"{LINK_WIFI}_{logger.serial}")
        self._abort_if_unique_id_configured()
        self._discovered = logger
        self._moving = entry.entry_id
        self._moved = probe if probe.errors else _Probe(errors={"base": "moved_other_inverter"})
        self.context["title_placeholders"] = {"serial": str(logger.serial)}
        return await self.async_step_wifi_moved()

    async def async_step_wifi_moved(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask before an entry follows its stick to an address not shown to be the stick's."""
        assert self._discovered is not None
        entry = self.hass.config_entries.async_get_entry(self._moving)
        if entry is None:
            return self.async_abort(reason="entry_gone")
        host = self._discovered.host
        if user_input is not None:
            return self.async_update_reload_and_abort(
                entry, data_updates={CONF_HOST: host}, reason="stick_moved"
            )
        self._set_confirm_only()
        return self.async_show_form(
            step_id="wifi_moved",
            errors=self._moved.errors,
            description_placeholders={
                "name": entry.title,
                "stick": str(self._discovered.serial),
                "old": entry.data[CONF_HOST],
                "new": host,
                # What the probe's errors name (the serial or logger that answered instead).
                **dict.fromkeys(("serial", "logger", "model", "functions"), ""),
                **self._moved.placeholders,
            },
        )

    async def async_step_wifi_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Set up the discovered stick's inverter."""
        assert self._discovered is not None
        probe = _Probe()
        if user_input is not None:
            probe = await _async_probe(self.hass, _found_data(self._discovered))
            if not probe.errors:
                return await self._async_create_local(probe)
        self._set_confirm_only()
        return self.async_show_form(
            step_id="wifi_confirm",
            errors=probe.errors,
            description_placeholders={
                "logger": str(self._discovered.serial),
                "host": self._discovered.host,
                **probe.placeholders,
            },
        )

    def _logger_serials(self) -> set[int]:
        """The loggers entries use, and those the user chose to ignore."""
        serials = set()
        for entry in self._async_current_entries(include_ignore=True):
            if entry.source == SOURCE_IGNORE and (entry.unique_id or "").startswith(LINK_WIFI):
                serials.add(int((entry.unique_id or "").removeprefix(f"{LINK_WIFI}_")))
            elif CONF_LOGGER_SERIAL in entry.data:
                serials.add(entry.data[CONF_LOGGER_SERIAL])
        return serials

    async def _async_create_local(self, probe: _Probe) -> ConfigFlowResult:
        """The entry of an identified inverter, unless one exists."""
        await self.async_set_unique_id(probe.serial, raise_on_progress=False)
        self._abort_if_unique_id_configured()
        return self.async_create_entry(
            title=_title(probe.data[CONF_MODEL], probe.serial), data=probe.data
        )

    async def async_step_portal(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The Azzurro Portal: key, client code (both from ZCS) and the device's serial."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {CONF_LINK: LINK_PORTAL, **_portal_data(user_input)}
            if data.get(CONF_URL) == ENDPOINT:
                # Kept only when changed: the real address may move with a new release.
                del data[CONF_URL]
            errors, fields = await _async_check_cloud(self.hass, data)
            if not errors:
                await self.async_set_unique_id(f"{LINK_PORTAL}_{data[CONF_THING_KEY]}")
                self._abort_if_unique_id_configured()
                return self.async_create_entry(
                    title=_title(PORTAL_MODEL, data[CONF_THING_KEY]),
                    data={**data, CONF_FIELDS: fields, CONF_MODEL: PORTAL_MODEL},
                    options={
                        CONF_SCAN_INTERVAL: DEFAULT_PORTAL_SCAN_INTERVAL,
                        CONF_BACKFILL_DAYS: DEFAULT_BACKFILL_DAYS,
                    },
                )
        # Another device of an account already set up: its credentials, typed once.
        known = next(
            (
                {key: entry.data[key] for key in (CONF_API_KEY, CONF_CLIENT_CODE)}
                for entry in self._async_current_entries(include_ignore=False)
                if entry.data.get(CONF_LINK) == LINK_PORTAL
            ),
            {},
        )
        return self.async_show_form(
            step_id=LINK_PORTAL,
            data_schema=self.add_suggested_values_to_schema(PORTAL_SCHEMA, user_input or known),
            errors=errors,
        )

    async def async_step_system(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The Azzurro System: token, plant id and inverter serial; writes answer at a webhook."""
        # Made once per flow, so that the address shown is the one the entry will have.
        webhook_id = self._webhook_id = self._webhook_id or webhook.async_generate_id()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {CONF_LINK: LINK_SYSTEM, **_portal_data(user_input)}
            if data.get(CONF_URL) == system_wire.BASE_URL:
                del data[CONF_URL]
            errors, fields = await _async_check_cloud(self.hass, data)
            if not errors:
                await self.async_set_unique_id(f"{LINK_SYSTEM}_{data[CONF_THING_KEY]}")
                self._abort_if_unique_id_configured()
                return self.async_create_entry(
                    title=_title(SYSTEM_MODEL, data[CONF_THING_KEY]),
                    data={
                        **data,
                        CONF_FIELDS: fields,
                        CONF_MODEL: SYSTEM_MODEL,
                        CONF_WEBHOOK_ID: webhook_id,
                    },
                    options={
                        CONF_SCAN_INTERVAL: DEFAULT_PORTAL_SCAN_INTERVAL,
                        CONF_BACKFILL_DAYS: DEFAULT_BACKFILL_DAYS,
                    },
                )
        return self.async_show_form(
            step_id=LINK_SYSTEM,
            data_schema=self.add_suggested_values_to_schema(SYSTEM_SCHEMA, user_input),
            errors=errors,
            # No external URL: "-", and the description says what that means.
            description_placeholders={"webhook_url": webhook_url(self.hass, webhook_id) or "-"},
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The cloud refused the entry's credentials."""
        if entry_data[CONF_LINK] == LINK_SYSTEM:
            return await self.async_step_reauth_system()
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the Portal's key and client code again; the device must still answer."""
        return await self._async_cloud_credentials("reauth_confirm", user_input)

    async def async_step_reauth_system(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the System's token again; the inverter must still answer to it."""
        return await self._async_cloud_credentials("reauth_system", user_input)

    async def _async_cloud_credentials(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """A cloud entry's new credentials, checked, for reauth or reconfigure."""
        reauth = step_id.startswith("reauth")
        entry = self._get_reauth_entry() if reauth else self._get_reconfigure_entry()
        cloud = CLOUDS[entry.data[CONF_LINK]]
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, **_portal_data(user_input)}
            errors, _ = await _async_check_cloud(self.hass, data)
            if not errors:
                self._async_share_credentials(entry, data, cloud.credentials)
                if reauth:
                    return self.async_update_reload_and_abort(entry, data=data)
                return self.async_update_reload_and_abort(
                    entry, data=data, reason="reconfigure_successful"
                )
        return self.async_show_form(
            step_id=step_id,
            data_schema=cloud.credentials,
            errors=errors,
            description_placeholders={"name": entry.title},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Point the entry at a new address; it must still be the same device."""
        entry = self._get_reconfigure_entry()
        link = entry.data[CONF_LINK]
        if link == LINK_PLANT:
            return await self.async_step_plant(user_input)
        if link == LINK_PORTAL:
            return await self.async_step_reconfigure_portal(user_input)
        if link == LINK_SYSTEM:
            return await self.async_step_reconfigure_system(user_input)
        link = LINK_FORMS[entry.data[CONF_LINK]]
        probe = _Probe()
        if user_input is not None:
            probe = await _async_check(self.hass, entry.data[CONF_LINK], user_input)
            if not probe.errors:
                await self.async_set_unique_id(probe.serial)
                self._abort_if_unique_id_mismatch(reason="wrong_device")
                return self.async_update_reload_and_abort(
                    entry, data=probe.data, reason="reconfigure_successful"
                )
        return self.async_show_form(
            # The WiFi stick's form has a step of its own (its logger serial).
            step_id="reconfigure_wifi" if entry.data[CONF_LINK] == LINK_WIFI else "reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                link.schema, user_input or link.form(entry.data)
            ),
            errors=probe.errors,
            description_placeholders=probe.placeholders,
        )

    async def async_step_reconfigure_wifi(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A WiFi entry's form: its own fields (the logger serial), the same checks."""
        return await self.async_step_reconfigure(user_input)

    async def async_step_reconfigure_portal(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """New credentials for a Portal entry (the device is its serial: it stays)."""
        return await self._async_cloud_credentials("reconfigure_portal", user_input)

    async def async_step_reconfigure_system(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A new token for a System entry (the inverter is its serial: it stays)."""
        return await self._async_cloud_credentials("reconfigure_system", user_input)

    @callback
    def _async_share_credentials(
        self, entry: ConfigEntry, data: Mapping[str, Any], credentials: vol.Schema
    ) -> None:
        """The account's other devices take the new credentials too (and their reauth ends).

        They are entries of one account: asking for the same new client code once per
        device would be a chore, and each would fail until asked.
        """
        keys = [str(key) for key in credentials.schema]
        old = [entry.data[key] for key in keys]
        new = {key: data[key] for key in keys}
        for other in self._async_current_entries(include_ignore=False):
            if (
                other.entry_id != entry.entry_id
                and other.data.get(CONF_LINK) == entry.data[CONF_LINK]
                and [other.data[key] for key in keys] == old
            ):
                self.hass.config_entries.async_update_entry(other, data={**other.data, **new})
                self.hass.config_entries.async_schedule_reload(other.entry_id)

    @classmethod
    @callback
    @override
    def async_supports_options_flow(cls, config_entry: ConfigEntry) -> bool:
        """A plant has no options: its members have theirs."""
        return bool(config_entry.data[CONF_LINK] != LINK_PLANT)

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
        if self.config_entry.data[CONF_LINK] in CLOUDS:
            return await self.async_step_portal(user_input)
        errors: dict[str, str] = {}
        if user_input is not None and not (errors := _out_of_range(user_input)):
            errors = self._proxy_errors(user_input)
        if user_input is not None and not errors:
            # Number selectors hand back floats (whole ones where a whole number is asked);
            # the switch a bool; the address text.
            return self.async_create_entry(
                data={
                    k: v if isinstance(v, bool | str) or k in DECIMAL_RANGES else int(v)
                    for k, v in user_input.items()
                }
            )
        options = self.config_entry.options
        current = {
            CONF_SCAN_INTERVAL: options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL),
            CONF_WRITE_INTERVAL: options.get(CONF_WRITE_INTERVAL, DEFAULT_WRITE_INTERVAL),
            CONF_ALLOW_RAW_WRITES: options.get(CONF_ALLOW_RAW_WRITES, False),
            CONF_PROXY: options.get(CONF_PROXY, False),
            CONF_PROXY_PORT: options.get(CONF_PROXY_PORT, DEFAULT_PROXY_PORT),
            CONF_PROXY_HOST: options.get(CONF_PROXY_HOST, DEFAULT_PROXY_HOST),
            CONF_PROXY_WRITES: options.get(CONF_PROXY_WRITES, False),
        }
        schema = OPTIONS_SCHEMA
        if LINKS[self.config_entry.data[CONF_LINK]].paced:
            # The HUB's gap between requests; its own setting must match.
            schema = schema.extend({vol.Required(CONF_PACING): PACING_BOX})
            current[CONF_PACING] = options.get(CONF_PACING, DEFAULT_HUB_PACING)
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or current),
            errors=errors,
        )

    def _proxy_errors(self, user_input: dict[str, Any]) -> dict[str, str]:
        """Why the connection cannot be shared where asked (nothing is checked when off)."""
        if not user_input.get(CONF_PROXY, False):
            return {}
        host = str(user_input.get(CONF_PROXY_HOST, DEFAULT_PROXY_HOST)).strip()
        user_input[CONF_PROXY_HOST] = host
        port = int(user_input.get(CONF_PROXY_PORT, DEFAULT_PROXY_PORT))
        problem = port_problem(self.hass, self.config_entry.data, host, port)
        if problem is None:
            return {}
        wrong = CONF_PROXY_HOST if problem in (HOST_INVALID, HOST_UNAVAILABLE) else CONF_PROXY_PORT
        return {wrong: problem}

    async def async_step_portal(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A Portal entry: how often to poll, and how many days the backfill reaches back."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _out_of_range(user_input, PORTAL_RANGES)
            if not errors:
                return self.async_create_entry(data={k: int(v) for k, v in user_input.items()})
            if CONF_SCAN_INTERVAL in errors:
                errors[CONF_SCAN_INTERVAL] = "portal_scan_interval_range"
        options = self.config_entry.options
        current = {
            CONF_SCAN_INTERVAL: options.get(CONF_SCAN_INTERVAL, DEFAULT_PORTAL_SCAN_INTERVAL),
            CONF_BACKFILL_DAYS: options.get(CONF_BACKFILL_DAYS, DEFAULT_BACKFILL_DAYS),
        }
        schema = PORTAL_OPTIONS_SCHEMA
        if self.config_entry.data[CONF_LINK] == LINK_SYSTEM:
            schema = SYSTEM_OPTIONS_SCHEMA
            current[CONF_WRITE_INTERVAL] = options.get(CONF_WRITE_INTERVAL, DEFAULT_WRITE_INTERVAL)
        return self.async_show_form(
            step_id="portal",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or current),
            errors=errors,
        )
