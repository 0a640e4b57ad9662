"""The proxy's server against clients that flood, pipeline, never read, or crowd in.

The unit behind it answers every read from its cache at once (the cheapest request a
client can send, and the one that never waits for the device): what is measured is the
server's own share of the event loop and its slots.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct
from collections.abc import AsyncGenerator

import pytest

from custom_components.zcs_azzurro.api.proxy import ModbusProxy, Unit


class _Cached(Unit):
    """A unit whose every read is in the cache; `log` notes each answer."""

    functions = frozenset({0x03})

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def cached(self, function: int, address: int, count: int) -> list[int] | None:
        self.log.append("answer")
        return [0] * count

    async def read(self, function: int, address: int, count: int) -> list[int]:
        raise AssertionError("every read is cached")

    async def write(self, address: int, values: list[int], *, single: bool) -> None:
        raise AssertionError("no writes here")


def _request(transaction: int, unit: int = 1) -> bytes:
    # Read 125 holding registers: 12 bytes asked, 259 answered (7 of header, 252 of PDU).
    return struct.pack(">HHHBBHH", transaction & 0xFFFF, 0, 6, unit, 3, 0, 125)


@pytest.fixture
async def log() -> list[str]:
    """What happened, in order: the unit's answers and the other tasks' turns."""
    return []


async def _started(proxy: ModbusProxy, log: list[str]) -> int:
    proxy.units[1] = _Cached(log)
    await proxy.start()
    assert proxy._server is not None
    port: int = proxy._server.sockets[0].getsockname()[1]
    return port


@pytest.fixture
async def proxy(socket_enabled: None) -> AsyncGenerator[ModbusProxy]:
    """A proxy as an entry runs it, but for its limits (small, to reach them quickly)."""
    server = ModbusProxy("127.0.0.1", 0, max_clients=4, timeout=0.3, idle=300)
    server.per_address = 2
    yield server
    await asyncio.wait_for(server.stop(), 5)


async def test_a_pipelining_client_gives_the_loop_back_after_every_answer(
    proxy: ModbusProxy, log: list[str]
) -> None:
    proxy.rate = 1e9  # no pause: only the turns given back
    port = await _started(proxy, log)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    stop = asyncio.Event()

    async def other_work() -> None:
        # Everything else Home Assistant runs: one step per turn it gets.
        while not stop.is_set():
            log.append("other")
            await asyncio.sleep(0)

    async def take_answers() -> int:
        received = 0
        while received < 500 * 259:
            received += len(await reader.read(1 << 16))
        return received

    other = asyncio.create_task(other_work())
    # Five hundred requests in one go, as a pipelining client sends them.
    writer.write(b"".join(_request(i) for i in range(500)))
    await asyncio.wait_for(take_answers(), 30)
    stop.set()
    await other
    writer.close()
    answers = [i for i, what in enumerate(log) if what == "answer"]
    assert len(answers) == 500
    # Between any two answers, the rest of the loop had its turn.
    assert all(b - a > 1 for a, b in itertools.pairwise(answers))


async def test_a_client_is_served_no_faster_than_its_rate(
    proxy: ModbusProxy, log: list[str]
) -> None:
    proxy.rate = 100.0
    port = await _started(proxy, log)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    loop = asyncio.get_running_loop()
    started = loop.time()
    writer.write(b"".join(_request(i) for i in range(150)))
    received = 0
    while received < 150 * 259:
        received += len(await asyncio.wait_for(reader.read(1 << 16), 10))
    took = loop.time() - started
    writer.close()
    # A burst of `rate` at once, then `rate` a second: 150 take half a second at least.
    assert took >= (150 - proxy.rate) / proxy.rate * 0.95


async def test_a_client_that_does_not_take_its_answers_is_let_go(
    proxy: ModbusProxy, log: list[str]
) -> None:
    proxy.rate = 1e9
    port = await _started(proxy, log)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(0)  # non-blocking, as the loop needs it
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    _, writer = await asyncio.open_connection(sock=sock)
    # It sends, and reads nothing: its answers fill every buffer on the way.
    writer.write(b"".join(_request(i) for i in range(5000)))
    while not proxy.clients:  # noqa: ASYNC110 (the server has no event for a new client)
        await asyncio.sleep(0)
    (held,) = proxy.clients
    await asyncio.wait_for(held, 20)
    assert proxy.clients == {}
    assert proxy.stats.dropped_clients == 1
    writer.transport.abort()


async def test_one_address_takes_at_most_its_share_of_the_slots(
    proxy: ModbusProxy, log: list[str]
) -> None:
    port = await _started(proxy, log)
    first = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
    for reader, writer in first:
        writer.write(_request(1))
        assert len(await reader.readexactly(259)) == 259
    # A third from the same address: turned away, though the proxy has room for four.
    reader, _ = await asyncio.open_connection("127.0.0.1", port)
    assert await asyncio.wait_for(reader.read(), 5) == b""
    assert len(proxy.clients) == 2
    assert proxy.stats.dropped_clients == 1
    for _, held in first:
        held.close()
