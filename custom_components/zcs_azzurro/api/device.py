"""A Modbus device read through its profile."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from .errors import (
    ILLEGAL_ADDRESS,
    ILLEGAL_FUNCTION,
    DeviceError,
    NotZcsDeviceError,
    UnsupportedModelError,
)
from .profile import planner
from .profile.checks import Checks, Failure
from .profile.decoder import decimals, decode, plausible
from .profile.schema import Field, FieldType, Profile, Span, Value
from .transport.base import READ_INPUT, Link

_LOGGER = logging.getLogger(__name__)

# Every ZCS serial number seen in the wild starts with Z (ZP1, ZP2, ZM2E, ZS2E, ZA3, ZE1E,
# ZM1E; research/modbus_maps.md section 3.1); Sofar's own start with S.
ZCS_SERIAL_START = "Z"


# A refusal is a fact of the map only when it repeats: a run refused ("illegal address")
# this many polls in a row, while the device answered other requests of the same polls, is
# left out of the plan. A burst of refusals across the board (a stick or gateway in trouble,
# an inverter starting up or upgrading) teaches nothing.
LEARN_REFUSAL_AFTER = 3
# A learnt refusal is asked for again this many polls later; each time it is refused again
# the wait doubles, up to RETRY_REFUSED_AFTER (s): a mistaken lesson heals in minutes.
FIRST_RETRY_POLLS = 4
RETRY_REFUSED_AFTER = 3600.0


@dataclass(frozen=True)
class Reading:
    """What one read gave: values, raw registers, requests sent, and runs refused.

    Fields in a refused run have no value; nor have those `withheld`, which failed a check
    and were not said the same twice (the device may well hold a value for them). `at` is
    when the read began (the device's clock, seconds): no register is older than that.
    """

    values: dict[str, Value | None]
    registers: dict[int, int]
    requests: tuple[Span, ...]
    refused: tuple[Span, ...]
    withheld: frozenset[str] = frozenset()
    at: float = 0.0


@dataclass(frozen=True)
class Plan:
    """The fields to decode, the register runs each request reads, and the runs left out.

    `checked` are the fields decoded to check the reading: those asked for, and those the
    checks need which the same requests happen to read.
    """

    fields: tuple[Field, ...]
    batches: tuple[tuple[Span, ...], ...]
    skipped: tuple[Span, ...]
    checked: tuple[Field, ...] = ()

    @property
    def requests(self) -> tuple[Span, ...]:
        """One request per batch."""
        return tuple(_cover(batch) for batch in self.batches)

    @property
    def runs(self) -> tuple[Span, ...]:
        """Every run read."""
        return tuple(run for batch in self.batches for run in batch)


@dataclass
class _Poll:
    """What one read has gathered so far."""

    registers: dict[int, int] = field(default_factory=dict)
    requests: list[Span] = field(default_factory=list)
    refused: list[Span] = field(default_factory=list)
    # Runs (or spaces between runs) refused as illegal addresses in this poll.
    suspects: set[Span] = field(default_factory=set)
    answered: list[Span] = field(default_factory=list)


@dataclass(frozen=True)
class _Lesson:
    """A refusal taken as the firmware's: since which poll and when, and how often learnt."""

    poll: int
    at: float
    level: int

    def expired(self, poll: int, now: float) -> bool:
        """Whether it is time to ask for the run again."""
        waited = FIRST_RETRY_POLLS * 2**self.level
        return poll - self.poll >= waited or now - self.at >= RETRY_REFUSED_AFTER


def _cover(runs: Sequence[Span]) -> Span:
    """The one request that reads these runs (sorted by address)."""
    return Span(runs[0].address, max(run.end for run in runs) - runs[0].address + 1)


class ModbusDevice:
    """One unit behind a link, read as its profile says.

    Firmware differs in which addresses of a block it refuses (research/modbus_maps.md
    section 2, rule 8). A request refused as an illegal address, in a poll where the device
    answers other requests, is split until the device shows which runs, or which space
    between them, it refuses; those refused poll after poll are planned around.
    """

    def __init__(
        self,
        link: Link,
        unit: int,
        profile: Profile,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Nothing is read until asked; `clock` (seconds) defaults to time.monotonic."""
        self.link = link
        self.unit = unit
        self.profile = profile
        self._clock = clock
        self._plans: dict[frozenset[str], Plan] = {}
        self.checks = Checks(profile.identity + profile.fields, profile.checks)
        self._polls = 0
        # Polls in a row each suspect was refused in; the refusals learnt; how often each was.
        self._strikes: dict[Span, int] = {}
        self._refused: dict[Span, _Lesson] = {}
        self._levels: dict[Span, int] = {}

    def plan(self, keys: Iterable[str]) -> Plan:
        """How to read the fields with these keys (kept for next time)."""
        self._retry_expired()
        wanted = frozenset(keys)
        if (cached := self._plans.get(wanted)) is None:
            fields = {key: self.profile.field(key) for key in wanted}
            for derived in [f for f in fields.values() if f.type is FieldType.SUM]:
                fields.update((part, self.profile.field(part)) for part in derived.sum_of)
            # Sums last: they are computed from the values of their parts.
            ordered = sorted(fields.values(), key=lambda f: f.type is FieldType.SUM)
            runs = {span for f in ordered for span in f.spans}
            skipped = {run for run in runs if any(run.overlaps(r) for r in self._refused)}
            readable = tuple(sorted(runs - skipped, key=lambda span: (span.address, span.end)))
            rules = replace(self.profile.rules, gaps=(*self.profile.rules.gaps, *self._refused))
            requests = planner.plan(readable, rules)
            batches = tuple(
                tuple(run for run in readable if run.within(request)) for request in requests
            )
            extra = {key: self.profile.field(key) for key in self.checks.keys - fields.keys()}
            checked = [
                f
                for f in extra.values()
                if f.spans and all(any(s.within(r) for r in requests) for s in f.spans)
            ]
            cached = self._plans[wanted] = Plan(
                tuple(ordered),
                batches,
                tuple(sorted(skipped, key=lambda span: span.address)),
                (*ordered, *checked),
            )
        return cached

    async def read(self, keys: Iterable[str]) -> Reading:
        """Read the fields with these keys; registers the device refuses leave theirs None.

        Link failures raise: the device cannot be reached, so nothing read is worth keeping.
        """
        self._polls += 1
        started = self._now()
        plan = self.plan(keys)
        poll = _Poll(refused=list(plan.skipped))
        # Whether refused requests are worth splitting depends on whether anything answered.
        illegal = [
            batch for batch in plan.batches if await self._fetch(batch, poll) == ILLEGAL_ADDRESS
        ]
        for batch in illegal:
            if poll.answered and len(batch) > 1:
                await self._split(batch, poll)
            else:
                self._refused_now(_cover(batch), poll, suspect=bool(poll.answered))
        self._learn(poll)
        values, withheld = await self._checked(plan, poll)
        return Reading(
            {fld.key: values[fld.key] for fld in plan.fields},
            poll.registers,
            tuple(poll.requests),
            tuple(sorted(poll.refused, key=lambda span: span.address)),
            frozenset(withheld & {fld.key for fld in plan.fields}),
            started,
        )

    def _decode(
        self, fields: Iterable[Field], registers: dict[int, int], unpublished: set[str]
    ) -> dict[str, Value | None]:
        values: dict[str, Value | None] = {}
        for fld in fields:
            if fld.key in unpublished:
                values[fld.key] = None
            elif fld.type is FieldType.SUM:
                values[fld.key] = self._sum(fld, values)
            else:
                values[fld.key] = decode(fld, registers)
        return values

    async def _checked(self, plan: Plan, poll: _Poll) -> tuple[dict[str, Value | None], set[str]]:
        """The values, checked, and the keys withheld; what fails is read again, once.

        What the device says twice is its word (a real step, or a plant the checks fit
        loosely); an answer that fails and that it did not repeat is not published.
        """
        now = self._now()
        first = self._decode(plan.checked, poll.registers, set())
        if not (failures := self.checks.failures(first, now)):
            self.checks.accept(first, now)
            return first, set()
        before = dict(poll.registers)
        await self._read_again({key for failure in failures for key in failure.keys}, poll)
        second = self._decode(plan.checked, poll.registers, set())
        failed = [
            failure
            for failure in self.checks.failures(second, now)
            if not self.checks.agree(first, second, failure)
        ]
        for failure in failed:
            self._log_failure(failure, before, poll.registers)
        # An answer that failed twice is not trusted in any of its fields: a stick that hands
        # a request another's answer gets whole blocks wrong, consistent among themselves.
        spans = [
            span
            for failure in failed
            for key in failure.keys
            for span in self.profile.field(key).spans
        ]
        untrusted = [r for r in poll.answered if any(s.within(r) for s in spans)]
        unpublished = {
            fld.key
            for fld in plan.checked
            if any(s.within(r) for s in fld.spans for r in untrusted)
        } | {key for failure in failed for key in failure.keys}
        values = self._decode(plan.checked, poll.registers, unpublished)
        self.checks.accept(values, now)
        return values, unpublished

    async def _read_again(self, keys: set[str], poll: _Poll) -> None:
        """Read once more each request that read these fields; a refusal drops its registers.

        In reverse order: a stick that hands one request the answer to the one before it
        would otherwise hand the same wrong answer to the second read as to the first.
        """
        spans = [span for key in keys for span in self.profile.field(key).spans]
        answered = reversed(poll.answered)
        for request in dict.fromkeys(r for r in answered if any(s.within(r) for s in spans)):
            poll.requests.append(request)
            addresses = range(request.address, request.end + 1)
            read = self._reader(request)
            try:
                words = await read(self.unit, request.address, request.count)
            except DeviceError:
                for address in addresses:
                    poll.registers.pop(address, None)
                continue
            poll.registers.update(zip(addresses, words, strict=True))

    def _log_failure(self, failure: Failure, first: dict[int, int], second: dict[int, int]) -> None:
        addresses = [
            address
            for key in failure.keys
            for span in self.profile.field(key).spans
            for address in range(span.address, span.end + 1)
        ]

        def raw(registers: dict[int, int]) -> str:
            return " ".join(
                f"{a:#06x}={registers[a]:#06x}" if a in registers else f"{a:#06x}=-"
                for a in addresses
            )

        _LOGGER.debug(
            "Check %s failed (%s), and the device did not say the same twice: %s, then %s; "
            "not published",
            failure.name,
            failure.detail,
            raw(first),
            raw(second),
        )

    def _reader(self, request: Span) -> Callable[[int, int, int], Awaitable[list[int]]]:
        """How the request is read: input registers (0x04) in an input block, else holding."""
        if self.profile.rules.is_input(request):
            return self.link.read_input_registers
        return self.link.read_holding_registers

    async def _fetch(self, runs: Sequence[Span], poll: _Poll) -> int | None:
        """Read the runs in one request; the exception code if the device refused it.

        Refusals other than an illegal address (busy, gateway codes, failures) say nothing
        of the addresses: they are noted as refused in this poll, nothing more.
        """
        request = _cover(runs)
        if self.profile.rules.is_input(request) and READ_INPUT not in self.link.functions:
            # The link cannot carry input-register reads: not sent, no value.
            poll.refused.append(request)
            return ILLEGAL_FUNCTION
        read = self._reader(request)
        poll.requests.append(request)
        try:
            words = await read(self.unit, request.address, request.count)
        except DeviceError as err:
            if err.exception_code != ILLEGAL_ADDRESS:
                poll.refused.append(request)
            return err.exception_code
        poll.registers.update(zip(range(request.address, request.end + 1), words, strict=True))
        poll.answered.append(request)
        return None

    async def _find(self, runs: Sequence[Span], poll: _Poll) -> bool:
        """Read the runs, splitting what is refused; whether they read in one request."""
        if (code := await self._fetch(runs, poll)) is None:
            return True
        if code == ILLEGAL_ADDRESS:
            if len(runs) == 1:
                self._refused_now(_cover(runs), poll, suspect=True)
            else:
                await self._split(runs, poll)
        return False

    async def _split(self, runs: Sequence[Span], poll: _Poll) -> None:
        """Read the two halves of a refused request apart, to find what the device refuses."""
        first, second = runs[: len(runs) // 2], runs[len(runs) // 2 :]
        first_read = await self._find(first, poll)
        if await self._find(second, poll) and first_read:
            # Each half reads alone, so the device refuses the space between them. (With no
            # space between, nothing can be learned, and the split is made again next time.)
            after = _cover(first).end + 1
            if second[0].address > after:
                poll.suspects.add(Span(after, second[0].address - after))

    @staticmethod
    def _refused_now(request: Span, poll: _Poll, *, suspect: bool) -> None:
        poll.refused.append(request)
        if suspect:
            poll.suspects.add(request)

    def _now(self) -> float:
        # time.monotonic is looked up at each call, so that a test's frozen time reaches it.
        return self._clock() if self._clock else time.monotonic()

    def _learn(self, poll: _Poll) -> None:
        """Count the refusals of a poll in which the device answered; learn the steady ones.

        A poll in which nothing answered is no evidence either way, and changes nothing.
        """
        if not poll.answered:
            return
        self._strikes = {span: self._strikes.get(span, 0) + 1 for span in poll.suspects}
        for span, strikes in self._strikes.items():
            # A lesson asked for again and refused again is learnt again at once.
            if span not in self._refused and (
                strikes >= LEARN_REFUSAL_AFTER or span in self._levels
            ):
                level = self._levels.get(span, 0)
                self._refused[span] = _Lesson(self._polls, self._now(), level)
                self._levels[span] = level + 1
                self._plans.clear()
        # A lesson asked for again and not refused is forgotten, with its backoff.
        for span in [s for s in self._levels if s not in self._refused and s not in poll.suspects]:
            del self._levels[span]

    def _retry_expired(self) -> None:
        now = self._now()
        expired = [
            span for span, lesson in self._refused.items() if lesson.expired(self._polls, now)
        ]
        if expired:
            for span in expired:
                del self._refused[span]
            self._plans.clear()

    def _sum(self, derived: Field, values: dict[str, Value | None]) -> float | int | None:
        parts = [values.get(key) for key in derived.sum_of]
        numbers = [p for p in parts if isinstance(p, int | float)]
        if len(numbers) != len(parts):
            return None
        digits = max(decimals(self.profile.field(key).scale) for key in derived.sum_of)
        total = round(sum(numbers), digits) if digits else round(sum(numbers))
        return plausible(derived, total)


async def identify(link: Link, unit: int, profiles: Sequence[Profile]) -> tuple[Profile, str]:
    """Which profile maps the device, and its serial number.

    Raises NotZcsDeviceError when no ZCS serial number is where the profiles look for one,
    and UnsupportedModelError for a ZCS serial number no profile covers.
    """
    serials: dict[tuple[Span, ...], Value | None] = {}
    # A profile without serial prefixes (a meter has no serial number) is chosen, not found.
    for profile in (p for p in profiles if p.serial_prefixes):
        where = profile.serial.spans
        if where not in serials:
            reading = await ModbusDevice(link, unit, profile).read(["serial"])
            serials[where] = reading.values["serial"]
        serial = serials[where]
        if isinstance(serial, str) and profile.matches(serial):
            return profile, serial
    for serial in serials.values():
        if isinstance(serial, str) and serial.startswith(ZCS_SERIAL_START):
            raise UnsupportedModelError(serial)
    raise NotZcsDeviceError("no ZCS serial number where ZCS devices keep it")
