"""The Azzurro Portal's third-party API: one POST endpoint, commands in the JSON body.

Wire facts and their confidence: research/cloud_api.md Part 1. The answers are parsed as
the service sends them (fixtures/portal/): only the fields a device has are present, a
device without data is `{}`, and errors come as plain text or HTML pages, not JSON.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from ..source import SourceAuthError, SourceError

_LOGGER = logging.getLogger(__name__)

ENDPOINT = "https://third.zcsazzurroportal.com:19003/"
# ZCS's guide asks for at least 3 s; answers under load take longer (clients in the wild
# wait 5 to 69 s), and one poll every few minutes can afford to wait.
MIN_TIMEOUT = 3.0
DEFAULT_TIMEOUT = 20.0
# historicData and deviceHistoricAlarm take at most one day per request (the spec).
MAX_SPAN = timedelta(days=1)
AUTH_PREFIX = "Zcs "
# The body the service sends for a key or client code it does not know.
INVALID_CLIENT = "INVALID CLIENT"
# Timestamps: ISO-8601 UTC as the spec's examples write them.
_TS_OUT = "%Y-%m-%dT%H:%M:%S.000Z"

type Number = int | float


class PortalError(SourceError):
    """The Portal could not be reached, or answered something that is no answer."""

    reason = "portal_unreachable"


class PortalAuthError(PortalError, SourceAuthError):
    """The Portal refused the key or the client code."""

    reason = "portal_invalid_auth"


class PortalOfflineError(PortalError):
    """The Portal answered, but has no data for the device (success false, or `{}`)."""

    reason = "portal_device_offline"


@dataclass(frozen=True)
class Realtime:
    """The newest values the Portal holds for one device, and the alarms active then."""

    values: dict[str, Number]
    last_update: datetime | None
    alarms: tuple[int, ...] | None = None


@dataclass(frozen=True)
class History:
    """Samples of one device, oldest first: each series aligned with `times`."""

    times: tuple[datetime, ...] = ()
    series: dict[str, tuple[Number | None, ...]] = field(default_factory=dict)


def parse_time(text: object) -> datetime | None:
    """An ISO-8601 timestamp of the Portal, in UTC (no offset: UTC); None when it is none."""
    if not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text)
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError, OverflowError:
        # Not a time, or one at the calendar's edge that has no UTC form (year 9999 +05:30).
        return None


def decode(body: bytes) -> str:
    """An answer's text: JSON is UTF-8; an error page in another encoding is still no answer."""
    return body.decode("utf-8", errors="replace")


def in_window(
    times: list[datetime | None], start: datetime, end: datetime
) -> list[tuple[datetime, int]]:
    """The samples' times between start and end, with their index, in time order.

    A sample outside the window asked for (a clock gone wrong, a far-future stamp) is none
    of the window's: it is dropped rather than trusted.
    """
    return sorted((t, i) for i, t in enumerate(times) if t is not None and start <= t <= end)


def _number(value: object) -> Number | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _codes(value: object) -> tuple[int, ...] | None:
    if isinstance(value, list) and all(type(code) is int for code in value):
        return tuple(value)
    return None


class PortalClient:
    """Asks the Portal about devices with one customer's key and client code."""

    max_span = MAX_SPAN

    def __init__(
        self,
        session: aiohttp.ClientSession,
        key: str,
        client_code: str,
        *,
        url: str = ENDPOINT,
        timeout: float | None = None,
    ) -> None:
        """The key may be given with or without the `Zcs ` the header needs."""
        key = key.strip()
        self._session = session
        self._headers = {
            "Authorization": key if key.startswith(AUTH_PREFIX) else AUTH_PREFIX + key,
            "Client": client_code.strip(),
            "Content-Type": "application/json",
        }
        self._url = url
        wait = DEFAULT_TIMEOUT if timeout is None else timeout
        self._timeout = aiohttp.ClientTimeout(total=max(wait, MIN_TIMEOUT))

    async def realtime(self, thing_key: str, *, alarms: bool = False) -> Realtime:
        """The device's newest values; with `alarms`, its active alarms in the same request."""
        commands = {"realtimeData": {"thingKey": thing_key, "requiredValues": "*"}}
        if alarms:
            commands["deviceAlarm"] = {"thingKey": thing_key, "requiredValues": "*"}
        answer = await self._post(commands)
        thing = _thing(answer, "realtimeData", thing_key)
        numbers = {name: _number(raw) for name, raw in thing.items()}
        values = {name: number for name, number in numbers.items() if number is not None}
        codes = None
        if alarms:
            try:
                codes = _codes(_thing(answer, "deviceAlarm", thing_key).get("deviceAlarm"))
            except PortalOfflineError:
                # A device without alarms (a meter: the spec's `{}`) has no alarm sensor.
                codes = None
        return Realtime(values, parse_time(thing.get("lastUpdate")), codes)

    async def historic(self, thing_key: str, start: datetime, end: datetime) -> History:
        """The samples between start and end (at most MAX_SPAN apart)."""
        thing = await self._window("historicData", thing_key, start, end)
        raw_times = thing.get("ts")
        if not isinstance(raw_times, list):
            # No sample in the window (the device was silent): an empty history.
            return History()
        times = [parse_time(ts) for ts in raw_times]
        series: dict[str, tuple[Number | None, ...]] = {}
        for name, raw in thing.items():
            if name != "ts" and isinstance(raw, list) and len(raw) == len(times):
                series[name] = tuple(_number(value) for value in raw)
        order = in_window(times, start, end)
        return History(
            tuple(t for t, _ in order),
            {name: tuple(values[i] for _, i in order) for name, values in series.items()},
        )

    async def historic_alarms(
        self, thing_key: str, start: datetime, end: datetime
    ) -> tuple[tuple[datetime, tuple[int, ...]], ...]:
        """When which alarms were active between start and end (at most MAX_SPAN apart)."""
        thing = await self._window("deviceHistoricAlarm", thing_key, start, end)
        times, codes = thing.get("ts"), thing.get("deviceAlarm")
        if not isinstance(times, list) or not isinstance(codes, list) or len(times) != len(codes):
            return ()
        pairs = [(parse_time(ts), _codes(active)) for ts, active in zip(times, codes, strict=True)]
        return tuple(sorted((t, c) for t, c in pairs if t is not None and c is not None))

    async def _window(
        self, command: str, thing_key: str, start: datetime, end: datetime
    ) -> dict[str, Any]:
        """One command over a span of time; a device silent all through it gives `{}`."""
        if not timedelta(0) < end - start <= MAX_SPAN:
            raise ValueError(f"{command} spans at most {MAX_SPAN}, not {end - start}")
        params = {
            "thingKey": thing_key,
            "requiredValues": "*",
            "start": start.astimezone(UTC).strftime(_TS_OUT),
            "end": end.astimezone(UTC).strftime(_TS_OUT),
        }
        try:
            return _thing(await self._post({command: params}), command, thing_key)
        except PortalOfflineError:
            return {}

    async def _post(self, commands: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
        """Send the commands in one request; the answer, a JSON object."""
        body = {
            name: {"command": name, "params": dict(params)} for name, params in commands.items()
        }
        try:
            async with self._session.post(
                self._url, json=body, headers=self._headers, timeout=self._timeout
            ) as response:
                status = response.status
                text = decode(await response.read())
        except (aiohttp.ClientError, TimeoutError) as err:
            # DNS failures, refused connections, resets and timeouts alike. Never log the
            # headers: they hold the key and the client code.
            _LOGGER.debug("Azzurro Portal unreachable: %r", err)
            raise PortalError(type(err).__name__) from err
        if status == 401 or text.strip() == INVALID_CLIENT:
            raise PortalAuthError(f"HTTP {status}")
        try:
            answer = json.loads(text) if status == 200 else None
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            # 502/503 pages of the proxy, an empty body, or anything else that is no answer.
            _LOGGER.debug("Azzurro Portal gave HTTP %s and no answer: %.200r", status, text)
            raise PortalError(f"HTTP {status}, no JSON answer")
        return answer


def _thing(answers: Mapping[str, Any], command: str, thing_key: str) -> dict[str, Any]:
    """The device's part of one command's answer; offline when there is none."""
    answer = answers.get(command)
    if not isinstance(answer, dict):
        raise PortalError(f"no {command} in the answer")
    if answer.get("success") is not True:
        raise PortalOfflineError(f"{command}: success is {answer.get('success')!r}")
    params = answer.get("params")
    entries = params.get("value") if isinstance(params, dict) else None
    if not isinstance(entries, list):
        raise PortalError(f"{command}: no value list")
    for entry in entries:
        if isinstance(entry, dict) and isinstance(thing := entry.get(thing_key), dict) and thing:
            return thing
    raise PortalOfflineError(f"{command}: no data for the device")
