"""The device models."""

from .hyd_3ph import Hyd3ph

DEVICES = {"hyd-3ph": Hyd3ph}
