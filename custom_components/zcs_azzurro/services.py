"""Register actions: read any register, write the ones the profile allows (others by choice).

Registered once in async_setup. Every check runs before a frame leaves: the schema bounds
a scripted call (the selectors in services.yaml only bound the UI), the handler what
depends on the entry (its link's functions and limits, its profile, its options, the
user). Writes go through the entry's writer, between polls: whole groups from a fresh
read, the EEPROM interval, read back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import probatio
from homeassistant.const import ATTR_CONFIG_ENTRY_ID, ATTR_DEVICE_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import (
    async_get_config_entry,
    async_get_device_and_config_entry,
)

from .api.device import ModbusDevice
from .api.errors import (
    BusyError,
    DeviceError,
    LinkError,
    NoResponseError,
    WriteError,
    WriteRefusedError,
)
from .api.profile.decoder import decode
from .api.profile.encoder import allowed, allows
from .api.profile.schema import WIDTHS, Field, FieldType, Profile, Span, WordOrder, WriteGroup
from .api.transport.base import READ_HOLDING, READ_INPUT, WRITE_MULTIPLE, WRITE_SINGLE, Link
from .const import CONF_ALLOW_RAW_WRITES, CONF_LINK, DOMAIN, EVENT_REGISTER_WRITTEN, LINK_PLANT
from .coordinator import ZcsConfigEntry, ZcsCoordinator
from .profiles import async_get_bundled_profile
from .system import REGISTER_MAP

SERVICE_READ_REGISTERS = "read_registers"
SERVICE_WRITE_REGISTERS = "write_registers"
SERVICE_WRITE_REGISTER = "write_register"

ATTR_ADDRESS = "address"
ATTR_COUNT = "count"
ATTR_FUNCTION = "function"
ATTR_DATA_TYPE = "data_type"
ATTR_WORD_ORDER = "word_order"
ATTR_SCALE = "scale"
ATTR_VALUES = "values"
ATTR_VALUE = "value"

# The read functions, by the name a call gives them.
FUNCTIONS = {"holding": READ_HOLDING, "input": READ_INPUT}
DATA_TYPES = (FieldType.U16, FieldType.S16, FieldType.U32, FieldType.S32, FieldType.STR)
# Modbus's own bounds; a link that carries fewer says so, and the handler checks that.
LAST_ADDRESS = 0xFFFF
MAX_READ = 125
MAX_WRITE = 123

# Modbus exception codes, each with a message of its own (Modbus application protocol 7).
MODBUS_EXCEPTIONS = {
    0x01: "modbus_illegal_function",
    0x02: "modbus_illegal_address",
    0x03: "modbus_illegal_value",
    0x04: "modbus_device_failure",
    0x05: "modbus_acknowledge",
    0x06: "modbus_device_busy",
    0x0A: "modbus_gateway_path",
    0x0B: "modbus_gateway_target",
}


def _whole(low: int, high: int) -> Callable[[Any], int]:
    """A whole number in [low, high]; text may be hex ("0x1110"). 1.5 is refused, not cut."""

    def number(value: Any) -> int:
        if isinstance(value, str):
            value = int(value.strip(), 0)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise probatio.Invalid("not a number")
        if not float(value).is_integer():
            raise probatio.Invalid("not a whole number")
        return int(value)

    validator: Callable[[Any], int] = probatio.All(number, probatio.Range(min=low, max=high))
    return validator


_WORD = _whole(0, 0xFFFF)
_TARGET = {
    probatio.Exclusive(ATTR_CONFIG_ENTRY_ID, "target"): cv.string,
    probatio.Exclusive(ATTR_DEVICE_ID, "target"): cv.string,
    probatio.Required(ATTR_ADDRESS): _whole(0, LAST_ADDRESS),
}


def _targeted(fields: dict[Any, Any]) -> probatio.All[Any]:
    return probatio.All(
        probatio.Schema({**_TARGET, **fields}),
        cv.has_at_least_one_key(ATTR_CONFIG_ENTRY_ID, ATTR_DEVICE_ID),
    )


READ_SCHEMA = _targeted(
    {
        probatio.Optional(ATTR_COUNT, default=1): _whole(1, MAX_READ),
        probatio.Optional(ATTR_FUNCTION, default="holding"): probatio.In(list(FUNCTIONS)),
        probatio.Optional(ATTR_DATA_TYPE): probatio.In([str(kind) for kind in DATA_TYPES]),
        probatio.Optional(ATTR_WORD_ORDER, default=str(WordOrder.BIG)): probatio.In(
            [str(order) for order in WordOrder]
        ),
        probatio.Optional(ATTR_SCALE, default=1): probatio.All(
            probatio.Coerce(float), probatio.NotIn([0.0])
        ),
    }
)
WRITE_REGISTERS_SCHEMA = _targeted(
    {probatio.Required(ATTR_VALUES): probatio.All([_WORD], probatio.Length(min=1, max=MAX_WRITE))}
)
WRITE_REGISTER_SCHEMA = _targeted({probatio.Required(ATTR_VALUE): _WORD})


def _refuse(key: str, **placeholders: object) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={name: str(value) for name, value in placeholders.items()},
    )


def _hex(address: int) -> str:
    return f"{address:#06x}"


def _entry(hass: HomeAssistant, call: ServiceCall) -> ZcsConfigEntry:
    """The loaded entry the call targets, by its id or its device's (a plant's is refused)."""
    entry: ZcsConfigEntry
    if device_id := call.data.get(ATTR_DEVICE_ID):
        entry = async_get_device_and_config_entry(hass, DOMAIN, device_id)[1]
    else:
        entry = async_get_config_entry(hass, DOMAIN, call.data[ATTR_CONFIG_ENTRY_ID])
    if entry.data[CONF_LINK] == LINK_PLANT:
        raise _refuse("plant_no_registers", title=entry.title)
    return entry


def _local(entry: ZcsConfigEntry) -> tuple[ZcsCoordinator, ModbusDevice]:
    """The entry's coordinator and Modbus device: a cloud's entry has no registers."""
    coordinator = entry.runtime_data.coordinator
    if not isinstance(device := coordinator.device, ModbusDevice):
        raise _refuse("no_registers", title=entry.title)
    return coordinator, device


def _span(address: int, count: int, limit: int) -> Span:
    """The registers asked for, within the address space and the link's request limit."""
    span = Span(address, count)
    if span.end > LAST_ADDRESS:
        raise _refuse("beyond_last_address", first=_hex(address), count=count)
    if count > limit:
        raise _refuse("too_many_registers", count=count, limit=limit)
    return span


def _modbus_error(
    err: DeviceError | WriteRefusedError | BusyError, span: Span
) -> HomeAssistantError:
    """The device's Modbus exception, named, in the user's words."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=MODBUS_EXCEPTIONS.get(err.exception_code, "modbus_exception"),
        translation_placeholders={
            "code": f"{err.exception_code:#04x}",
            "function": f"{err.function_code:#04x}",
            "first": _hex(span.address),
            "last": _hex(span.end),
        },
    )


@dataclass(frozen=True)
class _Target:
    """Where a write goes: a write group (or the registers alone), and whether it is raw."""

    group: WriteGroup
    raw: bool


def _target(profile: Profile, span: Span, words: list[int]) -> _Target:
    """The group the registers are written in, their values checked against the profile.

    Whole fields the profile declares writable must hold a value it allows; any other
    register in the span (reserved, read-only, part of a field, outside every group)
    makes the write raw. A span across groups is refused: the device takes one at a time.
    """
    touched = [group for group in profile.groups if group.span.overlaps(span)]
    if not touched:
        return _Target(WriteGroup(f"{_hex(span.address)}-{_hex(span.end)}", span), raw=True)
    if len(touched) > 1 or not span.within(touched[0].span):
        raise _refuse(
            "crosses_write_groups",
            first=_hex(span.address),
            last=_hex(span.end),
            groups=", ".join(f"{_hex(g.span.address)}-{_hex(g.span.end)}" for g in touched),
        )
    group = touched[0]
    registers = dict(zip(range(span.address, span.end + 1), words, strict=True))
    declared: set[int] = set()
    for fld in profile.members(group):
        own = range(fld.spans[0].address, fld.spans[0].end + 1)
        if not all(address in registers for address in own):
            continue
        if not allows(fld, registers):
            value = decode(fld, registers)
            raise _refuse(
                "register_value_not_allowed",
                address=_hex(own.start),
                value=value if value is not None else _hex(registers[own.start]),
                allowed=allowed(fld),
            )
        declared.update(own)
    return _Target(group, raw=declared != set(registers))


async def _check_raw_allowed(
    hass: HomeAssistant, call: ServiceCall, entry: ZcsConfigEntry, span: Span
) -> None:
    """A raw write needs the entry's option on and, for a call made by a user, an admin.

    A call with no user (an automation, a script) is Home Assistant's own, as for its
    admin-only actions: only an admin can have written it.
    """
    if not entry.options.get(CONF_ALLOW_RAW_WRITES, False):
        raise _refuse("raw_writes_off", first=_hex(span.address), last=_hex(span.end))
    if (user_id := call.context.user_id) is not None:
        user = await hass.auth.async_get_user(user_id)
        if user is None or not user.is_admin:
            raise _refuse("raw_writes_admin_only")


async def _request[T](
    coordinator: ZcsCoordinator, span: Span, request: Awaitable[T], *, write: bool
) -> T:
    """Send between polls; say in the user's words what went wrong."""
    try:
        async with coordinator.async_turn():
            return await request
    except (DeviceError, WriteRefusedError, BusyError) as err:
        raise _modbus_error(err, span) from err
    except (WriteError, LinkError) as err:
        if write:
            raise coordinator.write_failure(err) from err
        key = "inverter_silent" if isinstance(err, NoResponseError) else "read_link_failed"
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key=key) from err


async def _read_registers(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    coordinator, device = _local(_entry(hass, call))
    link = device.link
    function = FUNCTIONS[call.data[ATTR_FUNCTION]]
    if function not in link.functions:
        raise _refuse("function_not_on_link", function=call.data[ATTR_FUNCTION])
    span = _span(call.data[ATTR_ADDRESS], call.data[ATTR_COUNT], link.max_read)
    field: Field | None = None
    if kind := call.data.get(ATTR_DATA_TYPE):
        field = Field(
            "value",
            FieldType(kind),
            (span,),
            scale=call.data[ATTR_SCALE],
            word_order=WordOrder(call.data[ATTR_WORD_ORDER]),
        )
        width = WIDTHS.get(field.type, span.count)
        if span.count != width:
            raise _refuse("data_type_count", data_type=kind, width=width)
    read = link.read_holding_registers if function == READ_HOLDING else link.read_input_registers
    unit = device.unit
    words = await _request(coordinator, span, read(unit, span.address, span.count), write=False)
    response: dict[str, Any] = {ATTR_ADDRESS: span.address, "registers": words}
    if field is not None:
        response[ATTR_VALUE] = decode(field, dict(enumerate(words, span.address)))
    return response


async def _write_through_cloud(
    hass: HomeAssistant, call: ServiceCall, entry: ZcsConfigEntry, words: list[int]
) -> ServiceResponse:
    """A System entry's write, through the cloud's API; its answer comes to the webhook.

    The cloud reports no registers, so a write cannot be completed from a fresh read: one
    that touches a write group must cover it whole. The checks are the local map's.
    """
    coordinator = entry.runtime_data.coordinator
    span = _span(call.data[ATTR_ADDRESS], len(words), Link.max_write)
    profile = await async_get_bundled_profile(hass, REGISTER_MAP)
    target = _target(profile, span, words)
    if target.raw:
        await _check_raw_allowed(hass, call, entry, span)
    elif span != target.group.span:
        group = target.group.span
        raise _refuse(
            "cloud_partial_group",
            first=_hex(span.address),
            last=_hex(span.end),
            groups=f"{_hex(group.address)}-{_hex(group.end)}",
        )
    result = await coordinator.async_write_registers(span.address, words)
    if result is None:
        # The inverter holds these already, as its last confirmed writes say: nothing sent.
        return {ATTR_ADDRESS: span.address, "written": False}
    hass.bus.async_fire(
        EVENT_REGISTER_WRITTEN,
        {"entry_id": entry.entry_id, ATTR_ADDRESS: span.address, ATTR_VALUES: words},
    )
    return {ATTR_ADDRESS: span.address, "written": True, "result": result}


async def _write(
    hass: HomeAssistant, call: ServiceCall, words: list[int], *, single: bool
) -> ServiceResponse:
    entry = _entry(hass, call)
    if entry.runtime_data.coordinator.register_writes is not None:
        return await _write_through_cloud(hass, call, entry, words)

    async def check_raw(span: Span) -> None:
        await _check_raw_allowed(hass, call, entry, span)

    address = call.data[ATTR_ADDRESS]
    found, sent = await async_write_words(
        hass, entry, address, words, single=single, check_raw=check_raw
    )
    response: dict[str, Any] = {ATTR_ADDRESS: address, "registers": found, "written": sent}
    return response


async def async_write_words(
    hass: HomeAssistant,
    entry: ZcsConfigEntry,
    address: int,
    words: list[int],
    *,
    single: bool,
    check_raw: Callable[[Span], Awaitable[None]],
) -> tuple[list[int], bool]:
    """Write a local entry's registers as the actions do; what they read back, and if sent.

    The checks, the writer (whole groups from a fresh read, the EEPROM interval, read
    back), the event, the poll after: one way for the actions and the proxy alike.
    `check_raw` raises when registers the profile does not declare writable may not be.
    """
    coordinator, device = _local(entry)
    link = device.link
    function = WRITE_SINGLE if single and WRITE_SINGLE in link.functions else WRITE_MULTIPLE
    if function not in link.functions:
        raise _refuse("function_not_on_link", function=f"{WRITE_MULTIPLE:#04x}")
    span = _span(address, len(words), link.max_write)
    target = _target(device.profile, span, words)
    if target.raw:
        await check_raw(span)
    written = coordinator.writer.write_words(target.group, span.address, words, single=single)
    try:
        found, sent = await _request(coordinator, span, written, write=True)
    except HomeAssistantError:
        # Something may have reached the device: entities show what it holds now.
        await coordinator.async_refresh_settings()
        raise
    if sent:
        hass.bus.async_fire(
            EVENT_REGISTER_WRITTEN,
            {"entry_id": entry.entry_id, ATTR_ADDRESS: span.address, ATTR_VALUES: words},
        )
        await coordinator.async_refresh_settings()
    return found, sent


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the register actions."""

    async def read_registers(call: ServiceCall) -> ServiceResponse:
        return await _read_registers(hass, call)

    async def write_registers(call: ServiceCall) -> ServiceResponse:
        return await _write(hass, call, call.data[ATTR_VALUES], single=False)

    async def write_register(call: ServiceCall) -> ServiceResponse:
        return await _write(hass, call, [call.data[ATTR_VALUE]], single=True)

    hass.services.async_register(
        DOMAIN,
        SERVICE_READ_REGISTERS,
        read_registers,
        schema=READ_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    for name, handler, schema in (
        (SERVICE_WRITE_REGISTERS, write_registers, WRITE_REGISTERS_SCHEMA),
        (SERVICE_WRITE_REGISTER, write_register, WRITE_REGISTER_SCHEMA),
    ):
        hass.services.async_register(
            DOMAIN, name, handler, schema=schema, supports_response=SupportsResponse.OPTIONAL
        )
