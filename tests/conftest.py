"""Fixtures shared by every test: a simulated inverter behind a simulated ETH stick."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable

import pytest
from freezegun.api import FrozenDateTimeFactory
from modbus_connection.tmodbus import ModbusConnection

from custom_components.zcs_azzurro.api.profile.loader import load_bundled
from custom_components.zcs_azzurro.api.profile.schema import Profile
from custom_components.zcs_azzurro.api.transport.base import Link
from custom_components.zcs_azzurro.api.transport.unit import Endpoint, LinkKind, UnitLink
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick, Framing
from simulator.portal import SimulatedPortal
from simulator.system import SimulatedSystem
from simulator.wifi import WifiStick

# How long links wait for an answer in tests: the simulator answers in microseconds.
TEST_TIMEOUT = 0.3

# The integration's link kind for each framing the simulated stick speaks.
LINK_KINDS = {Framing.RTU: LinkKind.RTU_OVER_TCP, Framing.TCP: LinkKind.MODBUS_TCP}


def link_to(stick: EthStick, framing: Framing | None = None) -> Link:
    """A link to the stick, in its framing unless told another.

    On a connection of its own, as Home Assistant's `modbus` would open it (same backend,
    same parameters), without Home Assistant; closing the link closes the connection.
    """
    return link_at(Endpoint(LINK_KINDS[framing or stick.framing], "127.0.0.1", stick.port))


def link_at(endpoint: Endpoint, unit: int = 1) -> Link:
    """A link to a unit at any endpoint, on a connection of its own."""
    connection = ModbusConnection(endpoint.params())
    return UnitLink(
        connection.for_unit(unit),
        unit,
        kind=endpoint.kind,
        timeout=TEST_TIMEOUT,
        close=connection.close,
    )


async def until(condition: Callable[[], object], within: float = 10.0) -> None:
    """Wait until the condition holds: an event the code under test has no signal for.

    Checked every few milliseconds; a loaded machine makes it wait longer, not fail.
    """
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 (no event to wait on: that is the point)
            await asyncio.sleep(0.005)


class Clock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def local_time(hour: int, day: tuple[int, int, int] = (2026, 6, 21)) -> float:
    """Seconds since the epoch at this local hour of the day."""
    return time.mktime((*day, hour, 0, 0, 0, 0, -1))


@pytest.fixture
def inverter() -> Hyd3ph:
    """A 3PH HYD ZSS at 13:00 on a June day, the clock standing still: values hold still."""
    return Hyd3ph(clock=Clock(local_time(13)))


@pytest.fixture
def framing() -> Framing:
    """How the stick frames Modbus: RTU over TCP, as ZCS's guide describes the ETH stick."""
    return Framing.RTU


@pytest.fixture
async def stick(
    socket_enabled: None, inverter: Hyd3ph, framing: Framing
) -> AsyncGenerator[EthStick]:
    """An ETH stick on an ephemeral loopback port, unit 1, with the inverter behind it."""
    front = EthStick(inverter, framing=framing)
    await front.start()
    yield front
    await front.stop()


@pytest.fixture
async def wifi(socket_enabled: None, inverter: Hyd3ph) -> AsyncGenerator[WifiStick]:
    """A WiFi stick on an ephemeral loopback port, the inverter behind it."""
    front = WifiStick(inverter)
    await front.start()
    yield front
    await front.stop()


@pytest.fixture(scope="session")
def profile() -> Profile:
    """The bundled 3PH HYD ZSS profile."""
    return next(p for p in load_bundled() if p.id == "zcs_3ph_hyd_zss")


async def closed_port() -> int:
    """A loopback port nothing listens on."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port: int = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    return port


# The instant a cloud entry's tests pin the simulated plant and Home Assistant's clock at (a
# June morning, the sun up): what they see does not depend on the hour the suite runs at.
PLANT_TIME = "2026-06-21T10:00:00+00:00"


@pytest.fixture
def plant_time(freezer: FrozenDateTimeFactory) -> FrozenDateTimeFactory:
    """Home Assistant's clock at PLANT_TIME; the clouds' simulators, made after, start there.

    Only for cloud entries: a local link paces its requests on a clock freezegun would stop.
    """
    freezer.move_to(PLANT_TIME)
    return freezer


@pytest.fixture
async def portal(socket_enabled: None) -> AsyncGenerator[SimulatedPortal]:
    """A simulated Azzurro Portal on loopback: ten days of samples up to now, a movable clock."""
    server = SimulatedPortal(clock=Clock(time.time()))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def system(socket_enabled: None) -> AsyncGenerator[SimulatedSystem]:
    """A simulated Azzurro System API on loopback: ten days of samples, a movable clock."""
    server = SimulatedSystem(clock=Clock(time.time()), callback_delay=0.01)
    await server.start()
    yield server
    await server.stop()
