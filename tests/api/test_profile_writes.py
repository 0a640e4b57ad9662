"""Writable fields and write groups: a profile that could make a bad write does not load."""

from __future__ import annotations

from pathlib import Path

import pytest

from custom_components.zcs_azzurro.api.errors import ProfileError
from custom_components.zcs_azzurro.api.profile.loader import load_profile
from custom_components.zcs_azzurro.api.profile.schema import GroupKind, Profile, Span

GOOD = """\
id: test_device
name: Test device
manufacturer: ZCS Azzurro
model: Test
sources: ["made up for this test"]
match:
  serial_prefixes: [ZT1]
reads:
  max_registers: 20
  blocks:
    - [0x0100, 0x011F]
identity:
  - {key: serial, type: str, address: 0x0100, count: 4}
fields:
  - key: mode
    type: u16
    address: 0x0110
    options: {0: idle, 1: busy}
    write: {}
    platform: select
  - key: limit
    type: s16
    address: 0x0111
    scale: 100
    write: {range: [0, 2000], step: 100}
    platform: number
  - key: power
    type: u16
    address: 0x0112
    options: {0: "off", 1: "on"}
    write: {}
    platform: switch
writes:
  max_registers: 10
  groups:
    - {key: settings, registers: [0x0110, 0x0111]}
    - {key: power, registers: [0x0112, 0x0114], commit: [0x0114, 1], volatile: true}
    - {key: clock, registers: [0x0118, 0x011E], commit: [0x011E, 1], kind: clock}
"""


def _load(tmp_path: Path, text: str) -> Profile:
    path = tmp_path / "device.yaml"
    path.write_text(text, encoding="utf-8")
    return load_profile(path)


def test_fields_know_their_group(tmp_path: Path) -> None:
    profile = _load(tmp_path, GOOD)
    settings = profile.group("settings")
    assert settings.span == Span(0x0110, 2)
    assert [f.key for f in profile.members(settings)] == ["mode", "limit"]
    power = profile.group("power")
    assert (power.commit, power.volatile) == ((0x0114, 1), True)
    assert profile.group("clock").kind is GroupKind.CLOCK
    limit = profile.field("limit").write
    assert limit is not None
    assert (limit.group, limit.range, limit.step) == ("settings", (0.0, 2000.0), 100.0)
    assert profile.settings == {"mode", "limit", "power"}
    assert power.fixed == ()
    fixed = _load(tmp_path, GOOD.replace("volatile: true}", "volatile: true, fixed: {0x0113: 0}}"))
    assert fixed.group("power").fixed == ((0x0113, 0),)


def test_a_profile_without_writes_has_no_groups(tmp_path: Path) -> None:
    text = GOOD.split("fields:", maxsplit=1)[0] + "fields: []\n"
    assert _load(tmp_path, text).groups == ()


@pytest.mark.parametrize(
    ("change", "line", "field", "message"),
    [
        (
            ("[0x0112, 0x0114], commit", "[0x0111, 0x0114], commit"),
            37,
            "writes.groups[1].registers",
            "overlaps group settings",
        ),
        (
            (
                "{key: settings, registers: [0x0110, 0x0111]}",
                "{key: settings, registers: [0x0110, 0x0110]}",
            ),
            25,
            "fields[1].write",
            "limit lies outside every write group",
        ),
        (
            ("max_registers: 10", "max_registers: 2"),
            37,
            "writes.groups[1].registers",
            "exceed max_registers (2)",
        ),
        (("max_registers: 10", "max_registers: 200"), 34, "writes.max_registers", "1..123"),
        (
            ("    - [0x0100, 0x011F]", "    - [0x0100, 0x0116]"),
            38,
            "writes.groups[2].registers",
            "cannot be read back in one request",
        ),
        (
            ("commit: [0x0114, 1], v", "commit: [0x0115, 1], v"),
            37,
            "writes.groups[1].commit",
            "in the group",
        ),
        (
            ("[0x0118, 0x011E], commit: [0x011E", "[0x0118, 0x011D], commit: [0x011D"),
            38,
            "writes.groups[2].kind",
            "clock group",
        ),
        (("power, registers", "settings, registers"), 37, "writes.groups[1].key", "used twice"),
        (
            ("[0x0112, 0x0114], commit: [0x0114", "[0x0112, 0x0114], commit: [0x0112"),
            29,
            "fields[2].address",
            "commit register of power",
        ),
        (
            ("write: {}\n    platform: select", "platform: select"),
            15,
            "fields[0].write",
            "how it is written",
        ),
        (("platform: select", "platform: sensor"), 20, "fields[0].platform", "one of number"),
        (("step: 100}", "step: 100}\n    options: {0: a}"), 26, "fields[1].options", "u16 only"),
        (("range: [0, 2000], step: 100", "step: 100"), 25, "fields[1].write", "a range"),
        (
            ("range: [0, 2000], step: 100", "range: [0, 2000]"),
            25,
            "fields[1].write",
            "needs a step",
        ),
        (('{0: "off", 1: "on"}', "{0: down, 1: up}"), 30, "fields[2].options", "off and on"),
        (
            (
                "type: u16\n    address: 0x0110\n    options: {0: idle, 1: busy}\n    write: {}",
                "type: str\n    address: 0x0110\n    count: 1\n    write: {}",
            ),
            19,
            "fields[0].write",
            "only u16, s16",
        ),
        (
            (
                "    write: {}\n    platform: select",
                "    write: {range: [0, 1], step: 1}\n    platform: select",
            ),
            19,
            "fields[0].write",
            "not both",
        ),
        (
            ("    write: {}\n    platform: select", "    write: {}\n    platform: number"),
            19,
            "fields[0].write",
            "a number needs a range",
        ),
        (
            ("options: {0: idle, 1: busy}\n    write: {}", "write: {range: [0, 1], step: 1}"),
            18,
            "fields[0].write",
            "written by its options",
        ),
        (
            ("    - [0x0100, 0x011F]\n", "    - [0x0100, 0x011F]\n  gaps: [[0x0113, 0x0113]]\n"),
            38,
            "writes.groups[1].registers",
            "touches a gap",
        ),
        (
            ("volatile: true}", "volatile: true, fixed: {0x0114: 0}}"),
            37,
            "writes.groups[1].fixed",
            "off its commit register",
        ),
        (
            ("volatile: true}", "volatile: true, fixed: {0x0115: 0}}"),
            37,
            "writes.groups[1].fixed",
            "lie in the group",
        ),
        (
            ("volatile: true}", "volatile: true, fixed: {0x0112: 0}}"),
            29,
            "fields[2].address",
            "a fixed register of power",
        ),
        (
            ("volatile: true}", "volatile: true, fixed: {0x0113: -1}}"),
            37,
            "writes.groups[1].fixed",
            "a mapping of address to value",
        ),
    ],
)
def test_a_bad_write_names_file_line_and_field(
    tmp_path: Path, change: tuple[str, str], line: int, field: str, message: str
) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(ProfileError) as error:
        _load(tmp_path, GOOD.replace(old, new, 1))
    assert (error.value.source, error.value.line, error.value.field) == ("device.yaml", line, field)
    assert message in str(error.value)
