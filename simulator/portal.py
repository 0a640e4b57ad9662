"""The Azzurro Portal's third-party API, answering from the simulated plant.

One POST endpoint; commands in the JSON body (research/cloud_api.md Part 1). The plant is
the hybrid inverter's (devices/hyd_3ph.py), sampled every 5 minutes as the service does:
realtimeData is the newest sample, historicData the samples of at most 24 hours. Answers
are shaped like the real ones in fixtures/portal/. The faults users meet are switchable.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from .devices.hyd_3ph import Plant
from .faults import add_flags, from_flags

STEP = 300  # s between two samples, as the service stores them
MAX_SPAN = timedelta(days=1)
TOTALS = {
    "Generating": "pv",
    "Consuming": "load",
    "Importing": "import",
    "Exporting": "export",
    "Charging": "charge",
    "Discharging": "discharge",
}
# Proxy pages the service sends when overloaded (research 1.10).
PAGES = {
    502: "<html><head><title>502 Proxy Error</title></head><body>Proxy Error</body></html>",
    503: "<html><head><title>503 Service Unavailable</title></head><body></body></html>",
}


@dataclass
class PortalFaults:
    """All off by default; tests switch them while clients are connected."""

    error_page: int | None = field(
        default=None,
        doc="answer the proxy's HTML page with this status instead of the API",
        metadata={"flag": "error", "choices": sorted(PAGES)},
    )
    delay: float = field(
        default=0.0, doc="s before answering (a timeout when the client waits less)"
    )
    empty: bool = field(default=False, doc="200 with an empty body")
    invalid_client: bool = field(default=False, doc="the plain-text INVALID CLIENT, whatever asked")
    unauthorized: bool = field(default=False, doc="HTTP 401, as for a request without its header")
    offline: bool = field(default=False, doc="success: false")
    zero_burst: bool = field(default=False, doc="every value 0 (lastUpdate as usual)")
    stale: float = field(default=0.0, doc="s the device has been silent (realtime from then)")
    decrease: float = field(default=0.0, doc="kWh taken off every lifetime total in realtime")
    history_shape: bool = field(
        default=False, doc="historicData's params a list, not an object (an answer reshaped)"
    )
    history_future: bool = field(
        default=False, doc="history carries one more sample, stamped in the year 9999"
    )


def iso(moment: float) -> str:
    """A time as the services write it (ISO-8601 UTC)."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: object) -> float | None:
    """Seconds since the epoch of a client's ISO-8601 time; None when it is none."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@dataclass
class _Recorder:
    """The plant sampled every STEP seconds, from some days back until the clock's now."""

    plant: Plant
    at: float
    samples: list[tuple[float, dict[str, float | int]]] = field(default_factory=list)
    self_use_wh: float = 0.0
    self_use_today_wh: float = 0.0

    def until(self, now: float) -> None:
        while self.at + STEP <= now:
            self.at += STEP
            day_before = self.plant.today_wh["load"]
            self.plant.advance(self.at)
            if self.plant.today_wh["load"] < day_before:
                self.self_use_today_wh = 0.0
            self.samples.append((self.at, self._values()))

    def _values(self) -> dict[str, float | int]:
        plant = self.plant
        powers = {
            "Generating": plant.pv_w,
            "Consuming": plant.load_w,
            "Importing": max(-plant.grid_w, 0.0),
            "Exporting": max(plant.grid_w, 0.0),
            "Charging": max(plant.battery_w, 0.0),
            "Discharging": max(-plant.battery_w, 0.0),
        }
        # What the house took from the plant itself, not from the grid or the battery.
        self_use = max(powers["Consuming"] - powers["Importing"] - powers["Discharging"], 0.0)
        self.self_use_wh += self_use * STEP / 3600
        self.self_use_today_wh += self_use * STEP / 3600
        values: dict[str, float | int] = {f"power{name}": round(w) for name, w in powers.items()}
        values["powerAutoconsuming"] = round(self_use)
        for name, counter in TOTALS.items():
            values[f"energy{name}"] = round(plant.today_wh[counter] / 1000, 2)
            values[f"energy{name}Total"] = round(plant.totals_wh[counter] / 1000, 1)
        values["energyAutoconsuming"] = round(self.self_use_today_wh / 1000, 2)
        values["energyAutoconsumingTotal"] = round(self.self_use_wh / 1000, 1)
        values["batterySoC"] = round(plant.soc)
        values["batteryCycletime"] = int(plant.totals_wh["discharge"] / plant.capacity_wh)
        return values


class SimulatedPortal:
    """An aiohttp server answering like the Portal for one account with one device."""

    def __init__(
        self,
        *,
        thing_key: str = "ZP1ES010M2H00017",
        key: str = "simulated-key",
        client_code: str = "simulated-client",
        history_days: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """A plant sampled from `history_days` ago; answers only to this key and client code."""
        self.thing_key = thing_key
        self.key = key
        self.client_code = client_code
        self.clock = clock
        self.faults = PortalFaults()
        # The active alarm IDs; None: the device answers no alarms (`{}`), as a meter.
        self.alarms: list[int] | None = []
        self.requests: list[dict[str, Any]] = []
        start = clock() - history_days * 86400
        start -= start % STEP
        plant = Plant.commissioned(start)
        plant.advance(start)
        self.commissioned = start
        self._recorder = _Recorder(plant, start)
        self._recorder.until(clock())
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    @property
    def port(self) -> int:
        """The port it listens on (chosen by the system when started on port 0)."""
        assert self._runner is not None
        port: int = self._runner.addresses[0][1]
        return port

    @property
    def url(self) -> str:
        """Where a client posts to."""
        return f"http://127.0.0.1:{self.port}/"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen for clients."""
        app = web.Application()
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, host, port)
        await self._site.start()

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    def samples(self) -> list[tuple[float, dict[str, float | int]]]:
        """Every sample up to now (the plant is moved to the clock's now first)."""
        self._recorder.until(self.clock())
        return self._recorder.samples

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        faults = self.faults
        if faults.delay:
            await asyncio.sleep(faults.delay)
        if faults.unauthorized or "Client" not in request.headers:
            return web.Response(status=401, text="Unauthorized")
        wanted = (f"Zcs {self.key}", self.client_code)
        given = (request.headers.get("Authorization"), request.headers["Client"])
        if faults.invalid_client or given != wanted:
            return web.Response(text="INVALID CLIENT")
        if faults.error_page:
            page = PAGES[faults.error_page]
            return web.Response(status=faults.error_page, text=page, content_type="text/html")
        if faults.empty:
            return web.Response(body=b"")
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="Bad Request")
        self.requests.append(body)
        return web.json_response({name: self._command(name, cmd) for name, cmd in body.items()})

    def _command(self, name: str, command: dict[str, Any]) -> dict[str, Any]:
        params = command.get("params", {})
        if self.faults.offline:
            return {"success": False}
        things = [key.strip() for key in str(params.get("thingKey", "")).split(",")]
        kind = command.get("command")
        if kind in ("historicData", "deviceHistoricAlarm"):
            start, end = parse_iso(params.get("start")), parse_iso(params.get("end"))
            if start is None or end is None or not 0 < end - start <= MAX_SPAN.total_seconds():
                return {"success": False}
            answer = self._historic(start, end, alarms=kind == "deviceHistoricAlarm")
        elif kind == "realtimeData":
            answer = self._realtime()
        elif kind == "deviceAlarm":
            answer = self._alarms()
        else:
            return {"success": False}
        value = [{thing: answer if thing == self.thing_key else {}} for thing in things]
        if kind == "historicData" and self.faults.history_shape:
            return {"params": value, "success": True}
        return {"params": {"value": value}, "success": True}

    def _latest(self) -> tuple[float, dict[str, float | int]]:
        until = self.clock() - self.faults.stale
        return next(sample for sample in reversed(self.samples()) if sample[0] <= until)

    def _realtime(self) -> dict[str, Any]:
        moment, values = self._latest()
        shown = dict(values)
        for name, value in values.items():
            if self.faults.zero_burst:
                shown[name] = 0
            elif name.endswith("Total"):
                shown[name] = round(max(value - self.faults.decrease, 0.0), 1)
        return {**shown, "lastUpdate": iso(moment), "thingFind": iso(self.commissioned)}

    def _historic(self, start: float, end: float, *, alarms: bool = False) -> dict[str, Any]:
        window = [(t, v) for t, v in self.samples() if start <= t <= end]
        if not window:
            return {}
        if alarms:
            # The alarms active now, as if active all through the window.
            times = [iso(t) for t, _ in window]
            return {"deviceAlarm": [list(self.alarms or []) for _ in window], "ts": times}
        # No lifetime self-consumption in history (the spec's list of historic fields).
        names = [name for name in window[0][1] if name != "energyAutoconsumingTotal"]
        answer: dict[str, Any] = {name: [v[name] for _, v in window] for name in names}
        answer["ts"] = [iso(t) for t, _ in window]
        if self.faults.history_future:
            for name in names:
                answer[name].append(window[-1][1][name])
            answer["ts"].append("9999-12-31T23:55:00Z")
        return answer

    def _alarms(self) -> dict[str, Any]:
        if self.alarms is None:
            return {}
        return {"deviceAlarm": list(self.alarms), "lastUpdate": iso(self._latest()[0])}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The simulated Portal's options on the simulator's command line."""
    group = parser.add_argument_group("portal (--link portal)")
    group.add_argument("--portal-key", default="simulated-key", help="the key it accepts")
    group.add_argument("--portal-client", default="simulated-client", help="the client code")
    group.add_argument("--portal-thing", default="ZP1ES010M2H00017", help="the device's serial")
    group.add_argument("--history-days", type=float, default=10.0, help="days of samples kept")
    add_flags(parser, PortalFaults, prefix="portal-", title="faults of the Portal (--link portal)")


def from_arguments(arguments: argparse.Namespace, clock: Callable[[], float]) -> SimulatedPortal:
    """The simulated Portal the command line asks for."""
    portal = SimulatedPortal(
        thing_key=arguments.portal_thing,
        key=arguments.portal_key,
        client_code=arguments.portal_client,
        history_days=arguments.history_days,
        clock=clock,
    )
    portal.faults = from_flags(arguments, PortalFaults, "portal-")
    return portal
