"""Reads profile files and checks them; a bad one is an error naming file, line and field."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeIs

import yaml
from yaml.constructor import ConstructorError

from ..errors import ProfileError
from .schema import (
    WIDTHS,
    Check,
    CheckKind,
    Condition,
    Counter,
    CounterKind,
    Difference,
    Evidence,
    Field,
    FieldType,
    GroupKind,
    Presence,
    Presentation,
    Profile,
    ReadRules,
    Span,
    Status,
    WordOrder,
    Writable,
    WriteGroup,
)

_LOGGER = logging.getLogger(__name__)

BUNDLED = Path(__file__).parent.parent / "profiles"
# Types a write can carry (a float32 meter reading is never written).
WRITABLE = (FieldType.U16, FieldType.S16, FieldType.U32, FieldType.S32)

PLATFORMS = ("sensor", "binary_sensor", "number", "select", "switch")
# Platforms whose entities set a value: their fields must say how they are written.
CONTROLS = ("number", "select", "switch")
# What a switch's options are named: the code written to turn it off and on.
SWITCH_OPTIONS = {"off", "on"}
# The most registers one write-multiple request (0x10) can carry.
MAX_WRITE = 123
STATE_CLASSES = ("measurement", "total", "total_increasing")
CATEGORIES = ("diagnostic", "config")
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_NUMBER = (int, float)


class _Mapping(dict[Any, Any]):
    """A YAML mapping that remembers the line of each key."""

    line: int
    key_lines: dict[Any, int]


class _Loader(yaml.SafeLoader):
    """Safe YAML, with line numbers kept on mappings."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _Mapping:
    loader.flatten_mapping(node)
    mapping = _Mapping()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            # `? [a, b]`: a key that is a list or a mapping, which no profile has.
            raise ConstructorError(None, None, "a key must be a plain name", key_node.start_mark)
        key = loader.construct_object(key_node, deep=True)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_node.start_mark.line + 1
    return mapping


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    try:
        return int(loader.construct_yaml_int(node))
    except ValueError as err:
        # Python refuses to read integers of more than 4300 digits.
        raise ConstructorError(None, None, "the number is too long", node.start_mark) from err


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


class _Node:
    """A mapping being read, with where it came from for error messages."""

    def __init__(self, source: str, value: object, path: str, line: int | None) -> None:
        if not isinstance(value, _Mapping):
            raise ProfileError(
                source, line, path.removesuffix(".") or "(file)", "must be a mapping"
            )
        self.source = source
        self.mapping = value
        self.path = path
        self._seen: set[str] = set()

    def error(self, key: str, message: str) -> ProfileError:
        line = self.mapping.key_lines.get(key, self.mapping.line)
        return ProfileError(self.source, line, f"{self.path}{key}", message)

    def get[T](self, key: str, kind: _Check[T], default: T | None = None) -> T:
        """The key's value, checked by `kind`; missing means `default` (None: required)."""
        self._seen.add(key)
        if key not in self.mapping:
            if default is None:
                raise self.error(key, "is required")
            return default
        checked = kind(self.mapping[key])
        if checked is None:
            raise self.error(key, f"must be {kind.expected}")
        return checked

    def optional[T](self, key: str, kind: _Check[T]) -> T | None:
        """The key's value if present, checked by `kind`."""
        if key not in self.mapping:
            self._seen.add(key)
            return None
        return self.get(key, kind)

    def child(self, key: str) -> _Node:
        self._seen.add(key)
        line = self.mapping.key_lines.get(key, self.mapping.line)
        return _Node(self.source, self.mapping.get(key), f"{self.path}{key}.", line)

    def items(self, key: str) -> list[_Node]:
        """The mappings listed under the key."""
        self._seen.add(key)
        value = self.mapping.get(key)
        if not isinstance(value, list):
            raise self.error(key, "must be a list")
        return [
            _Node(self.source, item, f"{self.path}{key}[{index}].", self.mapping.key_lines[key])
            for index, item in enumerate(value)
        ]

    def done(self) -> None:
        """Reject keys nobody asked for: a typo must not pass silently."""
        for key in self.mapping:
            if key not in self._seen:
                raise self.error(str(key), "is not a known key")


@dataclass(frozen=True)
class _Check[T]:
    """Turns a raw YAML value into T, or None when it is not what `expected` says."""

    expected: str
    test: Callable[[object], T | None]

    def __call__(self, value: object) -> T | None:
        return self.test(value)


def _is_key(value: object) -> TypeIs[str]:
    return isinstance(value, str) and bool(_KEY.match(value))


def _is_address(value: object) -> TypeIs[int]:
    return type(value) is int and 0 <= value <= 0xFFFF


def _is_count(value: object) -> TypeIs[int]:
    return type(value) is int and 1 <= value <= 125


def _texts(value: object) -> tuple[str, ...] | None:
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return tuple(value)
    return None


def _keys(value: object) -> tuple[str, ...] | None:
    if isinstance(value, list) and len(value) > 1 and all(_is_key(item) for item in value):
        return tuple(value)
    return None


def _span(value: object) -> Span | None:
    """`[first, last]`, both addresses, first <= last."""
    if isinstance(value, list) and len(value) == 2 and all(_is_address(v) for v in value):
        first, last = value
        if first <= last:
            return Span(first, last - first + 1)
    return None


def _spans(value: object) -> tuple[Span, ...] | None:
    if isinstance(value, list):
        spans = [span for item in value if (span := _span(item))]
        if len(spans) == len(value):
            return tuple(spans)
    return None


def _parts(value: object) -> tuple[Span, ...] | None:
    """`[[address, count], ...]`: the runs a bit field is made of, in bit order."""
    if isinstance(value, list) and value:
        parts = [
            Span(item[0], item[1])
            for item in value
            if isinstance(item, list)
            and len(item) == 2
            and _is_address(item[0])
            and _is_count(item[1])
        ]
        if len(parts) == len(value):
            return tuple(parts)
    return None


def _range(value: object) -> tuple[float, float] | None:
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, _NUMBER) for v in value):
        low, high = float(value[0]), float(value[1])
        if low <= high:
            return low, high
    return None


def _options(value: object) -> dict[int, str] | None:
    if (
        isinstance(value, Mapping)
        and value
        and all(type(code) is int and _is_key(name) for code, name in value.items())
    ):
        return dict(value)
    return None


def _names(value: object) -> dict[str, str] | None:
    """A name for every language given: `{en: ..., it: ...}`, or one text for all."""
    if isinstance(value, str) and value.strip():
        return {"en": value.strip()}
    if (
        isinstance(value, Mapping)
        and value
        and all(
            isinstance(lang, str) and re.fullmatch(r"[a-z]{2}(-[A-Za-z]+)?", lang) for lang in value
        )
        and all(isinstance(text, str) and text.strip() for text in value.values())
    ):
        return {lang: text.strip() for lang, text in value.items()}
    return None


def _one_of[E](choices: tuple[E, ...]) -> _Check[E]:
    return _Check(
        " or ".join(map(str, choices)), lambda v: next((c for c in choices if c == v), None)
    )


_TEXT = _Check("text", lambda v: v if isinstance(v, str) and v.strip() else None)
_KEY_CHECK: _Check[str] = _Check("lower_case_with_underscores", lambda v: v if _is_key(v) else None)
_ADDRESS: _Check[int] = _Check("an address 0..0xFFFF", lambda v: v if _is_address(v) else None)
_COUNT: _Check[int] = _Check("a register count 1..125", lambda v: v if _is_count(v) else None)
_SCALE = _Check("a non-zero number", lambda v: float(v) if isinstance(v, _NUMBER) and v else None)
_POSITIVE = _Check(
    "a positive number", lambda v: float(v) if isinstance(v, _NUMBER) and v > 0 else None
)
_BOOL = _Check("true or false", lambda v: v if isinstance(v, bool) else None)
_TEXTS = _Check("a list of text", _texts)
_KEYS = _Check("a list of two or more field keys", _keys)
_SPANS = _Check("a list of [first address, last address]", _spans)
_PARTS = _Check("a list of [address, count]", _parts)
_RANGE = _Check("[lowest, highest]", _range)
_OPTIONS = _Check("a mapping of code to lower_case_name", _options)
_WRITE_COUNT = _Check(
    f"a register count 1..{MAX_WRITE}",
    lambda v: v if type(v) is int and 1 <= v <= MAX_WRITE else None,
)
_NAMES = _Check("a text, or a mapping of language (en, it) to text", _names)
_PAIR = _Check(
    "[address, value]",
    lambda v: (
        (v[0], v[1])
        if isinstance(v, list) and len(v) == 2 and all(_is_address(x) for x in v)
        else None
    ),
)


def _fixed(value: object) -> tuple[tuple[int, int], ...] | None:
    """`{address: value, ...}`: registers a group sends as these values."""
    if isinstance(value, Mapping) and all(
        _is_address(a) and _is_address(v) for a, v in value.items()
    ):
        return tuple(sorted(value.items()))
    return None


_FIXED = _Check("a mapping of address to value (0..0xFFFF)", _fixed)
_ADDRESSES: _Check[tuple[int, ...]] = _Check(
    "a list of addresses 0..0xFFFF",
    lambda v: tuple(v) if isinstance(v, list) and v and all(_is_address(a) for a in v) else None,
)
_CODES: _Check[tuple[int, ...]] = _Check(
    "a list of option codes",
    lambda v: tuple(v) if isinstance(v, list) and v and all(type(c) is int for c in v) else None,
)
_FUNCTION: _Check[int] = _one_of((3, 4))
# What a source may say otherwise about a field, and how each is checked.
_DIFFERENCES: dict[str, _Check[Any]] = {
    "address": _ADDRESS,
    "count": _COUNT,
    "signed": _BOOL,
    "scale": _SCALE,
    "word_order": _one_of(tuple(WordOrder)),
    "options": _CODES,
    "function": _FUNCTION,
}
# What a source may say otherwise about read rules.
_RULE_DIFFERENCES: dict[str, _Check[Any]] = {"max_registers": _COUNT, "function": _FUNCTION}


def _evidence(node: _Node, *, rules: bool = False) -> Evidence:
    """`evidence`: status, note, who agrees, who says otherwise (and what), candidates.

    Of read rules (`rules`), a source says otherwise what it asks for, and no value has
    candidate addresses.
    """
    differ = []
    kinds = _RULE_DIFFERENCES if rules else _DIFFERENCES
    for item in node.items("differ") if "differ" in node.mapping else ():
        said = {name: item.optional(name, check) for name, check in kinds.items()}
        note = item.get("note", _TEXT, "")
        # What a source means by the same register has no attribute: its note says it.
        if not note and all(value is None for value in said.values()):
            raise item.error("source", f"says nothing otherwise: give a note, or {', '.join(said)}")
        differ.append(Difference(source=item.get("source", _TEXT), note=note, **said))
        item.done()
    found = None if rules else node.optional("candidates", _ADDRESSES)
    evidence = Evidence(
        status=Status(node.get("status", _one_of(tuple(Status)))),
        note=node.get("note", _TEXT),
        agree=node.get("agree", _TEXTS, ()),
        differ=tuple(differ),
        candidates=found or (),
        follows=None if rules else node.optional("follows", _KEY_CHECK),
    )
    node.done()
    return evidence


def _field(node: _Node, *, shown: bool) -> Field:
    key = node.get("key", _KEY_CHECK)
    kind = node.get("type", _one_of(tuple(t for t in FieldType if t is not FieldType.CLOUD)))
    field_type = FieldType(kind)
    spans: tuple[Span, ...] = ()
    sum_of: tuple[str, ...] = ()
    if field_type is FieldType.SUM:
        sum_of = node.get("of", _KEYS)
    elif field_type is FieldType.BITS:
        spans = node.get("parts", _PARTS)
    else:
        address = node.get("address", _ADDRESS)
        count = WIDTHS.get(field_type) or node.get("count", _COUNT)
        spans = (Span(address, count),)
    options = node.optional("options", _OPTIONS)
    names = node.optional("name", _NAMES) if shown else None
    if options is not None and field_type is not FieldType.U16:
        raise node.error("options", "go with type u16 only")
    counter = None
    if "counter" in node.mapping:
        counter_node = node.child("counter")
        counter = Counter(
            CounterKind(counter_node.get("kind", _one_of(tuple(CounterKind)))),
            counter_node.get("max_rate", _POSITIVE),
        )
        counter_node.done()
    result = Field(
        key=key,
        type=field_type,
        spans=spans,
        scale=node.get("scale", _SCALE, 1.0),
        word_order=WordOrder(node.get("word_order", _one_of(tuple(WordOrder)), WordOrder.BIG)),
        valid=node.optional("valid", _RANGE),
        options=options,
        sum_of=sum_of,
        counter=counter,
        presentation=_presentation(node) if shown else None,
        write=_writable(node, field_type, options),
        names=names,
        evidence=(_evidence(node.child("evidence")) if "evidence" in node.mapping else None),
        ratio=node.get("ratio", _FIELD_LIST, ()),
    )
    node.done()
    return result


def _writable(node: _Node, kind: FieldType, options: Mapping[int, str] | None) -> Writable | None:
    """How the field is written, if it is; its group is found by address later."""
    if "write" not in node.mapping:
        return None
    if kind not in WRITABLE:
        raise node.error("write", "only u16, s16, u32 and s32 fields can be written")
    write = node.child("write")
    low_high = write.optional("range", _RANGE)
    step = write.optional("step", _POSITIVE)
    at_most = write.optional("at_most", _KEY_CHECK)
    write.done()
    if (low_high is None) == (options is None):
        raise node.error("write", "needs a range (and step), or options, and not both")
    if low_high is not None and step is None:
        raise node.error("write", "a range needs a step")
    if at_most is not None and low_high is None:
        raise node.error("write", "at_most bounds a range: options have none")
    return Writable(group="", range=low_high, step=step, at_most=at_most)


def _group(node: _Node) -> WriteGroup:
    registers = node.get("registers", _Check("[first address, last address]", _span))
    commit = node.optional("commit", _PAIR)
    kind = GroupKind(node.get("kind", _one_of(tuple(GroupKind)), GroupKind.SETTINGS))
    group = WriteGroup(
        key=node.get("key", _KEY_CHECK),
        span=registers,
        commit=commit,
        volatile=node.get("volatile", _BOOL, False),
        kind=kind,
        fixed=node.get("fixed", _FIXED, ()),
    )
    node.done()
    if commit is not None and not registers.address <= commit[0] <= registers.end:
        raise node.error("commit", "the commit register must lie in the group")
    if any(
        not registers.address <= address <= registers.end or (commit and address == commit[0])
        for address, _ in group.fixed
    ):
        raise node.error("fixed", "fixed registers lie in the group, off its commit register")
    if kind is GroupKind.CLOCK and (registers.count != 7 or commit is None):
        raise node.error("kind", "a clock group is 6 registers (Y M D h m s) and a commit register")
    return group


def _presentation(node: _Node) -> Presentation:
    return Presentation(
        platform=node.get("platform", _one_of(PLATFORMS)),
        device_class=node.optional("device_class", _KEY_CHECK),
        state_class=node.optional("state_class", _one_of(STATE_CLASSES)),
        unit=node.optional("unit", _TEXT),
        enabled=node.get("enabled", _BOOL, True),
        category=node.optional("category", _one_of(CATEGORIES)),
    )


def _decimals(scale: float) -> int:
    """The decimals one count of a register scaled so shows: 0.1 V one, 10 W none."""
    step = abs(scale)
    return next((digits for digits in range(7) if round(step, digits) == step), 6)


def _with_precision(fld: Field, known: Mapping[str, Field]) -> Field:
    """The field, shown with as many decimals as its register's resolution has.

    A sum is as fine as its finest part; text, bits and options have no decimals.
    """
    # A float's resolution is not its scale's: Home Assistant's default display is kept.
    if fld.presentation is None or fld.options or fld.type not in (*WRITABLE, FieldType.SUM):
        return fld
    scales = [known[part].scale for part in fld.sum_of] or [fld.scale]
    precision = max(map(_decimals, scales))
    return replace(fld, presentation=replace(fld.presentation, precision=precision))


def _check_control(item: _Node, fld: Field) -> None:
    """A control's platform and the way its field is written agree."""
    shown = fld.presentation
    platform = shown.platform if shown else None
    if platform in CONTROLS and fld.write is None:
        raise item.error("write", f"a {platform} must say how it is written")
    if fld.write is None:
        return
    if platform not in CONTROLS:
        raise item.error("platform", f"a writable field is shown as one of {', '.join(CONTROLS)}")
    if platform == "number" and fld.write.range is None:
        raise item.error("write", "a number needs a range")
    if platform != "number" and fld.write.range is not None:
        raise item.error("write", f"a {platform} is written by its options, not a range")
    if platform == "switch" and set((fld.options or {}).values()) != SWITCH_OPTIONS:
        raise item.error("options", "a switch has two options, off and on")


def _writes(
    root: _Node, rules: ReadRules, fields: list[tuple[_Node, Field]]
) -> tuple[tuple[WriteGroup, ...], list[Field]]:
    """The write groups, and the fields with the group each belongs to."""
    groups: list[tuple[_Node, WriteGroup]] = []
    if "writes" in root.mapping:
        writes = root.child("writes")
        limit = writes.get("max_registers", _WRITE_COUNT)
        groups = [(item, _group(item)) for item in writes.items("groups")]
        writes.done()
        _check_groups(rules, limit, groups)
    placed = []
    for item, fld in fields:
        _check_control(item, fld)
        placed.append(_placed(item, fld, [group for _, group in groups]))
    return tuple(group for _, group in groups), placed


def _check_groups(rules: ReadRules, limit: int, groups: list[tuple[_Node, WriteGroup]]) -> None:
    """Groups are read back after a write, so one read request must cover each; none overlap."""
    seen: dict[str, WriteGroup] = {}
    for item, group in groups:
        span = group.span
        if group.key in seen:
            raise item.error("key", f"{group.key} is used twice")
        if span.count > limit:
            raise item.error("registers", f"{span.count} registers exceed max_registers ({limit})")
        if span.count > rules.max_registers or rules.block_of(span) is None:
            raise item.error("registers", "cannot be read back in one request (reads.blocks)")
        if rules.is_input(span):
            raise item.error("registers", "input registers (reads.input_blocks) cannot be written")
        if rules.in_gap(span):
            raise item.error("registers", "touches a gap")
        for other in seen.values():
            if span.overlaps(other.span):
                raise item.error("registers", f"overlaps group {other.key}")
        seen[group.key] = group


def _placed(item: _Node, fld: Field, groups: list[WriteGroup]) -> Field:
    """The field with the group it is written in (it must lie in one, off its commit register)."""
    if fld.write is None:
        return fld
    group = next((g for g in groups if all(s.within(g.span) for s in fld.spans)), None)
    if group is None:
        raise item.error("write", f"{fld.key} lies outside every write group")
    if group.commit is not None and any(s.address <= group.commit[0] <= s.end for s in fld.spans):
        raise item.error("address", f"{fld.key} is the commit register of {group.key}")
    if any(s.address <= address <= s.end for s in fld.spans for address, _ in group.fixed):
        raise item.error("address", f"{fld.key} is a fixed register of {group.key}")
    return replace(fld, write=replace(fld.write, group=group.key))


def _check_fields(
    node: _Node, rules: ReadRules, fields: list[tuple[_Node, Field]], *, detected: bool
) -> None:
    """Every run readable in one request; keys unique; sums over known numeric fields."""
    known: dict[str, Field] = {}
    for item, fld in fields:
        if fld.key in known:
            raise item.error("key", f"{fld.key} is used twice")
        known[fld.key] = fld
        for span in fld.spans:
            if span.count > rules.max_registers:
                raise item.error("count", f"exceeds max_registers ({rules.max_registers})")
            if rules.block_of(span) is None:
                raise item.error("address", f"{span.address:#06x} is outside every read block")
            if rules.in_gap(span):
                raise item.error("address", f"{span.address:#06x} touches a gap")
        _check_candidates(item, rules, fld, known)
        for part in fld.sum_of:
            if part not in known or known[part].type not in WIDTHS:
                raise item.error("of", f"{part} is not a numeric field listed before")
        if fld.counter and fld.presentation and fld.presentation.state_class != "total_increasing":
            raise item.error("counter", "a counter's state_class must be total_increasing")
    # A device found by its serial prefix must say where its serial number is.
    if detected and "serial" not in known:
        raise node.error("identity", "must list a field with key serial")


def _check_candidates(
    item: _Node, rules: ReadRules, fld: Field, known: Mapping[str, Field]
) -> None:
    """A field read elsewhere when its own address holds nothing can be read there.

    One that follows another's move follows a field listed before it, one with candidates.
    """
    if fld.evidence is None:
        return
    if (leader := fld.evidence.follows) is not None:
        if not fld.evidence.candidates:
            raise item.error("evidence", "a field that follows another needs candidates")
        if (
            leader == fld.key
            or leader not in known
            or not getattr(known[leader].evidence, "candidates", ())
        ):
            raise item.error("evidence", f"{leader} is no field with candidates listed before")
    if not fld.evidence.candidates:
        return
    if len(fld.spans) != 1:
        raise item.error("evidence", "only a field at one address can have candidates")
    (own,) = fld.spans
    for address in fld.evidence.candidates:
        span = Span(address, own.count)
        if address == own.address:
            raise item.error("evidence", f"{address:#06x} is the field's own address")
        if rules.block_of(span) is None or rules.in_gap(span):
            raise item.error("evidence", f"candidate {address:#06x} is outside every read block")


def _check_ratios(identity: list[tuple[_Node, Field]], fields: list[tuple[_Node, Field]]) -> None:
    """A field multiplied by ratios is a number; each ratio a number the identity reads."""
    numbers = {fld.key for _, fld in identity if fld.type in WIDTHS and not fld.options}
    for item, fld in fields:
        if not fld.ratio:
            continue
        if fld.type not in WIDTHS or fld.options:
            raise item.error("ratio", f"{fld.key} is not a number")
        if unknown := [key for key in fld.ratio if key not in numbers]:
            raise item.error("ratio", f"{', '.join(unknown)} is not a number of the identity")


# The keys each kind of check names its fields with, in the order Check.fields holds them.
_CHECK_FIELDS = {
    CheckKind.SUM: ("total", "of"),
    CheckKind.PRODUCT: ("power", "voltage", "current"),
    CheckKind.VECTOR: ("apparent", "active", "reactive"),
    CheckKind.CHANGE: ("fields",),
    CheckKind.CONFIRM: ("fields",),
}
_CHECK_NUMBERS = {
    CheckKind.SUM: ("relative",),
    CheckKind.PRODUCT: ("relative",),
    CheckKind.VECTOR: ("relative",),
    CheckKind.CHANGE: ("step", "per_hour"),
    CheckKind.CONFIRM: (),
}
_SHARE = _Check(
    "a number 0..1", lambda v: float(v) if isinstance(v, _NUMBER) and 0 <= v <= 1 else None
)
_AMOUNT = _Check(
    "a number 0 or more", lambda v: float(v) if isinstance(v, _NUMBER) and v >= 0 else None
)
_FIELD_LIST: _Check[tuple[str, ...]] = _Check(
    "a list of field keys",
    lambda v: tuple(v) if isinstance(v, list) and v and all(_is_key(k) for k in v) else None,
)
_NUMBER_CHECK = _Check("a number", lambda v: float(v) if isinstance(v, _NUMBER) else None)
_OPTION_NAMES: _Check[tuple[str, ...]] = _Check(
    "a list of option names",
    lambda v: tuple(v) if isinstance(v, list) and v and all(_is_key(k) for k in v) else None,
)


def _checks(node: _Node, known: Mapping[str, Field]) -> tuple[Check, ...]:
    """The checks listed under `checks`; CHANGE and CONFIRM give one check per field."""
    if "checks" not in node.mapping:
        return ()
    checks: list[Check] = []
    for item in node.items("checks"):
        kind = CheckKind(item.get("kind", _one_of(tuple(CheckKind))))
        keys: list[str] = []
        for name in _CHECK_FIELDS[kind]:
            if name in ("of", "fields"):
                named = list(item.get(name, _FIELD_LIST))
            else:
                named = [item.get(name, _KEY_CHECK)]
            for key in named:
                if key not in known:
                    raise item.error(name, f"{key} is not a field of this profile")
                numeric = known[key].type in (*WIDTHS, FieldType.SUM) and not known[key].options
                if kind is not CheckKind.CONFIRM and not numeric:
                    raise item.error(name, f"{key} is not a numeric field")
            keys += named
        numbers = {
            name: item.get(name, _SHARE if name == "relative" else _AMOUNT, 0.0)
            for name in _CHECK_NUMBERS[kind]
        }
        item.done()
        if kind in (CheckKind.CHANGE, CheckKind.CONFIRM):
            checks += [Check(kind, (key,), **numbers) for key in keys]
        else:
            checks.append(Check(kind, tuple(keys), **numbers))
    return tuple(checks)


def _presence(node: _Node, known: Mapping[str, Field]) -> tuple[Presence, ...]:
    """The parts listed under `presence`: fields shown once the device reports the part."""
    if "presence" not in node.mapping:
        return ()
    parts: list[Presence] = []
    placed: dict[str, str] = {}
    for item in node.items("presence"):
        key = item.get("key", _KEY_CHECK)
        if any(part.key == key for part in parts):
            raise item.error("key", f"{key} is used twice")
        members = item.get("fields", _FIELD_LIST)
        for member in members:
            fld = known.get(member)
            if fld is None:
                raise item.error("fields", f"{member} is not a field of this profile")
            # Controls and alarms are there from the start; what appears is what is measured.
            if fld.presentation is None or fld.presentation.platform != "sensor":
                raise item.error("fields", f"{member} is not shown as a sensor")
            if member in placed:
                raise item.error("fields", f"{member} is in {placed[member]} already")
            placed[member] = key
        when = tuple(_condition(condition, known) for condition in item.items("when"))
        if not when:
            raise item.error("when", "needs at least one condition")
        item.done()
        parts.append(Presence(key, frozenset(members), when))
    return tuple(parts)


def _condition(node: _Node, known: Mapping[str, Field]) -> Condition:
    """`{field: key, at_least: number}` or `{field: key, one_of: [option, ...]}`."""
    key = node.get("field", _KEY_CHECK)
    fld = known.get(key)
    if fld is None:
        raise node.error("field", f"{key} is not a field of this profile")
    if ("at_least" in node.mapping) == ("one_of" in node.mapping):
        raise node.error("field", "needs at_least (a number) or one_of (options), and not both")
    if "at_least" in node.mapping:
        if fld.options or fld.type not in (*WIDTHS, FieldType.SUM):
            raise node.error("at_least", f"{key} is not a numeric field")
        condition = Condition(key, at_least=node.get("at_least", _NUMBER_CHECK))
    else:
        names = node.get("one_of", _OPTION_NAMES)
        if unknown := [name for name in names if name not in (fld.options or {}).values()]:
            raise node.error("one_of", f"{', '.join(unknown)} is not an option of {key}")
        condition = Condition(key, one_of=frozenset(names))
    node.done()
    return condition


def load_profile(
    path: Path, *, bundled: bool = True, taken: frozenset[str] = frozenset()
) -> Profile:
    """Read and check one profile file (one of the user's own when not `bundled`).

    A user's profile is named by its file: its id is the file name without ".yaml", so
    that an entry whose profile fails to load knows which file to point at. An id in
    `taken` (a bundled profile's) is refused: an entry must find the one profile it names.
    """
    source = path.name
    try:
        return _load(path, _read(path), bundled=bundled, taken=taken)
    except (ValueError, TypeError, ArithmeticError, RecursionError) as err:
        # Whatever else an odd file provokes is still that file's error, and no other's.
        _LOGGER.debug("Profile %s: %r", source, err)
        raise ProfileError(source, None, "(file)", "cannot be read as a profile") from err


def _read(path: Path) -> object:
    """The file's YAML document; its errors name the line where one is known."""
    source = path.name
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        # Saved by an editor in another encoding (cp1252 puts one byte for an accent).
        at = err.object[: err.start].count(b"\n") + 1
        raise ProfileError(source, at, "(file)", "is not UTF-8 text: save it as UTF-8") from err
    except OSError as err:
        raise ProfileError(source, None, "(file)", str(err)) from err
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        line = mark.line + 1 if mark else None
        raise ProfileError(source, line, "(file)", str(err.problem)) from err
    except yaml.YAMLError as err:
        raise ProfileError(source, None, "(file)", str(err)) from err
    except RecursionError as err:
        raise ProfileError(source, None, "(file)", "is nested too deeply") from err


def _load(path: Path, document: object, *, bundled: bool, taken: frozenset[str]) -> Profile:
    """The profile a file's document describes, checked."""
    source = path.name
    root = _Node(source, document, "", 1)
    reads = root.child("reads")
    rules = ReadRules(
        max_registers=reads.get("max_registers", _COUNT),
        blocks=reads.get("blocks", _SPANS),
        gaps=reads.get("gaps", _SPANS, ()),
        input_blocks=reads.get("input_blocks", _SPANS, ()),
        input_fallback=reads.get("input_fallback", _BOOL, False),
        evidence=(
            _evidence(reads.child("evidence"), rules=True) if "evidence" in reads.mapping else None
        ),
    )
    reads.done()
    match = root.child("match")
    # No prefixes: a device without a serial number (a meter), never detected, only chosen.
    prefixes = match.get("serial_prefixes", _TEXTS, ())
    match.done()
    identity = [(item, _field(item, shown=False)) for item in root.items("identity")]
    fields = [(item, _field(item, shown=True)) for item in root.items("fields")]
    _check_fields(root, rules, identity + fields, detected=bool(prefixes))
    _check_ratios(identity, fields)
    known = {fld.key: fld for _, fld in fields}
    named = {fld.key for _, fld in identity}
    for item, fld in fields:
        if fld.write is not None and fld.write.at_most not in (None, *named):
            raise item.error("write", f"at_most names no identity field: {fld.write.at_most}")
    groups, placed = _writes(root, rules, fields)
    profile_id = root.get("id", _KEY_CHECK)
    if not bundled and profile_id != path.stem:
        raise root.error("id", f"must be the file's name without .yaml ({path.stem})")
    if profile_id in taken:
        raise root.error("id", f"{profile_id} is the id of a bundled profile")
    profile = Profile(
        id=profile_id,
        name=root.get("name", _TEXT),
        manufacturer=root.get("manufacturer", _TEXT),
        model=root.get("model", _TEXT),
        sources=root.get("sources", _TEXTS),
        serial_prefixes=prefixes,
        rules=rules,
        identity=tuple(fld for _, fld in identity),
        fields=tuple(_with_precision(fld, known) for fld in placed),
        groups=groups,
        checks=_checks(root, {fld.key: fld for _, fld in identity + fields}),
        presence=_presence(root, known),
        bms_window=root.get("bms_window", _BOOL, False),
        bundled=bundled,
    )
    root.done()
    if not bundled and any(f.presentation and not f.names for f in profile.fields):
        # No translation knows a user's keys: each entity needs its name from the file.
        item, fld = next((i, f) for i, f in fields if f.presentation and not f.names)
        raise item.error("name", f"{fld.key} needs a name (a text, or one per language)")
    return profile


def load_bundled() -> tuple[Profile, ...]:
    """The profiles that ship with the integration, in a stable order."""
    return tuple(load_profile(path) for path in sorted(BUNDLED.glob("*.yaml")))


def load_user(
    directory: Path, taken: frozenset[str] = frozenset()
) -> tuple[tuple[Profile, ...], tuple[ProfileError, ...]]:
    """The user's own profiles in `directory`, and an error for each file that is not valid.

    Nothing of a bad file is used; `taken` are the bundled profiles' ids.
    """
    profiles: list[Profile] = []
    errors: list[ProfileError] = []
    for path in sorted(directory.glob("*.yaml")) if directory.is_dir() else ():
        try:
            profiles.append(load_profile(path, bundled=False, taken=taken))
        except ProfileError as err:
            errors.append(err)
    return tuple(profiles), tuple(errors)
