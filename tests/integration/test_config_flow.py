"""The config flow over real sockets: every branch, and recovering from each error."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncGenerator, Generator
from typing import Any
from unittest.mock import AsyncMock, patch

import pytest
from aiohttp import web
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT, CONF_SCAN_INTERVAL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zcs_azzurro import config_flow
from custom_components.zcs_azzurro.config_flow import valid_host
from custom_components.zcs_azzurro.const import CONF_UNIT_ID, DOMAIN
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick, Framing
from simulator.registers import ascii_registers
from tests.conftest import LINK_KINDS, closed_port

from .conftest import MODEL, SERIAL, entry_data, poll


@pytest.fixture
def mock_setup_entry() -> Generator[AsyncMock]:
    """The flow's job ends at the entry; setting it up is tested elsewhere."""
    with patch("custom_components.zcs_azzurro.async_setup_entry", return_value=True) as mocked:
        yield mocked


def _form(host: str, port: int, unit: int = 1) -> dict[str, Any]:
    # The frontend's number boxes send floats.
    return {CONF_HOST: host, CONF_PORT: float(port), CONF_UNIT_ID: float(unit)}


async def link_form(hass: HomeAssistant, link: str = "eth") -> dict[str, Any]:
    """The form of one link of the menu."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": link}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == link
    assert result["errors"] == {}
    return result


async def _eth_form(hass: HomeAssistant) -> dict[str, Any]:
    return await link_form(hass)


async def test_the_menu_offers_every_local_link(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == [
        *("eth", "wifi", "hub", "power_magic", "rs485"),
        *("portal", "system"),
        "plant",  # entries already added, grouped
    ]


async def test_a_menu_of_one_choice_opens_on_its_form(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config_flow, "MENU", ["eth"])
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "eth")


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize("framing", list(Framing))
async def test_the_eth_stick_is_found_and_identified(
    hass: HomeAssistant, stick: EthStick, framing: Framing
) -> None:
    form = await _eth_form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], _form(" 127.0.0.1 ", stick.port)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # The serial's tail tells two inverters of one model apart.
    assert result["title"] == f"{MODEL} (00017)"
    # Whichever framing the stick speaks, it is found, and kept for the entry.
    assert result["data"] == entry_data(stick.port, framing=LINK_KINDS[framing].value)
    assert result["result"].unique_id == SERIAL


@pytest.mark.usefixtures("mock_setup_entry")
async def test_the_same_inverter_twice_is_refused(hass: HomeAssistant, stick: EthStick) -> None:
    MockConfigEntry(domain=DOMAIN, unique_id=SERIAL, data=entry_data(stick.port)).add_to_hass(hass)
    form = await _eth_form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], _form("127.0.0.1", stick.port)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_a_flow_shares_the_connection_of_a_loaded_entry(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, stick: EthStick
) -> None:
    form = await _eth_form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], _form("127.0.0.1", stick.port)
    )
    assert result["reason"] == "already_configured"
    assert len(stick._writers) == 1  # one client: the entry's connection served the flow too
    await poll(hass)
    assert loaded_entry.state is ConfigEntryState.LOADED


def _unsupported(inverter: Hyd3ph, stick: EthStick) -> None:
    inverter.pin(0x0445, ascii_registers("ZX9ES030M2H00017", 8))


def _sofar(inverter: Hyd3ph, stick: EthStick) -> None:
    inverter.pin(0x0445, ascii_registers("SP1ES120N6000001", 8))


def _asleep(inverter: Hyd3ph, stick: EthStick) -> None:
    inverter.asleep = True


def _not_modbus(inverter: Hyd3ph, stick: EthStick) -> None:
    stick.faults.garbage = True


def _no_such_registers(inverter: Hyd3ph, stick: EthStick) -> None:
    stick.faults.exception = 0x02


def _drops(inverter: Hyd3ph, stick: EthStick) -> None:
    stick.faults.drop = True


def _resets(inverter: Hyd3ph, stick: EthStick) -> None:
    stick.faults.reset = True


def _frozen(inverter: Hyd3ph, stick: EthStick) -> None:
    stick.faults.silent = True


def _wrong_unit(inverter: Hyd3ph, stick: EthStick) -> None:
    stick.unit = 2


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize(
    ("breakage", "error", "serial"),
    [
        # Connected, and no answer comes through the stick: all the flow can know is that.
        (_asleep, "no_answer", ""),
        (_frozen, "no_answer", ""),
        (_wrong_unit, "no_answer", ""),
        # Something took the connection, then closed or reset it, or sent no Modbus.
        (_drops, "not_modbus", ""),
        (_resets, "not_modbus", ""),
        (_not_modbus, "not_modbus", ""),
        # A Modbus device, but no ZCS serial number where ZCS keeps it.
        (_no_such_registers, "not_zcs", ""),
        (_sofar, "not_zcs", ""),
        (_unsupported, "unsupported_model", "ZX9ES030M2H00017"),
    ],
)
async def test_what_answers_at_the_address_is_named_and_the_user_can_retry(
    hass: HomeAssistant,
    stick: EthStick,
    inverter: Hyd3ph,
    caplog: pytest.LogCaptureFixture,
    breakage: Any,
    error: str,
    serial: str,
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.zcs_azzurro.config_flow")
    breakage(inverter, stick)
    form = await _eth_form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], _form("127.0.0.1", stick.port)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    # The words are ours; the only placeholder is the serial number the message names.
    assert result["description_placeholders"] == {"serial": serial}
    assert f"Probing 127.0.0.1:{stick.port}: " in caplog.text  # the details, for debug
    # Put right, the same form goes on to create the entry.
    inverter.unpin(0x0445, 8)
    inverter.refresh()
    inverter.asleep = False
    stick.unit = 1
    stick.faults.garbage = stick.faults.drop = stick.faults.reset = stick.faults.silent = False
    stick.faults.exception = None
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], _form("127.0.0.1", stick.port)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("mock_setup_entry")
async def test_nothing_listening_is_cannot_connect(hass: HomeAssistant, stick: EthStick) -> None:
    form = await _eth_form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], _form("127.0.0.1", await closed_port())
    )
    assert result["errors"] == {"base": "cannot_connect"}
    assert result["description_placeholders"] == {"serial": ""}
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], _form("127.0.0.1", stick.port)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.fixture
async def web_server(socket_enabled: None) -> AsyncGenerator[int]:
    """A web server on a loopback port: what a user may find at a wrong port."""
    runner = web.AppRunner(web.Application())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port: int = runner.addresses[0][1]
    yield port
    await runner.cleanup()


@pytest.mark.usefixtures("mock_setup_entry")
async def test_a_web_server_at_the_port_is_not_modbus(hass: HomeAssistant, web_server: int) -> None:
    form = await _eth_form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], _form("127.0.0.1", web_server)
    )
    assert result["errors"] == {"base": "not_modbus"}
    assert result["description_placeholders"] == {"serial": ""}


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize(
    ("port", "unit", "errors"),
    [
        (8899, 300, {CONF_UNIT_ID: "unit_id_range"}),
        (8899, 0, {CONF_UNIT_ID: "unit_id_range"}),
        (8899, 1.5, {CONF_UNIT_ID: "unit_id_range"}),
        (0, 1, {CONF_PORT: "port_range"}),
        (70000, 248, {CONF_PORT: "port_range", CONF_UNIT_ID: "unit_id_range"}),
    ],
)
async def test_numbers_out_of_range_get_our_words_and_nothing_is_tried(
    hass: HomeAssistant, stick: EthStick, port: int, unit: float, errors: dict[str, str]
) -> None:
    form = await _eth_form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: float(port), CONF_UNIT_ID: unit}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert stick.requests == 0
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], _form("127.0.0.1", stick.port)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize("host", ["192.168.1.300", "http://192.168.1.10", "my stick", "-a.lan", ""])
async def test_a_malformed_host_is_refused_before_any_connection(
    hass: HomeAssistant, stick: EthStick, host: str
) -> None:
    form = await _eth_form(hass)
    result = await hass.config_entries.flow.async_configure(form["flow_id"], _form(host, 8899))
    assert result["errors"] == {CONF_HOST: "invalid_host"}
    assert stick.requests == 0


@pytest.mark.usefixtures("mock_setup_entry")
async def test_a_name_that_does_not_resolve_is_an_invalid_host(
    hass: HomeAssistant, stick: EthStick, monkeypatch: pytest.MonkeyPatch
) -> None:
    # There is no DNS here; the resolver's answer for an unknown name is imitated.
    def no_such_name(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    form = await _eth_form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], _form("zcs-stick.lan", 8899)
    )
    assert result["errors"] == {CONF_HOST: "invalid_host"}


@pytest.mark.usefixtures("mock_setup_entry")
async def test_an_unexpected_failure_is_unknown_and_logged(
    hass: HomeAssistant, stick: EthStick, caplog: pytest.LogCaptureFixture
) -> None:
    # The test harness forbids name resolution with a RuntimeError: nothing the flow expects.
    form = await _eth_form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], _form("zcs-stick.lan", 8899)
    )
    assert result["errors"] == {"base": "unknown"}
    assert "Unexpected error while probing zcs-stick.lan" in caplog.text


def test_host_syntax() -> None:
    good = ["192.168.1.10", "fe80::1", "zcs-stick", "zcs-stick.lan", "stick.example.com."]
    bad = ["192.168.1.300", "a..b", "x" * 64, "stick_1.lan", "1.2.3", "host:8899"]
    assert [valid_host(host) for host in good] == [True] * len(good)
    assert [valid_host(host) for host in bad] == [False] * len(bad)


@pytest.fixture
async def other_stick(socket_enabled: None) -> AsyncGenerator[EthStick]:
    """A second stick, where another inverter (other serial) answers."""
    front = EthStick(Hyd3ph(serial="ZP2ES020M2H00099"))
    await front.start()
    yield front
    await front.stop()


async def test_two_inverters_of_one_model_are_told_apart_by_name(
    hass: HomeAssistant, stick: EthStick
) -> None:
    twin = EthStick(Hyd3ph(serial="ZP1ES010M2H00018"))
    await twin.start()
    try:
        for port in (stick.port, twin.port):
            form = await _eth_form(hass)
            result = await hass.config_entries.flow.async_configure(
                form["flow_id"], _form("127.0.0.1", port)
            )
            assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done(wait_background_tasks=True)
        devices = {device.name for device in dr.async_get(hass).devices}
        assert devices == {f"{MODEL} (00017)", f"{MODEL} (00018)"}
        # Entity ids and names carry the tail too, not a "_2".
        for tail in ("00017", "00018"):
            shown = hass.states.get(f"sensor.3ph_hyd10000_zss_{tail}_grid_power")
            assert shown is not None
            assert shown.attributes["friendly_name"] == f"{MODEL} ({tail}) Grid power"
    finally:
        for entry in hass.config_entries.async_entries(DOMAIN):
            assert await hass.config_entries.async_unload(entry.entry_id)
        await twin.stop()


async def test_reconfigure_moves_the_entry_to_a_new_address(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, inverter: Hyd3ph
) -> None:
    # The same inverter now answers through a stick at another port, in Modbus TCP.
    moved = EthStick(inverter, framing=Framing.TCP)
    await moved.start()
    try:
        result = await loaded_entry.start_reconfigure_flow(hass)
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "reconfigure"
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _form("127.0.0.1", await closed_port())
        )
        assert result["errors"] == {"base": "cannot_connect"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _form("127.0.0.1", moved.port)
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        # Our own words ("The connection was updated."), not Home Assistant's generic ones.
        assert result.get("translation_domain") is None
        await hass.async_block_till_done(wait_background_tasks=True)
        assert loaded_entry.data[CONF_PORT] == moved.port
        assert loaded_entry.data["framing"] == LINK_KINDS[Framing.TCP].value
        assert loaded_entry.state is ConfigEntryState.LOADED
        assert moved.requests > 0
    finally:
        assert await hass.config_entries.async_unload(loaded_entry.entry_id)
        await moved.stop()


async def test_reconfigure_refuses_a_different_inverter(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, stick: EthStick, other_stick: EthStick
) -> None:
    result = await loaded_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _form("127.0.0.1", other_stick.port)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_device"
    assert loaded_entry.data[CONF_PORT] == stick.port


@pytest.mark.parametrize("seconds", [4.0, 3601.0, 12.5])
async def test_a_scan_interval_out_of_range_is_refused_in_words(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, seconds: float
) -> None:
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: seconds}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_SCAN_INTERVAL: "scan_interval_range"}
    assert loaded_entry.options == {}


async def test_options_set_the_scan_interval(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    coordinator = loaded_entry.runtime_data.coordinator
    assert coordinator.update_interval is not None
    assert coordinator.update_interval.total_seconds() == 30
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 12.0}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)
    assert loaded_entry.options == {CONF_SCAN_INTERVAL: 12}
    reloaded = loaded_entry.runtime_data.coordinator
    assert reloaded is not coordinator
    assert reloaded.update_interval is not None
    assert reloaded.update_interval.total_seconds() == 12
