"""The Azzurro System API as described to the project, answering from the simulated plant.

No public description of its wire exists (research/cloud_api.md Part 2): only that calls are
POSTs with a token, that realtime, historic (about 6 days a request), alarm and write calls
exist, that a write's result is POSTed later as JSON to a callback URL the caller gives, and
that only inverters behind ZSM-WIFI-USB or ZSM-ETH-USB loggers take writes. The names below
are this simulator's own statement of the assumed rest (the research's guesses: a bearer
token as the web app's session API sends it, short field names as the web app's P_..., BP1),
written apart from the integration's system_wire.py on purpose: a name the integration gets
wrong, or changes on one side only, fails the tests instead of agreeing with itself.

The plant and its 5-minute samples are the simulated Portal's. Writes are acknowledged at
once and their result POSTed to the caller's callback URL after a delay; the faults are
switchable.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from .faults import add_flags, from_flags
from .portal import SimulatedPortal, iso, parse_iso


class Wire:
    """The System API's wire as this simulator serves it (every name an assumption)."""

    # Bearer token in the Authorization header, as the web app's session API sends one.
    AUTH_HEADER = "Authorization"
    AUTH_SCHEME = "Bearer "
    # One POST path per call.
    REALTIME = "realtime"
    HISTORIC = "historic"
    ALARMS = "alarmRealtime"
    HISTORIC_ALARMS = "alarmHistoric"
    WRITE = "write"
    # Every request names the plant and the device (the inverter's serial).
    PLANT = "plantId"
    DEVICE = "deviceId"
    # A span: ISO-8601 UTC times.
    START = "from"
    END = "to"
    # Answers: {"success": bool, "data": {...}} or {"success": false, "error": code}.
    SUCCESS = "success"
    DATA = "data"
    ERROR = "error"
    ERROR_NO_DEVICE = "DEVICE_NOT_FOUND"
    ERROR_LOGGER = "LOGGER_NOT_SUPPORTED"
    # Realtime: when the device last reported, and through which logger.
    LAST_UPDATE = "lastUpdate"
    LOGGER_MODEL = "loggerModel"
    # The loggers writes go through (the one KNOWN fact of this part).
    WRITE_LOGGERS = frozenset({"ZSM-WIFI-USB", "ZSM-ETH-USB"})
    # Historic data: lists beside a list of times; alarms: lists of codes.
    TIMES = "ts"
    ALARM_CODES = "alarms"
    # A write: first register, the words from it, the callback URL and the caller's id;
    # its callback repeats id, device and register, and says "ok" or "error".
    REGISTER = "register"
    VALUES = "values"
    CALLBACK_URL = "callbackUrl"
    REQUEST_ID = "requestId"
    RESULT = "result"
    RESULT_OK = "ok"
    RESULT_ERROR = "error"


# The System's assumed names (system_fields.yaml) for the simulated Portal's.
NAMES = {
    "powerGenerating": "P_PV",
    "powerConsuming": "P_LOAD",
    "powerAutoconsuming": "P_SELF",
    "powerImporting": "P_GRID_IN",
    "powerExporting": "P_GRID_OUT",
    "powerCharging": "P_BAT_IN",
    "powerDischarging": "P_BAT_OUT",
    "batterySoC": "BP1",
    "energyGenerating": "E_PV_TODAY",
    "energyGeneratingTotal": "E_PV_TOTAL",
    "energyConsumingTotal": "E_LOAD_TOTAL",
    "energyImportingTotal": "E_GRID_IN_TOTAL",
    "energyExportingTotal": "E_GRID_OUT_TOTAL",
    "energyChargingTotal": "E_BAT_IN_TOTAL",
    "energyDischargingTotal": "E_BAT_OUT_TOTAL",
}
# The historic span it takes: the guide's "about 6 days".
MAX_SPAN_S = 6 * 86400


@dataclass
class SystemFaults:
    """All off by default; tests switch them while clients are connected."""

    token_rejected: bool = field(default=False, doc="HTTP 401 to every call")
    server_error: int | None = field(
        default=None,
        doc="this 5xx status (an HTML page) to every call",
        metadata={"flag": "error", "choices": (500, 502, 503)},
    )
    callback_never: bool = field(
        default=False, doc="a write is acknowledged, its callback never sent"
    )
    callback_twice: bool = field(default=False, doc="the callback is sent twice")
    callback_malformed: bool = field(default=False, doc="the callback is not the assumed JSON")
    callback_other: bool = field(default=False, doc="the callback names another write")
    callback_failed: bool = field(default=False, doc="the callback says the write failed")
    write_answer_dropped: bool = field(
        default=False, doc="a write is taken, then the connection drops before the answer"
    )


@dataclass
class Write:
    """A write the API took, and what became of its callback."""

    device: str
    register: int
    values: list[int]
    callback_url: str
    request_id: str
    callback_status: list[int] = field(default_factory=list)


class SimulatedSystem:
    """An aiohttp server answering like the System API for one plant with one inverter."""

    def __init__(
        self,
        *,
        plant: str = "PLANT-1",
        device: str = "ZP1ES010M2H00017",
        token: str = "simulated-token",  # noqa: S107 (a test double's, not a secret)
        logger: str = "ZSM-WIFI-USB",
        history_days: float = 10.0,
        callback_delay: float = 0.05,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """One plant and device; answers only to this token; `logger` is the device's logger."""
        self.plant = plant
        self.device = device
        self.token = token
        self.logger = logger
        self.callback_delay = callback_delay
        self.faults = SystemFaults()
        # The active alarm codes; None: the device has no alarms (the call is refused).
        self.alarms: list[int] | None = []
        self.writes: list[Write] = []
        # Set when a write has been taken (tests wait on it).
        self.written = asyncio.Event()
        # The registers written (and confirmed by a callback), as the inverter holds them.
        self.registers: dict[int, int] = {}
        # More realtime fields, by their JSON names: a setting should the real API report one.
        self.reported: dict[str, int] = {}
        # The plant and its samples: the simulated Portal's recorder, not served.
        self._plant = SimulatedPortal(thing_key=device, history_days=history_days, clock=clock)
        self.clock = clock
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        """The port it listens on."""
        assert self._runner is not None
        port: int = self._runner.addresses[0][1]
        return port

    @property
    def url(self) -> str:
        """The base URL a client calls."""
        return f"http://127.0.0.1:{self.port}/"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen for clients."""
        app = web.Application()
        for path, handler in (
            (Wire.REALTIME, self._realtime),
            (Wire.HISTORIC, self._historic),
            (Wire.ALARMS, self._alarms),
            (Wire.HISTORIC_ALARMS, self._historic_alarms),
            (Wire.WRITE, self._write),
        ):
            app.router.add_post(f"/{path}", self._guarded(handler))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()

    async def stop(self) -> None:
        """Stop listening, and sending callbacks."""
        for task in self._tasks:
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()

    async def callbacks_sent(self) -> None:
        """Wait until every callback due has been sent."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _guarded(self, handler: Callable[[dict[str, Any]], Any]) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.StreamResponse:
            if self.faults.token_rejected or request.headers.get(Wire.AUTH_HEADER) != (
                Wire.AUTH_SCHEME + self.token
            ):
                return web.Response(status=401, text="Unauthorized")
            if self.faults.server_error:
                status = self.faults.server_error
                return web.Response(status=status, text=f"<html>{status}</html>")
            try:
                body = await request.json()
            except ValueError:
                return web.Response(status=400, text="Bad Request")
            if body.get(Wire.PLANT) != self.plant or body.get(Wire.DEVICE) != self.device:
                return _refuse(Wire.ERROR_NO_DEVICE)
            answer: web.StreamResponse = await handler(body)
            if handler == self._write and self.faults.write_answer_dropped:
                # Taken (and its callback on its way), but the caller never hears so.
                assert request.transport is not None
                request.transport.close()
            return answer

        return handle

    async def _realtime(self, body: dict[str, Any]) -> web.StreamResponse:
        moment, values = self._plant.samples()[-1]
        data: dict[str, Any] = {NAMES[name]: v for name, v in values.items() if name in NAMES}
        data[Wire.LAST_UPDATE] = iso(moment)
        data[Wire.LOGGER_MODEL] = self.logger
        return _answer(data | self.reported)

    async def _alarms(self, body: dict[str, Any]) -> web.StreamResponse:
        if self.alarms is None:
            return _refuse("NO_ALARMS")
        return _answer({Wire.ALARM_CODES: list(self.alarms)})

    def _window(self, body: dict[str, Any]) -> list[tuple[float, dict[str, float | int]]] | None:
        start, end = parse_iso(body.get(Wire.START)), parse_iso(body.get(Wire.END))
        if start is None or end is None or not 0 < end - start <= MAX_SPAN_S:
            return None
        return [(t, v) for t, v in self._plant.samples() if start <= t <= end]

    async def _historic(self, body: dict[str, Any]) -> web.StreamResponse:
        if (window := self._window(body)) is None:
            return _refuse("SPAN_TOO_LONG")
        data: dict[str, Any] = {new: [v[old] for _, v in window] for old, new in NAMES.items()}
        data[Wire.TIMES] = [iso(t) for t, _ in window]
        return _answer(data)

    async def _historic_alarms(self, body: dict[str, Any]) -> web.StreamResponse:
        if (window := self._window(body)) is None:
            return _refuse("SPAN_TOO_LONG")
        return _answer(
            {
                Wire.TIMES: [iso(t) for t, _ in window],
                Wire.ALARM_CODES: [self.alarms or [] for _ in window],
            }
        )

    async def _write(self, body: dict[str, Any]) -> web.StreamResponse:
        if self.logger not in Wire.WRITE_LOGGERS:
            return _refuse(Wire.ERROR_LOGGER)
        register, values = body.get(Wire.REGISTER), body.get(Wire.VALUES)
        url, request_id = body.get(Wire.CALLBACK_URL), body.get(Wire.REQUEST_ID)
        if (
            type(register) is not int
            or not isinstance(values, list)
            or not values
            or not all(type(v) is int and 0 <= v <= 0xFFFF for v in values)
            or not isinstance(url, str)
            or not isinstance(request_id, str)
        ):
            return _refuse("BAD_REQUEST")
        write = Write(self.device, register, values, url, request_id)
        self.writes.append(write)
        self.written.set()
        if not self.faults.callback_never:
            task = asyncio.get_running_loop().create_task(self._send_callback(write))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return _answer({Wire.REQUEST_ID: request_id})

    async def _send_callback(self, write: Write) -> None:
        await asyncio.sleep(self.callback_delay)
        faults = self.faults
        ok = not faults.callback_failed
        body: Any = {
            Wire.REQUEST_ID: "another-write" if faults.callback_other else write.request_id,
            Wire.DEVICE: write.device,
            Wire.REGISTER: write.register,
            Wire.RESULT: Wire.RESULT_OK if ok else Wire.RESULT_ERROR,
        }
        if not ok:
            body[Wire.ERROR] = "INVERTER_REFUSED"
        if faults.callback_malformed:
            body = {"unexpected": True}
        if ok:
            for offset, value in enumerate(write.values):
                self.registers[write.register + offset] = value
        async with aiohttp.ClientSession() as session:
            for _ in range(2 if faults.callback_twice else 1):
                try:
                    async with session.post(write.callback_url, json=body) as response:
                        write.callback_status.append(response.status)
                except aiohttp.ClientError:
                    write.callback_status.append(0)


def _answer(data: dict[str, Any]) -> web.Response:
    return web.json_response({Wire.SUCCESS: True, Wire.DATA: data})


def _refuse(code: str) -> web.Response:
    return web.json_response({Wire.SUCCESS: False, Wire.ERROR: code})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The simulated System's options on the simulator's command line."""
    group = parser.add_argument_group("system (--link system)")
    group.add_argument("--system-token", default="simulated-token", help="the token it accepts")
    group.add_argument("--system-plant", default="PLANT-1", help="the plant's id")
    group.add_argument("--system-device", default="ZP1ES010M2H00017", help="the inverter's serial")
    group.add_argument("--system-logger", default="ZSM-WIFI-USB", help="the device's logger model")
    group.add_argument("--system-callback-delay", type=float, default=1.0, help="s to the callback")
    add_flags(parser, SystemFaults, prefix="system-", title="faults of the System (--link system)")


def from_arguments(arguments: argparse.Namespace, clock: Callable[[], float]) -> SimulatedSystem:
    """The simulated System the command line asks for."""
    system = SimulatedSystem(
        plant=arguments.system_plant,
        device=arguments.system_device,
        token=arguments.system_token,
        logger=arguments.system_logger,
        history_days=arguments.history_days,
        callback_delay=arguments.system_callback_delay,
        clock=clock,
    )
    system.faults = from_flags(arguments, SystemFaults, "system-")
    return system
