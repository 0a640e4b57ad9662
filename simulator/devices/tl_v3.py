"""A ZCS 1PH TL-V3 string inverter on the legacy string map, asleep at night.

From research/modbus_maps.md section 6: one block 0x0000-0x0027 (function 0x03), identity
as input registers from 0x2000 (serial at 0x2002, 6 registers); PV in 0.1 V / 0.01 A /
0.01 kW, the lifetime total in whole kWh (u32, high word first), today's in 0.01 kWh. No
battery, no meter. At night the inverter is off: its stick still takes the connection, but
nothing answers behind it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..registers import RegisterBank, ascii_registers, s16, u32
from .hyd_3ph import Plant

REALTIME = (0x0000, 0x0027)
IDENTITY = (0x2000, 0x200B)
_NORMAL = 2


class TlV3(RegisterBank):
    """The string inverter: registers from a 3 kWp roof, silent while the sun is down."""

    FAULT_WORDS = tuple(range(0x0001, 0x0006))

    def __init__(
        self, *, serial: str = "ZA3ES030L1B7", clock: Callable[[], float] = time.time
    ) -> None:
        """A 3 kW unit on the wall clock unless told otherwise."""
        super().__init__([REALTIME], max_read=40, input_blocks=[IDENTITY])
        self.clock = clock
        self.plant = Plant.commissioned(clock())
        self.plant.peak_pv_w = 3000.0
        self.plant.max_battery_w = 0.0
        # Asleep on command (--asleep), or at night on its own.
        self.forced_asleep = False
        self.inputs.update(enumerate([0x0001, 0], start=0x2000))
        self.inputs.update(enumerate(ascii_registers(serial, 6), start=0x2002))
        self.inputs.update(enumerate(ascii_registers("V2.10", 2), start=0x2008))
        self.refresh()

    @property
    def asleep(self) -> bool:
        """No sun, no inverter: it wakes when the panels give enough to power it."""
        self.plant.advance(self.clock())
        return self.forced_asleep or self.plant.sun <= 0.0

    @asleep.setter
    def asleep(self, value: bool) -> None:
        self.forced_asleep = value

    def refresh(self) -> None:
        """Bring the registers up to the plant's state now."""
        plant = self.plant
        plant.advance(self.clock())
        pv = plant.pv_w
        volts = 300.0 + 40 * plant.sun if pv > 0 else 0.0
        strings = (pv * 0.6, pv * 0.4)
        amps = [watts / volts if volts else 0.0 for watts in strings]
        self.set(0x0000, [_NORMAL, 0, 0, 0, 0, 0])
        self.set(0x0006, [round(volts * 10), round(amps[0] * 100)])
        self.set(0x0008, [round(volts * 10), round(amps[1] * 100)])
        self.set(0x000A, [round(strings[0] / 10), round(strings[1] / 10), round(pv * 0.97 / 10)])
        self.set(0x000D, [0, 5002, 2311, round(pv * 0.97 / 231.1 * 100)])
        self.set(0x0015, u32(plant.totals_wh["pv"] / 1000) + u32(plant.generation_minutes / 60))
        self.set(0x0019, [round(plant.today_wh["pv"] / 10), round(plant.today_wh["pv"] / 50)])
        self.set(0x001B, [s16(30 + pv / 200), s16(35)])
