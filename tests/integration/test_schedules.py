"""The inverter's own schedules: a timed or a time-of-use rule written whole, read back, obeyed.

The simulated 3PH HYD keeps its rules as protocol V1.38 5.3.6-5.3.7 describes them and runs
its plant by them in the storage modes that use them (simulator/devices/rules.py).
"""

from __future__ import annotations

from typing import Any

import probatio
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.zcs_azzurro import const
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.system import SimulatedSystem
from tests.conftest import Clock, local_time

from .conftest import state
from .test_system import _setup, system_entry


async def call(
    hass: HomeAssistant, service: str, entry: MockConfigEntry, **data: Any
) -> dict[str, Any]:
    answer = await hass.services.async_call(
        const.DOMAIN,
        service,
        {"config_entry_id": entry.entry_id, **data},
        blocking=True,
        return_response=True,
    )
    assert isinstance(answer, dict)
    return answer


async def test_a_timed_rule_is_written_whole_kept_under_its_number_and_obeyed(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, inverter: Hyd3ph
) -> None:
    # A reserved register that reads other than 0: no public write-back says what to send.
    inverter.values[0x111C] = 7
    inverter.log.clear()
    answer = await call(
        hass,
        "set_timed_charge_rule",
        loaded_entry,
        rule=1,
        charge_start="02:00",
        charge_end="05:30",
        charge_power=3000,
    )
    assert answer == {
        "rule": 1,
        "charge": {"start": "02:00", "end": "05:30", "power": 3000},
        "discharge": None,
    }
    (write,) = [r for r in inverter.log if r.function == 0x10]
    # All fifteen registers, the number first and the store command last.
    assert (write.address, len(write.words), write.words[0], write.words[-1]) == (
        0x1111,
        15,
        1,
        1,
    )
    # The reserved ones (0x111B-0x111E) as the inverter holds them: read twice alike first.
    assert write.words[0x111B - 0x1111 : 0x111F - 0x1111] == (0, 7, 0, 0)
    before = inverter.log[: inverter.log.index(write)]
    assert sum(r.function == 0x03 and r.address == 0x1111 for r in before) >= 2
    assert inverter.timed_rules[1] == [1, 2 << 8, 5 << 8 | 30, 0, 0, 0, 3000, 0, 1]
    # The inverter follows its rules once its storage mode says so.
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": state(hass, "storage_mode", "select").entity_id,
         "option": "timed_charge_discharge"},
        blocking=True,
    )  # fmt: skip
    clock = inverter.clock
    assert isinstance(clock, Clock)
    clock.now = local_time(3)
    await loaded_entry.runtime_data.coordinator.async_refresh()
    assert float(state(hass, "battery_power").state) == -3000
    assert inverter.eeprom_writes[0x1113] == 1


async def test_a_time_of_use_rule_is_written_whole_and_obeyed_on_its_days(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, inverter: Hyd3ph
) -> None:
    answer = await call(
        hass,
        "set_time_of_use_rule",
        loaded_entry,
        rule=0,
        start="01:00",
        end="06:00",
        mode="forced_charge",
        target_soc=80,
        power=2500,
        weekdays=["sun"],
    )
    assert answer["weekdays"] == ["sun"]
    assert (answer["first_day"], answer["last_day"]) == ("01-01", "12-31")
    assert inverter.tou_rules[0] == [1, 0x0100, 0x0600, 80, 0, 2500, 0x0101, 0x0C1F, 0x40, 0, 0]
    inverter.write(0x1110, [1])  # time of use
    clock = inverter.clock
    assert isinstance(clock, Clock)
    clock.now = local_time(2)  # Sunday 21 June 2026, 02:00
    await loaded_entry.runtime_data.coordinator.async_refresh()
    assert float(state(hass, "battery_power").state) == -2500
    clock.now = local_time(2, (2026, 6, 22))  # Monday
    await loaded_entry.runtime_data.coordinator.async_refresh()
    assert float(state(hass, "battery_power").state) > 0


_WINDOW = {"rule": 0, "start": "01:00", "end": "02:00"}


@pytest.mark.parametrize(
    ("service", "data"),
    [
        ("set_timed_charge_rule", {"rule": 4}),
        ("set_timed_charge_rule", {"rule": 0, "charge_start": "02:00"}),
        (
            "set_timed_charge_rule",
            {"rule": 0, "charge_start": "2:00", "charge_end": "25:00", "charge_power": 1000},
        ),
        ("set_time_of_use_rule", {**_WINDOW, "mode": "boost"}),
        ("set_time_of_use_rule", {**_WINDOW, "mode": "self_use", "target_soc": 5}),
        ("set_time_of_use_rule", {**_WINDOW, "mode": "self_use", "weekdays": ["someday"]}),
    ],
)
async def test_a_rule_the_inverter_cannot_hold_is_refused_before_anything_is_sent(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    inverter: Hyd3ph,
    service: str,
    data: dict[str, Any],
) -> None:
    inverter.log.clear()
    with pytest.raises(probatio.Invalid):
        await call(hass, service, loaded_entry, **data)
    assert not [r for r in inverter.log if r.function == 0x10]


async def test_a_cloud_entry_cannot_write_a_schedule(
    hass: HomeAssistant, system: SimulatedSystem, http: Any
) -> None:
    entry = await _setup(hass, system_entry(system))
    with pytest.raises(ServiceValidationError) as refused:
        await call(hass, "set_timed_charge_rule", entry, rule=0)
    assert refused.value.translation_key == "no_schedules"
    assert system.writes == []
