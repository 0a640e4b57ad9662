"""Power Magic: Modbus TCP with FC 0x03/0x06/0x10, on a profile of the user's own.

ZCS gives the Power Magic's map only on request, so these tests run the link on a TEST
profile (tests/profiles/test_power_magic.yaml) against the simulator's Power Magic front end.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncGenerator
from pathlib import Path

import pytest
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zcs_azzurro import const, profiles
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.power_magic import PowerMagic
from tests.conftest import Clock, closed_port, local_time

from .conftest import poll
from .test_config_flow import link_form

SERIAL = "ZPM0TEST00000001"
TEST_PROFILE = Path(__file__).parents[1] / "profiles" / "test_power_magic.yaml"


@pytest.fixture(autouse=True)
def user_profile(hass: HomeAssistant) -> None:
    """The test profile in the user's profiles folder, where a Power Magic's would go."""
    folder = profiles.user_directory(hass)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(TEST_PROFILE, folder / TEST_PROFILE.name)


@pytest.fixture
async def power_magic(socket_enabled: None) -> AsyncGenerator[PowerMagic]:
    """A Power Magic on an ephemeral loopback port (a real one listens on 502)."""
    front = PowerMagic(Hyd3ph(serial=SERIAL, clock=Clock(local_time(13))))
    await front.start()
    yield front
    await front.stop()


def _form(port: int, unit: int = 1) -> dict[str, object]:
    return {CONF_HOST: "127.0.0.1", CONF_PORT: float(port), const.CONF_UNIT_ID: float(unit)}


def entry_for(port: int) -> MockConfigEntry:
    """An entry as the flow makes it."""
    data = {
        const.CONF_LINK: const.LINK_POWER_MAGIC,
        const.CONF_FRAMING: "modbus_tcp",
        CONF_HOST: "127.0.0.1",
        CONF_PORT: port,
        const.CONF_UNIT_ID: 1,
        const.CONF_PROFILE: "test_power_magic",
        const.CONF_MODEL: "Power Magic (test profile)",
    }
    return MockConfigEntry(domain=const.DOMAIN, unique_id=SERIAL, title="PM", data=data)


def shown(hass: HomeAssistant, key: str, platform: str = "sensor") -> str:
    """The state of the entity showing this field."""
    entity_id = er.async_get(hass).async_get_entity_id(platform, const.DOMAIN, f"{SERIAL}_{key}")
    assert entity_id is not None
    found = hass.states.get(entity_id)
    assert found is not None
    return found.state


async def test_the_flow_names_what_is_wrong_then_identifies_the_device(
    hass: HomeAssistant, power_magic: PowerMagic
) -> None:
    form = await link_form(hass, const.LINK_POWER_MAGIC)
    assert form["data_schema"]({CONF_HOST: "x"})[CONF_PORT] == const.DEFAULT_POWER_MAGIC_PORT
    flow = form["flow_id"]
    configure = hass.config_entries.flow.async_configure
    result = await configure(flow, _form(await closed_port()))
    assert result["errors"] == {"base": "device_cannot_connect"}
    result = await configure(flow, _form(power_magic.port, unit=9))
    assert result["errors"] == {"base": "device_no_answer"}
    result = await configure(flow, _form(power_magic.port))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == dict(entry_for(power_magic.port).data)
    assert result["title"] == "Power Magic (test profile) (00001)"


async def test_it_polls_takes_a_write_and_heals_after_the_link_drops(
    hass: HomeAssistant, power_magic: PowerMagic
) -> None:
    entry = entry_for(power_magic.port)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert shown(hass, "battery_soc") == "55"
    await hass.services.async_call(
        "switch",
        "turn_off",
        {
            "entity_id": er.async_get(hass).async_get_entity_id(
                "switch", const.DOMAIN, f"{SERIAL}_remote_control"
            )
        },
        blocking=True,
    )
    assert shown(hass, "remote_control", "switch") == "off"
    # The Power Magic restarts: the connection is gone, the next poll makes a new one.
    power_magic.drop_clients()
    await poll(hass)
    assert shown(hass, "battery_soc") == "55"
    power_magic.faults.silent = True
    await poll(hass)
    assert shown(hass, "battery_soc") == "unavailable"
    power_magic.faults.silent = False
    await poll(hass)
    assert shown(hass, "battery_soc") == "55"
    # The first and one after the drop; after the silence the connection is kept (a late
    # answer is told by its transaction id, and the next request waited it out).
    assert power_magic.connections == 2
