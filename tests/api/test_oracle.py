"""The Sofar-family profiles, held field by field against sofar-modbus.

sofar-modbus is the library Home Assistant's own `sofar` integration reads these inverters
with (the version Home Assistant 2026.10 pins is a test requirement). Every field of ours
that it also defines, at the same address and in the same register space, is compared:
width, sign, scale (in our unit), word order, option codes and function code. Where the two
differ, the profile must say so, in the field's evidence, with what sofar-modbus says; a
difference not declared fails, and so does a declaration sofar-modbus no longer bears out.

Signs turned to Home Assistant's conventions (a negative scale: grid import and battery
discharge positive) are the profile's own and are held apart, in the last test.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from enum import IntEnum, IntFlag
from importlib.metadata import version
from types import ModuleType
from typing import Any

import pytest
import sofar_modbus
import sofar_modbus.legacy
import sofar_modbus.modern
from modbus_connection.model import FloatField, NumberField, RegisterField, StringField
from sofar_modbus.model import SofarComponentBase
from sofar_modbus.variants import BAT_BTS, EPS, GEN, HYBRID, InverterType, matches

from custom_components.zcs_azzurro.api.profile.loader import load_bundled
from custom_components.zcs_azzurro.api.profile.schema import (
    WIDTHS,
    Field,
    FieldType,
    Profile,
    Span,
    WordOrder,
)

# How a profile names sofar-modbus as the source of a difference.
ORACLE = "sofar-modbus"
# What HA 2026.10's sofar integration pins; the declarations were made against it.
PINNED = "0.17.0"
# sofar-modbus's units, in the unit our fields show (a field without a unit: the first).
UNITS = {"kW": ("W", 1000), "kvar": ("var", 1000), "kVA": ("VA", 1000)}
# What Home Assistant counts positive where the device counts the other way.
HA_CONVENTIONS = {
    "grid_power",  # the meter at the grid point: + import (the device: + export)
    "grid_power_l1",
    "grid_power_l2",
    "grid_power_l3",
    "battery_power",  # the battery: + discharge (the device: + charge)
    "battery_current",
    "battery2_power",
    "battery2_current",
    # The map's other battery inputs, as inputs 1 and 2.
    *(f"battery{k}_{quantity}" for k in range(3, 9) for quantity in ("power", "current")),
}


@dataclass(frozen=True)
class Theirs:
    """One register field of sofar-modbus: where it lives, and its definition."""

    component: str
    name: str
    space: str
    field: RegisterField[Any]


def test_the_pinned_version_is_the_one_installed() -> None:
    assert version("sofar-modbus") == PINNED


def _generation(profile: Profile) -> tuple[ModuleType, InverterType]:
    """Which of sofar-modbus's maps covers the profile, and the inverter its prefix names.

    EPS is set for hybrids: sofar-modbus finds it by asking, and every ZCS hybrid has it.
    """
    prefix = profile.serial_prefixes[0]
    kind, _ = sofar_modbus.modern.identify(prefix)
    module: ModuleType = sofar_modbus.modern
    if not kind & GEN:
        module, kind = sofar_modbus.legacy, sofar_modbus.legacy.identify(prefix)
    assert kind, f"sofar-modbus does not know the prefix {prefix}"
    return module, kind | EPS if kind & HYBRID else kind


def _theirs(profile: Profile) -> dict[tuple[str, int], Theirs]:
    """sofar-modbus's register fields that apply to the profile's inverter, by address."""
    module, kind = _generation(profile)
    found: dict[tuple[str, int], Theirs] = {}
    for component in vars(module).values():
        if not (inspect.isclass(component) and issubclass(component, SofarComponentBase)):
            continue
        mask = component.applies_to
        if not matches(kind, mask) or (mask & BAT_BTS and not kind & BAT_BTS):
            continue  # (a BTS tower's packs are gated on the tower, not on a mask group)
        for name, field in component._register_fields.items():
            key = (component.register_space, field.address)
            other = found.setdefault(
                key, Theirs(component.__name__, name, component.register_space, field)
            )
            assert other.field is field or _same(other.field, field), key
    return found


def _same(one: RegisterField[Any], other: RegisterField[Any]) -> bool:
    """Whether two components define a register alike (phases tile the same block)."""
    return vars(one) | {"name": ""} == vars(other) | {"name": ""}


def _space(profile: Profile, span: Span) -> str:
    return "input" if profile.rules.is_input(span) else "holding"


def _codes(convert: object) -> tuple[int, ...] | None:
    """The codes an enum converter knows (flags and plain numbers name none)."""
    if (
        inspect.isclass(convert)
        and issubclass(convert, IntEnum)
        and not issubclass(convert, IntFlag)
    ):
        return tuple(sorted(member.value for member in convert))
    return None


def _differences(profile: Profile, ours: Field, theirs: Theirs) -> dict[str, object]:
    """What sofar-modbus says otherwise of the field, in the profile's terms."""
    field = theirs.field
    said: dict[str, object] = {}
    if ours.type is FieldType.BITS:
        # One register of a bit field: an unsigned word, its bits numbered alike.
        assert isinstance(field, NumberField), theirs
        assert not field.signed, theirs
        return said
    (span,) = ours.spans
    if isinstance(field, StringField):
        if field.count != span.count:
            said["count"] = field.count
        return said
    assert isinstance(field, NumberField | FloatField), theirs
    if field.count != WIDTHS[ours.type]:
        said["count"] = field.count
    if isinstance(field, NumberField):
        signed = ours.type in (FieldType.S16, FieldType.S32)
        if field.signed != signed:
            said["signed"] = field.signed
        codes = _codes(field.convert)
        if codes is not None and ours.options is not None and codes != tuple(sorted(ours.options)):
            said["options"] = codes
    if WIDTHS[ours.type] == 2 and field.word_order != ours.word_order.value:
        said["word_order"] = field.word_order
    if field.convert is None if isinstance(field, NumberField) else True:
        # In our unit; a field shown nowhere (identity) has none, and may keep theirs.
        unit = ours.presentation.unit if ours.presentation else None
        scales = {field.scale}
        if field.unit in UNITS and unit in (None, UNITS[field.unit][0]):
            factor = UNITS[field.unit][1]
            scales = {field.scale * factor} | (scales if unit is None else set())
        if not any(math.isclose(scale, abs(ours.scale), rel_tol=1e-9) for scale in scales):
            said["scale"] = round(max(scales), 9)
    return said


def _compared(profile: Profile) -> Iterator[tuple[Field, list[Theirs]]]:
    """Each field of the profile that sofar-modbus defines too, with its definitions."""
    theirs = _theirs(profile)
    for ours in profile.identity + profile.fields:
        if ours.type is FieldType.SUM:
            continue
        found = [
            theirs[key]
            for span in ours.spans
            for address in range(span.address, span.end + 1)
            if (key := (_space(profile, span), address)) in theirs
            # A bit field is compared register by register; anything else at its start.
            and (ours.type is FieldType.BITS or address == span.address)
        ]
        if found:
            yield ours, found


def _declared(ours: Field) -> dict[str, object]:
    """The differences the field's evidence declares from sofar-modbus."""
    said: dict[str, object] = {}
    for difference in ours.evidence.differ if ours.evidence else ():
        if difference.source.startswith(ORACLE):
            said |= difference.says()
    said.pop("address", None)  # an address elsewhere: checked by the next test
    return said


SOFAR_FAMILY = [p for p in load_bundled() if p.serial_prefixes]


@pytest.mark.parametrize("profile", SOFAR_FAMILY, ids=lambda p: p.id)
def test_every_field_sofar_modbus_defines_agrees_or_says_why_not(profile: Profile) -> None:
    compared = list(_compared(profile))
    assert compared, profile.id
    problems = []
    for ours, definitions in compared:
        said: dict[str, object] = {}
        for theirs in definitions:
            said |= _differences(profile, ours, theirs)
        declared = _declared(ours)
        if said != declared:
            where = ", ".join(f"{t.component}.{t.name}" for t in definitions)
            problems.append(f"{ours.key} ({where}): sofar-modbus says {said}, declared {declared}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("profile", SOFAR_FAMILY, ids=lambda p: p.id)
def test_an_address_declared_from_sofar_modbus_is_one_it_reads(profile: Profile) -> None:
    """Where we read a value elsewhere (or derive it), sofar-modbus's address is named."""
    theirs = _theirs(profile)
    for ours in profile.identity + profile.fields:
        for difference in ours.evidence.differ if ours.evidence else ():
            if difference.source.startswith(ORACLE) and difference.address is not None:
                spaces = {space for space, address in theirs if address == difference.address}
                assert spaces, (profile.id, ours.key, hex(difference.address))


@pytest.mark.parametrize("profile", SOFAR_FAMILY, ids=lambda p: p.id)
def test_signs_are_turned_only_to_home_assistants_conventions(profile: Profile) -> None:
    turned = {f.key for f in profile.fields if f.scale < 0}
    assert turned <= HA_CONVENTIONS, profile.id
    # Every such quantity the profile maps, it turns (a sum of turned parts is turned too).
    mapped = {f.key for f in profile.fields if f.type is not FieldType.SUM}
    assert mapped & HA_CONVENTIONS == turned, profile.id


def oracle_counts() -> dict[str, tuple[int, int, int]]:
    """Per profile: fields compared with sofar-modbus, agreeing, declared differences."""
    counts = {}
    for profile in SOFAR_FAMILY:
        compared = [ours for ours, _ in _compared(profile)]
        declared = [ours for ours in compared if _declared(ours)]
        counts[profile.id] = (len(compared), len(compared) - len(declared), len(declared))
    return counts


@pytest.mark.parametrize(
    ("key", "change", "said"),
    [
        ("grid_voltage_l1", {"scale": 1.0}, {"scale": 0.1}),
        ("pv1_power", {"type": FieldType.S16}, {"signed": False}),
        ("inverter_power", {"scale": -10.0}, {}),  # a turned sign: the last test's business
        ("pv_energy_total", {"word_order": WordOrder.LITTLE}, {"word_order": "big"}),
        ("pv_energy_total", {"type": FieldType.U16}, {"count": 2}),
        ("export_limit_mode", {"options": {0: "disabled"}}, {"options": (0, 1, 2)}),
    ],
)
def test_a_wrong_field_is_caught(
    key: str, change: dict[str, object], said: dict[str, object]
) -> None:
    profile = next(p for p in SOFAR_FAMILY if p.id == "zcs_3ph_hyd_zss")
    wrong = replace(profile.field(key), **change)
    (theirs,) = [t for ours, found in _compared(profile) if ours.key == key for t in found]
    assert _differences(profile, wrong, theirs) == said
