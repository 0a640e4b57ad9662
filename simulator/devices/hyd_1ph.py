"""A ZCS 1PH HYD 3000-6000 ZSS HP: the G3 map on one phase, one battery input.

From research/modbus_maps.md sections 1 and 4: only the R-phase registers carry values (S
and T read 0), one battery input (0x0604-0x060A), the PV total 0x05C4 answered like the
three-phase units. A 6 kW unit with a 6 kWp roof and a 5 kWh low-voltage battery.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar

from .hyd_3ph import Hyd3ph, Plant


class Hyd1ph(Hyd3ph):
    """The single-phase hybrid: its registers, refreshed from its plant."""

    PHASES: ClassVar[int] = 1
    BATTERY_INPUTS: ClassVar[int] = 1

    def __init__(
        self,
        *,
        serial: str = "ZM2ES060M2H00042",
        rated_w: int = 6000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """A 6 kW unit on the wall clock unless told otherwise."""
        super().__init__(serial=serial, rated_w=rated_w, clock=clock)

    def new_plant(self, now: float) -> Plant:
        """A smaller roof and battery than the three-phase unit's."""
        plant = Plant.commissioned(now)
        plant.peak_pv_w = 5400.0
        plant.capacity_wh = 5120.0
        plant.max_battery_w = 3000.0
        return plant
