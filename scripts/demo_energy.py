"""The demo's Energy dashboard: which of the inverter's entities go where, and the check.

The entities are found by the fields they show (their unique id is `<serial>_<field key>`),
never by entity id: names, and so entity ids, may change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Field keys of the profile, by the place they take in the Energy preferences of Home
# Assistant 2026.10 (homeassistant/components/energy/data.py).
GRID_IMPORT = "grid_import_energy_total"
GRID_EXPORT = "grid_export_energy_total"
GRID_POWER = "grid_power"  # positive when importing, as the grid's power setting wants
PV_ENERGY = "pv_energy_total"
PV_POWER = "pv_power"
BATTERY_DISCHARGE = "battery_discharge_energy_total"  # energy coming out of the battery
BATTERY_CHARGE = "battery_charge_energy_total"  # energy going in
BATTERY_POWER = "battery_power"  # positive when discharging, as the battery's setting wants
BATTERY_SOC = "battery_soc"

KEYS = (
    GRID_IMPORT, GRID_EXPORT, GRID_POWER, PV_ENERGY, PV_POWER,
    BATTERY_DISCHARGE, BATTERY_CHARGE, BATTERY_POWER, BATTERY_SOC,
)  # fmt: skip
# With a second battery tower, the totals over both take the places of input 1's own.
INSTEAD = {BATTERY_POWER: "battery_total_power", BATTERY_SOC: "battery_average_soc"}
# The counters whose statistics the Energy dashboard draws.
COUNTERS = (GRID_IMPORT, GRID_EXPORT, PV_ENERGY, BATTERY_DISCHARGE, BATTERY_CHARGE)


def entities_by_key(
    entry_id: str, devices: list[dict[str, Any]], registry: list[dict[str, Any]], domain: str
) -> dict[str, str]:
    """Field key -> entity id, for the entities of one config entry (from the registries)."""
    serials = {
        identifier[1]
        for device in devices
        if entry_id in device["config_entries"]
        for identifier in device["identifiers"]
        if identifier[0] == domain
    }
    return {
        entity["unique_id"].removeprefix(f"{serial}_"): entity["entity_id"]
        for serial in serials
        for entity in registry
        if entity["platform"] == domain
        and entity["config_entry_id"] == entry_id
        and entity["unique_id"].startswith(f"{serial}_")
        and entity["disabled_by"] is None
    }


def placed(entity: Mapping[str, str]) -> dict[str, str]:
    """The entity in each place (by its key in KEYS) the device can fill."""
    return {key: entity.get(INSTEAD.get(key, ""), entity[key]) for key in KEYS if key in entity}


def preferences(entities: Mapping[str, str]) -> dict[str, Any]:
    """The Energy preferences (energy/save_prefs) for one device's entities.

    A source (grid, solar, battery) is added where the device has its counters (a meter has
    no solar or battery, a string inverter no grid or battery); power and state of charge
    where the source has them (a cloud may report no grid or battery power).
    """
    entity = placed(entities)

    def rate(key: str) -> dict[str, Any]:
        return {"power_config": {"stat_rate": entity[key]}} if key in entity else {}

    sources: list[dict[str, Any]] = []
    if GRID_IMPORT in entity and GRID_EXPORT in entity:
        sources.append(
            {
                "type": "grid",
                "stat_energy_from": entity[GRID_IMPORT],
                "stat_energy_to": entity[GRID_EXPORT],
                **rate(GRID_POWER),
                "cost_adjustment_day": 0,
            }
        )
    if PV_ENERGY in entity:
        solar_rate = {"stat_rate": entity[PV_POWER]} if PV_POWER in entity else {}
        sources.append(
            {
                "type": "solar",
                "stat_energy_from": entity[PV_ENERGY],
                **solar_rate,
                "config_entry_solar_forecast": None,
            }
        )
    if BATTERY_DISCHARGE in entity and BATTERY_CHARGE in entity:
        soc = {"stat_soc": entity[BATTERY_SOC]} if BATTERY_SOC in entity else {}
        sources.append(
            {
                "type": "battery",
                "stat_energy_from": entity[BATTERY_DISCHARGE],
                "stat_energy_to": entity[BATTERY_CHARGE],
                **rate(BATTERY_POWER),
                **soc,
            }
        )
    return {"energy_sources": sources, "device_consumption": []}


def used(prefs: Mapping[str, Any]) -> set[str]:
    """Every statistic or entity id the preferences' sources name."""
    names: set[str] = set()
    for source in prefs.get("energy_sources", []):
        for key, value in source.items():
            if key.startswith("stat_") and isinstance(value, str):
                names.add(value)
            if key == "power_config":
                names.update(value.values())
    return names
