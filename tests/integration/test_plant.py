"""A plant: two inverters in parallel and the meter at their grid connection, as one device."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)

from custom_components.zcs_azzurro import const
from simulator.devices.site import SERIALS, Site
from simulator.eth import EthStick, Framing
from tests.conftest import LINK_KINDS, Clock, local_time

from .conftest import entry_data, poll

MASTER, SLAVE = SERIALS[0], SERIALS[1]


@pytest.fixture
def site() -> Site:
    """Two 10 kW inverters in parallel at 13:00 in June, the master with two towers."""
    plant = Site(2, clock=Clock(local_time(13)))
    plant.inverters[0].towers = 2
    plant.refresh()
    return plant


@pytest.fixture
async def sticks(
    socket_enabled: None, site: Site, framing: Framing
) -> AsyncGenerator[list[EthStick]]:
    """A stick each: master, slave, meter."""
    fronts = [EthStick(device, framing=framing) for device in (*site.inverters, site.meter)]
    for front in fronts:
        await front.start()
    yield fronts
    for front in fronts:
        await front.stop()


@pytest.fixture
async def members(hass: HomeAssistant, sticks: list[EthStick]) -> list[MockConfigEntry]:
    """The master's, the slave's and the meter's entries, set up."""
    master, slave, meter = sticks
    framing = LINK_KINDS[meter.framing].value
    entries = [
        MockConfigEntry(
            domain=const.DOMAIN,
            unique_id=serial,
            title=f"Inverter {serial[-2:]}",
            data=entry_data(stick.port, framing=framing),
        )
        for serial, stick in ((MASTER, master), (SLAVE, slave))
    ]
    entries.append(
        MockConfigEntry(
            domain=const.DOMAIN,
            # A meter has no serial number: no unique id, its entities go by the entry's id.
            title="DTSU666",
            data=entry_data(meter.port, framing=framing, profile="chint_dtsu666", model="DTSU666"),
        )
    )
    for entry in entries:
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
    return entries


async def make_plant(
    hass: HomeAssistant, members: list[MockConfigEntry], **answers: Any
) -> dict[str, Any]:
    """The flow, as a user clicks through it: menu, members, master."""
    result = await hass.config_entries.flow.async_init(
        const.DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    assert const.LINK_PLANT in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": const.LINK_PLANT}
    )
    assert result["step_id"] == "plant"
    master, slave, meter = members
    chosen = {
        "name": "Plant",
        const.CONF_INVERTERS: [master.entry_id, slave.entry_id],
        const.CONF_METER: meter.entry_id,
    } | answers
    return await hass.config_entries.flow.async_configure(result["flow_id"], chosen)


def plant_entity(hass: HomeAssistant, key: str, platform: str = "sensor") -> str:
    """The plant's entity for this key (its unique id: the plant's, then the key)."""
    unique_id = f"{const.LINK_PLANT}_{MASTER}_{key}"
    entity_id = er.async_get(hass).async_get_entity_id(platform, const.DOMAIN, unique_id)
    assert entity_id is not None, key
    return entity_id


def plant_state(hass: HomeAssistant, key: str, platform: str = "sensor") -> float | None:
    """What the plant's entity for this key shows (None: unavailable)."""
    found = hass.states.get(plant_entity(hass, key, platform))
    assert found is not None, key
    return None if found.state in ("unavailable", "unknown") else float(found.state)


def member_state(hass: HomeAssistant, unique_id: str) -> float:
    """What a member's entity shows."""
    entity_id = er.async_get(hass).async_get_entity_id("sensor", const.DOMAIN, unique_id)
    assert entity_id is not None, unique_id
    found = hass.states.get(entity_id)
    assert found is not None
    return float(found.state)


async def _plant(hass: HomeAssistant, members: list[MockConfigEntry]) -> MockConfigEntry:
    result = await make_plant(hass, members)
    assert result["step_id"] == "plant_master"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)
    entry = hass.config_entries.async_get_entry(result["result"].entry_id)
    assert entry is not None
    assert entry.state is ConfigEntryState.LOADED
    # The members read what the plant asks of them on their next poll.
    await poll(hass)
    return entry  # type: ignore[return-value]


async def test_the_flow_checks_the_members_and_offers_the_master_the_inverters_report(
    hass: HomeAssistant, members: list[MockConfigEntry]
) -> None:
    master, slave, meter = members
    result = await make_plant(hass, members, **{const.CONF_INVERTERS: []})
    assert result["errors"] == {const.CONF_INVERTERS: "plant_no_inverter"}
    lone = {const.CONF_INVERTERS: [slave.entry_id], const.CONF_METER: "none"}
    result = await make_plant(hass, members, **lone)
    assert result["errors"] == {const.CONF_INVERTERS: "plant_too_small"}
    # The slave first: the master is still offered, as the inverter reporting itself master.
    result = await make_plant(hass, members, inverters=[slave.entry_id, master.entry_id])
    assert result["step_id"] == "plant_master"
    assert result["description_placeholders"] == {"reported": master.title}
    schema = result["data_schema"].schema
    (field,) = schema
    assert field.default() == master.entry_id
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Plant"
    assert result["data"] == {
        const.CONF_LINK: const.LINK_PLANT,
        const.CONF_INVERTERS: [slave.entry_id, master.entry_id],
        const.CONF_METER: meter.entry_id,
        const.CONF_MASTER: master.entry_id,
    }
    # A member of one plant is no member of another.
    result = await make_plant(hass, members)
    assert result["errors"] == {const.CONF_INVERTERS: "plant_member_taken"}


async def test_the_plants_totals_add_up_its_members_and_take_the_grid_once(
    hass: HomeAssistant, members: list[MockConfigEntry], site: Site
) -> None:
    await _plant(hass, members)
    inverters = (MASTER, SLAVE)

    def summed(key: str) -> float:
        return sum(member_state(hass, f"{serial}_{key}") for serial in inverters)

    meter_id = members[2].entry_id
    grid = member_state(hass, f"{meter_id}_grid_power")
    # 13:00 in June: both roofs give, the towers charge, the site exports.
    assert plant_state(hass, "pv_power") == summed("pv_power") > 10000
    assert plant_state(hass, "inverter_power") == summed("inverter_power")
    # The grid is the meter's alone (each inverter shows it too: not summed).
    assert plant_state(hass, "grid_power") == grid < 0
    assert member_state(hass, f"{MASTER}_grid_power") == pytest.approx(grid, abs=10)
    assert plant_state(hass, "house_power") == pytest.approx(
        summed("inverter_power") + grid, abs=0.01
    )
    assert plant_state(hass, "house_power") == pytest.approx(site.load_w, abs=30)
    # The master's two towers and the slave's one.
    battery = summed("battery_power") + member_state(hass, f"{MASTER}_battery2_power")
    assert plant_state(hass, "battery_power") == battery < 0
    assert plant_state(hass, "battery_soc") == 55
    for key in ("pv_energy_total", "battery_charge_energy_total", "battery_discharge_energy_total"):
        assert plant_state(hass, key) == pytest.approx(summed(key), abs=0.01), key
    for key in ("grid_import_energy_total", "grid_export_energy_total"):
        assert plant_state(hass, key) == pytest.approx(
            member_state(hass, f"{meter_id}_{key}"), abs=0.01
        )
    balance = sum(
        sign * (plant_state(hass, key) or 0)
        for sign, key in (
            (1, "pv_energy_total"),
            (1, "battery_discharge_energy_total"),
            (1, "grid_import_energy_total"),
            (-1, "battery_charge_energy_total"),
            (-1, "grid_export_energy_total"),
        )
    )
    assert plant_state(hass, "house_energy_total") == pytest.approx(balance, abs=0.01)
    assert plant_state(hass, "rated_power") == 20000


async def test_a_member_that_fails_leaves_the_totals_unavailable_not_partial(
    hass: HomeAssistant, members: list[MockConfigEntry], sticks: list[EthStick]
) -> None:
    await _plant(hass, members)
    before = plant_state(hass, "pv_energy_total")
    assert before is not None
    sticks[1].device.asleep = True  # the slave falls silent
    await poll(hass)
    for key in ("pv_power", "pv_energy_total", "battery_soc", "house_energy_total"):
        assert plant_state(hass, key) is None, key
    # The grid is the meter's: still known.
    assert plant_state(hass, "grid_power") is not None
    sticks[1].device.asleep = False
    await poll(hass)
    after = plant_state(hass, "pv_energy_total")
    assert after is not None
    assert after >= before


async def test_one_device_for_the_plant_connecting_its_members_and_entity_ids_say_plant(
    hass: HomeAssistant, members: list[MockConfigEntry]
) -> None:
    entry = await _plant(hass, members)
    registry = dr.async_get(hass)
    (plant,) = dr.async_entries_for_config_entry(registry, entry.entry_id)
    assert plant.name == "Plant"
    for member in members:
        (device,) = dr.async_entries_for_config_entry(registry, member.entry_id)
        assert device.via_device_id == plant.id
    ids = {
        e.entity_id for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    }
    assert ids
    assert all(entity_id.split(".")[1].startswith("plant_") for entity_id in ids)
    # Made as Home Assistant makes ids: the plant's name, then the entity's.
    assert plant_entity(hass, "grid_import_energy_total") == "sensor.plant_grid_import_energy"
    assert plant_entity(hass, "export_limit", "number") == "number.plant_export_limit"
    # A plant has no registers of its own.
    with pytest.raises(ServiceValidationError, match="is a plant"):
        await hass.services.async_call(
            const.DOMAIN,
            "read_registers",
            {"config_entry_id": entry.entry_id, "address": 0x0404, "count": 1},
            blocking=True,
            return_response=True,
        )


async def test_the_plants_export_limit_reaches_what_the_plant_can_give_on_the_master(
    hass: HomeAssistant, members: list[MockConfigEntry], site: Site
) -> None:
    await _plant(hass, members)
    number = hass.states.get(plant_entity(hass, "export_limit", "number"))
    assert number is not None
    # Two 10 kW inverters: up to 20 kW, beyond what the master alone is rated for.
    assert number.attributes["max"] == 20000
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": plant_entity(hass, "export_limit", "number"), "value": 15000},
        blocking=True,
    )
    master = site.inverters[0]
    assert master.values[0x1024] == 150  # x100 W, where the master takes it
    assert site.inverters[1].values.get(0x1024, 0) == 0
    assert plant_state(hass, "export_limit", "number") == 15000
    # The master's own number reaches as far while it leads the plant.
    entity_id = er.async_get(hass).async_get_entity_id(
        "number", const.DOMAIN, f"{MASTER}_export_limit"
    )
    assert entity_id is not None
    shown = hass.states.get(entity_id)
    assert shown is not None
    assert shown.attributes["max"] == 20000
    # Past the plant's rating: refused, nothing sent.
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            "number",
            "set_value",
            {"entity_id": plant_entity(hass, "export_limit", "number"), "value": 25000},
            blocking=True,
        )
    assert master.values[0x1024] == 150


async def test_the_plants_output_limit_gives_each_inverter_its_share(
    hass: HomeAssistant, members: list[MockConfigEntry], site: Site
) -> None:
    await _plant(hass, members)
    assert plant_state(hass, "output_power_limit", "number") == 20000  # no limit set
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": plant_entity(hass, "output_power_limit", "number"), "value": 12000},
        blocking=True,
    )
    for inverter in site.inverters:
        # Enabled, 60.0 % of each one's rating (0.1 % steps).
        assert (inverter.values[0x1105], inverter.values[0x1106]) == (1, 600)
    assert plant_state(hass, "output_power_limit", "number") == 12000


async def test_a_plant_named_otherwise_still_says_plant_in_its_entity_ids(
    hass: HomeAssistant, members: list[MockConfigEntry]
) -> None:
    result = await make_plant(hass, members, name="Casa")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    await hass.async_block_till_done(wait_background_tasks=True)
    assert result["title"] == "Casa"
    assert plant_entity(hass, "pv_power") == "sensor.plant_casa_pv_power"
    assert hass.states.get("sensor.plant_casa_pv_power").attributes["friendly_name"] == (  # type: ignore[union-attr]
        "Casa PV power"
    )


async def test_reconfigure_changes_the_members_and_the_plant_sets_itself_up_again(
    hass: HomeAssistant, members: list[MockConfigEntry]
) -> None:
    entry = await _plant(hass, members)
    master, slave, _ = members
    result = await hass.config_entries.flow.async_init(
        const.DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    assert result["step_id"] == "plant"
    # The form shows what the plant has now.
    suggested = {
        str(marker): (marker.description or {}).get("suggested_value")
        for marker in result["data_schema"].schema
    }
    assert suggested[const.CONF_INVERTERS] == [master.entry_id, slave.entry_id]
    assert suggested[const.CONF_METER] == members[2].entry_id
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "name": "Plant",
            const.CONF_INVERTERS: [master.entry_id, slave.entry_id],
            const.CONF_METER: "none",
        },
    )
    assert result["step_id"] == "plant_master"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.data[const.CONF_METER] is None
    assert entry.state is ConfigEntryState.LOADED
    # Without the meter, the grid is the master's.
    await poll(hass)
    assert plant_state(hass, "grid_power") == member_state(hass, f"{MASTER}_grid_power")


async def test_a_member_reloaded_takes_the_plant_with_it_and_diagnostics_name_the_members(
    hass: HomeAssistant, members: list[MockConfigEntry], hass_client: Any
) -> None:
    entry = await _plant(hass, members)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["members"] == [members[0].title, members[1].title]
    assert diagnostics["grid_from"] == members[2].title
    assert diagnostics["values"]["rated_power"] == 20000
    assert await hass.config_entries.async_reload(members[1].entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    # The plant waits for the slave, and sets itself up again on its new coordinator (its
    # setup retried a few seconds on, as Home Assistant retries a setup that is not ready).
    await poll(hass)
    assert entry.state is ConfigEntryState.LOADED
    await poll(hass)
    assert entry.runtime_data.coordinator.inverters[1] is members[1].runtime_data.coordinator
    assert plant_state(hass, "pv_power") is not None
    # A member removed: the plant says so and waits to be reconfigured.
    await hass.config_entries.async_remove(members[1].entry_id)
    await poll(hass)  # the setup retried once the slave's entry is gone
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.reason == "An entry of this plant has been removed: reconfigure the plant"
