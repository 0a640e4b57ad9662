"""The device models, by the name `--device` takes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ..modbus import Device
from .chint import Ddsu666, Dtsu666
from .hyd_1ph import Hyd1ph
from .hyd_3ph import Hyd3ph
from .hyd_es import HydEs
from .ktl_v3 import KtlV3
from .tl_v3 import TlV3


class Memory(Protocol):
    """What a device keeps through a restart (its counters, a battery's charge)."""

    def memory(self) -> dict[str, Any]:
        """What to keep."""

    def recall(self, memory: Mapping[str, Any]) -> None:
        """Take up what was kept."""


class Model(Device, Protocol):
    """What the command line needs of a model: refusals to add, a plant to remember."""

    gaps: list[tuple[int, int]]
    max_read: int
    clock: Callable[[], float]

    @property
    def plant(self) -> Memory:
        """What it keeps through a restart."""


DEVICES: dict[str, Callable[[], Model]] = {
    "hyd-3ph": Hyd3ph,
    "hyd-1ph": Hyd1ph,
    "ktl-v3": KtlV3,
    "hyd-es": HydEs,
    "tl-v3": TlV3,
    "dtsu666": Dtsu666,
    "ddsu666": Ddsu666,
}
