"""RS485: Modbus RTU on a serial port, over a real pseudo-terminal pair with the simulator."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

import pytest
from homeassistant.components.diagnostics import REDACTED
from homeassistant.components.modbus.connection import async_get_connection_info
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_DEVICE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.update_coordinator import UpdateFailed
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zcs_azzurro import const
from custom_components.zcs_azzurro.diagnostics import async_get_config_entry_diagnostics
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.rs485 import Rs485Bus
from tests.conftest import Clock, local_time

from .conftest import MODEL, SERIAL, poll
from .test_config_flow import link_form

OTHER_SERIAL = "ZP2ES010M2H00099"


@pytest.fixture
async def bus() -> AsyncGenerator[Rs485Bus]:
    """Two inverters on one bus, at unit ids 1 and 2; nothing at 3."""
    clock = Clock(local_time(13))
    line = Rs485Bus({1: Hyd3ph(clock=clock), 2: Hyd3ph(clock=clock, serial=OTHER_SERIAL)})
    line.open()
    yield line
    line.close()


def rs485_form(path: str, unit: int = 1, **changes: Any) -> dict[str, Any]:
    """The form as the frontend sends it: selects as text, the number box as a float."""
    return {
        CONF_DEVICE: path,
        const.CONF_BAUDRATE: "9600",
        const.CONF_PARITY: "none",
        const.CONF_STOPBITS: "1",
        const.CONF_BYTESIZE: "8",
        const.CONF_UNIT_ID: float(unit),
        **changes,
    }


def rs485_entry(path: str, unit: int, serial: str) -> MockConfigEntry:
    """An entry for one unit on the bus, as the flow makes it."""
    data = {
        const.CONF_LINK: const.LINK_RS485,
        const.CONF_FRAMING: "rtu_serial",
        CONF_DEVICE: path,
        const.CONF_BAUDRATE: 9600,
        const.CONF_PARITY: "none",
        const.CONF_STOPBITS: 1,
        const.CONF_BYTESIZE: 8,
        const.CONF_UNIT_ID: unit,
        const.CONF_PROFILE: "zcs_3ph_hyd_zss",
        const.CONF_MODEL: MODEL,
    }
    return MockConfigEntry(domain=const.DOMAIN, unique_id=serial, title=serial, data=data)


def soc(hass: HomeAssistant, serial: str) -> str:
    """The battery state of charge the inverter with this serial shows."""
    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id("sensor", const.DOMAIN, f"{serial}_battery_soc")
    assert entity_id is not None
    shown = hass.states.get(entity_id)
    assert shown is not None
    return shown.state


async def test_the_flow_finds_the_inverter_on_the_serial_port(
    hass: HomeAssistant, bus: Rs485Bus
) -> None:
    form = await link_form(hass, const.LINK_RS485)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], rs485_form(bus.path, 2)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"{MODEL} (00099)"
    assert result["data"] == {
        **rs485_entry(bus.path, 2, OTHER_SERIAL).data,
        const.CONF_MODEL: MODEL,
    }
    assert result["result"].unique_id == OTHER_SERIAL


async def test_the_flow_names_what_is_wrong_and_the_user_can_retry(
    hass: HomeAssistant, bus: Rs485Bus
) -> None:
    form = await link_form(hass, const.LINK_RS485)
    flow = form["flow_id"]
    configure = hass.config_entries.flow.async_configure
    result = await configure(flow, rs485_form("/dev/serial/by-id/usb-nothing-here"))
    assert result["errors"] == {"base": "serial_cannot_open"}
    # Nothing answers at unit id 3, though two inverters on the bus do.
    result = await configure(flow, rs485_form(bus.path, 3))
    assert result["errors"] == {"base": "serial_no_answer"}
    result = await configure(flow, rs485_form(bus.path, 300))
    assert result["errors"] == {const.CONF_UNIT_ID: "unit_id_range"}
    result = await configure(flow, rs485_form(bus.path, 1))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == SERIAL


async def test_units_on_one_bus_share_the_port_and_a_silent_one_does_not_stop_the_rest(
    hass: HomeAssistant, bus: Rs485Bus
) -> None:
    entries = [
        rs485_entry(bus.path, 1, SERIAL),
        rs485_entry(bus.path, 2, OTHER_SERIAL),
        rs485_entry(bus.path, 3, "ZP1ES010M2H00003"),  # wired, configured, but not answering
    ]
    for entry in entries:
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    # The silent unit is set up with unavailable entities, as a sleeping inverter is.
    assert [entry.state for entry in entries] == [ConfigEntryState.LOADED] * 3
    for _ in range(3):
        await poll(hass)
        assert soc(hass, SERIAL) == "55"
        assert soc(hass, OTHER_SERIAL) == "55"
    # One serial port, one connection, for all three.
    (connection,) = async_get_connection_info(hass)
    assert connection.endpoint == ("serial", bus.path)
    assert connection.units == {entry.entry_id: [entry.data["unit_id"]] for entry in entries}


async def test_the_bus_falling_silent_makes_entities_unavailable_until_it_answers(
    hass: HomeAssistant, bus: Rs485Bus
) -> None:
    entry = rs485_entry(bus.path, 1, SERIAL)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert soc(hass, SERIAL) == "55"
    bus.faults.silent = True  # a wire comes loose
    await poll(hass)
    assert soc(hass, SERIAL) == "unavailable"
    # In words for a bus, not a stick's.
    failure = entry.runtime_data.coordinator.last_exception
    assert isinstance(failure, UpdateFailed)
    assert failure.translation_key == "device_silent"
    bus.faults.silent = False
    await poll(hass)
    assert soc(hass, SERIAL) == "55"


async def test_diagnostics_after_a_failed_poll_redact_the_serial_port(
    hass: HomeAssistant, bus: Rs485Bus
) -> None:
    entry = rs485_entry(bus.path, 1, SERIAL)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    bus.faults.silent = True  # the inverter asleep at night: when a bug report needs them
    await poll(hass)
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["entry"]["data"][CONF_DEVICE] == REDACTED
    assert diagnostics["link"]["last_error"]
    assert bus.path not in json.dumps(diagnostics)


async def test_reconfigure_offers_the_line_settings_and_keeps_the_same_inverter(
    hass: HomeAssistant, bus: Rs485Bus
) -> None:
    entry = rs485_entry(bus.path, 1, SERIAL)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    result = await entry.start_reconfigure_flow(hass)
    schema = result["data_schema"]
    assert schema is not None
    # The form shows what the entry holds, as its selects take it (text).
    suggested = {str(key): key.description["suggested_value"] for key in schema.schema}
    assert suggested == {**rs485_form(bus.path), const.CONF_UNIT_ID: 1}
    # Unit 2 is another inverter: refused, nothing changed.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], rs485_form(bus.path, 2)
    )
    assert result["reason"] == "wrong_device"
    assert entry.data[const.CONF_UNIT_ID] == 1
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], rs485_form(bus.path, 1, baudrate="9600")
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done(wait_background_tasks=True)
    assert soc(hass, SERIAL) == "55"
