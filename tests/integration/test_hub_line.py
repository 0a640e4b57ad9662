"""A full HUB line: entries take whole turns, and forwarded requests spend its budget."""

from __future__ import annotations

import asyncio

from homeassistant.core import HomeAssistant
from pymodbus.client import AsyncModbusTcpClient
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulator.hub import Hub

from . import test_hub
from .test_hub import SERIALS, hub_entry, set_up
from .test_proxy import proxy_port, sharing

hub = test_hub.hub
__all__ = ["hub", "proxy_port"]


# Registers no poll reads (rated power, diagnostics): a read of them is always forwarded.
FORWARDED = 0x06C4


async def _shared(hass: HomeAssistant, hub: Hub, port: int) -> list[MockConfigEntry]:
    line = hub.lines["inverters"]
    entries = [hub_entry(line, unit, serial) for unit, serial in SERIALS.items()]
    for entry in entries:
        entry.add_to_hass(hass)
        hass.config_entries.async_update_entry(entry, options={**entry.options, **sharing(port)})
    await set_up(hass)
    assert await hass.config_entries.async_setup(entries[0].entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return entries


async def test_two_entries_on_one_port_take_whole_turns_with_the_forwarded_requests(
    hass: HomeAssistant, hub: Hub, proxy_port: int
) -> None:
    entries = await _shared(hass, hub, proxy_port)
    line = hub.lines["inverters"]
    client = AsyncModbusTcpClient("127.0.0.1", port=proxy_port, timeout=5, retries=0)
    assert await client.connect()

    async def forwarded() -> None:
        # One client asks one request at a time, while both entries poll.
        for unit in (1, 2, 1):
            answer = await client.read_holding_registers(FORWARDED, count=4, device_id=unit)
            assert not answer.isError(), answer.exception_code

    line.order.clear()
    coordinators = [entry.runtime_data.coordinator for entry in entries]
    for coordinator in coordinators:
        coordinator._settings_in = 1
    await asyncio.gather(*(c.async_refresh() for c in coordinators), forwarded())
    client.close()
    # Each poll went out whole: its requests in a row, never split by the other entry's
    # requests or by a forwarded one (before, a forwarded request waited only for its own
    # entry's turn and could land between the other entry's requests).
    order = line.order
    assert sum(address == FORWARDED for _, address in order) == 3
    for unit, coordinator in zip(SERIALS, coordinators, strict=True):
        polled = [i for i, (u, address) in enumerate(order) if u == unit and address != FORWARDED]
        assert len(polled) == len(coordinator.data.requests) >= 4
        assert polled == list(range(polled[0], polled[0] + len(polled)))


async def test_forwarded_requests_count_in_the_lines_budget(
    hass: HomeAssistant, hub: Hub, proxy_port: int
) -> None:
    entries = await _shared(hass, hub, proxy_port)
    coordinator = entries[0].runtime_data.coordinator
    watch = coordinator.watch
    assert watch is not None
    await coordinator.async_refresh()
    demand = watch._port.demand[entries[0].entry_id]
    client = AsyncModbusTcpClient("127.0.0.1", port=proxy_port, timeout=5, retries=0)
    assert await client.connect()
    for _ in range(6):
        answer = await client.read_holding_registers(FORWARDED, count=4, device_id=1)
        assert not answer.isError()
    client.close()
    await coordinator.async_refresh()
    # Half of the six since the last poll (the average of this poll's and the last's).
    assert watch._port.demand[entries[0].entry_id] == demand + 3
