"""A ZCS 3PH 3.3-12KTL-V3 string inverter: the G3 map without battery, EPS or storage.

From research/modbus_maps.md sections 1, 2 (rule 8) and 4: the battery (0x0604-0x066B),
off-grid (0x0504-0x0527) and storage-setting blocks are not served (illegal address), nor
is the PV total 0x05C4 on KTLX-G3 firmware; settings are the clock, the export limit (with
a meter) and remote control. An 8.8 kW unit with an 8 kWp roof and no meter: the grid
point registers read 0.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar

from ..registers import Group
from .hyd_3ph import BLOCKS, GROUPS, Hyd3ph, Plant

_NOT_SERVED = {
    (0x0504, 0x0527),
    (0x05C4, 0x05C4),
    (0x0604, 0x063B),
    (0x0644, 0x066B),
    (0x1044, 0x105B),
    (0x1110, 0x1110),
    (0x1111, 0x111F),
    (0x1120, 0x112F),
    (0x1184, 0x11A9),
}


class KtlV3(Hyd3ph):
    """The string inverter: PV to the grid, nothing stored."""

    MAP_BLOCKS: ClassVar[tuple[tuple[int, int], ...]] = tuple(
        block for block in BLOCKS if block not in _NOT_SERVED
    )
    MAP_GROUPS: ClassVar[tuple[Group, ...]] = tuple(
        group
        for group in GROUPS
        if (group.first, group.last) in {(0x1004, 0x100A), (0x1023, 0x1024), (0x1104, 0x110D)}
    )
    BATTERY_INPUTS: ClassVar[int] = 0

    def __init__(
        self,
        *,
        serial: str = "ZS2ES088M2T00023",
        rated_w: int = 8800,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """An 8.8 kW unit on the wall clock unless told otherwise."""
        super().__init__(serial=serial, rated_w=rated_w, clock=clock)

    def new_plant(self, now: float) -> Plant:
        """No battery: what the roof makes goes to the house and the grid."""
        plant = Plant.commissioned(now)
        plant.peak_pv_w = 8000.0
        plant.max_battery_w = 0.0
        return plant

    def refresh(self) -> None:
        """As a hybrid would, but with no meter the grid point reads nothing."""
        super().refresh()
        self.set(0x0488, [0, 0, 0, 0])
        for phase in range(3):
            self.set(0x0492 + 11 * phase, [0, 0])
        for counter in range(4, 24):
            # Load, bought, sold, charge, discharge: no meter, no battery.
            self.set(0x0684 + counter, [0])
