"""Profiles are checked when loaded; a bad one names the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from custom_components.zcs_azzurro.api.errors import ProfileError
from custom_components.zcs_azzurro.api.profile.loader import BUNDLED, load_profile
from custom_components.zcs_azzurro.api.profile.schema import FieldType, Profile, WordOrder

GOOD = """\
id: test_device
name: Test device
manufacturer: ZCS Azzurro
model: "Test {rated_power}"
sources: ["made up for this test"]
match:
  serial_prefixes: [ZT1]
reads:
  max_registers: 10
  blocks:
    - [0x0100, 0x011F]
  gaps:
    - [0x0108, 0x0109]
identity:
  - {key: serial, type: str, address: 0x0100, count: 4}
  - {key: rated_power, type: u16, address: 0x0104, scale: 100}
fields:
  - key: power
    type: s32
    address: 0x0110
    word_order: little
    scale: -10
    valid: [-1000, 1000]
    platform: sensor
    device_class: power
    state_class: measurement
    unit: W
  - key: energy
    type: u32
    address: 0x0112
    scale: 0.1
    counter: {kind: lifetime, max_rate: 10}
    platform: sensor
    device_class: energy
    state_class: total_increasing
    unit: kWh
    enabled: false
  - key: alarms
    type: bits
    parts: [[0x0114, 2], [0x011A, 1]]
    platform: binary_sensor
    device_class: problem
  - key: mode
    type: u16
    address: 0x0116
    options: {0: stopped, 1: running}
    platform: sensor
    device_class: enum
    category: diagnostic
  - key: twice
    type: sum
    of: [power, power]
    platform: sensor
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "device.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_profile_loads(tmp_path: Path) -> None:
    profile = load_profile(_write(tmp_path, GOOD))
    assert profile.id == "test_device"
    assert profile.serial_prefixes == ("ZT1",)
    assert profile.rules.gaps[0].address == 0x0108
    power = profile.field("power")
    assert (power.type, power.word_order, power.scale, power.valid) == (
        FieldType.S32,
        WordOrder.LITTLE,
        -10.0,
        (-1000.0, 1000.0),
    )
    assert [span.count for span in profile.field("alarms").spans] == [2, 1]
    assert profile.field("energy").presentation.enabled is False
    assert profile.field("mode").options == {0: "stopped", 1: "running"}
    assert profile.model_name({"rated_power": 600, "serial": None}) == "Test 600"
    assert profile.model_name({}) == "Test device"
    assert profile.matches("ZT1000")
    assert not profile.matches("ZP1000")


def test_the_bundled_profile_loads_and_cites_its_sources(profile: Profile) -> None:
    assert "zcs_3ph_hyd_zss.yaml" in {path.name for path in BUNDLED.glob("*.yaml")}
    assert profile.serial_prefixes == ("ZP1", "ZP2")
    assert any("Modbus-G3" in source for source in profile.sources)
    assert profile.rules.max_registers == 60
    counters = {f.key for f in profile.fields if f.counter}
    assert {"pv_energy_total", "grid_import_energy_total", "grid_export_energy_total"} <= counters


@pytest.mark.parametrize(
    ("change", "line", "field", "message"),
    [
        (
            ("  - key: power\n", "  - key: power\n    colour: red\n"),
            19,
            "fields[0].colour",
            "not a known key",
        ),
        (("id: test_device\n", ""), 1, "id", "is required"),
        (
            ("address: 0x0110\n", "address: 0x0200\n"),
            20,
            "fields[0].address",
            "outside every read block",
        ),
        (("address: 0x0110\n", "address: 0x0107\n"), 20, "fields[0].address", "touches a gap"),
        (("type: s32\n", "type: s33\n"), 19, "fields[0].type", "must be u16 or s16"),
        (("scale: -10\n", "scale: 0\n"), 22, "fields[0].scale", "non-zero number"),
        (
            ("valid: [-1000, 1000]", "valid: [1000, -1000]"),
            23,
            "fields[0].valid",
            "[lowest, highest]",
        ),
        (
            ("type: u16\n    address: 0x0116", "type: s16\n    address: 0x0116"),
            46,
            "fields[3].options",
            "u16 only",
        ),
        (("  - key: energy", "  - key: power"), 28, "fields[1].key", "used twice"),
        (("of: [power, power]", "of: [power, nothing]"), 52, "fields[4].of", "not a numeric field"),
        (
            ("state_class: total_increasing", "state_class: measurement"),
            32,
            "fields[1].counter",
            "total_increasing",
        ),
        (("kind: lifetime", "kind: forever"), 32, "fields[1].counter.kind", "lifetime or daily"),
        (("{key: serial, type: str", "{key: number, type: str"), 14, "identity", "key serial"),
        (("max_registers: 10", "max_registers: 0"), 9, "reads.max_registers", "1..125"),
        (
            ("parts: [[0x0114, 2], [0x011A, 1]]", "parts: [[0x0114, 200]]"),
            40,
            "fields[2].parts",
            "[address, count]",
        ),
        (
            ("    - [0x0100, 0x011F]", "    - [0x011F, 0x0100]"),
            10,
            "reads.blocks",
            "[first address, last",
        ),
        (("count: 4}", "count: 11}"), 15, "identity[0].count", "exceeds max_registers"),
        (
            ("platform: binary_sensor", "platform: weather"),
            41,
            "fields[2].platform",
            "sensor or binary_sensor or number",
        ),
        (("enabled: false", "enabled: no-thanks"), 37, "fields[1].enabled", "true or false"),
        (("fields:\n", "fields: 3\nformer_fields:\n"), 17, "fields", "must be a list"),
        (("match:\n  serial_prefixes: [ZT1]\n", "match: ZT1\n"), 6, "match", "must be a mapping"),
    ],
)
def test_a_bad_profile_names_file_line_and_field(
    tmp_path: Path, change: tuple[str, str], line: int, field: str, message: str
) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(ProfileError) as error:
        load_profile(_write(tmp_path, GOOD.replace(old, new, 1)))
    assert (error.value.source, error.value.line, error.value.field) == ("device.yaml", line, field)
    assert message in str(error.value)
    assert str(error.value).startswith(f"device.yaml:{line}: {field}: ")


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"^device\.yaml:3: \(file\): "):
        load_profile(_write(tmp_path, "id: x\nname: [unclosed\nmodel: y\n"))


def test_a_missing_file_is_a_profile_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"^nothing\.yaml: \(file\): "):
        load_profile(tmp_path / "nothing.yaml")


def test_a_file_that_is_no_mapping(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"^device\.yaml:1: \(file\): must be a mapping"):
        load_profile(_write(tmp_path, "- just\n- a list\n"))


# An extension the device may have: its entities appear once it reports one.
PRESENCE = """\
presence:
  - key: extension
    fields: [twice]
    when:
      - {field: power, at_least: 40}
      - {field: mode, one_of: [running]}
"""


def test_a_part_is_reported_by_any_of_its_conditions(tmp_path: Path) -> None:
    profile = load_profile(_write(tmp_path, GOOD + PRESENCE))
    (part,) = profile.presence
    assert (part.key, part.fields, part.probes) == ("extension", {"twice"}, {"power", "mode"})
    assert profile.presence_of("twice") is part
    assert profile.presence_of("power") is None
    assert not part.reported({"power": 39.9, "mode": "stopped"})
    assert not part.reported({"power": None, "mode": None})
    assert part.reported({"power": 40, "mode": None})
    assert part.reported({"power": 0, "mode": "running"})


@pytest.mark.parametrize(
    ("change", "line", "field", "message"),
    [
        (("fields: [twice]", "fields: [nothing]"), 56, "presence[0].fields", "not a field"),
        (("fields: [twice]", "fields: [alarms]"), 56, "presence[0].fields", "not shown as a"),
        (("fields: [twice]", "fields: [twice, twice]"), 56, "presence[0].fields", "in extension"),
        (
            ("field: power, at_least", "field: nothing, at_least"),
            58,
            "presence[0].when[0].field",
            "not a field",
        ),
        (
            ("power, at_least: 40", "power, at_least: lots"),
            58,
            "presence[0].when[0].at_least",
            "a number",
        ),
        (
            ("power, at_least: 40", "mode, at_least: 1"),
            58,
            "presence[0].when[0].at_least",
            "not a numeric",
        ),
        (
            ("at_least: 40}", "at_least: 40, one_of: [running]}"),
            58,
            "presence[0].when[0].field",
            "not both",
        ),
        (
            ("one_of: [running]", "one_of: [flying]"),
            59,
            "presence[0].when[1].one_of",
            "flying is not an option",
        ),
        (("    when:\n", "    when: []\n    x:\n"), 57, "presence[0].when", "at least one"),
        (("    fields: [twice]\n", ""), 55, "presence[0].fields", "is required"),
    ],
)
def test_a_bad_part_names_file_line_and_field(
    tmp_path: Path, change: tuple[str, str], line: int, field: str, message: str
) -> None:
    old, new = change
    text = GOOD + PRESENCE
    assert old in text
    with pytest.raises(ProfileError) as error:
        load_profile(_write(tmp_path, text.replace(old, new, 1)))
    assert (error.value.line, error.value.field) == (line, field), str(error.value)
    assert message in str(error.value)
