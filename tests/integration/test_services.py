"""Register actions against the simulated inverter: reads, checked writes, refusals, errors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import probatio
import pytest
import yaml
from homeassistant.core import Context, HomeAssistant, ServiceResponse
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_capture_events,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.zcs_azzurro.api.transport.base import (
    READ_HOLDING,
    WRITE_MULTIPLE,
    WRITE_SINGLE,
)
from custom_components.zcs_azzurro.const import (
    CONF_ALLOW_RAW_WRITES,
    CONF_WRITE_INTERVAL,
    DOMAIN,
    EVENT_REGISTER_WRITTEN,
)
from custom_components.zcs_azzurro.services import MODBUS_EXCEPTIONS
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick
from simulator.portal import SimulatedPortal

from .conftest import SERIAL, state
from .test_portal import portal_entry


async def _action(
    hass: HomeAssistant,
    service: str,
    entry: MockConfigEntry,
    *,
    user: MockUser | None = None,
    **data: Any,
) -> ServiceResponse:
    return await hass.services.async_call(
        DOMAIN,
        service,
        {"config_entry_id": entry.entry_id, **data},
        blocking=True,
        return_response=True,
        context=Context(user_id=user.id if user else None),
    )


def _allow_raw(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    hass.config_entries.async_update_entry(entry, options={CONF_ALLOW_RAW_WRITES: True})


def _writes(inverter: Hyd3ph) -> list[tuple[int, tuple[int, ...]]]:
    return [(r.address, r.words) for r in inverter.log if r.function == WRITE_MULTIPLE]


async def test_the_read_action_returns_the_serial_words_and_text(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, inverter: Hyd3ph
) -> None:
    response = await _action(
        hass, "read_registers", loaded_entry, address="0x0445", count=8, data_type="str"
    )
    assert response == {
        "address": 0x0445,
        "registers": inverter.read(0x0445, 8),
        "value": SERIAL,
    }
    assert response["registers"][0] == ord("Z") << 8 | ord("P")


@pytest.mark.parametrize(
    ("count", "data", "value"),
    [
        (1, {"data_type": "u16"}, 0xFFFE),
        (1, {"data_type": "s16", "scale": 0.1}, -0.2),
        (2, {"data_type": "u32"}, 0xFFFE0001),
        (2, {"data_type": "s32", "word_order": "little"}, 0x0001FFFE),
        (2, {}, None),
    ],
)
async def test_the_read_action_decodes_as_told(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    inverter: Hyd3ph,
    count: int,
    data: dict[str, Any],
    value: float | None,
) -> None:
    inverter.pin(0x0485, [0xFFFE, 0x0001])
    response = await _action(
        hass, "read_registers", loaded_entry, address=0x0485, count=count, **data
    )
    assert response is not None
    assert response["registers"] == [0xFFFE, 0x0001][:count]
    assert response.get("value") == value


async def test_a_sentinel_decodes_to_no_value(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, inverter: Hyd3ph
) -> None:
    inverter.pin(0x0485, [0xFFFF])
    response = await _action(hass, "read_registers", loaded_entry, address=0x0485, data_type="u16")
    assert response == {"address": 0x0485, "registers": [0xFFFF], "value": None}


async def test_the_actions_take_a_device_as_target(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    (device,) = dr.async_entries_for_config_entry(dr.async_get(hass), loaded_entry.entry_id)
    response = await hass.services.async_call(
        DOMAIN,
        "read_registers",
        {"device_id": device.id, "address": 0x0445, "count": 8, "data_type": "str"},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["value"] == SERIAL


async def test_a_write_to_part_of_a_group_is_completed_from_a_fresh_read(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, inverter: Hyd3ph
) -> None:
    events = async_capture_events(hass, EVENT_REGISTER_WRITTEN)
    # Changed since the last poll: the completion must carry it, not what the poll saw.
    inverter.write(0x1044, [*inverter.read(0x1044, 15), 1, *inverter.read(0x1054, 3)])
    inverter.values[0x1050] = 4400
    before = inverter.read(0x1044, 19)
    inverter.log.clear()
    response = await _action(hass, "write_registers", loaded_entry, address=0x104D, values=[80])
    assert response == {"address": 0x104D, "registers": [80], "written": True}
    ((address, words),) = _writes(inverter)
    assert address == 0x1044
    # Every other word as read just before: only the asked one and the commit differ.
    assert [i for i, (a, b) in enumerate(zip(before, words, strict=True)) if a != b] == [
        0x104D - 0x1044,
        0x1053 - 0x1044,
    ]
    assert words[0x1050 - 0x1044] == 4400
    assert [event.data for event in events] == [
        {"entry_id": loaded_entry.entry_id, "address": 0x104D, "values": [80]}
    ]
    # The coordinator read the device again.
    assert state(hass, "depth_of_discharge", "number").state == "80"


async def test_a_write_of_what_the_device_holds_sends_nothing(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, stick: EthStick
) -> None:
    events = async_capture_events(hass, EVENT_REGISTER_WRITTEN)
    before = stick.requests
    response = await _action(hass, "write_register", loaded_entry, address=0x104D, value=90)
    assert response == {"address": 0x104D, "registers": [90], "written": False}
    # Two reads of the group that agree (a skipped write is a success: said twice), no
    # write, no refresh, no event.
    assert stick.requests - before == 2
    assert events == []


async def test_write_register_uses_the_single_write_where_the_link_carries_it(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, inverter: Hyd3ph, stick: EthStick
) -> None:
    link = loaded_entry.runtime_data.coordinator.device.link
    assert WRITE_SINGLE in link.functions
    # Remote control: one register, in RAM (no interval between writes).
    await _action(hass, "write_register", loaded_entry, address=0x1104, value=0)
    assert state(hass, "remote_control", "switch").state == "off"
    # A stick that refuses function 0x06 shows that it was 0x06 that went out.
    stick.functions = frozenset({READ_HOLDING, WRITE_MULTIPLE})
    with pytest.raises(HomeAssistantError) as refused:
        await _action(hass, "write_register", loaded_entry, address=0x1104, value=1)
    assert refused.value.translation_key == "modbus_illegal_function"
    assert "function 0x06" in str(refused.value)
    # A link without 0x06 (as a stick that cannot carry it says) writes with 0x10.
    link.functions = frozenset({READ_HOLDING, WRITE_MULTIPLE})
    inverter.log.clear()
    await _action(hass, "write_register", loaded_entry, address=0x1104, value=1)
    assert _writes(inverter) == [(0x1104, (1,))]
    assert state(hass, "remote_control", "switch").state == "on"


async def test_a_write_the_device_ignores_is_reported(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, inverter: Hyd3ph
) -> None:
    inverter.pin(0x1104, [1])
    with pytest.raises(HomeAssistantError) as ignored:
        await _action(hass, "write_register", loaded_entry, address=0x1104, value=0)
    assert ignored.value.translation_key == "write_not_confirmed"
    assert state(hass, "remote_control", "switch").state == "on"
    writer = loaded_entry.runtime_data.coordinator.writer
    with pytest.raises(ValueError, match="not inside group"):
        await writer.write_words(writer.device.profile.group("passive"), 0x1104, [0])


async def test_the_eeprom_interval_applies_to_action_writes(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, stick: EthStick
) -> None:
    await _action(hass, "write_register", loaded_entry, address=0x1052, value=20)
    with pytest.raises(HomeAssistantError) as soon:
        await _action(hass, "write_register", loaded_entry, address=0x1052, value=30)
    assert soon.value.translation_key == "write_too_soon"
    assert state(hass, "eps_buffer", "number").state == "20"


@pytest.mark.parametrize(
    ("service", "data", "key"),
    [
        ("read_registers", {"address": 0xFFFF, "count": 2}, "beyond_last_address"),
        ("read_registers", {"address": 0x0485, "data_type": "u32"}, "data_type_count"),
        ("read_registers", {"address": 0x0485, "count": 2, "data_type": "s16"}, "data_type_count"),
        ("write_registers", {"address": 0xFFFF, "values": [1, 2]}, "beyond_last_address"),
        ("write_registers", {"address": 0x1104, "values": [1, 0, 0]}, "crosses_write_groups"),
        ("write_register", {"address": 0x104D, "value": 95}, "register_value_not_allowed"),
        ("write_register", {"address": 0x1024, "value": 0xFFFF}, "register_value_not_allowed"),
        ("write_register", {"address": 0x1110, "value": 9}, "register_value_not_allowed"),
        ("write_register", {"address": 0x1050, "value": 4400}, "raw_writes_off"),
        ("write_register", {"address": 0x0404, "value": 1}, "raw_writes_off"),
        ("write_registers", {"address": 0x118B, "values": [0]}, "raw_writes_off"),
    ],
)
async def test_a_bad_call_is_refused_before_anything_is_sent(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    stick: EthStick,
    service: str,
    data: dict[str, Any],
    key: str,
) -> None:
    before = stick.requests
    with pytest.raises(ServiceValidationError) as refused:
        await _action(hass, service, loaded_entry, **data)
    assert refused.value.translation_key == key
    assert "Nothing was sent" in str(refused.value) or "nothing was sent" in str(refused.value)
    assert stick.requests == before


@pytest.mark.parametrize(
    ("service", "data"),
    [
        ("read_registers", {"address": -1}),
        ("read_registers", {"address": 0x10000}),
        ("read_registers", {"address": 1.5}),
        ("read_registers", {"address": "0xZZ"}),
        ("read_registers", {"address": True}),
        ("read_registers", {"address": 0, "count": 126}),
        ("read_registers", {"address": 0, "count": 0}),
        ("read_registers", {"address": 0, "function": "coils"}),
        ("read_registers", {"address": 0, "scale": 0}),
        ("write_registers", {"address": 0x1110, "values": []}),
        ("write_registers", {"address": 0x1110, "values": [70000]}),
        ("write_registers", {"address": 0x1110, "values": [0] * 124}),
        ("write_register", {"address": 0x1110, "value": -1}),
        ("write_register", {"address": 0x1110}),
    ],
)
async def test_the_schema_bounds_a_scripted_call(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    stick: EthStick,
    service: str,
    data: dict[str, Any],
) -> None:
    before = stick.requests
    with pytest.raises(probatio.Invalid):
        await _action(hass, service, loaded_entry, **data)
    assert stick.requests == before


async def test_a_call_names_one_target(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    with pytest.raises(probatio.Invalid):
        await hass.services.async_call(
            DOMAIN, "read_registers", {"address": 0}, blocking=True, return_response=True
        )
    with pytest.raises(ServiceValidationError) as unknown:
        await hass.services.async_call(
            DOMAIN,
            "read_registers",
            {"config_entry_id": "nope", "address": 0},
            blocking=True,
            return_response=True,
        )
    assert unknown.value.translation_key == "service_config_entry_not_found"


async def test_what_the_link_cannot_carry_or_hold_is_refused_unsent(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, stick: EthStick
) -> None:
    link = loaded_entry.runtime_data.coordinator.device.link
    # As a HUB's link says it: no input registers, fewer registers per request.
    link.functions = frozenset({READ_HOLDING, WRITE_MULTIPLE})
    link.max_read = 60
    before = stick.requests
    with pytest.raises(ServiceValidationError) as refused:
        await _action(hass, "read_registers", loaded_entry, address=0, function="input")
    assert refused.value.translation_key == "function_not_on_link"
    with pytest.raises(ServiceValidationError) as refused:
        await _action(hass, "read_registers", loaded_entry, address=0x0404, count=61)
    assert refused.value.translation_key == "too_many_registers"
    assert "at most 60" in str(refused.value)
    link.functions = frozenset({READ_HOLDING})
    with pytest.raises(ServiceValidationError) as refused:
        await _action(hass, "write_register", loaded_entry, address=0x1110, value=0)
    assert refused.value.translation_key == "function_not_on_link"
    assert stick.requests == before


async def test_raw_writes_need_the_option_and_an_admin(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    inverter: Hyd3ph,
    stick: EthStick,
    hass_admin_user: MockUser,
    hass_read_only_user: MockUser,
) -> None:
    before = stick.requests
    with pytest.raises(ServiceValidationError) as refused:
        await _action(
            hass, "write_register", loaded_entry, user=hass_admin_user, address=0x1050, value=4400
        )
    assert refused.value.translation_key == "raw_writes_off"
    _allow_raw(hass, loaded_entry)
    with pytest.raises(ServiceValidationError) as refused:
        await _action(
            hass,
            "write_register",
            loaded_entry,
            user=hass_read_only_user,
            address=0x1050,
            value=4400,
        )
    assert refused.value.translation_key == "raw_writes_admin_only"
    assert stick.requests == before
    inverter.log.clear()
    response = await _action(
        hass, "write_register", loaded_entry, user=hass_admin_user, address=0x1050, value=4400
    )
    assert response == {"address": 0x1050, "registers": [4400], "written": True}
    # A register of the battery group: written with its whole group, as the device needs.
    ((address, words),) = _writes(inverter)
    assert (address, len(words), words[0x1050 - 0x1044]) == (0x1044, 19, 4400)
    # The commit register reads the write's result, not the value written to it. (The
    # battery group was just written: the EEPROM interval is set aside for this.)
    loaded_entry.runtime_data.coordinator.writer.min_interval = 0
    response = await _action(
        hass, "write_register", loaded_entry, user=hass_admin_user, address=0x1053, value=1
    )
    assert response == {"address": 0x1053, "registers": [0], "written": True}
    # Profile registers keep their checks, raw writes on or not.
    with pytest.raises(ServiceValidationError) as refused:
        await _action(
            hass, "write_register", loaded_entry, user=hass_admin_user, address=0x104D, value=95
        )
    assert refused.value.translation_key == "register_value_not_allowed"


async def test_a_raw_write_outside_every_group_goes_as_asked(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, inverter: Hyd3ph
) -> None:
    _allow_raw(hass, loaded_entry)
    inverter.log.clear()
    # A measurement register: the device refuses to take it, and says so.
    with pytest.raises(HomeAssistantError) as refused:
        await _action(hass, "write_registers", loaded_entry, address=0x0484, values=[1, 2])
    assert refused.value.translation_key == "modbus_illegal_address"
    assert "0x0484 to 0x0485" in str(refused.value)
    assert _writes(inverter) == [(0x0484, (1, 2))]


@pytest.mark.parametrize(
    ("code", "key", "words"),
    [
        (0x01, "modbus_illegal_function", "illegal function"),
        (0x02, "modbus_illegal_address", "illegal data address"),
        (0x03, "modbus_illegal_value", "illegal data value"),
        (0x04, "modbus_device_failure", "server device failure"),
        (0x05, "modbus_acknowledge", "acknowledge"),
        (0x0A, "modbus_gateway_path", "gateway path unavailable"),
        (0x0B, "modbus_gateway_target", "gateway target device failed to respond"),
        (0x07, "modbus_exception", "exception 0x07 to function 0x03"),
    ],
)
async def test_each_modbus_exception_is_named(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    stick: EthStick,
    code: int,
    key: str,
    words: str,
) -> None:
    stick.faults.exception = code
    with pytest.raises(HomeAssistantError) as failed:
        await _action(hass, "read_registers", loaded_entry, address=0x0445, count=8)
    assert failed.value.translation_key == key
    assert words in str(failed.value)
    with pytest.raises(HomeAssistantError) as failed:
        await _action(hass, "write_register", loaded_entry, address=0x1110, value=3)
    assert failed.value.translation_key == key


async def test_a_busy_device_is_named_when_it_stays_busy_past_the_deadline(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, stick: EthStick
) -> None:
    # Home Assistant's shared connection asks a busy device again, waiting 1 s, then 2 s,
    # ... for up to a minute; the link gives up at its deadline (here 0.6 s) and says so.
    stick.faults.exception = 0x06
    with pytest.raises(HomeAssistantError) as failed:
        await _action(hass, "read_registers", loaded_entry, address=0x0445, count=8)
    assert failed.value.translation_key == "modbus_device_busy"
    assert "server device busy" in str(failed.value)
    stick.faults.exception = None
    response = await _action(
        hass, "read_registers", loaded_entry, address=0x0445, count=8, data_type="str"
    )
    assert response is not None
    assert response["value"] == SERIAL


async def test_input_registers_on_a_stick_that_has_none(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    # The link asks; the simulated ETH stick passes no function 0x04 on.
    with pytest.raises(HomeAssistantError) as failed:
        await _action(hass, "read_registers", loaded_entry, address=0x0445, function="input")
    assert failed.value.translation_key == "modbus_illegal_function"
    assert "function 0x04" in str(failed.value)


@pytest.mark.parametrize(
    ("fault", "read_key", "write_key"),
    [
        ("silent", "inverter_silent", "write_inverter_silent"),
        ("drop", "read_link_failed", "write_link_failed"),
    ],
)
async def test_link_failures_say_what_failed(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    stick: EthStick,
    fault: str,
    read_key: str,
    write_key: str,
) -> None:
    setattr(stick.faults, fault, True)
    with pytest.raises(HomeAssistantError) as failed:
        await _action(hass, "read_registers", loaded_entry, address=0x0445)
    assert failed.value.translation_key == read_key
    with pytest.raises(HomeAssistantError) as failed:
        await _action(hass, "write_register", loaded_entry, address=0x1110, value=3)
    assert failed.value.translation_key == write_key


async def test_raw_writes_are_an_option_off_by_default(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert result["data_schema"] is not None
    (shown,) = (key for key in result["data_schema"].schema if key == CONF_ALLOW_RAW_WRITES)
    assert shown.description == {"suggested_value": False}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"scan_interval": 30.0, CONF_WRITE_INTERVAL: 10.0, CONF_ALLOW_RAW_WRITES: True},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # The entry reloads with the new options.
    await hass.async_block_till_done(wait_background_tasks=True)
    assert loaded_entry.options == {
        "scan_interval": 30,
        CONF_WRITE_INTERVAL: 10,
        CONF_ALLOW_RAW_WRITES: True,
    }


def test_every_action_field_option_and_refusal_is_translated_and_has_an_icon() -> None:
    component = Path(__file__).parents[2] / "custom_components" / "zcs_azzurro"
    described = yaml.safe_load((component / "services.yaml").read_text(encoding="utf-8"))
    code = (component / "services.py").read_text(encoding="utf-8")
    raised = set(re.findall(r'_refuse\(\s*"(\w+)"', code))
    raised |= {*MODBUS_EXCEPTIONS.values(), "modbus_exception", "read_link_failed"}
    assert len(raised) > 15
    icons = json.loads((component / "icons.json").read_text(encoding="utf-8"))["services"]
    assert set(icons) == set(described)
    for language in ("en", "it"):
        strings = json.loads(
            (component / "translations" / f"{language}.json").read_text(encoding="utf-8")
        )
        assert raised <= set(strings["exceptions"]), language
        assert set(strings["services"]) == set(described)
        for name, service in described.items():
            assert set(strings["services"][name]["fields"]) == set(service["fields"])
            for field in service["fields"].values():
                if select := field["selector"].get("select"):
                    options = strings["selector"][select["translation_key"]]["options"]
                    assert set(options) == set(select["options"])


async def test_a_cloud_entry_has_no_registers(hass: HomeAssistant, portal: SimulatedPortal) -> None:
    entry = portal_entry(portal)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    requests = len(portal.requests)
    with pytest.raises(ServiceValidationError) as refused:
        await _action(hass, "read_registers", entry, address=0x0445)
    assert refused.value.translation_key == "no_registers"
    with pytest.raises(ServiceValidationError):
        await _action(hass, "write_register", entry, address=0x1104, value=0)
    assert len(portal.requests) == requests


async def test_over_rest_as_the_demo_calls_them(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    stick: EthStick,
    hass_client: ClientSessionGenerator,
) -> None:
    assert await async_setup_component(hass, "api", {})
    client = await hass_client()
    read = {"config_entry_id": loaded_entry.entry_id, "address": "0x0445", "count": 8}
    response = await client.post(
        f"/api/services/{DOMAIN}/read_registers?return_response", json=read | {"data_type": "str"}
    )
    assert response.status == 200
    answer = (await response.json())["service_response"]
    assert answer["value"] == SERIAL
    assert b"".join(word.to_bytes(2, "big") for word in answer["registers"]).decode() == SERIAL
    before = stick.requests
    raw = {"config_entry_id": loaded_entry.entry_id, "address": 0x0404, "value": 1}
    response = await client.post(f"/api/services/{DOMAIN}/write_register", json=raw)
    assert response.status == 400
    assert "Allow raw register writes" in (await response.json())["message"]
    assert stick.requests == before
