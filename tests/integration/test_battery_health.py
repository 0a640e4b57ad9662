"""ZCS's winter deep-discharge pattern of ZBT-5K / BTS-5K towers, as a repair issue."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zcs_azzurro import const
from custom_components.zcs_azzurro.battery_health import KB_516, deep_discharge, recovered
from simulator.devices.hyd_3ph import Hyd3ph

from .conftest import poll

SOC = 0x0608
# Fault IDs count from bit 0 of 0x0405 (ID001): ID124 and ID125 are bits 11 and 12 of 0x040C.
FAULTS = 0x040C


def _issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(
        const.DOMAIN, f"battery_deep_discharge_{entry.entry_id}"
    )


async def _shows(hass: HomeAssistant, inverter: Hyd3ph, soc: int, faults: int) -> None:
    inverter.pin(SOC, [soc])
    inverter.pin(FAULTS, [faults])
    for _ in range(2):  # a new alarm is published once read twice
        await poll(hass)


async def test_a_tower_at_zero_with_the_discharge_codes_is_a_repair_until_it_recovers(
    hass: HomeAssistant, inverter: Hyd3ph, loaded_entry: MockConfigEntry
) -> None:
    # 0 % alone is no deep discharge (KB 516).
    await _shows(hass, inverter, 0, 0)
    assert _issue(hass, loaded_entry) is None
    await _shows(hass, inverter, 0, 1 << 11 | 1 << 12)  # ID124, ID125
    issue = _issue(hass, loaded_entry)
    assert issue is not None
    assert issue.translation_key == "battery_deep_discharge"
    assert issue.translation_placeholders == {
        "title": loaded_entry.title,
        "codes": "ID124, ID125",
    }
    assert issue.learn_more_url == KB_516
    # Charging again, but not yet above the floor: it stays.
    await _shows(hass, inverter, 3, 0)
    assert _issue(hass, loaded_entry) is not None
    await _shows(hass, inverter, 20, 0)
    assert _issue(hass, loaded_entry) is None


def test_an_empty_input_reading_zero_is_no_tower_at_zero() -> None:
    values = {"battery_soc": 50, "battery2_soc": 0, "fault": (124,)}
    assert deep_discharge(values, ["battery_soc"]) is None
    assert deep_discharge(values, ["battery_soc", "battery2_soc"]) == (124,)
    # The BMS lost (ID157-ID160) with a tower at 0 %, and a Portal's ID814.
    assert deep_discharge({"battery_soc": 0, "fault": (157,)}, ["battery_soc"]) == (157,)
    assert deep_discharge({"battery_soc": 0, "alarm": (814,)}, ["battery_soc"]) == (814,)
    assert not recovered({"battery_soc": 50, "alarm": (814,)}, ["battery_soc"])
    assert recovered({"battery_soc": 50, "alarm": ()}, ["battery_soc"])
