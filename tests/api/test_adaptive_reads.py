"""Reads that adapt to the device: shorter requests, input registers, another address.

The public maps disagree on how long a read a Sofar takes (60 registers by the protocol,
48 in the integrations most used) and on how meters are read; the device layer learns each
device's answer instead of trusting one map.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from custom_components.zcs_azzurro.api.device import FIRST_RETRY_POLLS, ModbusDevice
from custom_components.zcs_azzurro.api.errors import NoResponseError
from custom_components.zcs_azzurro.api.profile.loader import load_bundled
from custom_components.zcs_azzurro.api.profile.schema import Profile, Span
from custom_components.zcs_azzurro.api.transport.base import Link
from simulator.devices.chint import Dtsu666
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick
from simulator.registers import ModbusExceptionError
from tests.conftest import Clock, link_to, local_time


def _readings(profile: Profile) -> list[str]:
    """Every field the 3PH HYD ZSS shows that is no setting."""
    return [f.key for f in profile.fields if f.write is None and f.presentation]


def _longest(requests: tuple[Span, ...]) -> int:
    return max(request.count for request in requests)


async def _everything(link: Link, profile: Profile) -> dict[str, object]:
    """What a device that takes any length reads (values hold still: the clock stands)."""
    return (await ModbusDevice(link, 1, profile).read(_readings(profile))).values


async def test_a_device_refusing_reads_over_48_registers_is_read_whole_at_once(
    link: Link, inverter: Hyd3ph, profile: Profile, caplog: pytest.LogCaptureFixture
) -> None:
    served = await _everything(link, profile)
    assert _longest((await ModbusDevice(link, 1, profile).read(_readings(profile))).requests) > 48
    inverter.max_read = 48  # python -m simulator --max-read 48: exception 3 above it
    device = ModbusDevice(link, 1, profile)
    caplog.set_level(logging.INFO)

    first = await device.read(_readings(profile))
    # The long requests are refused, and read in halves in the same poll: nothing is lost.
    assert first.values == served
    assert first.refused == ()
    learnt = re.search(
        r"refuses to read \d+ registers at once: it is read (\d+) at a time", caplog.text
    )
    assert learnt is not None
    # The longest request that answered: no longer than the device serves.
    assert int(learnt[1]) <= 48
    assert device.max_registers == int(learnt[1])
    second = await device.read(_readings(profile))
    assert second.values == served
    assert second.refused == ()
    assert _longest(second.requests) <= device.max_registers


async def test_a_length_learnt_is_tried_again_later_and_learnt_again_at_once(
    link: Link, inverter: Hyd3ph, profile: Profile
) -> None:
    clock = Clock(0.0)
    inverter.max_read = 48
    device = ModbusDevice(link, 1, profile, clock=clock)
    keys = ["running_state", "module_temperature", "fault", "battery_soc"]
    assert Span(0x0404, 58) in (await device.read(keys)).requests
    for _ in range(FIRST_RETRY_POLLS - 1):
        assert _longest((await device.read(keys)).requests) < 48
    # Asked again as the map allows: refused again, read whole all the same, learnt again.
    again = await device.read(keys)
    assert Span(0x0404, 58) in again.requests
    assert again.values["running_state"] == "grid_connected"
    # ... and the next try waits twice as long.
    for _ in range(2 * FIRST_RETRY_POLLS - 1):
        assert _longest((await device.read(keys)).requests) < 48
    assert Span(0x0404, 58) in (await device.read(keys)).requests
    # A device that takes the length again is read so, and the lesson forgotten.
    inverter.max_read = 60
    for _ in range(4 * FIRST_RETRY_POLLS):
        await device.read(keys)
    assert device.max_registers == 60


async def test_a_logger_silent_to_long_reads_is_read_in_shorter_ones(
    link: Link, stick: EthStick, profile: Profile
) -> None:
    served = await _everything(link, profile)
    stick.faults.silent_over = 48  # python -m simulator --silent-over 48: no answer at all
    device = ModbusDevice(link, 1, profile)
    await device.read(["serial"])  # setup reads the identity: short requests answer
    first = await device.read(_readings(profile))
    assert first.values == served
    assert _longest((await device.read(_readings(profile))).requests) <= 48


async def test_a_device_silent_to_every_read_is_not_taken_for_a_short_one(
    link: Link, stick: EthStick, profile: Profile
) -> None:
    device = ModbusDevice(link, 1, profile)
    await device.read(["serial"])
    stick.faults.silent = True
    before = stick.requests
    with pytest.raises(NoResponseError):
        await device.read(["running_state", "fault", "module_temperature"])
    # The long request, and one half of it: a device silent twice is asleep, or gone.
    assert stick.requests - before == 2
    assert device.max_registers == 60


@pytest.fixture
def dtsu666() -> Profile:
    return next(p for p in load_bundled() if p.id == "chint_dtsu666")


@pytest.fixture
async def meter_stick(socket_enabled: None) -> EthStick:
    meter = Dtsu666(clock=Clock(local_time(13)))
    front = EthStick(meter)
    await front.start()
    yield front
    await front.stop()


@asynccontextmanager
async def _served(meter: Dtsu666) -> AsyncIterator[Link]:
    """A link to the meter behind a stick of its own, for the test's length."""
    stick = EthStick(meter)
    await stick.start()
    link = link_to(stick)
    try:
        yield link
    finally:
        await link.close()
        await stick.stop()


class _InputsOnly(Dtsu666):
    """A meter that serves its registers with function 0x04 only (as OpenEMS reads one)."""

    def __init__(self, *, clock: Clock) -> None:
        self.functions: list[int] = []  # of each read asked
        super().__init__(clock=clock)

    def read(self, address: int, count: int) -> list[int]:
        self.functions.append(0x03)
        raise ModbusExceptionError(0x01)

    def read_input(self, address: int, count: int) -> list[int]:
        self.functions.append(0x04)
        return super().read(address, count)


async def test_a_meter_refusing_holding_reads_is_read_as_input_registers(
    socket_enabled: None, dtsu666: Profile, caplog: pytest.LogCaptureFixture
) -> None:
    meter = _InputsOnly(clock=Clock(local_time(13)))
    caplog.set_level(logging.INFO)
    async with _served(meter) as link:
        device = ModbusDevice(link, 1, dtsu666)
        keys = ["grid_power", "grid_import_energy_total"]
        first = await device.read(keys)
        assert isinstance(first.values["grid_power"], float)
        assert first.refused == ()
        assert "it is read with function 0x04 instead" in caplog.text
        meter.functions.clear()
        second = await device.read(keys)
        assert second.values["grid_import_energy_total"] is not None
        # Learnt: each block is read with 0x04, and no holding read is tried.
        assert set(meter.functions) == {0x04}


async def test_a_link_without_input_reads_leaves_such_a_meter_unavailable(
    socket_enabled: None, dtsu666: Profile
) -> None:
    meter = _InputsOnly(clock=Clock(local_time(13)))
    async with _served(meter) as link:
        link.functions = frozenset({0x03, 0x10})  # the HUB's meter line
        reading = await ModbusDevice(link, 1, dtsu666).read(["grid_power"])
        assert reading.values["grid_power"] is None
        assert set(meter.functions) == {0x03}


async def test_a_meter_counting_at_the_other_documented_address_is_read_there(
    socket_enabled: None, dtsu666: Profile, caplog: pytest.LogCaptureFixture
) -> None:
    # Chint's 2019 manual: the totals at 0x101E/0x1028; 0x401E/0x4028 read nothing.
    meter = Dtsu666(clock=Clock(local_time(13)), energy_at=0x101E)
    caplog.set_level(logging.INFO)
    keys = ["grid_import_energy_total", "grid_export_energy_total"]
    async with _served(meter) as link:
        device = ModbusDevice(link, 1, dtsu666)
        first = await device.read(keys)
        imported = first.values["grid_import_energy_total"]
        exported = first.values["grid_export_energy_total"]
        assert isinstance(imported, float)
        assert isinstance(exported, float)
        assert imported == pytest.approx(meter.plant.totals_wh["import"] / 1000, rel=1e-6)
        assert exported == pytest.approx(meter.plant.totals_wh["export"] / 1000, rel=1e-6)
        assert "keeps grid_import_energy_total at 0x101e, not at 0x401e" in caplog.text
        # Both totals are read where the meter keeps them, from then on.
        second = await device.read(keys)
        assert {request.address for request in second.requests} == {0x101E}
        assert {key: second.values[key] for key in keys} == {key: first.values[key] for key in keys}


async def test_a_meter_counting_where_the_2016_manual_says_is_read_there_only(
    meter_stick: EthStick, dtsu666: Profile
) -> None:
    link = link_to(meter_stick)
    keys = ["grid_import_energy_total", "grid_export_energy_total"]
    try:
        reading = await ModbusDevice(link, 1, dtsu666).read(keys)
        # The transformer ratios (once), and the totals (read twice, as every counter seen
        # for the first time): nothing at 0x101E.
        assert {request.address for request in reading.requests} == {0x0006, 0x401E}
        assert isinstance(reading.values["grid_import_energy_total"], float)
    finally:
        await link.close()


async def test_a_meter_on_current_transformers_reads_times_their_ratio(
    meter_stick: EthStick, dtsu666: Profile
) -> None:
    link = link_to(meter_stick)
    keys = ["grid_power", "grid_current_l1", "grid_voltage_l1", "grid_frequency"]
    try:
        direct = (await ModbusDevice(link, 1, dtsu666).read(keys)).values
        meter = meter_stick.device
        assert isinstance(meter, Dtsu666)
        meter.pin(0x0006, [40])  # IrAt: 200/5 A transformers; readings stay secondary
        device = ModbusDevice(link, 1, dtsu666)
        reading = await device.read(keys)
        assert reading.values["grid_power"] == pytest.approx(40 * direct["grid_power"])
        assert reading.values["grid_current_l1"] == pytest.approx(40 * direct["grid_current_l1"])
        assert reading.values["grid_voltage_l1"] == direct["grid_voltage_l1"]
        assert reading.values["grid_frequency"] == direct["grid_frequency"]
        # The ratio, once known, is not read again.
        assert (await device.read(keys)).requests == (Span(0x2006, 14), Span(0x2044, 2))
    finally:
        await link.close()


async def test_a_device_refusing_a_read_across_battery_inputs_loses_nothing(
    link: Link, inverter: Hyd3ph, profile: Profile
) -> None:
    # (With a request that answers: a poll whose every request is refused teaches nothing.)
    keys = ["grid_frequency", "battery_soc", "battery_cycles", "battery2_voltage", "battery2_soc"]
    served = (await ModbusDevice(link, 1, profile).read(keys)).values
    # Firmware that takes each battery input as a block of its own (as wills106 and
    # sofar-modbus read them): a read across 0x060A/0x060B is an illegal address.
    inverter.blocks.remove((0x0604, 0x063B))
    inverter.blocks += [(0x0604, 0x060A), (0x060B, 0x0611)]
    device = ModbusDevice(link, 1, profile)
    for _ in range(3):
        reading = await device.read(keys)
        assert reading.values == served
        assert reading.refused == ()


async def test_a_device_refusing_every_length_learns_no_limit(
    link: Link, inverter: Hyd3ph, profile: Profile
) -> None:
    inverter.max_read = 0  # every read an illegal value: nothing about length to learn
    device = ModbusDevice(link, 1, profile)
    reading = await device.read(["running_state", "module_temperature", "battery_soc"])
    assert set(reading.values.values()) == {None}
    assert device.max_registers == 60


class _Neither(Dtsu666):
    """A meter that refuses holding reads, and serves no input registers either."""

    def read(self, address: int, count: int) -> list[int]:
        raise ModbusExceptionError(0x01)


async def test_a_meter_refusing_both_functions_stays_unavailable(
    socket_enabled: None, dtsu666: Profile
) -> None:
    async with _served(_Neither(clock=Clock(local_time(13)))) as link:
        device = ModbusDevice(link, 1, dtsu666)
        reading = await device.read(["grid_power", "grid_frequency"])
        assert set(reading.values.values()) == {None}
        assert device.input_blocks == frozenset()


async def test_a_meter_whose_totals_read_nothing_anywhere_is_not_moved(
    meter_stick: EthStick, dtsu666: Profile
) -> None:
    meter = meter_stick.device
    assert isinstance(meter, Dtsu666)
    meter.pin(0x401E, [0, 0])  # a new meter: 0 kWh is no count yet
    meter.blocks.remove((0x1000, 0x1051))  # and it has no totals at 0x101E: refused
    link = link_to(meter_stick)
    try:
        device = ModbusDevice(link, 1, dtsu666)
        keys = ["grid_import_energy_total", "grid_export_energy_total"]
        for _ in range(2):
            reading = await device.read(keys)
            assert reading.values["grid_import_energy_total"] is None
            assert isinstance(reading.values["grid_export_energy_total"], float)
            assert device.field("grid_import_energy_total") is dtsu666.field(
                "grid_import_energy_total"
            )
            # Looked for where the 2019 manual puts it, each poll, and not noted as refused.
            assert Span(0x101E, 2) in reading.requests
            assert reading.refused == ()
    finally:
        await link.close()


async def test_readings_multiplied_by_a_ratio_the_meter_refuses_are_unavailable(
    meter_stick: EthStick, dtsu666: Profile
) -> None:
    meter = meter_stick.device
    assert isinstance(meter, Dtsu666)
    meter.gaps.append((0x0006, 0x0007))
    link = link_to(meter_stick)
    try:
        reading = await ModbusDevice(link, 1, dtsu666).read(["grid_power", "grid_frequency"])
        # Unavailable, never a secondary-side value taken for the primary's.
        assert reading.values["grid_power"] is None
        assert isinstance(reading.values["grid_frequency"], float)
    finally:
        await link.close()
