"""Each bundled model in Home Assistant: the entities its profile has, and none it has not."""

from __future__ import annotations

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zcs_azzurro import const
from simulator.devices.hyd_es import HydEs
from simulator.devices.ktl_v3 import KtlV3
from simulator.devices.tl_v3 import TlV3
from simulator.eth import EthStick
from tests.conftest import Clock, local_time


async def _set_up(hass: HomeAssistant, stick: EthStick) -> str:
    result = await hass.config_entries.flow.async_init(
        const.DOMAIN, context={"source": SOURCE_USER}
    )
    if result["type"] is FlowResultType.MENU:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": const.LINK_ETH}
        )
    form = {CONF_HOST: "127.0.0.1", CONF_PORT: float(stick.port), const.CONF_UNIT_ID: 1.0}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)
    title: str = result["title"]
    return title


@pytest.fixture
def inverter() -> KtlV3:
    """A 3PH KTL-V3 at 13:00, the clock standing still."""
    return KtlV3(clock=Clock(local_time(13)))


async def test_a_string_inverter_has_no_battery_or_eps_entities(
    hass: HomeAssistant, stick: EthStick
) -> None:
    assert await _set_up(hass, stick) == "3PH 8.8KTL-V3 (00023)"
    keys = {
        entry.unique_id.removeprefix("ZS2ES088M2T00023_")
        for entry in er.async_get(hass).entities.values()
    }
    assert {"pv_power", "pv_energy_total", "output_limit", "remote_control"} <= keys
    assert not {key for key in keys if key.startswith(("battery", "eps", "passive", "storage"))}
    pv = hass.states.get(
        er.async_get(hass).async_get_entity_id("sensor", const.DOMAIN, "ZS2ES088M2T00023_pv_power")
        or ""
    )
    assert pv is not None
    assert float(pv.state) > 0


async def test_the_legacy_hybrid_is_read_with_input_registers_through_the_stick(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    device = HydEs(clock=Clock(local_time(13)))
    stick = EthStick(device)
    await stick.start()
    try:
        assert await _set_up(hass, stick) == "HYD ES / 3000SP (0N4B0)"
        assert any(request.function == 0x04 for request in device.log)
        registry = er.async_get(hass)
        soc = registry.async_get_entity_id("sensor", const.DOMAIN, "ZE1ES460N4B0_battery_soc")
        state = hass.states.get(soc or "")
        assert state is not None
        assert 0 <= float(state.state) <= 100
    finally:
        for entry in hass.config_entries.async_entries(const.DOMAIN):
            await hass.config_entries.async_unload(entry.entry_id)
        await stick.stop()


async def test_a_device_asleep_at_setup_is_added_and_identified_when_it_wakes(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    clock = Clock(local_time(2))
    stick = EthStick(TlV3(clock=clock))
    await stick.start()
    try:
        result = await hass.config_entries.flow.async_init(
            const.DOMAIN, context={"source": SOURCE_USER}
        )
        if result["type"] is FlowResultType.MENU:
            result = await hass.config_entries.flow.async_configure(
                result["flow_id"], {"next_step_id": const.LINK_ETH}
            )
        form = {CONF_HOST: "127.0.0.1", CONF_PORT: float(stick.port), const.CONF_UNIT_ID: 1.0}
        # Asleep, and not asked to choose: the error, as before.
        asleep = await hass.config_entries.flow.async_configure(result["flow_id"], form)
        assert asleep["errors"] == {"base": "no_answer"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {**form, "choose_profile": True}
        )
        assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "asleep")
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"profile": "zcs_1ph_tl_v3"}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done(wait_background_tasks=True)
        entry = result["result"]
        assert entry.unique_id is None
        assert entry.state is ConfigEntryState.SETUP_RETRY
        assert entry.reason is not None
        assert "has not answered since it was added" in entry.reason
        # Morning: the inverter answers, and the entry takes its serial and model.
        clock.now = local_time(9)
        await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        assert entry.state is ConfigEntryState.LOADED
        assert entry.unique_id == "ZA3ES030L1B7"
        assert entry.title == "1PH TL-V3 (0L1B7)"
        assert entry.data[const.CONF_PROFILE] == "zcs_1ph_tl_v3"
    finally:
        for entry in hass.config_entries.async_entries(const.DOMAIN):
            await hass.config_entries.async_unload(entry.entry_id)
        await stick.stop()


async def _asleep_step(hass: HomeAssistant, port: int, host: str = "127.0.0.1") -> dict:
    result = await hass.config_entries.flow.async_init(
        const.DOMAIN, context={"source": SOURCE_USER}
    )
    if result["type"] is FlowResultType.MENU:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": const.LINK_ETH}
        )
    form = {CONF_HOST: host, CONF_PORT: float(port), const.CONF_UNIT_ID: 1.0}
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {**form, "choose_profile": True}
    )


async def test_a_sleeping_device_is_not_added_twice(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    clock = Clock(local_time(2))
    stick = EthStick(TlV3(clock=clock))
    await stick.start()
    try:
        result = await _asleep_step(hass, stick.port)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"profile": "zcs_1ph_tl_v3"}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        waiting = result["result"]
        await hass.async_block_till_done(wait_background_tasks=True)
        # The same place again while it sleeps: the entry waiting for it is this device.
        again = await _asleep_step(hass, stick.port)
        assert (again["type"], again["reason"]) == (FlowResultType.ABORT, "already_configured")
        # Added again another way while it slept (say, the stick's name, not its address):
        # once it wakes, the second entry does not take the first one's serial.
        other = MockConfigEntry(domain=const.DOMAIN, data={**waiting.data, CONF_HOST: "localhost"})
        other.add_to_hass(hass)
        clock.now = local_time(9)
        await hass.config_entries.async_reload(waiting.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        assert waiting.unique_id == "ZA3ES030L1B7"
        await hass.config_entries.async_setup(other.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        assert other.state is ConfigEntryState.SETUP_ERROR
        assert other.unique_id is None
        assert other.error_reason_translation_key == "device_already_added"
    finally:
        for entry in hass.config_entries.async_entries(const.DOMAIN):
            await hass.config_entries.async_unload(entry.entry_id)
        await stick.stop()


async def test_a_device_that_wakes_with_a_serial_no_profile_knows_is_an_error(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    stick = EthStick(TlV3(serial="ZX9ES030L1B7", clock=Clock(local_time(9))))
    await stick.start()
    try:
        data = {
            const.CONF_LINK: const.LINK_ETH,
            CONF_HOST: "127.0.0.1",
            CONF_PORT: stick.port,
            const.CONF_UNIT_ID: 1,
            const.CONF_PROFILE: "zcs_1ph_tl_v3",
            const.CONF_MODEL: "1PH TL-V3",
        }
        entry = MockConfigEntry(domain=const.DOMAIN, data=data)
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.SETUP_ERROR
        assert entry.unique_id is None
    finally:
        await stick.stop()
