"""Golden readings: each bundled profile against its simulated device, over a real socket.

Registers are pinned to raw values as the research gives them (device units, the device's
signs); the decoded states are asserted exactly: scales, signs, word order, enumerations.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from custom_components.zcs_azzurro.api.device import ModbusDevice, identify
from custom_components.zcs_azzurro.api.errors import NoResponseError, NotZcsDeviceError
from custom_components.zcs_azzurro.api.profile.loader import load_bundled, load_user
from custom_components.zcs_azzurro.api.profile.schema import Profile, Value
from custom_components.zcs_azzurro.api.transport.base import Link
from simulator.devices.chint import Ddsu666, Dtsu666
from simulator.devices.hyd_1ph import Hyd1ph
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.devices.hyd_es import HydEs
from simulator.devices.ktl_v3 import KtlV3
from simulator.devices.tl_v3 import TlV3
from simulator.eth import EthStick
from simulator.registers import f32, s16, u32
from tests.conftest import Clock, link_to, local_time


@dataclass(frozen=True)
class Golden:
    """A device model, the raw registers pinned on it, and what the profile must read."""

    profile: str
    device: Callable[..., Any]
    serial: str | None  # None: a meter, with no serial number to detect it by
    model: str
    pinned: Mapping[int, Sequence[int]]
    expected: Mapping[str, Value | None]


GOLDEN = [
    Golden(
        "zcs_3ph_hyd_zss",
        Hyd3ph,
        "ZP1ES010M2H00017",
        "3PH HYD10000 ZSS",
        {
            0x0404: [2],
            0x0488: [s16(-123)],  # buying 1.23 kW
            0x0606: [s16(250)],  # charging 2.5 kW
            0x048D: [2301],
            0x0686: u32(1234567),  # 123456.7 kWh
            0x0646: [1],  # input 1 charging
            # Input 2: 401.2 V, discharging 1.25 A, 0.5 kW, -3 degrees, 71 %, SOH 96 %.
            0x060B: [4012, s16(-125), s16(-50), s16(-3), 71, 96],
            0x064A: [2],  # input 2 discharging
            # Totals: 1.2 kW charging, SOC 73 %, SOH 97 %, 8 packs, 50 Ah.
            0x0667: [s16(12), 73, 97, 8, 50],
        },
        {
            "running_state": "grid_connected",
            "grid_power": 1230,
            "battery_power": -2500,
            "grid_voltage_l1": 230.1,
            "pv_energy_total": 123456.7,
            "battery_state": "charging",
            "battery2_voltage": 401.2,
            "battery2_current": 1.25,  # discharging: positive here
            "battery2_power": 500,
            "battery2_temperature": -3,
            "battery2_soc": 71,
            "battery2_soh": 96,
            "battery2_state": "discharging",
            # Both inputs: 2.5 kW charging, 0.5 kW discharging; negative: charging. Inputs
            # 3-8 have no tower: 0 W each, read for the total.
            "battery_total_power": -2000,
            **{f"battery{k}_power": 0 for k in range(3, 9)},
            "battery_average_soc": 73,
            "battery_total_soh": 97,
            "battery_packs": 8,
            "battery_capacity": 50,
        },
    ),
    Golden(
        "zcs_1ph_hyd_zss_hp",
        Hyd1ph,
        "ZM2ES060M2H00042",
        "1PH HYD6000 ZSS HP",
        {
            0x0404: [3],
            0x0405: [0b10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            0x0418: [s16(-5)],
            0x0484: [4998, s16(-150)],  # inverter taking 1.5 kW from the grid to charge
            0x0488: [s16(345)],  # selling 3.45 kW
            0x048D: [2305, 1234],
            0x04AF: [87],
            0x0504: [s16(120)],
            0x0584: [3512, s16(-3), 12, 3498, 456, 160],
            0x0604: [524, s16(-4567), s16(-240), s16(-2), 93, 97, 15],
            0x0684: u32(1234) + u32(98765) + u32(0) + u32(45678),
            0x068E: u32(0x12345),  # high word first: 74565 -> 7456.5 kWh
            0x0692: u32(42) + u32(0) + u32(100) + u32(0) + u32(200),
            0x1110: [4],
            0x1023: [1, 45],
            0x1104: [1, 1, 800],
            0x1187: u32(-1500) + u32(-3000) + u32(3000),
        },
        {
            "running_state": "eps",
            # Bits count from 1 at bit 0 of 0x0405; ID 002 grid under-voltage, ID 273 bit 0 of
            # the 18th register.
            "fault": (2, 273),
            "ambient_temperature": -5,
            "grid_frequency": 49.98,
            "inverter_power": -1500,
            "grid_power": -3450,  # export is negative in Home Assistant
            "grid_voltage_l1": 230.5,
            "output_current_l1": 12.34,
            "house_power": 870,
            "eps_power": 1200,
            "pv1_voltage": 351.2,
            "pv1_current": -0.03,
            "pv1_power": 120,
            "pv2_power": 1600,
            "pv_power": 1720,
            "battery_voltage": 52.4,
            "battery_current": 45.67,  # discharging: positive here
            "battery_power": 2400,
            "battery_temperature": -2,
            "battery_soc": 93,
            "battery_soh": 97,
            "battery_cycles": 15,
            "pv_energy_today": 12.34,
            "pv_energy_total": 9876.5,
            "house_energy_total": 4567.8,
            "grid_import_energy_total": 7456.5,
            "grid_export_energy_total": 4.2,
            "battery_charge_energy_total": 10.0,
            "battery_discharge_energy_total": 20.0,
            "storage_mode": "peak_shaving",
            "export_limit_mode": "feed_in_limit",
            "export_limit": 4500,
            "remote_control": "on",
            "output_limit_enabled": "on",
            "output_limit": 80.0,
            "passive_grid_power": -1500,
            "passive_battery_min": -3000,
            "passive_battery_max": 3000,
        },
    ),
    Golden(
        "zcs_3ph_ktl_v3",
        KtlV3,
        "ZS2ES088M2T00023",
        "3PH 8.8KTL-V3",
        {
            0x0404: [1],
            0x0485: [s16(512)],
            0x048D: [2311, 743],
            0x0498: [2322, 744],
            0x04A3: [2333, 745],
            0x04A5: [s16(171)],
            0x0584: [6123, 456, 279, 5987, 440, 263],
            0x0684: u32(2345) + u32(123456),
            0x1023: [2, 60],
            0x1105: [0, 555],
        },
        {
            "running_state": "detecting",
            "inverter_power": 5120,
            "grid_voltage_l1": 231.1,
            "output_current_l1": 7.43,
            "grid_voltage_l3": 233.3,
            "inverter_power_l3": 1710,
            "pv1_voltage": 612.3,
            "pv1_current": 4.56,
            "pv1_power": 2790,
            "pv2_power": 2630,
            "pv_power": 5420,
            "pv_energy_today": 23.45,
            "pv_energy_total": 12345.6,
            "export_limit_mode": "three_phase_average",
            "export_limit": 6000,
            "output_limit_enabled": "off",
            "output_limit": 55.5,
        },
    ),
    Golden(
        "zcs_hyd_es",
        HydEs,
        "ZE1ES460N4B0",
        "HYD ES / 3000SP",
        {
            0x0200: [4, 0b1000, 0, 0, 0, 0x8000],
            0x0206: [2298],
            0x020C: [4995, s16(-180), 512, s16(-3456), 64, s16(-3)],
            0x0212: [s16(-25), 412, s16(160), 75, 2301, 43],
            0x0218: [1234, 56, 789, 1011],
            0x021C: u32(70000) + u32(0x10002) + u32(12) + u32(34567),
            0x0224: [345, 678, *u32(1500), *u32(1400)],
            0x022C: [612],
            0x0239: [s16(41)],
            0x0250: [3601, 250, 90, 3599, 240, 86],
            0x1200: [3],
        },
        {
            "running_state": "discharging",
            # ID 004 (bit 3 of 0x0201), ID 080 (bit 15 of 0x0205).
            "fault": (4, 80),
            "grid_voltage_l1": 229.8,
            "grid_frequency": 49.95,
            "battery_power": 1800,  # discharging 1.8 kW: positive in Home Assistant
            "battery_voltage": 51.2,
            "battery_current": 34.56,
            "battery_soc": 64,
            "battery_temperature": -3,
            "grid_power": 250,  # buying 0.25 kW
            "house_power": 4120,
            "inverter_power": 1600,
            "pv_power": 750,
            "eps_power": 430,
            "pv_energy_today": 12.34,
            "grid_export_energy_today": 0.56,
            "grid_import_energy_today": 7.89,
            "house_energy_today": 10.11,
            "pv_energy_total": 70000,
            "grid_export_energy_total": 65538,  # high word first
            "grid_import_energy_total": 12,
            "house_energy_total": 34567,
            "battery_charge_energy_today": 3.45,
            "battery_discharge_energy_today": 6.78,
            "battery_charge_energy_total": 1500,
            "battery_discharge_energy_total": 1400,
            "battery_cycles": 612,
            "heatsink_temperature": 41,
            "pv1_voltage": 360.1,
            "pv1_power": 900,
            "pv2_voltage": 359.9,
            "pv2_power": 860,
            "storage_mode": "passive",
        },
    ),
    Golden(
        "zcs_1ph_tl_v3",
        TlV3,
        "ZA3ES030L1B7",
        "1PH TL-V3",
        {
            0x0000: [3, 0, 0, 0b100, 0, 0],
            0x0006: [3456, 512, 3321, 498, 177, 165, 334],
            0x000E: [4997, 2299, 1467],
            0x0015: u32(0x1_0003),
            0x0019: [1789, 412, s16(-7)],
        },
        {
            "running_state": "fault",
            "fault": (35,),  # bit 2 of the third fault register
            "pv1_voltage": 345.6,
            "pv1_current": 5.12,
            "pv2_voltage": 332.1,
            "pv2_current": 4.98,
            "pv1_power": 1770,
            "pv2_power": 1650,
            "pv_power": 3420,
            "inverter_power": 3340,
            "grid_frequency": 49.97,
            "grid_voltage_l1": 229.9,
            "output_current_l1": 14.67,
            "pv_energy_total": 65539,  # high word first
            "pv_energy_today": 17.89,
            "generation_time_today": 412,
            "heatsink_temperature": -7,
        },
    ),
    Golden(
        "chint_dtsu666",
        Dtsu666,
        None,
        "DTSU666",
        {
            0x2006: f32(2301.0) + f32(2312.5) + f32(2298.0),
            0x200C: f32(5123.0) + f32(4000.0) + f32(1.0),
            # Exporting 1234.5 W in all: negative, as the meter counts import positive.
            0x2012: f32(-12345.0) + f32(-4115.0) + f32(-4115.0) + f32(-4115.0),
            0x202A: f32(-987.0),
            0x2044: f32(4998.0),
            0x401E: f32(12345.67),
            0x4028: f32(2.5),
        },
        {
            "grid_voltage_l1": 230.1,
            "grid_voltage_l2": 231.25,
            "grid_voltage_l3": 229.8,
            "grid_current_l1": 5.123,
            "grid_current_l2": 4.0,
            "grid_current_l3": 0.001,
            "grid_power": -1234.5,
            "grid_power_l1": -411.5,
            "grid_power_l2": -411.5,
            "grid_power_l3": -411.5,
            "power_factor": -0.987,
            "grid_frequency": 49.98,
            # float32 holds seven digits: 12345.67 reads back as 12345.67, not 12345.669921875.
            "grid_import_energy_total": 12345.67,
            "grid_export_energy_total": 2.5,
            # Read along until known: connected directly, the readings are as measured.
            "ct_ratio": 1,
            "pt_ratio": 1.0,
        },
    ),
    Golden(
        "chint_ddsu666",
        Ddsu666,
        None,
        "DDSU666",
        {
            0x2000: f32(229.7) + f32(8.25) + f32(1.8975),
            0x200A: f32(0.95),
            0x200E: f32(50.01),
            0x4000: f32(4321.5),
            0x400A: f32(765.25),
        },
        {
            "grid_voltage_l1": 229.7,
            "grid_current_l1": 8.25,
            "grid_power": 1897.5,
            "power_factor": 0.95,
            "grid_frequency": 50.01,
            "grid_import_energy_total": 4321.5,
            "grid_export_energy_total": 765.25,
        },
    ),
]


@pytest.fixture(scope="module")
def bundled() -> dict[str, Profile]:
    """Every bundled profile by id."""
    return {p.id: p for p in load_bundled()}


@pytest.fixture(params=GOLDEN, ids=lambda golden: golden.profile)
def golden(request: pytest.FixtureRequest) -> Golden:
    """One profile's case."""
    case: Golden = request.param
    return case


@pytest.fixture
async def device_link(socket_enabled: None, golden: Golden) -> AsyncGenerator[tuple[Any, Link]]:
    """The case's device, with its registers pinned, behind a stick, and a link to it."""
    device = golden.device(clock=Clock(local_time(13)))
    for address, values in golden.pinned.items():
        device.pin(address, list(values))
    stick = EthStick(device)
    await stick.start()
    link = link_to(stick)
    yield device, link
    await link.close()
    await stick.stop()


async def test_each_profile_reads_its_device_exactly(
    golden: Golden, bundled: dict[str, Profile], device_link: tuple[Any, Link]
) -> None:
    _, link = device_link
    profile = bundled[golden.profile]
    reading = await ModbusDevice(link, 1, profile).read(golden.expected)
    assert reading.refused == ()
    assert reading.values == golden.expected


async def test_each_profile_reads_every_field_of_its_device(
    golden: Golden, bundled: dict[str, Profile], device_link: tuple[Any, Link]
) -> None:
    # Every field is served by the device: none refused, no request wasted.
    _, link = device_link
    profile = bundled[golden.profile]
    device = ModbusDevice(link, 1, profile)
    reading = await device.read(f.key for f in profile.identity + profile.fields)
    assert reading.refused == ()
    assert profile.model_name(reading.values) == golden.model


async def test_each_serial_prefix_finds_its_profile(
    golden: Golden, bundled: dict[str, Profile], device_link: tuple[Any, Link]
) -> None:
    _, link = device_link
    if golden.serial is None:
        # A meter keeps no serial number: it is chosen, never detected.
        with pytest.raises(NotZcsDeviceError):
            await identify(link, 1, tuple(bundled.values()))
        return
    profile, serial = await identify(link, 1, tuple(bundled.values()))
    assert (profile.id, serial) == (golden.profile, golden.serial)


async def test_the_legacy_map_reads_identity_as_input_registers(
    socket_enabled: None, bundled: dict[str, Profile]
) -> None:
    device = HydEs(clock=Clock(local_time(13)))
    stick = EthStick(device)
    await stick.start()
    link = link_to(stick)
    try:
        profile = bundled["zcs_hyd_es"]
        reading = await ModbusDevice(link, 1, profile).read(["serial", "battery_soc"])
        assert reading.values["serial"] == "ZE1ES460N4B0"
        assert [(r.function, r.address, r.count) for r in device.log] == [
            (0x03, 0x0210, 1),
            (0x04, 0x2002, 6),
        ]
        # A link that cannot carry 0x04 (the HUB, say) never sends it: no value, nothing sent.
        device.log.clear()
        link.functions = frozenset({0x03, 0x10})
        reading = await ModbusDevice(link, 1, profile).read(["serial"])
        assert reading.values == {"serial": None}
        assert [(r.address, r.count) for r in reading.refused] == [(0x2002, 6)]
        assert device.log == []
    finally:
        await link.close()
        await stick.stop()


async def test_the_string_inverter_sleeps_at_night_behind_an_awake_stick(
    socket_enabled: None, bundled: dict[str, Profile]
) -> None:
    clock = Clock(local_time(2))
    stick = EthStick(TlV3(clock=clock))
    await stick.start()
    link = link_to(stick)
    try:
        device = ModbusDevice(link, 1, bundled["zcs_1ph_tl_v3"])
        # The stick takes the request; nothing answers behind it.
        with pytest.raises(NoResponseError):
            await device.read(["pv_power"])
        clock.now = local_time(9)
        reading = await device.read(["pv_power", "running_state"])
        assert reading.values["running_state"] == "grid_connected"
        assert isinstance(reading.values["pv_power"], int)
    finally:
        await link.close()
        await stick.stop()


# Requests one poll of every reading sends, and one of every field (settings too, every
# tenth poll): the planner's fewest under each device's rules (one per block touched, more
# only where a block holds more than one request's worth).
REQUESTS = {
    # The battery states and totals (0x0644-0x066B) are one request more; so is the max charge
    # SOC (0x105B), shown but not written, if enabled (it is not by default), and the parallel
    # role (0x1035-0x1037, disabled by default: it lies in the settings' block).
    "zcs_3ph_hyd_zss": (9, 12),
    "zcs_1ph_hyd_zss_hp": (7, 11),
    "zcs_3ph_ktl_v3": (4, 6),
    "zcs_hyd_es": (1, 2),
    "zcs_1ph_tl_v3": (1, 1),
    # A meter's first poll reads its transformer ratios too (once: they multiply readings).
    "chint_dtsu666": (4, 4),
    "chint_ddsu666": (2, 2),
}


@pytest.mark.parametrize(("profile_id", "counts"), REQUESTS.items())
def test_requests_per_poll(
    profile_id: str, counts: tuple[int, int], bundled: dict[str, Profile]
) -> None:
    profile = bundled[profile_id]
    # Planning sends nothing: no link is needed.
    device = ModbusDevice(cast("Link", object()), 1, profile)
    readings = device.plan(f.key for f in profile.fields if f.write is None)
    every = device.plan(f.key for f in profile.fields)
    assert (len(readings.requests), len(every.requests)) == counts
    blocks = {profile.rules.block_of(run) for run in readings.runs}
    assert len(readings.requests) >= len(blocks)


async def test_a_value_read_again_is_read_with_the_function_it_was_read_with(
    socket_enabled: None, tmp_path: Path
) -> None:
    # A user's profile confirming a setting the legacy map keeps in input registers: the
    # second read, which confirms a changed value, is an input-register read too.
    (tmp_path / "my_es.yaml").write_text(
        """\
id: my_es
name: My ES
manufacturer: ZCS Azzurro
model: My ES
sources: ["research/modbus_maps.md 5.2"]
match: {serial_prefixes: [ZE1E]}
reads:
  max_registers: 100
  blocks: [[0x0200, 0x0255]]
  input_blocks: [[0x10B0, 0x10BC], [0x2000, 0x200B]]
identity:
  - {key: serial, type: str, address: 0x2002, count: 6}
fields:
  - {key: capacity, name: Capacity, type: u16, address: 0x10B1, platform: sensor, unit: Ah}
checks:
  - {kind: confirm, fields: [capacity]}
""",
        encoding="utf-8",
    )
    (profile,), _ = load_user(tmp_path)
    device = HydEs(clock=Clock(local_time(13)))
    stick = EthStick(device)
    await stick.start()
    link = link_to(stick)
    try:
        reader = ModbusDevice(link, 1, profile)
        assert (await reader.read(["capacity"])).values == {"capacity": 50}
        device.inputs[0x10B1] = 100
        device.log.clear()
        assert (await reader.read(["capacity"])).values == {"capacity": 100}
        assert [(r.function, r.address) for r in device.log] == [(0x04, 0x10B1), (0x04, 0x10B1)]
    finally:
        await link.close()
        await stick.stop()
