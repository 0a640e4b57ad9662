"""An Azzurro System entry in Home Assistant, against the simulated System API on loopback.

Writes go to the simulated API, which POSTs their result over real HTTP to the entry's
webhook on Home Assistant's own HTTP server (the test client's port is its external URL).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    ATTR_ENTITY_ID,
    CONF_SCAN_INTERVAL,
    CONF_TOKEN,
    CONF_URL,
    CONF_WEBHOOK_ID,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.zcs_azzurro import const
from custom_components.zcs_azzurro.diagnostics import async_get_config_entry_diagnostics
from custom_components.zcs_azzurro.portal import EVENT_ALARM
from custom_components.zcs_azzurro.system import no_url_issue
from custom_components.zcs_azzurro.webhook import EVENT_WRITE_RESULT
from simulator.system import NAMES, SimulatedSystem

from .conftest import poll

SYSTEM_FIELDS = sorted([*NAMES.values(), "alarms"])
WEBHOOK_ID = "0123456789abcdef-webhook-secret"
REGISTER = 0x1187


def system_entry(
    system: SimulatedSystem, options: dict[str, Any] | None = None, **data: Any
) -> MockConfigEntry:
    """What the flow stores for the simulated inverter (not yet added), with more options."""
    return MockConfigEntry(
        domain=const.DOMAIN,
        unique_id=f"system_{system.device}",
        title="Azzurro System (00017)",
        data={
            const.CONF_LINK: const.LINK_SYSTEM,
            CONF_TOKEN: system.token,
            const.CONF_PLANT_ID: system.plant,
            const.CONF_THING_KEY: system.device,
            CONF_URL: system.url,
            const.CONF_FIELDS: SYSTEM_FIELDS,
            const.CONF_MODEL: const.SYSTEM_MODEL,
            CONF_WEBHOOK_ID: WEBHOOK_ID,
            **data,
        },
        options={CONF_SCAN_INTERVAL: 300, const.CONF_BACKFILL_DAYS: 7, **(options or {})},
    )


@pytest.fixture(autouse=True)
def short_write_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A write waits half a second for its callback, not minutes (the simulator sends in 10 ms)."""
    monkeypatch.setattr(const, "SYSTEM_WRITE_TIMEOUT", 0.5)


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry


@pytest.fixture
async def system_loaded(
    hass: HomeAssistant, system: SimulatedSystem, http: TestClient
) -> MockConfigEntry:
    """The simulated inverter's System entry, set up, its webhook reachable."""
    return await _setup(hass, system_entry(system))


def shown(hass: HomeAssistant, key: str, platform: str = "sensor") -> str:
    """The state of the System entity of this field key."""
    unique_id = "system_ZP1ES010M2H00017_" + key
    entity_id = er.async_get(hass).async_get_entity_id(platform, const.DOMAIN, unique_id)
    assert entity_id is not None, key
    state = hass.states.get(entity_id)
    assert state is not None, key
    return state.state


async def test_the_inverter_and_its_sensors(
    hass: HomeAssistant, system: SimulatedSystem, system_loaded: MockConfigEntry
) -> None:
    latest = system._plant.samples()[-1][1]
    assert float(shown(hass, "pv_power")) == latest["powerGenerating"]
    assert float(shown(hass, "grid_import_energy_total")) == latest["energyImportingTotal"]
    assert float(shown(hass, "battery_soc")) == latest["batterySoC"]
    assert shown(hass, "alarm", "binary_sensor") == "off"
    entities = er.async_entries_for_config_entry(er.async_get(hass), system_loaded.entry_id)
    # One entity per field, the button that sets the inverter's clock, and the controls of
    # the settings groups the System can write whole (12 settings in 7 groups, EPS's with
    # its reserved register sent as 0).
    assert len(entities) == len(SYSTEM_FIELDS) + 1 + 12
    (device,) = dr.async_entries_for_config_entry(dr.async_get(hass), system_loaded.entry_id)
    assert (device.serial_number, device.model) == (system.device, "Azzurro System")
    assert not ir.async_get(hass).async_get_issue(
        const.DOMAIN, no_url_issue(system_loaded.entry_id)
    )


async def test_alarms_switch_the_problem_sensor_and_fire_events(
    hass: HomeAssistant, system: SimulatedSystem, system_loaded: MockConfigEntry
) -> None:
    events = async_capture_events(hass, EVENT_ALARM)
    system.alarms = [12]
    await poll(hass)
    assert shown(hass, "alarm", "binary_sensor") == "on"
    assert [e.data["code"] for e in events] == [12]


async def test_the_service_down_or_the_token_refused(
    hass: HomeAssistant, system: SimulatedSystem, system_loaded: MockConfigEntry
) -> None:
    coordinator = system_loaded.runtime_data.coordinator
    system.faults.server_error = 502
    await poll(hass)
    assert shown(hass, "pv_power") == "unavailable"
    assert coordinator.last_exception.retry_after == 300  # type: ignore[union-attr]
    system.faults.server_error = None
    await poll(hass)
    assert shown(hass, "pv_power") != "unavailable"
    system.faults.token_rejected = True
    await poll(hass)
    flows = hass.config_entries.flow.async_progress_by_handler(const.DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_a_write_completes_through_the_webhook(
    hass: HomeAssistant, system: SimulatedSystem, system_loaded: MockConfigEntry
) -> None:
    events = async_capture_events(hass, EVENT_WRITE_RESULT)
    coordinator = system_loaded.runtime_data.coordinator
    result = await coordinator.async_write_registers(REGISTER, [42, 7])
    assert result["register"] == REGISTER
    assert result["values"] == [42, 7]
    assert system.registers == {REGISTER: 42, REGISTER + 1: 7}
    (write,) = system.writes
    assert write.callback_status == [200]
    assert write.callback_url == f"{hass.config.external_url}/api/webhook/{WEBHOOK_ID}"
    assert write.request_id == result["request_id"]
    (event,) = events
    assert event.data["success"] is True
    assert event.data["register"] == REGISTER
    assert event.data["error"] is None


async def test_the_clock_button_sets_the_inverter_s_clock_through_the_webhook(
    hass: HomeAssistant, system: SimulatedSystem, system_loaded: MockConfigEntry
) -> None:
    events = async_capture_events(hass, EVENT_WRITE_RESULT)
    unique_id = f"system_{system.device}_set_clock"
    button = er.async_get(hass).async_get_entity_id("button", const.DOMAIN, unique_id)
    assert button is not None
    await hass.services.async_call("button", "press", {ATTR_ENTITY_ID: button}, blocking=True)
    now = dt_util.now()
    (write,) = system.writes
    assert write.register == 0x1004
    assert write.values[:3] == [now.year - 2000, now.month, now.day]
    assert write.values[6] == 1  # the commit that applies the clock
    assert [e.data["success"] for e in events] == [True]


async def test_a_write_without_callback_times_out_and_a_late_one_is_refused(
    hass: HomeAssistant, system: SimulatedSystem, system_loaded: MockConfigEntry, http: TestClient
) -> None:
    events = async_capture_events(hass, EVENT_WRITE_RESULT)
    system.faults.callback_never = True
    with pytest.raises(HomeAssistantError) as caught:
        await system_loaded.runtime_data.coordinator.async_write_registers(REGISTER, [1])
    assert caught.value.translation_key == "system_write_timeout"
    assert [e.data["error"] for e in events] == ["timeout"]
    assert events[0].data["success"] is False
    (write,) = system.writes
    late = {"requestId": write.request_id, "deviceId": system.device, "register": REGISTER}
    response = await http.post(f"/api/webhook/{WEBHOOK_ID}", json={**late, "result": "ok"})
    assert response.status == 404
    assert len(events) == 1


async def test_a_duplicate_callback_is_refused(
    hass: HomeAssistant, system: SimulatedSystem, system_loaded: MockConfigEntry
) -> None:
    events = async_capture_events(hass, EVENT_WRITE_RESULT)
    system.faults.callback_twice = True
    await system_loaded.runtime_data.coordinator.async_write_registers(REGISTER, [5])
    await system.callbacks_sent()
    (write,) = system.writes
    assert write.callback_status[0] == 200
    assert write.callback_status[1] in (404, 409)
    assert len(events) == 1


@pytest.mark.parametrize(
    ("fault", "status"), [("callback_other", 404), ("callback_malformed", 400)]
)
async def test_a_callback_for_another_write_or_malformed_changes_nothing(
    hass: HomeAssistant,
    system: SimulatedSystem,
    system_loaded: MockConfigEntry,
    fault: str,
    status: int,
) -> None:
    setattr(system.faults, fault, True)
    with pytest.raises(HomeAssistantError) as caught:
        await system_loaded.runtime_data.coordinator.async_write_registers(REGISTER, [9])
    assert caught.value.translation_key == "system_write_timeout"
    assert system.writes[0].callback_status == [status]


async def test_what_the_webhook_refuses(
    hass: HomeAssistant, system: SimulatedSystem, system_loaded: MockConfigEntry, http: TestClient
) -> None:
    url = f"/api/webhook/{WEBHOOK_ID}"
    assert (await http.post(url, data=b"x" * (const.MAX_CALLBACK_BYTES + 1))).status == 413

    async def chunks() -> AsyncIterator[bytes]:
        # No length given: the webhook reads up to the cap only.
        for _ in range(8):
            yield b"x" * 1024

    assert (await http.post(url, data=chunks())).status == 413
    assert (await http.post(url, data=b"{not json")).status == 400
    unmatched = {"requestId": "nope", "deviceId": system.device, "register": 1, "result": "ok"}
    assert (await http.post(url, json=unmatched)).status == 404
    # POST only: the webhook answers other methods with 405.
    assert (await http.get(url)).status == 405


async def test_a_failed_write_and_a_refused_request(
    hass: HomeAssistant, system: SimulatedSystem, system_loaded: MockConfigEntry
) -> None:
    coordinator = system_loaded.runtime_data.coordinator
    system.faults.callback_failed = True
    with pytest.raises(HomeAssistantError) as caught:
        await coordinator.async_write_registers(REGISTER, [3])
    assert caught.value.translation_key == "system_write_failed"
    assert caught.value.translation_placeholders == {"error": "INVERTER_REFUSED"}
    assert system.registers == {}
    system.faults.callback_failed = False
    system.faults.server_error = 503
    with pytest.raises(HomeAssistantError) as caught:
        await coordinator.async_write_registers(REGISTER, [3])
    assert caught.value.translation_key == "system_write_not_sent"


async def test_a_write_with_a_refused_token_says_so_and_asks_for_a_new_one(
    hass: HomeAssistant, system: SimulatedSystem, system_loaded: MockConfigEntry
) -> None:
    system.faults.token_rejected = True
    with pytest.raises(HomeAssistantError) as caught:
        await system_loaded.runtime_data.coordinator.async_write_registers(REGISTER, [3])
    # Not "try again later": the token must be entered again, and Home Assistant asks for it.
    assert caught.value.translation_key == "system_write_auth"
    assert system.writes == []
    flows = hass.config_entries.flow.async_progress_by_handler(const.DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_a_device_behind_another_logger_is_refused(
    hass: HomeAssistant, system: SimulatedSystem, http: TestClient
) -> None:
    entry = await _setup(hass, system_entry(system))
    coordinator = entry.runtime_data.coordinator
    # The API says so when asked to write; the client knows it from the next reading.
    system.logger = "ZSM-WIFI"
    with pytest.raises(HomeAssistantError) as caught:
        await coordinator.async_write_registers(REGISTER, [3])
    assert caught.value.translation_key == "system_write_logger"
    assert caught.value.translation_placeholders == {"logger": "ZSM-WIFI"}
    with pytest.raises(HomeAssistantError) as caught:
        await coordinator.async_write_registers(REGISTER, [3])
    assert caught.value.translation_key == "system_write_logger"
    assert system.writes == []


async def test_without_an_external_url_writes_are_off_with_a_repair_issue(
    hass: HomeAssistant, system: SimulatedSystem
) -> None:
    entry = await _setup(hass, system_entry(system))
    assert entry.state is ConfigEntryState.LOADED
    issue = ir.async_get(hass).async_get_issue(const.DOMAIN, no_url_issue(entry.entry_id))
    assert issue is not None
    assert issue.translation_key == "system_no_external_url"
    with pytest.raises(HomeAssistantError) as caught:
        await entry.runtime_data.coordinator.async_write_registers(REGISTER, [3])
    assert caught.value.translation_key == "system_writes_disabled"
    assert system.writes == []
    await hass.config_entries.async_unload(entry.entry_id)
    assert ir.async_get(hass).async_get_issue(const.DOMAIN, no_url_issue(entry.entry_id)) is None


async def test_unload_stops_taking_callbacks(
    hass: HomeAssistant, system: SimulatedSystem, system_loaded: MockConfigEntry, http: TestClient
) -> None:
    await hass.config_entries.async_unload(system_loaded.entry_id)
    unmatched = {"requestId": "r", "deviceId": system.device, "register": 1, "result": "ok"}
    # The webhook is gone: Home Assistant answers 200 to unknown webhooks, and nobody hears.
    response = await http.post(f"/api/webhook/{WEBHOOK_ID}", json=unmatched)
    assert response.status == 200


async def test_a_write_waiting_when_the_entry_unloads_ends_as_timed_out(
    hass: HomeAssistant, system: SimulatedSystem, system_loaded: MockConfigEntry
) -> None:
    system.faults.callback_never = True
    coordinator = system_loaded.runtime_data.coordinator
    write = asyncio.create_task(coordinator.async_write_registers(REGISTER, [1]))
    await asyncio.wait_for(system.written.wait(), 5)
    await hass.config_entries.async_unload(system_loaded.entry_id)
    with pytest.raises(HomeAssistantError) as caught:
        await write
    assert caught.value.translation_key == "system_write_timeout"


async def test_diagnostics_and_logs_hold_no_secret(
    hass: HomeAssistant,
    system: SimulatedSystem,
    http: TestClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    entry = await _setup(hass, system_entry(system))
    coordinator = entry.runtime_data.coordinator
    await coordinator.async_write_registers(REGISTER, [1])
    system.faults.callback_malformed = True
    with pytest.raises(HomeAssistantError):
        await coordinator.async_write_registers(REGISTER, [2])
    for fault in ("server_error", "token_rejected"):
        setattr(system.faults, fault, 503 if fault == "server_error" else True)
        await poll(hass)
        setattr(system.faults, fault, None if fault == "server_error" else False)
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    ours = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith("custom_components")
    )
    assert "Azzurro System" in ours
    assert system.token not in repr(diagnostics) + caplog.text
    for secret in (WEBHOOK_ID, system.plant, system.device):
        assert secret not in repr(diagnostics)
    assert WEBHOOK_ID not in ours
    assert diagnostics["portal"]["fields"] == SYSTEM_FIELDS
    assert diagnostics["portal"]["logger"] == "ZSM-WIFI-USB"
    assert diagnostics["portal"]["writes_enabled"] is True
    # Register 0x1187 (the passive grid set-point's high word) alone holds no whole setting.
    assert diagnostics["portal"]["confirmed_settings"] == {}


async def test_register_actions_write_whole_groups_through_the_webhook(
    hass: HomeAssistant, system: SimulatedSystem, system_loaded: MockConfigEntry
) -> None:
    written = async_capture_events(hass, const.EVENT_REGISTER_WRITTEN)
    target = {"config_entry_id": system_loaded.entry_id}
    # The export-limit group whole (mode "feed-in limit", 5000 W): sent through the API,
    # answered at the webhook.
    response = await hass.services.async_call(
        const.DOMAIN,
        "write_registers",
        {**target, "address": 0x1023, "values": [1, 50]},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["written"] is True
    (write,) = system.writes
    assert (write.register, write.values, write.callback_status) == (0x1023, [1, 50], [200])
    assert [e.data["values"] for e in written] == [[1, 50]]
    # Part of a group cannot be completed from a read the cloud does not offer; a register
    # outside the map is a raw write, off by default; reads need a local link. None is sent.
    refusals = [
        ("write_register", {"address": 0x1024, "value": 50}, "cloud_partial_group"),
        ("write_registers", {"address": 0x0404, "values": [1]}, "raw_writes_off"),
        ("read_registers", {"address": 0x0404, "count": 1}, "no_registers"),
    ]
    for action, data, key in refusals:
        with pytest.raises(ServiceValidationError) as refused:
            await hass.services.async_call(
                const.DOMAIN, action, {**target, **data}, blocking=True, return_response=True
            )
        assert refused.value.translation_key == key
    assert len(system.writes) == 1
