"""The device models, by the name `--device` takes."""

from .hyd_1ph import Hyd1ph
from .hyd_3ph import Hyd3ph
from .ktl_v3 import KtlV3

DEVICES = {"hyd-3ph": Hyd3ph, "hyd-1ph": Hyd1ph, "ktl-v3": KtlV3}
