# Home Assistant (2026.9 on) puts probatio's voluptuous shim in sys.modules as
# "voluptuous" before any integration loads; the shim re-exports probatio's names.
from probatio import *  # noqa: F403
