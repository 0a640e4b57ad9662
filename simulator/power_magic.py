"""The Power Magic: Modbus TCP (port 502 on a real one), function codes 0x03, 0x06 and 0x10.

ZCS hands out its register map only on request, so no map is simulated here: the front
end serves whichever device model it is given, and tests read it through a profile of
their own, as a user reads a Power Magic through the profile made from ZCS's map.
"""

from __future__ import annotations

from .eth import EthStick, Framing
from .modbus import READ_HOLDING, WRITE_MULTIPLE, WRITE_SINGLE, Device


class PowerMagic(EthStick):
    """A Modbus TCP server for one unit."""

    functions = frozenset({READ_HOLDING, WRITE_SINGLE, WRITE_MULTIPLE})

    def __init__(self, device: Device, *, unit: int = 1) -> None:
        """Nothing listens until start()."""
        super().__init__(device, unit=unit, framing=Framing.TCP)
