"""A link to the simulated stick, for tests of the device layer."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest

from custom_components.zcs_azzurro.api.transport.stream import RtuOverTcpLink
from simulator.eth import EthStick
from tests.conftest import TEST_TIMEOUT


@pytest.fixture
async def link(stick: EthStick) -> AsyncGenerator[RtuOverTcpLink]:
    link = RtuOverTcpLink("127.0.0.1", stick.port, timeout=TEST_TIMEOUT)
    yield link
    await link.close()
