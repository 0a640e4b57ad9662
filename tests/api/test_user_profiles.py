"""The user's own profiles: the same schema, names of their own, and a bad file used not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from custom_components.zcs_azzurro.api.profile.loader import load_user
from custom_components.zcs_azzurro.api.profile.schema import FieldType

MINE = """\
id: my_meter
name: My meter
manufacturer: Example
model: Example meter
sources: ["the vendor's register sheet"]
match:
  serial_prefixes: [ZX9]
reads:
  max_registers: 40
  blocks:
    - [0x0000, 0x0027]
  input_blocks:
    - [0x2000, 0x200B]
identity:
  - {key: serial, type: str, address: 0x2001, count: 7}
fields:
  - key: power
    name: {en: Power, it: Potenza}
    type: f32
    address: 0x0010
    platform: sensor
    device_class: power
    state_class: measurement
    unit: W
  - key: mode
    name: Mode
    type: u16
    address: 0x0020
    options: {0: idle, 1: running}
    write: {}
    platform: select
writes:
  max_registers: 10
  groups:
    - {key: mode, registers: [0x0020, 0x0020]}
"""


def _write(directory: Path, name: str, text: str) -> None:
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(text, encoding="utf-8")


def test_a_user_profile_loads_with_its_names(tmp_path: Path) -> None:
    _write(tmp_path, "my_meter.yaml", MINE)
    (profile,), errors = load_user(tmp_path)
    assert errors == ()
    assert not profile.bundled
    assert profile.field("power").type is FieldType.F32
    assert profile.rules.is_input(profile.serial.spans[0])
    assert profile.entity_name("power", "it") == "Potenza"
    assert profile.entity_name("power", "de") == "Power"
    assert profile.entity_name("mode", "it") == "Mode"
    # A key without a field of its own (a button's group) is named by its key.
    assert profile.entity_name("set_clock", "en") == "set_clock"


def test_no_directory_no_profiles(tmp_path: Path) -> None:
    assert load_user(tmp_path / "absent") == ((), ())


@pytest.mark.parametrize(
    ("change", "line", "field", "message"),
    [
        # Not YAML at all.
        (("  max_registers: 40\n", "  max_registers: [40\n"), 10, "(file)", ""),
        # A key the schema does not know (a typo must not pass silently).
        (("    unit: W\n", "    unit: W\n    colour: red\n"), 25, "fields[0].colour", "known key"),
        # A key missing.
        (("    type: f32\n", ""), 17, "fields[0].type", "is required"),
        # A value of the wrong kind.
        (("    address: 0x0010\n", "    address: ten\n"), 20, "fields[0].address", "address"),
        # An address no read block holds.
        (("    address: 0x0010\n", "    address: 0x0300\n"), 20, "fields[0].address", "outside"),
        # A shown field without a name: no translation knows a user's keys.
        (("    name: Mode\n", ""), 25, "fields[1].name", "needs a name"),
        # A name that is neither a text nor languages.
        (("    name: Mode\n", "    name: [Mode]\n"), 26, "fields[1].name", "language"),
        # A float32 reading written.
        (
            ("    address: 0x0010\n", "    address: 0x0010\n    write: {}\n"),
            21,
            "fields[0].write",
            "u16",
        ),
        # An input register in a write group.
        (
            ("[0x0020, 0x0020]}", "[0x2002, 0x2002]}"),
            35,
            "writes.groups[0].registers",
            "input registers",
        ),
        # The id must be the file's name.
        (("id: my_meter\n", "id: your_meter\n"), 1, "id", "file's name"),
    ],
)
def test_each_kind_of_bad_user_profile_names_file_line_and_field(
    tmp_path: Path, change: tuple[str, str], line: int, field: str, message: str
) -> None:
    old, new = change
    assert old in MINE
    _write(tmp_path, "my_meter.yaml", MINE.replace(old, new, 1))
    _write(tmp_path, "other.yaml", MINE.replace("id: my_meter", "id: other"))
    profiles, (error,) = load_user(tmp_path)
    # Nothing of the bad file is used; the good one beside it is.
    assert [p.id for p in profiles] == ["other"]
    assert (error.source, error.line, error.field) == ("my_meter.yaml", line, field)
    assert message in error.problem
    assert str(error).startswith(f"my_meter.yaml:{line}: {field}: ")


def test_a_user_profile_cannot_take_a_bundled_id(tmp_path: Path) -> None:
    _write(tmp_path, "zcs_3ph_hyd_zss.yaml", MINE.replace("id: my_meter", "id: zcs_3ph_hyd_zss"))
    profiles, (error,) = load_user(tmp_path, frozenset({"zcs_3ph_hyd_zss"}))
    assert profiles == ()
    assert (error.line, error.field) == (1, "id")
    assert "bundled" in error.problem


@pytest.mark.parametrize("page", ["profiles.md", "profiles.it.md"])
def test_the_docs_example_is_a_valid_user_profile(tmp_path: Path, page: str) -> None:
    text = (Path(__file__).parents[2] / "docs" / page).read_text(encoding="utf-8")
    example = text.split("```yaml\n# my_heat_pump.yaml", 1)[1].split("```", 1)[0]
    _write(tmp_path, "my_heat_pump.yaml", "# my_heat_pump.yaml" + example)
    (profile,), errors = load_user(tmp_path)
    assert errors == ()
    assert "PLACEHOLDERS" in example
    assert {f.key for f in profile.fields if f.write} == {"setpoint", "mode"}
    (part,) = profile.presence
    assert part.fields == {"circuit2_state", "circuit2_temperature"}


@pytest.mark.parametrize(
    ("content", "line", "problem"),
    [
        # Saved by a Windows editor as cp1252: "Potenza è" is one byte 0xE8 for the accent.
        (MINE.replace("it: Potenza}", "it: Potenza attiva è}").encode("cp1252"), 18, "UTF-8"),
        # A key that is a list (`? [a, b]`).
        ((MINE + "? [a, b]\n: c\n").encode(), 36, "plain name"),
        # Nesting deeper than the parser's recursion allows.
        ((MINE + "extra: " + "[" * 5000 + "]" * 5000 + "\n").encode(), None, "nested"),
        # An integer of 5,000 digits (Python refuses to read more than 4,300).
        (MINE.replace("max_registers: 40", "max_registers: " + "9" * 5000).encode(), 9, "long"),
    ],
    ids=["cp1252", "list_key", "deep", "huge_integer"],
)
def test_a_file_no_parser_expects_fails_alone_with_its_own_error(
    tmp_path: Path, content: bytes, line: int | None, problem: str
) -> None:
    tmp_path.joinpath("my_meter.yaml").write_bytes(content)
    _write(tmp_path, "other.yaml", MINE.replace("id: my_meter", "id: other"))
    profiles, (error,) = load_user(tmp_path)
    assert [p.id for p in profiles] == ["other"]
    assert (error.source, error.line, error.field) == ("my_meter.yaml", line, "(file)")
    assert problem in error.problem
