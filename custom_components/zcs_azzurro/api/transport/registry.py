"""One connection per endpoint, shared by everyone who uses it, one request at a time.

Loggers and the HUB serve one client well and several badly; two config entries (or a
config flow and an entry) behind the same host:port therefore share one link.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from .base import Link
from .stream import ModbusTcpLink, RtuOverTcpLink


class LinkKind(StrEnum):
    """The wire formats, one per kind of endpoint."""

    RTU_OVER_TCP = "rtu_over_tcp"
    MODBUS_TCP = "modbus_tcp"


@dataclass(frozen=True)
class Endpoint:
    """Where a link goes; the key under which it is shared."""

    kind: LinkKind
    host: str
    port: int

    def __str__(self) -> str:
        """Host and port, as users write them."""
        return f"{self.host}:{self.port}"


def open_link(endpoint: Endpoint, timeout: float) -> Link:
    """Make the link that speaks the endpoint's wire format."""
    match endpoint.kind:
        case LinkKind.RTU_OVER_TCP:
            return RtuOverTcpLink(endpoint.host, endpoint.port, timeout=timeout)
        case LinkKind.MODBUS_TCP:
            return ModbusTcpLink(endpoint.host, endpoint.port, timeout=timeout)


class _Shared:
    """A link, its lock and its pacing."""

    def __init__(self, link: Link, min_interval: float) -> None:
        self.link = link
        self.min_interval = min_interval
        self.holders = 0
        self._lock = asyncio.Lock()
        self._ready_at = 0.0

    async def run[T](self, call: Callable[[Link], Awaitable[T]]) -> T:
        async with self._lock:
            loop = asyncio.get_running_loop()
            if (wait := self._ready_at - loop.time()) > 0:
                await asyncio.sleep(wait)
            try:
                return await call(self.link)
            finally:
                self._ready_at = loop.time() + self.min_interval


class Lease(Link):
    """One holder's handle on a shared link; closing it lets go of the link."""

    def __init__(self, registry: LinkRegistry, endpoint: Endpoint, shared: _Shared) -> None:
        """Only the registry makes leases."""
        self.endpoint = endpoint
        self._registry = registry
        self._shared: _Shared | None = shared
        self.stats = shared.link.stats

    async def read_holding_registers(self, unit: int, address: int, count: int) -> list[int]:
        """Read through the shared link, after any request already queued on it."""
        return await self._held().run(
            lambda link: link.read_holding_registers(unit, address, count)
        )

    async def write_registers(self, unit: int, address: int, values: Sequence[int]) -> None:
        """Write through the shared link, after any request already queued on it."""
        await self._held().run(lambda link: link.write_registers(unit, address, values))

    async def close(self) -> None:
        """Let go; the last holder to let go closes the connection."""
        if (shared := self._shared) is not None:
            self._shared = None
            await self._registry.release(self.endpoint, shared)

    def _held(self) -> _Shared:
        if self._shared is None:
            raise RuntimeError(f"lease on {self.endpoint} used after close")
        return self._shared


class LinkRegistry:
    """Hands out leases on one link per endpoint."""

    def __init__(self, timeout: float) -> None:
        """Links made here wait `timeout` seconds for a connection and for each answer."""
        self.timeout = timeout
        self._shared: dict[Endpoint, _Shared] = {}

    def lease(self, endpoint: Endpoint, *, min_interval: float = 0.0) -> Lease:
        """Share the endpoint's link; requests through it keep `min_interval` s apart."""
        if (shared := self._shared.get(endpoint)) is None:
            shared = self._shared[endpoint] = _Shared(open_link(endpoint, self.timeout), 0.0)
        # The most cautious pacing any holder asks for holds for all of them.
        shared.min_interval = max(shared.min_interval, min_interval)
        shared.holders += 1
        return Lease(self, endpoint, shared)

    async def release(self, endpoint: Endpoint, shared: _Shared) -> None:
        """Called by a lease when it closes."""
        shared.holders -= 1
        if shared.holders == 0:
            if self._shared.get(endpoint) is shared:
                del self._shared[endpoint]
            await shared.link.close()
