"""scripts/demo --device: each simulated device the setup can find, passed to the simulator."""

from __future__ import annotations

import sys

import pytest

from scripts import demo
from simulator.devices import DEVICES


def test_every_device_the_setup_finds_can_be_demonstrated() -> None:
    # The meters have no serial number: the setup cannot find them, so the demo leaves them out.
    assert set(demo.DETECTED) == set(DEVICES) - {"dtsu666", "ddsu666"}


@pytest.mark.parametrize("device", demo.DETECTED)
def test_the_device_flag_is_the_demos_and_other_flags_the_simulators(
    device: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["demo", "--device", device, "--delay", "2"])
    options, simulator_flags = demo.arguments()
    assert options.device == device
    assert simulator_flags == ["--delay", "2"]


def test_a_device_the_setup_cannot_find_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["demo", "--device", "dtsu666"])
    with pytest.raises(SystemExit):
        demo.arguments()
