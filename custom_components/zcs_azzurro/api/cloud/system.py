"""The Azzurro System API: realtime, history, alarms and register writes, with one token.

The wire format is not public: every assumed detail is in system_wire.py. The answers
become the Portal's types (Realtime, History), so the source, the stale-data rules and the
backfill are shared.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from ..source import SourceAuthError, SourceError
from . import system_wire as wire
from .portal import History, Realtime, decode, in_window, parse_time

_LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 20.0

type Number = int | float


class SystemApiError(SourceError):
    """The System API could not be reached, or answered something that is no answer."""

    reason = "system_unreachable"


class SystemAuthError(SystemApiError, SourceAuthError):
    """The System API refused the token."""

    reason = "system_invalid_auth"


class SystemOfflineError(SystemApiError):
    """The API answered, but has no data for the device (wrong plant or device id, or silent)."""

    reason = "system_device_offline"


class SystemWriteRefusedError(SystemApiError):
    """The API refused the write request; `code` is the error it named."""

    def __init__(self, code: str) -> None:
        """Keep the API's error code (no secret in it)."""
        super().__init__(code)
        self.code = code


class SystemLoggerError(SystemWriteRefusedError):
    """The device is behind a logger that takes no writes (not ZSM-WIFI-USB/ETH-USB)."""


def _number(value: object) -> Number | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _codes(value: object) -> tuple[int, ...] | None:
    if isinstance(value, list) and all(type(code) is int for code in value):
        return tuple(value)
    return None


class SystemClient:
    """Asks the System API about the devices of one plant, with the plant owner's token."""

    max_span = wire.MAX_SPAN

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token: str,
        plant: str,
        *,
        url: str = wire.BASE_URL,
        timeout: float | None = None,
    ) -> None:
        """The token may be given with or without the scheme the header needs."""
        token = token.strip().removeprefix(wire.AUTH_SCHEME)
        self._session = session
        self._headers = {wire.AUTH_HEADER: wire.AUTH_SCHEME + token}
        self.plant = plant.strip()
        self._url = url if url.endswith("/") else url + "/"
        wait = DEFAULT_TIMEOUT if timeout is None else timeout
        self._timeout = aiohttp.ClientTimeout(total=max(wait, wire.MIN_TIMEOUT))
        # The logger the device reported at the last realtime answer (None: not said).
        self.logger: str | None = None

    async def realtime(self, device: str, *, alarms: bool = False) -> Realtime:
        """The device's newest values; with `alarms`, its active alarms (a second call)."""
        data = await self._call(wire.PATH_REALTIME, wire.read_request(self.plant, device))
        values = {
            name: number for name, raw in data.items() if (number := _number(raw)) is not None
        }
        if isinstance(logger := data.get(wire.LOGGER_MODEL), str):
            self.logger = logger
        codes = None
        if alarms:
            try:
                answer = await self._call(wire.PATH_ALARMS, wire.read_request(self.plant, device))
            except SystemOfflineError:
                # A device without alarms (a meter, as on the Portal) has no alarm sensor.
                answer = {}
            codes = _codes(answer.get(wire.ALARMS))
        return Realtime(values, parse_time(data.get(wire.LAST_UPDATE)), codes)

    async def historic(self, device: str, start: datetime, end: datetime) -> History:
        """The samples between start and end (at most max_span apart), oldest first."""
        data = await self._window(wire.PATH_HISTORIC, device, start, end)
        raw_times = data.get(wire.TIMES)
        if not isinstance(raw_times, list):
            return History()
        times = [parse_time(ts) for ts in raw_times]
        order = in_window(times, start, end)
        series = {
            name: tuple(_number(raw[i]) for _, i in order)
            for name, raw in data.items()
            if name != wire.TIMES and isinstance(raw, list) and len(raw) == len(times)
        }
        return History(tuple(t for t, _ in order), series)

    async def historic_alarms(
        self, device: str, start: datetime, end: datetime
    ) -> tuple[tuple[datetime, tuple[int, ...]], ...]:
        """When which alarms were active between start and end (at most max_span apart)."""
        data = await self._window(wire.PATH_HISTORIC_ALARMS, device, start, end)
        times, codes = data.get(wire.TIMES), data.get(wire.ALARMS)
        if not isinstance(times, list) or not isinstance(codes, list) or len(times) != len(codes):
            return ()
        pairs = [(parse_time(ts), _codes(active)) for ts, active in zip(times, codes, strict=True)]
        return tuple(sorted((t, c) for t, c in pairs if t is not None and c is not None))

    async def write(
        self, device: str, register: int, values: list[int], *, callback_url: str, request_id: str
    ) -> None:
        """Ask for a register write; the result comes later, POSTed to callback_url."""
        body = wire.write_request(
            self.plant, device, register, values, callback_url=callback_url, request_id=request_id
        )
        await self._call(wire.PATH_WRITE, body)

    async def _window(
        self, path: str, device: str, start: datetime, end: datetime
    ) -> dict[str, Any]:
        if not timedelta(0) < end - start <= self.max_span:
            raise ValueError(f"{path} spans at most {self.max_span}, not {end - start}")
        return await self._call(path, wire.read_request(self.plant, device, (start, end)))

    async def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST one call; its data, or the error it names."""
        try:
            async with self._session.post(
                self._url + path, json=body, headers=self._headers, timeout=self._timeout
            ) as response:
                status = response.status
                text = decode(await response.read())
        except (aiohttp.ClientError, TimeoutError) as err:
            # Never log the headers: they hold the token.
            _LOGGER.debug("Azzurro System unreachable: %r", err)
            raise SystemApiError(type(err).__name__) from err
        if status in (401, 403):
            raise SystemAuthError(f"HTTP {status}")
        try:
            answer = json.loads(text)
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or status >= 500:
            _LOGGER.debug("Azzurro System gave HTTP %s and no answer: %.200r", status, text)
            raise SystemApiError(f"HTTP {status}, no JSON answer")
        if answer.get(wire.SUCCESS) is not True:
            code = str(answer.get(wire.ERROR, ""))
            if path == wire.PATH_WRITE:
                raise (SystemLoggerError if code == wire.ERROR_LOGGER else SystemWriteRefusedError)(
                    code
                )
            raise SystemOfflineError(f"{path}: {code or 'success is not true'}")
        data = answer.get(wire.DATA)
        return data if isinstance(data, dict) else {}


def may_have_arrived(err: SystemApiError) -> bool:
    """Whether a write request that failed so may still have reached the API.

    No connection: it never left. No answer in time, or the connection dropped once the
    request was out: ZCS may have taken it, and its callback may still come.
    """
    cause = err.__cause__
    if isinstance(cause, aiohttp.ClientConnectorError):
        return False
    return isinstance(
        cause,
        TimeoutError
        | aiohttp.ServerDisconnectedError
        | aiohttp.ClientPayloadError
        | aiohttp.ClientOSError,
    )
