"""What a profile says about a device: where its values are and how to read them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

type Value = int | float | str | tuple[int, ...]


class FieldType(StrEnum):
    """How registers become a value."""

    U16 = "u16"
    S16 = "s16"
    U32 = "u32"
    S32 = "s32"
    STR = "str"
    BITS = "bits"
    SUM = "sum"
    F32 = "f32"  # IEEE-754 single precision, as the Chint meters keep their readings
    # A number a cloud API answers as it is (JSON), not registers; never in a device map.
    CLOUD = "cloud"


# Registers each fixed-width type spans.
WIDTHS = {FieldType.U16: 1, FieldType.S16: 1, FieldType.U32: 2, FieldType.S32: 2, FieldType.F32: 2}


class WordOrder(StrEnum):
    """Which register of a 32-bit value holds the high word."""

    BIG = "big"
    LITTLE = "little"


class CounterKind(StrEnum):
    """How an energy counter may move."""

    LIFETIME = "lifetime"
    DAILY = "daily"


@dataclass(frozen=True)
class Span:
    """A run of consecutive registers."""

    address: int
    count: int

    @property
    def end(self) -> int:
        """The last address in the run."""
        return self.address + self.count - 1

    def overlaps(self, other: Span) -> bool:
        """Whether the two runs share an address."""
        return self.address <= other.end and other.address <= self.end

    def within(self, other: Span) -> bool:
        """Whether this run lies inside the other."""
        return other.address <= self.address and self.end <= other.end


@dataclass(frozen=True)
class Counter:
    """A value that only counts up; `max_rate` is the most it can grow per hour."""

    kind: CounterKind
    max_rate: float


@dataclass(frozen=True)
class Presentation:
    """How Home Assistant shows a field: entity platform, classes, unit."""

    platform: str
    device_class: str | None = None
    state_class: str | None = None
    unit: str | None = None
    # Decimals shown: the register's resolution (set by the loader from the scale).
    precision: int | None = None
    enabled: bool = True
    category: str | None = None


class GroupKind(StrEnum):
    """What a write group holds."""

    SETTINGS = "settings"  # fields a user sets, written with the others as read
    CLOCK = "clock"  # the device's clock: year - 2000, month, day, hour, minute, second


@dataclass(frozen=True)
class WriteGroup:
    """Registers the device takes only together, in one write-multiple request.

    `commit` is the register, and the value written to it, that applies the group; reading
    it gives the result of the last write. A volatile group lives in RAM, not EEPROM.
    `fixed` are registers (no field's) sent as these values whatever they read, as public
    write-backs send reserved ones; the group's other registers that are no field are sent
    back as the device holds them.
    """

    key: str
    span: Span
    commit: tuple[int, int] | None = None
    volatile: bool = False
    kind: GroupKind = GroupKind.SETTINGS
    fixed: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Writable:
    """What may be written to a field: a range and step (numbers) or its options.

    `at_most` names an identity field (the rated power) the value may not exceed either:
    the range is what the registers hold, this what the device (or its plant) can do.
    """

    group: str
    range: tuple[float, float] | None = None
    step: float | None = None
    at_most: str | None = None


class Status(StrEnum):
    """How far public sources bear a field out."""

    CONFIRMED = "confirmed"  # the sources agree (a difference declared is harmless)
    CONTESTED = "contested"  # they disagree on something that matters
    UNCONFIRMED = "unconfirmed"  # no public source has it


# What a source can say otherwise about a field, or about read rules (`max_registers`, the
# most it asks for in one request, and `function`): Difference's attributes, in this order.
ATTRIBUTES = (
    "address",
    "count",
    "signed",
    "scale",
    "word_order",
    "options",
    "function",
    "max_registers",
)


@dataclass(frozen=True)
class Difference:
    """What one source says otherwise about a field, by what it says.

    Each attribute is the source's word, in the profile's terms: `address`, `count` (a
    text's registers), `signed`, `scale` (in the field's unit), `word_order`, `options`
    (the codes it knows), `function` (3 holding, 4 input); of read rules, `max_registers`.
    None: the source agrees.
    """

    source: str
    note: str = ""
    address: int | None = None
    count: int | None = None
    signed: bool | None = None
    scale: float | None = None
    word_order: str | None = None
    options: tuple[int, ...] | None = None
    function: int | None = None
    max_registers: int | None = None

    def says(self) -> dict[str, object]:
        """The attributes this source gives otherwise, by name."""
        return {name: value for name in ATTRIBUTES if (value := getattr(self, name)) is not None}


@dataclass(frozen=True)
class Evidence:
    """What public sources say about a field (or a profile's read rules), and what we chose.

    `candidates` are other addresses where sources keep the same value: a device whose own
    address holds nothing is read there instead, and a device report shows their words. A
    field that `follows` another is read at its candidate when that one is (a meter keeps
    its import and export totals in the same place), never on its own: its 0 may be true.
    """

    status: Status
    note: str
    agree: tuple[str, ...] = ()
    differ: tuple[Difference, ...] = ()
    candidates: tuple[int, ...] = ()
    follows: str | None = None

    @property
    def doubted(self) -> bool:
        """Whether the user is told that the field is not confirmed."""
        return self.status is not Status.CONFIRMED

    @property
    def addresses(self) -> tuple[int, ...]:
        """Every other address sources give for the value: a device report reads them."""
        others = [d.address for d in self.differ if d.address is not None]
        return tuple(dict.fromkeys([*self.candidates, *others]))


@dataclass(frozen=True, eq=False)
class Field:
    """One value of the device."""

    key: str
    type: FieldType
    spans: tuple[Span, ...] = ()
    scale: float = 1.0
    word_order: WordOrder = WordOrder.BIG
    valid: tuple[float, float] | None = None
    options: Mapping[int, str] | None = None
    sum_of: tuple[str, ...] = ()
    counter: Counter | None = None
    presentation: Presentation | None = None
    write: Writable | None = None
    # A user profile's own entity names, by language ("en", "it"); bundled ones are translated.
    names: Mapping[str, str] | None = None
    # What public sources say where they disagree with this map, or nothing confirms it.
    evidence: Evidence | None = None
    # Identity fields whose values multiply this one's: a meter keeps its readings before its
    # current and voltage transformers, and keeps their ratios.
    ratio: tuple[str, ...] = ()


class CheckKind(StrEnum):
    """What a check compares."""

    SUM = "sum"  # a total equals the sum of its parts (a power balance, phases, strings)
    PRODUCT = "product"  # a power equals voltage x current
    VECTOR = "vector"  # an apparent power is the vector sum of active and reactive power
    CHANGE = "change"  # a value moves no faster than the plant can between two polls
    CONFIRM = "confirm"  # a change (a new fault bit, another state) is read twice first


@dataclass(frozen=True)
class Check:
    """What a reading must satisfy before its fields are published.

    `fields` are, for SUM: the total, then its parts; for PRODUCT: power, voltage, current;
    for VECTOR: apparent, active, reactive power; for CHANGE and CONFIRM: the one field.
    Tolerances start from the fields' resolution; `relative` adds a share of the largest
    value (SUM, PRODUCT, VECTOR), `step` what a value may move between two polls and
    `per_hour` what it may move per hour elapsed (CHANGE).
    """

    kind: CheckKind
    fields: tuple[str, ...]
    relative: float = 0.0
    step: float = 0.0
    per_hour: float = 0.0

    def __str__(self) -> str:
        """How the debug log names it."""
        first, *rest = self.fields
        if self.kind is CheckKind.SUM:
            return f"{first} = {' + '.join(rest)}"
        if self.kind is CheckKind.PRODUCT:
            return f"{first} = {rest[0]} x {rest[1]}"
        if self.kind is CheckKind.VECTOR:
            return f"{first} = |{rest[0]}, {rest[1]}|"
        return f"{self.kind} {first}"


@dataclass(frozen=True)
class Condition:
    """What one field reads when the device reports a part: at least a number, or an option."""

    field: str
    at_least: float | None = None
    one_of: frozenset[str] = frozenset()

    def holds(self, values: Mapping[str, Value | None]) -> bool:
        """Whether the field's value (None: not read) meets the condition."""
        value = values.get(self.field)
        if self.at_least is not None:
            return isinstance(value, int | float) and value >= self.at_least
        return isinstance(value, str) and value in self.one_of


@dataclass(frozen=True)
class Presence:
    """Fields shown only once the device reports the part they belong to (a second tower).

    The part is reported when any condition of `when` holds; until then no entity shows
    its fields, so a device without it has no dead entities.
    """

    key: str
    fields: frozenset[str]
    when: tuple[Condition, ...]

    @property
    def probes(self) -> frozenset[str]:
        """The fields read to tell whether the part is there."""
        return frozenset(condition.field for condition in self.when)

    def reported(self, values: Mapping[str, Value | None]) -> bool:
        """Whether these values report the part."""
        return any(condition.holds(values) for condition in self.when)


@dataclass(frozen=True)
class ReadRules:
    """What the device allows a read request to cover."""

    max_registers: int
    blocks: tuple[Span, ...]
    gaps: tuple[Span, ...] = ()
    # Blocks the device serves as input registers: read with function 0x04, never written.
    input_blocks: tuple[Span, ...] = ()
    # Blocks a device may serve as input registers instead: when it refuses a holding read
    # of one (as some meters do), the same request goes with function 0x04.
    input_fallback: bool = False
    # What public sources say of these rules (the register limit, how blocks are read).
    evidence: Evidence | None = None

    def block_of(self, span: Span) -> Span | None:
        """The block that holds the whole run, if one does."""
        return next(
            (block for block in self.blocks + self.input_blocks if span.within(block)), None
        )

    def is_input(self, span: Span) -> bool:
        """Whether the run is read with function 0x04 (it lies in an input block)."""
        return any(span.within(block) for block in self.input_blocks)

    def in_gap(self, span: Span) -> bool:
        """Whether the run touches a gap."""
        return any(span.overlaps(gap) for gap in self.gaps)


@dataclass(frozen=True, eq=False)
class Profile:
    """A device family's map."""

    id: str
    name: str
    manufacturer: str
    model: str
    sources: tuple[str, ...]
    serial_prefixes: tuple[str, ...]
    rules: ReadRules
    identity: tuple[Field, ...]
    fields: tuple[Field, ...]
    groups: tuple[WriteGroup, ...] = ()
    checks: tuple[Check, ...] = ()
    presence: tuple[Presence, ...] = ()
    # Whether the device passes its battery packs' data through the G3 BMS window (api/bms.py).
    bms_window: bool = False
    # False for a user's own profile (from <config>/zcs_azzurro/profiles/): its entities
    # take their names from the profile, as no translation knows its keys.
    bundled: bool = True
    _by_key: dict[str, Field] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Index fields by key."""
        object.__setattr__(self, "_by_key", {f.key: f for f in self.identity + self.fields})

    def field(self, key: str) -> Field:
        """The field with this key."""
        return self._by_key[key]

    def group(self, key: str) -> WriteGroup:
        """The write group with this key."""
        return next(group for group in self.groups if group.key == key)

    def group_of(self, key: str) -> str:
        """The key of the write group the writable field with this key is written in."""
        write = self._by_key[key].write
        if write is None:
            raise ValueError(f"{key} is not writable")
        return write.group

    def presence_of(self, key: str) -> Presence | None:
        """The part whose presence shows the field with this key, if it has one."""
        return next((part for part in self.presence if key in part.fields), None)

    def members(self, group: WriteGroup) -> tuple[Field, ...]:
        """The writable fields of a group."""
        return tuple(f for f in self.fields if f.write is not None and f.write.group == group.key)

    @cached_property
    def settings(self) -> frozenset[str]:
        """The keys of writable fields: they change only when written, so are read seldom."""
        return frozenset(f.key for f in self.fields if f.write is not None)

    def entities(self, platform: str | None = None) -> Iterator[tuple[Field, Presentation]]:
        """The fields Home Assistant shows (on one platform, if named), with how it shows them."""
        for fld in self.fields:
            shown = fld.presentation
            if shown is not None and platform in (None, shown.platform):
                yield fld, shown

    def defaults(self) -> tuple[str, ...]:
        """The keys of the entities enabled by default on a device that has no optional part."""
        return tuple(
            fld.key
            for fld, shown in self.entities()
            if shown.enabled and self.presence_of(fld.key) is None
        )

    def entity_name(self, key: str, language: str) -> str:
        """A user profile's name for the entity of this key: the language's, English, the key.

        (Bundled profiles' entities are named by translations instead.)
        """
        names = getattr(self._by_key.get(key), "names", None) or {}
        base = language.partition("-")[0]
        return names.get(language) or names.get(base) or names.get("en") or key

    @property
    def serial(self) -> Field:
        """Where the device keeps its serial number."""
        return self._by_key["serial"]

    def matches(self, serial: str) -> bool:
        """Whether a device with this serial number is one this profile maps."""
        return serial.startswith(self.serial_prefixes)

    def model_name(self, identity: Mapping[str, Value | None]) -> str:
        """The model as ZCS names it, from the identity values (placeholders left out)."""
        known = {key: value for key, value in identity.items() if value is not None}
        try:
            return self.model.format(**known)
        except KeyError:
            return self.name
