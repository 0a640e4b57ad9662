"""scripts/demo --device: every simulated device, passed to the simulator."""

from __future__ import annotations

import sys

import pytest

from custom_components.zcs_azzurro.api.profile.loader import load_bundled
from scripts import demo, demo_energy
from simulator.devices import DEVICES


def test_every_simulated_device_can_be_demonstrated() -> None:
    assert set(demo.DETECTED) | set(demo.METERS) == set(DEVICES)
    assert not set(demo.DETECTED) & set(demo.METERS)


def test_a_meter_is_added_by_a_bundled_profile_that_names_no_serial() -> None:
    profiles = {profile.id: profile for profile in load_bundled()}
    for profile_id in demo.METERS.values():
        assert profiles[profile_id].serial_prefixes == ()


@pytest.mark.parametrize("device", [*demo.DETECTED, *demo.METERS])
def test_the_device_flag_is_the_demos_and_other_flags_the_simulators(
    device: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["demo", "--device", device, "--delay", "2"])
    options, simulator_flags = demo.arguments()
    assert options.device == device
    assert simulator_flags == ["--delay", "2"]


@pytest.mark.parametrize("link", sorted(set(demo.LINKS) - set(demo.METER_LINKS)))
def test_a_meter_is_shown_only_where_a_meter_is_reached(
    link: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["demo", "--device", "ddsu666", "--link", link])
    with pytest.raises(SystemExit):
        demo.arguments()
    assert "a meter is shown over --link eth or rs485" in capsys.readouterr().err


def test_a_meter_is_not_shown_through_a_shared_connection(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["demo", "--device", "dtsu666", "--proxy", "5020"])
    with pytest.raises(SystemExit):
        demo.arguments()
    assert "a meter has no serial number" in capsys.readouterr().err


def test_an_unknown_device_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["demo", "--device", "toaster"])
    with pytest.raises(SystemExit):
        demo.arguments()


def test_the_energy_dashboard_takes_the_sources_a_device_has() -> None:
    meter = {
        demo_energy.GRID_IMPORT: "sensor.dtsu666_import",
        demo_energy.GRID_EXPORT: "sensor.dtsu666_export",
        demo_energy.GRID_POWER: "sensor.dtsu666_power",
    }
    (grid,) = demo_energy.preferences(meter)["energy_sources"]
    assert grid["type"] == "grid"
    assert demo_energy.used({"energy_sources": [grid]}) == set(meter.values())
    string_inverter = {demo_energy.PV_ENERGY: "sensor.pv", demo_energy.PV_POWER: "sensor.pv_w"}
    (solar,) = demo_energy.preferences(string_inverter)["energy_sources"]
    assert (solar["type"], solar["stat_rate"]) == ("solar", "sensor.pv_w")
    assert demo_energy.preferences({})["energy_sources"] == []


def test_with_a_second_tower_the_battery_totals_go_to_the_energy_dashboard() -> None:
    one_tower = {
        demo_energy.BATTERY_CHARGE: "sensor.charge",
        demo_energy.BATTERY_DISCHARGE: "sensor.discharge",
        demo_energy.BATTERY_POWER: "sensor.battery_power",
        demo_energy.BATTERY_SOC: "sensor.battery_soc",
    }
    (battery,) = demo_energy.preferences(one_tower)["energy_sources"]
    assert (battery["power_config"]["stat_rate"], battery["stat_soc"]) == (
        "sensor.battery_power",
        "sensor.battery_soc",
    )
    two_towers = one_tower | {
        "battery_total_power": "sensor.total_power",
        "battery_average_soc": "sensor.average_soc",
    }
    (battery,) = demo_energy.preferences(two_towers)["energy_sources"]
    assert (battery["power_config"]["stat_rate"], battery["stat_soc"]) == (
        "sensor.total_power",
        "sensor.average_soc",
    )
    assert "sensor.battery_power" not in demo_energy.used({"energy_sources": [battery]})
