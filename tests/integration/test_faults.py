"""Fault IDs as words: the Active fault sensor's text in English and Italian, and the event."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.translation import async_get_translations
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.zcs_azzurro import alarms
from custom_components.zcs_azzurro.alarms import EVENT_ALARM, FAULT_TEXTS, fault_ids
from custom_components.zcs_azzurro.api.profile.loader import load_bundled
from custom_components.zcs_azzurro.const import DOMAIN
from simulator.devices.hyd_3ph import Hyd3ph

from .conftest import SERIAL, poll

COMPONENT = Path(alarms.__file__).parent
# Bit 1 of 0x0405 is ID002, bit 9 ID010.
GRID_UNDERVOLTAGE = 0b10
TRANSIENT_OVERVOLTAGE = 0b10_0000_0000


def _active_fault(hass: HomeAssistant) -> str:
    found = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{SERIAL}_active_fault")
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("language", "name", "text"),
    [
        ("en", "Active fault", "Grid undervoltage protection (ID002)"),
        ("it", "Guasto attivo", "Protezione da sottotensione di rete (ID002)"),
    ],
)
async def test_a_fault_shows_as_its_text(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    inverter: Hyd3ph,
    language: str,
    name: str,
    text: str,
) -> None:
    hass.config.language = language
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    shown = hass.states.get(_active_fault(hass))
    assert shown is not None
    assert shown.state == "none"
    assert shown.attributes["friendly_name"].endswith(name)
    # A new fault is published once read twice (the profile's confirm check).
    inverter.pin(0x0405, [GRID_UNDERVOLTAGE | TRANSIENT_OVERVOLTAGE])
    await poll(hass)
    await poll(hass)
    shown = hass.states.get(_active_fault(hass))
    assert shown is not None
    assert (shown.state, shown.attributes["codes"]) == ("id002", ["ID002", "ID010"])
    # What the frontend shows for that state, in the user's language.
    strings = await async_get_translations(hass, language, "entity", [DOMAIN])
    assert strings[f"component.{DOMAIN}.entity.sensor.fault_g3.state.id002"] == text
    assert strings[f"component.{DOMAIN}.entity.sensor.fault_g3.state.none"]


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Grid voltage transient overvoltage 2 (ID010)"),
        ("it", "Sovratensione transitoria di rete 2 (ID010)"),
    ],
)
async def test_a_new_fault_fires_the_alarm_event_with_its_text(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    inverter: Hyd3ph,
    language: str,
    text: str,
) -> None:
    hass.config.language = language
    inverter.pin(0x0405, [GRID_UNDERVOLTAGE])
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    events = async_capture_events(hass, EVENT_ALARM)
    # Active at setup: the baseline, not announced again after a restart.
    await poll(hass)
    assert events == []
    inverter.pin(0x0405, [GRID_UNDERVOLTAGE | TRANSIENT_OVERVOLTAGE])
    await poll(hass)
    await poll(hass)
    assert [event.data["code"] for event in events] == [10]
    assert events[0].data["text"] == text
    assert events[0].data["codes"] == [2, 10]
    assert events[0].data["entry_id"] == config_entry.entry_id


def _states(language: str, texts: str) -> dict[str, str]:
    name = "strings.json" if language == "strings" else f"translations/{language}.json"
    strings = json.loads((COMPONENT / name).read_text(encoding="utf-8"))
    states: dict[str, str] = strings["entity"]["sensor"][texts]["state"]
    return states


@pytest.mark.parametrize("texts", sorted(set(FAULT_TEXTS.values())))
def test_every_fault_text_is_in_both_languages_and_names_an_id_of_its_map(texts: str) -> None:
    english, italian = _states("en", texts), _states("it", texts)
    assert english == _states("strings", texts)
    assert english.keys() == italian.keys()
    profiles = {p.id: p for p in load_bundled()}
    users = [profiles[pid] for pid, name in FAULT_TEXTS.items() if name == texts]
    for profile in users:
        ids = {f"id{code:03d}" for code in fault_ids(profile)}
        assert set(english) - {"none"} <= ids, profile.id
    for key, text in english.items():
        if key != "none":
            # The ID is in the words too, as the inverter's display writes it.
            assert text.endswith(f"(ID{key[2:]})")
            assert italian[key].endswith(f"(ID{key[2:]})")
            assert italian[key] != text


def test_every_bundled_profile_with_a_fault_field_has_texts() -> None:
    with_faults = {p.id for p in load_bundled() if any(f.key == alarms.FAULT_KEY for f in p.fields)}
    assert with_faults == set(FAULT_TEXTS)
