"""Home Assistant's shared Modbus connection: one per stick, found fast, quiet in the log."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncGenerator
from dataclasses import replace
from pathlib import Path

import pytest
from homeassistant.components.modbus import async_get_unit
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState, ConfigFlow
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResult, FlowResultType
from modbus_connection import ModbusSerialParams, ModbusTimeoutError
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    mock_config_flow,
    mock_integration,
    mock_platform,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.zcs_azzurro import const
from custom_components.zcs_azzurro.api.errors import FrameError, NoResponseError
from custom_components.zcs_azzurro.api.transport.unit import Endpoint
from custom_components.zcs_azzurro.config_flow import _PROBE_ERRORS as ERRORS
from custom_components.zcs_azzurro.connection import async_temporary_link
from custom_components.zcs_azzurro.logfilter import HANDLED
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import NOT_MODBUS, EthStick, Framing
from tests.conftest import LINK_KINDS

from .conftest import poll, state

# What the integration ships with, before the tests' fixture shortens them.
SHIPPED_TIMEOUTS = {"REQUEST_TIMEOUT": const.REQUEST_TIMEOUT, "PROBE_TIMEOUT": const.PROBE_TIMEOUT}
# The libraries on the path to the device, and us.
WATCHED = ("tmodbus", "modbus_connection", "pymodbus", "custom_components.zcs_azzurro")


def loud(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the watched loggers said at warning or above."""
    return [
        f"{record.name}: {record.getMessage()}"
        for record in caplog.records
        if record.levelno >= logging.WARNING and record.name.startswith(WATCHED)
    ]


async def eth_flow(hass: HomeAssistant, port: int) -> FlowResult:
    """Run the config flow's ETH step against a loopback port."""
    context = {"source": SOURCE_USER}
    result = await hass.config_entries.flow.async_init(const.DOMAIN, context=context)
    if result["type"] is FlowResultType.MENU:  # once there is more than one way to connect
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": const.LINK_ETH}
        )
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: port, const.CONF_UNIT_ID: 1}
    )


async def test_another_integration_on_the_stick_shares_the_one_connection(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    loaded_entry: MockConfigEntry,
    stick: EthStick,
    inverter: Hyd3ph,
) -> None:
    other = MockConfigEntry(domain="other")
    other.add_to_hass(hass)
    endpoint = Endpoint(LINK_KINDS[stick.framing], "127.0.0.1", stick.port)
    unit = async_get_unit(hass, other, endpoint.params(), 1)
    inverter.pin(0x0404, [7])
    before = stick.requests
    for _ in range(3):
        # Both poll at once: requests are serialised on the one connection.
        _, registers = await asyncio.gather(poll(hass), unit.read_holding_registers(0x0404, 1))
        assert registers == [7]
    assert stick.connections == 1
    # Five requests a poll and the other's one; and once, the first block read again: the
    # running state the pin changed is confirmed before it is published (issue 16).
    assert stick.requests - before == 3 * (5 + 1) + 1
    assert state(hass, "battery_soc").state == "55"
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    assert diagnostics["link"]["connection"] == {
        "connected": True,
        "integrations": ["other", const.DOMAIN],
    }
    # Our entry unloads; the other integration keeps the connection.
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    assert await unit.read_holding_registers(0x0404, 1) == [7]
    assert stick.connections == 1


async def test_a_flow_for_a_stick_in_use_asks_it_nothing_on_the_side(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, stick: EthStick
) -> None:
    result = await eth_flow(hass, stick.port)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert stick.connections == 1  # no probe of the framing: the connection in use tells it


@pytest.mark.parametrize("framing", [Framing.TCP])
async def test_a_modbus_tcp_stick_is_found_within_three_seconds(
    hass: HomeAssistant, stick: EthStick, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The framing tried first waits the probe's 1.5 s, not a request's timeout.

    Requests are given a minute here: waited out for the framing that stays silent, it
    would show whatever the machine's load. Within three seconds on an idle one.
    """
    monkeypatch.setattr(const, "PROBE_TIMEOUT", SHIPPED_TIMEOUTS["PROBE_TIMEOUT"])
    monkeypatch.setattr(const, "REQUEST_TIMEOUT", 60.0)
    assert 2 * const.PROBE_TIMEOUT <= 3
    start = time.monotonic()
    result = await eth_flow(hass, stick.port)
    assert time.monotonic() - start < 30
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][const.CONF_FRAMING] == LINK_KINDS[Framing.TCP].value


@pytest.fixture
async def web_server(socket_enabled: None) -> AsyncGenerator[int]:
    """A port that is not Modbus: it answers anything with 400 Bad Request and hangs up."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(512)
        writer.write(NOT_MODBUS)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def test_probing_a_port_that_is_not_modbus_is_quiet(
    hass: HomeAssistant, web_server: int, caplog: pytest.LogCaptureFixture
) -> None:
    result = await eth_flow(hass, web_server)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": ERRORS[FrameError][1]}
    assert loud(caplog) == []


async def test_a_sleeping_inverter_is_quiet(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    stick: EthStick,
    inverter: Hyd3ph,
    caplog: pytest.LogCaptureFixture,
) -> None:
    inverter.asleep = True
    result = await eth_flow(hass, stick.port)  # setup says what is wrong, quietly
    assert result["errors"] == {"base": ERRORS[NoResponseError][1]}
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    for _ in range(3):  # a night of polls
        await poll(hass)
    assert state(hass, "battery_soc").state == "unavailable"
    inverter.asleep = False
    await poll(hass)
    assert state(hass, "battery_soc").state == "55"
    assert loud(caplog) == []


@pytest.mark.parametrize(
    ("framing", "fault"),
    [
        (Framing.RTU, "garbage"),  # tmodbus resynchronises past it
        (Framing.RTU, "reset"),  # tmodbus: "connection lost due to error", at ERROR
        (Framing.TCP, "bad_crc"),  # a wrong transaction id: "unexpected response"
        (Framing.TCP, "reset"),
    ],
)
async def test_a_stick_answering_garbage_is_quiet(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    stick: EthStick,
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    """What the library says of a failure our link handles is in the debug log only."""
    caplog.set_level(logging.DEBUG, "tmodbus")
    setattr(stick.faults, fault, True)
    await poll(hass)
    assert state(hass, "battery_soc").state == "unavailable"
    assert [line for line in loud(caplog) if not line.startswith("custom_components")] == []
    said = [r for r in caplog.records if r.msg in HANDLED.get(r.name, ())]
    assert said  # logged all the same, at debug, from where tmodbus logged it
    assert {record.levelno for record in said} == {logging.DEBUG}
    setattr(stick.faults, fault, False)
    await poll(hass)
    assert state(hass, "battery_soc").state == "55"


async def test_another_integrations_connection_keeps_its_warnings(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    inverter: Hyd3ph,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Another device, which another integration reads; ours is loaded and polling.
    theirs = EthStick(inverter, framing=Framing.RTU)
    await theirs.start()
    other = MockConfigEntry(domain="other")
    other.add_to_hass(hass)
    endpoint = Endpoint(LINK_KINDS[Framing.RTU], "127.0.0.1", theirs.port)
    unit = async_get_unit(hass, other, endpoint.params(), 1)
    unit.require_timeout(0.3)
    theirs.faults.garbage = True
    try:
        with pytest.raises(ModbusTimeoutError):
            await unit.read_holding_registers(0x0404, 1)
        await poll(hass)
    finally:
        await theirs.stop()
    assert loud(caplog) == [
        "tmodbus.transport.async_rtu: Discarding 28 byte(s) in 1 step(s) to resynchronize."
    ]


async def test_the_library_loggers_are_left_as_found_when_the_last_entry_unloads(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    loggers = [logging.getLogger(name) for name in HANDLED]
    before = [list(logger.filters) for logger in loggers]
    assert all(before)
    async with async_temporary_link(hass, loaded_entry.data):  # a flow, while the entry runs
        pass
    assert [list(logger.filters) for logger in loggers] == before
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    assert all(not logger.filters for logger in loggers)


async def test_a_device_busy_through_the_setup_is_named(
    hass: HomeAssistant, stick: EthStick, caplog: pytest.LogCaptureFixture
) -> None:
    stick.faults.exception = 0x06  # answered, but busy, for longer than the link waits
    result = await eth_flow(hass, stick.port)
    assert result["errors"] == {"base": "device_busy"}
    assert loud(caplog) == []


async def test_a_stick_held_over_other_settings_is_retried_until_let_go(
    hass: HomeAssistant, config_entry: MockConfigEntry, stick: EthStick
) -> None:
    # The same socket, spelt with a line speed Home Assistant's `modbus` would not give it.
    socket_at = Endpoint(LINK_KINDS[stick.framing], "127.0.0.1", stick.port).params()
    assert isinstance(socket_at, ModbusSerialParams)

    async def hold(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        async_get_unit(hass, entry, replace(socket_at, baudrate=9600), 1)
        return True

    async def let_go(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        return True

    mock_integration(hass, MockModule("other", async_setup_entry=hold, async_unload_entry=let_go))
    mock_platform(hass, "other.config_flow", None)
    other = MockConfigEntry(domain="other")
    other.add_to_hass(hass)
    with mock_config_flow("other", ConfigFlow):
        assert await hass.config_entries.async_setup(other.entry_id)
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    # Home Assistant drops the message's final full stop.
    assert config_entry.reason == translated("link_in_use").removesuffix(".")
    with mock_config_flow("other", ConfigFlow):
        assert await hass.config_entries.async_unload(other.entry_id)
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.LOADED


def translated(key: str) -> str:
    """The English message of an exception key."""
    strings = json.loads(Path(const.__file__).with_name("strings.json").read_text())
    message: str = strings["exceptions"][key]["message"]
    return message
