"""The interface every link offers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class LinkStats:
    """Counters for diagnostics: what the link did since it was made."""

    requests: int = 0
    failures: int = 0
    connects: int = 0
    # Times the other end (or a client it preferred) took the connection away.
    losses: int = 0
    last_error: str | None = None


# Modbus function codes, as links name what they can carry.
READ_HOLDING = 0x03
READ_INPUT = 0x04
WRITE_SINGLE = 0x06
WRITE_MULTIPLE = 0x10
ALL_FUNCTIONS = frozenset({READ_HOLDING, READ_INPUT, WRITE_SINGLE, WRITE_MULTIPLE})


class Link(ABC):
    """Modbus register access to the units behind one endpoint.

    What a link cannot carry (FC 0x04 on the HUB, say) it leaves out of `functions`, and
    callers check there before they send: a request the wire refuses is never sent.

    A write raises DeviceError when the device refused it (an exception answer), one of
    errors.NOT_SENT when it never left, and UnconfirmedError when it went out but no answer
    could be read (short, damaged, none in time): then only reading back tells.
    """

    stats: LinkStats
    functions: frozenset[int] = ALL_FUNCTIONS
    # Registers one request may carry: Modbus's own limits, unless the wire allows fewer.
    max_read: int = 125
    max_write: int = 123

    @abstractmethod
    async def read_holding_registers(self, unit: int, address: int, count: int) -> list[int]:
        """Read `count` holding registers (function 0x03) from `address`."""

    @abstractmethod
    async def read_input_registers(self, unit: int, address: int, count: int) -> list[int]:
        """Read `count` input registers (function 0x04) from `address`."""

    @abstractmethod
    async def write_register(self, unit: int, address: int, value: int) -> None:
        """Write one holding register (function 0x06)."""

    @abstractmethod
    async def write_registers(self, unit: int, address: int, values: Sequence[int]) -> None:
        """Write holding registers in one request (function 0x10)."""

    @abstractmethod
    async def close(self) -> None:
        """Let go of the endpoint."""
