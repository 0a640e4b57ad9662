"""An Azzurro Portal entry in Home Assistant, polling the simulated Portal over loopback."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_SCAN_INTERVAL, CONF_URL, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.zcs_azzurro import const
from custom_components.zcs_azzurro.api.cloud.portal_source import load_portal_map
from custom_components.zcs_azzurro.diagnostics import async_get_config_entry_diagnostics
from custom_components.zcs_azzurro.portal import EVENT_ALARM
from simulator.portal import SimulatedPortal
from tests.cloud.test_portal_client import FIXTURES, serve
from tests.conftest import Clock
from tests.integration.test_translations import COMPONENT

from .conftest import poll


@pytest.fixture(autouse=True)
def pinned(plant_time: FrozenDateTimeFactory) -> None:
    """The simulated plant and Home Assistant at one instant, whatever the hour of the run."""


HYBRID_FIELDS = [
    "batteryCycletime",
    "batterySoC",
    "deviceAlarm",
    "energyAutoconsuming",
    "energyAutoconsumingTotal",
    "energyCharging",
    "energyChargingTotal",
    "energyConsuming",
    "energyConsumingTotal",
    "energyDischarging",
    "energyDischargingTotal",
    "energyExporting",
    "energyExportingTotal",
    "energyGenerating",
    "energyGeneratingTotal",
    "energyImporting",
    "energyImportingTotal",
    "powerAutoconsuming",
    "powerCharging",
    "powerConsuming",
    "powerDischarging",
    "powerExporting",
    "powerGenerating",
    "powerImporting",
]


def portal_entry(portal: SimulatedPortal, **options: Any) -> MockConfigEntry:
    """What the flow stores for the simulated device (not yet added)."""
    return MockConfigEntry(
        domain=const.DOMAIN,
        unique_id=f"portal_{portal.thing_key}",
        title="Azzurro Portal (00017)",
        data={
            const.CONF_LINK: const.LINK_PORTAL,
            CONF_API_KEY: portal.key,
            const.CONF_CLIENT_CODE: portal.client_code,
            const.CONF_THING_KEY: portal.thing_key,
            CONF_URL: portal.url,
            const.CONF_FIELDS: HYBRID_FIELDS,
            const.CONF_MODEL: const.PORTAL_MODEL,
        },
        options={CONF_SCAN_INTERVAL: 300, const.CONF_BACKFILL_DAYS: 7, **options},
    )


@pytest.fixture
async def portal_loaded(hass: HomeAssistant, portal: SimulatedPortal) -> MockConfigEntry:
    """The simulated device's Portal entry, set up."""
    entry = portal_entry(portal)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry


def shown(hass: HomeAssistant, key: str, platform: str = "sensor") -> State:
    """The state of the Portal entity of this field key."""
    unique_id = "portal_ZP1ES010M2H00017_" + key
    entity_id = er.async_get(hass).async_get_entity_id(platform, const.DOMAIN, unique_id)
    assert entity_id is not None, key
    state = hass.states.get(entity_id)
    assert state is not None, key
    return state


async def test_the_device_and_its_sensors(
    hass: HomeAssistant, portal: SimulatedPortal, portal_loaded: MockConfigEntry
) -> None:
    latest = portal.samples()[-1][1]
    assert float(shown(hass, "pv_power").state) == latest["powerGenerating"]
    assert float(shown(hass, "grid_import_power").state) == latest["powerImporting"]
    assert float(shown(hass, "pv_energy_total").state) == latest["energyGeneratingTotal"]
    assert shown(hass, "pv_energy_total").attributes["state_class"] == "total_increasing"
    assert shown(hass, "pv_power").attributes["friendly_name"] == "Azzurro Portal (00017) PV power"
    assert shown(hass, "alarm", "binary_sensor").state == "off"
    # Only the fields the device answers: a hybrid with one battery has no second one.
    entities = er.async_entries_for_config_entry(er.async_get(hass), portal_loaded.entry_id)
    assert len(entities) == len(HYBRID_FIELDS)
    assert not any(e.unique_id.endswith("battery2_soc") for e in entities)
    (device,) = dr.async_entries_for_config_entry(dr.async_get(hass), portal_loaded.entry_id)
    assert (device.serial_number, device.model) == (portal.thing_key, "Azzurro Portal")
    # No settings, no controls: nothing to write through the cloud.
    with pytest.raises(TypeError):
        _ = portal_loaded.runtime_data.coordinator.writer


async def test_a_new_entry_s_totals_follow_from_the_portal_s_last_half_hour(
    hass: HomeAssistant, portal: SimulatedPortal
) -> None:
    # The Portal's first answer says 0 for the PV total: a burst of one counter.
    latest = portal.samples()[-1][1]
    real = latest["energyGeneratingTotal"]
    latest["energyGeneratingTotal"] = 0.0
    entry = portal_entry(portal)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    # The totals follow from the samples before: shown at once, but for the 0.
    assert float(shown(hass, "house_energy_total").state) == latest["energyConsumingTotal"]
    assert shown(hass, "pv_energy_total").state == STATE_UNAVAILABLE
    latest["energyGeneratingTotal"] = real
    await poll(hass)
    assert float(shown(hass, "pv_energy_total").state) == real


async def test_without_history_a_new_entry_s_totals_wait_for_a_second_reading(
    hass: HomeAssistant, portal: SimulatedPortal
) -> None:
    portal.faults.history_shape = True  # no history to be had
    latest = portal.samples()[-1][1]
    entry = portal_entry(portal)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    # Powers show at once; no total anchors on a first value alone.
    assert float(shown(hass, "pv_power").state) == latest["powerGenerating"]
    assert shown(hass, "pv_energy_total").state == STATE_UNAVAILABLE
    await poll(hass)
    assert float(shown(hass, "pv_energy_total").state) == latest["energyGeneratingTotal"]


async def test_stale_data_is_not_current_data(
    hass: HomeAssistant,
    portal: SimulatedPortal,
    portal_loaded: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    total = shown(hass, "pv_energy_total").state
    # The device falls silent; three hours later the Portal still holds its last sample.
    clock = portal.clock
    assert isinstance(clock, Clock)
    clock.now += 3 * 3600
    freezer.tick(timedelta(hours=3))
    portal.faults.stale = 3 * 3600
    await poll(hass)
    assert shown(hass, "pv_power").state == STATE_UNAVAILABLE
    assert shown(hass, "house_power").state == STATE_UNAVAILABLE
    assert shown(hass, "battery_soc").state == STATE_UNAVAILABLE
    # The total holds what the Portal last heard: what was shown before the silence.
    assert shown(hass, "pv_energy_total").state == total
    portal.faults.stale = 0
    await poll(hass)
    assert shown(hass, "pv_power").state != STATE_UNAVAILABLE


async def test_zero_bursts_and_decreasing_totals_never_reach_a_total(
    hass: HomeAssistant, portal: SimulatedPortal, portal_loaded: MockConfigEntry
) -> None:
    portal.faults.zero_burst = True
    await poll(hass)
    assert shown(hass, "pv_energy_total").state == STATE_UNAVAILABLE
    assert shown(hass, "house_power").state == STATE_UNAVAILABLE
    portal.faults.zero_burst = False
    portal.faults.decrease = 25.0
    await poll(hass)
    assert shown(hass, "pv_energy_total").state == STATE_UNAVAILABLE
    assert shown(hass, "grid_import_energy_total").state == STATE_UNAVAILABLE
    # Powers are no counters: they show.
    assert shown(hass, "house_power").state != STATE_UNAVAILABLE
    portal.faults.decrease = 0
    await poll(hass)
    latest = portal.samples()[-1][1]
    assert float(shown(hass, "pv_energy_total").state) == latest["energyGeneratingTotal"]


async def test_alarms_switch_the_problem_sensor_and_fire_one_event_each(
    hass: HomeAssistant, portal: SimulatedPortal, portal_loaded: MockConfigEntry
) -> None:
    events = async_capture_events(hass, EVENT_ALARM)
    portal.alarms = [2, 4]
    await poll(hass)
    alarm = shown(hass, "alarm", "binary_sensor")
    assert alarm.state == "on"
    assert alarm.attributes["codes"] == ["ID002", "ID004"]
    assert [e.data["code"] for e in events] == [2, 4]
    (device,) = dr.async_entries_for_config_entry(dr.async_get(hass), portal_loaded.entry_id)
    assert events[0].data["device_id"] == device.id
    portal.alarms = [4, 7]
    await poll(hass)
    assert [e.data["code"] for e in events] == [2, 4, 7]
    assert events[-1].data["codes"] == [4, 7]
    portal.alarms = []
    await poll(hass)
    assert shown(hass, "alarm", "binary_sensor").state == "off"
    assert len(events) == 3


async def test_the_service_down_makes_entities_unavailable_and_polls_back_off(
    hass: HomeAssistant, portal: SimulatedPortal, portal_loaded: MockConfigEntry
) -> None:
    coordinator = portal_loaded.runtime_data.coordinator
    portal.faults.error_page = 502
    await poll(hass)
    assert shown(hass, "pv_power").state == STATE_UNAVAILABLE
    assert coordinator.last_exception.retry_after == 300  # type: ignore[union-attr]
    await poll(hass)
    assert coordinator.last_exception.retry_after == 600  # type: ignore[union-attr]
    portal.faults.error_page = None
    await poll(hass)
    assert shown(hass, "pv_power").state != STATE_UNAVAILABLE
    assert coordinator._failures == 0


async def test_refused_credentials_start_reauth(
    hass: HomeAssistant, portal: SimulatedPortal, portal_loaded: MockConfigEntry
) -> None:
    portal.faults.invalid_client = True
    await poll(hass)
    flows = hass.config_entries.flow.async_progress_by_handler(const.DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_a_device_offline_at_setup_is_retried(
    hass: HomeAssistant, portal: SimulatedPortal
) -> None:
    portal.faults.offline = True
    entry = portal_entry(portal)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert (
        entry.reason
        == "The Azzurro Portal has no data for this device now (offline, or not reporting)"
    )


async def test_diagnostics_and_logs_hold_no_secret(
    hass: HomeAssistant,
    portal: SimulatedPortal,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    entry = portal_entry(portal)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    for fault in ("error_page", "invalid_client"):
        setattr(portal.faults, fault, 503 if fault == "error_page" else True)
        await poll(hass)
        setattr(portal.faults, fault, None if fault == "error_page" else False)
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    text = repr(diagnostics) + caplog.text
    assert "Azzurro Portal" in caplog.text
    for secret in (portal.key, portal.client_code, portal.thing_key):
        assert secret not in repr(diagnostics)
    assert portal.key not in text
    assert portal.client_code not in text
    assert diagnostics["portal"]["fields"] == sorted(HYBRID_FIELDS)
    assert diagnostics["link"] is None


def test_every_portal_entity_is_named_in_english_and_italian() -> None:
    for language in ("en", "it"):
        path = COMPONENT / "translations" / f"{language}.json"
        entity = json.loads(path.read_text(encoding="utf-8"))["entity"]
        for fld, presentation in load_portal_map().profile.entities():
            assert fld.key in entity[presentation.platform], (language, fld.key)


async def test_the_real_hybrid_answer_becomes_sensors(
    hass: HomeAssistant, socket_enabled: None, freezer: FrozenDateTimeFactory
) -> None:
    fixture = FIXTURES / "realtime_hybrid_night.json"
    runner = await serve(fixture.read_text())
    (thing,) = json.loads(fixture.read_text())["realtimeData"]["params"]["value"][0].values()
    try:
        # Two minutes after the answer's lastUpdate: current data.
        freezer.move_to("2024-10-22T19:48:52+00:00")
        entry = MockConfigEntry(
            domain=const.DOMAIN,
            unique_id="portal_ZMG8982372HCCB76",
            title="Azzurro Portal (HCCB76)",
            data={
                const.CONF_LINK: const.LINK_PORTAL,
                CONF_API_KEY: "k",
                const.CONF_CLIENT_CODE: "c",
                const.CONF_THING_KEY: "ZMG8982372HCCB76",
                CONF_URL: f"http://127.0.0.1:{runner.addresses[0][1]}/",
                const.CONF_FIELDS: sorted(thing),
                const.CONF_MODEL: const.PORTAL_MODEL,
            },
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        # A minute later the same answer again: the totals' first value is confirmed.
        freezer.move_to("2024-10-22T19:49:52+00:00")
        await poll(hass)
        values = {
            state.attributes["friendly_name"]: state.state
            for state in hass.states.async_all("sensor")
        }
        assert values["Azzurro Portal (HCCB76) Grid import power"] == "950"
        assert values["Azzurro Portal (HCCB76) House power"] == "950"
        assert values["Azzurro Portal (HCCB76) Battery state of charge"] == "20"
        assert values["Azzurro Portal (HCCB76) PV energy"] == "3265.2"
        assert values["Azzurro Portal (HCCB76) Battery charge energy"] == "807.0"
        # An hour later the same answer is stale: powers go, totals stay.
        freezer.move_to("2024-10-22T20:46:53+00:00")
        await poll(hass)
        assert hass.states.get("sensor.azzurro_portal_hccb76_grid_import_power").state == (  # type: ignore[union-attr]
            STATE_UNAVAILABLE
        )
        assert hass.states.get("sensor.azzurro_portal_hccb76_pv_energy").state == "3265.2"  # type: ignore[union-attr]
        await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await runner.cleanup()
