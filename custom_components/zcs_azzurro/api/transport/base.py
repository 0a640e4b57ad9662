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
    last_error: str | None = None


class Link(ABC):
    """Modbus register access to the units behind one endpoint."""

    stats: LinkStats

    @abstractmethod
    async def read_holding_registers(self, unit: int, address: int, count: int) -> list[int]:
        """Read `count` holding registers (function 0x03) from `address`."""

    @abstractmethod
    async def write_registers(self, unit: int, address: int, values: Sequence[int]) -> None:
        """Write holding registers in one request (function 0x10)."""

    @abstractmethod
    async def close(self) -> None:
        """Let go of the endpoint."""
