"""A ZCS HYD 3000-6000 ES hybrid on the legacy storage map (Sofar HYD-ES / ME3000-SP).

From research/modbus_maps.md section 5: real-time values in 0x0200-0x0255 (holding
registers, function 0x03; the unit answers 0x04 there too), battery settings 0x10B0-0x10BC
and identity 0x2000-0x200B only as input registers (function 0x04), the work mode at
0x1200 written with 0x10. Powers in 0.01 kW with battery + = charging and grid + = export;
energy totals u32 in whole kWh, high word first; today's in 0.01 kWh. The serial is at
input 0x2002 (6 registers), where wills106's plugin reads the ZE1E/ZM1E prefixes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..registers import Group, RegisterBank, ascii_registers, s16, u32
from .hyd_3ph import Plant, Settings

REALTIME = (0x0200, 0x0255)
WORK_MODE = 0x1200
BATTERY_SETTINGS = (0x10B0, 0x10BC)
IDENTITY = (0x2000, 0x200B)
# 0 waiting, 2 charging, 4 discharging (odd: checking before each).
_CHARGING, _DISCHARGING, _WAITING = 2, 4, 0


class HydEs(RegisterBank):
    """The legacy hybrid: its registers, refreshed from a plant before every answer."""

    FAULT_WORDS = tuple(range(0x0201, 0x0206))

    def __init__(
        self, *, serial: str = "ZE1ES460N4B031", clock: Callable[[], float] = time.time
    ) -> None:
        """A 4.6 kW unit with a 2.4 kWh low-voltage battery, on the wall clock by default."""
        super().__init__(
            [REALTIME, (WORK_MODE, 0x1214)],
            # Whole request frames: the map is read in one go (wills106 reads 100 at a time).
            max_read=100,
            groups=[Group(WORK_MODE, WORK_MODE, limits={WORK_MODE: (0, 3)})],
            input_blocks=[REALTIME, BATTERY_SETTINGS, IDENTITY],
        )
        self.clock = clock
        self.asleep = False
        self.plant = Plant.commissioned(clock())
        self.plant.peak_pv_w = 4000.0
        self.plant.capacity_wh = 2400.0
        self.plant.max_battery_w = 3000.0
        # Production code, serial (input 0x2002, 6 registers), software and hardware versions.
        self.inputs.update(enumerate([0x0001, 0], start=0x2000))
        self.inputs.update(enumerate(ascii_registers(serial, 6), start=0x2002))
        self.inputs.update(enumerate(ascii_registers("V1.20", 2), start=0x2008))
        self.inputs.update(enumerate(ascii_registers("V1", 2), start=0x200A))
        # Pylon battery, 50 Ah, self use, 53.2 V / 50 A charge, 45 V / 50 A discharge ...
        settings = [1, 50, 0, 532, 5000, 540, 450, 5000, 440, 80, 0, 4500, 5320]
        self.inputs.update(enumerate(settings, start=BATTERY_SETTINGS[0]))
        self.refresh()

    def read_input(self, address: int, count: int) -> list[int]:
        """The real-time block answers 0x04 as it answers 0x03 (openWB reads it so)."""
        if REALTIME[0] <= address <= REALTIME[1]:
            first, last = REALTIME
            self.inputs.update((a, self.values.get(a, 0)) for a in range(first, last + 1))
        return super().read_input(address, count)

    def refresh(self) -> None:
        """Bring the registers up to the plant's state now."""
        plant = self.plant
        plant.settings = Settings(mode=self.values.get(WORK_MODE, 0))
        plant.advance(self.clock())
        battery = plant.battery_w
        state = _CHARGING if battery > 0 else _DISCHARGING if battery < 0 else _WAITING
        volts = 48.0 + 0.06 * plant.soc
        output = plant.pv_w - battery
        self.set(0x0200, [state, 0, 0, 0, 0, 0])
        self.set(0x0206, [2302, round(abs(output) / 230.2 * 100)])
        self.set(0x020C, [5001, s16(battery / 10), round(volts * 10), s16(battery / volts * 100)])
        self.set(0x0210, [round(plant.soc), 24])
        self.set(0x0212, [s16(plant.grid_w / 10), round(plant.load_w / 10), s16(output / 10)])
        self.set(0x0215, [round(plant.pv_w / 10), 2300, 0])
        today = plant.today_wh
        totals = plant.totals_wh
        self.set(
            0x0218,
            [round(today[name] / 10) for name in ("pv", "export", "import", "load")]
            + [
                word
                for name in ("pv", "export", "import", "load")
                for word in u32(totals[name] / 1000)
            ],
        )
        self.set(
            0x0224,
            [
                round(today["charge"] / 10),
                round(today["discharge"] / 10),
                *u32(totals["charge"] / 1000),
                *u32(totals["discharge"] / 1000),
            ],
        )
        self.set(0x022C, [round(totals["charge"] / plant.capacity_wh)])
        self.set(0x0238, [s16(31), s16(35 + plant.pv_w / 400)])
        strings = (plant.pv_w * 0.5, plant.pv_w * 0.5)
        pv_volts = 360.0 if plant.pv_w > 0 else 0.0
        for index, watts in enumerate(strings):
            amps = watts / pv_volts if pv_volts else 0.0
            self.set(0x0250 + 3 * index, [round(pv_volts * 10), s16(amps * 100), round(watts / 10)])
