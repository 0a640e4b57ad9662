"""Setting up, unloading and reloading an entry; a stick or inverter that is not there."""

from __future__ import annotations

import logging

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zcs_azzurro.const import DOMAIN
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick, Framing
from simulator.registers import u32
from tests.conftest import closed_port, until

from .conftest import MODEL, SERIAL, entry_data, poll, state


async def test_setup_registers_the_device_and_unload_lets_the_stick_go(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, stick: EthStick
) -> None:
    assert loaded_entry.state is ConfigEntryState.LOADED
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, SERIAL), loaded_entry.entry_id
    )
    assert device is not None
    assert (device.manufacturer, device.model, device.serial_number) == (
        "ZCS Azzurro",
        MODEL,
        SERIAL,
    )
    assert (device.sw_version, device.hw_version) == ("V110052 (DSP V110048)", "V1")
    assert state(hass, "grid_frequency").state != STATE_UNAVAILABLE
    assert len(stick._writers) == 1

    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.NOT_LOADED
    await until(lambda: not stick._writers)  # the connection was closed with the last holder


@pytest.mark.parametrize("framing", [Framing.TCP])
async def test_a_stick_that_speaks_modbus_tcp_is_read_the_same(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, stick: EthStick
) -> None:
    assert loaded_entry.data["framing"] == "modbus_tcp"
    assert state(hass, "battery_soc").state == "55"
    before = stick.requests
    await poll(hass)
    assert stick.requests - before == 5


async def test_reload_reads_again(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, stick: EthStick
) -> None:
    before = stick.requests
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert stick.requests > before
    assert state(hass, "battery_soc").state == "55"


async def test_an_unreachable_stick_makes_setup_retry(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=SERIAL, title=MODEL, data=entry_data(await closed_port())
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    # Said in words on the integration's card: no address, no exception text.
    assert entry.error_reason_translation_key == "link_unreachable"
    assert "127.0.0.1" not in (entry.reason or "")


async def test_a_sleeping_inverter_sets_up_unavailable_and_wakes_by_itself(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    inverter: Hyd3ph,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "custom_components.zcs_azzurro")
    inverter.asleep = True
    inverter.pin(0x0686, u32(182345))  # PV energy total: 18234.5 kWh
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    assert state(hass, "pv_energy_total").state == STATE_UNAVAILABLE
    assert state(hass, "fault", "binary_sensor").state == STATE_UNAVAILABLE

    await poll(hass)  # still asleep: no new line in the log
    inverter.asleep = False
    await poll(hass)
    assert state(hass, "pv_energy_total").state == "18234.5"
    assert state(hass, "fault", "binary_sensor").state == "off"
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, SERIAL), config_entry.entry_id
    )
    assert device is not None
    assert device.sw_version == "V110052 (DSP V110048)"  # read once it answered
    # One line when it was found silent, one when it answered: nothing in between.
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("custom_components")]
    assert messages == [
        "3PH HYD10000 ZSS does not answer; its entities are unavailable until it does",
        "Fetching 3PH HYD10000 ZSS data recovered",
    ]


async def test_a_profile_this_version_lacks_is_a_setup_error(
    hass: HomeAssistant, stick: EthStick
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=SERIAL, data=entry_data(stick.port, profile="zcs_future")
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.reason == "This version of the integration has no device profile zcs_future"


@pytest.mark.parametrize(
    "fault",
    [
        # tmodbus waits out the timeout for bytes that are no answer: to us they are
        # silence, so setup takes them for a sleeping inverter (noted for upstream).
        pytest.param("garbage", marks=pytest.mark.xfail(strict=True, reason="tmodbus waits")),
        "drop",
    ],
)
async def test_a_stick_that_misbehaves_at_setup_makes_it_retry(
    hass: HomeAssistant, config_entry: MockConfigEntry, stick: EthStick, fault: str
) -> None:
    setattr(stick.faults, fault, True)
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert (
        config_entry.error_reason_translation_key
        == {
            "drop": "link_dropped",
            "garbage": "link_garbled",
        }[fault]
    )


async def test_a_field_shown_on_another_platform_leaves_no_orphan(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    # Max charge SOC was a number before its write-back was found unconfirmed; now a sensor.
    config_entry.add_to_hass(hass)
    registry = er.async_get(hass)
    old = registry.async_get_or_create(
        "number", DOMAIN, f"{SERIAL}_max_charge_soc", config_entry=config_entry
    )
    kept = registry.async_get_or_create(
        "number", DOMAIN, f"{SERIAL}_depth_of_discharge", config_entry=config_entry
    )
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert registry.async_get(old.entity_id) is None
    assert registry.async_get_entity_id("sensor", DOMAIN, f"{SERIAL}_max_charge_soc")
    assert registry.async_get(kept.entity_id) is not None
