"""A link to the simulated stick, for tests of the device layer."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest

from custom_components.zcs_azzurro.api.transport.base import Link
from simulator.eth import EthStick
from tests.conftest import link_to


@pytest.fixture
async def link(stick: EthStick) -> AsyncGenerator[Link]:
    link = link_to(stick)
    yield link
    await link.close()
