"""A page of the running demo, as a signed-in user sees it, saved as a PNG by headless Chromium.

    .venv/bin/python scripts/demo_screenshot.py /energy energy.png

Needs `chromium` on the PATH (Debian: apt-get install chromium) and a demo that printed
`ready:`. It signs in with the demo's long-lived token (.demo/token), the way the frontend
keeps its own tokens (localStorage "hassTokens"), then opens the page and waits for it to
draw. It drives Chromium over its DevTools protocol with aiohttp, so nothing more is needed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
URL = "http://127.0.0.1:8123"
DEVTOOLS_PORT = 9223


class Page:
    """One browser tab, driven over the DevTools protocol."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command; its result, skipping the events that arrive meanwhile."""
        number = next(self.ids)
        await self.ws.send_json({"id": number, "method": method, "params": params})
        while True:
            message = await self.ws.receive_json()
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (awaited if a promise)."""
        answer = await self.call(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        return answer["result"].get("value")

    async def open(self, url: str, settle: float) -> None:
        """Go to the URL and give the frontend time to load its data and draw."""
        await self.call("Page.navigate", url=url)
        await asyncio.sleep(settle)


# Where the Energy panel keeps the period a user last chose: localStorage's
# "energy-default-period-" and the key of the panel's data collection (the frontend's
# `connection._energy_dashboard`).
ENERGY_PERIOD_KEYS = ("_energy_dashboard",)


async def screenshot(
    token: str,
    path: str,
    width: int,
    height: int,
    settle: float,
    *,
    energy_period: str | None = None,
    language: str | None = None,
) -> bytes:
    """Sign in, open the page; what it shows, as a PNG.

    With `energy_period` ("now-7d", "this_week", ...), the Energy panel opens on that period
    as it does once the user has chosen it; with `language` ("it"), the frontend speaks it, as
    when the user picks it in their profile.
    """
    profile = tempfile.mkdtemp(prefix="zcs-demo-chromium-")
    chromium = await asyncio.create_subprocess_exec(
        shutil.which("chromium") or "chromium",
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", f"--window-size={width},{height}",
        "--remote-debugging-address=127.0.0.1", f"--remote-debugging-port={DEVTOOLS_PORT}",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as session:
            tabs = await _tabs(session)
            tab = next(t for t in tabs if t["type"] == "page")
            async with session.ws_connect(tab["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                page = Page(ws)
                await page.call("Page.enable")
                # Any page of the origin will do to reach its localStorage.
                await page.open(f"{URL}/manifest.json", 1)
                tokens = {
                    "access_token": token,
                    "token_type": "Bearer",
                    "expires_in": 10 * 365 * 86400,
                    "hassUrl": URL,
                    "clientId": f"{URL}/",
                    "expires": int(time.time() * 1000) + 10 * 365 * 86400 * 1000,
                    "refresh_token": "",
                }
                await page.evaluate(
                    f"localStorage.setItem('hassTokens', {json.dumps(json.dumps(tokens))})"
                )
                if language:
                    chosen = json.dumps(json.dumps(language))
                    await page.evaluate(f"localStorage.setItem('selectedLanguage', {chosen})")
                for key in ENERGY_PERIOD_KEYS if energy_period else ():
                    await page.evaluate(
                        f"localStorage.setItem('energy-default-period-{key}', "
                        f"{json.dumps(energy_period)})"
                    )
                await page.open(f"{URL}{path}", settle)
                shot = await page.call("Page.captureScreenshot", format="png")
                return base64.b64decode(shot["data"])
    finally:
        chromium.terminate()
        await chromium.wait()
        shutil.rmtree(profile, ignore_errors=True)


async def _tabs(session: aiohttp.ClientSession) -> list[dict[str, Any]]:
    """Chromium's tabs, once its DevTools endpoint answers."""
    for _ in range(100):
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(f"http://127.0.0.1:{DEVTOOLS_PORT}/json/list") as response:
                tabs: list[dict[str, Any]] = await response.json()
                return tabs
        await asyncio.sleep(0.2)
    raise SystemExit("chromium's DevTools endpoint did not answer")


def main() -> None:
    """Parse the command line and take the screenshot."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("path", help="the page, for example /energy or /history")
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--settle", type=float, default=12, help="seconds to let it draw")
    parser.add_argument(
        "--energy-period", help="the period the Energy panel opens on, for example now-7d"
    )
    parser.add_argument("--language", help="the frontend's language, for example it")
    arguments = parser.parse_args()
    token = (ROOT / ".demo" / "token").read_text().strip()
    png = asyncio.run(
        screenshot(
            token,
            arguments.path,
            arguments.width,
            arguments.height,
            arguments.settle,
            energy_period=arguments.energy_period,
            language=arguments.language,
        )
    )
    arguments.out.write_bytes(png)


if __name__ == "__main__":
    main()
