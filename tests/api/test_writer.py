"""Writes to the simulated inverter over loopback: the frames it gets, what it then holds."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from custom_components.zcs_azzurro.api.device import ModbusDevice
from custom_components.zcs_azzurro.api.errors import (
    CommitError,
    InvalidValueError,
    ReadBackError,
    TooSoonError,
    WriteRefusedError,
)
from custom_components.zcs_azzurro.api.profile.schema import Profile
from custom_components.zcs_azzurro.api.transport.base import Link
from custom_components.zcs_azzurro.api.writer import Writer
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick
from simulator.registers import COMMIT_REFUSED, ILLEGAL_VALUE, Request
from tests.conftest import Clock

BATTERY = [0, 0, 0, 4800, 4700, 3800, 4000, 2500, 2500, 90, 90, 24, 4320, 1, 10, 1]
# Battery addresses 2-4 (0x1054-0x1056): the group ends there, as public write-backs do.
BATTERY_TAIL = [0, 0, 0]


@pytest.fixture
def clock() -> Clock:
    return Clock(1000.0)


@pytest.fixture
def device(link: Link, profile: Profile) -> ModbusDevice:
    return ModbusDevice(link, 1, profile)


@pytest.fixture
def writer(device: ModbusDevice, clock: Clock) -> Writer:
    return Writer(device, clock=clock)


def _writes(inverter: Hyd3ph) -> list[Request]:
    return [request for request in inverter.log if request.function == 0x10]


def _battery(**changes: int) -> tuple[int, ...]:
    words = BATTERY + BATTERY_TAIL
    index = {"dod": 9, "eod": 10, "eps_buffer": 14}
    for name, value in changes.items():
        words[index[name]] = value
    return tuple(words)


CONTROLS: list[tuple[dict[str, Any], int, tuple[int, ...]]] = [
    ({"storage_mode": "passive"}, 0x1110, (3,)),
    ({"export_limit_mode": "feed_in_limit", "export_limit": 3000}, 0x1023, (1, 30)),
    # The other field of the group is written as read.
    ({"export_limit": 4500}, 0x1023, (0, 45)),
    ({"eps_mode": "on_cold_start_allowed"}, 0x1029, (2, 0)),
    ({"depth_of_discharge": 80}, 0x1044, _battery(dod=80)),
    ({"depth_of_discharge_off_grid": 50}, 0x1044, _battery(eod=50)),
    ({"eps_buffer": 20}, 0x1044, _battery(eps_buffer=20)),
    ({"remote_control": "off"}, 0x1104, (0,)),
    ({"output_limit_enabled": "on", "output_limit": 50.5}, 0x1105, (1, 505)),
    ({"passive_timeout": 600, "passive_timeout_action": "previous_mode"}, 0x1184, (600, 1)),
    (
        {"passive_grid_power": -1000, "passive_battery_min": 2000, "passive_battery_max": 2000},
        0x1187,
        (0xFFFF, 0xFC18, 0, 2000, 0, 2000),
    ),
]


@pytest.mark.parametrize(("values", "address", "words"), CONTROLS)
async def test_each_control_writes_its_group_whole_and_reads_it_back(
    writer: Writer,
    device: ModbusDevice,
    inverter: Hyd3ph,
    values: dict[str, Any],
    address: int,
    words: tuple[int, ...],
) -> None:
    assert await writer.write(values) is True
    count = len(words)
    profile = device.profile
    group = next(g for g in profile.groups if g.span.address == address)
    asked = {
        a for key in values for s in profile.field(key).spans for a in range(s.address, s.end + 1)
    }
    fixed = {a for a, _ in group.fixed} | {group.commit[0] if group.commit else -1}
    rest = set(range(address, address + count)) - asked - fixed
    # Registers not asked go back only as read twice alike; then the whole group is read
    # back until two reads agree.
    read = Request(0x03, address, count)
    before = [read, read] if rest else [read]
    assert inverter.log == [*before, Request(0x10, address, count, words), read, read]
    reading = await device.read(values)
    assert reading.values == values


@pytest.mark.parametrize(
    "values",
    [
        {"depth_of_discharge": 95},
        {"depth_of_discharge": 50.5},
        {"export_limit": 150},
        {"output_limit": 50.05},
        {"storage_mode": "turbo"},
        {"passive_grid_power": "1000"},
        {"passive_grid_power": 0, "passive_battery_min": 30000},
    ],
)
async def test_a_value_the_profile_refuses_sends_nothing(
    writer: Writer, stick: EthStick, inverter: Hyd3ph, values: dict[str, Any]
) -> None:
    with pytest.raises(InvalidValueError) as refused:
        await writer.write(values)
    assert refused.value.key in values
    assert inverter.log == []
    assert stick.requests == 0


async def test_fields_of_two_groups_or_not_writable_are_a_programming_error(
    writer: Writer,
) -> None:
    with pytest.raises(ValueError, match="one group"):
        await writer.write({"storage_mode": "passive", "eps_mode": "off"})
    with pytest.raises(ValueError, match="one group"):
        await writer.write({"battery_soc": 50})
    with pytest.raises(ValueError, match="not a clock group"):
        await writer.set_clock("battery", datetime(2027, 1, 1, tzinfo=UTC))


async def test_nothing_is_written_when_the_device_holds_the_value(
    writer: Writer, inverter: Hyd3ph
) -> None:
    assert (
        await writer.write(
            {
                "storage_mode": "self_use",
            }
        )
        is False
    )
    assert await writer.write({"depth_of_discharge": 90, "eps_buffer": 10}) is False
    assert _writes(inverter) == []
    # A write skipped is a success: only when the device said twice that it holds the value.
    assert [request.function for request in inverter.log] == [0x03] * 4


async def test_a_commit_result_that_means_failure_is_an_error(
    writer: Writer, device: ModbusDevice, inverter: Hyd3ph
) -> None:
    inverter.commit_result = COMMIT_REFUSED
    with pytest.raises(CommitError) as failed:
        await writer.write({"depth_of_discharge": 70})
    assert (failed.value.group, failed.value.code) == ("battery", COMMIT_REFUSED)
    assert (await device.read(["depth_of_discharge"])).values == {"depth_of_discharge": 90}


async def test_eeprom_groups_wait_the_minimum_interval_ram_groups_do_not(
    writer: Writer, inverter: Hyd3ph, clock: Clock
) -> None:
    await writer.write({"depth_of_discharge": 80})
    clock.now += 9
    with pytest.raises(TooSoonError) as soon:
        await writer.write({"depth_of_discharge": 70})
    assert soon.value.wait == pytest.approx(1)
    assert len(_writes(inverter)) == 1
    clock.now += 1
    await writer.write({"depth_of_discharge": 70})
    # The passive set-points live in RAM: an energy manager rewrites them at will.
    for watts in (1000, 2000, 3000):
        await writer.write({"passive_battery_min": watts})
    assert len(_writes(inverter)) == 5


async def test_the_interval_is_an_option(device: ModbusDevice, clock: Clock) -> None:
    writer = Writer(device, min_interval=0, clock=clock)
    await writer.write({"storage_mode": "passive"})
    await writer.write({"storage_mode": "self_use"})


async def test_a_device_exception_says_which(writer: Writer, inverter: Hyd3ph) -> None:
    # Firmware that takes fewer storage modes than the profile lists.
    inverter.groups = [
        dataclasses.replace(group, limits={0x1110: (0, 2)}) if group.first == 0x1110 else group
        for group in inverter.groups
    ]
    with pytest.raises(WriteRefusedError) as refused:
        await writer.write({"storage_mode": "passive"})
    assert (refused.value.group, refused.value.exception_code) == ("storage_mode", ILLEGAL_VALUE)
    assert refused.value.function_code == 0x10


async def test_a_read_back_that_disagrees_says_which_field(
    writer: Writer, inverter: Hyd3ph
) -> None:
    # Firmware that ignores the export limit's power (it stays as it was).
    inverter.pin(0x1024, [0])
    with pytest.raises(ReadBackError) as disagrees:
        await writer.write({"export_limit_mode": "feed_in_limit", "export_limit": 3000})
    assert disagrees.value.held == {"export_limit": 0}


async def test_a_link_drop_after_a_write_went_out_is_judged_by_the_read_back(
    writer: Writer, device: ModbusDevice, stick: EthStick
) -> None:
    stick.faults.lose_write_answer = True
    # The write reached the inverter before the connection dropped: it holds the value.
    assert await writer.write({"passive_grid_power": 500}) is True
    stick.faults.lose_write_answer = False
    assert (await device.read(["passive_grid_power"])).values == {"passive_grid_power": 500}


async def test_the_clock_is_set_and_confirmed_by_its_commit(
    writer: Writer, inverter: Hyd3ph
) -> None:
    await writer.set_clock("set_clock", datetime(2027, 3, 4, 5, 6, 7, tzinfo=UTC))
    assert _writes(inverter) == [Request(0x10, 0x1004, 7, (27, 3, 4, 5, 6, 7, 1))]
    assert inverter.read(0x042C, 4) == [27, 3, 4, 5]
    inverter.commit_result = COMMIT_REFUSED
    writer.min_interval = 0
    with pytest.raises(CommitError):
        await writer.set_clock("set_clock", datetime(2027, 3, 4, 5, 6, 7, tzinfo=UTC))


async def test_the_plant_follows_passive_charge(writer: Writer, device: ModbusDevice) -> None:
    before = await device.read(["battery_power", "grid_power"])
    assert before.values["battery_power"] == -5000  # the sun charges at the most it takes
    await writer.write({"passive_battery_min": 2000, "passive_battery_max": 2000})
    await writer.write({"storage_mode": "passive"})
    after = await device.read(["battery_power", "grid_power"])
    # Battery power counts discharge as positive: a 2000 W charge reads -2000.
    assert after.values["battery_power"] == -2000
    assert after.values["grid_power"] < before.values["grid_power"]  # type: ignore[operator]


async def test_a_commit_in_progress_is_read_again_until_it_has_a_result(
    writer: Writer, inverter: Hyd3ph
) -> None:
    writer.busy_wait = 0
    inverter.commit_busy_reads = 2
    await writer.write({"depth_of_discharge": 80})
    # Two reads before; after, two while the commit is in progress, then two alike.
    assert [r.function for r in inverter.log] == [0x03, 0x03, 0x10, 0x03, 0x03, 0x03, 0x03]
    # Still in progress after every try: a failure that names the code.
    inverter.commit_busy_reads = 100
    writer.min_interval = 0
    with pytest.raises(CommitError) as busy:
        await writer.write({"depth_of_discharge": 70})
    assert busy.value.code == 0x0001


async def test_firmware_that_does_not_serve_the_group_refuses_the_write(
    writer: Writer, inverter: Hyd3ph
) -> None:
    inverter.gaps.append((0x1110, 0x1110))
    with pytest.raises(WriteRefusedError) as refused:
        await writer.write({"storage_mode": "passive"})
    assert (refused.value.function_code, refused.value.exception_code) == (0x03, 0x02)
    assert _writes(inverter) == []
