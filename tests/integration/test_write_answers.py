"""A stick that answers writes its own way: the inverter's registers decide, not the answer.

The Solarman LSE-3 (ZCS's ZSM-ETH-USB) applies a write-multiple, then answers it with
`10 00` where the echo belongs (evcc-io/evcc#33016; the simulator's --lse3-writes). Through
Home Assistant, as a user and an automation use it: the controls, the register actions
(write-single too) and a proxied client's writes succeed, quietly.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from pymodbus.client import AsyncModbusTcpClient
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zcs_azzurro import const
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick, Framing
from tests.conftest import LINK_KINDS

from . import test_proxy
from .conftest import SERIAL, entity_id, entry_data, state

# The proxy's free port, and pymodbus's client connected to it, as test_proxy has them.
proxy_port = test_proxy.proxy_port
client = test_proxy.client


@pytest.fixture(params=list(Framing))
def framing(request: pytest.FixtureRequest) -> Framing:
    """The ETH stick in both framings: RTU over TCP (the answer times out) and Modbus TCP."""
    framing: Framing = request.param
    return framing


@pytest.fixture
def config_entry(stick: EthStick, proxy_port: int, framing: Framing) -> MockConfigEntry:
    """The stick's entry, its connection shared on the free port with writes allowed."""
    return MockConfigEntry(
        domain=const.DOMAIN,
        unique_id=SERIAL,
        title="Inverter",
        data=entry_data(stick.port, framing=LINK_KINDS[framing].value),
        options={
            const.CONF_PROXY: True,
            const.CONF_PROXY_HOST: "127.0.0.1",
            const.CONF_PROXY_PORT: proxy_port,
            const.CONF_PROXY_WRITES: True,
            const.CONF_WRITE_INTERVAL: 0,
        },
    )


@pytest.fixture
def quiet(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """What is logged from here on, debug included (so a test can say what is not)."""
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    return caplog


def loud(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Lines a user would read in Home Assistant's log: warnings and errors, anyone's."""
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING]


async def _call(hass: HomeAssistant, domain: str, service: str, key: str, **data: Any) -> None:
    await hass.services.async_call(
        domain, service, {ATTR_ENTITY_ID: entity_id(hass, key, domain), **data}, blocking=True
    )


async def test_select_and_number_succeed_against_the_lse3(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    stick: EthStick,
    inverter: Hyd3ph,
    quiet: pytest.LogCaptureFixture,
) -> None:
    stick.faults.lse3_writes = True
    await _call(hass, "select", "select_option", "storage_mode", option="passive")
    await _call(hass, "number", "set_value", "depth_of_discharge", value=80)
    assert inverter.read(0x1110, 1) == [3]
    assert inverter.read(0x104D, 1) == [80]
    assert state(hass, "storage_mode", "select").state == "passive"
    assert state(hass, "depth_of_discharge", "number").state == "80"
    assert loud(quiet) == []
    # One debug line each says how the write was confirmed.
    decided = [r for r in quiet.records if "the read-back decides" in r.getMessage()]
    assert len(decided) == 2


async def test_register_actions_succeed_against_the_lse3_and_damaged_single_echoes(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    stick: EthStick,
    inverter: Hyd3ph,
    quiet: pytest.LogCaptureFixture,
) -> None:
    stick.faults.lse3_writes = True
    target = {"config_entry_id": loaded_entry.entry_id}
    response = await hass.services.async_call(
        const.DOMAIN,
        "write_registers",
        {**target, "address": 0x1023, "values": [1, 30]},
        blocking=True,
        return_response=True,
    )
    assert response == {"address": 0x1023, "registers": [1, 30], "written": True}
    # Write-single (0x06) answers cut short, LSE-3-like, elsewhere or not at all.
    stick.faults.damage_writes = 1.0
    for value in (0, 1, 0):
        response = await hass.services.async_call(
            const.DOMAIN,
            "write_register",
            {**target, "address": 0x1104, "value": value},
            blocking=True,
            return_response=True,
        )
        assert response == {"address": 0x1104, "registers": [value], "written": True}
    assert [r.function for r in inverter.log if r.function in (0x06, 0x10)] == [
        0x10,
        0x06,
        0x06,
        0x06,
    ]
    assert inverter.read(0x1023, 2) == [1, 30]
    assert loud(quiet) == []


async def test_a_proxied_write_succeeds_against_the_lse3(
    client: AsyncModbusTcpClient,
    stick: EthStick,
    inverter: Hyd3ph,
    quiet: pytest.LogCaptureFixture,
) -> None:
    stick.faults.lse3_writes = True
    answer = await client.write_registers(0x1110, [4], device_id=1)
    # The client gets the echo it expects: the inverter holds what it wrote.
    assert not answer.isError()
    assert (answer.address, answer.count) == (0x1110, 1)
    assert inverter.read(0x1110, 1) == [4]
    assert loud(quiet) == []
