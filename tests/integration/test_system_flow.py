"""Adding an Azzurro System inverter through the flow, against the simulated System API."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_SCAN_INTERVAL, CONF_TOKEN, CONF_URL, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.zcs_azzurro import const
from custom_components.zcs_azzurro.api.cloud import system as system_module
from custom_components.zcs_azzurro.api.cloud import system_wire
from simulator.system import SimulatedSystem
from tests.conftest import closed_port

from .test_system import SYSTEM_FIELDS, system_entry


async def _system_form(hass: HomeAssistant) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(
        const.DOMAIN, context={"source": SOURCE_USER}
    )
    assert "system" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "system"}
    )
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "system")
    return result


def _input(system: SimulatedSystem, **changes: str) -> dict[str, Any]:
    return {
        CONF_TOKEN: system.token,
        const.CONF_PLANT_ID: f" {system.plant}",
        const.CONF_THING_KEY: f" {system.device} ",
        "advanced": {CONF_URL: changes.pop(CONF_URL, system.url)},
        **changes,
    }


async def test_an_inverter_is_added_and_its_webhook_shown(
    hass: HomeAssistant, system: SimulatedSystem, http: TestClient
) -> None:
    form = await _system_form(hass)
    shown = form["description_placeholders"]["webhook_url"]
    assert shown.startswith(f"{hass.config.external_url}/api/webhook/")
    result = await hass.config_entries.flow.async_configure(form["flow_id"], _input(system))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Azzurro System (00017)"
    entry = result["result"]
    assert entry.unique_id == f"system_{system.device}"
    assert entry.data[const.CONF_PLANT_ID] == system.plant
    assert entry.data[const.CONF_FIELDS] == SYSTEM_FIELDS
    # The address shown is the entry's.
    assert shown.endswith(entry.data[CONF_WEBHOOK_ID])
    assert entry.options == {CONF_SCAN_INTERVAL: 300, const.CONF_BACKFILL_DAYS: 7}
    await hass.async_block_till_done(wait_background_tasks=True)
    form = await _system_form(hass)
    result = await hass.config_entries.flow.async_configure(form["flow_id"], _input(system))
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "already_configured")
    await hass.config_entries.async_unload(entry.entry_id)


async def test_the_default_address_is_not_stored_and_no_url_shows_a_dash(
    hass: HomeAssistant, system: SimulatedSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = await _system_form(hass)
    assert form["description_placeholders"] == {"webhook_url": "-"}
    # The assumed default address, pointed at the simulator.
    monkeypatch.setattr(system_wire, "BASE_URL", system.url)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], _input(system, url=system.url)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_URL not in result["data"]
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_every_failure_has_its_message(
    hass: HomeAssistant, system: SimulatedSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = await _system_form(hass)
    flow_id = form["flow_id"]
    cases: list[tuple[dict[str, Any], dict[str, str]]] = [
        (_input(system, token="wrong"), {"base": "system_invalid_auth"}),
        (_input(system, plant_id="OTHER"), {"base": "system_device_offline"}),
        (_input(system, thing_key="ZP1ES010M2H99999"), {"base": "system_device_offline"}),
        (_input(system, thing_key="  "), {const.CONF_THING_KEY: "invalid_thing_key"}),
        (
            _input(system, url=f"http://127.0.0.1:{await closed_port()}/"),
            {"base": "system_unreachable"},
        ),
    ]
    for user_input, errors in cases:
        result = await hass.config_entries.flow.async_configure(flow_id, user_input)
        assert (result["step_id"], result["errors"]) == ("system", errors)
    system.faults.server_error = 500
    result = await hass.config_entries.flow.async_configure(flow_id, _input(system))
    assert result["errors"] == {"base": "system_unreachable"}
    system.faults.server_error = None

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(system_module.SystemClient, "realtime", broken)
    result = await hass.config_entries.flow.async_configure(flow_id, _input(system))
    assert result["errors"] == {"base": "unknown"}


async def test_reauth_and_reconfigure_take_a_new_token(
    hass: HomeAssistant, system: SimulatedSystem
) -> None:
    entry = system_entry(system)
    entry.add_to_hass(hass)
    # Each entry has a webhook of its own.
    sibling = system_entry(system, webhook_id="sibling-webhook")
    sibling.add_to_hass(hass)
    hass.config_entries.async_update_entry(sibling, unique_id="system_ZP1ES010M2H99998")
    # ZCS issues a new token: the entry's is refused from now on.
    system.token = "new-token"
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(const.DOMAIN)
    (flow,) = [f for f in flows if f["context"]["entry_id"] == entry.entry_id]
    result = await hass.config_entries.flow.async_configure(flow["flow_id"])
    assert result["step_id"] == "reauth_system"
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_TOKEN: "still-wrong"}
    )
    assert result["errors"] == {"base": "system_invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_TOKEN: "Bearer new-token"}
    )
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "reauth_successful")
    assert entry.data[CONF_TOKEN] == "Bearer new-token"
    # The plant's other inverter takes the new token too.
    assert sibling.data[CONF_TOKEN] == "Bearer new-token"
    await hass.async_block_till_done(wait_background_tasks=True)
    system.token = "newer-token"
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure_system"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOKEN: "newer-token"}
    )
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "reconfigure_successful")
    assert entry.data[CONF_TOKEN] == "newer-token"
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_options_are_the_clouds(hass: HomeAssistant, system: SimulatedSystem) -> None:
    entry = system_entry(system)
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "portal"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 30, const.CONF_BACKFILL_DAYS: 5}
    )
    assert result["errors"] == {CONF_SCAN_INTERVAL: "portal_scan_interval_range"}


async def test_a_system_entry_s_options_set_how_often_a_setting_may_be_written(
    hass: HomeAssistant, system: SimulatedSystem, http: TestClient
) -> None:
    entry = system_entry(system)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.runtime_data.coordinator.register_writes.interval.seconds == 10
    result = await hass.config_entries.options.async_init(entry.entry_id)
    (shown,) = (key for key in result["data_schema"].schema if key == const.CONF_WRITE_INTERVAL)
    assert shown.description == {"suggested_value": 10}
    asked = {CONF_SCAN_INTERVAL: 300, const.CONF_BACKFILL_DAYS: 7}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**asked, const.CONF_WRITE_INTERVAL: 4000}
    )
    assert result["errors"] == {const.CONF_WRITE_INTERVAL: "write_interval_range"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**asked, const.CONF_WRITE_INTERVAL: 60.0}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)
    # Reloaded: the entry's writes through ZCS's service keep the new interval.
    assert entry.options[const.CONF_WRITE_INTERVAL] == 60
    assert entry.runtime_data.coordinator.register_writes.interval.seconds == 60
