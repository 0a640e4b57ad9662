"""What the entities show: exact decoding, honest unavailability, counters that hold."""

from __future__ import annotations

import logging

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers import restore_state
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
)
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.zcs_azzurro.api.device import LEARN_REFUSAL_AFTER, RETRY_REFUSED_AFTER
from custom_components.zcs_azzurro.api.profile import guard
from custom_components.zcs_azzurro.api.profile.schema import Profile
from custom_components.zcs_azzurro.const import DOMAIN
from custom_components.zcs_azzurro.coordinator import restart_issue
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick
from simulator.registers import s16, u32
from tests.conftest import Clock

from .conftest import entity_id, poll, state

# Raw registers as a 3PH HYD would hold them, and what each entity must show for them.
GOLDEN_REGISTERS = {
    0x0404: [4],  # running state: recoverable fault
    0x0405: [0b10],  # fault ID002 (grid under-voltage)
    0x0432: [0b1],  # fault ID289: the second run of fault words numbers on
    0x041A: [s16(-5)],  # heatsink temperature below zero
    0x0484: [4998],  # grid frequency, 0.01 Hz
    0x0485: [s16(-150)],  # inverter output, 10 W, negative: charging from AC
    0x0488: [s16(-230)],  # PCC power, 10 W, negative on the device: importing
    0x048D: [2304],  # grid voltage L1, 0.1 V
    0x04AF: [112],  # house consumption, 10 W
    0x0586: [334],  # PV1 power, 10 W
    0x0589: [262],  # PV2 power, 10 W
    0x0604: [4321],  # battery voltage, 0.1 V
    0x0605: [s16(-1234)],  # battery current, 0.01 A, negative on the device: discharging
    0x0606: [s16(-250)],  # battery power, 10 W, negative on the device: discharging
    0x0608: [87],  # state of charge
    0x0686: u32(0x0002C836),  # PV energy total, 0.1 kWh, high word first: 182326
    0x068E: u32(123456789),  # grid import total: a value that needs both words
}
GOLDEN_STATES = {
    "running_state": "recoverable_fault",
    "heatsink_temperature": "-5",
    "grid_frequency": "49.98",
    "inverter_power": "-1500",
    "grid_power": "2300",  # Home Assistant's sign: + is import
    "grid_voltage_l1": "230.4",
    "house_power": "1120",
    "pv1_power": "3340",
    "pv2_power": "2620",
    "pv_power": "5960",
    "battery_voltage": "432.1",
    "battery_current": "12.34",  # + is discharge, like the power
    "battery_power": "2500",
    "battery_soc": "87",
    "pv_energy_total": "18232.6",
    "grid_import_energy_total": "12345678.9",
}


def _pin_all(inverter: Hyd3ph, registers: dict[int, list[int]]) -> None:
    for address, values in registers.items():
        inverter.pin(address, values)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_golden_decoding(
    hass: HomeAssistant, config_entry: MockConfigEntry, inverter: Hyd3ph
) -> None:
    _pin_all(inverter, GOLDEN_REGISTERS)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    shown = {key: state(hass, key).state for key in GOLDEN_STATES}
    assert shown == GOLDEN_STATES
    fault = state(hass, "fault", "binary_sensor")
    assert fault.state == "on"
    assert fault.attributes["codes"] == ["ID002", "ID289"]

    # Export flips the grid sign; a charging battery flips the battery's.
    _pin_all(inverter, {0x0488: [230], 0x0605: [1234], 0x0606: [250], 0x0405: [0], 0x0432: [0]})
    await poll(hass)
    assert state(hass, "grid_power").state == "-2300"
    assert state(hass, "battery_current").state == "-12.34"
    assert state(hass, "battery_power").state == "-2500"
    fault = state(hass, "fault", "binary_sensor")
    assert (fault.state, fault.attributes["codes"]) == ("off", [])


async def test_energy_counters_are_ready_for_the_energy_dashboard(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    for key in (
        "pv_energy_total",
        "house_energy_total",
        "grid_import_energy_total",
        "grid_export_energy_total",
        "battery_charge_energy_total",
        "battery_discharge_energy_total",
    ):
        attributes = state(hass, key).attributes
        assert attributes["state_class"] == "total_increasing", key
        assert attributes["device_class"] == "energy", key
        assert attributes[ATTR_UNIT_OF_MEASUREMENT] == "kWh", key
    assert state(hass, "grid_power").attributes["device_class"] == "power"
    assert state(hass, "battery_soc").attributes["device_class"] == "battery"


async def test_names_are_translated_and_rare_entities_are_disabled(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, profile: Profile
) -> None:
    assert state(hass, "grid_power").attributes["friendly_name"] == "3PH HYD10000 ZSS Grid power"
    assert (
        state(hass, "pv_energy_total").attributes["friendly_name"] == "3PH HYD10000 ZSS PV energy"
    )
    registry = er.async_get(hass)
    entries = er.async_entries_for_config_entry(registry, loaded_entry.entry_id)
    disabled = {entry.unique_id.split("_", 1)[1] for entry in entries if entry.disabled_by}
    # The simulated unit has one battery tower: nothing of a second.
    shown = [
        (field, shown) for field, shown in profile.entities() if not profile.presence_of(field.key)
    ]
    assert disabled == {field.key for field, shown in shown if not shown.enabled}
    # One entity per field, and the button that sets the clock.
    assert len(entries) == len(shown) + 1 == 81
    assert (
        registry.async_get(entity_id(hass, "heatsink_temperature")).entity_category == "diagnostic"
    )


async def test_an_italian_home_assistant_shows_italian_names_and_states(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    hass.config.language = "it"
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert (
        state(hass, "grid_power").attributes["friendly_name"] == "3PH HYD10000 ZSS Potenza di rete"
    )
    assert (
        state(hass, "pv_energy_total").attributes["friendly_name"] == "3PH HYD10000 ZSS Energia FV"
    )


async def test_sentinels_and_implausible_values_are_unavailable_never_zero(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, inverter: Hyd3ph
) -> None:
    assert state(hass, "battery_soc").state == "55"
    inverter.pin(0x0608, [0xFFFF])  # never initialised
    inverter.pin(0x0404, [99])  # no such running state
    inverter.pin(0x048D, [60000])  # 6000 V
    await poll(hass)
    for key in ("battery_soc", "running_state", "grid_voltage_l1"):
        assert state(hass, key).state == STATE_UNAVAILABLE, key
    assert state(hass, "grid_frequency").state != STATE_UNAVAILABLE
    inverter.pin(0x0608, [150])  # 150 %
    await poll(hass)
    assert state(hass, "battery_soc").state == STATE_UNAVAILABLE
    inverter.pin(0x0608, [54])
    await poll(hass)
    assert state(hass, "battery_soc").state == "54"


@pytest.mark.parametrize("fault", ["silent", "drop", "garbage", "bad_crc"])
async def test_a_link_fault_makes_everything_unavailable_and_the_next_good_poll_heals(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    stick: EthStick,
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    coordinator = loaded_entry.runtime_data.coordinator
    energy = state(hass, "pv_energy_total").state
    setattr(stick.faults, fault, True)
    await poll(hass)
    await poll(hass)
    for key in ("grid_power", "pv_energy_total", "battery_soc"):
        assert state(hass, key).state == STATE_UNAVAILABLE
    assert state(hass, "fault", "binary_sensor").state == STATE_UNAVAILABLE
    setattr(stick.faults, fault, False)
    await poll(hass)
    assert state(hass, "grid_power").state != STATE_UNAVAILABLE
    assert state(hass, "pv_energy_total").state == energy
    # Healed in place: same entry, same coordinator, no reload.
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert loaded_entry.runtime_data.coordinator is coordinator
    # One line when it went down, one when it came back: not one per poll.
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failures) == 1
    assert "Error fetching 3PH HYD10000 ZSS data" in failures[0].getMessage()
    assert sum("data recovered" in r.getMessage() for r in caplog.records) == 1


async def test_a_counter_that_reads_lower_is_not_published(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, inverter: Hyd3ph
) -> None:
    raw = round(float(state(hass, "pv_energy_total").state) * 10)  # in 0.1 kWh
    inverter.pin(0x0686, u32(raw - 5))  # half a kWh less
    await poll(hass)
    assert state(hass, "pv_energy_total").state == STATE_UNAVAILABLE
    inverter.pin(0x0686, [0, 0])  # the 0 a bad read would be
    await poll(hass)
    assert state(hass, "pv_energy_total").state == STATE_UNAVAILABLE
    inverter.pin(0x0686, u32(raw + 65535 * 65535))  # a spike of millions of kWh
    await poll(hass)
    assert state(hass, "pv_energy_total").state == STATE_UNAVAILABLE
    inverter.pin(0x0686, u32(raw + 1))
    await poll(hass)
    assert state(hass, "pv_energy_total").state == str((raw + 1) / 10)


async def test_after_a_restart_a_counter_below_its_last_value_is_not_published(
    hass: HomeAssistant, config_entry: MockConfigEntry, inverter: Hyd3ph
) -> None:
    # Home Assistant had shown 18300.0 kWh before it stopped; the device now says 18234.5.
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State("sensor.3ph_hyd10000_zss_pv_energy", "18300.0"),
                {"native_value": 18300.0, "native_unit_of_measurement": "kWh"},
            )
        ],
    )
    inverter.pin(0x0686, u32(182345))
    config_entry.add_to_hass(hass)
    er.async_get(hass).async_get_or_create(
        "sensor",
        "zcs_azzurro",
        "ZP1ES010M2H00017_pv_energy_total",
        suggested_object_id="3ph_hyd10000_zss_pv_energy",
        config_entry=config_entry,
    )
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state(hass, "pv_energy_total").state == STATE_UNAVAILABLE
    assert state(hass, "grid_import_energy_total").state != STATE_UNAVAILABLE
    # Were Home Assistant to stop now, it would store the floor, not the missing value.
    stored = {
        saved.state.entity_id: saved.extra_data
        for saved in restore_state.async_get(hass).async_get_stored_states()
    }
    saved = stored[entity_id(hass, "pv_energy_total")]
    assert saved is not None
    assert saved.as_dict()["native_value"] == 18300.0
    inverter.pin(0x0686, u32(183001))
    await poll(hass)
    assert state(hass, "pv_energy_total").state == "18300.1"


async def _counter_reset(
    hass: HomeAssistant, entry: MockConfigEntry, inverter: Hyd3ph, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The PV total counts on from zero (a firmware update reset it), poll after poll.

    How long it must have done so before the owner is asked is held in the guard's own tests;
    here the readings count (the local links pace themselves on a clock a test cannot move).
    """
    monkeypatch.setattr(guard, "RESTART_AFTER", 0.0)
    for tenths in range(guard.RESTART_READINGS):
        inverter.pin(0x0686, u32(tenths))
        await poll(hass)
    return restart_issue(entry.entry_id, "pv_energy_total")


async def test_a_counter_reset_is_a_repair_issue_the_owner_may_accept(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    inverter: Hyd3ph,
    monkeypatch: pytest.MonkeyPatch,
    hass_client: ClientSessionGenerator,
) -> None:
    shown = state(hass, "pv_energy_total").state
    issue_id = await _counter_reset(hass, loaded_entry, inverter, monkeypatch)
    assert state(hass, "pv_energy_total").state == STATE_UNAVAILABLE
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_key == "counter_restart"
    assert issue.translation_placeholders == {
        "title": loaded_entry.title,
        "entity": entity_id(hass, "pv_energy_total"),
        "last": f"{float(shown):g} kWh",
        "value": "0.2 kWh",
    }
    # The owner confirms it in Settings > Repairs: the counter goes on from its new start.
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    answer = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id}
    )
    flow = await answer.json()
    assert flow["step_id"] == "confirm"
    answer = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}", json={})
    assert (await answer.json())["type"] == "create_entry"
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state(hass, "pv_energy_total").state == "0.2"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    inverter.pin(0x0686, u32(3))
    await poll(hass)
    assert state(hass, "pv_energy_total").state == "0.3"


async def test_a_counter_that_comes_back_takes_its_repair_issue_away(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    inverter: Hyd3ph,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    raw = round(float(state(hass, "pv_energy_total").state) * 10)
    issue_id = await _counter_reset(hass, loaded_entry, inverter, monkeypatch)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    inverter.pin(0x0686, u32(raw + 1))
    await poll(hass)
    assert state(hass, "pv_energy_total").state == str((raw + 1) / 10)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_a_block_the_device_refuses_leaves_only_its_entities_unavailable(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    inverter: Hyd3ph,
    stick: EthStick,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The device's own clock, not a frozen time.monotonic: the link paces RTU frames by it.
    clock = Clock(0.0)
    monkeypatch.setattr(loaded_entry.runtime_data.coordinator.device, "_clock", clock)
    inverter.gaps.append((0x0584, 0x05B3))
    for _ in range(LEARN_REFUSAL_AFTER):  # refused poll after poll: the firmware's, not a glitch
        await poll(hass)
    before = stick.requests
    await poll(hass)
    assert stick.requests - before == 4  # the refused PV registers are not asked for again
    assert state(hass, "pv_power").state == STATE_UNAVAILABLE
    assert state(hass, "pv1_power").state == STATE_UNAVAILABLE
    assert state(hass, "battery_soc").state == "55"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert (
        sum("refuses to read registers 0x0584, 0x0586, 0x0587, 0x0589" in m for m in warnings) == 1
    )
    inverter.gaps.clear()
    await poll(hass)
    assert state(hass, "pv_power").state == STATE_UNAVAILABLE
    # Asked for again an hour on: the device serves them now, without a reload.
    clock.now += RETRY_REFUSED_AFTER
    await poll(hass)
    assert state(hass, "pv_power").state != STATE_UNAVAILABLE
    assert any("reads all its registers again" in r.getMessage() for r in caplog.records)


async def test_one_poll_of_the_default_entities_takes_five_requests(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, stick: EthStick
) -> None:
    before = stick.requests
    await poll(hass)
    assert stick.requests - before == 5


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_one_poll_of_every_entity_takes_nine_requests(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, stick: EthStick
) -> None:
    await poll(hass)  # the first poll of every entity reads values not seen before twice
    before = stick.requests
    await poll(hass)
    # The default five, the EPS block, the battery states and totals (0x0646-0x066B), the max
    # charge SOC (0x105B, shown but not written: in a block of settings of its own), and the
    # parallel role (0x1035-0x1037, in the settings' block).
    assert stick.requests - before == 9
    assert state(hass, "eps_voltage_l1").state == "230.0"


async def test_an_entity_the_user_enables_is_read_from_the_first_poll_on(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, stick: EthStick
) -> None:
    registry = er.async_get(hass)
    eps = entity_id(hass, "eps_frequency")
    assert hass.states.get(eps) is None  # disabled by default: not read, not shown
    registry.async_update_entity(eps, disabled_by=None)
    await poll(hass)  # Home Assistant reloads the entry a while after an entity is enabled
    assert loaded_entry.state is ConfigEntryState.LOADED
    state_ = hass.states.get(eps)
    assert state_ is not None
    assert state_.state == "50.0"
    before = stick.requests
    await poll(hass)
    assert stick.requests - before == 6  # the EPS block joins the poll


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots as Home Assistant's own tests take them: no ids or times that change."""
    # phcc's fixture of this name loses to syrupy's own here.
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_every_entity_as_registered_and_shown(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    # Names, classes, units, display precision and states of every entity, pinned.
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    registry = er.async_get(hass)
    entries = sorted(
        er.async_entries_for_config_entry(registry, config_entry.entry_id),
        key=lambda entry: entry.entity_id,
    )
    for entry in entries:
        assert entry == snapshot(name=f"{entry.entity_id}-entry")
        assert hass.states.get(entry.entity_id) == snapshot(name=f"{entry.entity_id}-state")


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_precision_follows_each_registers_resolution(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, profile: Profile
) -> None:
    registry = er.async_get(hass)

    def precision(key: str) -> int | None:
        entry = registry.async_get(entity_id(hass, key))
        assert entry is not None
        shown: int | None = entry.options.get("sensor", {}).get("suggested_display_precision")
        return shown

    # Whole degrees, 0.1 V, 0.01 Hz, 10 W, 0.01 kWh, the sum of two 10 W registers.
    expected = {
        "heatsink_temperature": 0,
        "battery_voltage": 1,
        "grid_frequency": 2,
        "grid_power": 0,
        "pv_power": 0,
        "pv_energy_total": 1,
        "pv_energy_today": 2,
        "power_factor": 3,
        "battery_cycles": 0,
        "running_state": None,
    }
    assert {key: precision(key) for key in expected} == expected
    # Every numeric field has one, an enum none.
    for field, shown in profile.entities(Platform.SENSOR):
        assert (shown.precision is None) == bool(field.options), field.key
    # A temperature the inverter gives in whole degrees shows none.
    assert state(hass, "heatsink_temperature").state.isdigit()


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_counters_that_reset_daily_and_cycles_have_fitting_classes(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    generation = state(hass, "generation_time_today").attributes
    assert generation["state_class"] == "total_increasing"
    assert generation[ATTR_UNIT_OF_MEASUREMENT] == "min"
    cycles = state(hass, "battery_cycles").attributes
    assert cycles["state_class"] == "total_increasing"
    assert cycles[ATTR_UNIT_OF_MEASUREMENT] == "cycles"
