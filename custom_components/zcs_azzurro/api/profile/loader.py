"""Reads profile files and checks them; a bad one is an error naming file, line and field."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeIs

import yaml

from ..errors import ProfileError
from .schema import (
    WIDTHS,
    Check,
    CheckKind,
    Counter,
    CounterKind,
    Field,
    FieldType,
    Presentation,
    Profile,
    ReadRules,
    Span,
    WordOrder,
)

BUNDLED = Path(__file__).parent.parent / "profiles"

PLATFORMS = ("sensor", "binary_sensor")
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
        key = loader.construct_object(key_node, deep=True)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_node.start_mark.line + 1
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


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
_DIGITS = _Check("0..6", lambda v: v if type(v) is int and 0 <= v <= 6 else None)
_BOOL = _Check("true or false", lambda v: v if isinstance(v, bool) else None)
_TEXTS = _Check("a list of text", _texts)
_KEYS = _Check("a list of two or more field keys", _keys)
_SPANS = _Check("a list of [first address, last address]", _spans)
_PARTS = _Check("a list of [address, count]", _parts)
_RANGE = _Check("[lowest, highest]", _range)
_OPTIONS = _Check("a mapping of code to lower_case_name", _options)


def _field(node: _Node, *, shown: bool) -> Field:
    key = node.get("key", _KEY_CHECK)
    kind = node.get("type", _one_of(tuple(FieldType)))
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
    )
    node.done()
    return result


def _presentation(node: _Node) -> Presentation:
    return Presentation(
        platform=node.get("platform", _one_of(PLATFORMS)),
        device_class=node.optional("device_class", _KEY_CHECK),
        state_class=node.optional("state_class", _one_of(STATE_CLASSES)),
        unit=node.optional("unit", _TEXT),
        precision=node.optional("precision", _DIGITS),
        enabled=node.get("enabled", _BOOL, True),
        category=node.optional("category", _one_of(CATEGORIES)),
    )


def _check_fields(node: _Node, rules: ReadRules, fields: list[tuple[_Node, Field]]) -> None:
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
        for part in fld.sum_of:
            if part not in known or known[part].type not in WIDTHS:
                raise item.error("of", f"{part} is not a numeric field listed before")
        if fld.counter and fld.presentation and fld.presentation.state_class != "total_increasing":
            raise item.error("counter", "a counter's state_class must be total_increasing")
    for needed in ("serial",):
        if needed not in known:
            raise node.error("identity", f"must list a field with key {needed}")


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


def load_profile(path: Path) -> Profile:
    """Read and check one profile file."""
    source = path.name
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        line = mark.line + 1 if mark else None
        raise ProfileError(source, line, "(file)", str(err.problem)) from err
    except (OSError, yaml.YAMLError) as err:
        raise ProfileError(source, None, "(file)", str(err)) from err
    root = _Node(source, document, "", 1)
    reads = root.child("reads")
    rules = ReadRules(
        max_registers=reads.get("max_registers", _COUNT),
        blocks=reads.get("blocks", _SPANS),
        gaps=reads.get("gaps", _SPANS, ()),
    )
    reads.done()
    match = root.child("match")
    prefixes = match.get("serial_prefixes", _TEXTS)
    match.done()
    identity = [(item, _field(item, shown=False)) for item in root.items("identity")]
    fields = [(item, _field(item, shown=True)) for item in root.items("fields")]
    _check_fields(root, rules, identity + fields)
    profile = Profile(
        id=root.get("id", _KEY_CHECK),
        name=root.get("name", _TEXT),
        manufacturer=root.get("manufacturer", _TEXT),
        model=root.get("model", _TEXT),
        sources=root.get("sources", _TEXTS),
        serial_prefixes=prefixes,
        rules=rules,
        identity=tuple(fld for _, fld in identity),
        fields=tuple(fld for _, fld in fields),
        checks=_checks(root, {fld.key: fld for _, fld in identity + fields}),
    )
    root.done()
    return profile


def load_bundled() -> tuple[Profile, ...]:
    """The profiles that ship with the integration, in a stable order."""
    return tuple(load_profile(path) for path in sorted(BUNDLED.glob("*.yaml")))
