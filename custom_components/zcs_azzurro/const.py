"""Constants of the ZCS Azzurro integration."""

from typing import Final

DOMAIN: Final = "zcs_azzurro"

CONF_LINK: Final = "link"
CONF_UNIT_ID: Final = "unit_id"
CONF_PROFILE: Final = "profile"
CONF_MODEL: Final = "model"
CONF_FRAMING: Final = "framing"

# The links the config flow offers; each is one step of its menu.
LINK_ETH: Final = "eth"

DEFAULT_ETH_PORT: Final = 8899
DEFAULT_UNIT_ID: Final = 1

DEFAULT_SCAN_INTERVAL: Final = 30
MIN_SCAN_INTERVAL: Final = 5
MAX_SCAN_INTERVAL: Final = 3600

# Seconds to wait for a connection and for each answer. The ETH stick reports to the ZCS
# cloud about once a minute and can hold a request for several seconds meanwhile.
REQUEST_TIMEOUT: Final = 10.0
# Seconds setup waits for an answer in each framing it tries, so a stick that speaks the
# second one is found within a few seconds; what stays silent is then read with the above.
PROBE_TIMEOUT: Final = 1.5

# Settings change only when written: read on setup, after a write, then every this many polls.
SETTINGS_EVERY: Final = 10
# Seconds between two writes of a setting kept in the inverter's EEPROM (an option).
CONF_WRITE_INTERVAL: Final = "write_interval"
DEFAULT_WRITE_INTERVAL: Final = 10
MAX_WRITE_INTERVAL: Final = 3600
# Whether the register actions may write registers the profile does not declare writable
# (an option, off by default; admin users only).
CONF_ALLOW_RAW_WRITES: Final = "allow_raw_writes"

# Fired after each register action that wrote: entry id, first address, words written.
EVENT_REGISTER_WRITTEN: Final = f"{DOMAIN}_register_written"
