"""Settings written as the device needs them, judged by what it holds afterwards.

The interface (for the controls, the register actions, the proxy, and what builds on them):
`write()` sets fields of one write group, `write_words()` registers inside one, and
`set_clock()` the clock group. Each raises InvalidValueError before anything is sent, and
otherwise one of the WriteErrors (errors.py) or a LinkError that says nothing was sent.

How a group is written. Every value is checked against the profile before the link is
touched. The device takes a group only whole, so the registers not asked are sent too, and
only as the device is known to hold them: the group is read until two reads agree (a stick
that hands a request another's answer gets one read wrong, not two alike), and every
setting among them must read a value the profile allows; otherwise nothing is sent
(UnsettledError, HeldValueError). Registers that are no setting are sent as the group's
`fixed` values say (reserved ones as public write-backs send them), else as they read.
Nothing is sent when the device already holds what is asked. The group goes in one request
and is read back until two reads agree: the asked values must be there and the rest as
sent, and the commit register's result code must say the group was applied.

The link's answer to the write does not decide. Real sticks answer writes in their own ways
(the LSE-3 answers a write-multiple with `10 00`): a write whose answer cannot be read
(UnconfirmedError) is judged by the read-back alone, and when that cannot be read either,
the outcome is unknown (OutcomeUnknownError), never "failed". Groups in EEPROM (about
100,000 write cycles) are not rewritten within a minimum interval; RAM ones are exempt.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from .device import ModbusDevice
from .errors import (
    NOT_SENT,
    CommitError,
    DeviceError,
    HeldValueError,
    LinkError,
    OutcomeUnknownError,
    ReadBackError,
    TooSoonError,
    UnconfirmedError,
    UnsettledError,
    WriteRefusedError,
)
from .profile.decoder import decode
from .profile.encoder import allowed, allows, encode
from .profile.schema import Field, GroupKind, Span, Value, WriteGroup
from .transport.base import WRITE_SINGLE

_LOGGER = logging.getLogger(__name__)

# What a commit register reads when the last write was applied (Modbus-G3 V1.38 5.3).
COMMIT_OK = 0x0000
COMMIT_IN_PROGRESS = 0x0001
# How often, and how many seconds apart, a group is read again while its commit is in progress.
BUSY_READS = 5
BUSY_WAIT = 0.5
# Reads of a group, at most, until two of them agree.
SETTLE_READS = 5
# Seconds between writes of a group kept in EEPROM, unless told otherwise.
DEFAULT_MIN_INTERVAL = 10.0
# How far (s) a clock read back may be from the time written: it runs on meanwhile.
CLOCK_TOLERANCE = 120.0


class WriteInterval:
    """When a group may be written again: those kept in EEPROM not within `seconds`.

    EEPROM takes about 100,000 write cycles; groups in RAM (volatile) are exempt. Local and
    cloud writes keep one each. `clock` (seconds) defaults to time.monotonic.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] | None = None) -> None:
        """No group written yet."""
        self.seconds = seconds
        self.clock = clock
        self._written: dict[str, float] = {}

    def check(self, group: WriteGroup) -> None:
        """Raise TooSoonError if the group may not be written yet."""
        last = self._written.get(group.key)
        if (
            not group.volatile
            and last is not None
            and (wait := last + self.seconds - self._now()) > 0
        ):
            raise TooSoonError(group.key, wait)

    def spent(self, group: WriteGroup) -> None:
        """The group was (or may have been) written now."""
        self._written[group.key] = self._now()

    def _now(self) -> float:
        return self.clock() if self.clock else time.monotonic()


@dataclass(frozen=True)
class _Plan:
    """A group's write: what goes out, and which of it must read back so."""

    words: list[int]
    # Offsets in the group of the registers whose read-back must be what was sent: all but
    # the commit register (it reads a result) and the fixed ones (the device's own).
    checked: frozenset[int]


class Writer:
    """Writes one device's settings, one write at a time."""

    def __init__(
        self,
        device: ModbusDevice,
        *,
        min_interval: float = DEFAULT_MIN_INTERVAL,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """`clock` (seconds, for the EEPROM interval) defaults to time.monotonic."""
        self.device = device
        self.interval = WriteInterval(min_interval, clock)
        self.busy_wait = BUSY_WAIT
        self._lock = asyncio.Lock()

    @property
    def min_interval(self) -> float:
        """Seconds between writes of a group kept in EEPROM."""
        return self.interval.seconds

    @min_interval.setter
    def min_interval(self, seconds: float) -> None:
        self.interval.seconds = seconds

    async def write(self, values: Mapping[str, Value]) -> bool:
        """Set fields of one write group; whether anything was sent (False: already so)."""
        profile = self.device.profile
        fields = [profile.field(key) for key in values]
        groups = {fld.write.group for fld in fields if fld.write is not None}
        if len(groups) != 1 or any(fld.write is None for fld in fields):
            raise ValueError(f"{', '.join(values)}: not the writable fields of one group")
        group = profile.group(groups.pop())
        # Every value is checked before the link is touched.
        asked = {fld.spans[0].address: encode(fld, values[fld.key]) for fld in fields}
        async with self._lock:
            _, sent = await self._update(group, asked)
        return sent

    async def write_words(
        self, group: WriteGroup, address: int, words: Sequence[int], *, single: bool = False
    ) -> tuple[list[int], bool]:
        """Set registers inside one group as given, the rest of the group as the device holds it.

        For the register actions and the proxy, which name registers rather than fields: the
        same checks as write(). Gives what the registers read back and whether anything was
        sent. With `single`, a group of one register goes out as a write-single request
        (0x06) where the link carries one.
        """
        span = Span(address, len(words))
        if not span.within(group.span):
            raise ValueError(f"{span} is not inside group {group.key}")
        async with self._lock:
            after, sent = await self._update(group, {address: list(words)}, single=single)
        start = address - group.span.address
        return after[start : start + len(words)], sent

    async def set_clock(self, group_key: str, when: datetime) -> None:
        """Set the device's clock to `when` (its local time), through its clock group."""
        group = self.device.profile.group(group_key)
        words = clock_words(group, when)
        async with self._lock:
            try:
                await self._send(group, words)
            except UnconfirmedError as err:
                _LOGGER.debug("%s: %s; reading the clock back", group.key, err)
            # The clock may run on between reads: one read, close to the time written, decides.
            after = await self._read_back(group, settle=False)
            if (code := _commit_code(group, after)) not in (None, COMMIT_OK):
                raise CommitError(group.key, code)
            if (read := _clock_time(after)) is None or abs(
                (read - when.replace(tzinfo=None)).total_seconds()
            ) > CLOCK_TOLERANCE:
                raise ReadBackError(group.key, {"clock": read.isoformat() if read else after})

    async def _update(
        self, group: WriteGroup, parts: Mapping[int, list[int]], *, single: bool = False
    ) -> tuple[list[int], bool]:
        """The group with the parts (by address) in it, written and read back; the caller locks.

        Gives what the group reads afterwards and whether it was sent (not when the device
        already holds the parts).
        """
        held, plan = await self._plan(group, parts)
        if plan is None:
            return held, False
        try:
            await self._send(group, list(plan.words), single=single)
        except UnconfirmedError as err:
            # Sent, and the answer lost or unreadable: only the device's registers tell.
            _LOGGER.debug("%s: %s; the read-back decides", group.key, err)
        after = await self._read_back(group)
        self._judge(group, plan, after)
        return after, True

    async def _plan(
        self, group: WriteGroup, parts: Mapping[int, list[int]]
    ) -> tuple[list[int], _Plan | None]:
        """What the group holds, and what goes out for the parts (None: it holds them already).

        The registers not asked are sent only as confirmed: two agreeing reads, and every
        setting among them a value the profile allows.
        """
        base = group.span.address
        asked: dict[int, int] = {}
        for address, part in parts.items():
            asked.update((address - base + i, word) for i, word in enumerate(part))
        commit = group.commit[0] - base if group.commit else None
        fixed = {a - base: value for a, value in group.fixed if a - base not in asked}
        rest = set(range(group.span.count)) - asked.keys() - fixed.keys() - {commit}
        held = await self._read(group)
        if all(held[i] == word for i, word in asked.items()):
            # Already so, it seems: a skipped write is a success, so only if said twice.
            held = await self._settled(group, held)
            if all(held[i] == word for i, word in asked.items()):
                return held, None
        elif rest:
            held = await self._settled(group, held)
        profile = self.device.profile
        others = tuple(
            fld for fld in profile.members(group) if not _offsets(group, fld) & asked.keys()
        )
        registers = dict(enumerate(held, base))
        for fld in others:
            if not allows(fld, registers):
                value = decode(fld, registers)
                raise HeldValueError(
                    group.key, fld.key, value if value is not None else "?", allowed(fld)
                )
        words = list(held)
        for i, word in (asked | fixed).items():
            words[i] = word
        checked = frozenset(range(group.span.count)) - fixed.keys() - {commit}
        return held, _Plan(words, checked)

    def _judge(self, group: WriteGroup, plan: _Plan, after: list[int]) -> None:
        """Whether the group reads back as written: asked values there, the rest as sent."""
        if (code := _commit_code(group, after)) not in (None, COMMIT_OK):
            raise CommitError(group.key, code)
        wrong = [i for i in sorted(plan.checked) if after[i] != plan.words[i]]
        if not wrong:
            return
        registers = dict(enumerate(after, group.span.address))
        held: dict[str, object] = {}
        named: set[int] = set()
        for fld in self.device.profile.members(group):
            if (offsets := _offsets(group, fld)) & set(wrong):
                value = decode(fld, registers)
                held[fld.key] = value if value is not None else "?"
                named |= offsets
        for i in wrong:
            if i not in named:
                held[f"{group.span.address + i:#06x}"] = after[i]
        raise ReadBackError(group.key, held)

    async def _read(self, group: WriteGroup) -> list[int]:
        """The group's registers, in one request."""
        span = group.span
        try:
            return await self.device.link.read_holding_registers(
                self.device.unit, span.address, span.count
            )
        except DeviceError as err:
            # Firmware that does not serve the group: it cannot be written either.
            raise WriteRefusedError(group.key, err.function_code, err.exception_code) from err

    async def _settled(self, group: WriteGroup, first: list[int] | None = None) -> list[int]:
        """The group once two of its reads agree (`first` one of them, if read already).

        A damaged answer seldom equals another: two alike are what the device holds.
        """
        reads = [first if first is not None else await self._read(group)]
        for _ in range(SETTLE_READS - 1):
            words = await self._read(group)
            if words in reads:
                return words
            reads.append(words)
        raise UnsettledError(group.key)

    async def _read_back(self, group: WriteGroup, *, settle: bool = True) -> list[int]:
        """What the group holds after a write: once its commit is done, read the same twice.

        A read-back that fails leaves the write's outcome unknown, not failed.
        """
        try:
            words = await self._read(group)
            for _ in range(BUSY_READS):
                if _commit_code(group, words) != COMMIT_IN_PROGRESS:
                    break
                await asyncio.sleep(self.busy_wait)
                words = await self._read(group)
            return await self._settled(group, words) if settle else words
        except (LinkError, UnsettledError) as err:
            raise OutcomeUnknownError(group.key, err) from err

    async def _send(self, group: WriteGroup, words: list[int], *, single: bool = False) -> None:
        """Write the group whole, its commit value in it."""
        self.interval.check(group)
        if group.commit is not None:
            words[group.commit[0] - group.span.address] = group.commit[1]
        link = self.device.link
        try:
            if single and len(words) == 1 and WRITE_SINGLE in link.functions:
                await link.write_register(self.device.unit, group.span.address, words[0])
            else:
                await link.write_registers(self.device.unit, group.span.address, words)
        except DeviceError as err:
            # Refused: nothing was written, so the interval is not spent.
            raise WriteRefusedError(group.key, err.function_code, err.exception_code) from err
        except NOT_SENT:
            raise
        except LinkError:
            # The EEPROM may have been written although the answer got lost.
            self.interval.spent(group)
            raise
        self.interval.spent(group)


def clock_words(group: WriteGroup, when: datetime) -> list[int]:
    """What a clock group takes for `when` (the device's local time), its commit included."""
    if group.kind is not GroupKind.CLOCK:
        raise ValueError(f"{group.key} is not a clock group")
    words = [when.year - 2000, when.month, when.day, when.hour, when.minute, when.second, 0]
    if group.commit is not None:
        words[group.commit[0] - group.span.address] = group.commit[1]
    return words


def _clock_time(words: list[int]) -> datetime | None:
    """The time a clock group reads, if it reads one."""
    try:
        year, month, day, hour, minute, second = words[:6]
        return datetime(2000 + year, month, day, hour, minute, second)  # noqa: DTZ001 (local)
    except ValueError:
        return None


def _commit_code(group: WriteGroup, words: list[int]) -> int | None:
    """What the group's commit register reads: the result of the last write."""
    return None if group.commit is None else words[group.commit[0] - group.span.address]


def _offsets(group: WriteGroup, fld: Field) -> set[int]:
    """Where the field's registers lie in the group."""
    return {span.address - group.span.address + i for span in fld.spans for i in range(span.count)}
