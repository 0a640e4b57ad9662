"""A field public maps disagree on, or none has, says so on its entity, in the user's words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zcs_azzurro.api.profile.loader import load_bundled
from custom_components.zcs_azzurro.entity import EVIDENCE

from .conftest import poll, state

COMPONENT = Path(__file__).parents[2] / "custom_components" / "zcs_azzurro"


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_a_doubted_field_names_its_evidence_and_a_confirmed_one_nothing(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    await poll(hass)  # the entities enabled here are read from the first poll they listen
    assert state(hass, "running_state").attributes[EVIDENCE] == "contested"
    assert state(hass, "battery_state").attributes[EVIDENCE] == "unconfirmed"
    assert state(hass, "running_state").state == "grid_connected"
    # Declared differences that do not matter (a signed PV current) leave it confirmed.
    assert EVIDENCE not in state(hass, "pv1_current").attributes
    assert EVIDENCE not in state(hass, "grid_power").attributes


def test_every_doubted_field_has_its_evidence_translated() -> None:
    doubted = {
        (shown.platform, field.key, str(field.evidence.status))
        for profile in load_bundled()
        for field, shown in profile.entities()
        if field.evidence is not None and field.evidence.doubted
    }
    assert doubted
    for language in ("en", "it"):
        entities = json.loads((COMPONENT / f"translations/{language}.json").read_text())["entity"]
        for platform, key, status in doubted:
            attribute = entities[platform][key]["state_attributes"][EVIDENCE]
            assert attribute["name"], (language, key)
            assert attribute["state"][status], (language, key, status)
