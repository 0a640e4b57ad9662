"""A ZCS 3PH HYD ZSS hybrid inverter on the Sofar G3 map, with a plant that moves.

The plant follows a sun curve for PV and a house load with evening peaks; the battery
takes the surplus and covers the deficit within its limits, the grid the rest, so power
always balances. Counters integrate the flows and only grow; "today" ones restart at
local midnight. Registers are written the way the inverter writes them (raw units,
export and charge positive), independent of how the integration decodes them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..registers import RegisterBank, ascii_registers, s16, u32

# The documented parts of the G3 map's 64-address blocks (Modbus-G3 protocol V1.38, 5.1).
BLOCKS = (
    (0x0404, 0x043E),
    (0x0445, 0x047F),
    (0x0484, 0x04BF),
    (0x0504, 0x0527),
    (0x0584, 0x05B3),
    (0x05C4, 0x05C4),
    (0x0604, 0x063B),
    (0x0644, 0x066B),
    (0x0684, 0x06B3),
    (0x06C4, 0x06EF),
    (0x1104, 0x110D),
)
# The remote-control block (read and write): volatile, used by HUBs and park controllers.
WRITABLE = ((0x1104, 0x110D),)

RUNNING_GRID_CONNECTED = 2
_COUNTERS = ("pv", "load", "import", "export", "charge", "discharge")
# Register pairs (today in 0.01 kWh, total in 0.1 kWh) of each counter, from 0x0684 on.
_COUNTER_BASE = 0x0684


# A plant commissioned in June 2019 with these average flows (W): a new run's lifetime
# counters start from the clock. A run's own flows can outpace these averages (a battery
# discharging 2 kW all evening), so only memory() carried across runs (--memory) keeps
# them from starting below what an earlier run showed.
COMMISSIONED = 1_560_000_000.0
AVERAGE_W = {
    "pv": 1150,
    "load": 1350,
    "import": 610,
    "export": 390,
    "charge": 240,
    "discharge": 220,
}


@dataclass
class Plant:
    """PV, house, battery and grid; powers in W (battery + = charge, grid + = export)."""

    totals_wh: dict[str, float]
    generation_minutes: float
    peak_pv_w: float = 9000.0
    capacity_wh: float = 10240.0
    max_battery_w: float = 5000.0
    soc: float = 55.0
    pv_w: float = 0.0
    load_w: float = 0.0
    battery_w: float = 0.0
    grid_w: float = 0.0
    sun: float = 0.0
    # Steps a test can make: a load switched on (a kettle), the share of sun a cloud takes.
    extra_load_w: float = 0.0
    shade: float = 0.0
    # How much PV load has warmed the inverter (°C); it follows in minutes, not at once.
    warmth: float | None = None
    today_wh: dict[str, float] = field(default_factory=lambda: dict.fromkeys(_COUNTERS, 0.0))
    _last: float | None = None
    _day: int | None = None

    @classmethod
    def commissioned(cls, now: float) -> Plant:
        """The plant as it stands at `now`, years after it was commissioned."""
        hours = max(now - COMMISSIONED, 0.0) / 3600
        totals = {name: AVERAGE_W[name] * hours for name in _COUNTERS}
        return cls(totals_wh=totals, generation_minutes=hours * 60 * 0.45)

    def memory(self) -> dict[str, Any]:
        """What the inverter keeps through a restart: its counters and the battery's charge."""
        return {
            "totals_wh": self.totals_wh,
            "today_wh": self.today_wh,
            "day": self._day,
            "generation_minutes": self.generation_minutes,
            "soc": self.soc,
        }

    def recall(self, memory: Mapping[str, Any]) -> None:
        """Take up the counters and charge kept by an earlier run (see memory())."""
        self.totals_wh = {name: float(memory["totals_wh"][name]) for name in _COUNTERS}
        self.today_wh = {name: float(memory["today_wh"][name]) for name in _COUNTERS}
        self._day = memory["day"]
        self.generation_minutes = float(memory["generation_minutes"])
        self.soc = float(memory["soc"])

    def advance(self, now: float) -> None:
        """Move the plant to time `now` (seconds since the epoch)."""
        local = time.localtime(now)
        if self._day is not None and local.tm_yday != self._day:
            self.today_wh = dict.fromkeys(_COUNTERS, 0.0)
        self._day = local.tm_yday
        hour = local.tm_hour + local.tm_min / 60 + local.tm_sec / 3600
        self.sun = max(0.0, math.sin(math.pi * (hour - 6.5) / 13))
        clouds = 0.85 + 0.15 * math.sin(now / 173)
        self.pv_w = self.peak_pv_w * self.sun * clouds * (1 - self.shade)
        evening = 1500.0 if 18 <= hour < 21.5 else 0.0
        self.load_w = 380 + 220 * math.sin(now / 89) ** 2 + evening + self.extra_load_w
        seconds = 0.0 if self._last is None else min(max(now - self._last, 0.0), 3600.0)
        if self.warmth is None:
            self.warmth = self.pv_w / 600
        else:
            self.warmth += (self.pv_w / 600 - self.warmth) * (1 - math.exp(-seconds / 600))
        surplus = self.pv_w - self.load_w
        if surplus >= 0:
            self.battery_w = min(surplus, self.max_battery_w) if self.soc < 100 else 0.0
        else:
            self.battery_w = -min(-surplus, self.max_battery_w) if self.soc > 10 else 0.0
        self.grid_w = surplus - self.battery_w
        if self._last is not None:
            self._integrate(seconds)
        self._last = now

    def _integrate(self, seconds: float) -> None:
        flows = {
            "pv": self.pv_w,
            "load": self.load_w,
            "export": max(self.grid_w, 0.0),
            "import": max(-self.grid_w, 0.0),
            "charge": max(self.battery_w, 0.0),
            "discharge": max(-self.battery_w, 0.0),
        }
        for name, watts in flows.items():
            self.totals_wh[name] += watts * seconds / 3600
            self.today_wh[name] += watts * seconds / 3600
        if self.pv_w > 0:
            self.generation_minutes += seconds / 60
        self.soc += self.battery_w * seconds / 3600 / self.capacity_wh * 100
        self.soc = min(max(self.soc, 0.0), 100.0)


class Hyd3ph(RegisterBank):
    """The inverter: its registers, refreshed from the plant before every answer."""

    def __init__(
        self,
        *,
        serial: str = "ZP1ES010M2H00017",
        rated_w: int = 10000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """A 10 kW unit with one battery tower, on the wall clock unless told otherwise."""
        super().__init__(BLOCKS, writable=WRITABLE)
        self.clock = clock
        self.plant = Plant.commissioned(clock())
        self.asleep = False
        self.identity = {
            0x0445: ascii_registers(serial, 8),
            0x044D: ascii_registers("V1", 2),
            0x044F: ascii_registers("V110052", 4),
            0x0453: ascii_registers("V110048", 4),
            0x0457: ascii_registers("V110048", 4),
            0x06ED: [rated_w // 100],
        }
        self.refresh()

    def refresh(self) -> None:
        """Bring the registers up to the plant's state now."""
        now = self.clock()
        plant = self.plant
        plant.advance(now)
        for address, values in self.identity.items():
            self.set(address, values)
        self._system(now)
        self._grid()
        self.set(0x0504, [0, 0, 0, 5000, 0, 0, 2300, 0, 0])
        volts = 620 + 60 * plant.sun if plant.pv_w > 0 else 0.0
        strings = (plant.pv_w * 0.56, plant.pv_w * 0.44)
        for index, watts in enumerate(strings):
            amps = watts / volts if volts else 0.0
            self.set(0x0584 + 3 * index, [round(volts * 10), s16(amps * 100), round(watts / 10)])
        battery_v = 410 + 0.4 * plant.soc
        self.set(
            0x0604,
            [
                round(battery_v * 10),
                s16(plant.battery_w / battery_v * 100),
                s16(plant.battery_w / 10),
                22,
                round(plant.soc),
                98,
                312,
            ],
        )
        for index, name in enumerate(_COUNTERS):
            address = _COUNTER_BASE + 4 * index
            self.set(address, u32(plant.today_wh[name] / 10) + u32(plant.totals_wh[name] / 100))

    def _system(self, now: float) -> None:
        plant = self.plant
        local = time.localtime(now)
        self.set(0x0404, [RUNNING_GRID_CONNECTED])
        self.set(0x0418, [s16(21 + 3 * plant.sun), s16(20)])
        warmth = plant.warmth or 0.0
        self.set(0x041A, [s16(30 + warmth)])
        self.set(0x0420, [s16(33 + 1.2 * warmth)])
        minutes = self.plant.generation_minutes
        self.set(0x0426, [min(round(plant.today_wh["pv"] / 150), 1440), *u32(minutes)])
        self.set(0x042B, [2500])
        self.set(
            0x042C,
            [
                local.tm_year - 2000,
                local.tm_mon,
                local.tm_mday,
                local.tm_hour,
                local.tm_min,
                local.tm_sec,
            ],
        )

    def _grid(self) -> None:
        plant = self.plant
        output_w = plant.pv_w - plant.battery_w
        wobble = math.sin(plant.load_w / 37)
        self.set(0x0484, [5000 + round(3 * wobble), s16(output_w / 10), 0, s16(abs(output_w) / 10)])
        self.set(0x0488, [s16(plant.grid_w / 10)])
        for phase in range(3):
            volts = 230.0 + wobble + phase * 0.4
            base = 0x048D + 11 * phase
            self.set(base, [round(volts * 10), round(abs(output_w) / 3 / volts * 100)])
            self.set(base + 2, [s16(output_w / 30), 0, 1000])
            self.set(base + 5, [round(abs(plant.grid_w) / 3 / volts * 100), s16(plant.grid_w / 30)])
        self.set(0x04AF, [round(plant.load_w / 10)])
        self.set(0x04BD, [1000])
