"""One coordinator per config entry: reads what the enabled entities show, guards it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from collections.abc import Set as AbstractSet
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from homeassistant.components.sensor import SensorExtraStoredData
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_SCAN_INTERVAL, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    HomeAssistantError,
    ServiceValidationError,
)
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers import restore_state
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from . import const
from .api.bms import PACK_REQUESTS, BmsWindow, PackId
from .api.device import ModbusDevice, Reading
from .api.errors import (
    BusyError,
    CommitError,
    ConnectError,
    ConnectionLostError,
    DeviceError,
    FrameError,
    HeldValueError,
    InvalidValueError,
    LinkError,
    NoResponseError,
    OutcomeUnknownError,
    ReadBackError,
    TooSoonError,
    UnsettledError,
    WriteError,
    WriteRefusedError,
)
from .api.profile.guard import CounterGuard
from .api.profile.schema import Span, Value
from .api.source import Source, SourceAuthError, SourceError
from .api.writer import Writer, clock_words
from .connection import LINKS, async_get_turn, endpoint_from
from .const import (
    CONF_LINK,
    CONF_MODEL,
    CONF_THING_KEY,
    CONF_WRITE_INTERVAL,
    DEFAULT_SCAN_INTERVAL,
    DEFAULT_WRITE_INTERVAL,
    DOMAIN,
    LINK_ETH,
    MAX_BACKOFF,
    SETTINGS_EVERY,
    SLOW_EVERY,
)
from .pacing import PortWatch

if TYPE_CHECKING:
    from .battery import BatteryControl

_LOGGER = logging.getLogger(__name__)

# The message a user reads for each way a write fails, most specific first.
WRITE_ERRORS: dict[type[Exception], str] = {
    TooSoonError: "write_too_soon",
    WriteRefusedError: "write_refused",
    CommitError: "write_not_applied",
    ReadBackError: "write_not_confirmed",
    UnsettledError: "write_rest_unsettled",
    HeldValueError: "write_rest_not_allowed",
    OutcomeUnknownError: "write_outcome_unknown",
    NoResponseError: "write_inverter_silent",
    LinkError: "write_link_failed",
}

# What a failed poll tells the user, by what went wrong; the error's own text goes to the
# debug log (it names addresses and library internals).
POLL_ERRORS: dict[type[LinkError], str] = {
    BusyError: "link_busy",
    ConnectError: "link_unreachable",
    ConnectionLostError: "link_dropped",
    FrameError: "link_garbled",
    LinkError: "link_failed",
}


class RegisterWrites(Protocol):
    """Register writes that go another way than the device's link (a cloud's API)."""

    async def write_registers(self, address: int, values: list[int]) -> dict[str, Any] | None:
        """Write words from `address`; what the write's answer said (None: held, not sent)."""
        ...

    async def write_settings(
        self,
        values: Mapping[str, Value],
        shown: Mapping[str, Value | None],
        *,
        resend: bool = False,
    ) -> bool:
        """Write settings of one group whole, the others as shown (translated errors).

        Whether it was sent: not when held already, unless `resend` (a group in RAM).
        """
        ...


# Seconds until a device that showed no battery packs through its BMS window is asked again.
BMS_RETRY = 3600.0

# Why a poll got no answer, in the user's words: the device asleep, off, or not there.
SILENT_STICK = "inverter_silent"
SILENT_DEVICE = "device_silent"


@dataclass
class ZcsRuntimeData:
    """What a loaded entry holds: its coordinator, and battery control where it has one."""

    coordinator: ZcsCoordinator
    battery: BatteryControl | None = None


type ZcsConfigEntry = ConfigEntry[ZcsRuntimeData]


class ZcsCoordinator(DataUpdateCoordinator[Reading]):
    """Polls one source (a local device, or a cloud's view of one) through its profile."""

    config_entry: ZcsConfigEntry

    def __init__(self, hass: HomeAssistant, entry: ZcsConfigEntry, device: Source) -> None:
        """Poll at the entry's scan interval."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=entry.title,
            update_interval=timedelta(
                seconds=entry.options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL)
            ),
        )
        self.device = device
        # Only a local device takes writes: a cloud's profile has no settings.
        self._writer = (
            Writer(
                device, min_interval=entry.options.get(CONF_WRITE_INTERVAL, DEFAULT_WRITE_INTERVAL)
            )
            if isinstance(device, ModbusDevice)
            else None
        )
        # Failed polls in a row of a source that asks for backoff (a cloud).
        self._failures = 0
        # Polls in a row the device answered busy; the first keeps the last reading.
        self._busy = 0
        # Polls and writes take turns: a write goes between polls, never into one. A local
        # device's turn is its endpoint's: other entries on the same line wait for it too.
        self._turn = (
            async_get_turn(hass, entry.data) if isinstance(device, ModbusDevice) else asyncio.Lock()
        )
        # Polls until the settings are read again; 0: on the next poll.
        self._settings_in = 0
        # Settings that have been read with a value at least once.
        self._had_value: set[str] = set()
        # The device's serial; a device without one (a meter) goes by its entry's id.
        self.serial: str = entry.unique_id or entry.entry_id
        # A cloud's counters: a first value waits for the next to agree (the service's zero
        # bursts and stray totals). A local device's are read the same twice already.
        self.guard = CounterGuard(
            device.profile.fields, confirm_first=not isinstance(device, ModbusDevice)
        )
        # The counters whose new start the owner is asked to accept (repair issues).
        self._restarts: set[str] = set()
        entry.async_on_unload(self._clear_restarts)
        self.identity: dict[str, Value | None] | None = None
        self._first_keys: frozenset[str] = frozenset()
        # Buttons listen too, under keys that are no field.
        self._field_keys = frozenset(field.key for field in device.profile.fields)
        self._refused: tuple[Span, ...] = ()
        # Parts of the device (a second battery tower) it has reported: their entities exist.
        self.present: set[str] = set()
        self._device_id = ""
        # A paced port (the HUB's) is shared: its budget and its other clients are watched.
        self.watch: PortWatch | None = None
        spec = LINKS.get(entry.data[CONF_LINK])
        if spec is not None and spec.paced and self.update_interval:
            self.watch = PortWatch(
                hass, entry.entry_id, entry.title, endpoint_from(entry.data), self.update_interval
            )
            entry.async_on_unload(self.watch.release)
        # The fields a paced port reads every SLOW_EVERY polls, and the polls until it does.
        self._slow = (
            frozenset(f.key for f in device.profile.fields if f.counter)
            if self.watch is not None
            else frozenset()
        )
        self._slow_in = 0
        self._overrun_said = False
        # Through a stick, the stick answers for a silent inverter; elsewhere, nothing does.
        self._silent = SILENT_STICK if entry.data[CONF_LINK] == LINK_ETH else SILENT_DEVICE
        self._overrun_issue = f"poll_overrun_{entry.entry_id}"
        entry.async_on_unload(lambda: ir.async_delete_issue(hass, DOMAIN, self._overrun_issue))
        # Set by an entry whose registers are written through a cloud (the System's webhook).
        self.register_writes: RegisterWrites | None = None
        # Set by a cloud entry: its counters' recent samples, (time in s, values) oldest first.
        self.recent: (
            Callable[[float], Awaitable[list[tuple[float, dict[str, Value | None]]]]] | None
        ) = None
        # What a plant this device is the master of can do, by identity field (its rated
        # power): the plant's settings written here may reach that far.
        self.plant_bounds: dict[str, float] = {}
        # Battery packs read through the BMS window (one per turn of it), by pack.
        self.bms = (
            BmsWindow(device.link, device.unit)
            if isinstance(device, ModbusDevice) and device.profile.bms_window
            else None
        )
        self.packs: dict[PackId, dict[str, Value | None]] = {}
        self._pack_order: list[PackId] = []
        self._next_pack = 0
        self._bms_in = 0
        self._bms_retry_at = 0.0

    @property
    def device_id(self) -> str:
        """The device registry's id of the entry's device (set up with the coordinator)."""
        return self._device_id

    @property
    def writer(self) -> Writer:
        """What writes the device's settings."""
        if self._writer is None:
            raise TypeError(f"{self.name} takes no writes")
        return self._writer

    def unique_id(self, key: str) -> str:
        """The unique id of the entity that shows the field with this key."""
        return f"{self.serial}_{key}"

    async def _async_setup(self) -> None:
        """Register the device; decide what the first poll reads; seed the counter guard.

        Entities subscribe only after the first poll, so until then the entity registry
        says which ones are enabled. Counters restart from what they last showed, so a
        first reading below it after a restart is caught too.
        """
        profile = self.device.profile
        self._device_id = (
            dr.async_get(self.hass)
            .async_get_or_create(
                config_entry_id=self.config_entry.entry_id,
                identifiers={(DOMAIN, self.serial)},
                manufacturer=profile.manufacturer,
                model=self.config_entry.data[CONF_MODEL],
                name=self.config_entry.title,
                # A device found by where it is (a meter) has no serial number to show.
                serial_number=self.config_entry.data.get(CONF_THING_KEY, self.serial)
                if self.device.profile.serial_prefixes or CONF_THING_KEY in self.config_entry.data
                else None,
            )
            .id
        )
        registry = er.async_get(self.hass)
        stored = restore_state.async_get(self.hass).last_states
        # A part reported before keeps its entities, even while it says nothing (asleep).
        self.present = {
            part.key
            for part in profile.presence
            for key in part.fields
            if registry.async_get_entity_id(Platform.SENSOR, DOMAIN, self.unique_id(key))
        }
        keys = set()
        for field, shown in profile.entities():
            entity_id = registry.async_get_entity_id(
                shown.platform, DOMAIN, self.unique_id(field.key)
            )
            entry = registry.async_get(entity_id) if entity_id else None
            if not self.shows(field.key):
                continue
            if (entry.disabled_by is None) if entry else shown.enabled:
                keys.add(field.key)
            if field.counter and entity_id and (last := stored.get(entity_id)) and last.extra_data:
                data = SensorExtraStoredData.from_dict(last.extra_data.as_dict())
                if data and isinstance(data.native_value, int | float | Decimal):
                    self.guard.seed(field.key, float(data.native_value), last.last_seen.timestamp())
        self._first_keys = frozenset(keys)
        await self._async_prime_guard()

    async def _async_prime_guard(self) -> None:
        """Counters with nothing to follow (a new cloud entry) take their recent history first.

        A cloud's first value waits for one that agrees with it: the samples of the last
        minutes, where the service has them, are such values, so the totals show from the
        first poll. Without them, from the second.
        """
        # Only the shown ones: a disabled counter's entity restores nothing, and would ask
        # the service at every start for a counter no one reads.
        counters = [key for key in self._first_keys if self.device.profile.field(key).counter]
        if self.recent is None or all(self.guard.anchor(key) for key in counters):
            return
        try:
            samples = await self.recent(dt_util.utcnow().timestamp())
        except SourceError as err:
            _LOGGER.debug("%s: no recent history for the counters: %r", self.name, err)
            return
        for at, values in samples:
            self.guard.apply(values, at)

    def wanted_keys(self) -> frozenset[str]:
        """The fields the entities listening now show (before any listens: the enabled ones).

        And what tells whether a part not reported yet has come (a second battery tower).
        """
        listened = frozenset(self.async_contexts()) & self._field_keys
        probes = [
            part.probes for part in self.device.profile.presence if part.key not in self.present
        ]
        return (listened or self._first_keys).union(*probes)

    def shows(self, key: str) -> bool:
        """Whether the field has an entity: it belongs to no part, or to one reported."""
        part = self.device.profile.presence_of(key)
        return part is None or part.key in self.present

    def _this_poll(self) -> frozenset[str]:
        """What this poll reads: settings only on setup, after a write, and every few polls.

        On a paced port the energy counters too are read every few polls (they change
        slowly next to the powers), so that more devices fit the port's request budget.
        """
        wanted = self.wanted_keys()
        if self._slow_in > 0 and self.data is not None:
            self._slow_in -= 1
            wanted -= self._slow
        elif self._slow:
            self._slow_in = SLOW_EVERY - 1
        if self._settings_in > 0 and self.data is not None:
            self._settings_in -= 1
            return wanted - self.device.profile.settings
        self._settings_in = SETTINGS_EVERY - 1
        return wanted

    async def _async_update_data(self) -> Reading:
        started = time.monotonic()
        try:
            async with self._turn:
                return await self._poll()
        finally:
            self._after_poll(time.monotonic() - started)

    def _after_poll(self, took: float) -> None:
        """Polls never overlap: one that outlasts the interval delays the next; say so once.

        The first poll reads identity and settings too, so it is not held against the
        interval. A poll that fits it again takes the repair issue away.
        """
        if self.watch is not None and isinstance(self.device, ModbusDevice):
            demand = _demand(self.device, self.wanted_keys(), self._slow)
            if self._pack_order:
                # A pack every few polls: its selection, two reads and the echo read again.
                demand += PACK_REQUESTS / SLOW_EVERY
            self.update_interval = self.watch.polled(demand, self.device.link.stats.losses)
        interval = self.update_interval.total_seconds() if self.update_interval else 0
        fits = took <= interval
        if fits and self._overrun_said:
            self._overrun_said = False
            ir.async_delete_issue(self.hass, DOMAIN, self._overrun_issue)
        if self.data is None or fits or self._overrun_said:
            return
        self._overrun_said = True
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._overrun_issue,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="poll_overrun",
            translation_placeholders={
                "title": self.config_entry.title,
                "took": f"{took:.1f}",
                "interval": f"{interval:.0f}",
            },
        )

    async def _poll(self) -> Reading:
        keys = self._this_poll()
        try:
            if self.identity is None:
                await self._read_identity()
            reading = await self.device.read(keys)
        except NoResponseError as err:
            self._settings_in = self._slow_in = 0
            raise UpdateFailed(translation_domain=DOMAIN, translation_key=self._silent) from err
        except LinkError as err:
            self._settings_in = self._slow_in = 0
            _LOGGER.debug("%s: poll failed: %r", self.name, err)
            self._busy = self._busy + 1 if isinstance(err, BusyError) else 0
            if self._busy == 1 and self.data is not None and self.last_update_success:
                # One busy answer: this poll is skipped (what shows stays), the next asks
                # again. Not after a failed poll: its data is older than what showed then.
                return self.data
            key = next(key for kind, key in POLL_ERRORS.items() if isinstance(err, kind))
            raise UpdateFailed(translation_domain=DOMAIN, translation_key=key) from err
        except SourceAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key=err.reason
            ) from err
        except SourceError as err:
            # A cloud in trouble is asked again later and later, not every poll.
            interval = self.update_interval.total_seconds() if self.update_interval else 0.0
            wait = min(interval * 2**self._failures, MAX_BACKOFF)
            self._failures += 1
            raise UpdateFailed(
                translation_domain=DOMAIN, translation_key=err.reason, retry_after=wait
            ) from err
        self._failures = self._busy = 0
        await self._read_pack()
        self._note_refused(reading.refused)
        # Ask again next poll, rather than show them unavailable until their turn comes.
        if self._unsure(reading, self.device.profile.settings):
            self._settings_in = 0
        if self._unsure(reading, self._slow):
            self._slow_in = 0  # a paced port's counters (scripts/soak, HUB row)
        values = self.guard.apply(reading.values, dt_util.utcnow().timestamp())
        self._note_restarts()
        if reported := {
            part.key
            for part in self.device.profile.presence
            if part.key not in self.present and part.reported(reading.values)
        }:
            _LOGGER.info("%s reports %s: its entities are added", self.name, ", ".join(reported))
            self.present |= reported
        if self.data is not None:
            # Settings not read this time hold what they were last read as.
            values = {key: self.data.values.get(key) for key in self.wanted_keys() - keys} | values
        return replace(reading, values=values)

    def _note_restarts(self) -> None:
        """A repair issue for each lifetime counter that counts on from another value.

        The owner knows whether the inverter was replaced or its counters reset; until
        they accept the new start, the counter stays unavailable. A counter that comes
        back to its old course takes its issue away.
        """
        restarts = {restart.key: restart for restart in self.guard.restarts()}
        for key, restart in restarts.items():
            if key in self._restarts:
                continue
            field = self.device.profile.field(key)
            unit = field.presentation.unit if field.presentation else None
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                restart_issue(self.config_entry.entry_id, key),
                is_fixable=True,
                severity=ir.IssueSeverity.WARNING,
                translation_key="counter_restart",
                translation_placeholders={
                    "title": self.config_entry.title,
                    "entity": self._name(key),
                    "last": f"{restart.last:g} {unit or ''}".strip(),
                    "value": f"{restart.value:g} {unit or ''}".strip(),
                },
                data={"entry_id": self.config_entry.entry_id, "key": key},
            )
        for key in self._restarts - restarts.keys():
            ir.async_delete_issue(self.hass, DOMAIN, restart_issue(self.config_entry.entry_id, key))
        self._restarts = set(restarts)

    def _clear_restarts(self) -> None:
        for key in self._restarts:
            ir.async_delete_issue(self.hass, DOMAIN, restart_issue(self.config_entry.entry_id, key))

    async def async_accept_restart(self, key: str) -> None:
        """The owner accepts that the counter starts again from where it now is."""
        self.guard.accept_restart(key)
        self._restarts.discard(key)
        ir.async_delete_issue(self.hass, DOMAIN, restart_issue(self.config_entry.entry_id, key))
        await self.async_request_refresh()

    async def _read_pack(self) -> None:
        """The next battery pack through the BMS window, in the poll's turn.

        Every poll until each pack has been read once, then every SLOW_EVERY polls (a
        pack's cells and temperatures move slowly); each round starts with the layout
        (0x900D), so a pack added or taken away is seen. A pack that cannot be read this
        time shows nothing until it can; the poll itself stands.
        """
        if self.bms is None:
            return
        if self._bms_in > 0:
            self._bms_in -= 1
            return
        if time.monotonic() < self._bms_retry_at:
            return
        try:
            if self._next_pack == 0:
                self._pack_order = await self.bms.packs()
                gone = self.packs.keys() - set(self._pack_order)
                for pack in gone:
                    del self.packs[pack]
            if not self._pack_order:
                # No window (or no packs): asked again in an hour.
                self._bms_retry_at = time.monotonic() + BMS_RETRY
                return
            pack = self._pack_order[self._next_pack]
            self.packs[pack] = await self.bms.read(pack)
        except (LinkError, DeviceError) as err:
            _LOGGER.debug("%s: battery pack not read: %r", self.name, err)
            return
        self._next_pack = (self._next_pack + 1) % len(self._pack_order)
        if all(pack in self.packs for pack in self._pack_order):
            self._bms_in = SLOW_EVERY - 1

    def _unsure(self, reading: Reading, keys: AbstractSet[str]) -> bool:
        """Whether one of these fields, read, lacks a value the device may well hold.

        Withheld (not said the same twice), or none where it had one: a damaged answer.
        """
        read = keys & reading.values.keys()
        unsure = any(
            key in reading.withheld or (reading.values[key] is None and key in self._had_value)
            for key in read
        )
        # Remembered beyond the last poll: a failure lasting two settings reads (scripts/soak)
        # left the controls unavailable until the next settings poll.
        self._had_value |= {key for key in read if reading.values[key] is not None}
        return unsure

    def bound(self, key: str) -> float | None:
        """The most the field may be set to beyond its range: the rated power it names.

        The device's own, read from it; a plant's, when this device is the plant's master.
        None while it is not known (the range alone holds then).
        """
        field = self.device.profile.field(key)
        if field.write is None or (at_most := field.write.at_most) is None:
            return None
        if at_most in self.plant_bounds:
            return self.plant_bounds[at_most]
        rated = (self.identity or {}).get(at_most)
        return float(rated) if isinstance(rated, int | float) else None

    async def async_write(self, values: Mapping[str, Value], *, keep_alive: bool = False) -> bool:
        """Write settings of one group; then read what the device holds now. Whether sent.

        A cloud's writes (the System's) wait for its answer; the settings then show what
        it confirmed. A value past what the device (or its plant) is rated for is refused
        before anything is sent. With `keep_alive` (passive set-points, in RAM), the group is
        sent even when the device holds it already, and nothing is read after it: it changed
        nothing.
        """
        for key, value in values.items():
            bound = self.bound(key)
            if bound is not None and isinstance(value, int | float) and value > bound:
                group = self.device.profile.group_of(key)
                raise self._invalid(InvalidValueError(group, key, value, ""))
        if self.register_writes is not None:
            try:
                return await self.register_writes.write_settings(
                    values, self.data.values if self.data else {}, resend=keep_alive
                )
            finally:
                if not keep_alive:
                    await self.async_refresh_settings()
        sent = await self._async_write(
            self.writer.write(values, resend=keep_alive), refresh=not keep_alive
        )
        return bool(sent)

    async def async_write_registers(self, address: int, values: list[int]) -> dict[str, Any] | None:
        """Write registers through the cloud (the System's API; its answer at the webhook).

        A local device's registers are written by its writer (whole groups, checked); only
        an entry with `register_writes` takes this way. A poll follows, settings included.
        """
        if self.register_writes is None:
            raise TypeError(f"{self.name} writes its registers through its writer")
        try:
            return await self.register_writes.write_registers(address, list(values))
        finally:
            await self.async_refresh_settings()

    async def async_set_clock(self, group: str) -> None:
        """Set the device's clock to Home Assistant's local time."""
        if self.register_writes is not None:
            clock = self.device.profile.group(group)
            await self.async_write_registers(clock.span.address, clock_words(clock, dt_util.now()))
            return
        await self._async_write(self.writer.set_clock(group, dt_util.now()))

    @asynccontextmanager
    async def async_turn(self) -> AsyncIterator[None]:
        """Hold the link between polls, for requests of one's own (the register actions)."""
        async with self._turn:
            yield

    @property
    def turn_wait(self) -> float:
        """How long a request forwarded for another program may wait for the turn (s).

        A request, and on a paced port the polls queued before it: there a poll takes
        longer than a request's timeout, and the forwarded request waits its turn.
        """
        return const.REQUEST_TIMEOUT + (self.watch.busy_for if self.watch else 0.0)

    def forwarded(self) -> None:
        """A request was sent to the device for another program (the shared connection).

        On a paced port it spends the line's budget as a poll's requests do.
        """
        if self.watch is not None:
            self.watch.forwarded += 1

    async def _async_write(
        self, write: Coroutine[Any, Any, object], *, refresh: bool = True
    ) -> object:
        """Run a write, then read what the device holds; say in the user's words what failed.

        Gives what the write gave.
        """
        try:
            async with self._turn:
                result = await write
        except InvalidValueError as err:
            raise self._invalid(err) from err
        except (WriteError, LinkError) as err:
            _LOGGER.debug("%s: write failed: %s", self.name, err)
            await self.async_refresh_settings()
            raise self.write_failure(err) from err
        if refresh:
            await self.async_refresh_settings()
        return result

    def _invalid(self, err: InvalidValueError) -> ServiceValidationError:
        """The refusal in the user's words; a bounded field's range ends at its bound."""
        field = self.device.profile.field(err.key)
        bound = self.bound(err.key)
        if bound is not None and field.write is not None and field.write.range is not None:
            low, high = field.write.range
            err.allowed = f"{low:g} - {min(high, bound):g}, step {field.write.step or 1:g}"
        return invalid_value(err)

    def write_failure(self, err: WriteError | LinkError) -> HomeAssistantError:
        """What a failed write tells the user: what happened, and what the inverter holds.

        Settings are named by their entity ids, which the user can find.
        """
        key = next(key for kind, key in WRITE_ERRORS.items() if isinstance(err, kind))
        details: dict[str, str] = {}
        if isinstance(err, TooSoonError):
            details = {"wait": f"{err.wait:.0f}"}
        elif isinstance(err, WriteRefusedError):
            details = {"code": f"{err.exception_code:#04x}"}
        elif isinstance(err, CommitError):
            details = {"code": f"{err.code:#06x}"}
        elif isinstance(err, ReadBackError):
            details = {
                "held": ", ".join(f"{self._name(key)} = {value}" for key, value in err.held.items())
            }
        elif isinstance(err, HeldValueError):
            details = {"setting": self._name(err.key), "value": str(err.value)}
            details["allowed"] = err.allowed
        return HomeAssistantError(
            translation_domain=DOMAIN, translation_key=key, translation_placeholders=details
        )

    def _name(self, key: str) -> str:
        """The entity id that shows a field, for messages; the key itself if it has none."""
        presentation = (
            self.device.profile.field(key).presentation if key in self._field_keys else None
        )
        if presentation is None:
            return key
        entity_id = er.async_get(self.hass).async_get_entity_id(
            presentation.platform, DOMAIN, self.unique_id(key)
        )
        return entity_id or key

    async def async_refresh_settings(self) -> None:
        """Poll now, settings included: entities show what the device holds, not what was asked."""
        self._settings_in = 0
        await self.async_refresh()

    async def _read_identity(self) -> None:
        """Read versions once; they go to the device registry."""
        reading = await self.device.read(field.key for field in self.device.profile.identity)
        self.identity = reading.values
        software, dsp = reading.values.get("software_version"), reading.values.get("dsp_version")
        hardware = reading.values.get("hardware_version")
        dr.async_get(self.hass).async_update_device(
            self._device_id,
            model=self.device.profile.model_name(reading.values),
            sw_version=f"{software} (DSP {dsp})" if software and dsp else None,
            hw_version=str(hardware) if hardware else None,
        )

    def _note_refused(self, refused: tuple[Span, ...]) -> None:
        """Log once when the device starts refusing some registers, once when it stops."""
        if refused and refused != self._refused:
            _LOGGER.warning(
                "%s refuses to read registers %s; what they hold is unavailable",
                self.name,
                ", ".join(
                    f"{span.address:#06x}" + (f"-{span.end:#06x}" if span.count > 1 else "")
                    for span in refused
                ),
            )
        elif self._refused and not refused:
            _LOGGER.info("%s reads all its registers again", self.name)
        self._refused = refused


def restart_issue(entry_id: str, key: str) -> str:
    """The repair issue of a lifetime counter that counts on from another value."""
    return f"counter_restart_{entry_id}_{key}"


def invalid_value(err: InvalidValueError) -> ServiceValidationError:
    """A value the setting cannot take, in the user's words, with what it can."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="invalid_value",
        translation_placeholders={"value": str(err.value), "allowed": err.allowed},
    )


def _demand(device: ModbusDevice, wanted: frozenset[str], slow: frozenset[str]) -> float:
    """Requests per poll on average: powers every poll, counters and settings every few."""
    readings = wanted - device.profile.settings

    def requests(keys: frozenset[str]) -> int:
        return len(device.plan(keys).requests)

    every = requests(readings - slow)
    counters = requests(readings) - every
    return every + counters / SLOW_EVERY + (requests(wanted) - every - counters) / SETTINGS_EVERY
