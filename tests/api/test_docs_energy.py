"""The Energy dashboard pages name, for each profile, entities the profile has, in each slot."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from custom_components.zcs_azzurro.api.profile.loader import load_bundled

ROOT = Path(__file__).parents[2]
COMPONENT = ROOT / "custom_components" / "zcs_azzurro"
# The page of each language, and where its names come from.
PAGES = {
    "en": ("docs/energy.md", "strings.json"),
    "it": ("docs/energy.it.md", "translations/it.json"),
}
# The Energy dashboard's slots: what each column of the per-profile table may name.
SLOTS = {
    "grid": {"grid_import_energy_total", "grid_export_energy_total", "grid_power"},
    "solar": {"pv_energy_total", "pv_power"},
    "battery": {
        "battery_charge_energy_total",
        "battery_discharge_energy_total",
        "battery_power",
        "battery_soc",
        "battery_total_power",
        "battery_average_soc",
    },
}


def _names(language: str) -> dict[str, str]:
    """Sensor names in the page's language, and their keys."""
    strings = json.loads((COMPONENT / PAGES[language][1]).read_text(encoding="utf-8"))
    return {entry["name"]: key for key, entry in strings["entity"]["sensor"].items()}


def _tables(language: str) -> list[list[list[str]]]:
    text = (ROOT / PAGES[language][0]).read_text(encoding="utf-8")
    tables = re.findall(r"((?:^\|.*\n)+)", text, flags=re.MULTILINE)
    return [[row.strip().strip("|").split("|") for row in t.splitlines()[2:]] for t in tables]


def _phrases(cell: str) -> set[str]:
    # Entity names are the phrases between "/", ";", ":" and parentheses.
    return {p.strip() for p in re.split(r"[/;:()]", cell)}


@pytest.mark.parametrize("language", PAGES)
def test_the_first_table_names_the_3ph_hyd_entity_for_each_field(language: str) -> None:
    names = _names(language)
    first = _tables(language)[0]
    keys = [names[cell.split("(")[0].strip()] for *_, cell in first]
    profile = next(p for p in load_bundled() if p.id == "zcs_3ph_hyd_zss")
    assert set(keys) <= {field.key for field, _ in profile.entities("sensor")}
    slots = {key for slot in SLOTS.values() for key in slot} - {
        "battery_total_power",
        "battery_average_soc",
    }
    assert sorted(keys) == sorted(slots)


@pytest.mark.parametrize("language", PAGES)
def test_each_profile_row_names_its_own_entities_in_each_slot(language: str) -> None:
    names = _names(language)
    # The pages write ranges with an en dash (U+2013), the profiles with a hyphen.
    rows = {
        cells[0].strip().replace("\u2013", "-"): [cell.strip() for cell in cells[1:]]
        for cells in _tables(language)[1]
    }
    profiles = {p.name: p for p in load_bundled()}
    # The two meters share a row (they have the same entities).
    profiles["Chint DTSU666 / DDSU666"] = profiles.pop("Chint DTSU666 (three-phase meter)")
    del profiles["Chint DDSU666 (single-phase meter)"]
    assert rows.keys() == profiles.keys()
    for row, profile in profiles.items():
        keys = {field.key for field, _ in profile.entities("sensor")}
        named: set[str] = set()
        for slot, cell in zip(SLOTS, rows[row], strict=True):
            found = {names[p] for p in _phrases(cell) if p in names}
            assert found <= SLOTS[slot], (row, slot, found - SLOTS[slot])
            assert found <= keys, (row, slot, found - keys)
            named |= found
        # Every slot the profile can fill is filled.
        fillable = {key for slot in SLOTS.values() for key in slot} & keys
        assert named == fillable, (row, fillable - named)
