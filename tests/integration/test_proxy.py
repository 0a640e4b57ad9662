"""Sharing the connection: other programs read (and write) the device through our proxy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from homeassistant.components.modbus.const import DATA_MODBUS_HUBS
from homeassistant.components.modbus.modbus import PRIMARY_RECONNECT_DELAY
from homeassistant.const import CONF_SCAN_INTERVAL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.entity_platform import async_get_platforms
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.pdu import ModbusPDU
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.zcs_azzurro import const
from custom_components.zcs_azzurro.api.proxy import (
    DEVICE_BUSY,
    GATEWAY_PATH,
    GATEWAY_TARGET,
    ILLEGAL_ADDRESS,
    ILLEGAL_FUNCTION,
    ILLEGAL_VALUE,
)
from custom_components.zcs_azzurro.proxy import (
    async_warn_if_exposed,
    endpoint_key,
    entry_proxy,
    exposed_issue,
)
from simulator.devices.hyd_3ph import BLOCKS, Hyd3ph
from simulator.devices.hyd_es import HydEs
from simulator.eth import EthStick
from simulator.hub import Hub
from simulator.wifi import WifiStick
from tests.conftest import Clock, closed_port, local_time, until

from . import test_hub, test_wifi
from .conftest import SERIAL, entry_data, state
from .test_hub import PACING, SERIALS, hub_entry
from .test_shared_connection import loud
from .test_wifi import wifi_data

# The HUB and its two inverters, as test_hub sets them up.
hub = test_hub.hub
wifi = test_wifi.wifi

# The serial's first registers, ASCII: what a client reading the identity gets.
SERIAL_WORDS = [ord(SERIAL[i]) << 8 | ord(SERIAL[i + 1]) for i in range(0, 8, 2)]


def sharing(port: int, **options: Any) -> dict[str, Any]:
    """Options that share the connection on a loopback port."""
    return {
        const.CONF_PROXY: True,
        const.CONF_PROXY_PORT: port,
        const.CONF_PROXY_HOST: "127.0.0.1",
        **options,
    }


@pytest.fixture
async def proxy_port(socket_enabled: None) -> int:
    """A free loopback port for the proxy."""
    return await closed_port()


@pytest.fixture
def options(proxy_port: int) -> dict[str, Any]:
    """The entry shares its connection; writes stay off."""
    return sharing(proxy_port)


@pytest.fixture
def config_entry(stick: EthStick, options: dict[str, Any], proxy_port: int) -> MockConfigEntry:
    """An entry for the simulated inverter that shares its connection (on the free port)."""
    return MockConfigEntry(
        domain=const.DOMAIN,
        unique_id=SERIAL,
        title="Inverter",
        data=entry_data(stick.port),
        options={**options, const.CONF_PROXY_PORT: proxy_port},
    )


@pytest.fixture
async def client(loaded_entry: MockConfigEntry, proxy_port: int) -> AsyncGenerator[Any]:
    """pymodbus's client, connected to the proxy."""
    modbus = AsyncModbusTcpClient("127.0.0.1", port=proxy_port, timeout=2, retries=0)
    assert await modbus.connect()
    yield modbus
    modbus.close()


async def refresh(entry: MockConfigEntry) -> None:
    """Poll now (moving Home Assistant's clock would fire the proxy's idle timers too)."""
    await entry.runtime_data.coordinator.async_refresh()


def device_requests(inverter: Hyd3ph | HydEs) -> list[tuple[int, int, int]]:
    """What reached the inverter: function, address, count."""
    return [(r.function, r.address, r.count) for r in inverter.log]


def unpolled(loaded_entry: MockConfigEntry) -> int:
    """The start of a block of the map that the entry's polls do not read."""
    reading = loaded_entry.runtime_data.coordinator.data
    return next(
        start
        for start, end in BLOCKS
        if not any(r.address <= end and start <= r.end for r in reading.requests)
    )


async def test_reads_go_through_the_one_connection_and_polled_ones_never_reach_the_device(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    client: AsyncModbusTcpClient,
    stick: EthStick,
    inverter: Hyd3ph,
) -> None:
    inverter.pin(0x0404, [7])
    await refresh(loaded_entry)
    inverter.log.clear()
    # Read by the last poll, a moment ago: answered from it.
    for _ in range(5):
        answer = await client.read_holding_registers(0x0404, count=1, device_id=1)
        assert answer.registers == [7]
    assert inverter.log == []
    # Not read by polls: asked of the device, on the entry's connection.
    answer = await client.read_holding_registers(0x0445, count=4, device_id=1)
    assert answer.registers == SERIAL_WORDS
    assert device_requests(inverter) == [(0x03, 0x0445, 4)]
    assert stick.connections == 1
    proxy = loaded_entry.runtime_data.coordinator
    assert proxy.last_update_success


async def test_what_the_last_poll_read_is_used_for_a_scan_interval_and_only_if_it_was_sure(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    client: AsyncModbusTcpClient,
    inverter: Hyd3ph,
) -> None:
    coordinator = loaded_entry.runtime_data.coordinator
    reading = coordinator.data
    inverter.pin(0x0404, [3])
    inverter.log.clear()
    # A scan interval old: the device is asked.
    coordinator.data = replace(reading, at=reading.at - 30)
    answer = await client.read_holding_registers(0x0404, count=1, device_id=1)
    assert answer.registers == [3]
    # Fresh, but the running state failed the poll's checks: not handed on.
    coordinator.data = replace(reading, withheld=frozenset({"running_state"}))
    answer = await client.read_holding_registers(0x0404, count=1, device_id=1)
    assert answer.registers == [3]
    # Before the first poll there is nothing to answer from.
    coordinator.data = None  # type: ignore[assignment]
    answer = await client.read_holding_registers(0x0404, count=1, device_id=1)
    assert answer.registers == [3]
    assert device_requests(inverter) == [(0x03, 0x0404, 1)] * 3
    coordinator.data = reading


async def test_home_assistants_own_modbus_reads_through_the_proxy_while_we_poll(
    hass: HomeAssistant, stick: EthStick, inverter: Hyd3ph, proxy_port: int
) -> None:
    # Core `modbus` takes its YAML when set up, before ours (which depends on it) is.
    config = {
        "name": "proxied",
        "type": "tcp",
        "host": "127.0.0.1",
        "port": proxy_port,
        "timeout": 2,
        "sensors": [
            # Read when told (scan interval 0): here, beside each of our polls.
            {"name": "Running state", "address": 0x0404, "scan_interval": 0},
            {"name": "Serial", "address": 0x0445, "count": 4, "data_type": "string"}
            | {"scan_interval": 0},
        ],
    }
    assert await async_setup_component(hass, "modbus", {"modbus": [config]})
    entry = MockConfigEntry(
        domain=const.DOMAIN,
        unique_id=SERIAL,
        title="Inverter",
        data=entry_data(stick.port),
        options=sharing(proxy_port),
    )
    entry.add_to_hass(hass)
    inverter.pin(0x0404, [5])
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    # Its first connect found nothing listening; its next try, after the pause it takes.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=PRIMARY_RECONNECT_DELAY))
    await hass.data[DATA_MODBUS_HUBS]["proxied"].event_connected.wait()
    entities = [e for p in async_get_platforms(hass, "modbus") for e in p.entities.values()]
    assert len(entities) == 2
    for _ in range(3):
        await asyncio.gather(refresh(entry), *(e.async_update() for e in entities))
    shown = {e.name: hass.states.get(e.entity_id) for e in entities}
    assert {name: s.state for name, s in shown.items() if s} == {
        "Running state": "5",
        "Serial": SERIAL[:8],
    }
    assert stick.connections == 1
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_device_that_does_not_answer_is_a_gateway_exception(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    client: AsyncModbusTcpClient,
    stick: EthStick,
) -> None:
    # No unit 2 behind this stick: no path to it.
    answer = await client.read_holding_registers(0x0404, count=1, device_id=2)
    assert answer.exception_code == GATEWAY_PATH
    stick.faults.silent = True
    answer = await client.read_holding_registers(0x0445, count=1, device_id=1)
    assert answer.exception_code == GATEWAY_TARGET
    stick.faults.silent = False
    await stick.stop()
    answer = await client.read_holding_registers(0x0445, count=1, device_id=1)
    assert answer.exception_code == GATEWAY_PATH


async def test_a_device_busy_past_the_links_deadline_answers_busy(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    client: AsyncModbusTcpClient,
    stick: EthStick,
) -> None:
    stick.faults.exception = 0x06
    answer = await client.read_holding_registers(0x0445, count=1, device_id=1)
    assert answer.exception_code == 0x06


async def test_writes_are_refused_unless_allowed(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    client: AsyncModbusTcpClient,
    inverter: Hyd3ph,
) -> None:
    inverter.log.clear()
    answer = await client.write_register(0x104D, 80, device_id=1)
    assert answer.exception_code == ILLEGAL_FUNCTION
    answer = await client.write_registers(0x104D, [80], device_id=1)
    assert answer.exception_code == ILLEGAL_FUNCTION
    assert inverter.log == []


@pytest.mark.parametrize("options", [sharing(0, **{const.CONF_PROXY_WRITES: True})])
async def test_allowed_writes_are_checked_as_the_actions_check_them(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    client: AsyncModbusTcpClient,
    inverter: Hyd3ph,
) -> None:
    events = async_capture_events(hass, const.EVENT_REGISTER_WRITTEN)
    inverter.log.clear()
    # Out of the profile's range, a register it does not declare writable: nothing sent.
    answer = await client.write_register(0x104D, 95, device_id=1)
    assert answer.exception_code == ILLEGAL_VALUE
    answer = await client.write_register(0x1050, 4400, device_id=1)
    assert answer.exception_code == ILLEGAL_ADDRESS
    assert [r for r in inverter.log if r.function == 0x10] == []
    # Allowed: the group is completed from a fresh read, written whole, read back.
    answer = await client.write_register(0x104D, 80, device_id=1)
    assert not answer.isError()
    assert (answer.address, answer.registers) == (0x104D, [80])
    ((written,),) = [[r for r in inverter.log if r.function == 0x10]]
    assert written.address == 0x1044
    assert inverter.read(0x104D, 1) == [80]
    assert [event.data for event in events] == [
        {"entry_id": loaded_entry.entry_id, "address": 0x104D, "values": [80]}
    ]
    assert state(hass, "depth_of_discharge", "number").state == "80"


@pytest.mark.parametrize(
    "options",
    [sharing(0, **{const.CONF_PROXY_WRITES: True, const.CONF_ALLOW_RAW_WRITES: True})],
)
async def test_raw_writes_never_go_through_the_proxy(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    client: AsyncModbusTcpClient,
    inverter: Hyd3ph,
) -> None:
    """The actions' raw writes are an administrator's; no one signs in at the proxy's port."""
    inverter.log.clear()
    answer = await client.write_register(0x1050, 4400, device_id=1)
    assert answer.exception_code == ILLEGAL_ADDRESS
    answer = await client.write_registers(0x1050, [4400], device_id=1)
    assert answer.exception_code == ILLEGAL_ADDRESS
    assert [r for r in inverter.log if r.function in (0x06, 0x10)] == []
    # What the profile declares writable still is.
    answer = await client.write_register(0x104D, 80, device_id=1)
    assert not answer.isError()


@pytest.mark.parametrize(
    ("host", "writes", "warned"),
    [
        ("0.0.0.0", True, True),
        ("192.168.1.10", True, True),
        ("127.0.0.1", True, False),
        ("::1", True, False),
        ("0.0.0.0", False, False),
    ],
)
async def test_writes_served_beyond_this_machine_are_a_repair_issue(
    hass: HomeAssistant, host: str, writes: bool, warned: bool
) -> None:
    entry = MockConfigEntry(
        domain=const.DOMAIN,
        title="Inverter",
        options=sharing(5020, **{const.CONF_PROXY_HOST: host, const.CONF_PROXY_WRITES: writes}),
    )
    entry.add_to_hass(hass)
    async_warn_if_exposed(hass, entry, host, 5020)
    issue = ir.async_get(hass).async_get_issue(const.DOMAIN, exposed_issue(entry.entry_id))
    assert (issue is not None) is warned
    if issue is not None:
        assert issue.translation_key == "proxy_writes_exposed"
        assert issue.translation_placeholders == {
            "title": "Inverter",
            "address": f"{host}:5020",
        }


async def test_garbage_and_floods_do_not_hold_up_our_polls(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    proxy_port: int,
    inverter: Hyd3ph,
    caplog: pytest.LogCaptureFixture,
) -> None:
    coordinator = loaded_entry.runtime_data.coordinator
    flooded = unpolled(loaded_entry)
    # Not Modbus TCP: let go, without a word above debug.
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert await reader.read() == b""
    writer.close()
    # Two clients that ask for registers no poll reads, as fast as they are answered.
    stop = asyncio.Event()

    async def flood() -> int:
        modbus = AsyncModbusTcpClient("127.0.0.1", port=proxy_port, timeout=2, retries=0)
        assert await modbus.connect()
        sent = 0
        while not stop.is_set():
            answer = await modbus.read_holding_registers(flooded, count=1, device_id=1)
            assert not answer.isError()
            sent += 1
        modbus.close()
        return sent

    inverter.log.clear()
    floods = [asyncio.create_task(flood()) for _ in range(2)]
    while len(inverter.log) < 10:  # noqa: ASYNC110 (the simulator has no event to wait on)
        await asyncio.sleep(0.01)
    for _ in range(3):
        inverter.log.clear()
        await coordinator.async_refresh()
        ours = [i for i, r in enumerate(inverter.log) if r.address != flooded]
        # Once our poll is on the wire, no flood request gets between its requests.
        between = inverter.log[ours[0] : ours[-1] + 1]
        assert all(r.address != flooded for r in between)
        # Before it, one flood request at most: the one in hand when the poll was due.
        assert ours[0] <= 1
    stop.set()
    assert min(await asyncio.gather(*floods)) > 3
    assert coordinator.last_update_success
    assert loud(caplog) == []


async def test_clients_beyond_the_limit_are_turned_away(
    hass: HomeAssistant,
    monkeypatch: pytest.MonkeyPatch,
    stick: EthStick,
    proxy_port: int,
    config_entry: MockConfigEntry,
) -> None:
    monkeypatch.setattr(const, "PROXY_MAX_CLIENTS", 2)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    shared = entry_proxy(hass, config_entry.entry_id)
    assert shared is not None
    clients = [await asyncio.open_connection("127.0.0.1", proxy_port) for _ in range(3)]
    # The third is closed at once; the first two stay.
    assert await asyncio.wait_for(clients[2][0].read(), 5) == b""
    assert len(shared.proxy.clients) == 2
    # One leaves: a new one is served.
    clients[0][1].close()
    await until(lambda: len(shared.proxy.clients) == 1)
    modbus = AsyncModbusTcpClient("127.0.0.1", port=proxy_port, timeout=1, retries=0)
    assert await modbus.connect()
    answer = await modbus.read_holding_registers(0x0445, count=4, device_id=1)
    assert answer.registers == SERIAL_WORDS
    modbus.close()
    clients[1][1].close()
    await hass.config_entries.async_unload(config_entry.entry_id)


async def test_two_inverters_on_a_hub_port_keep_their_ids_and_the_pause(
    hass: HomeAssistant, hub: Hub, proxy_port: int
) -> None:
    line = hub.lines["inverters"]
    entries = [hub_entry(line, unit, serial) for unit, serial in SERIALS.items()]
    for entry in entries:
        entry.add_to_hass(hass)
        hass.config_entries.async_update_entry(
            entry, options={**entry.options, **sharing(proxy_port)}
        )
    # Setting the integration up sets up both.
    assert await hass.config_entries.async_setup(entries[0].entry_id)
    await hass.async_block_till_done()
    client = AsyncModbusTcpClient("127.0.0.1", port=proxy_port, timeout=3, retries=0)
    assert await client.connect()

    async def serial(unit: int) -> str:
        answer = await client.read_holding_registers(0x0445, count=8, device_id=unit)
        return "".join(chr(w >> 8) + chr(w & 0xFF) for w in answer.registers)

    for _ in range(2):
        found = await asyncio.gather(refresh(entries[0]), serial(1), serial(2))
        assert found[1:] == [SERIALS[1], SERIALS[2]]
    # The HUB carries no 0x04: refused here, never sent.
    answer = await client.read_input_registers(0x0404, count=1, device_id=1)
    assert answer.exception_code == ILLEGAL_FUNCTION
    # One client on the port the whole time, and never a request sooner than the pause.
    assert line.connections == 1
    assert line.early == 0
    assert line.shortest_gap is not None
    assert line.shortest_gap >= PACING * 0.9
    client.close()
    for entry in entries:
        await hass.config_entries.async_unload(entry.entry_id)


async def test_diagnostics_show_the_proxy(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    loaded_entry: MockConfigEntry,
    client: AsyncModbusTcpClient,
    proxy_port: int,
) -> None:
    await client.read_holding_registers(0x0404, count=1, device_id=1)
    await client.read_holding_registers(0x0445, count=1, device_id=1)
    await client.write_register(0x104D, 80, device_id=1)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, loaded_entry)
    shown = diagnostics["proxy"]
    assert shown["address"] == f"127.0.0.1:{proxy_port}"
    assert shown["unit_ids"] == [1]
    assert len(shown["clients"]) == 1
    assert (shown["served_from_cache"], shown["forwarded"], shown["refused"]) == (1, 1, 1)


async def _read_serial(port: int) -> list[int]:
    modbus = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
    try:
        assert await modbus.connect()
        answer: ModbusPDU = await modbus.read_holding_registers(0x0445, count=4, device_id=1)
        return list(answer.registers)
    finally:
        modbus.close()


@pytest.mark.parametrize("options", [{}])
async def test_sharing_is_an_option_checked_before_it_is_saved(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, proxy_port: int
) -> None:
    taken = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    taken_port = taken.sockets[0].getsockname()[1]
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    for changes, errors in [
        ({const.CONF_PROXY_HOST: "my machine"}, {const.CONF_PROXY_HOST: "proxy_host_invalid"}),
        # An address this machine does not have (TEST-NET-1): bound to nothing, sent nothing.
        ({const.CONF_PROXY_HOST: "192.0.2.1"}, {const.CONF_PROXY_HOST: "proxy_host_unavailable"}),
        ({const.CONF_PROXY_PORT: 65536.0}, {const.CONF_PROXY_PORT: "proxy_port_range"}),
        ({const.CONF_PROXY_PORT: float(taken_port)}, {const.CONF_PROXY_PORT: "proxy_port_in_use"}),
    ]:
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_SCAN_INTERVAL: 30.0, **sharing(proxy_port), **changes}
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == errors
    taken.close()
    assert loaded_entry.options == {const.CONF_PROXY_PORT: proxy_port}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_SCAN_INTERVAL: 30.0,
            **sharing(float(proxy_port)),
            const.CONF_PROXY_HOST: " 127.0.0.1",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert loaded_entry.options == {CONF_SCAN_INTERVAL: 30, **sharing(proxy_port)}
    assert await _read_serial(proxy_port) == SERIAL_WORDS
    # Saved again as it is: its own proxy's port is no problem. Then off: it stops.
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 30.0, **sharing(proxy_port)}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 30.0, const.CONF_PROXY: False}
    )
    await hass.async_block_till_done()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", proxy_port)


async def test_a_port_another_device_or_program_holds_is_a_repair_issue(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, proxy_port: int, stick: EthStick
) -> None:
    other_inverter = Hyd3ph(serial=SERIALS[2])
    other = EthStick(other_inverter)
    await other.start()
    taken = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    issues = ir.async_get(hass)
    for port, problem in [
        (proxy_port, "proxy_port_taken"),
        (taken.sockets[0].getsockname()[1], "proxy_port_in_use"),
    ]:
        entry = MockConfigEntry(
            domain=const.DOMAIN,
            unique_id=SERIALS[2],
            title="Other",
            data=entry_data(other.port),
            options=sharing(port),
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        # The device is read all the same.
        assert entry.runtime_data.coordinator.last_update_success
        issue = issues.async_get_issue(const.DOMAIN, f"proxy_{entry.entry_id}")
        assert issue is not None
        assert issue.translation_key == problem
        assert issue.translation_placeholders == {
            "title": "Other",
            "address": f"127.0.0.1:{port}",
        }
        await hass.config_entries.async_remove(entry.entry_id)
        assert issues.async_get_issue(const.DOMAIN, f"proxy_{entry.entry_id}") is None
    # The other device asking for the first one's port in its options is told so.
    entry = MockConfigEntry(
        domain=const.DOMAIN, unique_id=SERIALS[2], title="Other", data=entry_data(other.port)
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 30.0, **sharing(proxy_port)}
    )
    assert result["errors"] == {const.CONF_PROXY_PORT: "proxy_port_taken"}
    await hass.config_entries.async_unload(entry.entry_id)
    taken.close()
    await other.stop()
    # The first one still serves.
    assert await _read_serial(proxy_port) == SERIAL_WORDS


@pytest.mark.parametrize("options", [sharing(0, **{const.CONF_PROXY_WRITES: True})])
async def test_the_devices_own_refusals_reach_the_client_as_they_are(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    client: AsyncModbusTcpClient,
    stick: EthStick,
    proxy_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Between two blocks of the map; input registers, which this inverter has none of.
    answer = await client.read_holding_registers(0x0440, count=2, device_id=1)
    assert answer.exception_code == ILLEGAL_ADDRESS
    answer = await client.read_input_registers(0x0404, count=1, device_id=1)
    assert answer.exception_code == ILLEGAL_FUNCTION
    # A setting kept in EEPROM, written twice within the interval: the device is busy.
    assert not (await client.write_register(0x104D, 80, device_id=1)).isError()
    answer = await client.write_register(0x104D, 70, device_id=1)
    assert answer.exception_code == DEVICE_BUSY
    # The device refuses the write: its code (here, a commit it reports as failed).
    stick.faults.exception = ILLEGAL_VALUE
    answer = await client.write_register(0x1104, 1, device_id=1)
    assert answer.exception_code == ILLEGAL_VALUE
    stick.faults.exception = None
    # A request held behind a turn that does not come: busy, the device not asked.
    monkeypatch.setattr(const, "REQUEST_TIMEOUT", 0.05)
    async with loaded_entry.runtime_data.coordinator.async_turn():
        answer = await client.read_holding_registers(0x0445, count=1, device_id=1)
    assert answer.exception_code == DEVICE_BUSY
    # The link down: no path.
    await stick.stop()
    answer = await client.write_register(0x1104, 0, device_id=1)
    assert answer.exception_code == GATEWAY_PATH
    # A frame cut short, a request the protocol does not allow (no registers): let go, refused.
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port)
    writer.write(bytes.fromhex("0001 0000 0006 01 03 0000 0000"))
    assert await reader.readexactly(9) == bytes.fromhex("0001 0000 0003 01 83 03")
    writer.write(bytes.fromhex("0002 0000 0006 01 03"))
    writer.write_eof()
    assert await reader.read() == b""
    writer.close()
    stats = entry_proxy(hass, loaded_entry.entry_id)
    assert stats is not None
    assert stats.proxy.stats.dropped_clients == 1


def test_entries_behind_one_device_share_a_proxy_whatever_their_link() -> None:
    wifi = {
        const.CONF_LINK: const.LINK_WIFI,
        "host": "192.0.2.1",
        "port": 8899,
        const.CONF_LOGGER_SERIAL: 1,
    }
    assert endpoint_key(wifi) == "v5 192.0.2.1:8899"
    assert endpoint_key(entry_data(8899)) == "127.0.0.1:8899"


async def test_a_wifi_sticks_connection_is_shared_too(
    hass: HomeAssistant, wifi: WifiStick, inverter: Hyd3ph, proxy_port: int
) -> None:
    entry = MockConfigEntry(
        domain=const.DOMAIN,
        unique_id=SERIAL,
        title="Inverter",
        data=wifi_data(wifi.port),
        options=sharing(proxy_port),
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    soc = inverter.read(0x0608, 1)
    inverter.log.clear()
    # Solarman V5 to the stick, Modbus TCP to the client: polled registers from the poll.
    client = AsyncModbusTcpClient("127.0.0.1", port=proxy_port, timeout=2, retries=0)
    assert await client.connect()
    answer = await client.read_holding_registers(0x0608, count=1, device_id=1)
    assert answer.registers == soc
    assert await _read_serial(proxy_port) == SERIAL_WORDS
    assert device_requests(inverter) == [(0x03, 0x0445, 4)]
    assert wifi.connections == 1
    client.close()
    await hass.config_entries.async_unload(entry.entry_id)


async def test_input_registers_are_answered_from_the_poll_only_as_input_registers(
    hass: HomeAssistant, socket_enabled: None, proxy_port: int
) -> None:
    # The legacy hybrid reads its real-time block as holding registers, and keeps its
    # battery settings in input registers (no entity reads them yet).
    device = HydEs(clock=Clock(local_time(13)))
    stick = EthStick(device)
    await stick.start()
    entry = MockConfigEntry(
        domain=const.DOMAIN,
        unique_id="ZE1ES460N4B0",
        title="HYD ES",
        data=entry_data(stick.port, profile="zcs_hyd_es", model="HYD ES"),
        options=sharing(proxy_port),
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    reading = coordinator.data
    settings = [7, 8, 9, 10]
    # As a profile whose entities read them would have them from its poll.
    coordinator.data = replace(
        reading, registers={**reading.registers, **dict(enumerate(settings, 0x10B0))}
    )
    device.log.clear()
    client = AsyncModbusTcpClient("127.0.0.1", port=proxy_port, timeout=2, retries=0)
    assert await client.connect()
    assert (await client.read_input_registers(0x10B0, count=4, device_id=1)).registers == settings
    real_time = await client.read_holding_registers(0x0200, count=2, device_id=1)
    assert real_time.registers == [reading.registers[0x0200], reading.registers[0x0201]]
    assert device.log == []
    # The same addresses with the other function: asked of the device, which says.
    await client.read_holding_registers(0x10B0, count=4, device_id=1)
    await client.read_input_registers(0x0200, count=2, device_id=1)
    assert device_requests(device) == [(0x03, 0x10B0, 4), (0x04, 0x0200, 2)]
    client.close()
    await hass.config_entries.async_unload(entry.entry_id)
    await stick.stop()
