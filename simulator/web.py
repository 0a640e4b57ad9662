"""A logger stick's own web page: the status page that names the stick's serial and firmware.

The Solarman loggers behind ZCS's sticks (the ZSM-WIFI-USB is an LSW-3, the ZSM-ETH-USB an
LSE-3) serve a web interface behind HTTP basic authentication, admin / admin from the
factory. Its `/status.html` sets script variables, as public captures of Sofar sticks' pages
show them (a Sofar LSW-3's: `var webdata_sn = "SA3ES233xxxxxx  ";` ... `var cover_mid =
"1797000000";`, `var cover_ver = "LSW3_15_FFFF_1.0.57";`, `var cover_wmode = "APSTA";`):
the inverter's serial padded with spaces, the logger's serial (`cover_mid`) and its firmware
(`cover_ver`). The LSE-3 shows its firmware on the same Status page (the solax-modbus Sofar
FAQ: "ME_0D_270A_1.09"), but no public capture of that page's source was found: the
simulator serves the LSW-3's variables for both sticks, an assumption, not a capture.
"""

from __future__ import annotations

import base64
import binascii

from aiohttp import web

# Firmware public reports name on each stick: a Sofar HYD's LSW-3 (serek4/node-red-sofar-
# inverter #7), and the LSE-3 release the solax-modbus Sofar FAQ recommends.
WIFI_FIRMWARE = "LSW3_15_FFFF_1.0.65"
ETH_FIRMWARE = "ME_0D_270A_1.09"
FACTORY_LOGIN = ("admin", "admin")
# The width the page pads the inverter's serial to (the captures' `webdata_sn`).
SERIAL_WIDTH = 40


class StickWebPage:
    """The stick's web server: its status page, for the factory login only."""

    def __init__(self, logger_serial: int, firmware: str, inverter_serial: str = "") -> None:
        """Nothing listens until start()."""
        self.logger_serial = logger_serial
        self.firmware = firmware
        self.inverter_serial = inverter_serial
        self.login = FACTORY_LOGIN
        self.requests = 0
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        """The port it listens on (chosen by the system when started on port 0)."""
        if self._runner is None:
            raise RuntimeError("not started")
        port: int = self._runner.addresses[0][1]
        return port

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen for browsers."""
        app = web.Application()
        app.router.add_get("/status.html", self._status)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def status_page(self) -> str:
        """The status page's text, its variables as the captures show them."""
        variables = {
            "webdata_sn": self.inverter_serial.ljust(SERIAL_WIDTH),
            "webdata_msvn": "",
            "webdata_ssvn": "",
            "webdata_pv_type": "",
            "webdata_rate_p": "",
            "cover_mid": str(self.logger_serial),
            "cover_ver": self.firmware,
            "cover_wmode": "APSTA",
            "status_a": "1",
            "status_b": "0",
            "status_c": "0",
        }
        script = "\n".join(f'var {name} = "{value}";' for name, value in variables.items())
        return f'<html><head><script type="text/javascript">\n{script}\n</script></head></html>'

    async def _status(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if _login(request.headers.get("Authorization", "")) != self.login:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="stick"'})
        return web.Response(text=self.status_page(), content_type="text/html")


def _login(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except binascii.Error, UnicodeDecodeError:
        return None
    return user, password
