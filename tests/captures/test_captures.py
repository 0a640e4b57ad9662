"""Every capture of tests/captures/corpus.py, replayed through our own links over loopback.

Our link sends what the capture's client sent (the same Modbus frame), the replay answers
with the capture's bytes, and the link must say what those bytes mean.
"""

from __future__ import annotations

import struct
from collections.abc import AsyncGenerator, Awaitable, Callable

import pytest

from custom_components.zcs_azzurro.api.transport.base import Link
from custom_components.zcs_azzurro.api.transport.unit import Endpoint, LinkKind
from custom_components.zcs_azzurro.api.transport.v5 import V5Endpoint, V5Link, V5Registry
from tests.conftest import link_at

from .corpus import MODBUS_TCP, RTU, V5, Capture, Exchange, Fails, Read
from .replay import Replay, Wire, answer_words

# A capture's silences are waited out this long.
TIMEOUT = 0.2
# Where the Modbus frame sits in a V5 request: after the header and the 15-byte prefix.
_V5_MODBUS = slice(26, -2)
_MBAP = 6
_READ_HOLDING, _READ_INPUT, _WRITE_MULTIPLE = 0x03, 0x04, 0x10


def _name(capture: Capture) -> str:
    return capture.name


@pytest.fixture
async def replays(socket_enabled: None) -> AsyncGenerator[list[Replay]]:
    """Replays started by a test, stopped after it."""
    started: list[Replay] = []
    yield started
    for replay in started:
        await replay.stop()


async def _replay(replays: list[Replay], capture: Capture, wire: Wire) -> tuple[Replay, int]:
    replay = Replay(capture, wire)
    replays.append(replay)
    return replay, await replay.start()


def _modbus(exchange: Exchange, wire: Wire) -> bytes | None:
    """The Modbus request (unit, PDU) the capture's client sent, without its framing."""
    if exchange.request is None:
        return None
    request = bytes.fromhex(exchange.request)
    if wire is Wire.V5:
        return request[_V5_MODBUS][:-2]
    if wire is Wire.MODBUS_TCP:
        return request[_MBAP:]
    return request[:-2]


def _ask(exchange: Exchange, wire: Wire) -> tuple[int, int, int, int | list[int]]:
    """(unit, function, address, count or the values written) of the exchange's request."""
    if exchange.ask is not None:
        return exchange.ask
    modbus = _modbus(exchange, wire)
    assert modbus is not None
    unit, function, address, count = struct.unpack(">BBHH", modbus[:6])
    if function == _WRITE_MULTIPLE:
        return unit, function, address, list(struct.unpack(f">{count}H", modbus[7:]))
    return unit, function, address, count


def _call(link: Link, ask: tuple[int, int, int, int | list[int]]) -> Awaitable[object]:
    unit, function, address, what = ask
    if isinstance(what, list):
        return link.write_registers(unit, address, what)
    read: Callable[[int, int, int], Awaitable[list[int]]] = (
        link.read_input_registers if function == _READ_INPUT else link.read_holding_registers
    )
    return read(unit, address, what)


async def _play(capture: Capture, wire: Wire, link: Link, replay: Replay) -> None:
    """Each exchange through the link: the request as the capture's, the answer's meaning."""
    for index, exchange in enumerate(capture.exchanges):
        ask = _ask(exchange, wire)
        expect = exchange.expect
        if isinstance(expect, Fails):
            with pytest.raises(expect.error, match=expect.match) as failed:
                await _call(link, ask)
            for name, value in expect.attributes.items():
                assert getattr(failed.value, name) == value
            if expect.cause is not None:
                assert isinstance(getattr(failed.value, "cause", None), expect.cause)
        else:
            assert isinstance(expect, Read)
            words = await _call(link, ask)
            _, _, address, count = ask
            assert isinstance(count, int)
            assert words == answer_words(capture, index, wire, count)
            for register, value in expect.named.items():
                assert isinstance(words, list)
                assert words[register - address] == value, f"{register:#06x}"
        sent = replay.requests[index]
        if (modbus := _modbus(exchange, wire)) is not None:
            ours = {
                Wire.V5: sent[_V5_MODBUS][:-2],
                Wire.MODBUS_TCP: sent[_MBAP:],
                Wire.RTU: sent[:-2],
            }[wire]
            assert ours == modbus, "our request differs from the capture's"


@pytest.mark.parametrize("capture", V5, ids=_name)
async def test_v5(capture: Capture, replays: list[Replay]) -> None:
    replay, port = await _replay(replays, capture, Wire.V5)
    first = capture.exchanges[0]
    frame = bytes.fromhex(first.request) if first.request else first.sent[0].data
    serial = int.from_bytes(frame[7:11], "little")
    link = V5Link(V5Registry(), V5Endpoint("127.0.0.1", port, serial), 1, timeout=TIMEOUT)
    connection = link._connection
    assert connection is not None
    if capture.counter is not None:
        connection._framing.sequence_number = capture.counter
    try:
        await _play(capture, Wire.V5, link, replay)
    finally:
        await link.close()
    # Never under the number of the loggers' own frames.
    assert all(request[5] != 0x00 for request in replay.requests)
    assert replay.connections == 1


@pytest.mark.parametrize(
    ("wire", "capture"),
    [(Wire.MODBUS_TCP, capture) for capture in MODBUS_TCP] + [(Wire.RTU, c) for c in RTU],
    ids=lambda value: value.name if isinstance(value, Capture) else str(value),
)
async def test_modbus(wire: Wire, capture: Capture, replays: list[Replay]) -> None:
    replay, port = await _replay(replays, capture, wire)
    kind = LinkKind.MODBUS_TCP if wire is Wire.MODBUS_TCP else LinkKind.RTU_OVER_TCP
    link = link_at(Endpoint(kind, "127.0.0.1", port))
    try:
        await _play(capture, wire, link, replay)
    finally:
        await link.close()


def test_the_corpus_has_twenty_captures_each_cited() -> None:
    captures = [*V5, *MODBUS_TCP, *RTU]
    assert len({c.name for c in captures}) == len(captures)
    assert len(captures) >= 20
    for capture in captures:
        repository, _, number = capture.source.partition("#")
        assert "/" in repository
        assert number[:1].isdigit()
        assert capture.meaning
        assert capture.ours
