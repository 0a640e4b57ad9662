"""A ZCS 3PH HYD ZSS hybrid inverter on the Sofar G3 map, with a plant that moves.

The plant follows a sun curve for PV and a house load with evening peaks; the battery
takes the surplus and covers the deficit within its limits, the grid the rest, so power
always balances. Counters integrate the flows and only grow; "today" ones restart at
local midnight. Registers are written the way the inverter writes them (raw units,
export and charge positive), independent of how the integration decodes them.

The settings are written as the real unit takes them (research/modbus_maps.md 3.11-3.12,
10): whole groups, commit registers that read back a result, ranges enforced; and the
plant obeys them: storage mode (passive holds the grid set-point within the battery
limits), export limit, output limit, depth of discharge, max charge SOC, remote off.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..registers import Group, RegisterBank, ascii_registers, s16, u32

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
    (0x1004, 0x103F),
    (0x1044, 0x105B),
    (0x1104, 0x110D),
    (0x1110, 0x1110),
    (0x1184, 0x11A9),
)
CLOCK = 0x1004
BATTERY_COMMIT = 0x1053
# The G3 BMS window (research/modbus_maps.md 3.10): the selected BMS's summary and its pack.
BMS_BLOCKS = ((0x9000, 0x9030), (0x9044, 0x9074))
BMS_SELECT = 0x9020
# The settings and the runs in which the unit takes them (research/modbus_maps.md 3.12).
GROUPS = (
    Group(
        CLOCK,
        0x100A,
        commit=0x100A,
        limits={0x1004: (0, 99), 0x1005: (1, 12), 0x1006: (1, 31), 0x1007: (0, 23)}
        | {0x1008: (0, 59), 0x1009: (0, 59)},
    ),
    Group(0x1023, 0x1024, limits={0x1023: (0, 4), 0x1024: (-32768, 32767)}),
    Group(0x1029, 0x102A, limits={0x1029: (0, 2)}),
    # Integrations write 16 or 19 registers from 0x1044; the whole block is 24.
    Group(
        0x1044,
        0x105B,
        accepted=((0x1044, 0x1053), (0x1044, 0x1056), (0x1044, 0x105B)),
        commit=BATTERY_COMMIT,
        limits={0x104D: (1, 90), 0x104E: (1, 90), 0x1052: (5, 100), 0x105B: (60, 100)},
    ),
    # The remote-control block is in RAM; controllers write any run of it.
    Group(
        0x1104,
        0x110D,
        free=True,
        limits={0x1104: (0, 1), 0x1106: (0, 1100), 0x1107: (0, 1000)}
        | {0x1108: (-1000, 1000), 0x1109: (-100, 100)},
    ),
    Group(0x1110, 0x1110, limits={0x1110: (0, 7)}),
    Group(0x1184, 0x1185, limits={0x1185: (0, 1)}),
    # Passive set-points: six words, or the battery limits alone (evcc #12220).
    Group(0x1187, 0x118C, accepted=((0x1187, 0x118C), (0x1189, 0x118C))),
)
# What the settings hold on a unit fresh from the installer. The battery block is the one a
# real HYD showed (research 3.11), with a high-voltage tower's voltages and capacity.
SETTINGS = {
    0x1023: [0, 0],
    0x1029: [0, 0],
    # Parallel operation off; the role a unit leaves the factory with: master, address 0.
    0x1035: [0, 1, 0],
    # index, address, BMS, OVP, charge V, UVP, min discharge V, currents, DOD, EOD, Ah,
    # rated V, LiFePO4, EPS buffer, commit; addresses 2-4, lead-acid, control bits, max SOC.
    0x1044: [0, 0, 0, 4800, 4700, 3800, 4000, 2500, 2500, 90, 90, 24, 4320, 1, 10, 0]
    + [0] * 7
    + [100],
    0x1104: [1, 0, 1000, 1000, 0, 0, 0, 0, 0, 0],
    0x1110: [0],
    0x1184: [0, 0, 0, 0, 0, 0, 0, 0, 0],
}
PASSIVE = 3
STORAGE_MODE = 0x1110
PASSIVE_SETPOINTS = 0x1187

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


def _s32(high: int, low: int) -> int:
    raw = high << 16 | low
    return raw - (1 << 32) if raw & 0x80000000 else raw


@dataclass
class Settings:
    """What the plant obeys; powers in W (battery + = charge, passive grid + = import)."""

    on: bool = True
    mode: int = 0
    export_limit_w: float | None = None
    output_limit_w: float | None = None
    min_soc: float = 10.0
    max_soc: float = 100.0
    passive: tuple[float, float, float] = (0.0, 0.0, 0.0)
    standby: bool = False  # the battery idles (passive mode timed out, "force standby")


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
    settings: Settings = field(default_factory=Settings)
    # Steps a test can make: a load switched on (a kettle), the share of sun a cloud takes.
    extra_load_w: float = 0.0
    shade: float = 0.0
    # How much PV load has warmed the inverter (°C); it follows in minutes, not at once.
    warmth: float | None = None
    # The share of the house this plant's inverter covers (one of several in parallel).
    load_share: float = 1.0
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
        house = 380 + 220 * math.sin(now / 89) ** 2 + evening + self.extra_load_w
        self.load_w = house * self.load_share
        self._obey()
        # The inverter warms with the PV power it really converts (after any curtailment).
        seconds = 0.0 if self._last is None else min(max(now - self._last, 0.0), 3600.0)
        if self.warmth is None:
            self.warmth = self.pv_w / 600
        else:
            self.warmth += (self.pv_w / 600 - self.warmth) * (1 - math.exp(-seconds / 600))
        if self._last is not None:
            self._integrate(seconds)
        self._last = now

    def _obey(self) -> None:
        """Battery and grid as the settings have them; PV curtailed to meet the limits."""
        rules = self.settings
        if not rules.on:
            # Remote off: no output; the house draws from the grid.
            self.pv_w = self.battery_w = 0.0
            self.grid_w = -self.load_w
            return
        surplus = self.pv_w - self.load_w
        battery = surplus
        if rules.mode == PASSIVE:
            grid, low, high = rules.passive
            # The charge that leaves `grid` flowing in from the grid, within the limits.
            battery = 0.0 if rules.standby else min(max(surplus + grid, low), high)
        battery = min(max(battery, -self.max_battery_w), self.max_battery_w)
        if (battery > 0 and self.soc >= rules.max_soc) or (
            battery < 0 and self.soc <= rules.min_soc
        ):
            battery = 0.0
        # AC output (PV less charge) and export (that less the house) are capped by
        # curtailing PV, then by discharging less.
        caps = [
            limit + extra
            for limit, extra in (
                (rules.output_limit_w, battery),
                (rules.export_limit_w, battery + self.load_w),
            )
            if limit is not None
        ]
        if caps:
            self.pv_w = max(0.0, min(self.pv_w, *caps))
            battery = max(battery, *(self.pv_w - cap + battery for cap in caps))
        self.battery_w = battery
        self.grid_w = self.pv_w - self.load_w - battery

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
    """The inverter: its registers, refreshed from the plant before every answer.

    The other G3 models differ in the blocks they serve, the settings they take and their
    phases; they say so in these class attributes.
    """

    MAP_BLOCKS: ClassVar[tuple[tuple[int, int], ...]] = BLOCKS
    MAP_GROUPS: ClassVar[tuple[Group, ...]] = GROUPS
    PHASES: ClassVar[int] = 3
    # Battery inputs that take a tower: the map's 8 (Modbus-G3 V1.38 5.2). ZCS sells the
    # 3PH HYD ZSS with one or two towers; more are there to show the rest of the map.
    BATTERY_INPUTS: ClassVar[int] = 8

    def __init__(
        self,
        *,
        serial: str = "ZP1ES010M2H00017",
        rated_w: int = 10000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """A 10 kW unit with one battery tower, on the wall clock unless told otherwise."""
        super().__init__(self.MAP_BLOCKS, groups=self.MAP_GROUPS)
        for address, values in SETTINGS.items():
            self.set(address, values)
        self.clock = clock
        # Seconds the inverter's own clock is ahead of the wall clock (set by writing it).
        self.clock_offset = 0.0
        # Passive mode: when set-points last came, what the mode was before, timed out idle.
        self._passive_since = clock()
        self._mode_before_passive = 0
        self._standby = False
        self.plant = self.new_plant(clock())
        self.asleep = False
        # Towers on the battery inputs: a second one is an option (--second-tower).
        self.towers = 1
        # Packs in each tower, read through the BMS window (none: the window is not served).
        self.packs_per_tower = 0
        # Reads after a selection that still show the pack shown before (a BMS slow to switch).
        self.bms_lag = 0
        self._lagging = 0
        self._selected = 0
        self._shown_pack = 0
        self.identity = {
            0x0445: ascii_registers(serial, 8),
            0x044D: ascii_registers("V1", 2),
            0x044F: ascii_registers("V110052", 4),
            0x0453: ascii_registers("V110048", 4),
            0x0457: ascii_registers("V110048", 4),
            0x06ED: [rated_w // 100],
        }
        self.refresh()

    def new_plant(self, now: float) -> Plant:
        """The plant behind this model (a 9 kWp roof and a 10 kWh tower here)."""
        return Plant.commissioned(now)

    def refresh(self) -> None:
        """Bring the registers up to the plant's state now."""
        now = self.clock()
        plant = self.plant
        self._passive_timeout(now)
        plant.settings = self._settings()
        plant.advance(now)
        for address, values in self.identity.items():
            self.set(address, values)
        self._system(now)
        grid_w, house_w, today_wh, totals_wh = self.grid_point()
        self._grid(grid_w, house_w)
        eps_volts = [2300, 2302, 2298][: self.PHASES]
        self.set(0x0504, [0, 0, 0, 5000, 0, 0, eps_volts[0], 0, 0])
        for phase, eps_v in enumerate(eps_volts[1:], start=1):
            self.set(0x050A + 8 * phase, [eps_v])
        volts = 620 + 60 * plant.sun if plant.pv_w > 0 else 0.0
        strings = (plant.pv_w * 0.56, plant.pv_w * 0.44)
        for index, watts in enumerate(strings):
            amps = watts / volts if volts else 0.0
            self.set(0x0584 + 3 * index, [round(volts * 10), s16(amps * 100), round(watts / 10)])
        # The unit's own total (0.1 kW): coarser than the strings' sum, which is what it is.
        self.set(0x05C4, [round(plant.pv_w / 100)])
        self._battery()
        self._bms_window()
        for index, name in enumerate(_COUNTERS):
            address = _COUNTER_BASE + 4 * index
            self.set(address, u32(today_wh[name] / 10) + u32(totals_wh[name] / 100))

    def grid_point(self) -> tuple[float, float, dict[str, float], dict[str, float]]:
        """What the meter at the grid connection shows the inverter; alone, its own plant's.

        Power (+ export) and the house's (W), and the counters today and in total (Wh).
        """
        plant = self.plant
        return plant.grid_w, plant.load_w, plant.today_wh, plant.totals_wh

    def _battery(self) -> None:
        """The battery inputs: each tower carries its share of the plant's battery.

        An input with no tower reads 0 throughout, its state 0 ("unknown"): what the map
        leaves to guess, guessed the plain way.
        """
        plant = self.plant
        battery_v = 410 + 0.4 * plant.soc
        watts = plant.battery_w / self.towers
        # Per input: state (1 charging, 2 discharging, 3 sleeping), + charge.
        state = 1 if watts > 0 else 2 if watts < 0 else 3
        for index in range(self.BATTERY_INPUTS):
            there = index < self.towers
            self.set(
                0x0604 + 7 * index,
                [
                    round(battery_v * 10),
                    s16(watts / battery_v * 100),
                    s16(watts / 10),
                    22 + index,
                    round(plant.soc),
                    98 - index,
                    312 - 100 * index,
                ]
                if there
                else [0] * 7,
            )
            self.set(0x0644 + 4 * index, [2500, 2500, state if there else 0, 0])
        # Totals over the inputs: power (0.1 kW, + charge), SOC, SOH, packs, capacity (Ah).
        capacity_ah = round(plant.capacity_wh / battery_v)
        self.set(
            0x0667,
            [s16(plant.battery_w / 100), round(plant.soc), 98, self.towers, capacity_ah],
        )

    def fit_packs(self, packs: int) -> None:
        """Give every tower `packs` packs, and serve the BMS window that shows them."""
        self.packs_per_tower = packs
        for block in BMS_BLOCKS:
            if block not in self.blocks:
                self.blocks.append(block)
        if not any(group.first == BMS_SELECT for group in self.groups):
            self.groups.append(Group(BMS_SELECT, BMS_SELECT, free=True))
        self.refresh()

    def _bms_window(self) -> None:
        """The BMS window: the layout, and the selected pack (once the BMS has switched).

        A ZBT-5K module: 16 LFP cells (51.2 V, 100 Ah) with a BMS of its own.
        """
        if not self.packs_per_tower:
            return
        plant = self.plant
        self.set(0x900D, [self.packs_per_tower << 8 | self.towers])
        if self._lagging:
            self._lagging -= 1
        else:
            self._shown_pack = self._selected
        selected = self._shown_pack
        battery, pack = selected & 0xFF, selected >> 8 & 0x0F
        if battery >= self.towers or pack >= self.packs_per_tower:
            self.set(0x900E, [0] * 6)
            self.set(0x9044, [selected] + [0] * 48)
            return
        amps = plant.battery_w / self.towers / self.packs_per_tower / 51.2
        soh = 98 - pack - battery
        cell = 3.20 + 0.0015 * plant.soc + 0.004 * pack
        cells = [round((cell + 0.001 * (i % 5)) * 1000) for i in range(16)]
        temperatures = [round((21.0 + 0.5 * i + pack) * 10) for i in range(4)]
        full = round(100 * soh / 100 * 10)
        self.set(
            0x900E,
            [round(plant.soc), round(51.2 * 10), s16(amps * 10), 225, round(plant.soc), soh],
        )
        serial = ascii_registers(f"ZBT5K2406{battery + 1:02d}{pack + 1:03d}", 9)
        self.set(
            0x9044,
            [selected, 0, 0, 0, *serial, *cells]
            + [0] * 8
            + [max(cells), min(cells), *temperatures, 265, 230, s16(amps * 10)]
            + [round(full * plant.soc / 100), full, 312 + 7 * pack + battery],
        )

    def _settings(self) -> Settings:
        """What the settings registers tell the plant."""
        value = self.values.get
        rated_w = self.identity[0x06ED][0] * 100
        limit_enabled = value(0x1105, 0) & 1
        return Settings(
            on=value(0x1104, 1) == 1,
            mode=value(STORAGE_MODE, 0),
            standby=self._standby,
            export_limit_w=value(0x1024, 0) * 100 if value(0x1023, 0) else None,
            output_limit_w=rated_w * value(0x1106, 1000) / 1000 if limit_enabled else None,
            min_soc=100.0 - value(0x104D, 90),
            max_soc=float(value(0x105B, 100)),
            passive=(
                float(_s32(value(0x1187, 0), value(0x1188, 0))),
                float(_s32(value(0x1189, 0), value(0x118A, 0))),
                float(_s32(value(0x118B, 0), value(0x118C, 0))),
            ),
        )

    def _passive_timeout(self, now: float) -> None:
        """Passive mode without new set-points for the timeout (0x1184) takes its action."""
        mode = self.values.get(STORAGE_MODE, 0)
        if mode != PASSIVE:
            self._mode_before_passive = mode
            self._standby = False
            return
        timeout = self.values.get(0x1184, 0)
        if timeout and now - self._passive_since > timeout:
            if self.values.get(0x1185) == 1:
                self.values[STORAGE_MODE] = self._mode_before_passive
            else:
                self._standby = True

    def applied(self, group: Group) -> None:
        """A written clock sets the inverter's time (the plant keeps the wall clock's).

        Passive set-points, or the storage mode, written: the passive timeout starts again.
        """
        if group.first in (STORAGE_MODE, PASSIVE_SETPOINTS):
            self._passive_since = self.clock()
            self._standby = False
        if group.first == BMS_SELECT:
            self._selected = self.values[BMS_SELECT]
            self._lagging = self.bms_lag
        if group.first == CLOCK:
            year, month, day, hour, minute, second = (self.values[CLOCK + i] for i in range(6))
            wanted = time.mktime((2000 + year, month, day, hour, minute, second, 0, 0, -1))
            self.clock_offset = wanted - self.clock()

    def _system(self, now: float) -> None:
        plant = self.plant
        local = time.localtime(now + self.clock_offset)
        self.set(0x0404, [RUNNING_GRID_CONNECTED if plant.settings.on else 0])
        self.set(0x0418, [s16(21 + 3 * plant.sun), s16(20)])
        warmth = plant.warmth or 0.0
        self.set(0x041A, [s16(30 + warmth)])
        self.set(0x0420, [s16(33 + 1.2 * warmth)])
        minutes = self.plant.generation_minutes
        self.set(0x0426, [min(round(plant.today_wh["pv"] / 150), 1440), *u32(minutes)])
        self.set(0x042B, [2500])
        clock = [
            local.tm_year - 2000,
            local.tm_mon,
            local.tm_mday,
            local.tm_hour,
            local.tm_min,
            local.tm_sec,
        ]
        self.set(0x042C, clock)
        self.set(CLOCK, clock)

    def _grid(self, grid_w: float, house_w: float) -> None:
        plant = self.plant
        output_w = plant.pv_w - plant.battery_w
        wobble = math.sin(plant.load_w / 37)
        self.set(0x0484, [5000 + round(3 * wobble), s16(output_w / 10), 0, s16(abs(output_w) / 10)])
        # PCC: active power (0.01 kW), apparent (0.01 kVA), active again in 0.1 kW.
        self.set(0x0488, [s16(grid_w / 10), 0, round(abs(grid_w) / 10)])
        self.set(0x048B, [s16(grid_w / 100)])
        # Each phase carries its share; a single-phase unit leaves S and T at 0.
        share = self.PHASES
        phases = [230.0 + wobble + phase * 0.4 for phase in range(share)]
        for phase, volts in enumerate(phases):
            base = 0x048D + 11 * phase
            self.set(base, [round(volts * 10), round(abs(output_w) / share / volts * 100)])
            self.set(base + 2, [s16(output_w / 10 / share), 0, 1000])
            grid_amps = round(abs(grid_w) / share / volts * 100)
            self.set(base + 5, [grid_amps, s16(grid_w / 10 / share)])
        self.set(0x04AF, [round(house_w / 10)])
        self.set(0x04BD, [1000])
        if share == 1:
            return
        # The split-phase view (L1, L2: voltage, output current and power, CT current, PCC
        # power), as phases 1 and 2 of the three; then the line-to-line voltages.
        for phase in range(2):
            volts = phases[phase]
            self.set(
                0x04B0 + 5 * phase,
                [
                    round(volts * 10),
                    round(abs(output_w) / 3 / volts * 100),
                    s16(output_w / 30),
                    round(abs(grid_w) / 3 / volts * 100),
                    s16(grid_w / 30),
                ],
            )
        line = [(phases[i] + phases[(i + 1) % 3]) / 2 * math.sqrt(3) for i in range(3)]
        self.set(0x04BA, [round(volts * 10) for volts in line])
