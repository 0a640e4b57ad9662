"""Everything a user reads exists in English and Italian (hassfest cannot run here)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from custom_components.zcs_azzurro.api.profile.loader import load_bundled
from custom_components.zcs_azzurro.api.profile.schema import GroupKind, Profile
from custom_components.zcs_azzurro.config_flow import (
    CLOUDS,
    DECIMAL_RANGES,
    ETH_SCHEMA,
    LINK_FORMS,
    OPTIONS_SCHEMA,
    PORTAL_OPTIONS_SCHEMA,
    RANGES,
    WIFI_SCHEMA,
)
from custom_components.zcs_azzurro.coordinator import WRITE_ERRORS
from custom_components.zcs_azzurro.proxy import PORT_PROBLEMS

COMPONENT = Path(__file__).parents[2] / "custom_components" / "zcs_azzurro"


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((COMPONENT / name).read_text(encoding="utf-8"))
    return loaded


def _paths(tree: dict[str, Any], prefix: str = "") -> set[str]:
    paths = set()
    for key, value in tree.items():
        if isinstance(value, dict):
            paths |= _paths(value, f"{prefix}{key}.")
        else:
            assert isinstance(value, str), f"{prefix}{key}"
            assert value.strip(), f"{prefix}{key} is empty"
            paths.add(f"{prefix}{key}")
    return paths


def test_english_is_strings_json_and_italian_has_every_key() -> None:
    strings = _load("strings.json")
    assert _load("translations/en.json") == strings
    assert _paths(_load("translations/it.json")) == _paths(strings)


def test_every_entity_state_and_icon_of_the_bundled_profiles_is_translated() -> None:
    profiles = load_bundled()
    for language in ("en", "it"):
        entity = _load(f"translations/{language}.json")["entity"]
        # A key shared by profiles has the states of them all (1PH HYD has fewer modes).
        states: dict[tuple[str, str], set[str]] = {}
        for profile in profiles:
            for field, shown in profile.entities():
                names = entity[shown.platform]
                assert field.key in names, (language, profile.id, field.key)
                if field.options:
                    key = (shown.platform, field.key)
                    states.setdefault(key, set()).update(field.options.values())
            for group in profile.groups:
                if group.kind is GroupKind.CLOCK:
                    assert group.key in entity["button"], (language, group.key)
        for (platform, key), options in states.items():
            assert set(entity[platform][key]["state"]) == options, (language, key)
    icons = _load("icons.json")["entity"]
    known = {(f.presentation.platform, f.key) for p in profiles for f in p.fields if f.presentation}
    known |= {
        ("button", group.key)
        for p in profiles
        for group in p.groups
        if group.kind is GroupKind.CLOCK
    }
    assert {(p, key) for p, keys in icons.items() for key in keys} <= known


def test_every_translation_key_the_code_raises_or_shows_exists() -> None:
    strings = _load("strings.json")
    code = "\n".join(path.read_text() for path in COMPONENT.glob("*.py"))
    raised = set(re.findall(r'translation_key="([a-z_]+)"', code))
    assert raised
    # Repair issues are translated under "issues", everything raised under "exceptions".
    raised -= set(strings["issues"])
    assert raised | set(WRITE_ERRORS.values()) <= set(strings["exceptions"])
    flow = (COMPONENT / "config_flow.py").read_text()
    # Form errors are (field, key) pairs in the probe's table, or {"base": key}.
    pairs = re.findall(
        r'\((?:"base"|CONF_HOST), "(\w+)"\)|\{(?:"base"|CONF_THING_KEY): "(\w+)"\}', flow
    )
    errors = {first or second for first, second in pairs} | {
        key for cloud in CLOUDS.values() for key in cloud.errors.values()
    }
    # Links word some errors their own way.
    errors |= {key for form in LINK_FORMS.values() for key in form.errors.values()}
    # A plant's members are checked in its own steps.
    plant = (COMPONENT / "plant_flow.py").read_text()
    errors |= set(re.findall(r'errors\[CONF_INVERTERS\] = "(\w+)"', plant))
    # A number out of range is its field's error: "<field>_range".
    ranged = {
        f"{key}_range"
        for schema in (ETH_SCHEMA, WIFI_SCHEMA)
        for key in map(str, schema.schema)
        if key in RANGES
    }
    assert errors | ranged == set(strings["config"]["error"])
    options = {
        f"{key}_range"
        for key in [*map(str, OPTIONS_SCHEMA.schema), *DECIMAL_RANGES]
        if key in RANGES or key in DECIMAL_RANGES
    }
    options |= {f"{key}_range" for key in map(str, PORTAL_OPTIONS_SCHEMA.schema)}
    options |= {"portal_scan_interval_range", *PORT_PROBLEMS}
    assert options == set(strings["options"]["error"])
    reasons = set(re.findall(r'reason="(\w+)"', flow))
    assert reasons == {
        "wrong_device",
        "reconfigure_successful",
        "already_configured",
        "stick_moved",
        "entry_gone",
    }
    assert "reauth_successful" in strings["config"]["abort"]
    assert reasons <= set(strings["config"]["abort"])


def test_dc_quantities_have_the_dc_icon_and_the_running_state_its_own(profile: Profile) -> None:
    icons = _load("icons.json")["entity"]["sensor"]
    dc = {
        field.key
        for field, shown in profile.entities("sensor")
        if shown.device_class in {"voltage", "current"} and field.key.startswith(("pv", "battery"))
    }
    assert len(dc) == 4 + 2 * 8  # PV 1-2, battery inputs 1-8: voltage and current each
    assert {icons[key]["default"] for key in dc} == {"mdi:current-dc"}
    running = icons["running_state"]
    its_own = {running["default"], *running["state"].values()}
    elsewhere = {
        icon
        for key, entry in icons.items()
        if key != "running_state"
        for icon in (entry["default"], *entry.get("state", {}).values())
    }
    assert not its_own & elsewhere


def test_every_number_field_states_its_range_where_it_is_asked_and_when_it_is_wrong() -> None:
    for language in ("en", "it"):
        strings = _load(f"translations/{language}.json")
        forms = [
            *((strings["config"]["step"][link], strings["config"]["error"]) for link in LINK_FORMS),
            (strings["config"]["step"]["reconfigure"], strings["config"]["error"]),
            (strings["config"]["step"]["wifi_manual"], strings["config"]["error"]),
            (strings["config"]["step"]["reconfigure_wifi"], strings["config"]["error"]),
            (strings["options"]["step"]["init"], strings["options"]["error"]),
        ]
        for step, errors in forms:
            for key in step["data"]:
                if key not in RANGES:
                    continue
                low, high = RANGES[key]
                for text in (step["data_description"][key], errors[f"{key}_range"]):
                    assert re.search(rf"\b{low}\b.*\b{high}\b", text), (language, key, text)


def test_flow_errors_hold_no_placeholder_for_exception_text() -> None:
    # The flow fills in serial numbers (the inverter's; the logger's it answered with), where
    # a profile file is bad, and the model and function codes a link cannot carry; an
    # exception's text goes to the debug log.
    for language in ("en", "it"):
        strings = _load(f"translations/{language}.json")
        for section in ("config", "options"):
            for key, text in strings[section]["error"].items():
                placeholders = set(re.findall(r"\{(\w+)\}", text))
                allowed = {"serial", "logger", "file", "line", "field", "model", "functions"}
                assert placeholders <= allowed, (language, key)
