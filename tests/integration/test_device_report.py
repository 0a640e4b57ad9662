"""Diagnostics hold a device report: the raw words of every block, beside their values."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.zcs_azzurro import const
from custom_components.zcs_azzurro.api.profile.loader import load_bundled
from simulator.devices.chint import Dtsu666
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.devices.hyd_es import HydEs
from simulator.eth import EthStick
from tests.conftest import Clock, local_time

from .conftest import SERIAL, entry_data


def _words(block: dict[str, object]) -> list[int]:
    words = block["words"]
    assert isinstance(words, str)
    return [int(word, 16) for word in words.split()]


async def test_the_report_holds_every_block_and_each_address_sources_disagree_on(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    loaded_entry: MockConfigEntry,
    inverter: Hyd3ph,
) -> None:
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    report = diagnostics["device_report"]
    assert report["profile"] == "zcs_3ph_hyd_zss"
    assert report["model"] == "3PH HYD10000 ZSS"
    assert report["serial_prefix"] == "ZP1E"
    assert report["firmware"]["software_version"] == "V110052"
    assert report["error"] is None
    blocks = {block["address"]: block for block in report["blocks"]}
    # Every field of the profile, disabled ones and settings too, lies in a block read.
    profile = next(p for p in load_bundled() if p.id == "zcs_3ph_hyd_zss")
    shown = {key for block in report["blocks"] for key in block["fields"]}
    assert shown == {f.key for f in profile.identity + profile.fields if f.spans}
    # The words are the device's, as it holds them now, beside what they decode to.
    state = blocks["0x0404"]
    assert state["function"] == "0x03"
    assert _words(state)[0] == inverter.values[0x0404] == 2
    assert state["fields"]["running_state"] == "grid_connected"
    battery = blocks["0x0604"]
    assert _words(battery)[4] == inverter.values[0x0608]
    assert battery["fields"]["battery_soc"] == inverter.values[0x0608]
    # Where sources put a value elsewhere: the inverter's own total battery power, whose
    # sign no source states, and its PV total.
    candidates = {c["address"]: c for c in report["candidates"]}
    assert candidates["0x0667"]["field"] == "battery_total_power"
    assert _words(candidates["0x0667"]) == [inverter.values[0x0667]]
    assert candidates["0x05c4"]["field"] == "pv_power"
    assert report["doubted"] == {
        "running_state": "contested",
        "battery_state": "unconfirmed",
        "battery2_state": "unconfirmed",
        # Inputs 3-8's states, as input 2's.
        **{f"battery{k}_state": "unconfirmed" for k in range(3, 9)},
        "battery_capacity": "unconfirmed",
    }
    assert report["reads"]["max_registers"] == 60


async def test_the_report_shows_no_serial_number(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, loaded_entry: MockConfigEntry
) -> None:
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    dumped = json.dumps(diagnostics)
    assert SERIAL not in dumped
    # Nor its words: past the model's prefix (two registers), they are left out.
    serial = next(b for b in diagnostics["device_report"]["blocks"] if b["address"] == "0x0445")
    words = serial["words"].split()
    assert words[:2] == ["5a50", "3145"]  # "ZP1E"
    assert words[2:8] == ["----"] * 6
    assert serial["fields"]["serial"] is None


@pytest.fixture
async def meter_stick(socket_enabled: None) -> AsyncGenerator[EthStick]:
    """A DTSU666 counting where Chint's 2019 manual says, behind a stick."""
    front = EthStick(Dtsu666(clock=Clock(local_time(13)), energy_at=0x101E))
    await front.start()
    yield front
    await front.stop()


async def test_a_meter_report_shows_both_addresses_of_its_totals(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, meter_stick: EthStick
) -> None:
    data = entry_data(
        meter_stick.port, **{const.CONF_PROFILE: "chint_dtsu666", const.CONF_MODEL: "DTSU666"}
    )
    entry = MockConfigEntry(domain=const.DOMAIN, unique_id="meter", title="DTSU666", data=data)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    report = (await get_diagnostics_for_config_entry(hass, hass_client, entry))["device_report"]
    assert report["serial_prefix"] is None
    # Found at 0x101E: read there, and the report says so.
    assert report["reads"]["fields_found_elsewhere"] == {
        "grid_export_energy_total": "0x1028",
        "grid_import_energy_total": "0x101e",
    }
    candidates = {(c["field"], c["address"]): c for c in report["candidates"]}
    meter = meter_stick.device
    assert isinstance(meter, Dtsu666)
    imported = meter.plant.totals_wh["import"] / 1000
    assert candidates["grid_import_energy_total", "0x101e"]["value"] == pytest.approx(imported)
    # OpenEMS's address, with its function: this meter serves no input registers.
    assert candidates["grid_import_energy_total", "0x4000"]["function"] == "0x04"
    assert candidates["grid_import_energy_total", "0x4000"]["error"] == "exception 0x01"
    assert report["doubted"] == {
        "grid_import_energy_total": "contested",
        "grid_export_energy_total": "contested",
    }
    # The 2016 manual's address holds nothing on this meter: its words say so.
    totals = next(b for b in report["blocks"] if b["address"] == "0x101e")
    assert totals["fields"]["grid_import_energy_total"] == pytest.approx(imported)


async def test_a_silent_device_gets_a_short_report(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    loaded_entry: MockConfigEntry,
    inverter: Hyd3ph,
) -> None:
    inverter.asleep = True
    started = time.monotonic()
    report = (await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry))[
        "device_report"
    ]
    # The first request goes unanswered; nothing more is asked.
    assert report["error"] == "NoResponseError"
    assert report["blocks"][0]["error"] == "NoResponseError"
    assert {block["error"] for block in report["blocks"][1:]} == {
        "not asked: the link failed before"
    }
    assert time.monotonic() - started < 10 * 0.3 + 5


async def test_the_serial_stays_out_where_another_map_reads_it_elsewhere(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, socket_enabled: None
) -> None:
    # The legacy map's serial, which two maps read from 0x2001: that read is in the report.
    serial = "ZE1ES460N4B0"
    stick = EthStick(HydEs(serial=serial, clock=Clock(local_time(13))))
    await stick.start()
    try:
        changes = {const.CONF_PROFILE: "zcs_hyd_es", const.CONF_MODEL: "HYD ES / 3000SP"}
        data = entry_data(stick.port, **changes)
        entry = MockConfigEntry(domain=const.DOMAIN, unique_id=serial, title="ES", data=data)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        report = diagnostics["device_report"]
        (elsewhere,) = report["candidates"]
        assert (elsewhere["field"], elsewhere["address"], elsewhere["function"]) == (
            "serial",
            "0x2001",
            "0x04",
        )
        assert "value" not in elsewhere  # 7 registers: not the field's 6
        # The word before the serial, then its prefix, then nothing of the rest.
        assert elsewhere["words"].split()[3:] == ["----"] * 4
        dumped = json.dumps(diagnostics)
        assert serial not in dumped
        assert serial[4:] not in dumped
        assert report["serial_prefix"] == "ZE1E"
    finally:
        for loaded in hass.config_entries.async_entries(const.DOMAIN):
            await hass.config_entries.async_unload(loaded.entry_id)
        await stick.stop()
