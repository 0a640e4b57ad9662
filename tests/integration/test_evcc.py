"""evcc's battery control through the shared connection, replayed as its template writes.

evcc's `sofarsolar-g3` template (evcc-io/evcc b29b49e, templates/definition/meter/
sofarsolar-g3.yaml, `batterymode`) writes, with function 0x10 each time:
- normal: the storage mode 0x1110 = its `defaultmode` (0, self use);
- hold: 0x1110 = 3 (passive), then 0x1187 six words: grid 0, battery minimum 0, battery
  maximum 0x7FFFFFFF;
- charge: 0x1110 = 3, then 0x1187: grid 0, minimum and maximum 0x7FFFFFFF.
The client here is pymodbus's, not ours.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from pymodbus.client import AsyncModbusTcpClient
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zcs_azzurro import const
from custom_components.zcs_azzurro.maintenance import ATTR_MAINTENANCE, FLOOR
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick
from tests.conftest import closed_port

from .conftest import Later, state
from .test_battery import add_entry, setpoints, storage_mode
from .test_maintenance import CHARGING, MAINTAIN, reads

NO_LIMIT = [0x7FFF, 0xFFFF]
EVCC_MODES: dict[str, list[tuple[int, list[int]]]] = {
    "normal": [(0x1110, [0])],
    "hold": [(0x1110, [3]), (0x1187, [0, 0, 0, 0, *NO_LIMIT])],
    "charge": [(0x1110, [3]), (0x1187, [0, 0, *NO_LIMIT, *NO_LIMIT])],
}
# What each asks of the inverter, within the profile's bounds (±20000 W): evcc's "no limit"
# asks for no more than the largest number the profile writes.
SETPOINTS = {"normal": (0, -20000, 20000), "hold": (0, 0, 20000), "charge": (0, 20000, 20000)}
SWITCHES = [("hold", "charge", "normal")[i % 3] for i in range(100)]


@pytest.fixture
async def proxy_port(socket_enabled: None) -> int:
    """A free loopback port for the shared connection."""
    return await closed_port()


async def shared_entry(
    hass: HomeAssistant, stick: EthStick, port: int, **options: Any
) -> MockConfigEntry:
    """The inverter's entry, its connection shared on the port with writes allowed."""
    shared = {
        const.CONF_PROXY: True,
        const.CONF_PROXY_HOST: "127.0.0.1",
        const.CONF_PROXY_PORT: port,
        const.CONF_PROXY_WRITES: True,
    }
    return await add_entry(hass, stick, shared | options)


@pytest.fixture
async def evcc(proxy_port: int) -> AsyncGenerator[AsyncModbusTcpClient]:
    """A Modbus TCP client where evcc would be."""
    client = AsyncModbusTcpClient("127.0.0.1", port=proxy_port, timeout=5, retries=0)
    yield client
    client.close()


async def switch(evcc: AsyncModbusTcpClient, mode: str) -> None:
    """One change of evcc's battery mode, as its template writes it."""
    for address, words in EVCC_MODES[mode]:
        answer = await evcc.write_registers(address, words, device_id=1)
        assert not answer.isError(), (mode, address, answer)


async def test_a_hundred_mode_switches_write_no_eeprom_when_staying_in_passive(
    hass: HomeAssistant,
    stick: EthStick,
    inverter: Hyd3ph,
    proxy_port: int,
    evcc: AsyncModbusTcpClient,
) -> None:
    await shared_entry(hass, stick, proxy_port, **{const.CONF_STAY_IN_PASSIVE: True})
    # Passive mode and its timeout, written once when the option was taken up.
    before = dict(inverter.eeprom_writes)
    assert before == {0x1110: 1, 0x1184: 1, 0x1185: 1}
    assert await evcc.connect()
    for mode in SWITCHES:
        await switch(evcc, mode)
        assert setpoints(inverter) == SETPOINTS[mode], mode
    assert dict(inverter.eeprom_writes) == before
    assert storage_mode(inverter) == 3
    # evcc's last switch (the 100th) is to hold: no discharge, the sun fills the battery.
    assert SWITCHES[-1] == "hold"
    assert state(hass, "battery_mode", "select").state == "hold"
    assert float(state(hass, "battery_power").state) == -5000


async def test_without_it_each_switch_to_and_from_normal_writes_the_storage_mode(
    hass: HomeAssistant,
    stick: EthStick,
    inverter: Hyd3ph,
    proxy_port: int,
    evcc: AsyncModbusTcpClient,
) -> None:
    # No interval between EEPROM writes, so that every one evcc asks for is made and counted.
    await shared_entry(hass, stick, proxy_port, **{const.CONF_WRITE_INTERVAL: 0})
    assert await evcc.connect()
    switches = SWITCHES[:30]
    for mode in switches:
        await switch(evcc, mode)
        assert setpoints(inverter)[1:] == SETPOINTS[mode][1:] or mode == "normal"
    # A write that changes the storage mode reaches the EEPROM: into passive, and out.
    changes = sum(
        1
        for before, after in zip(["normal", *switches], switches, strict=False)
        if (before == "normal") != (after == "normal")
    )
    assert changes == 20
    assert inverter.eeprom_writes[0x1110] == changes


async def test_evccs_writes_succeed_against_the_lse3_and_each_goes_out(
    hass: HomeAssistant,
    stick: EthStick,
    inverter: Hyd3ph,
    proxy_port: int,
    evcc: AsyncModbusTcpClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The ETH stick answers applied writes with `10 00` (evcc-io/evcc 33016): battery control,
    which takes evcc's writes, is judged by the read-back as every write is."""
    await shared_entry(hass, stick, proxy_port, **{const.CONF_STAY_IN_PASSIVE: True})
    stick.faults.lse3_writes = True
    caplog.clear()
    assert await evcc.connect()
    await switch(evcc, "hold")
    assert setpoints(inverter) == SETPOINTS["hold"]
    inverter.log.clear()
    # The same mode again: the inverter holds it, yet each of evcc's writes goes out as
    # set-points (a write restarts the passive timeout), with no storage-mode write.
    await switch(evcc, "hold")
    assert [r.address for r in inverter.log if r.function == 0x10] == [0x1187, 0x1187]
    for mode in ("charge", "normal"):
        await switch(evcc, mode)
        assert setpoints(inverter) == SETPOINTS[mode], mode
    assert storage_mode(inverter) == 3
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_evccs_mode_during_a_maintenance_charge_ends_it_for_good(
    hass: HomeAssistant,
    stick: EthStick,
    inverter: Hyd3ph,
    proxy_port: int,
    evcc: AsyncModbusTcpClient,
    later: Later,
) -> None:
    options = {**MAINTAIN, const.CONF_STAY_IN_PASSIVE: True}
    await shared_entry(hass, stick, proxy_port, **options)
    await reads(later, inverter, FLOOR)
    assert setpoints(inverter) == CHARGING
    assert await evcc.connect()
    await switch(evcc, "hold")
    await reads(later, inverter, FLOOR)
    assert setpoints(inverter) == SETPOINTS["hold"]
    # evcc's "normal" is self use: the towers are still low, and evcc has the last word.
    await switch(evcc, "normal")
    await reads(later, inverter, FLOOR)
    assert setpoints(inverter) == SETPOINTS["normal"]
    assert state(hass, "battery_mode", "select").attributes[ATTR_MAINTENANCE] is False
