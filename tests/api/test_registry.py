"""One connection per endpoint, shared, one request at a time, paced when asked."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from custom_components.zcs_azzurro.api.transport.registry import Endpoint, LinkKind, LinkRegistry
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.eth import EthStick
from tests.conftest import TEST_TIMEOUT


def _endpoint(stick: EthStick) -> Endpoint:
    return Endpoint(LinkKind.RTU_OVER_TCP, "127.0.0.1", stick.port)


async def test_holders_of_one_endpoint_share_one_connection(stick: EthStick) -> None:
    registry = LinkRegistry(TEST_TIMEOUT)
    first, second = registry.lease(_endpoint(stick)), registry.lease(_endpoint(stick))
    await first.read_holding_registers(1, 0x0404, 1)
    await second.read_holding_registers(1, 0x0404, 1)
    assert first.stats is second.stats
    assert first.stats.connects == 1
    assert len(stick._writers) == 1
    await first.close()
    await second.read_holding_registers(1, 0x0404, 1)
    assert second.stats.connects == 1
    await second.close()
    await asyncio.sleep(0.05)
    assert not stick._writers  # the last holder closed the connection


async def test_other_endpoints_get_their_own_link(socket_enabled: None) -> None:
    sticks = [EthStick(Hyd3ph()), EthStick(Hyd3ph())]
    for front in sticks:
        await front.start()
    registry = LinkRegistry(TEST_TIMEOUT)
    leases = [registry.lease(_endpoint(front)) for front in sticks]
    try:
        for lease in leases:
            await lease.read_holding_registers(1, 0x0404, 1)
        assert leases[0].stats is not leases[1].stats
        assert [front.requests for front in sticks] == [1, 1]
    finally:
        for lease in leases:
            await lease.close()
        for front in sticks:
            await front.stop()


async def test_concurrent_requests_from_several_holders_are_serialised(
    stick: EthStick, inverter: Hyd3ph
) -> None:
    registry = LinkRegistry(TEST_TIMEOUT)
    leases = [registry.lease(_endpoint(stick)) for _ in range(3)]
    addresses = [0x0404 + offset for offset in range(12)]
    for address in addresses:
        inverter.pin(address, [address])
    stick.faults.delay = 0.005  # answers take a while, so requests would overlap
    results = await asyncio.gather(
        *(
            leases[index % 3].read_holding_registers(1, address, 1)
            for index, address in enumerate(addresses)
        )
    )
    # On one RTU stream, overlapping requests would mix up their answers.
    assert results == [[address] for address in addresses]
    assert leases[0].stats.failures == 0
    for lease in leases:
        await lease.close()


async def test_requests_keep_the_pacing_the_most_cautious_holder_asks_for(
    stick: EthStick,
) -> None:
    registry = LinkRegistry(TEST_TIMEOUT)
    eager = registry.lease(_endpoint(stick))
    cautious = registry.lease(_endpoint(stick), min_interval=0.1)
    loop = asyncio.get_running_loop()
    answered = []
    for _ in range(3):
        await eager.read_holding_registers(1, 0x0404, 1)
        answered.append(loop.time())
    gaps = [later - earlier for earlier, later in itertools.pairwise(answered)]
    assert all(gap >= 0.09 for gap in gaps)
    await eager.close()
    await cautious.close()


async def test_a_closed_lease_cannot_be_used(stick: EthStick) -> None:
    lease = LinkRegistry(TEST_TIMEOUT).lease(_endpoint(stick))
    await lease.close()
    await lease.close()  # closing twice is harmless
    with pytest.raises(RuntimeError, match="after close"):
        await lease.read_holding_registers(1, 0x0404, 1)


async def test_writes_go_through_the_shared_link(stick: EthStick, inverter: Hyd3ph) -> None:
    lease = LinkRegistry(TEST_TIMEOUT).lease(_endpoint(stick))
    await lease.write_registers(1, 0x1106, [800])
    assert inverter.read(0x1106, 1) == [800]
    await lease.close()


def test_endpoints_read_as_host_and_port() -> None:
    assert str(Endpoint(LinkKind.RTU_OVER_TCP, "192.0.2.7", 8899)) == "192.0.2.7:8899"
