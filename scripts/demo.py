"""The demo: a real Home Assistant set up against the simulated inverter, as a user would.

Run through scripts/demo. It starts the simulator and `hass -c .demo/config`, onboards a
demo user over Home Assistant's REST API, adds the integration through the real config
flow, writes a long-lived access token to .demo/token, and prints `ready: <url>` once the
entities have values. Ctrl-C stops everything; a second run reuses what the first set up.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / ".demo"
CONFIG = DEMO / "config"
HOST = "127.0.0.1"
HA_PORT = 8123
SIM_PORT = 18899
URL = f"http://{HOST}:{HA_PORT}"
CLIENT_ID = f"{URL}/"
DOMAIN = "zcs_azzurro"
CONFIGURATION = """\
# Made by scripts/demo: only what the demo needs, so Home Assistant starts fast.
homeassistant:
  name: ZCS Azzurro demo
frontend:
config:
api:
logger:
  default: warning
  logs:
    custom_components.zcs_azzurro: info
"""
# For the first start only: Home Assistant moves it into its storage as a trial, which the
# demo confirms (else Home Assistant reverts to all interfaces and restarts five minutes on).
LOOPBACK_HTTP = f"""\
http:
  server_host: {HOST}
  server_port: {HA_PORT}
"""


def say(text: str) -> None:
    """A line for the person running the demo."""
    print(text, flush=True)


# Every page of the frontend asks for the service descriptions, and loading them imports
# assist_pipeline, which imports these two. The versions Home Assistant pins come only as
# source that needs Python's headers to build; these later releases, with the same API,
# come as wheels. hass is told not to replace them (--skip-pip-packages).
ASSIST_AUDIO = {"pymicro_vad": "pymicro-vad==2.1.0", "pyspeex_noise": "pyspeex-noise==2.0.1"}


def ensure_packages() -> None:
    """What hass needs to serve its frontend, beyond what the tests install."""
    homeassistant = Path(importlib.util.find_spec("homeassistant").origin).parent  # type: ignore[union-attr, arg-type]
    frontend = json.loads((homeassistant / "components/frontend/manifest.json").read_text())
    # Without the frontend Home Assistant's manifest pins, hass starts in recovery mode.
    wanted = {"hass_frontend": frontend["requirements"][0], **ASSIST_AUDIO}
    missing = [req for module, req in wanted.items() if importlib.util.find_spec(module) is None]
    if not missing:
        return
    say(f"installing {', '.join(missing)} (first run only)")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", *missing],
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    # Only pip's complaints about this machine's absent local indexes are left out.
    for line in done.stderr.splitlines():
        if not line.startswith("WARNING: Location"):
            print(line, file=sys.stderr)
    if done.returncode:
        raise SystemExit(f"installing {', '.join(missing)} failed")


def ensure_config() -> None:
    """The configuration directory, with this checkout's integration linked in."""
    CONFIG.mkdir(parents=True, exist_ok=True)
    configuration = CONFIG / "configuration.yaml"
    if not configuration.exists():
        configuration.write_text(CONFIGURATION + LOOPBACK_HTTP)
    link = CONFIG / "custom_components" / DOMAIN
    link.parent.mkdir(exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(ROOT / "custom_components" / DOMAIN)


async def start(name: str, *command: str, log: Path | None = None) -> asyncio.subprocess.Process:
    """A child process in its own session, so Ctrl-C reaches only this script."""
    out = log.open("ab") if log else asyncio.subprocess.PIPE
    return await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


async def wait_for_http(session: aiohttp.ClientSession, hass: asyncio.subprocess.Process) -> None:
    """Until Home Assistant's HTTP server answers (or hass has exited)."""
    for _ in range(600):
        if hass.returncode is not None:
            raise SystemExit(f"hass exited with {hass.returncode}; see {DEMO / 'hass.log'}")
        with contextlib.suppress(aiohttp.ClientError):
            # Any answer will do: before onboarding most views refuse, but they answer.
            async with session.get(f"{URL}/api/") as response:
                if response.status < 500:
                    return
        await asyncio.sleep(0.5)
    raise SystemExit("Home Assistant did not answer within 5 minutes")


async def onboard(session: aiohttp.ClientSession) -> dict[str, str]:
    """Create the demo user and finish onboarding; returns its credentials."""
    credentials = {"name": "Demo", "username": "demo", "password": secrets.token_urlsafe(9)}
    async with session.post(
        f"{URL}/api/onboarding/users",
        json={"client_id": CLIENT_ID, "language": "en", **credentials},
    ) as response:
        response.raise_for_status()
        code = (await response.json())["auth_code"]
    token = await exchange(session, code)
    headers = {"Authorization": f"Bearer {token}"}
    for step, body in (
        ("core_config", {}),
        ("analytics", {}),
        ("integration", {"client_id": CLIENT_ID, "redirect_uri": f"{URL}/?auth_callback=1"}),
    ):
        async with session.post(
            f"{URL}/api/onboarding/{step}", json=body, headers=headers
        ) as response:
            response.raise_for_status()
    # Where the plant is: without a country Home Assistant raises a repair issue.
    await websocket(session, token, {"type": "config/core/update", "country": "IT"})
    (DEMO / "credentials.json").write_text(json.dumps(credentials))
    return credentials


async def exchange(session: aiohttp.ClientSession, code: str) -> str:
    """An access token for an authorization code."""
    async with session.post(
        f"{URL}/auth/token",
        data={"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID},
    ) as response:
        response.raise_for_status()
        access: str = (await response.json())["access_token"]
        return access


async def log_in(session: aiohttp.ClientSession, credentials: dict[str, str]) -> str:
    """An access token through the login flow the frontend uses."""
    async with session.post(
        f"{URL}/auth/login_flow",
        json={
            "client_id": CLIENT_ID,
            "handler": ["homeassistant", None],
            "redirect_uri": f"{URL}/?auth_callback=1",
        },
    ) as response:
        flow = await response.json()
    async with session.post(
        f"{URL}/auth/login_flow/{flow['flow_id']}",
        json={
            "client_id": CLIENT_ID,
            "username": credentials["username"],
            "password": credentials["password"],
        },
    ) as response:
        result = await response.json()
    return await exchange(session, result["result"])


async def websocket(
    session: aiohttp.ClientSession, token: str, *messages: dict[str, Any]
) -> list[Any]:
    """Send commands over the websocket API; returns their results."""
    results = []
    async with session.ws_connect(f"{URL}/api/websocket") as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": token})
        if (await ws.receive_json())["type"] != "auth_ok":
            raise SystemExit("the websocket API refused the token")
        for number, message in enumerate(messages, start=1):
            await ws.send_json({"id": number, **message})
            answer = await ws.receive_json()
            if not answer.get("success"):
                raise SystemExit(f"{message['type']} failed: {answer.get('error')}")
            results.append(answer["result"])
    return results


async def confirm_loopback_http(session: aiohttp.ClientSession, token: str) -> None:
    """Confirm the HTTP trial, as the user would in the dialog; then drop it from the YAML."""
    (http,) = await websocket(session, token, {"type": "http/config"})
    if http["pending"] is not None:
        await websocket(
            session,
            token,
            {"type": "http/config/promote"},
            # The repair asks to move http: out of the YAML, which the next line does.
            {"type": "repairs/ignore_issue", "domain": "http", "issue_id": "deprecated_yaml",
             "ignore": True},
        )  # fmt: skip
    (CONFIG / "configuration.yaml").write_text(CONFIGURATION)


async def add_integration(session: aiohttp.ClientSession, headers: dict[str, str]) -> None:
    """The config flow, step by step, as the frontend drives it."""
    async with session.get(
        f"{URL}/api/config/config_entries/entry", params={"domain": DOMAIN}, headers=headers
    ) as response:
        if await response.json():
            return
    flows = f"{URL}/api/config/config_entries/flow"
    async with session.post(flows, json={"handler": DOMAIN}, headers=headers) as response:
        result = await response.json()
    flow = f"{flows}/{result['flow_id']}"
    # A menu (once there is more than one link) is a choice; the form is the stick's fields.
    if result.get("type") == "menu":
        async with session.post(flow, json={"next_step_id": "eth"}, headers=headers) as response:
            result = await response.json()
    fields = {"host": HOST, "port": SIM_PORT, "unit_id": 1}
    async with session.post(flow, json=fields, headers=headers) as response:
        result = await response.json()
    if result.get("type") != "create_entry":
        raise SystemExit(f"the config flow did not create the entry: {result}")
    say(f"added {result['title']} through the config flow")


async def wait_for_values(
    session: aiohttp.ClientSession, token: str, headers: dict[str, str]
) -> int:
    """How many of the integration's entities have a value, once most do."""
    for _ in range(120):
        (registry,) = await websocket(session, token, {"type": "config/entity_registry/list"})
        ours = {
            e["entity_id"] for e in registry if e["platform"] == DOMAIN and not e["disabled_by"]
        }
        async with session.get(f"{URL}/api/states", headers=headers) as response:
            states = await response.json()
        valued = [
            s
            for s in states
            if s["entity_id"] in ours and s["state"] not in ("unknown", "unavailable")
        ]
        if ours and len(valued) == len(ours):
            return len(valued)
        await asyncio.sleep(1)
    raise SystemExit("the entities got no values within two minutes; see .demo/hass.log")


async def wait_until_running(session: aiohttp.ClientSession, headers: dict[str, str]) -> None:
    """Until Home Assistant has finished starting: stopped before, it may not save its state."""
    for _ in range(240):
        async with session.get(f"{URL}/api/config", headers=headers) as response:
            if (await response.json())["state"] == "RUNNING":
                return
        await asyncio.sleep(0.5)
    raise SystemExit("Home Assistant did not finish starting within two minutes")


async def run() -> None:
    """Set everything up, report ready, and serve until cancelled."""
    DEMO.mkdir(exist_ok=True)
    ensure_packages()
    ensure_config()
    simulator = await start(
        "simulator", sys.executable, "-m", "simulator", "--device", "hyd-3ph", "--link", "eth",
        "--port", str(SIM_PORT), "--memory", str(DEMO / "inverter.json"),
    )  # fmt: skip
    hass = None
    try:
        assert simulator.stdout is not None
        line = (await asyncio.wait_for(simulator.stdout.readline(), 30)).decode().strip()
        if not line.startswith("listening"):
            raise SystemExit(f"the simulator did not start (is port {SIM_PORT} in use?)")
        say(f"simulator: {line}")
        hass_bin = str(Path(sys.executable).with_name("hass"))
        # Home Assistant installs what its built-in integrations need on the first start,
        # except these: ensure_packages() put other versions of them in place.
        hass = await start(
            "hass", hass_bin, "-c", str(CONFIG), "--skip-pip-packages", "pymicro-vad,pyspeex-noise",
            log=DEMO / "hass.log",
        )  # fmt: skip
        async with aiohttp.ClientSession() as session:
            await wait_for_http(session, hass)
            async with session.get(f"{URL}/api/onboarding") as response:
                # Once onboarding is done, Home Assistant no longer serves this view.
                onboarded = response.status == 404 or all(
                    step["done"] for step in await response.json()
                )
            if onboarded:
                credentials = json.loads((DEMO / "credentials.json").read_text())
            else:
                credentials = await onboard(session)
            access = await log_in(session, credentials)
            token_file = DEMO / "token"
            if not token_file.exists():
                (token,) = await websocket(
                    session,
                    access,
                    {
                        "type": "auth/long_lived_access_token",
                        "client_name": "zcs-demo",
                        "lifespan": 3650,
                    },
                )
                token_file.write_text(token)
            await confirm_loopback_http(session, access)
            headers = {"Authorization": f"Bearer {access}"}
            await add_integration(session, headers)
            count = await wait_for_values(session, access, headers)
            await wait_until_running(session, headers)
            say(f"user: {credentials['username']}  password: {credentials['password']}")
            say(f"token: {token_file.relative_to(ROOT)}  ({count} entities with values)")
            say(f"ready: {URL}")
            await asyncio.Event().wait()  # until Ctrl-C cancels this task
    finally:
        for process in (hass, simulator):
            if process is not None and process.returncode is None:
                process.send_signal(signal.SIGTERM)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(process.wait(), 60)
                if process.returncode is None:
                    process.kill()
        say("stopped")


async def main() -> None:
    """Run until Ctrl-C (or SIGTERM), which cancels whatever step is under way."""
    this = asyncio.current_task()
    assert this is not None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, this.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await run()


if __name__ == "__main__":
    asyncio.run(main())
