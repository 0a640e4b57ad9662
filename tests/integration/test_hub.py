"""The Azzurro HUB: one client per port, a pause between requests, FC 0x03 and 0x10 only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import replace
from datetime import timedelta
from unittest.mock import patch

import pytest
from homeassistant.components.modbus.connection import async_get_connection_info
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from modbus_connection.tmodbus import ModbusConnection
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zcs_azzurro import config_flow, connection, const
from custom_components.zcs_azzurro.api.errors import DeviceError
from custom_components.zcs_azzurro.api.profile.loader import load_bundled
from custom_components.zcs_azzurro.api.transport.unit import Endpoint, LinkKind
from custom_components.zcs_azzurro.coordinator import ZcsCoordinator
from custom_components.zcs_azzurro.pacing import MAX_BACKOFF, PortWatch, async_hold_pacing
from simulator.devices.chint import Dtsu666
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.hub import Hub, HubLine
from tests.conftest import Clock, link_at, local_time, until

from .conftest import MODEL, poll
from .test_config_flow import link_form

SERIALS = {1: "ZP1ES010M2H00017", 2: "ZP1ES010M2H00018"}
METER_SERIAL = "ZP1ES010M2H00031"
# Short in tests: the rule is what counts, not the HUB's 3 s.
PACING = 0.05


@pytest.fixture
async def hub(socket_enabled: None, monkeypatch: pytest.MonkeyPatch) -> AsyncGenerator[Hub]:
    """Two inverters on the inverter line, a stand-in on the meter line (no meter model)."""
    clock = Clock(local_time(13))
    devices = {unit: Hyd3ph(clock=clock, serial=serial) for unit, serial in SERIALS.items()}
    front = Hub(
        {"inverters": devices, "meters": {1: Hyd3ph(clock=clock, serial=METER_SERIAL)}},
        pacing=PACING,
    )
    await front.start()
    for name, line in front.lines.items():
        monkeypatch.setitem(const.HUB_LINES, name, line.port)
    # What the flow holds the port at before the entry has its own option.
    monkeypatch.setattr(const, "DEFAULT_HUB_PACING", PACING)
    yield front
    await front.stop()


def hub_entry(line: HubLine, unit: int, serial: str, name: str = "inverters") -> MockConfigEntry:
    """An entry for one device behind a HUB port, as the flow makes it."""
    data = {
        const.CONF_LINK: const.LINK_HUB,
        const.CONF_FRAMING: "modbus_tcp",
        CONF_HOST: "127.0.0.1",
        CONF_PORT: line.port,
        const.CONF_LINE: name,
        const.CONF_UNIT_ID: unit,
        const.CONF_PROFILE: "zcs_3ph_hyd_zss",
        const.CONF_MODEL: MODEL,
    }
    options = {const.CONF_PACING: PACING}
    return MockConfigEntry(
        domain=const.DOMAIN, unique_id=serial, title=serial, data=data, options=options
    )


async def set_up(hass: HomeAssistant, *entries: MockConfigEntry) -> None:
    """Add and set up the entries."""
    for entry in entries:
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


def soc(hass: HomeAssistant, serial: str) -> str:
    """The battery state of charge the device with this serial shows."""
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", const.DOMAIN, f"{serial}_battery_soc"
    )
    assert entity_id is not None
    found = hass.states.get(entity_id)
    assert found is not None
    return found.state


async def test_the_flow_asks_host_line_and_unit_and_names_what_is_wrong(
    hass: HomeAssistant, hub: Hub
) -> None:
    # The flow's job ends at the entry; setting up behind a HUB is tested below.
    with patch("custom_components.zcs_azzurro.async_setup_entry", return_value=True):
        await _hub_flow(hass, hub)


async def _hub_flow(hass: HomeAssistant, hub: Hub) -> None:
    form = await link_form(hass, const.LINK_HUB)
    flow = form["flow_id"]
    answers = {CONF_HOST: "127.0.0.1", const.CONF_LINE: "inverters", const.CONF_UNIT_ID: 5.0}
    result = await hass.config_entries.flow.async_configure(flow, answers)
    assert result["errors"] == {"base": "device_no_answer"}  # nothing at unit id 5
    result = await hass.config_entries.flow.async_configure(
        flow, {**answers, const.CONF_UNIT_ID: 2.0}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == SERIALS[2]
    assert result["data"][CONF_PORT] == hub.lines["inverters"].port
    assert result["data"][const.CONF_LINE] == "inverters"
    # The pause ZCS advises, until the user sets the HUB's own.
    assert result["options"] == {const.CONF_PACING: 3.0}
    assert hub.lines["inverters"].early == 0


async def test_an_inverter_asleep_behind_the_hub_is_added_by_its_model(
    hass: HomeAssistant, hub: Hub
) -> None:
    hub.lines["inverters"].units[2].asleep = True
    form = await link_form(hass, const.LINK_HUB)
    flow = form["flow_id"]
    answers = {CONF_HOST: "127.0.0.1", const.CONF_LINE: "inverters", const.CONF_UNIT_ID: 2.0}
    # Worded for the HUB, and still the silence the user may add the device through.
    result = await hass.config_entries.flow.async_configure(flow, answers)
    assert result["errors"] == {"base": "device_no_answer"}
    result = await hass.config_entries.flow.async_configure(
        flow, {**answers, "choose_profile": True}
    )
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "asleep")
    with patch("custom_components.zcs_azzurro.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(
            flow, {"profile": "zcs_3ph_hyd_zss"}
        )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][const.CONF_LINE] == "inverters"
    assert result["data"][const.CONF_UNIT_ID] == 2


async def test_two_entries_on_one_port_share_one_connection_with_the_pause_held(
    hass: HomeAssistant, hub: Hub
) -> None:
    inverters, meters = hub.lines["inverters"], hub.lines["meters"]
    await set_up(
        hass,
        hub_entry(inverters, 1, SERIALS[1]),
        hub_entry(inverters, 2, SERIALS[2]),
        hub_entry(meters, 1, METER_SERIAL, "meters"),
    )
    before = inverters.requests
    for _ in range(8):
        await poll(hass)  # both inverters' polls fall due together
        assert soc(hass, SERIALS[1]) == soc(hass, SERIALS[2]) == "55"
    assert inverters.requests - before >= 8 * 2 * 4  # four requests a poll at least
    # One connection per HUB port, however many entries are behind it.
    assert (inverters.connections, meters.connections) == (1, 1)
    assert len(async_get_connection_info(hass)) == 2
    # No request came sooner than the pause after the answer before it.
    assert inverters.early == 0
    assert inverters.shortest_gap is not None
    assert inverters.shortest_gap >= PACING


async def test_a_one_register_write_goes_as_write_multiple_and_0x06_is_never_sent(
    hass: HomeAssistant, hub: Hub
) -> None:
    line = hub.lines["inverters"]
    await set_up(hass, hub_entry(line, 1, SERIALS[1]))
    switch = er.async_get(hass).async_get_entity_id(
        "switch", const.DOMAIN, f"{SERIALS[1]}_remote_control"
    )
    await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
    state = hass.states.get(switch or "")
    assert state is not None
    assert state.state == "off"
    # The link refuses before sending what the HUB does not carry.
    coordinator: ZcsCoordinator = hass.config_entries.async_entries(const.DOMAIN)[
        0
    ].runtime_data.coordinator
    link = coordinator.device.link  # type: ignore[attr-defined]
    requests = line.requests
    with pytest.raises(ValueError, match="0x06"):
        await link.write_register(1, 0x1104, 1)
    with pytest.raises(ValueError, match="0x04"):
        await link.read_input_registers(1, 0x0404, 1)
    assert line.requests == requests


async def test_the_hub_answers_other_function_codes_with_exception_1(hub: Hub) -> None:
    line = hub.lines["inverters"]
    link = link_at(Endpoint(LinkKind.MODBUS_TCP, "127.0.0.1", line.port))
    try:
        with pytest.raises(DeviceError) as refused:
            await link.write_register(1, 0x1104, 1)
        assert (refused.value.function_code, refused.value.exception_code) == (0x06, 0x01)
    finally:
        await link.close()


async def test_another_client_on_the_port_backs_us_off_and_we_heal_when_it_leaves(
    hass: HomeAssistant, hub: Hub
) -> None:
    line = hub.lines["inverters"]
    entry = hub_entry(line, 1, SERIALS[1])
    await set_up(hass, entry)
    coordinator = entry.runtime_data.coordinator
    issue = f"hub_port_taken_{entry.entry_id}"
    other: list[asyncio.StreamWriter] = []

    async def other_client_takes_the_port() -> None:
        before = line.connections
        _, writer = await asyncio.open_connection("127.0.0.1", line.port)
        other.append(writer)
        await until(lambda: line.connections > before)  # the HUB took it, and dropped us

    intervals = []
    for _ in range(5):
        await other_client_takes_the_port()
        await poll(hass)
        assert coordinator.update_interval is not None
        intervals.append(coordinator.update_interval.total_seconds())
    # Three polls in a row found the port taken: from then on each waits twice as long.
    assert intervals == [30, 30, 60, 120, 240]
    found = ir.async_get(hass).async_get_issue(const.DOMAIN, issue)
    assert found is not None
    assert found.translation_key == "hub_port_taken"
    assert found.translation_placeholders == {
        "title": entry.title,
        "port": f"127.0.0.1:{line.port}",
        "interval": "240",
    }
    # Never a tight loop: one connection per poll, no more.
    assert line.connections == 1 + 5 + len(other)
    # The other client leaves: the poll after it takes the port back, the next one heals.
    for writer in other:
        writer.close()
    await poll(hass)
    await poll(hass)
    assert coordinator.update_interval == timedelta(seconds=30)
    assert ir.async_get(hass).async_get_issue(const.DOMAIN, issue) is None
    assert soc(hass, SERIALS[1]) == "55"


async def test_the_port_s_budget_lengthens_the_interval_and_says_so(hass: HomeAssistant) -> None:
    endpoint = Endpoint(LinkKind.MODBUS_TCP, "192.0.2.1", 55400)  # nothing is sent
    connection = ModbusConnection(endpoint.params())
    release = async_hold_pacing(hass, endpoint, connection.for_unit(1), 3.0)
    interval = timedelta(seconds=30)
    first = PortWatch(hass, "a", "Inverter A", endpoint, interval)
    second = PortWatch(hass, "b", "Inverter B", endpoint, interval)
    # Readings every poll and settings every tenth: 4.6 requests per poll each fit alone.
    assert first.polled(4.6, 0) == interval
    # Together 9.2 requests at 3 s: 27.6 s, within 30 s.
    assert second.polled(4.6, 0) == interval
    # Three inverters and a meter do not fit: 18.4 requests need 56 s.
    third = PortWatch(hass, "c", "Inverter C", endpoint, interval)
    fourth = PortWatch(hass, "d", "Meter", endpoint, interval)
    third.polled(4.6, 0)
    assert fourth.polled(4.6, 0) == timedelta(seconds=56)
    found = ir.async_get(hass).async_get_issue(const.DOMAIN, "hub_budget_d")
    assert found is not None
    assert found.translation_placeholders == {
        "port": "192.0.2.1:55400",
        "requests": "18.4",
        "pacing": "3",
        "interval": "30",
        "budget": "10.0",
        "needed": "56",
    }
    # One of them goes: the others fit again, and the issue goes too.
    third.release()
    fourth.release()
    assert first.polled(4.6, 0) == interval
    assert ir.async_get(hass).async_get_issue(const.DOMAIN, "hub_budget_d") is None
    # Taken at every poll for an evening: the waits grow, but never past the longest.
    waits = [first.polled(4.6, losses) for losses in range(1, 12)]
    assert waits[-1] == MAX_BACKOFF
    assert waits == sorted(waits)
    release()
    await connection.close()


async def test_the_pause_is_an_option_of_a_hub_entry(hass: HomeAssistant, hub: Hub) -> None:
    entry = hub_entry(hub.lines["inverters"], 1, SERIALS[1])
    await set_up(hass, entry)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["data_schema"] is not None
    assert const.CONF_PACING in result["data_schema"].schema
    answers = {"scan_interval": 30.0, const.CONF_WRITE_INTERVAL: 10.0, const.CONF_PACING: 61.0}
    result = await hass.config_entries.options.async_configure(result["flow_id"], answers)
    assert result["errors"] == {const.CONF_PACING: "pacing_range"}
    answers[const.CONF_PACING] = 3.5
    result = await hass.config_entries.options.async_configure(result["flow_id"], answers)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {"scan_interval": 30, const.CONF_WRITE_INTERVAL: 10, "pacing": 3.5}
    # The entry reloads with the new pause; the test ends only once it has.
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED


async def test_a_poll_longer_than_the_interval_is_said_once(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    coordinator = loaded_entry.runtime_data.coordinator
    issue = f"poll_overrun_{loaded_entry.entry_id}"
    for _ in range(2):
        # Shorter than any poll can take; the next poll starts only when this one ends.
        coordinator.update_interval = timedelta(microseconds=1)
        await poll(hass)
    found = ir.async_get(hass).async_get_issue(const.DOMAIN, issue)
    assert found is not None
    assert found.translation_placeholders is not None
    assert found.translation_placeholders["interval"] == "0"
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    assert ir.async_get(hass).async_get_issue(const.DOMAIN, issue) is None


async def test_the_overrun_issue_goes_once_a_poll_fits_again(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    coordinator = loaded_entry.runtime_data.coordinator
    issue = f"poll_overrun_{loaded_entry.entry_id}"
    coordinator.update_interval = timedelta(microseconds=1)
    await poll(hass)
    assert ir.async_get(hass).async_get_issue(const.DOMAIN, issue) is not None
    # Polls fit their interval again (a longer one chosen in the options, say).
    coordinator.update_interval = timedelta(seconds=30)
    await poll(hass)
    assert ir.async_get(hass).async_get_issue(const.DOMAIN, issue) is None


async def test_on_a_hub_port_powers_are_read_every_poll_counters_every_fifth(
    hass: HomeAssistant, hub: Hub
) -> None:
    line = hub.lines["inverters"]
    await set_up(hass, hub_entry(line, 1, SERIALS[1]))
    energy = er.async_get(hass).async_get_entity_id(
        "sensor", const.DOMAIN, f"{SERIALS[1]}_pv_energy_total"
    )
    per_poll = []
    for _ in range(10):
        before = line.requests
        await poll(hass)
        per_poll.append(line.requests - before)
        shown = hass.states.get(energy or "")
        assert shown is not None
        assert shown.state not in ("unknown", "unavailable")  # held between its reads
    # Powers, state and battery in 4 requests; the energy block every fifth poll; the
    # settings (5 more) with it on the tenth.
    assert per_poll == [4, 4, 4, 4, 5, 4, 4, 4, 4, 10]


async def test_counters_a_failing_device_left_without_are_read_on_the_next_poll(
    hass: HomeAssistant, hub: Hub
) -> None:
    """Found by scripts/soak: they were unavailable until their turn, five polls later."""
    line = hub.lines["inverters"]
    await set_up(hass, hub_entry(line, 1, SERIALS[1]))
    energy = er.async_get(hass).async_get_entity_id(
        "sensor", const.DOMAIN, f"{SERIALS[1]}_pv_energy_total"
    )
    for _ in range(4):
        await poll(hass)
    line.faults.exception = 0x04  # device failure, on the poll that reads the counters
    await poll(hass)
    assert (shown := hass.states.get(energy or "")) is not None
    assert shown.state == "unavailable"
    line.faults.exception = None
    before = line.requests
    await poll(hass)
    assert line.requests - before == 5  # the counters again, not in four polls' time
    assert (shown := hass.states.get(energy or "")) is not None
    assert shown.state not in ("unknown", "unavailable")


async def test_a_profile_needing_a_function_the_link_lacks_is_refused_before_any_request(
    hass: HomeAssistant, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Today's profiles read with 0x03 and write with 0x10; a line that carried reads only
    # stands in for a profile that needs 0x04 on the HUB: the same rule refuses both.
    reads_only = replace(connection.LINKS[const.LINK_HUB], functions=frozenset({0x03}))
    monkeypatch.setitem(connection.LINKS, const.LINK_HUB, reads_only)
    form = await link_form(hass, const.LINK_HUB)
    answers = {CONF_HOST: "127.0.0.1", const.CONF_LINE: "inverters", const.CONF_UNIT_ID: 1.0}
    result = await hass.config_entries.flow.async_configure(form["flow_id"], answers)
    assert result["errors"] == {"base": "link_cannot_carry"}
    assert result["description_placeholders"] == {
        "functions": "0x10",
        "model": "3PH HYD 5-20 ZSS",
    }
    line = hub.lines["inverters"]
    entry = hub_entry(line, 1, SERIALS[1])
    entry.add_to_hass(hass)
    before = line.requests
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.reason is not None
    assert "0x10" in entry.reason
    assert line.requests == before  # nothing was sent


def test_a_profile_with_input_blocks_needs_0x04_which_the_hub_does_not_carry() -> None:
    profiles = {profile.id: profile for profile in load_bundled()}
    hub = connection.LINKS[const.LINK_HUB].functions
    assert connection.needed_functions(profiles["zcs_1ph_tl_v3"]) - hub == {0x04}
    assert connection.needed_functions(profiles["zcs_3ph_hyd_zss"]) <= hub


async def test_a_meter_on_the_meter_line_is_added_by_its_profile_and_read(
    hass: HomeAssistant, socket_enabled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    meter = Dtsu666(clock=Clock(local_time(13)))
    front = Hub({"meters": {1: meter}}, pacing=PACING)
    await front.start()
    monkeypatch.setitem(const.HUB_LINES, "meters", front.lines["meters"].port)
    monkeypatch.setattr(const, "DEFAULT_HUB_PACING", PACING)
    # The pause the new entry starts at (the flow's own name for it), short in tests.
    monkeypatch.setattr(config_flow, "DEFAULT_HUB_PACING", PACING)
    try:
        form = await link_form(hass, const.LINK_HUB)
        answers = {CONF_HOST: "127.0.0.1", const.CONF_LINE: "meters", const.CONF_UNIT_ID: 1.0}
        # A meter has no ZCS serial: without asking to choose, that is what the form says.
        result = await hass.config_entries.flow.async_configure(form["flow_id"], answers)
        assert result["errors"] == {"base": "not_zcs"}
        result = await hass.config_entries.flow.async_configure(
            form["flow_id"], {**answers, "choose_profile": True}
        )
        assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "unidentified")
        # Offered: the profiles that name no serial number (the meters), not the inverters'.
        options = result["data_schema"].schema["profile"].config["options"]
        assert {option["value"] for option in options} == {"chint_dtsu666", "chint_ddsu666"}
        result = await hass.config_entries.flow.async_configure(
            form["flow_id"], {"profile": "chint_dtsu666"}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        port = front.lines["meters"].port
        entry = result["result"]
        # No serial, and an address is no identity: the entry has no unique id, and its
        # device and entities go by the entry's own id.
        assert entry.unique_id is None
        assert entry.title == f"DTSU666 (127.0.0.1:{port} #1)"
        await hass.async_block_till_done(wait_background_tasks=True)
        assert entry.state is ConfigEntryState.LOADED
        grid = er.async_get(hass).async_get_entity_id(
            "sensor", const.DOMAIN, f"{entry.entry_id}_grid_power"
        )
        assert grid == f"sensor.dtsu666_127_0_0_1_{port}_1_grid_power"
        shown = hass.states.get(grid)
        assert shown is not None
        assert float(shown.state) == pytest.approx(-meter.plant.grid_w, abs=1)
        # The same meter is not added twice.
        again = await link_form(hass, const.LINK_HUB)
        result = await hass.config_entries.flow.async_configure(
            again["flow_id"], {**answers, "choose_profile": True}
        )
        result = await hass.config_entries.flow.async_configure(
            again["flow_id"], {"profile": "chint_dtsu666"}
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "already_configured"
    finally:
        await front.stop()


async def test_a_meter_entry_known_by_its_address_is_migrated_to_its_entry_id(
    hass: HomeAssistant, socket_enabled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    meter = Dtsu666(clock=Clock(local_time(13)))
    front = Hub({"meters": {1: meter}}, pacing=PACING)
    await front.start()
    port = front.lines["meters"].port
    old = f"{const.LINK_HUB}_127.0.0.1:{port}_1"
    data = {
        const.CONF_LINK: const.LINK_HUB,
        CONF_HOST: "127.0.0.1",
        CONF_PORT: port,
        const.CONF_LINE: "meters",
        const.CONF_UNIT_ID: 1,
        const.CONF_PROFILE: "chint_dtsu666",
        const.CONF_MODEL: "DTSU666",
    }
    # As version 1.1 made it: the unique ids from the address, an entity id the user chose.
    entry = MockConfigEntry(
        domain=const.DOMAIN,
        unique_id=old,
        title=f"DTSU666 (127.0.0.1:{port} #1)",
        data=data,
        options={const.CONF_PACING: PACING},
        version=1,
        minor_version=1,
    )
    entry.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(const.DOMAIN, old)}
    )
    er.async_get(hass).async_get_or_create(
        "sensor",
        const.DOMAIN,
        f"{old}_grid_power",
        suggested_object_id="my_meter_power",
        config_entry=entry,
        device_id=device.id,
    )
    try:
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        assert (entry.unique_id, entry.minor_version) == (None, 2)
        registry = er.async_get(hass)
        assert registry.async_get_entity_id(
            "sensor", const.DOMAIN, f"{entry.entry_id}_grid_power"
        ) == ("sensor.my_meter_power")
        migrated = dr.async_get(hass).async_get(device.id)
        assert migrated is not None
        assert migrated.identifiers == {(const.DOMAIN, entry.entry_id)}
        shown = hass.states.get("sensor.my_meter_power")
        assert shown is not None
        assert float(shown.state) == pytest.approx(-meter.plant.grid_w, abs=1)
        assert len(dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)) == 1
    finally:
        await hass.config_entries.async_unload(entry.entry_id)
        await front.stop()


async def test_a_meter_profile_that_reads_nothing_there_is_refused(
    hass: HomeAssistant, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The stand-in on the meter line answers only in its own blocks: a meter's read nothing.
    monkeypatch.setattr(config_flow, "DEFAULT_HUB_PACING", PACING)
    stand_in = hub.lines["meters"].units[1]
    assert isinstance(stand_in, Hyd3ph)
    stand_in.pin(0x0445, [0x5858] * 8)  # "XXXX...": no ZCS serial where inverters keep it
    form = await link_form(hass, const.LINK_HUB)
    answers = {CONF_HOST: "127.0.0.1", const.CONF_LINE: "meters", const.CONF_UNIT_ID: 1.0}
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {**answers, "choose_profile": True}
    )
    assert result["step_id"] == "unidentified"
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {"profile": "chint_dtsu666"}
    )
    assert result["errors"] == {"base": "profile_reads_nothing"}
