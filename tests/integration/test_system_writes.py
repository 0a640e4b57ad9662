"""System writes keep the local writes' guarantees: the review's M3, M4, L7, L8 and L9.

Against the simulated System on loopback, whose callbacks come over real HTTP to the entry's
webhook: one write per group at a time, nothing sent that the inverter holds already, the
EEPROM interval, words that say "unknown" when it is, and a callback read whole.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zcs_azzurro import const
from custom_components.zcs_azzurro.api.cloud.system import (
    SystemApiError,
    SystemClient,
    may_have_arrived,
)
from custom_components.zcs_azzurro.system import plain_http_issue
from custom_components.zcs_azzurro.webhook import WebhookWrites, webhook_url
from simulator.system import SimulatedSystem
from tests.conftest import Clock, closed_port

from .test_system import REGISTER, WEBHOOK_ID, _setup, system_entry
from .test_system_controls import call, state

MIN = ("number", "passive_battery_min")
MAX = ("number", "passive_battery_max")
GRID = ("number", "passive_grid_power")
STORAGE_MODE = ("select", "storage_mode")
PASSIVE = 0x1187


@pytest.fixture(autouse=True)
def short_write_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A write waits half a second for its callback (the simulator sends in 10 ms)."""
    monkeypatch.setattr(const, "SYSTEM_WRITE_TIMEOUT", 0.5)


@pytest.fixture
async def loaded(hass: HomeAssistant, system: SimulatedSystem, http: TestClient) -> MockConfigEntry:
    """The simulated inverter's System entry (the default 10 s EEPROM interval)."""
    return await _setup(hass, system_entry(system))


def writes_of(entry: MockConfigEntry) -> WebhookWrites:
    writes = entry.runtime_data.coordinator.register_writes
    assert isinstance(writes, WebhookWrites)
    return writes


async def _whole_passive_group(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """The passive group known once (the register action), as a user does it first."""
    await hass.services.async_call(
        const.DOMAIN,
        "write_registers",
        {"config_entry_id": entry.entry_id, "address": PASSIVE, "values": [0] * 6},
        blocking=True,
        return_response=True,
    )


def _s32(system: SimulatedSystem, address: int) -> int:
    raw = system.registers[address] << 16 | system.registers[address + 1]
    return raw - (1 << 32) if raw >= 1 << 31 else raw


async def test_two_settings_of_one_group_written_at_once_both_land(
    hass: HomeAssistant, system: SimulatedSystem, loaded: MockConfigEntry
) -> None:
    """M4: an automation setting minimum and maximum in parallel keeps both."""
    await _whole_passive_group(hass, loaded)
    await asyncio.gather(
        call(hass, MIN, "set_value", value=-1000),
        call(hass, MAX, "set_value", value=2000),
    )
    # One after the other, the second completed from what the first confirmed.
    assert [w.values for w in system.writes[1:]] in (
        [[0, 0, 0xFFFF, 0xFC18, 0, 0], [0, 0, 0xFFFF, 0xFC18, 0, 2000]],
        [[0, 0, 0, 0, 0, 2000], [0, 0, 0xFFFF, 0xFC18, 0, 2000]],
    )
    assert (_s32(system, 0x1189), _s32(system, 0x118B)) == (-1000, 2000)
    assert state(hass, MIN) == ("-1000", True)
    assert state(hass, MAX) == ("2000", True)


async def test_what_the_inverter_holds_is_not_sent_and_eeprom_waits_its_interval(
    hass: HomeAssistant, system: SimulatedSystem, loaded: MockConfigEntry
) -> None:
    """M4: a mode selected again sends nothing; EEPROM groups wait as local ones do."""
    clock = Clock(1000.0)
    writes_of(loaded).interval.clock = clock
    for _ in range(3):
        await call(hass, STORAGE_MODE, "select_option", option="passive")
    assert len(system.writes) == 1
    with pytest.raises(HomeAssistantError) as soon:
        await call(hass, STORAGE_MODE, "select_option", option="self_use")
    assert soon.value.translation_key == "write_too_soon"
    assert soon.value.translation_placeholders == {"wait": "10"}
    assert state(hass, STORAGE_MODE) == ("passive", True)
    clock.now += 10
    await call(hass, STORAGE_MODE, "select_option", option="self_use")
    assert [w.values for w in system.writes] == [[3], [0]]
    # The passive set-points live in RAM: an energy manager rewrites them at will.
    await _whole_passive_group(hass, loaded)
    for watts in (100, 200, 300):
        await call(hass, GRID, "set_value", value=watts)
    assert len(system.writes) == 6
    # A register action that writes what is held sends nothing either.
    response = await hass.services.async_call(
        const.DOMAIN,
        "write_registers",
        {"config_entry_id": loaded.entry_id, "address": 0x1110, "values": [0]},
        blocking=True,
        return_response=True,
    )
    assert response == {"address": 0x1110, "written": False}
    assert len(system.writes) == 6


async def test_a_confirmed_value_outside_the_options_makes_the_setting_unknown(
    hass: HomeAssistant, system: SimulatedSystem, loaded: MockConfigEntry
) -> None:
    """L7: the inverter no longer holds what was shown."""
    await call(hass, STORAGE_MODE, "select_option", option="passive")
    writes_of(loaded).interval.seconds = 0
    await loaded.runtime_data.coordinator.async_write_registers(0x1110, [9])
    assert system.registers[0x1110] == 9
    assert state(hass, STORAGE_MODE) == (STATE_UNKNOWN, True)
    assert "storage_mode" not in writes_of(loaded).held


async def test_a_write_whose_answer_was_lost_waits_for_its_callback(
    hass: HomeAssistant, system: SimulatedSystem, loaded: MockConfigEntry
) -> None:
    """L8: the request reached ZCS although its answer never came: the callback decides."""
    system.faults.write_answer_dropped = True
    await call(hass, STORAGE_MODE, "select_option", option="passive")
    assert system.registers[0x1110] == 3
    assert state(hass, STORAGE_MODE) == ("passive", True)


async def test_a_write_that_may_have_been_taken_says_so(
    hass: HomeAssistant, system: SimulatedSystem, loaded: MockConfigEntry
) -> None:
    """L8: no "Nothing was written" when ZCS may have taken it."""
    system.faults.write_answer_dropped = True
    system.faults.callback_never = True
    with pytest.raises(HomeAssistantError) as unsure:
        await call(hass, STORAGE_MODE, "select_option", option="passive")
    assert unsure.value.translation_key == "system_write_unknown"
    assert "may still be applied" in str(unsure.value)
    # ZCS answered that it did not take it: then, and only then, "nothing was written".
    system.faults.write_answer_dropped = system.faults.callback_never = False
    system.faults.server_error = 503
    writes_of(loaded).interval.seconds = 0
    with pytest.raises(HomeAssistantError) as not_sent:
        await call(hass, STORAGE_MODE, "select_option", option="self_use")
    assert not_sent.value.translation_key == "system_write_not_sent"


async def _callback_in_pieces(
    hass: HomeAssistant, system: SimulatedSystem, entry: MockConfigEntry, http: TestClient
) -> tuple[asyncio.Task[object], bytes]:
    system.faults.callback_never = True
    coordinator = entry.runtime_data.coordinator
    task = hass.async_create_task(coordinator.async_write_registers(REGISTER, [11]))
    system.written.clear()
    await system.written.wait()
    (write,) = system.writes
    body = {
        "requestId": write.request_id,
        "deviceId": system.device,
        "register": REGISTER,
        "result": "ok",
    }
    return task, json.dumps(body).encode()


async def test_a_callback_in_two_pieces_is_read_whole(
    hass: HomeAssistant, system: SimulatedSystem, loaded: MockConfigEntry, http: TestClient
) -> None:
    """M3: chunked, the body's second half a moment after the first."""
    task, body = await _callback_in_pieces(hass, system, loaded, http)
    halfway = asyncio.Event()

    async def pieces() -> AsyncIterator[bytes]:
        yield body[:20]
        await halfway.wait()
        yield body[20:]

    asyncio.get_running_loop().call_later(0.05, halfway.set)
    response = await http.post(f"/api/webhook/{WEBHOOK_ID}", data=pieces())
    assert response.status == 200
    result = await task
    assert isinstance(result, dict)
    assert result["register"] == REGISTER


async def test_a_callback_with_a_length_in_two_sends_is_read_whole(
    hass: HomeAssistant, system: SimulatedSystem, loaded: MockConfigEntry, http: TestClient
) -> None:
    """M3: Content-Length given, the body written in two sends."""
    task, body = await _callback_in_pieces(hass, system, loaded, http)
    url = http.make_url(f"/api/webhook/{WEBHOOK_ID}")
    reader, writer = await asyncio.open_connection(url.host, url.port)
    head = (
        f"POST {url.path} HTTP/1.1\r\nHost: {url.host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    writer.write(head + body[:10])
    await writer.drain()
    # The fault itself: the rest a moment later, as a slow network delivers it (the test
    # passes however long the moment is; it is what makes the old single read fail).
    await asyncio.sleep(0.05)
    writer.write(body[10:])
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    assert b" 200 " in status_line
    assert isinstance(await task, dict)


async def test_a_callback_that_never_ends_is_cut_off(
    hass: HomeAssistant,
    system: SimulatedSystem,
    loaded: MockConfigEntry,
    http: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """M3: within the cap, but not whole within the time limit: refused, nothing taken."""
    monkeypatch.setattr(const, "CALLBACK_READ_TIMEOUT", 0.05)
    task, body = await _callback_in_pieces(hass, system, loaded, http)
    never = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        yield body[:20]
        await never.wait()

    sending = asyncio.create_task(http.post(f"/api/webhook/{WEBHOOK_ID}", data=stalled()))
    response = await sending
    assert response.status == 408
    never.set()
    with pytest.raises(HomeAssistantError) as timed_out:
        await task
    assert timed_out.value.translation_key == "system_write_timeout"


async def test_a_plain_http_webhook_raises_a_repair_issue_and_https_is_preferred(
    hass: HomeAssistant, system: SimulatedSystem, http: TestClient
) -> None:
    """L9: the `http` fixture's external URL is plain http (loopback)."""
    entry = await _setup(hass, system_entry(system))
    issue = ir.async_get(hass).async_get_issue(const.DOMAIN, plain_http_issue(entry.entry_id))
    assert issue is not None
    assert issue.translation_key == "system_webhook_plain_http"
    assert issue.severity is ir.IssueSeverity.WARNING
    await hass.config_entries.async_unload(entry.entry_id)
    assert (
        ir.async_get(hass).async_get_issue(const.DOMAIN, plain_http_issue(entry.entry_id)) is None
    )
    hass.config.external_url = "https://zcs.example.org"
    assert webhook_url(hass, WEBHOOK_ID) == f"https://zcs.example.org/api/webhook/{WEBHOOK_ID}"


async def test_a_write_that_could_not_connect_never_left(socket_enabled: None) -> None:
    """What decides between "nothing was written" and "it may be applied"."""
    async with aiohttp.ClientSession() as session:
        client = SystemClient(
            session, "token", "plant", url=f"http://127.0.0.1:{await closed_port()}/"
        )
        with pytest.raises(SystemApiError) as failed:
            await client.write("device", 0x1110, [3], callback_url="https://x/", request_id="1")
    assert not may_have_arrived(failed.value)
