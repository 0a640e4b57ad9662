"""The stick's firmware on a device of its own, and the firmware public reports call bad."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import timedelta

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.zcs_azzurro import const
from custom_components.zcs_azzurro.stick import issue_id
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick
from simulator.web import StickWebPage
from simulator.wifi import DEFAULT_LOGGER_SERIAL, WifiStick
from tests.conftest import closed_port

from .conftest import SERIAL, poll
from .test_wifi import wifi_entry

ETH_STICK = 2112345678
MQTT_FIRMWARE = "LSW3_15_MQTT_270A_1.22"


@pytest.fixture
async def web_page(
    socket_enabled: None, monkeypatch: pytest.MonkeyPatch
) -> AsyncGenerator[StickWebPage]:
    """The WiFi stick's web page, where the integration asks for it."""
    page = StickWebPage(DEFAULT_LOGGER_SERIAL, "LSW3_15_FFFF_1.0.65", SERIAL)
    await page.start()
    monkeypatch.setattr(const, "STICK_WEB_PORT", page.port)
    yield page
    await page.stop()


async def _set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


def _stick(hass: HomeAssistant, serial: int) -> dr.DeviceEntry | None:
    found = dr.async_get(hass).async_get_devices(identifiers={(const.DOMAIN, f"stick_{serial}")})
    return found[0] if found else None


def _inverter(hass: HomeAssistant) -> dr.DeviceEntry | None:
    found = dr.async_get(hass).async_get_devices(identifiers={(const.DOMAIN, SERIAL)})
    return found[0] if found else None


def _issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(const.DOMAIN, issue_id(entry))


async def _a_day_later(hass: HomeAssistant) -> None:
    for hour in range(1, const.STICK_PAGE_EVERY_HOURS + 1):
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=hour))
        await hass.async_block_till_done(wait_background_tasks=True)


async def test_the_wifi_stick_is_a_device_with_its_firmware_and_the_inverter_is_behind_it(
    hass: HomeAssistant, inverter: Hyd3ph, web_page: StickWebPage
) -> None:
    stick = WifiStick(inverter)
    await stick.start()
    try:
        entry = wifi_entry(stick.port)
        await _set_up(hass, entry)
        assert entry.state is ConfigEntryState.LOADED
        device = _stick(hass, DEFAULT_LOGGER_SERIAL)
        assert device is not None
        assert (device.manufacturer, device.model, device.name) == (
            "ZCS",
            "ZSM-WIFI-USB",
            f"ZSM-WIFI-USB ({DEFAULT_LOGGER_SERIAL})",
        )
        assert (device.sw_version, device.serial_number) == (
            "LSW3_15_FFFF_1.0.65",
            str(DEFAULT_LOGGER_SERIAL),
        )
        # Its web page, one click away in the device's page.
        assert device.configuration_url == f"http://127.0.0.1:{web_page.port}"
        inverter_device = _inverter(hass)
        assert inverter_device is not None
        assert inverter_device.via_device_id == device.id
        assert _issue(hass, entry) is None
        assert web_page.requests == 1
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await stick.stop()


async def test_another_loggers_page_at_the_sticks_address_is_not_taken_for_it(
    hass: HomeAssistant, inverter: Hyd3ph, web_page: StickWebPage
) -> None:
    web_page.logger_serial = 2798765432
    stick = WifiStick(inverter)
    await stick.start()
    try:
        entry = wifi_entry(stick.port)
        await _set_up(hass, entry)
        assert entry.state is ConfigEntryState.LOADED
        assert _stick(hass, 2798765432) is None
        assert _stick(hass, DEFAULT_LOGGER_SERIAL) is None
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await stick.stop()


async def test_an_eth_stick_on_firmware_1_11_is_a_repair_issue_until_it_is_updated(
    hass: HomeAssistant, config_entry: MockConfigEntry, web_page: StickWebPage
) -> None:
    web_page.logger_serial = ETH_STICK
    web_page.firmware = "ME_0D_270A_1.11"
    await _set_up(hass, config_entry)
    assert config_entry.state is ConfigEntryState.LOADED
    device = _stick(hass, ETH_STICK)
    assert device is not None
    assert (device.model, device.sw_version) == ("ZSM-ETH-USB", "ME_0D_270A_1.11")
    issue = _issue(hass, config_entry)
    assert issue is not None
    assert (issue.translation_key, issue.severity) == (
        "stick_firmware_static_ip",
        ir.IssueSeverity.WARNING,
    )
    assert issue.translation_placeholders == {
        "title": config_entry.title,
        "model": "ZSM-ETH-USB",
        "serial": str(ETH_STICK),
        "firmware": "ME_0D_270A_1.11",
        "port": str(config_entry.data["port"]),
    }
    # Solarman's support put 1.09 on it: the next day's reading shows it, and the issue goes.
    web_page.firmware = "ME_0D_270A_1.09"
    await _a_day_later(hass)
    assert _issue(hass, config_entry) is None
    device = _stick(hass, ETH_STICK)
    assert device is not None
    assert device.sw_version == "ME_0D_270A_1.09"
    assert web_page.requests == 2  # once at setup, once a day: not every hour
    await hass.config_entries.async_unload(config_entry.entry_id)


async def test_a_wifi_stick_whose_mqtt_firmware_closed_its_port_is_a_repair_issue(
    hass: HomeAssistant, inverter: Hyd3ph, web_page: StickWebPage
) -> None:
    web_page.firmware = MQTT_FIRMWARE
    port = await closed_port()
    entry = wifi_entry(port)
    await _set_up(hass, entry)
    # The stick answers on its web page, but nothing takes the connection on its port.
    assert entry.state is ConfigEntryState.SETUP_RETRY
    issue = _issue(hass, entry)
    assert issue is not None
    assert issue.translation_key == "stick_firmware_port_closed"
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["port"] == str(port)
    assert issue.translation_placeholders["firmware"] == MQTT_FIRMWARE
    # The port opens again (an earlier firmware): the entry loads, and the issue goes.
    stick = WifiStick(inverter)
    await stick.start(port=port)
    try:
        await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        assert entry.state is ConfigEntryState.LOADED
        assert _issue(hass, entry) is None
        # The same firmware with the port open is no problem: the stick shows it, no more.
        device = _stick(hass, DEFAULT_LOGGER_SERIAL)
        assert device is not None
        assert device.sw_version == MQTT_FIRMWARE
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await stick.stop()


async def test_a_wifi_stick_that_closes_its_port_while_read_is_found_out_within_the_hour(
    hass: HomeAssistant, inverter: Hyd3ph, web_page: StickWebPage
) -> None:
    web_page.firmware = MQTT_FIRMWARE
    stick = WifiStick(inverter)
    await stick.start()
    port = stick.port
    entry = wifi_entry(port)
    try:
        await _set_up(hass, entry)
        assert entry.state is ConfigEntryState.LOADED
        assert _issue(hass, entry) is None
        # The stick updates and reboots: the connection drops, then the port stays closed.
        await stick.stop()
        await poll(hass)
        await poll(hass)
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=1))
        await hass.async_block_till_done(wait_background_tasks=True)
        issue = _issue(hass, entry)
        assert issue is not None
        assert issue.translation_key == "stick_firmware_port_closed"
        # Back on its port: the next poll reads the inverter, and the issue goes.
        stick = WifiStick(inverter)
        await stick.start(port=port)
        await poll(hass)
        assert _issue(hass, entry) is None
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await stick.stop()


async def test_a_replaced_stick_is_gone_and_the_inverter_moves_behind_the_new_one(
    hass: HomeAssistant, config_entry: MockConfigEntry, web_page: StickWebPage
) -> None:
    web_page.logger_serial = ETH_STICK
    web_page.firmware = "ME_0D_270A_1.09"
    await _set_up(hass, config_entry)
    assert _stick(hass, ETH_STICK) is not None
    web_page.logger_serial = ETH_STICK + 1
    await _a_day_later(hass)
    # The old stick was this entry's only: no entry left, no device left.
    assert _stick(hass, ETH_STICK) is None
    new = _stick(hass, ETH_STICK + 1)
    assert new is not None
    assert new.config_entry_id == config_entry.entry_id
    inverter_device = _inverter(hass)
    assert inverter_device is not None
    assert inverter_device.via_device_id == new.id
    await hass.config_entries.async_unload(config_entry.entry_id)


async def test_a_stick_without_a_page_for_us_is_no_device_and_no_issue(
    hass: HomeAssistant, config_entry: MockConfigEntry, stick: EthStick, web_page: StickWebPage
) -> None:
    # Its login was changed: the page stays closed, and nothing is guessed.
    web_page.login = ("admin", "changed")
    web_page.firmware = "ME_0D_270A_1.11"
    await _set_up(hass, config_entry)
    assert config_entry.state is ConfigEntryState.LOADED
    assert _stick(hass, DEFAULT_LOGGER_SERIAL) is None
    assert _issue(hass, config_entry) is None
    assert stick.requests > 0
    await hass.config_entries.async_unload(config_entry.entry_id)


async def test_removing_the_entry_removes_its_stick_issue(
    hass: HomeAssistant, inverter: Hyd3ph, web_page: StickWebPage
) -> None:
    web_page.firmware = MQTT_FIRMWARE
    entry = wifi_entry(await closed_port())
    await _set_up(hass, entry)
    assert _issue(hass, entry) is not None
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert _issue(hass, entry) is None


async def test_an_inverter_shown_through_a_plant_stays_so(
    hass: HomeAssistant, config_entry: MockConfigEntry, web_page: StickWebPage
) -> None:
    web_page.logger_serial = ETH_STICK
    await _set_up(hass, config_entry)
    registry = dr.async_get(hass)
    # A plant's entry shows its members through its own device (plant.py).
    plant = registry.async_get_or_create(
        config_entry_id=config_entry.entry_id, identifiers={(const.DOMAIN, "plant_test")}
    )
    inverter_device = _inverter(hass)
    assert inverter_device is not None
    registry.async_update_device(inverter_device.id, via_device_id=plant.id)
    await _a_day_later(hass)
    assert web_page.requests == 2
    inverter_device = _inverter(hass)
    assert inverter_device is not None
    assert inverter_device.via_device_id == plant.id
    await hass.config_entries.async_unload(config_entry.entry_id)
