"""Chint energy meters at the grid connection: DTSU666 (three-phase), DDSU666 (single-phase).

From research/modbus_maps.md section 8 (and, for the DDSU666's addresses, Tasmota's
driver): readings are IEEE-754 float32, high word first, function 0x03. The DTSU666 keeps
raw units (0.1 V, 0.001 A, 0.1 W, 0.001 PF, 0.01 Hz; energy in kWh); the DDSU666 plain
units (V, A, kW, Hz, kWh). Power is + import. The house behind the meter is the inverters'
plant: it exports at noon and imports in the evening.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ..registers import RegisterBank, f32
from .hyd_3ph import Plant


class GridPoint(Protocol):
    """What a meter reads: the flow at a grid connection (+ export) and its counters (Wh)."""

    grid_w: float
    load_w: float
    totals_wh: dict[str, float]

    def advance(self, now: float) -> None:
        """Move to time `now`."""

    def memory(self) -> dict[str, Any]:
        """What it keeps through a restart."""

    def recall(self, memory: Mapping[str, Any]) -> None:
        """Take up what was kept."""


class _Meter(RegisterBank, ABC):
    """A meter reading the grid flow of a plant; its energy totals in kWh at its addresses."""

    IMPORT: int
    EXPORT: int

    def __init__(
        self,
        blocks: list[tuple[int, int]],
        clock: Callable[[], float],
        plant: GridPoint | None = None,
    ) -> None:
        super().__init__(blocks, max_read=60)
        self.clock = clock
        self.asleep = False
        if plant is None:
            plant = Plant.commissioned(clock())
            # A meter sees the grid point of a plant without a battery it could see apart.
            plant.max_battery_w = 0.0
        self.plant: GridPoint = plant
        self.refresh()

    def refresh(self) -> None:
        """Bring the registers up to the plant's grid flow now."""
        plant = self.plant
        plant.advance(self.clock())
        volts = 230.0 + math.sin(plant.load_w / 41)
        self.show(-plant.grid_w, volts, 50.0 + 0.02 * math.sin(plant.load_w / 53))
        self.set(self.IMPORT, f32(plant.totals_wh["import"] / 1000))
        self.set(self.EXPORT, f32(plant.totals_wh["export"] / 1000))

    @abstractmethod
    def show(self, power: float, volts: float, hertz: float) -> None:
        """Write power (W, + import), voltage and frequency as the model keeps them."""


class Dtsu666(_Meter):
    """The three-phase meter.

    Chint's manuals place the energy totals at 0x401E/0x4028 (2016) or 0x101E/0x1028 (V1.5,
    2019), and owners have found each on their meter (lmatula/ha_chint_pm issue #16): the
    model counts at one (`energy_at`), the other reads 0. Direct connection: the current and
    voltage transformer ratios read 1 and 10 (0.1 each), and readings are as measured.
    """

    IMPORT = 0x401E
    EXPORT = 0x4028
    # Where each manual puts the totals; the export total is 10 registers after the import.
    ENERGY = (0x401E, 0x101E)

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        energy_at: int = 0x401E,
        plant: GridPoint | None = None,
    ) -> None:
        """On the wall clock unless told otherwise; version 0x0105, 3P4W, address 1.

        At a plant's grid connection (`plant`), or a house of its own.
        """
        if energy_at not in self.ENERGY:
            raise ValueError(f"a DTSU666 keeps its totals at {self.ENERGY}, not {energy_at:#06x}")
        self.IMPORT, self.EXPORT = energy_at, energy_at + 10
        blocks = [(0x0000, 0x002E), (0x1000, 0x1051), (0x2000, 0x2045), (0x4000, 0x4059)]
        super().__init__(blocks, clock, plant)
        self.set(0x0000, [0x0105, 0, 0, 0])
        self.set(0x0006, [1, 10])  # IrAt, UrAt: no transformers
        self.set(0x002C, [3, 3, 1])

    def show(self, power: float, volts: float, hertz: float) -> None:
        """Raw units: 0.1 V, 0.001 A, 0.1 W, 0.001 PF, 0.01 Hz."""
        phases = [volts + 0.3 * phase for phase in range(3)]
        line = [(phases[i] + phases[(i + 1) % 3]) / 2 * math.sqrt(3) for i in range(3)]
        amps = [abs(power) / 3 / v for v in phases]
        words: list[int] = []
        for value in (
            *(v * 10 for v in line),
            *(v * 10 for v in phases),
            *(a * 1000 for a in amps),
            power * 10,
            *(power / 3 * 10 for _ in range(3)),
        ):
            words += f32(value)
        self.set(0x2000, words)
        self.set(0x202A, f32(990.0) * 4)
        self.set(0x2044, f32(hertz * 100))


class Ddsu666(_Meter):
    """The single-phase meter."""

    IMPORT = 0x4000
    EXPORT = 0x400A

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        """On the wall clock unless told otherwise."""
        super().__init__([(0x2000, 0x200F), (0x4000, 0x400B)], clock)

    def show(self, power: float, volts: float, hertz: float) -> None:
        """Plain units: V, A, kW, Hz."""
        self.set(0x2000, f32(volts) + f32(abs(power) / volts) + f32(power / 1000))
        self.set(0x200A, f32(0.99))
        self.set(0x200E, f32(hertz))
