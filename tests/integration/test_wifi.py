"""The WiFi stick end to end over loopback: scan, pick, type in, discover, poll, recover."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncGenerator
from datetime import timedelta
from typing import Any

import pytest
from homeassistant.config_entries import (
    SOURCE_IGNORE,
    SOURCE_INTEGRATION_DISCOVERY,
    SOURCE_USER,
    ConfigEntryState,
)
from homeassistant.const import CONF_HOST, CONF_MAC, CONF_PORT, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.zcs_azzurro import const
from custom_components.zcs_azzurro.api.discovery import scan
from custom_components.zcs_azzurro.diagnostics import async_get_config_entry_diagnostics
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick
from simulator.registers import ascii_registers
from simulator.wifi import DEFAULT_LOGGER_SERIAL, WifiStick
from tests.conftest import closed_port

from .conftest import MODEL, SERIAL, entry_data, poll, state

OTHER_LOGGER = 2798765432
# What the background scan hands the flow for the simulated stick.
DISCOVERY = {
    CONF_HOST: "127.0.0.1",
    CONF_MAC: "98D863A1B2C3",
    const.CONF_LOGGER_SERIAL: DEFAULT_LOGGER_SERIAL,
}


@pytest.fixture
async def wifi(
    socket_enabled: None, inverter: Hyd3ph, monkeypatch: pytest.MonkeyPatch
) -> AsyncGenerator[WifiStick]:
    """A WiFi stick that answers scans where the integration sends them."""
    front = WifiStick(inverter)
    await front.start()
    monkeypatch.setattr(const, "SCAN_PORT", await front.start_scan_answer())
    # Every stick listens on 8899; this one on the port the system gave it.
    monkeypatch.setattr(const, "DEFAULT_WIFI_PORT", front.port)
    yield front
    await front.stop()


def wifi_data(port: int, **changes: Any) -> dict[str, Any]:
    """What the flow stores for the simulated WiFi stick."""
    return {
        const.CONF_LINK: const.LINK_WIFI,
        CONF_HOST: "127.0.0.1",
        CONF_PORT: port,
        const.CONF_UNIT_ID: 1,
        const.CONF_LOGGER_SERIAL: DEFAULT_LOGGER_SERIAL,
        const.CONF_PROFILE: "zcs_3ph_hyd_zss",
        const.CONF_MODEL: MODEL,
        **changes,
    }


def wifi_entry(port: int, **changes: Any) -> MockConfigEntry:
    """A WiFi entry for the simulated inverter, not yet added."""
    return MockConfigEntry(
        domain=const.DOMAIN, unique_id=SERIAL, title=MODEL, data=wifi_data(port, **changes)
    )


async def _wifi_step(hass: HomeAssistant) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(
        const.DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    assert const.LINK_WIFI in result["menu_options"]
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": const.LINK_WIFI}
    )


def _manual(port: int, logger: float = DEFAULT_LOGGER_SERIAL, host: str = "127.0.0.1") -> dict:
    # Number boxes send floats.
    return {
        CONF_HOST: host,
        const.CONF_LOGGER_SERIAL: float(logger),
        CONF_PORT: float(port),
        const.CONF_UNIT_ID: 1.0,
    }


async def test_the_scan_finds_the_stick_and_a_pick_sets_it_up(
    hass: HomeAssistant, wifi: WifiStick
) -> None:
    result = await _wifi_step(hass)
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "wifi")
    options = result["data_schema"].schema["stick"].config["options"]
    assert options == [
        {
            "value": str(DEFAULT_LOGGER_SERIAL),
            "label": f"{DEFAULT_LOGGER_SERIAL} (127.0.0.1, MAC 98D863A1B2C3)",
        },
        {"value": "manual", "label": "manual"},
    ]
    assert wifi.scans == 2  # both greetings loggers answer to
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"stick": str(DEFAULT_LOGGER_SERIAL)}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"{MODEL} (00017)"
    assert result["data"] == wifi_data(wifi.port)
    assert result["result"].unique_id == SERIAL
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state(hass, "pv_energy_total").state != STATE_UNAVAILABLE


async def test_the_list_offers_typing_it_in(hass: HomeAssistant, wifi: WifiStick) -> None:
    result = await _wifi_step(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"stick": "manual"})
    assert (result["step_id"], result["errors"]) == ("wifi_manual", {})


async def test_a_pick_whose_inverter_is_silent_says_so(
    hass: HomeAssistant, wifi: WifiStick, inverter: Hyd3ph
) -> None:
    result = await _wifi_step(hass)
    inverter.asleep = True
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"stick": str(DEFAULT_LOGGER_SERIAL)}
    )
    assert (result["step_id"], result["errors"]) == ("wifi", {"base": "no_answer"})
    inverter.asleep = False
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"stick": str(DEFAULT_LOGGER_SERIAL)}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_no_stick_found_asks_for_it_by_hand(
    hass: HomeAssistant, socket_enabled: None, inverter: Hyd3ph
) -> None:
    # A stick whose firmware ignores scans (pysolarmanv5 #72): found only by hand.
    stick = WifiStick(inverter)
    await stick.start()
    try:
        result = await _wifi_step(hass)
        assert (result["step_id"], result["errors"]) == ("wifi_manual", {"base": "no_stick_found"})
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _manual(stick.port)
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"] == wifi_data(stick.port)
        await hass.async_block_till_done(wait_background_tasks=True)
    finally:
        await stick.stop()


def _wrong_logger(inverter: Hyd3ph, wifi: WifiStick) -> dict[str, Any]:
    return {const.CONF_LOGGER_SERIAL: float(OTHER_LOGGER)}


def _asleep(inverter: Hyd3ph, wifi: WifiStick) -> dict[str, Any]:
    inverter.asleep = True
    return {}


def _not_zcs(inverter: Hyd3ph, wifi: WifiStick) -> dict[str, Any]:
    inverter.pin(0x0445, ascii_registers("SP1ES120N6000001", 8))
    return {}


def _frozen_stick(inverter: Hyd3ph, wifi: WifiStick) -> dict[str, Any]:
    wifi.faults.silent = True
    return {}


def _serial_too_long(inverter: Hyd3ph, wifi: WifiStick) -> dict[str, Any]:
    return {const.CONF_LOGGER_SERIAL: 42949672950.0}


def _serial_not_whole(inverter: Hyd3ph, wifi: WifiStick) -> dict[str, Any]:
    return {const.CONF_LOGGER_SERIAL: 2.5}


def _bad_host(inverter: Hyd3ph, wifi: WifiStick) -> dict[str, Any]:
    return {CONF_HOST: "stick..local"}


@pytest.mark.parametrize(
    ("break_it", "field", "error", "placeholder"),
    [
        (_wrong_logger, "base", "wrong_logger_serial", str(DEFAULT_LOGGER_SERIAL)),
        (_asleep, "base", "no_answer", ""),
        (_frozen_stick, "base", "no_answer", ""),
        (_not_zcs, "base", "not_zcs", ""),
        (_serial_too_long, const.CONF_LOGGER_SERIAL, "logger_serial_range", ""),
        (_serial_not_whole, const.CONF_LOGGER_SERIAL, "logger_serial_range", ""),
        (_bad_host, CONF_HOST, "invalid_host", ""),
    ],
)
async def test_each_error_of_the_manual_form_and_recovering_from_it(
    hass: HomeAssistant,
    wifi: WifiStick,
    inverter: Hyd3ph,
    break_it: Any,
    field: str,
    error: str,
    placeholder: str,
) -> None:
    result = await _wifi_step(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"stick": "manual"})
    changes = break_it(inverter, wifi)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**_manual(wifi.port), **changes}
    )
    assert (result["step_id"], result["errors"]) == ("wifi_manual", {field: error})
    # The logger's own serial, as it answered, for the user to compare with the label.
    assert result["description_placeholders"]["logger"] == placeholder
    # Mended, the same form goes through.
    inverter.asleep = False
    wifi.faults.silent = False
    inverter.unpin(0x0445, 8)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _manual(wifi.port))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_nothing_listening_is_cannot_connect(hass: HomeAssistant, wifi: WifiStick) -> None:
    result = await _wifi_step(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"stick": "manual"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _manual(await closed_port())
    )
    assert result["errors"] == {"base": "cannot_connect"}


async def test_a_stick_in_use_is_not_offered_and_its_inverter_not_added_twice(
    hass: HomeAssistant, wifi: WifiStick
) -> None:
    entry = wifi_entry(wifi.port)
    entry.add_to_hass(hass)
    result = await _wifi_step(hass)
    assert (result["step_id"], result["errors"]) == ("wifi_manual", {"base": "no_stick_found"})
    # Typed in anyway: the inverter is configured already.
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _manual(wifi.port))
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "already_configured")


async def test_a_discovered_stick_is_offered_and_set_up(
    hass: HomeAssistant, wifi: WifiStick
) -> None:
    discovery = DISCOVERY
    result = await hass.config_entries.flow.async_init(
        const.DOMAIN, context={"source": SOURCE_INTEGRATION_DISCOVERY}, data=discovery
    )
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "wifi_confirm")
    assert result["description_placeholders"] == {
        "logger": str(DEFAULT_LOGGER_SERIAL),
        "host": "127.0.0.1",
    }
    # The same stick found again while the offer stands: one offer.
    again = await hass.config_entries.flow.async_init(
        const.DOMAIN, context={"source": SOURCE_INTEGRATION_DISCOVERY}, data=discovery
    )
    assert (again["type"], again["reason"]) == (FlowResultType.ABORT, "already_in_progress")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == wifi_data(wifi.port)
    assert result["result"].unique_id == SERIAL
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_an_ignored_stick_stays_ignored(hass: HomeAssistant, wifi: WifiStick) -> None:
    MockConfigEntry(
        domain=const.DOMAIN,
        source=SOURCE_IGNORE,
        unique_id=f"wifi_{DEFAULT_LOGGER_SERIAL}",
        data={},
    ).add_to_hass(hass)
    discovery = DISCOVERY
    result = await hass.config_entries.flow.async_init(
        const.DOMAIN, context={"source": SOURCE_INTEGRATION_DISCOVERY}, data=discovery
    )
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "already_configured")
    # Nor is it in the pick list.
    result = await _wifi_step(hass)
    assert result["errors"] == {"base": "no_stick_found"}


async def test_a_discovered_stick_whose_inverter_sleeps_says_so(
    hass: HomeAssistant, wifi: WifiStick, inverter: Hyd3ph
) -> None:
    inverter.asleep = True
    discovery = DISCOVERY
    result = await hass.config_entries.flow.async_init(
        const.DOMAIN, context={"source": SOURCE_INTEGRATION_DISCOVERY}, data=discovery
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert (result["step_id"], result["errors"]) == ("wifi_confirm", {"base": "no_answer"})


async def test_the_background_scan_offers_a_new_stick_while_an_entry_uses_wifi(
    hass: HomeAssistant, socket_enabled: None, inverter: Hyd3ph, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = WifiStick(inverter)
    await ours.start()
    # Another stick on the LAN (on its own inverter, the same model here) answers the scans.
    other = WifiStick(Hyd3ph(), logger_serial=OTHER_LOGGER)
    await other.start()
    monkeypatch.setattr(const, "SCAN_PORT", await other.start_scan_answer())
    try:
        entry = wifi_entry(ours.port)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        assert other.scans == 2  # scanned once the entry was set up
        flows = hass.config_entries.flow.async_progress_by_handler(const.DOMAIN)
        assert [(f["context"]["source"], f["step_id"]) for f in flows] == [
            (SOURCE_INTEGRATION_DISCOVERY, "wifi_confirm")
        ]
        assert flows[0]["context"]["title_placeholders"] == {"serial": str(OTHER_LOGGER)}
        # Every 15 minutes: the stick still there is offered once.
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=15))
        await hass.async_block_till_done(wait_background_tasks=True)
        assert other.scans == 4
        assert len(hass.config_entries.flow.async_progress_by_handler(const.DOMAIN)) == 1
        # No entry uses WiFi any more: no more scans.
        assert await hass.config_entries.async_unload(entry.entry_id)
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=30))
        await hass.async_block_till_done(wait_background_tasks=True)
        assert other.scans == 4
    finally:
        await other.stop()
        await ours.stop()


async def test_a_stick_at_a_new_address_takes_its_entry_along(
    hass: HomeAssistant, wifi: WifiStick, monkeypatch: pytest.MonkeyPatch
) -> None:
    _unresolvable(monkeypatch, "old-stick.lan")
    entry = wifi_entry(wifi.port, host="old-stick.lan")
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    # The scan that setup started found the stick (same logger serial) at 127.0.0.1.
    assert entry.data[CONF_HOST] == "127.0.0.1"
    assert entry.state is ConfigEntryState.LOADED
    assert state(hass, "pv_energy_total").state != STATE_UNAVAILABLE
    assert not hass.config_entries.flow.async_progress_by_handler(const.DOMAIN)


class _Liar(asyncio.DatagramProtocol):
    """Any host on the LAN: answers every scan with the stick's serial and another address."""

    def __init__(self, serial: int, named: str) -> None:
        self.answer = f"{named},AA:BB:CC:DD:EE:FF,{serial}".encode()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(self.answer, addr)


async def test_a_scan_answer_naming_another_address_does_not_move_the_entry(
    hass: HomeAssistant, wifi: WifiStick, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = wifi_entry(wifi.port)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    # The only answer to the scans now comes from 127.0.0.1, naming 127.0.0.66.
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: _Liar(DEFAULT_LOGGER_SERIAL, "127.0.0.66"), local_addr=("127.0.0.1", 0)
    )
    try:
        monkeypatch.setattr(const, "SCAN_PORT", transport.get_extra_info("sockname")[1])
        # The stick is where its answer came from, not where the answer says.
        (found,) = await scan("127.0.0.1", const.SCAN_PORT, 0.2)
        assert (found.host, found.serial) == ("127.0.0.1", DEFAULT_LOGGER_SERIAL)
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=15))
        await hass.async_block_till_done(wait_background_tasks=True)
    finally:
        transport.close()
    assert entry.data[CONF_HOST] == "127.0.0.1"
    assert not hass.config_entries.flow.async_progress_by_handler(const.DOMAIN)


def _unresolvable(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """The entry knows the stick by a name that no longer resolves (its DHCP lease moved)."""
    resolve = socket.getaddrinfo

    def moved(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == name:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", moved)


@pytest.mark.parametrize("case", ["other_inverter", "asleep"])
async def test_a_new_address_not_shown_to_be_the_sticks_is_asked_about(
    hass: HomeAssistant, socket_enabled: None, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    # Something answers as the entry's stick (its logger serial), with another inverter
    # behind it, or with an inverter that does not answer: neither is shown to be ours.
    inverter = Hyd3ph(serial="ZP1ES010M2H00099") if case == "other_inverter" else Hyd3ph()
    inverter.asleep = case == "asleep"
    other = WifiStick(inverter)
    await other.start()
    monkeypatch.setattr(const, "SCAN_PORT", await other.start_scan_answer())
    _unresolvable(monkeypatch, "old-stick.lan")
    try:
        entry = wifi_entry(other.port, host="old-stick.lan")
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        assert entry.data[CONF_HOST] == "old-stick.lan"
        (flow,) = hass.config_entries.flow.async_progress_by_handler(const.DOMAIN)
        assert flow["context"]["source"] == SOURCE_INTEGRATION_DISCOVERY
        result = await hass.config_entries.flow.async_configure(flow["flow_id"])
        assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "wifi_moved")
        why = "moved_other_inverter" if case == "other_inverter" else "no_answer"
        assert result["errors"] == {"base": why}
        placeholders = result["description_placeholders"]
        assert placeholders is not None
        assert (placeholders["old"], placeholders["new"]) == ("old-stick.lan", "127.0.0.1")
        # The next scan asks no second time while the question stands.
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=15))
        await hass.async_block_till_done(wait_background_tasks=True)
        assert len(hass.config_entries.flow.async_progress_by_handler(const.DOMAIN)) == 1
        # The owner knows the stick moved: the entry follows it.
        result = await hass.config_entries.flow.async_configure(flow["flow_id"], {})
        assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "stick_moved")
        assert entry.data[CONF_HOST] == "127.0.0.1"
        await hass.async_block_till_done(wait_background_tasks=True)
    finally:
        await other.stop()


async def test_setup_polls_and_recovers_from_a_drop_and_a_reboot(
    hass: HomeAssistant, wifi: WifiStick, inverter: Hyd3ph, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "custom_components.zcs_azzurro")
    entry = wifi_entry(wifi.port)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state(hass, "battery_soc").state == str(inverter.read(0x0608, 1)[0])
    # The stick closes the idle connection: the next poll opens another, unnoticed.
    wifi.drop_clients()
    await poll(hass)
    assert state(hass, "battery_soc").state != STATE_UNAVAILABLE
    assert wifi.connections == 2
    # The stick reboots: unavailable while it is away, back when it is.
    port = wifi.port
    await wifi.stop()
    await poll(hass)
    assert state(hass, "battery_soc").state == STATE_UNAVAILABLE
    await poll(hass)
    await wifi.start(port=port)
    await poll(hass)
    assert state(hass, "battery_soc").state != STATE_UNAVAILABLE
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("custom_components")]
    assert len(messages) == 2, messages  # one line down, one up
    assert messages[1] == f"Fetching {MODEL} data recovered"
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["entry"]["data"][const.CONF_LOGGER_SERIAL] == "**REDACTED**"
    assert diagnostics["link"]["connection"] == {"connected": True, "integrations": [const.DOMAIN]}


async def test_wifi_and_eth_entries_read_the_same_values(
    hass: HomeAssistant, wifi: WifiStick, inverter: Hyd3ph, entity_registry_enabled_by_default: None
) -> None:
    # One inverter behind both sticks; its clock stands still: one moment for both.
    eth = EthStick(inverter)
    await eth.start()
    try:
        shown = {}
        eth_entry = MockConfigEntry(
            domain=const.DOMAIN, unique_id=SERIAL, title=MODEL, data=entry_data(eth.port)
        )
        for entry in (eth_entry, wifi_entry(wifi.port)):
            entry.add_to_hass(hass)
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done(wait_background_tasks=True)
            entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
            shown[entry.data[const.CONF_LINK]] = {
                e.unique_id: hass.states.get(e.entity_id).state  # type: ignore[union-attr]
                for e in entities
            }
            assert await hass.config_entries.async_remove(entry.entry_id)
            await hass.async_block_till_done()
        assert shown["wifi"] == shown["eth"]
        # Every entity of the profile; most hold a value (the second battery is absent).
        assert len([v for v in shown["wifi"].values() if v != STATE_UNAVAILABLE]) > 40
    finally:
        await eth.stop()


async def test_reconfigure_checks_the_logger_serial_and_keeps_the_inverter(
    hass: HomeAssistant, wifi: WifiStick
) -> None:
    entry = wifi_entry(wifi.port, host="localhost")
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure_wifi"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _manual(wifi.port, logger=OTHER_LOGGER)
    )
    assert result["errors"] == {"base": "wrong_logger_serial"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _manual(wifi.port))
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "reconfigure_successful")
    assert entry.data == wifi_data(wifi.port)
    await hass.async_block_till_done(wait_background_tasks=True)
