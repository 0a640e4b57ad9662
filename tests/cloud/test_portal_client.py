"""The Portal client against the simulated Portal and the real answers (fixtures), on loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from custom_components.zcs_azzurro.api.cloud import portal as portal_module
from custom_components.zcs_azzurro.api.cloud.portal import (
    PortalAuthError,
    PortalClient,
    PortalError,
    PortalOfflineError,
)
from simulator.portal import SimulatedPortal
from tests.conftest import closed_port

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
async def session() -> AsyncGenerator[aiohttp.ClientSession]:
    """A plain aiohttp session, as Home Assistant's shared one is."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def client_of(session: aiohttp.ClientSession, portal: SimulatedPortal, **kw: str) -> PortalClient:
    """A client with the simulated account's credentials unless told others."""
    key = kw.get("key", portal.key)
    return PortalClient(session, key, kw.get("client", portal.client_code), url=portal.url)


async def serve(
    body: str | bytes, status: int = 200, content_type: str = "application/json"
) -> web.AppRunner:
    """A loopback server answering every POST (to any path) with this body."""
    raw = body.encode() if isinstance(body, str) else body

    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=status, body=raw, headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_post("/{path:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


async def test_realtime_of_the_simulated_hybrid(
    session: aiohttp.ClientSession, portal: SimulatedPortal
) -> None:
    answer = await client_of(session, portal).realtime(portal.thing_key, alarms=True)
    # The 25 numeric fields of the real hybrid's answer (fixture), but the two timestamps.
    real = json.loads((FIXTURES / "realtime_hybrid_night.json").read_text())
    (thing,) = real["realtimeData"]["params"]["value"][0].values()
    assert set(answer.values) == set(thing) - {"lastUpdate", "thingFind"}
    assert answer.alarms == ()
    assert answer.last_update is not None
    assert timedelta(0) <= datetime.now(UTC) - answer.last_update < timedelta(minutes=6)
    # One request carried both commands, with the key behind "Zcs ".
    assert set(portal.requests[-1]) == {"realtimeData", "deviceAlarm"}


async def test_the_key_may_carry_its_prefix_and_serials_are_matched_exactly(
    session: aiohttp.ClientSession, portal: SimulatedPortal
) -> None:
    client = client_of(session, portal, key=f"Zcs {portal.key}")
    assert (await client.realtime(portal.thing_key)).values
    with pytest.raises(PortalOfflineError):
        await client.realtime("ZP1ES010M2H99999")


@pytest.mark.parametrize(
    ("fault", "value", "error"),
    [
        ("invalid_client", True, PortalAuthError),
        ("unauthorized", True, PortalAuthError),
        ("error_page", 502, PortalError),
        ("error_page", 503, PortalError),
        ("empty", True, PortalError),
        ("offline", True, PortalOfflineError),
    ],
)
async def test_each_failure_is_told_apart(
    session: aiohttp.ClientSession,
    portal: SimulatedPortal,
    fault: str,
    value: object,
    error: type[Exception],
) -> None:
    setattr(portal.faults, fault, value)
    with pytest.raises(error) as caught:
        await client_of(session, portal).realtime(portal.thing_key)
    # Auth is not "unreachable", offline is not auth: the most specific class only.
    assert type(caught.value) is error


async def test_wrong_credentials_are_invalid_auth(
    session: aiohttp.ClientSession, portal: SimulatedPortal
) -> None:
    with pytest.raises(PortalAuthError):
        await client_of(session, portal, client="someone-else").realtime(portal.thing_key)


async def test_timeouts_and_refused_connections_are_unreachable(
    session: aiohttp.ClientSession, portal: SimulatedPortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(portal_module, "MIN_TIMEOUT", 0.1)
    portal.faults.delay = 0.5
    slow = PortalClient(session, portal.key, portal.client_code, url=portal.url, timeout=0.1)
    with pytest.raises(PortalError, match="TimeoutError"):
        await slow.realtime(portal.thing_key)
    nowhere = f"http://127.0.0.1:{await closed_port()}/"
    with pytest.raises(PortalError, match="ClientConnectorError"):
        await PortalClient(session, "k", "c", url=nowhere).realtime("ZP1")


async def test_the_guide_s_minimum_timeout_holds(session: aiohttp.ClientSession) -> None:
    client = PortalClient(session, "k", "c", timeout=1)
    assert client._timeout.total == portal_module.MIN_TIMEOUT


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("[]", PortalError),
        ('{"other": {}}', PortalError),
        ('{"realtimeData": {"success": true, "params": {}}}', PortalError),
        (
            '{"realtimeData": {"success": true, "params": {"value": [{"ZX": {}}]}}}',
            PortalOfflineError,
        ),
    ],
)
async def test_answers_that_are_no_answer(
    session: aiohttp.ClientSession, socket_enabled: None, body: str, error: type[Exception]
) -> None:
    runner = await serve(body)
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
        with pytest.raises(error):
            await PortalClient(session, "k", "c", url=url).realtime("ZX")
    finally:
        await runner.cleanup()


# A maintenance page of a proxy in front of the service, written in latin-1.
LATIN1_PAGE = "<html><body>Il servizio è in manutenzione</body></html>".encode("latin-1")


@pytest.mark.parametrize(
    ("body", "status", "content_type"),
    [
        (LATIN1_PAGE, 503, "text/html; charset=utf-8"),
        (LATIN1_PAGE, 200, "application/json"),
        (
            b'{"realtimeData": {"success": true, "params": [{"ZX": {"a": 1}}]}}',
            200,
            "application/json",
        ),
        (b'{"realtimeData": {"success": true, "params": "none"}}', 200, "application/json"),
        (
            b'{"realtimeData": {"success": true, "params": {"value": "ZX"}}}',
            200,
            "application/json",
        ),
    ],
    ids=["latin1_page", "latin1_200", "params_list", "params_text", "value_text"],
)
async def test_an_answer_of_any_other_shape_or_encoding_is_a_portal_error(
    session: aiohttp.ClientSession,
    socket_enabled: None,
    body: bytes,
    status: int,
    content_type: str,
) -> None:
    """Only the client's declared errors come out: the coordinator's backoff then applies."""
    runner = await serve(body, status, content_type)
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
        with pytest.raises(PortalError):
            await PortalClient(session, "k", "c", url=url).realtime("ZX")
    finally:
        await runner.cleanup()


async def test_history_keeps_only_the_window_asked_in_utc(
    session: aiohttp.ClientSession, socket_enabled: None
) -> None:
    start = datetime(2026, 3, 1, 10, tzinfo=UTC)
    stamps = [
        "2026-03-01T09:55:00Z",  # before the window
        "2026-03-01T10:05:00Z",
        "2026-03-01T15:40:00+05:30",  # 10:10 UTC
        "2026-03-01T10:15:00",  # no offset: UTC
        "9999-12-31T23:55:00Z",  # far in the future
        "9999-12-31T23:55:00-05:00",  # beyond what a date can hold in UTC
        "not a time",
    ]
    body = {
        "historicData": {
            "success": True,
            "params": {"value": [{"ZX": {"ts": stamps, "energyGeneratingTotal": list(range(7))}}]},
        }
    }
    runner = await serve(json.dumps(body))
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
        client = PortalClient(session, "k", "c", url=url)
        history = await client.historic("ZX", start, start + timedelta(hours=1))
    finally:
        await runner.cleanup()
    assert history.times == tuple(start + timedelta(minutes=m) for m in (5, 10, 15))
    assert all(t.tzinfo is UTC for t in history.times)
    assert history.series == {"energyGeneratingTotal": (1, 2, 3)}


@pytest.mark.parametrize("name", ["realtime_hybrid_night.json", "realtime_spec_example.json"])
async def test_the_real_answers_parse_as_they_are(
    session: aiohttp.ClientSession, socket_enabled: None, name: str
) -> None:
    text = (FIXTURES / name).read_text()
    runner = await serve(text)
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
        client = PortalClient(session, "k", "c", url=url)
        for entry in json.loads(text)["realtimeData"]["params"]["value"]:
            ((thing_key, fields),) = entry.items()
            answer = await client.realtime(thing_key)
            expected = {k: v for k, v in fields.items() if k not in ("lastUpdate", "thingFind")}
            assert answer.values == expected
            assert answer.last_update == datetime.fromisoformat(fields["lastUpdate"])
    finally:
        await runner.cleanup()


async def test_history_spans_at_most_a_day_at_five_minute_steps(
    session: aiohttp.ClientSession, portal: SimulatedPortal
) -> None:
    client = client_of(session, portal)
    end = datetime.now(UTC).replace(microsecond=0)
    history = await client.historic(portal.thing_key, end - timedelta(days=1), end)
    steps = {b - a for a, b in zip(history.times, history.times[1:], strict=False)}
    assert steps == {timedelta(minutes=5)}
    assert 287 <= len(history.times) <= 289
    totals = history.series["energyGeneratingTotal"]
    assert list(totals) == sorted(totals)  # type: ignore[type-var]
    # Not in history, per the spec: the lifetime self-consumption.
    assert "energyAutoconsumingTotal" not in history.series
    with pytest.raises(ValueError, match="spans at most"):
        await client.historic(portal.thing_key, end - timedelta(days=1, seconds=1), end)
    # Before the plant's first sample: nothing, not an error.
    long_ago = end - timedelta(days=30)
    empty = await client.historic(portal.thing_key, long_ago, long_ago + timedelta(hours=1))
    assert empty.times == ()


async def test_alarm_history_over_a_day(
    session: aiohttp.ClientSession, portal: SimulatedPortal
) -> None:
    client = client_of(session, portal)
    portal.alarms = [5]
    end = datetime.now(UTC).replace(microsecond=0)
    history = await client.historic_alarms(portal.thing_key, end - timedelta(hours=1), end)
    assert 11 <= len(history) <= 13
    assert {codes for _, codes in history} == {(5,)}
    with pytest.raises(ValueError, match="deviceHistoricAlarm spans at most"):
        await client.historic_alarms(portal.thing_key, end - timedelta(days=2), end)
    portal.faults.offline = True
    assert await client.historic_alarms(portal.thing_key, end - timedelta(hours=1), end) == ()
