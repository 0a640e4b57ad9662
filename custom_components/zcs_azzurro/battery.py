"""Battery control: a battery mode, for a while or until changed, kept while Home Assistant runs.

One per entry whose profile has the G3 hybrids' passive mode (api/battery.py). A mode is
asked for with the passive set-points, which live in RAM, and, while the inverter is not in
passive mode, with its storage mode, which lives in EEPROM (about 100,000 writes):

* without "stay in passive mode", self use is the inverter's own mode: another mode enters
  passive mode (one storage-mode write) and coming back to self use leaves it (another,
  back to the storage mode it had);
* with it, the storage mode is written once, and self use too is a matter of set-points
  (grid 0, the battery's whole range): a day of mode changes writes RAM only.

While a mode needs passive mode, the inverter's passive timeout is set (PASSIVE_TIMEOUT,
then back to the storage mode it had before), and the set-points are written again every
KEEP_ALIVE seconds: a Home Assistant that stops, or loses the device, leaves the inverter
in its own mode within the timeout. A mode for a while ends at its time and the one before
comes back; the end is kept in the entry's storage, so a restart in between resumes it, or
ends it if its time has passed.

Whoever else changes the storage mode (its select, an action, a program through the shared
connection, the inverter's display) has the last word: battery control lets go until it is
asked for a mode again. Only a storage mode that changed after battery control fell silent
for the timeout (the inverter's own timeout action) is taken back.

The action and the entities ask for a mode with `async_set`; a program's writes through the
shared connection come in through `async_take_write`; the maintenance charge (maintenance.py)
through `async_maintain`, as a mode for a while that anyone else's mode ends. A keep-alive
goes out even when the inverter holds the set-points (the writer's `resend`, RAM groups
only): only a write restarts its passive timeout, and the read-back judges it as any write.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.event import async_track_point_in_utc_time, async_track_time_interval
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .api.battery import (
    BACK_TO_PREVIOUS,
    PASSIVE,
    POWERED,
    SETPOINTS,
    STORAGE_MODE,
    TIMEOUT,
    TIMEOUT_ACTION,
    BatteryCommand,
    BatteryMode,
    Limits,
    SetPoints,
    setpoint_values,
    setpoints_from_registers,
    setpoints_of,
    supports,
)
from .api.profile.encoder import encode
from .api.profile.schema import Span, Value
from .const import (
    CONF_MAINTENANCE_CHARGE,
    CONF_STAY_IN_PASSIVE,
    DOMAIN,
    KEEP_ALIVE,
    PASSIVE_TIMEOUT,
)
from .coordinator import ZcsConfigEntry, ZcsCoordinator

_LOGGER = logging.getLogger(__name__)

# The entities battery control adds to the device's, by key, with their platforms.
MODE_SELECT = "battery_mode"
MODE_POWER = "battery_mode_power"
MODE_END = "battery_mode_end"
MODE_WRITES = "battery_mode_writes"
STORAGE_WRITES = "storage_mode_writes"
ENTITIES = {
    MODE_SELECT: Platform.SELECT,
    MODE_POWER: Platform.NUMBER,
    MODE_END: Platform.SENSOR,
    MODE_WRITES: Platform.SENSOR,
    STORAGE_WRITES: Platform.SENSOR,
}

SELF_USE = BatteryCommand(BatteryMode.SELF_USE)
# The storage mode given back when the one before passive mode was never read.
OWN_MODE = BatteryMode.SELF_USE.value
STORE_VERSION = 1


def battery_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """Where an entry's battery control keeps its mode and its end across restarts."""
    return Store(hass, STORE_VERSION, f"{DOMAIN}.battery.{entry_id}")


@dataclass(frozen=True)
class Target:
    """What battery control asks of the battery: set-points, and our mode they express."""

    points: SetPoints
    command: BatteryCommand | None

    def as_dict(self) -> dict[str, Any]:
        """For the store."""
        command = self.command
        return {
            "grid": self.points.grid,
            "low": self.points.low,
            "high": self.points.high,
            "mode": command.mode.value if command else None,
            "power": command.power if command else 0,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Target:
        """From the store."""
        points = SetPoints(int(data["grid"]), int(data["low"]), int(data["high"]))
        mode = data.get("mode")
        command = BatteryCommand(BatteryMode(mode), int(data["power"])) if mode else None
        return cls(points, command)


class BatteryControl:
    """One entry's battery mode: asked for, kept alive, ended on time, let go of."""

    def __init__(self, hass: HomeAssistant, entry: ZcsConfigEntry, coordinator: ZcsCoordinator):
        """Nothing is written until set up."""
        self.hass = hass
        self.entry = entry
        self.coordinator = coordinator
        self.limits = Limits.of(coordinator.device.profile)
        self.stay_in_passive: bool = entry.options.get(CONF_STAY_IN_PASSIVE, False)
        self._store = battery_store(hass, entry.entry_id)
        # What it asks for, untimed, and what it asks for until `until`, over that.
        self.base = self.target_of(SELF_USE)
        self.episode: Target | None = None
        self.until: datetime | None = None
        # Whether it asks for anything: else the inverter runs its own storage mode.
        self.engaged = False
        # The storage mode the inverter had before battery control put it in passive mode.
        self.mode_before: str | None = None
        # The power (W) the mode select asks for with charge, discharge and grid target.
        self.power: int | None = None
        # Storage-mode and timeout writes (EEPROM) battery control has made, ever.
        self.storage_writes = 0
        # Whether the mode for a while is the maintenance charge; whether one was ended by a
        # mode someone asked for (none starts again until the towers are above the floor).
        self.maintenance = False
        self.maintenance_yielded = False
        self._lock = asyncio.Lock()
        # When the set-points were last written (time.monotonic), and whether what it asks
        # for is still to be written (a write that failed; retried every KEEP_ALIVE).
        self._asserted: float | None = None
        self._pending = False
        self._listeners: list[CALLBACK_TYPE] = []
        self._end: CALLBACK_TYPE | None = None

    def target_of(self, command: BatteryCommand) -> Target:
        """The target a command asks for."""
        return Target(command.setpoints(self.limits), command)

    @property
    def target(self) -> Target:
        """What it asks for now."""
        return self.episode or self.base

    @property
    def mode(self) -> BatteryMode | None:
        """The battery's mode: asked for, or what the inverter's own settings say.

        None when the inverter runs a storage mode of its own that is not self use (time of
        use, peak shaving, ...) or set-points that express none of ours.
        """
        if self.engaged:
            command = self.target.command
            return command.mode if command else None
        values = self._values()
        storage = values.get(STORAGE_MODE)
        if storage == OWN_MODE:
            return BatteryMode.SELF_USE
        if storage == PASSIVE and (points := setpoints_of(values)) is not None:
            command = BatteryCommand.of(points, self.limits)
            return command.mode if command else None
        return None

    @property
    def known(self) -> bool:
        """Whether the mode is known: asked for, or the inverter's storage mode read."""
        return self.engaged or self._values().get(STORAGE_MODE) is not None

    def _values(self) -> Mapping[str, Value | None]:
        data = self.coordinator.data
        return data.values if data else {}

    def _needs_passive(self) -> bool:
        return self.stay_in_passive or self.target.command != SELF_USE

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `update` whenever what battery control shows may have changed."""
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    @callback
    def _changed(self) -> None:
        for update in list(self._listeners):
            update()

    async def async_setup(self) -> None:
        """Take up what was asked before a restart; start keeping it; listen to the polls.

        A mode whose time passed meanwhile ends here; a changed "stay in passive mode"
        option is carried out at once.
        """
        stored = await self._store.async_load()
        if stored is None:
            self.engaged = self.stay_in_passive
        else:
            self._restore(stored)
            if stored.get("stay_in_passive", False) != self.stay_in_passive:
                self.engaged = True
        if (self.until is not None and self.until <= dt_util.utcnow()) or (
            self.maintenance and not self.entry.options.get(CONF_MAINTENANCE_CHARGE, False)
        ):
            self.episode = self.until = None
            self.maintenance = False
        entry = self.entry
        # The polls read the storage mode and the set-points for us, whatever is shown; one
        # listener is told of each poll.
        entry.async_on_unload(self.coordinator.async_add_listener(self._on_poll, STORAGE_MODE))
        for key in SETPOINTS:
            entry.async_on_unload(self.coordinator.async_add_listener(lambda: None, key))
        entry.async_on_unload(
            async_track_time_interval(
                self.hass, self._keep_alive, timedelta(seconds=KEEP_ALIVE), cancel_on_shutdown=True
            )
        )
        entry.async_on_unload(self._cancel_end)
        self._schedule_end()
        if self.engaged:
            self._pending = True
            entry.async_create_background_task(
                self.hass, self._keep_alive(dt_util.utcnow()), f"{DOMAIN} battery control"
            )
        await self._save()

    async def async_set(self, command: BatteryCommand, *, until: datetime | None = None) -> None:
        """Ask for a mode, until a time (then the one before comes back) or until changed.

        Raises ServiceValidationError for a power the mode cannot take or a time past, and
        the writes' errors (HomeAssistantError, in the user's words) when the inverter does
        not take it; then nothing asked changes.
        """
        self._check(command, until)
        await self._change(self.target_of(command), until)

    async def async_maintain(self, charge: BatteryCommand | None, until: datetime) -> None:
        """Start a maintenance charge until a time (charge), or end the one running (None).

        Anyone else's mode wins: one starts only over self use with no mode for a while
        asked (nor a storage mode of the inverter's own), and not after a mode asked during
        the last one ended it, until the towers were above the floor (None) again.
        """
        if charge is None:
            if self.maintenance:
                await self._back(maintenance_only=True)
            elif self.maintenance_yielded:
                self.maintenance_yielded = False
                await self._save()
            return
        await self._change(self.target_of(charge), until, maintenance=True)

    def _may_maintain(self) -> bool:
        """Whether a maintenance charge may start now (see `async_maintain`)."""
        return not (
            self.maintenance
            or self.maintenance_yielded
            or self.episode is not None
            or self.mode is not BatteryMode.SELF_USE
        )

    async def async_set_points(self, points: SetPoints) -> None:
        """Ask for set-points as given (a program's, through the shared connection), untimed.

        Beyond what the profile allows they are held to it: a program's "no limit" asks the
        inverter for no more than the largest number we write does.
        """
        points = self.limits.clamp(points)
        await self._change(Target(points, BatteryCommand.of(points, self.limits)), None)

    async def async_take_write(self, address: int, words: list[int]) -> bool:
        """A program's write (through the shared connection), taken as a battery mode.

        Passive set-points become what battery control asks for (and keeps alive); with
        "stay in passive mode", the storage mode written as passive keeps what is asked, and
        written as self use asks for self use with set-points: no EEPROM write (evcc writes
        the storage mode on every change of its battery mode). False for any other write:
        it goes the way every write goes.
        """
        profile = self.coordinator.device.profile
        span = Span(address, len(words))
        written = dict(enumerate(words, address))
        storage = profile.field(STORAGE_MODE)
        if span == storage.spans[0]:
            option = (storage.options or {}).get(words[0])
            if not self.stay_in_passive or option not in (PASSIVE, OWN_MODE):
                return False
            if option == OWN_MODE:
                await self.async_set(SELF_USE)
            else:
                await self._change(self.target, self.until if self.episode else None)
            return True
        group = profile.group(self.setpoint_group)
        if not span.within(group.span):
            return False
        # What the program leaves out stays as asked (or as read), its words over it.
        current = self.target.points if self.engaged else setpoints_of(self._values())
        registers: dict[int, int] = {}
        for key, value in setpoint_values(current or SetPoints(0, 0, 0)).items():
            fld = profile.field(key)
            registers.update(enumerate(encode(fld, value), fld.spans[0].address))
        points = setpoints_from_registers(profile, registers | written)
        assert points is not None  # every register of the three is there
        await self.async_set_points(points)
        return True

    @property
    def setpoint_group(self) -> str:
        """The write group of the passive set-points."""
        return self.coordinator.device.profile.group_of(SETPOINTS[0])

    async def async_set_power(self, power: int) -> None:
        """The power the mode select asks for; a powered mode asked for now takes it at once."""
        command = self.target.command
        # A maintenance charge is not the select's: it keeps its power.
        if (
            self.engaged
            and command is not None
            and command.mode in POWERED
            and not self.maintenance
        ):
            changed = BatteryCommand(command.mode, power)
            self._check(changed, None)
            await self._change(self.target_of(changed), self.until if self.episode else None)
        self.power = power
        await self._save()
        self._changed()

    def _check(self, command: BatteryCommand, until: datetime | None) -> None:
        if command.mode in POWERED:
            low, high = self.limits.power_range(command.mode)
            if not low <= command.power <= high:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="battery_power_invalid",
                    translation_placeholders={
                        "mode": command.mode.value,
                        "power": str(command.power),
                        "low": str(low),
                        "high": str(high),
                    },
                )
        if until is not None and until <= dt_util.utcnow():
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="battery_until_past",
                translation_placeholders={"until": dt_util.as_local(until).isoformat()},
            )

    async def _change(
        self, target: Target, until: datetime | None, maintenance: bool = False
    ) -> None:
        """Ask for the target (over what comes after it, if it ends); carried out, or undone.

        A target asked for during a maintenance charge ends it: the maintenance yields. A
        maintenance charge itself is asked only where it may start, once it is its turn.
        """
        async with self._lock:
            if maintenance and not self._may_maintain():
                return
            before = self._state()
            if self.maintenance and not maintenance:
                self.maintenance_yielded = True
            self.maintenance = maintenance
            if until is None:
                self.base, self.episode = target, None
            else:
                self.episode = target
            self.until = until
            self.engaged = True
            try:
                await self._apply()
            except HomeAssistantError:
                # What was asked before stays asked, and is written again at the next turn
                # (what reached the EEPROM meanwhile stays counted).
                writes = self.storage_writes
                self._restore(before)
                self.storage_writes = writes
                self._pending = True
                raise
            finally:
                self._schedule_end()
                await self._save()
                self._changed()

    async def _apply(self) -> None:
        """Have the inverter do what is asked; raises what the writes raise."""
        values = self._values()
        storage = values.get(STORAGE_MODE)
        write = self.coordinator.async_write
        if not self._needs_passive():
            if storage == PASSIVE:
                self._count(await write({STORAGE_MODE: self.mode_before or OWN_MODE}))
            self.engaged = False
            self.mode_before = None
            self._pending = False
            return
        if values.get(TIMEOUT) != PASSIVE_TIMEOUT or values.get(TIMEOUT_ACTION) != BACK_TO_PREVIOUS:
            setting: dict[str, Value] = {TIMEOUT: PASSIVE_TIMEOUT, TIMEOUT_ACTION: BACK_TO_PREVIOUS}
            self._count(await write(setting))
        # The set-points first: passive mode then starts with them, not with stale ones.
        await write(setpoint_values(self.target.points), keep_alive=True)
        self._asserted = time.monotonic()
        if storage != PASSIVE:
            if isinstance(storage, str):
                self.mode_before = storage
            self._count(await write({STORAGE_MODE: PASSIVE}))
        else:
            await self.coordinator.async_refresh_settings()
        self.engaged = True
        self._pending = False

    def _count(self, sent: bool) -> None:
        if sent:
            self.storage_writes += 1

    async def _keep_alive(self, now: datetime) -> None:
        """Write the set-points again (or what failed to be written), before the timeout."""
        if self._lock.locked():
            return
        async with self._lock:
            try:
                if self._pending:
                    await self._apply()
                elif self.engaged and self._needs_passive():
                    points = setpoint_values(self.target.points)
                    await self.coordinator.async_write(points, keep_alive=True)
                    self._asserted = time.monotonic()
                else:
                    return
            except HomeAssistantError as err:
                # The device may be away; its timeout returns it to its own mode meanwhile.
                self._pending = True
                _LOGGER.debug("%s: battery control not written: %s", self.entry.title, err)
            await self._save()
        self._changed()

    async def _episode_over(self, now: datetime) -> None:
        """A mode's time is up: the one before it comes back."""
        self._end = None
        await self._back()

    async def _back(self, *, maintenance_only: bool = False) -> None:
        """The mode for a while ends (if still the maintenance charge, if only that one)."""
        async with self._lock:
            if maintenance_only and not self.maintenance:
                return
            self._cancel_end()
            self.episode = self.until = None
            self.maintenance = False
            try:
                await self._apply()
            except HomeAssistantError as err:
                self._pending = True
                _LOGGER.debug("%s: battery mode not ended yet: %s", self.entry.title, err)
            await self._save()
        self._changed()

    @callback
    def _on_poll(self) -> None:
        """A poll: shown again; a storage mode changed by someone else is let be."""
        if self.engaged and not self._lock.locked() and self._needs_passive():
            storage = self._values().get(STORAGE_MODE)
            if storage is not None and storage != PASSIVE:
                self._left_passive(storage)
        self._changed()

    @callback
    def _left_passive(self, storage: Value) -> None:
        if self._asserted is None or time.monotonic() - self._asserted >= PASSIVE_TIMEOUT:
            # Battery control fell silent that long: the inverter took its timeout action.
            self._pending = True
            return
        _LOGGER.info(
            "%s: the storage mode was set to %s elsewhere; battery control lets go",
            self.entry.title,
            storage,
        )
        self.engaged = False
        self.base, self.episode, self.until = self.target_of(SELF_USE), None, None
        self.mode_before = None
        self.maintenance_yielded = self.maintenance_yielded or self.maintenance
        self.maintenance = False
        self._cancel_end()
        self.entry.async_create_background_task(self.hass, self._save(), f"{DOMAIN} battery save")

    def _schedule_end(self) -> None:
        self._cancel_end()
        if self.episode is not None and self.until is not None:
            self._end = async_track_point_in_utc_time(self.hass, self._episode_over, self.until)

    @callback
    def _cancel_end(self) -> None:
        if self._end is not None:
            self._end()
            self._end = None

    def diagnostics(self) -> dict[str, Any]:
        """What it asks, what it keeps, and whether a write is still to be made."""
        asserted = self._asserted
        return {
            **self._state(),
            "mode": self.mode.value if self.mode else None,
            "pending": self._pending,
            "set_points_written_s_ago": round(time.monotonic() - asserted) if asserted else None,
        }

    def _state(self) -> dict[str, Any]:
        return {
            "base": self.base.as_dict(),
            "episode": self.episode.as_dict() if self.episode else None,
            "until": self.until.isoformat() if self.until else None,
            "engaged": self.engaged,
            "mode_before": self.mode_before,
            "power": self.power,
            "storage_writes": self.storage_writes,
            "stay_in_passive": self.stay_in_passive,
            "maintenance": self.maintenance,
            "maintenance_yielded": self.maintenance_yielded,
        }

    def _restore(self, state: Mapping[str, Any]) -> None:
        self.base = Target.from_dict(state["base"])
        self.episode = Target.from_dict(state["episode"]) if state.get("episode") else None
        until = state.get("until")
        self.until = dt_util.parse_datetime(until) if until else None
        self.engaged = bool(state.get("engaged", False))
        self.mode_before = state.get("mode_before")
        self.power = state.get("power")
        self.storage_writes = int(state.get("storage_writes", 0))
        self.maintenance = bool(state.get("maintenance", False))
        self.maintenance_yielded = bool(state.get("maintenance_yielded", False))

    async def _save(self) -> None:
        await self._store.async_save(self._state())


async def async_setup_battery(
    hass: HomeAssistant, entry: ZcsConfigEntry, coordinator: ZcsCoordinator
) -> BatteryControl | None:
    """Battery control for the entry, set up, if its device has passive mode."""
    if not supports(coordinator.device.profile):
        return None
    control = BatteryControl(hass, entry, coordinator)
    await control.async_setup()
    return control
