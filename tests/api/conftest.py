"""A link to the simulated stick, for tests of the device layer."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest

from custom_components.zcs_azzurro.api.transport.stream import (
    ModbusTcpLink,
    RtuOverTcpLink,
    StreamLink,
)
from simulator.eth import EthStick, Framing
from tests.conftest import TEST_TIMEOUT

# The link that speaks each framing the simulated stick can.
LINKS: dict[Framing, type[StreamLink]] = {
    Framing.RTU: RtuOverTcpLink,
    Framing.TCP: ModbusTcpLink,
}


@pytest.fixture
async def link(stick: EthStick) -> AsyncGenerator[StreamLink]:
    link = LINKS[stick.framing]("127.0.0.1", stick.port, timeout=TEST_TIMEOUT)
    yield link
    await link.close()
