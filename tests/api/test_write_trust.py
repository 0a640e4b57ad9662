"""Writes judged by what the inverter holds, over every local link's simulator, real sockets.

Two promises (issue 20): an answer to a write that cannot be read is "outcome unknown", and
the read-back decides (the LSE-3 stick applies a write, then answers `10 00`); and nothing
unchecked is ever sent back into the inverter's memory with a group.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from custom_components.zcs_azzurro.api.device import ModbusDevice
from custom_components.zcs_azzurro.api.errors import (
    HeldValueError,
    OutcomeUnknownError,
    ReadBackError,
    UnsettledError,
)
from custom_components.zcs_azzurro.api.profile.schema import Profile
from custom_components.zcs_azzurro.api.transport.base import (
    READ_HOLDING,
    WRITE_MULTIPLE,
    WRITE_SINGLE,
    Link,
)
from custom_components.zcs_azzurro.api.transport.unit import Endpoint, LinkKind, UnitLink
from custom_components.zcs_azzurro.api.transport.v5 import V5Endpoint, V5Link, V5Registry
from custom_components.zcs_azzurro.api.writer import Writer
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick, Framing
from simulator.faults import Faults
from simulator.hub import Hub
from simulator.power_magic import PowerMagic
from simulator.registers import Group, Request
from simulator.rs485 import Rs485Bus
from simulator.wifi import DEFAULT_LOGGER_SERIAL, WifiStick
from tests.conftest import TEST_TIMEOUT, Clock, link_at, link_to


@dataclass
class Local:
    """A local link to a simulated inverter: the link, and the faults of its front end."""

    link: Link
    faults: Faults


async def _eth(inverter: Hyd3ph, framing: Framing) -> tuple[Link, Faults, Any]:
    stick = EthStick(inverter, framing=framing)
    await stick.start()
    return link_to(stick), stick.faults, stick


async def _wifi(inverter: Hyd3ph) -> tuple[Link, Faults, Any]:
    stick = WifiStick(inverter)
    await stick.start()
    endpoint = V5Endpoint("127.0.0.1", stick.port, DEFAULT_LOGGER_SERIAL)
    return V5Link(V5Registry(), endpoint, 1, timeout=TEST_TIMEOUT), stick.faults, stick


async def _hub(inverter: Hyd3ph) -> tuple[Link, Faults, Any]:
    hub = Hub({"inverters": {1: inverter}})
    await hub.start()
    line = hub.lines["inverters"]
    link = link_at(Endpoint(LinkKind.MODBUS_TCP, "127.0.0.1", line.port))
    assert isinstance(link, UnitLink)
    # What the HUB carries (connection.LINKS): reads of holding registers and 0x10.
    link.functions = frozenset({READ_HOLDING, WRITE_MULTIPLE})
    return link, line.faults, hub


async def _power_magic(inverter: Hyd3ph) -> tuple[Link, Faults, Any]:
    front = PowerMagic(inverter)
    await front.start()
    return link_at(Endpoint(LinkKind.MODBUS_TCP, "127.0.0.1", front.port)), front.faults, front


async def _rs485(inverter: Hyd3ph) -> tuple[Link, Faults, Any]:
    bus = Rs485Bus({1: inverter})
    await bus.start()
    return link_at(Endpoint(LinkKind.RTU_SERIAL, bus.path)), bus.faults, bus


LINKS: dict[str, Callable[[Hyd3ph], Any]] = {
    "eth_rtu": lambda inverter: _eth(inverter, Framing.RTU),
    "eth_tcp": lambda inverter: _eth(inverter, Framing.TCP),
    "wifi": _wifi,
    "hub": _hub,
    "power_magic": _power_magic,
    "rs485": _rs485,
}


@pytest.fixture(params=sorted(LINKS))
async def local(
    request: pytest.FixtureRequest, socket_enabled: None, inverter: Hyd3ph
) -> AsyncGenerator[Local]:
    """Each local link in turn, to the inverter fixture."""
    link, faults, front = await LINKS[request.param](inverter)
    yield Local(link, faults)
    await link.close()
    await front.stop()


@pytest.fixture
def writer(local: Local, profile: Profile) -> Writer:
    return Writer(ModbusDevice(local.link, 1, profile), clock=Clock(1000.0))


def _writes(inverter: Hyd3ph) -> list[Request]:
    return [r for r in inverter.log if r.function in (WRITE_SINGLE, WRITE_MULTIPLE)]


# --- 1. An answer that cannot be read: the read-back decides -------------------------------


@pytest.mark.parametrize(
    ("values", "address", "words"),
    [
        ({"storage_mode": "passive"}, 0x1110, [3]),
        ({"depth_of_discharge": 80}, 0x104D, [80]),
        ({"passive_grid_power": -1000}, 0x1187, [0xFFFF, 0xFC18]),
    ],
)
async def test_the_lse3_answer_to_an_applied_write_is_success_on_every_link(
    writer: Writer,
    local: Local,
    inverter: Hyd3ph,
    values: dict[str, Any],
    address: int,
    words: list[int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The LSE-3 writes, then answers `10 00` (evcc-io/evcc#33016): that is a success."""
    caplog.set_level(logging.DEBUG, "custom_components.zcs_azzurro")
    local.faults.lse3_writes = True
    assert await writer.write(values) is True
    assert inverter.read(address, len(words)) == words
    assert len(_writes(inverter)) == 1
    # One debug line says how it was confirmed; nothing above debug.
    assert [r.levelname for r in caplog.records if r.levelno >= 30] == []
    assert any("the read-back decides" in r.getMessage() for r in caplog.records)


async def test_the_lse3_answer_to_a_write_the_inverter_ignored_says_what_it_holds(
    writer: Writer, local: Local, inverter: Hyd3ph
) -> None:
    local.faults.lse3_writes = True
    inverter.pin(0x1110, [0])  # firmware that takes the write and keeps its mode
    with pytest.raises(ReadBackError) as ignored:
        await writer.write({"storage_mode": "passive"})
    assert ignored.value.held == {"storage_mode": "self_use"}


async def test_an_unreadable_answer_and_no_read_back_is_an_unknown_outcome(
    writer: Writer, local: Local, inverter: Hyd3ph
) -> None:
    local.faults.lse3_writes = True
    original = inverter.write

    def then_silent(address: int, values: list[int]) -> None:
        original(address, values)
        local.faults.silent = True  # the stick freezes right after taking the write

    inverter.write = then_silent  # type: ignore[method-assign]
    with pytest.raises(OutcomeUnknownError):
        await writer.write({"storage_mode": "passive"})
    assert inverter.read(0x1110, 1) == [3]


async def test_damaged_answers_to_single_register_writes_are_judged_by_the_read_back(
    writer: Writer, local: Local, inverter: Hyd3ph
) -> None:
    """FC 0x06 (where the link carries it): cut short, LSE-3-like, another echo, or none."""
    local.faults.damage_writes = 1.0
    group = writer.device.profile.group("storage_mode")
    writer.min_interval = 0
    for mode in (3, 1, 4, 0):
        assert await writer.write_words(group, 0x1110, [mode], single=True) == ([mode], True)
    single = WRITE_SINGLE in writer.device.link.functions
    expected = WRITE_SINGLE if single else WRITE_MULTIPLE
    assert [r.function for r in _writes(inverter)] == [expected] * 4


async def test_the_clock_is_set_against_the_lse3_and_judged_by_what_it_reads(
    writer: Writer, local: Local, inverter: Hyd3ph
) -> None:
    local.faults.lse3_writes = True
    when = datetime(2027, 3, 4, 5, 6, 7, tzinfo=UTC)
    await writer.set_clock("set_clock", when)
    assert inverter.read(0x1004, 6) == [27, 3, 4, 5, 6, 7]
    # Firmware that answers so and keeps its clock: the clock read back says so.
    inverter.pin(0x1004, [27, 3, 4, 5, 6, 7])
    writer.min_interval = 0
    with pytest.raises(ReadBackError) as kept:
        await writer.set_clock("set_clock", datetime(2027, 3, 5, 5, 6, 7, tzinfo=UTC))
    assert kept.value.held == {"clock": "2027-03-04T05:06:07"}
    inverter.pin(0x1005, [13])  # no month 13: no time at all
    with pytest.raises(ReadBackError) as nonsense:
        await writer.set_clock("set_clock", datetime(2027, 3, 6, 5, 6, 7, tzinfo=UTC))
    assert nonsense.value.held == {"clock": [27, 13, 4, 5, 6, 7, 0]}


# --- 2. Nothing unchecked is sent back with a group ----------------------------------------


async def test_a_crossed_group_read_is_never_written_back(
    link: Link, stick: EthStick, profile: Profile, inverter: Hyd3ph
) -> None:
    """The review's H1 over the simulator: the group read gets another request's answer."""
    writer = Writer(ModbusDevice(link, 1, profile), clock=Clock(1000.0))
    held = inverter.read(0x1044, 19)
    # A poll's live block, the battery group's size, is the stick's last answer; from now on
    # it hands every read the answer before (the group read gets the live block).
    await link.read_holding_registers(1, 0x0484, 19)
    stick.faults.crossed = 1.0
    assert await writer.write({"depth_of_discharge": 80}) is True
    ((*_, sent),) = [(r.address, r.words) for r in _writes(inverter)]
    # Only the asked register (0x104D) and the commit (0x1053, 1: apply; it reads 0 after)
    # differ from what the group held.
    assert list(sent) == [*held[:9], 80, *held[10:15], 1, *held[16:]]
    assert inverter.read(0x1044, 19) == [*held[:9], 80, *held[10:]]


async def test_reads_that_never_agree_send_nothing(
    link: Link, stick: EthStick, inverter: Hyd3ph, profile: Profile
) -> None:
    writer = Writer(ModbusDevice(link, 1, profile), clock=Clock(1000.0))
    stick.faults.corrupt = 1.0  # every read answer damaged, each its own way: none agree
    with pytest.raises(UnsettledError):
        await writer.write({"depth_of_discharge": 80})
    assert _writes(inverter) == []


async def test_a_setting_held_out_of_range_is_not_sent_back(
    writer: Writer, inverter: Hyd3ph
) -> None:
    inverter.values[0x104E] = 95  # off-grid depth of discharge beyond the 1-90 it takes
    with pytest.raises(HeldValueError) as out:
        await writer.write({"depth_of_discharge": 80})
    assert (out.value.key, out.value.value, out.value.allowed) == (
        "depth_of_discharge_off_grid",
        95,
        "1 - 90, step 1",
    )
    assert _writes(inverter) == []


async def test_the_rest_of_the_group_must_read_back_as_it_was(
    writer: Writer, inverter: Hyd3ph
) -> None:
    original = inverter.applied

    def and_more(group: Group) -> None:
        original(group)
        if group.first == 0x1044:
            # Firmware that changes another setting too, and a register that is none.
            inverter.values[0x104E] = 50
            inverter.values[0x1050] = 4400

    inverter.applied = and_more  # type: ignore[method-assign]
    with pytest.raises(ReadBackError) as changed:
        await writer.write({"depth_of_discharge": 80})
    assert changed.value.held == {"depth_of_discharge_off_grid": 50, "0x1050": 4400}


async def test_reserved_registers_go_as_public_write_backs_send_them(
    writer: Writer, inverter: Hyd3ph
) -> None:
    inverter.values[0x102A] = 7  # the reserved EPS wait time, whatever it reads
    assert await writer.write({"eps_mode": "on_cold_start_allowed"}) is True
    assert [r.words for r in _writes(inverter)] == [(2, 0)]


def test_the_battery_group_is_what_public_write_backs_write(profile: Profile) -> None:
    group = profile.group("battery")
    assert (group.span.address, group.span.end, group.commit) == (0x1044, 0x1056, (0x1053, 1))
    assert profile.field("max_charge_soc").write is None
    assert profile.group("eps").fixed == ((0x102A, 0),)
    assert profile.field("output_limit").write.range == (0, 100)  # type: ignore[union-attr]
    assert profile.field("storage_mode").options[7] == "feed_in_priority"  # type: ignore[index]


async def test_storage_mode_7_is_a_choice(writer: Writer, inverter: Hyd3ph) -> None:
    """Feed-in priority, in the three public maps of the 3PH HYD that list the modes."""
    assert await writer.write({"storage_mode": "feed_in_priority"}) is True
    assert inverter.read(0x1110, 1) == [7]
