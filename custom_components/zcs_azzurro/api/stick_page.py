"""A Solarman logger's own web page: the stick's serial and firmware.

The ZSM-WIFI-USB (a Solarman LSW-3) and the ZSM-ETH-USB (a Solarman LSE-3) serve a web
interface on port 80, behind HTTP basic authentication (admin / admin from the factory). Its
status page, `/status.html`, carries the logger's serial and firmware as script variables,
`var cover_mid = "1797000000";` and `var cover_ver = "LSW3_15_FFFF_1.0.57";`, as public
captures of Sofar sticks' pages show (and the Solarman loggers of other brands', which tools
read for the same two values). The LSE-3's page shows the firmware under Status > Device
information (the solax-modbus Sofar FAQ), the same interface.

The scan answer is `ip,mac,serial`, and the V5 frames that carry Modbus on port 8899 carry
no firmware. The scan port also takes AT commands after the scan greeting (`AT+YZVER` answers
`+ok=<firmware>` in public tools for Deye's and other LSW-3 loggers); it is not used: it works
on the WiFi stick only, and the page is what an owner reads the firmware on.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import aiohttp
from yarl import URL

from .discovery import MAX_LOGGER_SERIAL

_LOGGER = logging.getLogger(__name__)

STATUS_PAGE = "/status.html"
# The login every stick has from the factory; a changed one keeps the page closed to us.
FACTORY_LOGIN = {"Authorization": aiohttp.encode_basic_auth("admin", "admin")}
# Seconds the stick has to send its page: a small web server, on a LAN.
PAGE_TIMEOUT = 5.0
# A page is a few kilobytes; read no more than this of whatever answers.
MAX_PAGE = 64 * 1024
_SERIAL = re.compile(r'var\s+cover_mid\s*=\s*"\s*(\d+)\s*"')
_FIRMWARE = re.compile(r'var\s+cover_ver\s*=\s*"\s*([\x21-\x7e]{1,64}?)\s*"')


@dataclass(frozen=True)
class StickPage:
    """What the stick's status page says of the stick itself."""

    serial: int
    firmware: str

    @property
    def release(self) -> str:
        """The firmware's release, its last part: `1.11` of `ME_0D_270A_1.11`."""
        return self.firmware.rpartition("_")[2]

    @property
    def mqtt(self) -> bool:
        """Whether it is one of the loggers' MQTT firmware.

        Public reports name `LSW3_15_MQTT_270A_1.10` (StephanJoubert #723),
        `LSW3_15_MQTT_270A_1.22` (davidrapan #762) and ZCS's own `LSW3_ZCSMQTT_270A_1.0C7`
        (davidrapan #800).
        """
        return "MQTT" in self.firmware.upper()


def parse_status_page(text: str) -> StickPage | None:
    """The serial and firmware a status page names, or None if it is no logger's page."""
    serial = _SERIAL.search(text)
    firmware = _FIRMWARE.search(text)
    if serial is None or firmware is None:
        return None
    number = int(serial.group(1))
    if not 0 < number <= MAX_LOGGER_SERIAL:
        return None
    return StickPage(number, firmware.group(1))


async def read_status_page(
    session: aiohttp.ClientSession, host: str, port: int
) -> StickPage | None:
    """The stick's status page at `host`, read with the factory login; None if not there.

    A stick without a web page, one whose login was changed, or anything else at that
    address gives None: the page is a nicety, and its absence is said at debug level.
    """
    url = URL.build(scheme="http", host=host, port=port, path=STATUS_PAGE)
    try:
        async with session.get(
            url,
            headers=FACTORY_LOGIN,
            timeout=aiohttp.ClientTimeout(total=PAGE_TIMEOUT),
            allow_redirects=False,
        ) as response:
            if response.status != 200:
                _LOGGER.debug("%s: HTTP %s", url, response.status)
                return None
            body = await response.content.read(MAX_PAGE)
    except (aiohttp.ClientError, TimeoutError, ValueError) as err:
        _LOGGER.debug("%s: %r", url, err)
        return None
    page = parse_status_page(body.decode("latin-1"))
    if page is None:
        _LOGGER.debug("%s: no logger serial and firmware on the page", url)
    return page
