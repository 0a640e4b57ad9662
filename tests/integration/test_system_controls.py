"""The controls of an Azzurro System entry: written through the API, confirmed at the webhook.

The API reports no settings, so a control shows what the last write's callback confirmed
(an assumed state), kept across restarts. Every write goes to the simulated System on
loopback, whose callback comes over real HTTP to the entry's webhook.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from homeassistant.const import ATTR_ASSUMED_STATE, ATTR_ENTITY_ID, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zcs_azzurro import const
from custom_components.zcs_azzurro.api.cloud.portal_source import PortalSource, load_portal_map
from custom_components.zcs_azzurro.api.cloud.system import SystemClient
from custom_components.zcs_azzurro.api.profile.loader import load_bundled
from custom_components.zcs_azzurro.diagnostics import async_get_config_entry_diagnostics
from custom_components.zcs_azzurro.system import REGISTER_MAP, SYSTEM_FIELDS, with_controls
from custom_components.zcs_azzurro.webhook import held_store
from simulator.system import SimulatedSystem

from .test_system import _setup, system_entry

EXPORT_LIMIT = ("number", "export_limit")
EXPORT_MODE = ("select", "export_limit_mode")
STORAGE_MODE = ("select", "storage_mode")
REMOTE = ("switch", "remote_control")
EPS_MODE = ("select", "eps_mode")


@pytest.fixture(autouse=True)
def short_write_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A write waits half a second for its callback (the simulator sends in 10 ms)."""
    monkeypatch.setattr(const, "SYSTEM_WRITE_TIMEOUT", 0.5)


@pytest.fixture
async def loaded(hass: HomeAssistant, system: SimulatedSystem, http: TestClient) -> MockConfigEntry:
    """The simulated inverter's System entry, its webhook reachable at the external URL.

    Its EEPROM groups may be written back to back (the interval has tests of its own).
    """
    return await _setup(hass, system_entry(system, {const.CONF_WRITE_INTERVAL: 0}))


def entity_id(hass: HomeAssistant, control: tuple[str, str]) -> str:
    """The entity id of a System control."""
    platform, key = control
    found = er.async_get(hass).async_get_entity_id(
        platform, const.DOMAIN, f"system_ZP1ES010M2H00017_{key}"
    )
    assert found is not None, key
    return found


def state(hass: HomeAssistant, control: tuple[str, str]) -> tuple[str, Any]:
    """A control's state and whether it says it is assumed."""
    shown = hass.states.get(entity_id(hass, control))
    assert shown is not None
    return shown.state, shown.attributes.get(ATTR_ASSUMED_STATE)


async def call(hass: HomeAssistant, control: tuple[str, str], service: str, **data: Any) -> None:
    """A control's service, as the UI calls it."""
    await hass.services.async_call(
        control[0], service, {ATTR_ENTITY_ID: entity_id(hass, control), **data}, blocking=True
    )


async def test_controls_are_unknown_until_a_write_is_confirmed(
    hass: HomeAssistant, system: SimulatedSystem, loaded: MockConfigEntry
) -> None:
    for control in (EXPORT_LIMIT, EXPORT_MODE, STORAGE_MODE, REMOTE):
        assert state(hass, control) == (STATE_UNKNOWN, True)
    entries = er.async_entries_for_config_entry(er.async_get(hass), loaded.entry_id)
    ids = {entry.unique_id for entry in entries}
    # Groups with registers that are no field cannot be completed without a read: no control.
    assert "system_ZP1ES010M2H00017_depth_of_discharge" not in ids
    assert "system_ZP1ES010M2H00017_passive_battery_max" in ids


async def test_the_eps_mode_goes_with_its_reserved_register_as_public_write_backs_send_it(
    hass: HomeAssistant, system: SimulatedSystem, loaded: MockConfigEntry
) -> None:
    await call(hass, EPS_MODE, "select_option", option="on_cold_start_allowed")
    assert [(w.register, w.values) for w in system.writes] == [(0x1029, [2, 0])]
    assert state(hass, EPS_MODE) == ("on_cold_start_allowed", True)


async def test_a_select_and_a_switch_show_what_the_callback_confirmed(
    hass: HomeAssistant, system: SimulatedSystem, loaded: MockConfigEntry
) -> None:
    await call(hass, STORAGE_MODE, "select_option", option="passive")
    assert (system.writes[-1].register, system.writes[-1].values) == (0x1110, [3])
    assert system.writes[-1].callback_status == [200]
    assert state(hass, STORAGE_MODE) == ("passive", True)
    await call(hass, REMOTE, "turn_off")
    assert (system.writes[-1].register, system.writes[-1].values) == (0x1104, [0])
    assert state(hass, REMOTE) == ("off", True)
    await call(hass, REMOTE, "turn_on")
    assert state(hass, REMOTE) == ("on", True)
    assert system.registers[0x1104] == 1


async def test_a_number_of_a_two_register_group_is_completed_by_what_was_confirmed(
    hass: HomeAssistant, system: SimulatedSystem, loaded: MockConfigEntry
) -> None:
    # The export limit is written with its mode: unknown yet, so nothing is sent.
    with pytest.raises(ServiceValidationError) as refused:
        await call(hass, EXPORT_LIMIT, "set_value", value=3000)
    assert refused.value.translation_key == "system_setting_unknown"
    assert refused.value.translation_placeholders == {
        "settings": entity_id(hass, EXPORT_MODE),
        "first": "0x1023",
        "count": "2",
    }
    assert system.writes == []
    # The group written whole once (the register action) tells both.
    await hass.services.async_call(
        const.DOMAIN,
        "write_registers",
        {"config_entry_id": loaded.entry_id, "address": 0x1023, "values": [1, 50]},
        blocking=True,
        return_response=True,
    )
    assert state(hass, EXPORT_MODE) == ("feed_in_limit", True)
    assert state(hass, EXPORT_LIMIT) == ("5000", True)
    await call(hass, EXPORT_LIMIT, "set_value", value=3000)
    assert (system.writes[-1].register, system.writes[-1].values) == (0x1023, [1, 30])
    assert state(hass, EXPORT_LIMIT) == ("3000", True)
    await call(hass, EXPORT_MODE, "select_option", option="disabled")
    assert system.writes[-1].values == [0, 30]
    assert state(hass, EXPORT_MODE) == ("disabled", True)
    # A value out of the profile's range is refused before anything is sent.
    with pytest.raises(ServiceValidationError) as refused:
        await call(hass, EXPORT_LIMIT, "set_value", value=150)
    assert refused.value.translation_key == "invalid_value"
    assert len(system.writes) == 3


@pytest.mark.parametrize(
    ("fault", "key"),
    [("callback_never", "system_write_timeout"), ("callback_failed", "system_write_failed")],
)
async def test_a_write_not_confirmed_leaves_the_control_as_it_was(
    hass: HomeAssistant,
    system: SimulatedSystem,
    loaded: MockConfigEntry,
    fault: str,
    key: str,
) -> None:
    await call(hass, STORAGE_MODE, "select_option", option="self_use")
    setattr(system.faults, fault, True)
    with pytest.raises(HomeAssistantError) as caught:
        await call(hass, STORAGE_MODE, "select_option", option="passive")
    assert caught.value.translation_key == key
    assert len(system.writes) == 2
    assert state(hass, STORAGE_MODE) == ("self_use", True)


async def test_confirmed_settings_survive_a_restart_and_go_with_the_entry(
    hass: HomeAssistant,
    system: SimulatedSystem,
    loaded: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    await call(hass, STORAGE_MODE, "select_option", option="passive")
    await call(hass, REMOTE, "turn_off")
    key = held_store(hass, loaded.entry_id).key
    assert hass_storage[key]["data"] == {"storage_mode": "passive", "remote_control": "off"}
    diagnostics = await async_get_config_entry_diagnostics(hass, loaded)
    assert diagnostics["portal"]["confirmed_settings"] == hass_storage[key]["data"]
    assert await hass.config_entries.async_reload(loaded.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state(hass, STORAGE_MODE) == ("passive", True)
    assert state(hass, REMOTE) == ("off", True)
    assert state(hass, EXPORT_LIMIT) == (STATE_UNKNOWN, True)
    assert len(system.writes) == 2
    await hass.config_entries.async_remove(loaded.entry_id)
    assert key not in hass_storage


async def test_without_an_external_url_a_control_refuses_and_keeps_its_value(
    hass: HomeAssistant, system: SimulatedSystem, hass_storage: dict[str, Any]
) -> None:
    entry = system_entry(system)
    # What a write before the URL went away confirmed.
    hass_storage[held_store(hass, entry.entry_id).key] = {
        "version": 1,
        "key": held_store(hass, entry.entry_id).key,
        "data": {"storage_mode": "self_use"},
    }
    await _setup(hass, entry)
    assert state(hass, STORAGE_MODE) == ("self_use", True)
    with pytest.raises(HomeAssistantError) as caught:
        await call(hass, STORAGE_MODE, "select_option", option="passive")
    assert caught.value.translation_key == "system_writes_disabled"
    assert system.writes == []
    assert state(hass, STORAGE_MODE) == ("self_use", True)


async def test_the_cloud_down_makes_the_controls_unavailable(
    hass: HomeAssistant, system: SimulatedSystem, loaded: MockConfigEntry
) -> None:
    await call(hass, STORAGE_MODE, "select_option", option="passive")
    system.faults.server_error = 503
    await loaded.runtime_data.coordinator.async_refresh()
    assert state(hass, STORAGE_MODE)[0] == "unavailable"
    system.faults.server_error = None
    await loaded.runtime_data.coordinator.async_refresh()
    assert state(hass, STORAGE_MODE) == ("passive", True)


async def test_a_setting_the_realtime_call_reports_is_read_not_assumed(
    system: SimulatedSystem, tmp_path: Path
) -> None:
    # Should the API report the work mode (as its register's code), the field map names it.
    fields = tmp_path / "system_fields.yaml"
    fields.write_text(
        SYSTEM_FIELDS.read_text(encoding="utf-8")
        + "  - {json: WORK_MODE, key: storage_mode, platform: select}\n",
        encoding="utf-8",
    )
    local = next(p for p in load_bundled() if p.id == REGISTER_MAP)
    system.reported = {"WORK_MODE": 3}
    held = {"storage_mode": "self_use", "remote_control": "off"}
    async with aiohttp.ClientSession() as session:
        client = SystemClient(session, system.token, system.plant, url=system.url)
        for answered, expected in ((["P_PV", "WORK_MODE"], "passive"), (["P_PV"], "self_use")):
            system_map = with_controls(load_portal_map(fields).narrowed(answered), local)
            source = PortalSource(client, system.device, system_map, held=held)
            assert ("storage_mode" in source.assumed) is (expected == "self_use")
            assert "remote_control" in source.assumed
            reading = await source.read(["storage_mode", "remote_control"])
            assert reading.values == {"storage_mode": expected, "remote_control": "off"}
