"""Through Home Assistant: a link that damages answers gets no wrong state published."""

from __future__ import annotations

import itertools

import pytest
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zcs_azzurro.api.profile.schema import FieldType, Profile, Value
from custom_components.zcs_azzurro.const import SETTINGS_EVERY
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick
from tests.trust import is_wrong, truth

from .conftest import poll, state


def _published(hass: HomeAssistant, key: str, platform: str) -> Value | None:
    """What the entity shows, as a value of its field (None: unavailable)."""
    shown = state(hass, key, platform)
    if shown.state == STATE_UNAVAILABLE:
        return None
    if platform == "binary_sensor":
        return tuple(int(code.removeprefix("ID")) for code in shown.attributes["codes"])
    try:
        return float(shown.state)
    except ValueError:
        return shown.state


async def test_a_corrupting_link_gets_no_wrong_state_published(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    stick: EthStick,
    inverter: Hyd3ph,
    profile: Profile,
) -> None:
    # The simulated unit has one battery tower: nothing of a second is shown.
    defaults = profile.defaults()
    shown = [(field, how.platform) for field, how in profile.entities() if field.key in defaults]
    fields = sorted((field for field, _ in shown), key=lambda f: f.type is FieldType.SUM)
    true = truth(profile, inverter, tuple(fields))  # the plant's clock stands still
    stick.faults.corrupt = 0.3
    withheld = 0
    for _ in range(60):
        await poll(hass)
        for field, platform in shown:
            published = _published(hass, field.key, platform)
            assert not is_wrong(field, published, true[field.key]), (field.key, published)
            # Readings only: a setting whose answer was damaged on both reads of its poll stays
            # unavailable until settings are read again (the next poll if it had a value).
            withheld += published is None and field.key not in profile.settings
    assert stick.corrupted > 60
    assert state(hass, "fault", "binary_sensor").state == "off"
    assert withheld < stick.corrupted  # mostly read again and published right


async def test_a_setting_not_said_twice_is_asked_for_again_on_the_next_poll(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    stick: EthStick,
    inverter: Hyd3ph,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read = inverter.read
    flip = itertools.cycle([1, 2])

    def unsteady_mode(address: int, count: int) -> list[int]:
        if address == 0x1110:
            return [next(flip)]  # another storage mode on every read
        return read(address, count)

    monkeypatch.setattr(inverter, "read", unsteady_mode)
    for _ in range(SETTINGS_EVERY):  # up to the poll that reads the settings
        await poll(hass)
    assert state(hass, "storage_mode", "select").state == STATE_UNAVAILABLE
    monkeypatch.undo()
    inverter.values[0x1110] = 1
    before = stick.requests
    await poll(hass)
    # Readings (5) and settings (5) again, not ten polls later; the new mode read twice.
    assert stick.requests - before == 11
    assert state(hass, "storage_mode", "select").state == "time_of_use"
