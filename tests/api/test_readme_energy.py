"""The README's Energy dashboard table names, for each profile, entities the profile has."""

from __future__ import annotations

import json
import re
from pathlib import Path

from custom_components.zcs_azzurro.api.profile.loader import load_bundled

ROOT = Path(__file__).parents[2]
# The Energy dashboard's slots: what each column of the table may name.
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


def _rows() -> dict[str, list[str]]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("| Profile | Grid: import / export / power |", 1)[1].split("\n\n", 1)[0]
    rows = [line.strip("|").split("|") for line in table.splitlines()[2:]]
    # The README writes ranges with an en dash (U+2013), the profiles with a hyphen.
    return {
        cells[0].strip().replace("\u2013", "-"): [cell.strip() for cell in cells[1:]]
        for cells in rows
    }


def test_each_profile_row_names_its_own_entities_in_each_slot() -> None:
    english = json.loads(
        (ROOT / "custom_components/zcs_azzurro/strings.json").read_text(encoding="utf-8")
    )["entity"]["sensor"]
    names = {entry["name"]: key for key, entry in english.items()}
    rows = _rows()
    profiles = {p.name: p for p in load_bundled()}
    # The two meters share a row (they have the same entities).
    profiles["Chint DTSU666 / DDSU666"] = profiles.pop("Chint DTSU666 (three-phase meter)")
    del profiles["Chint DDSU666 (single-phase meter)"]
    assert rows.keys() == profiles.keys()
    for row, profile in profiles.items():
        keys = {field.key for field, _ in profile.entities("sensor")}
        named: set[str] = set()
        for slot, cell in zip(SLOTS, rows[row], strict=True):
            # Entity names are the phrases between "/", ";", ":" and parentheses.
            phrases = {p.strip() for p in re.split(r"[/;:()]", cell)}
            found = {names[p] for p in phrases if p in names}
            assert found <= SLOTS[slot], (row, slot, found - SLOTS[slot])
            assert found <= keys, (row, slot, found - keys)
            named |= found
        # Every slot the profile can fill is filled.
        fillable = {key for slot in SLOTS.values() for key in slot} & keys
        assert named == fillable, (row, fillable - named)
