"""Settings written as the device needs them, checked before and after.

A write checks every value against the profile before anything is sent, reads the
group, sends nothing if the device already holds what is asked, writes the whole group
in one write-multiple request (the other fields as read), and reads it back: the commit
register's result code and every field must say the write took. Groups in EEPROM (about
100,000 write cycles) are not rewritten within a minimum interval; RAM ones are exempt.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from .device import ModbusDevice
from .errors import CommitError, DeviceError, ReadBackError, TooSoonError, WriteRefusedError
from .profile.encoder import encode
from .profile.schema import Field, GroupKind, Span, Value, WriteGroup
from .transport.base import WRITE_SINGLE

# What a commit register reads when the last write was applied (Modbus-G3 V1.38 5.3).
COMMIT_OK = 0x0000
COMMIT_IN_PROGRESS = 0x0001
# How often, and how many seconds apart, a group is read again while its commit is in progress.
BUSY_READS = 5
BUSY_WAIT = 0.5
# Seconds between writes of a group kept in EEPROM, unless told otherwise.
DEFAULT_MIN_INTERVAL = 10.0


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
        self.min_interval = min_interval
        self.busy_wait = BUSY_WAIT
        self._clock = clock
        self._lock = asyncio.Lock()
        self._written: dict[str, float] = {}

    async def write(self, values: Mapping[str, Value], *, resend: bool = False) -> bool:
        """Set fields of one write group; whether anything was sent (False: already so).

        With `resend`, a group in RAM is sent even when the device holds it already (the
        passive set-points, written again to show the inverter its controller is alive).
        Raises InvalidValueError before sending anything, TooSoonError for an EEPROM
        group written within the interval, WriteRefusedError, CommitError or ReadBackError
        when the device does not take it, and the link's errors when it cannot be reached.
        """
        profile = self.device.profile
        fields = [profile.field(key) for key in values]
        groups = {fld.write.group for fld in fields if fld.write is not None}
        if len(groups) != 1 or any(fld.write is None for fld in fields):
            raise ValueError(f"{', '.join(values)}: not the writable fields of one group")
        group = profile.group(groups.pop())
        if resend and not group.volatile:
            raise ValueError(f"{group.key} is kept in EEPROM: it is not written again unchanged")
        # Every value is checked before the link is touched.
        wanted = {fld.key: encode(fld, values[fld.key]) for fld in fields}
        async with self._lock:
            after, sent = await self._update(
                group, {fld.spans[0].address: wanted[fld.key] for fld in fields}, resend=resend
            )
            wrong = tuple(
                key
                for key, part in wanted.items()
                if _part(after, group, profile.field(key)) != part
            )
            if wrong:
                raise ReadBackError(group.key, wrong)
        return sent

    async def write_words(
        self, group: WriteGroup, address: int, words: Sequence[int], *, single: bool = False
    ) -> tuple[list[int], bool]:
        """Set registers inside one group as given, the rest of the group as read.

        For the register actions, which name registers rather than fields: the same
        read, whole-group write, interval and checks as write(). Gives what the registers
        read back and whether anything was sent. With `single`, a group of one register
        goes out as a write-single request (0x06) where the link carries one.
        """
        span = Span(address, len(words))
        if not span.within(group.span):
            raise ValueError(f"{span} is not inside group {group.key}")
        start = address - group.span.address
        async with self._lock:
            after, sent = await self._update(group, {address: list(words)}, single=single)
        part = after[start : start + len(words)]
        # The commit register reads the write's result, not what was written to it.
        commit = group.commit[0] if group.commit else None
        wrong = tuple(
            f"{reg:#06x}"
            for reg, asked, found in zip(range(address, span.end + 1), words, part, strict=True)
            if reg != commit and asked != found
        )
        if wrong:
            raise ReadBackError(group.key, wrong)
        return part, sent

    async def _update(
        self,
        group: WriteGroup,
        parts: Mapping[int, list[int]],
        *,
        single: bool = False,
        resend: bool = False,
    ) -> tuple[list[int], bool]:
        """The group as read, with the parts (by address) in it: written and read back.

        Gives what the group reads afterwards and whether it was sent (not when the
        device already holds it, unless `resend`). The caller holds the lock.
        """
        words = await self._read(group)
        current = list(words)
        for address, part in parts.items():
            start = address - group.span.address
            words[start : start + len(part)] = part
        if words == current and not resend:
            return current, False
        await self._send(group, words, single=single)
        return await self._read_applied(group), True

    async def set_clock(self, group_key: str, when: datetime) -> None:
        """Set the device's clock to `when` (its local time), through its clock group."""
        group = self.device.profile.group(group_key)
        words = clock_words(group, when)
        async with self._lock:
            await self._send(group, words)
            # The clock runs on, so only the commit's result says whether it took.
            await self._read_applied(group)

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

    async def _read_applied(self, group: WriteGroup) -> list[int]:
        """The group once its commit (if it has one) is no longer in progress; checked."""
        words = await self._read(group)
        for _ in range(BUSY_READS):
            if _commit_code(group, words) != COMMIT_IN_PROGRESS:
                break
            await asyncio.sleep(self.busy_wait)
            words = await self._read(group)
        if (code := _commit_code(group, words)) not in (None, COMMIT_OK):
            raise CommitError(group.key, code)
        return words

    async def _send(self, group: WriteGroup, words: list[int], *, single: bool = False) -> None:
        """Write the group whole, with its commit value."""
        if not group.volatile:
            now = self._now()
            if (last := self._written.get(group.key)) is not None and (
                wait := last + self.min_interval - now
            ) > 0:
                raise TooSoonError(group.key, wait)
        if group.commit is not None:
            words[group.commit[0] - group.span.address] = group.commit[1]
        link = self.device.link
        try:
            if single and len(words) == 1 and WRITE_SINGLE in link.functions:
                await link.write_register(self.device.unit, group.span.address, words[0])
            else:
                await link.write_registers(self.device.unit, group.span.address, words)
        except DeviceError as err:
            raise WriteRefusedError(group.key, err.function_code, err.exception_code) from err
        finally:
            # Counted as written even when the answer got lost: the EEPROM may have been.
            self._written[group.key] = self._now()

    def _now(self) -> float:
        return self._clock() if self._clock else time.monotonic()


def clock_words(group: WriteGroup, when: datetime) -> list[int]:
    """What a clock group takes for `when` (the device's local time), its commit included."""
    if group.kind is not GroupKind.CLOCK:
        raise ValueError(f"{group.key} is not a clock group")
    words = [when.year - 2000, when.month, when.day, when.hour, when.minute, when.second, 0]
    if group.commit is not None:
        words[group.commit[0] - group.span.address] = group.commit[1]
    return words


def _commit_code(group: WriteGroup, words: list[int]) -> int | None:
    """What the group's commit register reads: the result of the last write."""
    return None if group.commit is None else words[group.commit[0] - group.span.address]


def _offset(group: WriteGroup, fld: Field) -> int:
    return fld.spans[0].address - group.span.address


def _part(words: list[int], group: WriteGroup, fld: Field) -> list[int]:
    start = _offset(group, fld)
    return words[start : start + fld.spans[0].count]
