"""Which framing a stick speaks, asked on a short connection of our own.

Setup does not know yet whether the ETH stick frames Modbus as RTU over TCP or as
Modbus TCP, nor whether the port is a Modbus device at all. Asking that through the
shared connection does not work well (both noted for upstream in docs/development.md):
- tmodbus waits out the whole timeout for bytes that are no answer, and its RTU reader
  logs a warning for them (an HTTP server's "400 Bad Request", an answer from another
  unit), so probing a wrong port would report no answer, and leave a warning;
- a unit's timeout is kept per unit id on the shared connection, so a short timeout for
  the probe would shorten the one an entry polling that unit relies on.
So one request per framing goes out here, with pymodbus's framers, on a connection that
lives for that request only; the device is then read over the shared connection.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from contextlib import suppress

from pymodbus.exceptions import ModbusException
from pymodbus.framer import FRAMER_NAME_TO_CLASS, FramerBase, FramerType
from pymodbus.pdu import DecodePDU
from pymodbus.pdu.register_message import ReadHoldingRegistersRequest

from ..errors import (
    ConnectError,
    ConnectionLostError,
    FrameError,
    InvalidHostError,
    LinkError,
    NoResponseError,
)
from .unit import Endpoint, LinkKind

_FRAMERS = {LinkKind.RTU_OVER_TCP: FramerType.RTU, LinkKind.MODBUS_TCP: FramerType.SOCKET}
_READ_SIZE = 512
# The protocol id every MBAP header carries.
_MBAP = b"\0\0"


async def find_framing(
    endpoints: Sequence[Endpoint], unit: int, address: int, *, answer_within: float
) -> Endpoint:
    """The first of `endpoints` (one device, several framings) where the unit answers.

    The question is a read of `address`; the answer must come within `answer_within`
    seconds, and any answer counts, a Modbus exception too: it is framed like data.
    When none answers, the first framing's error is raised: the likeliest one says best
    what is wrong (a silent inverter, say).
    """
    errors: list[LinkError] = []
    for endpoint in endpoints:
        try:
            await _ask(endpoint, unit, address, answer_within)
        except (NoResponseError, FrameError, ConnectionLostError) as err:
            # What a stick that speaks another framing gives: silence, garbage, or a drop.
            errors.append(err)
        else:
            return endpoint
    raise errors[0]


async def _ask(endpoint: Endpoint, unit: int, address: int, timeout: float) -> None:  # noqa: ASYNC109
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(endpoint.host, endpoint.port)
    except socket.gaierror as err:
        raise InvalidHostError(f"{endpoint.host}: {err.strerror}") from err
    except TimeoutError as err:
        raise ConnectError(f"{endpoint}: no connection in {timeout} s") from err
    except OSError as err:
        raise ConnectError(f"{endpoint}: {err.strerror or err}") from err
    framer = FRAMER_NAME_TO_CLASS[_FRAMERS[endpoint.kind]](DecodePDU(is_server=False))
    request = ReadHoldingRegistersRequest(address=address, count=1, dev_id=unit, transaction_id=1)
    received = bytearray()
    try:
        writer.write(framer.buildFrame(request))
        async with asyncio.timeout(timeout):
            while chunk := await reader.read(_READ_SIZE):
                received += chunk
                if _framed(endpoint.kind, framer, bytes(received)):
                    return
    except TimeoutError as err:
        if not received:
            raise NoResponseError(f"no answer in {timeout} s") from err
    except ModbusException as err:
        raise FrameError(str(err)) from err
    except OSError as err:
        raise ConnectionLostError(str(err)) from err
    finally:
        writer.close()
        with suppress(OSError):
            await writer.wait_closed()
    if received:
        raise FrameError(f"no {endpoint.kind} frame in {received[:32].hex()}")
    raise ConnectionLostError("closed by the peer")


def _framed(kind: LinkKind, framer: FramerBase, received: bytes) -> bool:
    """Whether the bytes so far hold an answer to a read, in this framing."""
    if kind is LinkKind.MODBUS_TCP and received[2:4] not in (b"", b"\0", _MBAP):
        # pymodbus would log an error for a header that is no MBAP header.
        raise FrameError(f"no MBAP header in {received[:32].hex()}")
    # Any well-formed answer tells the framing, for whichever unit or transaction:
    # pymodbus logs an error for those it skips.
    _, response = framer.handleFrame(received, 0, 0)
    if response is None:
        return False
    if response.function_code & 0x7F != ReadHoldingRegistersRequest.function_code:
        raise FrameError(f"answer with function {response.function_code:#04x}")
    return True
