"""The System client against the simulated System API (the assumed wire format), on loopback."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from custom_components.zcs_azzurro.api.cloud import system_wire as wire
from custom_components.zcs_azzurro.api.cloud.system import (
    SystemApiError,
    SystemAuthError,
    SystemClient,
    SystemLoggerError,
    SystemOfflineError,
    SystemWriteRefusedError,
)
from simulator.system import SimulatedSystem
from tests.conftest import closed_port

from .test_portal_client import serve, session

__all__ = ["session"]


def client_of(session: aiohttp.ClientSession, system: SimulatedSystem, **kw: Any) -> SystemClient:
    """A client with the simulated plant's token unless told another."""
    return SystemClient(
        session, kw.get("token", system.token), kw.get("plant", system.plant), url=system.url
    )


async def test_realtime_with_alarms_and_the_logger(
    session: aiohttp.ClientSession, system: SimulatedSystem
) -> None:
    system.alarms = [3, 17]
    client = client_of(session, system, token=f"  Bearer {system.token} ")
    answer = await client.realtime(system.device, alarms=True)
    assert answer.alarms == (3, 17)
    assert set(answer.values) >= {"P_PV", "P_LOAD", "BP1", "E_PV_TOTAL", "E_GRID_IN_TOTAL"}
    assert answer.last_update is not None
    assert client.logger == "ZSM-WIFI-USB"
    plain = await client.realtime(system.device)
    assert plain.alarms is None
    system.alarms = None
    without = await client.realtime(system.device, alarms=True)
    assert without.alarms is None
    assert without.values


async def test_each_failure_is_told_apart(
    session: aiohttp.ClientSession, system: SimulatedSystem
) -> None:
    with pytest.raises(SystemAuthError):
        await client_of(session, system, token="wrong").realtime(system.device)
    with pytest.raises(SystemOfflineError):
        await client_of(session, system).realtime("ZP1ES010M2H99999")
    with pytest.raises(SystemOfflineError):
        await client_of(session, system, plant="OTHER").realtime(system.device)
    system.faults.server_error = 503
    with pytest.raises(SystemApiError) as caught:
        await client_of(session, system).realtime(system.device)
    assert type(caught.value) is SystemApiError
    system.faults.server_error = None
    system.faults.token_rejected = True
    with pytest.raises(SystemAuthError):
        await client_of(session, system).realtime(system.device)
    closed = SystemClient(session, "t", "p", url=f"http://127.0.0.1:{await closed_port()}")
    with pytest.raises(SystemApiError):
        await closed.realtime(system.device)


async def test_the_guide_s_minimum_timeout_holds(session: aiohttp.ClientSession) -> None:
    client = SystemClient(session, "t", "p", timeout=1)
    assert client._timeout.total == wire.MIN_TIMEOUT


async def test_history_within_the_span_at_five_minute_steps(
    session: aiohttp.ClientSession, system: SimulatedSystem
) -> None:
    client = client_of(session, system)
    now = (await client.realtime(system.device)).last_update
    assert now is not None
    history = await client.historic(system.device, now - client.max_span, now)
    assert len(history.times) == client.max_span / timedelta(minutes=5) + 1
    assert list(history.times) == sorted(history.times)
    totals = [v for v in history.series["E_PV_TOTAL"] if v is not None]
    assert totals == sorted(totals)
    with pytest.raises(ValueError, match="spans at most"):
        await client.historic(system.device, now - client.max_span * 2, now)
    system.alarms = [5]
    alarms = await client.historic_alarms(system.device, now - timedelta(hours=1), now)
    assert [codes for _, codes in alarms] == [(5,)] * 13


async def test_a_write_is_acknowledged_and_answered_at_the_callback(
    session: aiohttp.ClientSession, system: SimulatedSystem
) -> None:
    received: asyncio.Queue[Any] = asyncio.Queue()

    async def callback(request: web.Request) -> web.Response:
        await received.put(wire.parse_callback(await request.json()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", callback)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        await client_of(session, system).write(
            system.device, 0x1187, [55], callback_url=url, request_id="r1"
        )
        answer = await asyncio.wait_for(received.get(), 5)
        assert answer == wire.Callback("r1", system.device, 0x1187, ok=True)
        assert system.registers == {0x1187: 55}
        with pytest.raises(SystemWriteRefusedError):
            await client_of(session, system).write(
                system.device, 0x1187, [70000], callback_url=url, request_id="r2"
            )
        system.logger = "ZVM-CONNEXT"
        with pytest.raises(SystemLoggerError):
            await client_of(session, system).write(
                system.device, 0x1187, [1], callback_url=url, request_id="r3"
            )
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"requestId": "r", "deviceId": "d", "register": "1", "result": "ok"},
        {"requestId": "r", "deviceId": "d", "register": 1, "result": "maybe"},
        {"requestId": "r", "deviceId": "d", "register": 1, "result": "ok", "error": 5},
        {"requestId": 1, "deviceId": "d", "register": 1, "result": "ok"},
    ],
)
def test_what_is_no_callback(body: object) -> None:
    assert wire.parse_callback(body) is None


def test_a_callback_round_trips() -> None:
    sent = wire.Callback("r", "d", 4, ok=False, error="E")
    assert wire.parse_callback(wire.callback_body(sent)) == sent


@pytest.mark.parametrize("status", [200, 503])
async def test_a_page_in_another_encoding_is_an_api_error(
    session: aiohttp.ClientSession, socket_enabled: None, status: int
) -> None:
    page = "<html><body>Servizio in manutenzione: è</body></html>".encode("latin-1")
    runner = await serve(page, status, "text/html; charset=utf-8")
    try:
        client = SystemClient(session, "t", "p", url=f"http://127.0.0.1:{runner.addresses[0][1]}")
        with pytest.raises(SystemApiError):
            await client.realtime("ZX")
    finally:
        await runner.cleanup()


async def test_history_drops_samples_outside_the_window(
    session: aiohttp.ClientSession, socket_enabled: None
) -> None:
    start = datetime(2026, 3, 1, 10, tzinfo=UTC)
    stamps = ["2026-03-01T09:00:00Z", "2026-03-01T10:05:00Z", "9999-12-31T23:55:00Z"]
    body = {wire.SUCCESS: True, wire.DATA: {wire.TIMES: stamps, "E_PV_TOTAL": [1.0, 2.0, 3.0]}}
    runner = await serve(json.dumps(body))
    try:
        client = SystemClient(session, "t", "p", url=f"http://127.0.0.1:{runner.addresses[0][1]}")
        history = await client.historic("ZX", start, start + timedelta(hours=1))
    finally:
        await runner.cleanup()
    assert history.times == (start + timedelta(minutes=5),)
    assert history.series == {"E_PV_TOTAL": (2.0,)}
