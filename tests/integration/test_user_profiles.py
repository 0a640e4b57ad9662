"""User profiles in Home Assistant: picked in the flow, named by the file, a bad file repaired."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zcs_azzurro import const
from custom_components.zcs_azzurro.profiles import issue_id, user_directory
from simulator.eth import EthStick
from simulator.system import SimulatedSystem

from .conftest import MODEL, SERIAL, entity_id, entry_data
from .test_system import system_entry

# A user's cut-down map of the 3PH HYD: two readings, named in English and Italian.
MINE = """\
id: my_hyd
name: My HYD map
manufacturer: ZCS Azzurro
model: My HYD
sources: ["my own notes"]
match:
  serial_prefixes: [ZP9]
reads:
  max_registers: 60
  blocks:
    - [0x0445, 0x047F]
    - [0x0484, 0x04BF]
identity:
  - {key: serial, type: str, address: 0x0445, count: 8}
fields:
  - key: frequency_of_my_grid
    name: {en: Grid frequency, it: Frequenza di rete}
    type: u16
    address: 0x0484
    scale: 0.01
    platform: sensor
    device_class: frequency
    state_class: measurement
    unit: Hz
  - key: my_load
    type: u16
    name: House load
    address: 0x04AF
    scale: 10
    platform: sensor
    device_class: power
    state_class: measurement
    unit: W
"""


def _save(hass: HomeAssistant, name: str, text: str) -> None:
    directory = user_directory(hass)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(text, encoding="utf-8")


def _save_bytes(hass: HomeAssistant, name: str, content: bytes) -> None:
    (user_directory(hass) / name).write_bytes(content)


@pytest.fixture
def user_profiles(hass: HomeAssistant, tmp_path: Path) -> Path:
    """The user's profile folder, in a configuration folder of the test's own."""
    hass.config.config_dir = str(tmp_path)
    return user_directory(hass)


async def _to_profile_step(hass: HomeAssistant, stick: EthStick) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(
        const.DOMAIN, context={"source": SOURCE_USER}
    )
    if result["type"] is FlowResultType.MENU:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": const.LINK_ETH}
        )
    form = {CONF_HOST: "127.0.0.1", CONF_PORT: float(stick.port), const.CONF_UNIT_ID: 1.0}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**form, "choose_profile": True}
    )
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "profile")
    return result


async def test_the_flow_shows_the_profile_detected_and_takes_a_users_own(
    hass: HomeAssistant, stick: EthStick, user_profiles: Path
) -> None:
    hass.config.language = "it"
    _save(hass, "my_hyd.yaml", MINE)
    broken = MINE.replace("id: my_hyd", "id: broken").replace("type: u16", "type: u17", 1)
    _save(hass, "broken.yaml", broken)
    result = await _to_profile_step(hass, stick)
    assert result["description_placeholders"]["detected"] == MODEL
    schema = result["data_schema"].schema
    (key,) = schema
    assert key.default() == "zcs_3ph_hyd_zss"
    offered = [option["value"] for option in schema[key].config["options"]]
    assert "zcs_3ph_hyd_zss" in offered
    assert "my_hyd" in offered
    # The bad file is listed, so that choosing it says where it is wrong.
    assert "file:broken.yaml" in offered
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"profile": "file:broken.yaml"}
    )
    assert result["errors"] == {"base": "profile_invalid"}
    placeholders = result["description_placeholders"]
    assert (placeholders["file"], placeholders["line"], placeholders["field"]) == (
        "broken.yaml",
        "18",
        "fields[0].type",
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"profile": "my_hyd"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][const.CONF_PROFILE] == "my_hyd"
    assert result["title"] == "My HYD map (00017)"
    await hass.async_block_till_done(wait_background_tasks=True)
    # The entities carry the file's names, in the user's language where it gives one.
    frequency = hass.states.get(entity_id(hass, "frequency_of_my_grid"))
    assert frequency is not None
    assert frequency.name == "My HYD map (00017) Frequenza di rete"
    assert float(frequency.state) == pytest.approx(50.0, abs=0.05)
    load = hass.states.get(entity_id(hass, "my_load"))
    assert load is not None
    assert load.name == "My HYD map (00017) House load"


async def test_the_detected_profile_is_kept_when_not_changed(
    hass: HomeAssistant, stick: EthStick, user_profiles: Path
) -> None:
    result = await _to_profile_step(hass, stick)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"profile": "zcs_3ph_hyd_zss"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][const.CONF_MODEL] == MODEL


async def test_an_entry_whose_profile_file_breaks_gets_a_repair_issue(
    hass: HomeAssistant, stick: EthStick, user_profiles: Path
) -> None:
    _save(hass, "my_hyd.yaml", MINE.replace("scale: 10\n", "scale: ten\n"))
    data = {
        const.CONF_LINK: const.LINK_ETH,
        const.CONF_FRAMING: "rtu_over_tcp",
        CONF_HOST: "127.0.0.1",
        CONF_PORT: stick.port,
        const.CONF_UNIT_ID: 1,
        const.CONF_PROFILE: "my_hyd",
        const.CONF_MODEL: "My HYD",
    }
    entry = MockConfigEntry(domain=const.DOMAIN, unique_id=SERIAL, data=data)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    issue = ir.async_get(hass).async_get_issue(const.DOMAIN, issue_id(entry.entry_id))
    assert issue is not None
    assert issue.translation_key == "profile_invalid"
    assert issue.translation_placeholders == {
        "file": "my_hyd.yaml",
        "line": "29",
        "field": "fields[1].scale",
        "problem": "must be a non-zero number",
    }
    # Fixed and reloaded: the entry sets up and the issue goes.
    _save(hass, "my_hyd.yaml", MINE)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert ir.async_get(hass).async_get_issue(const.DOMAIN, issue_id(entry.entry_id)) is None


async def test_a_file_that_does_not_parse_fails_only_the_entry_that_uses_it(
    hass: HomeAssistant, stick: EthStick, system: SimulatedSystem, user_profiles: Path
) -> None:
    # Saved by a Windows editor (cp1252), and one nested beyond what the parser allows.
    _save(hass, "deep.yaml", "id: " + "[" * 5000 + "]" * 5000 + "\n")
    _save_bytes(
        hass, "my_hyd.yaml", MINE.replace("Frequenza di rete", "Frequenza è").encode("cp1252")
    )
    bundled = MockConfigEntry(domain=const.DOMAIN, unique_id=SERIAL, data=entry_data(stick.port))
    mine = MockConfigEntry(
        domain=const.DOMAIN,
        unique_id="ZP9ES010M2H00099",
        data=entry_data(stick.port, unit_id=2, profile="my_hyd", model="My HYD"),
    )
    cloud = system_entry(system)
    for entry in (bundled, mine, cloud):
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert bundled.state is ConfigEntryState.LOADED
    assert cloud.state is ConfigEntryState.LOADED
    assert mine.state is ConfigEntryState.SETUP_ERROR
    issue = ir.async_get(hass).async_get_issue(const.DOMAIN, issue_id(mine.entry_id))
    assert issue is not None
    assert issue.translation_placeholders == {
        "file": "my_hyd.yaml",
        "line": "17",
        "field": "(file)",
        "problem": "is not UTF-8 text: save it as UTF-8",
    }
    assert ir.async_get(hass).async_get_issue(const.DOMAIN, issue_id(bundled.entry_id)) is None
