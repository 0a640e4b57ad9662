"""Constants of the ZCS Azzurro integration."""

import os
from typing import Final, Literal

DOMAIN: Final = "zcs_azzurro"

CONF_LINK: Final = "link"
CONF_UNIT_ID: Final = "unit_id"
CONF_PROFILE: Final = "profile"
CONF_MODEL: Final = "model"
CONF_FRAMING: Final = "framing"

# The links the config flow offers; each is one step of its menu.
LINK_ETH: Final = "eth"
LINK_HUB: Final = "hub"
LINK_POWER_MAGIC: Final = "power_magic"
LINK_RS485: Final = "rs485"
LINK_WIFI: Final = "wifi"

DEFAULT_ETH_PORT: Final = 8899
# The Solarman logger's serial (on the WiFi stick's label), which every V5 frame names.
CONF_LOGGER_SERIAL: Final = "logger_serial"

# Where the scan for WiFi sticks goes: the LAN's broadcast address, port 48899; and the
# port a stick it finds is asked on (8899 on every stick). The environment variables let a
# test bench or the demo point them at a simulator on one host (127.0.0.1).
SCAN_ADDRESS: Final = os.environ.get("ZCS_AZZURRO_SCAN_ADDRESS", "255.255.255.255")
SCAN_PORT: Final = int(os.environ.get("ZCS_AZZURRO_SCAN_PORT", "48899"))
DEFAULT_WIFI_PORT: Final = int(os.environ.get("ZCS_AZZURRO_WIFI_PORT", "8899"))
# Seconds a scan listens for answers, and minutes between background scans.
SCAN_WAIT: Final = 2.0
SCAN_EVERY_MINUTES: Final = 15
DEFAULT_UNIT_ID: Final = 1
DEFAULT_POWER_MAGIC_PORT: Final = 502

# The Azzurro HUB's three RS485 lines, each behind a Modbus TCP port of its own.
CONF_LINE: Final = "line"
HUB_LINES: Final = {"inverters": 55400, "meters": 55401, "ev_chargers": 55402}
# Seconds the HUB needs between two requests on a port (an option; ZCS advises 3 or more,
# and the HUB's own setting must match).
CONF_PACING: Final = "pacing"
DEFAULT_HUB_PACING: Final = 3.0
MAX_HUB_PACING: Final = 60.0

# An RS485 line: the serial port and its settings (9600 8N1 unless changed).
CONF_BAUDRATE: Final = "baudrate"
CONF_PARITY: Final = "parity"
CONF_STOPBITS: Final = "stopbits"
CONF_BYTESIZE: Final = "bytesize"
BAUDRATES: Final = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
PARITIES: Final[dict[str, Literal["N", "E", "O"]]] = {"none": "N", "even": "E", "odd": "O"}

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
# On a paced port (the HUB's) the energy counters are read every this many polls.
SLOW_EVERY: Final = 5
# Seconds between two writes of a setting kept in the inverter's EEPROM (an option).
CONF_WRITE_INTERVAL: Final = "write_interval"
DEFAULT_WRITE_INTERVAL: Final = 10
MAX_WRITE_INTERVAL: Final = 3600

# The Azzurro Portal (ZCS's cloud): one entry per device (thing key), credentials shared.
LINK_PORTAL: Final = "portal"
CONF_CLIENT_CODE: Final = "client_code"
CONF_THING_KEY: Final = "thing_key"
# The Portal's fields the device answered when the entry was made: they become entities.
CONF_FIELDS: Final = "fields"
CONF_BACKFILL_DAYS: Final = "backfill_days"
PORTAL_MODEL: Final = "Azzurro Portal"
# The service updates about every 5 minutes; asking more often than a minute gains nothing.
DEFAULT_PORTAL_SCAN_INTERVAL: Final = 300
MIN_PORTAL_SCAN_INTERVAL: Final = 60
DEFAULT_BACKFILL_DAYS: Final = 7
MAX_BACKFILL_DAYS: Final = 60
# After failed polls the next waits twice as long each time, up to this (s).
MAX_BACKOFF: Final = 1800

# Whether the register actions may write registers the profile does not declare writable
# (an option, off by default; admin users only).
CONF_ALLOW_RAW_WRITES: Final = "allow_raw_writes"

# Sharing the entry's connection: a Modbus TCP server other programs read (and, if allowed,
# write) the device through (options; off by default, on loopback unless told otherwise).
CONF_PROXY: Final = "proxy"
CONF_PROXY_PORT: Final = "proxy_port"
CONF_PROXY_HOST: Final = "proxy_host"
CONF_PROXY_WRITES: Final = "proxy_writes"
DEFAULT_PROXY_PORT: Final = 5020
DEFAULT_PROXY_HOST: Final = "127.0.0.1"
# Clients served at once, and from one address (so that one host cannot take every slot);
# more are turned away.
PROXY_MAX_CLIENTS: Final = 8
PROXY_CLIENTS_PER_ADDRESS: Final = 4
# Requests a second one client is served at most (some 50 sensors read every second).
PROXY_RATE: Final = 50.0
# Seconds a client may stay silent before it is let go.
PROXY_IDLE: Final = 300.0

# Fired after each register action that wrote: entry id, first address, words written.
EVENT_REGISTER_WRITTEN: Final = f"{DOMAIN}_register_written"
# The Azzurro System (ZCS's cloud for plant owners): a token, the plant and its inverter.
# The inverter's serial is kept under CONF_THING_KEY, as the Portal's, so the device, the
# diagnostics and the backfill treat both clouds alike.
LINK_SYSTEM: Final = "system"
CONF_PLANT_ID: Final = "plant_id"
SYSTEM_MODEL: Final = "Azzurro System"
# Seconds a register write waits for ZCS to POST its result to the entry's webhook.
SYSTEM_WRITE_TIMEOUT: Final = 120.0
# The largest callback body taken (bytes); ZCS's is a few hundred.
MAX_CALLBACK_BYTES: Final = 4096
# Seconds a callback's body may take to arrive whole (it may come in pieces).
CALLBACK_READ_TIMEOUT: Final = 10.0

# A plant: entries of inverters (and of the meter at the grid connection) grouped as one,
# an entry of its own that names theirs (config entry ids).
LINK_PLANT: Final = "plant"
CONF_INVERTERS: Final = "inverters"
CONF_METER: Final = "meter"
CONF_MASTER: Final = "master"
DEFAULT_PLANT_NAME: Final = "Plant"
