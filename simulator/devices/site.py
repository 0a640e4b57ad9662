"""A plant of several 3PH HYD ZSS in parallel (a master and slaves) and the meter at its grid.

One house, one grid connection: each inverter has its own roof and towers, and covers its
share of the house (its rated power's share) as a lone one covers all of it; what they
give and take together crosses the grid connection, where the meter is. Every inverter
shows that meter's readings (power, and the bought and sold counters), as a parallel
system's do (a slave reads the same grid as its master: tomatensaus/DeyeSolarDesktop 21,
for another brand; no public capture of a Sofar parallel system says otherwise). An
inverter's own house reading is then its output plus the grid's, which is below zero while
the others give more than the house draws: the register (unsigned) cannot hold that, and
it reads as the wrapped number a real unit would send.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from .chint import Dtsu666
from .hyd_3ph import Hyd3ph, Plant

# The plant's serials: the master's first (the single inverter's), then the slaves'.
SERIALS = tuple(f"ZP1ES010M2H000{17 + index}" for index in range(8))
PARALLEL = 0x1035
_GRID = ("import", "export")


class ParallelInverter(Hyd3ph):
    """One inverter of a site: its own PV and batteries, the site's grid connection."""

    def __init__(self, site: Site, index: int, **kwargs: Any) -> None:
        """The master at index 0; parallel operation on, at its address."""
        self.site = site
        self.index = index
        super().__init__(**kwargs)
        self.set(PARALLEL, [1, 1 if index == 0 else 0, index])

    def new_plant(self, now: float) -> Plant:
        """Its roof and towers; its share of the house."""
        plant = Plant.commissioned(now)
        plant.load_share = 1 / self.site.size
        # The master's roof is the lone inverter's (9 kWp); each slave's is smaller.
        plant.peak_pv_w *= 1.0 if self.index == 0 else 2 / 3
        return plant

    def grid_point(self) -> tuple[float, float, dict[str, float], dict[str, float]]:
        """The site's meter; the house as this inverter works it out (its output + grid)."""
        site = self.site
        site.advance(self.clock())
        output_w = self.plant.pv_w - self.plant.battery_w
        today = {**self.plant.today_wh, **site.today_wh}
        totals = {**self.plant.totals_wh, **site.totals_wh}
        return site.grid_w, output_w - site.grid_w, today, totals


class Site:
    """The inverters, the meter and the grid connection they share."""

    def __init__(
        self, size: int = 2, *, clock: Callable[[], float] = time.time, towers: int = 1
    ) -> None:
        """`size` inverters of 10 kW in parallel, each with `towers` battery towers."""
        self.size = size
        self.clock = clock
        self.grid_w = 0.0  # + export, as the inverters count it
        self.load_w = 0.0
        self.today_wh = dict.fromkeys(_GRID, 0.0)
        self.totals_wh = dict.fromkeys(_GRID, 0.0)
        self._last: float | None = None
        self._day: int | None = None
        # The site's own counters start where commissioning puts a lone inverter's, times.
        lone = Plant.commissioned(clock())
        self.totals_wh = {name: lone.totals_wh[name] * size for name in _GRID}
        self.inverters: list[ParallelInverter] = []
        for index in range(size):
            self.inverters.append(ParallelInverter(self, index, serial=SERIALS[index], clock=clock))
        for inverter in self.inverters:
            inverter.towers = towers
        self.meter = Dtsu666(clock=clock, plant=self)
        self.refresh()

    @property
    def plant(self) -> Site:
        """What --memory keeps: the site is its own plant."""
        return self

    @property
    def asleep(self) -> bool:
        """A site never sleeps as a whole."""
        return False

    def advance(self, now: float) -> None:
        """Move every inverter's plant to `now`; the grid connection's flow and counters."""
        local = time.localtime(now)
        if self._day is not None and local.tm_yday != self._day:
            self.today_wh = dict.fromkeys(_GRID, 0.0)
        self._day = local.tm_yday
        for inverter in self.inverters:
            inverter.plant.advance(now)
        plants = [inverter.plant for inverter in self.inverters]
        self.load_w = sum(plant.load_w for plant in plants)
        seconds = 0.0 if self._last is None else min(max(now - self._last, 0.0), 3600.0)
        self._last = now
        flows = {"export": max(self.grid_w, 0.0), "import": max(-self.grid_w, 0.0)}
        for name, watts in flows.items():
            self.today_wh[name] += watts * seconds / 3600
            self.totals_wh[name] += watts * seconds / 3600
        self.grid_w = sum(plant.grid_w for plant in plants)

    def refresh(self) -> None:
        """Bring every register up to now."""
        for inverter in self.inverters:
            inverter.refresh()
        self.meter.refresh()

    def memory(self) -> dict[str, Any]:
        """What the devices keep through a restart: each inverter's and the grid's counters."""
        return {
            "inverters": [inverter.plant.memory() for inverter in self.inverters],
            "today_wh": self.today_wh,
            "totals_wh": self.totals_wh,
            "day": self._day,
        }

    def recall(self, memory: Mapping[str, Any]) -> None:
        """Take up what an earlier run kept (see memory())."""
        for inverter, kept in zip(self.inverters, memory["inverters"], strict=False):
            inverter.plant.recall(kept)
        self.today_wh = {name: float(memory["today_wh"][name]) for name in _GRID}
        self.totals_wh = {name: float(memory["totals_wh"][name]) for name in _GRID}
        self._day = memory["day"]
