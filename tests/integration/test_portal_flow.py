"""Adding an Azzurro Portal device through the flow, against the simulated Portal."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_API_KEY, CONF_SCAN_INTERVAL, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.zcs_azzurro import config_flow, const
from custom_components.zcs_azzurro.api.cloud import portal as portal_module
from simulator.portal import SimulatedPortal
from tests.conftest import closed_port

from .test_portal import portal_entry


async def _portal_form(hass: HomeAssistant) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(
        const.DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    assert "portal" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "portal"}
    )
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "portal")
    return result


def _input(portal: SimulatedPortal, **changes: str) -> dict[str, Any]:
    return {
        CONF_API_KEY: portal.key,
        const.CONF_CLIENT_CODE: portal.client_code,
        const.CONF_THING_KEY: f" {portal.thing_key} ",
        "advanced": {CONF_URL: changes.pop(CONF_URL, portal.url)},
        **changes,
    }


async def test_a_portal_device_is_added_with_the_fields_it_answers(
    hass: HomeAssistant, portal: SimulatedPortal
) -> None:
    form = await _portal_form(hass)
    result = await hass.config_entries.flow.async_configure(form["flow_id"], _input(portal))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Azzurro Portal (00017)"
    entry = result["result"]
    assert entry.unique_id == f"portal_{portal.thing_key}"
    assert entry.data[const.CONF_THING_KEY] == portal.thing_key
    assert "powerGenerating" in entry.data[const.CONF_FIELDS]
    assert "deviceAlarm" in entry.data[const.CONF_FIELDS]
    assert entry.options == {CONF_SCAN_INTERVAL: 300, const.CONF_BACKFILL_DAYS: 7}
    await hass.async_block_till_done(wait_background_tasks=True)
    # The same device again is refused; a second device gets the account's credentials.
    form = await _portal_form(hass)
    suggested = {str(k): k.description for k in form["data_schema"].schema}
    assert suggested[CONF_API_KEY] == {"suggested_value": portal.key}
    result = await hass.config_entries.flow.async_configure(form["flow_id"], _input(portal))
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "already_configured")
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_device_without_alarms_gets_no_alarm_sensor(
    hass: HomeAssistant, portal: SimulatedPortal
) -> None:
    portal.alarms = None
    form = await _portal_form(hass)
    result = await hass.config_entries.flow.async_configure(form["flow_id"], _input(portal))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert "deviceAlarm" not in result["data"][const.CONF_FIELDS]
    assert "powerGenerating" in result["data"][const.CONF_FIELDS]
    await hass.async_block_till_done(wait_background_tasks=True)
    assert not hass.states.async_entity_ids("binary_sensor")
    assert hass.states.async_entity_ids("sensor")
    await hass.config_entries.async_unload(result["result"].entry_id)


async def test_one_way_only_opens_its_form(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config_flow, "MENU", ["portal"])
    result = await hass.config_entries.flow.async_init(
        const.DOMAIN, context={"source": SOURCE_USER}
    )
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "portal")
    # The Portal's address is folded away, and the real one unless changed.
    assert {str(k) for k in result["data_schema"].schema} == {
        CONF_API_KEY,
        const.CONF_CLIENT_CODE,
        const.CONF_THING_KEY,
        "advanced",
    }


@pytest.mark.parametrize(
    ("fault", "value", "changes", "error"),
    [
        (None, None, {CONF_API_KEY: "wrong"}, "invalid_auth"),
        ("unauthorized", True, {}, "invalid_auth"),
        ("invalid_client", True, {}, "invalid_auth"),
        ("error_page", 502, {}, "portal_unreachable"),
        ("error_page", 503, {}, "portal_unreachable"),
        ("empty", True, {}, "portal_unreachable"),
        ("offline", True, {}, "device_offline"),
        (None, None, {const.CONF_THING_KEY: "ZP1ES010M2H99999"}, "device_offline"),
    ],
)
async def test_every_failure_has_its_message(
    hass: HomeAssistant,
    portal: SimulatedPortal,
    fault: str | None,
    value: object,
    changes: dict[str, str],
    error: str,
) -> None:
    if fault:
        setattr(portal.faults, fault, value)
    form = await _portal_form(hass)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], _input(portal, **changes)
    )
    assert (result["type"], result["errors"]) == (FlowResultType.FORM, {"base": error})
    # Fixed, the same form goes through.
    portal.faults = type(portal.faults)()
    result = await hass.config_entries.flow.async_configure(form["flow_id"], _input(portal))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)
    await hass.config_entries.async_unload(result["result"].entry_id)


async def test_timeouts_nothing_listening_and_blank_serials(
    hass: HomeAssistant, portal: SimulatedPortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(portal_module, "MIN_TIMEOUT", 0.1)
    monkeypatch.setattr(portal_module, "DEFAULT_TIMEOUT", 0.1)
    form = await _portal_form(hass)
    portal.faults.delay = 0.4
    result = await hass.config_entries.flow.async_configure(form["flow_id"], _input(portal))
    assert result["errors"] == {"base": "portal_unreachable"}
    nowhere = f"http://127.0.0.1:{await closed_port()}/"
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], _input(portal, url=nowhere)
    )
    assert result["errors"] == {"base": "portal_unreachable"}
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], _input(portal, thing_key="  ")
    )
    assert result["errors"] == {const.CONF_THING_KEY: "invalid_thing_key"}


async def test_an_unexpected_error_is_unknown(
    hass: HomeAssistant, portal: SimulatedPortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(portal_module.PortalClient, "realtime", broken)
    form = await _portal_form(hass)
    result = await hass.config_entries.flow.async_configure(form["flow_id"], _input(portal))
    assert result["errors"] == {"base": "unknown"}


async def test_reauth_and_reconfigure_take_new_credentials(
    hass: HomeAssistant, portal: SimulatedPortal
) -> None:
    entry = portal_entry(portal)
    entry.add_to_hass(hass)
    # Another device of the account, and one of another account.
    sibling = portal_entry(portal)
    sibling.add_to_hass(hass)
    stranger = portal_entry(portal)
    stranger.add_to_hass(hass)
    hass.config_entries.async_update_entry(sibling, unique_id="portal_ZP1ES010M2H99998")
    hass.config_entries.async_update_entry(
        stranger,
        unique_id="portal_ZP1ES010M2H99999",
        data={**stranger.data, const.CONF_CLIENT_CODE: "someone-else"},
    )
    # ZCS issues a new client code: the entry's is refused from now on.
    portal.client_code = "new-client"
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    # Every entry of the domain was set up; each asks for its credentials.
    flows = hass.config_entries.flow.async_progress_by_handler(const.DOMAIN)
    assert {f["context"]["source"] for f in flows} == {"reauth"}
    (flow,) = [f for f in flows if f["context"]["entry_id"] == entry.entry_id]
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_API_KEY: portal.key, const.CONF_CLIENT_CODE: "still-wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_API_KEY: portal.key, const.CONF_CLIENT_CODE: "new-client"}
    )
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "reauth_successful")
    assert entry.data[const.CONF_CLIENT_CODE] == "new-client"
    assert sibling.data[const.CONF_CLIENT_CODE] == "new-client"
    assert stranger.data[const.CONF_CLIENT_CODE] == "someone-else"
    await hass.async_block_till_done(wait_background_tasks=True)
    # The sibling's own request ended with its reload; the other account's still waits.
    flows = hass.config_entries.flow.async_progress_by_handler(const.DOMAIN)
    assert [f["context"]["entry_id"] for f in flows] == [stranger.entry_id]
    assert entry.state.recoverable is not None
    # Reconfigure: the same form; the device stays the same.
    portal.client_code = "newer-client"
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure_portal"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: "nope", const.CONF_CLIENT_CODE: "newer-client"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: portal.key, const.CONF_CLIENT_CODE: "newer-client"}
    )
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "reconfigure_successful")
    assert entry.data[const.CONF_CLIENT_CODE] == "newer-client"
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_options_poll_no_faster_than_a_minute(
    hass: HomeAssistant, portal: SimulatedPortal
) -> None:
    entry = portal_entry(portal)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "portal"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 30.0, const.CONF_BACKFILL_DAYS: 0.0}
    )
    assert result["errors"] == {
        CONF_SCAN_INTERVAL: "portal_scan_interval_range",
        const.CONF_BACKFILL_DAYS: "backfill_days_range",
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 60.0, const.CONF_BACKFILL_DAYS: 14.0}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {CONF_SCAN_INTERVAL: 60, const.CONF_BACKFILL_DAYS: 14}
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_secrets_never_reach_the_log(
    hass: HomeAssistant, portal: SimulatedPortal, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    form = await _portal_form(hass)
    for fault in ("invalid_client", "empty", "offline"):
        setattr(portal.faults, fault, True)
        await hass.config_entries.flow.async_configure(form["flow_id"], _input(portal))
        setattr(portal.faults, fault, False)
    portal.faults.error_page = 502
    await hass.config_entries.flow.async_configure(form["flow_id"], _input(portal))
    assert "Azzurro Portal" in caplog.text
    assert portal.key not in caplog.text
    assert portal.client_code not in caplog.text
