"""A Modbus device read through its profile."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from .errors import (
    ILLEGAL_ADDRESS,
    ILLEGAL_FUNCTION,
    ILLEGAL_VALUE,
    DeviceError,
    NoResponseError,
    NotZcsDeviceError,
    UnsupportedModelError,
)
from .profile import planner
from .profile.checks import Checks, Failure
from .profile.decoder import decimals, decode, plausible
from .profile.schema import Field, FieldType, Profile, Span, Value
from .transport.base import READ_HOLDING, READ_INPUT, Link

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
# What a request refused for its length answers with: an illegal value (the register count),
# or, from some loggers, nothing at all (see ModbusDevice._fetch).
TOO_LONG = ILLEGAL_VALUE
_NO_ANSWER = -1


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
    # The shortest request refused for its length, and the longest of its parts that answered.
    too_long: int | None = None
    shorter: int = 0
    # A request went unanswered, taken for its length, and nothing has answered since.
    quiet: bool = False


@dataclass(frozen=True)
class _Lesson:
    """A refusal taken as the firmware's: since which poll and when, and how often learnt.

    `registers`: for a request refused for its length, the most registers asked at once.
    """

    poll: int
    at: float
    level: int
    registers: int = 0

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

    Devices and loggers differ in how long a read they take, too: a request refused for its
    length (an illegal value, or no answer where shorter ones get one) is read in halves in
    the same poll, and the longest that answered is the most asked for at once from then on.
    A meter that refuses holding reads is asked for input registers (where its profile says
    it may keep them there, and the link carries them), and a field whose address holds no
    value is read at the other addresses its evidence gives (where it is found, it stays).
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
        # The length learnt (a lesson like a refusal's), how often, and the longest answered.
        self._length: _Lesson | None = None
        self._length_level = 0
        self._longest = 0
        # Blocks the device serves as input registers only; fields found at a candidate.
        self._inputs: set[Span] = set()
        self._moved: dict[str, Field] = {}
        # The identity values other fields are multiplied by (a meter's transformer ratios).
        self._ratios = frozenset(key for fld in profile.fields for key in fld.ratio)
        self._known: dict[str, Value | None] = {}

    @property
    def max_registers(self) -> int:
        """The most registers asked for in one request: the map's, or fewer where learnt."""
        most = self.profile.rules.max_registers
        return min(most, self._length.registers) if self._length else most

    @property
    def input_blocks(self) -> frozenset[Span]:
        """The blocks read as input registers, the profile's and those found so."""
        return frozenset(self.profile.rules.input_blocks) | self._inputs

    def field(self, key: str) -> Field:
        """The field with this key, where this device keeps it (a candidate address found)."""
        return self._moved.get(key) or self.profile.field(key)

    def plan(self, keys: Iterable[str]) -> Plan:
        """How to read the fields with these keys (kept for next time)."""
        self._retry_expired()
        wanted = frozenset(keys)
        if (cached := self._plans.get(wanted)) is None:
            fields = {key: self.field(key) for key in wanted}
            for derived in [f for f in fields.values() if f.type is FieldType.SUM]:
                fields.update((part, self.field(part)) for part in derived.sum_of)
            # A ratio not known yet is read along (once known, it is not read again).
            for scaled in [f for f in fields.values() if f.ratio]:
                unknown = [key for key in scaled.ratio if self._known.get(key) is None]
                fields.update((key, self.field(key)) for key in unknown)
            # Ratios first, sums last: others' values are computed from theirs.
            ordered = sorted(
                fields.values(), key=lambda f: (f.type is FieldType.SUM, f.key not in self._ratios)
            )
            runs = {span for f in ordered for span in f.spans}
            skipped = {run for run in runs if any(run.overlaps(r) for r in self._refused)}
            readable = tuple(sorted(runs - skipped, key=lambda span: (span.address, span.end)))
            rules = replace(
                self.profile.rules,
                max_registers=self.max_registers,
                gaps=(*self.profile.rules.gaps, *self._refused),
            )
            requests = planner.plan(readable, rules)
            batches = tuple(
                tuple(run for run in readable if run.within(request)) for request in requests
            )
            extra = {key: self.field(key) for key in self.checks.keys - fields.keys()}
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
        illegal = []
        for batch in plan.batches:
            code = await self._fetch(batch, poll)
            if code == ILLEGAL_ADDRESS:
                illegal.append(batch)
            elif code in (TOO_LONG, _NO_ANSWER):
                await self._shorten(batch, poll)
        for batch in illegal:
            if poll.answered and len(batch) > 1:
                await self._split(batch, poll)
            else:
                self._refused_now(_cover(batch), poll, suspect=bool(poll.answered))
        self._learn(poll)
        self._learn_length(poll)
        values, withheld = await self._checked(plan, poll)
        await self._look_elsewhere(plan, poll, values)
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
                values[fld.key] = self._ratio(fld, decode(fld, registers))
            if fld.key in self._ratios and values[fld.key] is not None:
                self._note_ratio(fld.key, values[fld.key])
        return values

    def _note_ratio(self, key: str, value: Value | None) -> None:
        """Keep a ratio read (decoded before the fields it multiplies); plans stop reading it."""
        if self._known.get(key) != value:
            self._known[key] = value
            self._plans.clear()

    def _ratio(self, fld: Field, value: Value | None) -> Value | None:
        """The value times the field's ratios (none unless every ratio is known)."""
        if not fld.ratio or not isinstance(value, int | float):
            return value
        factors = [self._known.get(key) for key in fld.ratio]
        if not all(isinstance(f, int | float) and math.isfinite(f) for f in factors):
            return None
        product = Decimal(str(value))
        for factor in factors:
            product *= Decimal(str(factor))
        return plausible(fld, float(product) + 0.0)

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
            span for failure in failed for key in failure.keys for span in self.field(key).spans
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
        spans = [span for key in keys for span in self.field(key).spans]
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
            for span in self.field(key).spans
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

    def _is_input(self, request: Span) -> bool:
        return any(request.within(block) for block in self.input_blocks)

    def function_of(self, request: Span) -> int:
        """The function code a poll reads the request with."""
        return READ_INPUT if self._is_input(request) else READ_HOLDING

    async def read_raw(self, request: Span, function: int | None = None) -> list[int]:
        """The words the device answers one request with, for a device report.

        With the function a poll uses unless told another; nothing is learnt from it.
        """
        if (function or self.function_of(request)) == READ_INPUT:
            return await self.link.read_input_registers(self.unit, request.address, request.count)
        return await self.link.read_holding_registers(self.unit, request.address, request.count)

    def decode(self, fields: Iterable[Field], registers: dict[int, int]) -> dict[str, Value | None]:
        """The fields' values from registers, as a poll decodes them (checks aside)."""
        return self._decode(fields, registers, set())

    def _reader(self, request: Span) -> Callable[[int, int, int], Awaitable[list[int]]]:
        """How the request is read: input registers (0x04) in an input block, else holding."""
        if self._is_input(request):
            return self.link.read_input_registers
        return self.link.read_holding_registers

    async def _fetch(self, runs: Sequence[Span], poll: _Poll, *, noted: bool = True) -> int | None:
        """Read the runs in one request; the exception code if the device refused it.

        Refusals other than an illegal address or length (busy, gateway codes, failures) say
        nothing of the addresses: they are noted as refused in this poll (unless not
        `noted`), nothing more. No answer to a request longer than any answered before, from
        a device that answers, is taken for a refusal of its length (_NO_ANSWER).
        """
        request = _cover(runs)
        if self._is_input(request) and READ_INPUT not in self.link.functions:
            # The link cannot carry input-register reads: not sent, no value.
            poll.refused.append(request)
            return ILLEGAL_FUNCTION
        read = self._reader(request)
        poll.requests.append(request)
        try:
            words = await read(self.unit, request.address, request.count)
        except DeviceError as err:
            code = err.exception_code
            if code in (ILLEGAL_FUNCTION, ILLEGAL_ADDRESS) and (
                found := await self._as_input(request, poll)
            ):
                words = found
            else:
                if code not in (ILLEGAL_ADDRESS, TOO_LONG) and noted:
                    poll.refused.append(request)
                return code
        except NoResponseError:
            # A logger that drops long requests answers the short ones (once is enough to
            # tell: a device silent twice running is asleep, or gone).
            if self._longest and request.count > self._longest and not poll.quiet:
                poll.quiet = True
                return _NO_ANSWER
            raise
        poll.registers.update(zip(range(request.address, request.end + 1), words, strict=True))
        poll.answered.append(request)
        poll.quiet = False
        self._longest = max(self._longest, request.count)
        return None

    async def _as_input(self, request: Span, poll: _Poll) -> list[int] | None:
        """A holding read refused: the same request as input registers, where that may be.

        Only where the profile allows it, the link carries function 0x04, and the block is
        not one already read so; a block that answers is read so from then on.
        """
        block = self.profile.rules.block_of(request)
        if (
            not self.profile.rules.input_fallback
            or READ_INPUT not in self.link.functions
            or block is None
            or block in self.input_blocks
        ):
            return None
        poll.requests.append(request)
        try:
            words = await self.link.read_input_registers(self.unit, request.address, request.count)
        except DeviceError:
            return None
        self._inputs.add(block)
        self._plans.clear()
        _LOGGER.info(
            "Unit %s refuses to read registers %#06x-%#06x as holding registers: it is read "
            "with function 0x04 instead",
            self.unit,
            block.address,
            block.end,
        )
        return words

    async def _find(self, runs: Sequence[Span], poll: _Poll) -> bool:
        """Read the runs, splitting what is refused; whether they read in one request."""
        if (code := await self._fetch(runs, poll)) is None:
            return True
        if code == ILLEGAL_ADDRESS:
            if len(runs) == 1:
                self._refused_now(_cover(runs), poll, suspect=True)
            else:
                await self._split(runs, poll)
        elif code in (TOO_LONG, _NO_ANSWER):
            await self._shorten(runs, poll)
        return False

    async def _shorten(self, runs: Sequence[Span], poll: _Poll) -> None:
        """Read a request refused for its length in halves, halved again while refused so."""
        request = _cover(runs)
        poll.too_long = min(poll.too_long or request.count, request.count)
        if len(runs) == 1:
            poll.refused.append(request)
            return
        for half in (runs[: len(runs) // 2], runs[len(runs) // 2 :]):
            if await self._find(half, poll):
                poll.shorter = max(poll.shorter, _cover(half).count)

    def _learn_length(self, poll: _Poll) -> None:
        """After a request refused for its length, keep the longest that answered.

        A lesson like a refusal's: asked for again later and later, learnt again at once.
        """
        if poll.too_long is None:
            if self._length is None:
                self._length_level = 0
            return
        if not poll.shorter:
            return
        limit = max(r.count for r in poll.answered if r.count < poll.too_long)
        if self._length is not None:
            limit = min(limit, self._length.registers)
        self._length = _Lesson(self._polls, self._now(), self._length_level, limit)
        self._length_level += 1
        self._plans.clear()
        # Said once; learnt again after a try of the longer read, it is no news.
        _LOGGER.log(
            logging.INFO if self._length_level == 1 else logging.DEBUG,
            "Unit %s refuses to read %s registers at once: it is read %s at a time",
            self.unit,
            poll.too_long,
            limit,
        )

    async def _look_elsewhere(
        self, plan: Plan, poll: _Poll, values: dict[str, Value | None]
    ) -> None:
        """A field whose address holds no value, read at its candidates; one found stays.

        The fields that follow it move with it, and are read at their candidate at once.
        """
        for fld in plan.fields:
            evidence = fld.evidence
            if (
                evidence is None
                or not evidence.candidates
                or evidence.follows is not None
                or values.get(fld.key) is not None
                or fld.key in self._moved
            ):
                continue
            for address in evidence.candidates:
                if (value := await self._read_at(fld, address, poll)) is not None:
                    values[fld.key] = value
                    self._move(fld, address)
                    break
            else:
                continue
            for follower in self.profile.fields:
                if follower.evidence is not None and follower.evidence.follows == fld.key:
                    (address, *_) = follower.evidence.candidates
                    self._move(follower, address)
                    if follower.key in values:
                        values[follower.key] = await self._read_at(follower, address, poll)

    async def _read_at(self, fld: Field, address: int, poll: _Poll) -> Value | None:
        """The field's value read at another address (None: refused, or nothing there)."""
        (own,) = fld.spans
        moved = replace(fld, spans=(Span(address, own.count),))
        if await self._fetch(moved.spans, poll, noted=False) is not None:
            return None
        return self._decode([moved], poll.registers, set())[fld.key]

    def _move(self, fld: Field, address: int) -> None:
        (own,) = fld.spans
        self._moved[fld.key] = replace(fld, spans=(Span(address, own.count),))
        self._plans.clear()
        _LOGGER.info(
            "Unit %s keeps %s at %#06x, not at %#06x: it is read there",
            self.unit,
            fld.key,
            address,
            own.address,
        )

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
        if self._length is not None and self._length.expired(self._polls, now):
            self._length = None
            self._plans.clear()
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
        digits = max(decimals(self.field(key).scale) for key in derived.sum_of)
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
