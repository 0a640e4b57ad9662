"""A field's evidence: what public sources say of it, checked when the profile loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from custom_components.zcs_azzurro.api.errors import ProfileError
from custom_components.zcs_azzurro.api.profile.loader import load_profile
from custom_components.zcs_azzurro.api.profile.schema import Difference, Status

from .test_profile_loader import GOOD

EVIDENCE = """\
    evidence:
      status: contested
      note: Two maps give this power at another address.
      agree: [a map that agrees]
      differ:
        - {source: another map, address: 0x011C, signed: false, note: unsigned there}
        - {source: a third map, scale: 1, function: 4}
      candidates: [0x011C]
"""
# The power field's last line: evidence goes after it.
POWER_END = "    unit: W\n  - key: energy"
READS_EVIDENCE = """\
  evidence:
    status: unconfirmed
    note: No public source gives the register limit.
"""


def _load(tmp_path: Path, text: str):
    path = tmp_path / "device.yaml"
    path.write_text(text, encoding="utf-8")
    return load_profile(path)


def _with_evidence(evidence: str = EVIDENCE) -> str:
    assert POWER_END in GOOD
    return GOOD.replace(POWER_END, "    unit: W\n" + evidence + "  - key: energy")


def test_evidence_is_loaded_with_what_each_source_says(tmp_path: Path) -> None:
    profile = _load(tmp_path, _with_evidence())
    evidence = profile.field("power").evidence
    assert evidence is not None
    assert evidence.status is Status.CONTESTED
    assert evidence.doubted
    assert evidence.agree == ("a map that agrees",)
    assert evidence.differ == (
        Difference("another map", "unsigned there", address=0x011C, signed=False),
        Difference("a third map", scale=1.0, function=4),
    )
    assert evidence.differ[0].says() == {"address": 0x011C, "signed": False}
    assert evidence.candidates == (0x011C,)
    # A device report reads every other address the sources give, once.
    assert evidence.addresses == (0x011C,)
    assert profile.field("energy").evidence is None


def test_the_read_rules_carry_evidence_too(tmp_path: Path) -> None:
    text = GOOD.replace("  gaps:\n", READS_EVIDENCE + "  input_fallback: true\n  gaps:\n")
    rules = _load(tmp_path, text).rules
    assert rules.evidence is not None
    assert rules.evidence.status is Status.UNCONFIRMED
    assert not rules.evidence.candidates
    assert rules.input_fallback


@pytest.mark.parametrize(
    ("change", "line", "field", "message"),
    [
        (("status: contested", "status: likely"), 29, "fields[0].evidence.status", "confirmed or"),
        (
            ("      note: Two", "      seen: never\n      note: Two"),
            30,
            "fields[0].evidence.seen",
            "not a known",
        ),
        (
            ("{source: a third map, scale: 1, function: 4}", "{source: a third map}"),
            34,
            "fields[0].evidence.differ[1].source",
            "says nothing otherwise",
        ),
        (
            ("function: 4}", "function: 6}"),
            34,
            "fields[0].evidence.differ[1].function",
            "must be 3 or 4",
        ),
        (
            ("signed: false,", "signed: maybe,"),
            33,
            "fields[0].evidence.differ[0].signed",
            "true or false",
        ),
        (
            ("candidates: [0x011C]", "candidates: [0x0200]"),
            28,
            "fields[0].evidence",
            "outside every read block",
        ),
        (
            ("candidates: [0x011C]", "candidates: [0x0110]"),
            28,
            "fields[0].evidence",
            "own address",
        ),
    ],
)
def test_bad_evidence_names_file_line_and_field(
    tmp_path: Path, change: tuple[str, str], line: int, field: str, message: str
) -> None:
    old, new = change
    text = _with_evidence()
    assert old in text
    with pytest.raises(ProfileError) as error:
        _load(tmp_path, text.replace(old, new, 1))
    assert (error.value.source, error.value.line, error.value.field) == ("device.yaml", line, field)
    assert message in str(error.value)


def test_read_rules_have_no_candidates(tmp_path: Path) -> None:
    evidence = READS_EVIDENCE + "    candidates: [0x0110]\n"
    with pytest.raises(ProfileError, match=r"reads\.evidence\.candidates: is not a known key"):
        _load(tmp_path, GOOD.replace("  gaps:\n", evidence + "  gaps:\n"))


FOLLOWER = """\
  - key: energy_back
    type: u32
    address: 0x0112
    platform: sensor
    evidence:
      status: contested
      note: Kept where the power is found.
      candidates: [0x011E]
      follows: power
"""


def test_a_field_may_follow_another_to_its_candidate(tmp_path: Path) -> None:
    text = _with_evidence().replace("  - key: energy\n", FOLLOWER + "  - key: energy\n", 1)
    text = text.replace(
        "    address: 0x0112\n    scale: 0.1\n", "    address: 0x0118\n    scale: 0.1\n"
    )
    evidence = _load(tmp_path, text).field("energy_back").evidence
    assert evidence is not None
    assert evidence.follows == "power"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("follows: power", "follows: energy"), "energy is no field with candidates listed before"),
        (("follows: power", "follows: energy_back"), "is no field with candidates"),
        (("      candidates: [0x011E]\n      follows", "      follows"), "needs candidates"),
    ],
)
def test_a_follower_needs_a_leader_with_candidates(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    text = _with_evidence().replace("  - key: energy\n", FOLLOWER + "  - key: energy\n", 1)
    text = text.replace(
        "    address: 0x0112\n    scale: 0.1\n", "    address: 0x0118\n    scale: 0.1\n"
    )
    old, new = change
    assert old in text
    with pytest.raises(ProfileError, match=message):
        _load(tmp_path, text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("ratio", "message"),
    [
        ("[rated_power]", None),
        ("[serial]", "serial is not a number of the identity"),
        ("[power]", "power is not a number of the identity"),
    ],
)
def test_a_ratio_is_a_number_the_identity_reads(
    tmp_path: Path, ratio: str, message: str | None
) -> None:
    text = GOOD.replace(POWER_END, f"    unit: W\n    ratio: {ratio}\n  - key: energy")
    if message is None:
        assert _load(tmp_path, text).field("power").ratio == ("rated_power",)
        return
    with pytest.raises(ProfileError, match=message):
        _load(tmp_path, text)
