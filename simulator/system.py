"""The Azzurro System API as the integration assumes it, answering from the simulated plant.

The wire format is the integration's guess (custom_components/.../api/cloud/system_wire.py),
read from that module so that a correction there reaches both sides. The plant and its
5-minute samples are the simulated Portal's. Writes are acknowledged at once and their
result POSTed to the caller's callback URL after a delay; the faults are switchable.
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

from custom_components.zcs_azzurro.api.cloud import system_wire as wire

from .faults import add_flags, from_flags
from .portal import SimulatedPortal, iso, parse_iso

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
            (wire.PATH_REALTIME, self._realtime),
            (wire.PATH_HISTORIC, self._historic),
            (wire.PATH_ALARMS, self._alarms),
            (wire.PATH_HISTORIC_ALARMS, self._historic_alarms),
            (wire.PATH_WRITE, self._write),
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
            if self.faults.token_rejected or request.headers.get(wire.AUTH_HEADER) != (
                wire.AUTH_SCHEME + self.token
            ):
                return web.Response(status=401, text="Unauthorized")
            if self.faults.server_error:
                status = self.faults.server_error
                return web.Response(status=status, text=f"<html>{status}</html>")
            try:
                body = await request.json()
            except ValueError:
                return web.Response(status=400, text="Bad Request")
            if body.get(wire.PLANT) != self.plant or body.get(wire.DEVICE) != self.device:
                return _refuse(wire.ERROR_NO_DEVICE)
            answer: web.StreamResponse = await handler(body)
            return answer

        return handle

    async def _realtime(self, body: dict[str, Any]) -> web.StreamResponse:
        moment, values = self._plant.samples()[-1]
        data: dict[str, Any] = {NAMES[name]: v for name, v in values.items() if name in NAMES}
        data[wire.LAST_UPDATE] = iso(moment)
        data[wire.LOGGER_MODEL] = self.logger
        return _answer(data | self.reported)

    async def _alarms(self, body: dict[str, Any]) -> web.StreamResponse:
        if self.alarms is None:
            return _refuse("NO_ALARMS")
        return _answer({wire.ALARMS: list(self.alarms)})

    def _window(self, body: dict[str, Any]) -> list[tuple[float, dict[str, float | int]]] | None:
        start, end = parse_iso(body.get(wire.START)), parse_iso(body.get(wire.END))
        if start is None or end is None or not 0 < end - start <= MAX_SPAN_S:
            return None
        return [(t, v) for t, v in self._plant.samples() if start <= t <= end]

    async def _historic(self, body: dict[str, Any]) -> web.StreamResponse:
        if (window := self._window(body)) is None:
            return _refuse("SPAN_TOO_LONG")
        data: dict[str, Any] = {new: [v[old] for _, v in window] for old, new in NAMES.items()}
        data[wire.TIMES] = [iso(t) for t, _ in window]
        return _answer(data)

    async def _historic_alarms(self, body: dict[str, Any]) -> web.StreamResponse:
        if (window := self._window(body)) is None:
            return _refuse("SPAN_TOO_LONG")
        return _answer(
            {
                wire.TIMES: [iso(t) for t, _ in window],
                wire.ALARMS: [self.alarms or [] for _ in window],
            }
        )

    async def _write(self, body: dict[str, Any]) -> web.StreamResponse:
        if self.logger not in wire.WRITE_LOGGERS:
            return _refuse(wire.ERROR_LOGGER)
        register, values = body.get(wire.REGISTER), body.get(wire.VALUES)
        url, request_id = body.get(wire.CALLBACK_URL), body.get(wire.REQUEST_ID)
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
        return _answer({wire.REQUEST_ID: request_id})

    async def _send_callback(self, write: Write) -> None:
        await asyncio.sleep(self.callback_delay)
        faults = self.faults
        request_id = "another-write" if faults.callback_other else write.request_id
        result = wire.Callback(
            request_id,
            write.device,
            write.register,
            not faults.callback_failed,
            "INVERTER_REFUSED" if faults.callback_failed else None,
        )
        body: Any = wire.callback_body(result)
        if faults.callback_malformed:
            body = {"unexpected": True}
        if result.ok:
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
    return web.json_response({wire.SUCCESS: True, wire.DATA: data})


def _refuse(code: str) -> web.Response:
    return web.json_response({wire.SUCCESS: False, wire.ERROR: code})


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
