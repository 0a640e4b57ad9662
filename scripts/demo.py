"""The demo: a real Home Assistant set up against the simulated inverter, as a user would.

Run through scripts/demo (`python -m scripts.demo`). It starts the simulator and
`hass -c .demo/config`, onboards a demo user over Home Assistant's REST API, adds the
integration through the real config flow, sets the Energy dashboard up with its entities,
writes a long-lived access token to .demo/token, and prints `ready: <url>` once the
entities have values. Then it checks the register actions and the controls over REST (local
links: a select and a number set, their states then showing the values, whatever way the
stick answers writes, with no ERROR in Home Assistant's log) and that the recorder keeps
statistics for the energy counters. Ctrl-C stops everything; a
second run reuses what the first set up. Flags it does not know go to the simulator.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import secrets
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from custom_components.zcs_azzurro.api.profile.loader import load_bundled
from custom_components.zcs_azzurro.backfill import statistic_id
from scripts import demo_energy
from simulator.wifi import DEFAULT_LOGGER_SERIAL

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / ".demo"
CONFIG = DEMO / "config"
TOKEN = DEMO / "token"
HOST = "127.0.0.1"
HA_PORT = 8123
SIM_PORT = 18899
URL = f"http://{HOST}:{HA_PORT}"
CLIENT_ID = f"{URL}/"
DOMAIN = "zcs_azzurro"
# The simulated inverter's serial number, and the Portal credentials the simulator accepts.
SERIAL = "ZP1ES010M2H00017"
# The simulated WiFi stick answers scans on this UDP port of loopback, where Home
# Assistant's scan goes in the demo (told by the environment): never the LAN.
SCAN_PORT = 48899
# The simulated devices the setup finds by their serial number (scripts/demo --device).
DETECTED = ("hyd-3ph", "hyd-1ph", "ktl-v3", "hyd-es", "tl-v3")
# The meters: no serial number to find them by, so the demo ticks *Show the profile
# detected* as a user does, and picks the meter's profile (the flow's `unidentified` step).
METERS = {"dtsu666": "chint_dtsu666", "ddsu666": "chint_ddsu666"}
# Where a meter is reached from: a stick's or a bus's port (the HUB's meter line would need
# an inverter beside it on its inverter line).
METER_LINKS = ("eth", "rs485")
# The plant (--plant, scripts/demo_plant.py): two inverters in parallel, two towers of two
# packs each, and the meter at their grid connection, a stick each on consecutive ports.
PLANT_PORTS = {"master": SIM_PORT, "slave": SIM_PORT + 1, "meter": SIM_PORT + 2}
PLANT_SIMULATOR = ("--plant", "2", "--link", "eth", "--second-tower", "--packs", "2")
# Where each keeps its counters across runs (the first demo's file keeps its name).
MEMORY = {"hyd-3ph": "inverter.json"}


@dataclass(frozen=True)
class DemoLink:
    """How the demo reaches the simulated device over one link."""

    simulator: tuple[str, ...]  # the simulator's flags for this link's front end
    step: str  # the config flow's step for it
    # What the user types into that step, given where the simulator says it listens
    # ("127.0.0.1:18899", or the path of an RS485 bus's pseudo-terminal).
    fields: Callable[[str], dict[str, Any]]
    # A cloud backfills its history into external statistics: the Energy dashboard shows
    # those, so that past days are there too; a local link's counters are its entities.
    statistics: bool = False
    port: int = SIM_PORT  # where the simulator listens (the HUB: its inverter line)
    # ZCS's servers post results to Home Assistant: it needs an external URL (loopback here).
    external_url: bool = False
    # What Home Assistant's environment adds (where the WiFi scan goes).
    environment: Mapping[str, str] = field(default_factory=dict)
    # Whether the device's registers are reached (the register actions): not through a cloud.
    registers: bool = True

    def energy(self, entities: dict[str, str]) -> dict[str, str]:
        """What the Energy dashboard shows, by field key: entities, or the cloud's history."""
        if not self.statistics:
            return entities
        return entities | {key: statistic_id(SERIAL, key) for key in demo_energy.COUNTERS}

    def recorded_since(self, started: float) -> tuple[float, str]:
        """Where the counters' statistics start, and their period.

        A cloud's history is backfilled hourly, days back; an entity's statistics start in
        the five minutes the demo started in.
        """
        return (started - 8 * 86400, "hour") if self.statistics else (started - 300, "5minute")


# Each link the demo can show: `scripts/demo --link NAME`.
LINKS = {
    "eth": DemoLink(
        ("--link", "eth"), "eth", lambda where: {"host": HOST, "port": SIM_PORT, "unit_id": 1}
    ),
    "portal": DemoLink(
        ("--link", "portal"),
        "portal",
        lambda where: {
            "api_key": "simulated-key",
            "client_code": "simulated-client",
            "thing_key": SERIAL,
            "advanced": {"url": f"http://{HOST}:{SIM_PORT}/"},
        },
        statistics=True,
        registers=False,
    ),
    # Writes are answered at the entry's webhook: Home Assistant's external URL is set to
    # its loopback address before the entry is added, so the simulator can post to it.
    "system": DemoLink(
        ("--link", "system"),
        "system",
        lambda where: {
            "token": "simulated-token",
            "plant_id": "PLANT-1",
            "thing_key": SERIAL,
            "advanced": {"url": f"http://{HOST}:{SIM_PORT}/"},
        },
        statistics=True,
        external_url=True,
        registers=False,
    ),
    # The scan finds the stick; the user picks it by the logger serial on its label.
    "wifi": DemoLink(
        ("--link", "wifi", "--scan-port", str(SCAN_PORT)),
        "wifi",
        lambda where: {"stick": str(DEFAULT_LOGGER_SERIAL)},
        environment={
            "ZCS_AZZURRO_SCAN_ADDRESS": HOST,
            "ZCS_AZZURRO_SCAN_PORT": str(SCAN_PORT),
            "ZCS_AZZURRO_WIFI_PORT": str(SIM_PORT),
        },
    ),
    # The HUB's three lines on 55400-55402, with its 3 s pause: setup takes about a minute.
    "hub": DemoLink(
        ("--link", "hub"),
        "hub",
        lambda where: {"host": HOST, "line": "inverters", "unit_id": 1},
        port=55400,
    ),
    # The Power Magic's map is ZCS's to give: the simulated one serves the inverter's
    # registers, so its entry runs on the inverter's profile.
    "power-magic": DemoLink(
        ("--link", "power-magic"),
        "power_magic",
        lambda where: {"host": HOST, "port": SIM_PORT, "unit_id": 1},
    ),
    "rs485": DemoLink(
        ("--link", "rs485", "--pty"),
        "rs485",
        lambda where: {
            "device": where,
            "baudrate": "9600",
            "parity": "none",
            "stopbits": "1",
            "bytesize": "8",
            "unit_id": 1,
        },
    ),
}
# Written when missing, never rewritten: the user's to edit.
CONFIGURATION = """\
# Written by scripts/demo because it was missing; yours to edit: the demo never rewrites it.
# What the demo itself needs is in demo.yaml, which the demo rewrites on every run.
homeassistant:
  name: ZCS Azzurro demo
  packages:
    demo: !include demo.yaml
logger:
  default: warning
  logs:
    custom_components.zcs_azzurro: info
"""
# The demo's own: only what it needs, so Home Assistant starts fast, with the recorder,
# history, logbook and energy behind the History and Energy pages.
DEMO_CONFIGURATION = """\
# Rewritten by scripts/demo on every run: put your own settings in configuration.yaml.
frontend:
config:
api:
recorder:
history:
logbook:
energy:
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


def ensure_ports_free(proxy: int | None = None, simulated: int = 1) -> None:
    """Stop with one line if something already listens on a port the demo needs."""
    ports = [(HA_PORT, "Home Assistant")]
    ports += [(SIM_PORT + offset, "the simulator") for offset in range(simulated)]
    if proxy is not None:
        ports.append((proxy, "the shared connection"))
    for port, who in ports:
        with socket.socket() as probe:
            # As the servers bind: a port left in TIME_WAIT by the last run is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((HOST, port))
            except OSError:
                raise SystemExit(
                    f"port {port} ({who}) is in use: is another demo running? "
                    f"`ss -ltnp 'sport = :{port}'` shows what holds it"
                ) from None


def ensure_config() -> None:
    """The configuration directory, with this checkout's integration linked in."""
    CONFIG.mkdir(parents=True, exist_ok=True)
    configuration = CONFIG / "configuration.yaml"
    if not configuration.exists():
        configuration.write_text(CONFIGURATION)
    elif "demo.yaml" not in configuration.read_text():
        raise SystemExit(
            f"{configuration.relative_to(ROOT)} does not include demo.yaml (an older demo "
            "wrote it): delete .demo to start afresh, or add `packages: {demo: !include "
            "demo.yaml}` under `homeassistant:`"
        )
    # Until Home Assistant has taken the loopback address into its storage (first start).
    first_start = not (CONFIG / ".storage" / "http").exists()
    write_demo_configuration(http=first_start)
    if first_start:
        skip_online_onboarding()
    link = CONFIG / "custom_components" / DOMAIN
    link.parent.mkdir(exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(ROOT / "custom_components" / DOMAIN)


def write_demo_configuration(*, http: bool) -> None:
    """The demo's own YAML, with the loopback http: block or without."""
    (CONFIG / "demo.yaml").write_text(DEMO_CONFIGURATION + (LOOPBACK_HTTP if http else ""))


def skip_online_onboarding() -> None:
    """Mark onboarding's location and analytics steps done before Home Assistant first starts.

    Finishing the location step sets up what Home Assistant gives every new install (Radio
    Browser, Google Translate, Met.no, a shopping list: onboarding/views.py), which fail or
    raise here without the internet. The demo sets the country itself; analytics stay off.
    """
    storage = CONFIG / ".storage" / "onboarding"
    storage.parent.mkdir(exist_ok=True)
    if not storage.exists():
        storage.write_text(
            json.dumps(
                {"version": 4, "minor_version": 1, "key": "onboarding",
                 "data": {"done": ["core_config", "analytics"]}}
            )
        )  # fmt: skip


async def start(
    name: str, *command: str, log: Path | None = None, environment: Mapping[str, str] = {}
) -> asyncio.subprocess.Process:
    """A child process in its own session, so Ctrl-C reaches only this script."""
    out = log.open("ab") if log else asyncio.subprocess.PIPE
    return await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, **environment},
    )  # fmt: skip


async def wait_for_http(session: aiohttp.ClientSession, hass: asyncio.subprocess.Process) -> None:
    """Until Home Assistant's HTTP server answers (or hass has exited)."""
    for _ in range(600):
        if hass.returncode is not None:
            raise SystemExit(f"hass exited with {hass.returncode}; see {DEMO / 'hass.log'}")
        with contextlib.suppress(aiohttp.ClientError):
            # Any answer will do. A view that needs no token: a refused one would raise a
            # "Login attempt failed" notification.
            async with session.get(f"{URL}/manifest.json") as response:
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
    # The other steps were marked done before the first start: skip_online_onboarding().
    async with session.post(
        f"{URL}/api/onboarding/integration",
        json={"client_id": CLIENT_ID, "redirect_uri": f"{URL}/?auth_callback=1"},
        headers={"Authorization": f"Bearer {token}"},
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


async def answers(
    session: aiohttp.ClientSession, token: str, *messages: dict[str, Any]
) -> list[dict[str, Any]]:
    """Send commands over the websocket API; returns the answers, failed ones too."""
    replies = []
    async with session.ws_connect(f"{URL}/api/websocket") as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": token})
        if (await ws.receive_json())["type"] != "auth_ok":
            raise SystemExit("the websocket API refused the token")
        for number, message in enumerate(messages, start=1):
            await ws.send_json({"id": number, **message})
            replies.append(await ws.receive_json())
    return replies


async def websocket(
    session: aiohttp.ClientSession, token: str, *messages: dict[str, Any]
) -> list[Any]:
    """Send commands over the websocket API; returns their results."""
    results = []
    for message, answer in zip(messages, await answers(session, token, *messages), strict=True):
        if not answer.get("success"):
            raise SystemExit(f"{message['type']} failed: {answer.get('error')}")
        results.append(answer["result"])
    return results


async def sign_in(session: aiohttp.ClientSession) -> tuple[dict[str, str], str]:
    """The demo user's credentials (onboarding it on the first run) and an access token.

    The first run also keeps a long-lived access token in .demo/token, for scripts.
    """
    async with session.get(f"{URL}/api/onboarding") as response:
        # Once onboarding is done, Home Assistant no longer serves this view.
        onboarded = response.status == 404 or all(step["done"] for step in await response.json())
    if onboarded:
        credentials = json.loads((DEMO / "credentials.json").read_text())
    else:
        credentials = await onboard(session)
    access = await log_in(session, credentials)
    if not TOKEN.exists():
        (token,) = await websocket(
            session,
            access,
            {"type": "auth/long_lived_access_token", "client_name": "zcs-demo", "lifespan": 3650},
        )
        TOKEN.write_text(token)
    return credentials, access


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
    write_demo_configuration(http=False)


async def add_integration(
    session: aiohttp.ClientSession,
    headers: dict[str, str],
    link: DemoLink,
    where: str,
    *,
    profile: str | None = None,
    proxy: int | None = None,
) -> str:
    """The config flow (and with `proxy`, the options flow sharing the connection there).

    Step by step, as the frontend drives them; returns the entry's id.
    """
    entry_id = await create_entry(session, headers, link, where, profile)
    if proxy is not None:
        await share_connection(session, headers, entry_id, proxy)
    return entry_id


async def create_entry(
    session: aiohttp.ClientSession,
    headers: dict[str, str],
    link: DemoLink,
    where: str,
    profile: str | None = None,
) -> str:
    """The config flow, step by step, as the frontend drives it; returns the entry's id.

    A device with no serial number (a meter) is added by the `profile` the user chooses.
    """
    async with session.get(
        f"{URL}/api/config/config_entries/entry", params={"domain": DOMAIN}, headers=headers
    ) as response:
        if entries := await response.json():
            entry_id: str = entries[0]["entry_id"]
            return entry_id
    flows = f"{URL}/api/config/config_entries/flow"
    async with session.post(flows, json={"handler": DOMAIN}, headers=headers) as response:
        result = await response.json()
    flow = f"{flows}/{result['flow_id']}"
    # A menu (once there is more than one link) is a choice; the form is the stick's fields.
    if result.get("type") == "menu":
        async with session.post(
            flow, json={"next_step_id": link.step}, headers=headers
        ) as response:
            result = await response.json()
    fields = link.fields(where) | ({"choose_profile": True} if profile else {})
    async with session.post(flow, json=fields, headers=headers) as response:
        result = await response.json()
    if profile and result.get("step_id") == "unidentified":
        async with session.post(flow, json={"profile": profile}, headers=headers) as response:
            result = await response.json()
    if result.get("type") != "create_entry":
        raise SystemExit(f"the config flow did not create the entry: {result}")
    say(f"added {result['title']} through the config flow")
    created: str = result["result"]["entry_id"]
    return created


async def share_connection(
    session: aiohttp.ClientSession, headers: dict[str, str], entry_id: str, port: int
) -> None:
    """Turn the entry's "share this connection" option on, on loopback, through its options flow.

    The form's other fields keep what it suggests (the entry's current options).
    """
    flows = f"{URL}/api/config/config_entries/options/flow"
    async with session.post(flows, json={"handler": entry_id}, headers=headers) as response:
        form = await response.json()
    kept = {
        field["name"]: field["description"]["suggested_value"]
        for field in form["data_schema"]
        if "suggested_value" in field.get("description", {})
    }
    wanted = {"proxy": True, "proxy_port": port, "proxy_host": HOST}
    async with session.post(
        f"{flows}/{form['flow_id']}", json=kept | wanted, headers=headers
    ) as response:
        result = await response.json()
    if result.get("type") != "create_entry":
        raise SystemExit(f"the options flow did not share the connection: {result}")
    say(f"sharing the connection on {HOST}:{port} (Modbus TCP, unit id 1)")


async def check_proxy(port: int, entry_serial: str) -> bool:
    """Whether a Modbus TCP client reads the serial's registers through the shared port."""
    # Imported here: only this check talks Modbus itself.
    from pymodbus.client import AsyncModbusTcpClient  # noqa: PLC0415

    profile = next(p for p in load_bundled() if p.matches(entry_serial))
    (span,) = profile.serial.spans
    client = AsyncModbusTcpClient(HOST, port=port, timeout=10, retries=1)
    try:
        if not await client.connect():
            say(f"check: nothing answers on {HOST}:{port}")
            return False
        read = (
            client.read_input_registers
            if profile.rules.is_input(span)
            else (client.read_holding_registers)
        )
        answer = await read(span.address, count=span.count, device_id=1)
    finally:
        client.close()
    if answer.isError():
        say(f"check: reading through {HOST}:{port} answered {answer}")
        return False
    words = list(answer.registers)
    text = b"".join(word.to_bytes(2, "big") for word in words).decode("ascii", "replace")
    if text.strip("\0 ") != entry_serial:
        say(f"check: reading through {HOST}:{port} gave {words}")
        return False
    say(f"check: pymodbus reads the serial's words {words} through {HOST}:{port}")
    return True


async def wait_for_values(
    session: aiohttp.ClientSession, headers: dict[str, str], entities: dict[str, str]
) -> str:
    """How many of the entities that show a reading have a value ("27 of 27").

    Asked once all have, or once setup is being retried (the simulator's faults), or after
    two minutes.
    """
    # A button's state is when it was last pressed: unknown until then.
    watched = {entity for entity in entities.values() if not entity.startswith("button.")}
    valued: list[str] = []
    for _ in range(120):
        async with session.get(f"{URL}/api/states", headers=headers) as response:
            states = await response.json()
        # A System control shows what a write confirmed (an assumed state): none yet.
        watched -= {s["entity_id"] for s in states if s["attributes"].get("assumed_state")}
        valued = [
            s["entity_id"]
            for s in states
            if s["entity_id"] in watched and s["state"] not in ("unknown", "unavailable")
        ]
        if len(valued) == len(watched):
            break
        async with session.get(
            f"{URL}/api/config/config_entries/entry", params={"domain": DOMAIN}, headers=headers
        ) as response:
            if (await response.json())[0]["state"] == "setup_retry":
                break
        await asyncio.sleep(1)
    return f"{len(valued)} of {len(watched)}"


async def our_entities(session: aiohttp.ClientSession, token: str, entry_id: str) -> dict[str, str]:
    """The entry's enabled entities, by the field they show."""
    devices, registry = await websocket(
        session, token,
        {"type": "config/device_registry/list"}, {"type": "config/entity_registry/list"},
    )  # fmt: skip
    return demo_energy.entities_by_key(entry_id, devices, registry, DOMAIN)


async def set_up_energy(
    session: aiohttp.ClientSession, token: str, entities: dict[str, str]
) -> None:
    """The Energy dashboard with the inverter's entities, unless it is set up already."""
    (current,) = await answers(session, token, {"type": "energy/get_prefs"})
    if current.get("success") and current["result"]["energy_sources"]:
        return  # set up by an earlier run, or by the user: theirs to keep
    prefs = demo_energy.preferences(entities)
    if not prefs["energy_sources"]:
        say("energy: not set up, the device has no enabled energy counter")
        return
    _, core = await websocket(
        session,
        token,
        {"type": "energy/save_prefs", **prefs},
        {"type": "frontend/get_system_data", "key": "core"},
    )
    # The first page a browser opens: the plant, not an empty overview of areas.
    await websocket(
        session,
        token,
        {"type": "frontend/set_system_data", "key": "core",
         "value": {**(core["value"] or {}), "default_panel": "energy"}},
    )  # fmt: skip
    shown = ", ".join(source["type"] for source in prefs["energy_sources"])
    say(f"energy: the Energy dashboard, now the first page, shows {shown}")


async def check_energy(
    session: aiohttp.ClientSession,
    token: str,
    entities: dict[str, str],
    since: float,
    period: str = "5minute",
) -> bool:
    """Whether the Energy dashboard uses our entities and the recorder keeps their statistics.

    Home Assistant compiles statistics every five minutes, so this waits up to six.
    """
    (prefs,) = await websocket(session, token, {"type": "energy/get_prefs"})
    wanted = set(demo_energy.placed(entities).values())
    if not wanted or not wanted <= demo_energy.used(prefs):
        say(f"check: the Energy dashboard does not use {sorted(wanted - demo_energy.used(prefs))}")
        return False
    counters = [entities[key] for key in demo_energy.COUNTERS if key in entities]
    request = {
        "type": "recorder/statistics_during_period",
        "start_time": datetime.fromtimestamp(since, UTC).isoformat(),
        "statistic_ids": counters,
        "period": period,
        "types": ["sum", "state"],
    }
    deadline = time.monotonic() + 6 * 60
    recorded: dict[str, list[Any]] = {}
    while time.monotonic() < deadline:
        (recorded,) = await websocket(session, token, request)
        if all(recorded.get(counter) for counter in counters):
            # What the Energy settings page flags (units, classes, statistics), once they exist.
            (validation,) = await websocket(session, token, {"type": "energy/validate"})
            if issues := [issue for source in validation["energy_sources"] for issue in source]:
                say(f"check: Home Assistant finds issues in the Energy settings: {issues}")
                return False
            say(
                f"check: the Energy dashboard uses {len(wanted)} of the device's entities; "
                f"the recorder has statistics for its {len(counters)} energy counters"
            )
            return True
        await asyncio.sleep(10)
    say(f"check: no statistics yet for {sorted(set(counters) - set(recorded))}")
    return False


async def read_registers(
    session: aiohttp.ClientSession, headers: dict[str, str], read: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """The read_registers action over REST with ?return_response: status and answer."""
    async with session.post(
        f"{URL}/api/services/{DOMAIN}/read_registers?return_response", json=read, headers=headers
    ) as response:
        answer: dict[str, Any] = await response.json()
        return response.status, answer


async def check_serial_read(
    session: aiohttp.ClientSession, token: str, headers: dict[str, str], entry_id: str
) -> bool:
    """The read returns the registers where the device's profile keeps its serial number."""
    (devices,) = await websocket(session, token, {"type": "config/device_registry/list"})
    serial = next(d["serial_number"] for d in devices if entry_id in d["config_entries"])
    profile = next(p for p in load_bundled() if p.matches(serial))
    (span,) = profile.serial.spans
    read = {
        "config_entry_id": entry_id,
        "address": f"{span.address:#06x}",
        "count": span.count,
        "function": "input" if profile.rules.is_input(span) else "holding",
        "data_type": "str",
    }
    status, answer = await read_registers(session, headers, read)
    found = answer.get("service_response") or {}
    words = found.get("registers") or []
    text = b"".join(word.to_bytes(2, "big") for word in words).decode("ascii", "replace")
    if status != 200 or found.get("value") != serial or text.strip("\0 ") != serial:
        say(f"check: read_registers answered {status}: {answer}")
        return False
    say(f"check: read_registers over REST gives the serial's words {words} ({serial})")
    return True


async def check_meter_read(
    session: aiohttp.ClientSession,
    headers: dict[str, str],
    entry_id: str,
    meter: str,
    entity_id: str,
) -> bool:
    """A meter has no serial: the read returns the float32 words of its import counter.

    They must hold what its entity shows (the counter moves by far less than 0.01 kWh
    between the two).
    """
    field = next(p for p in load_bundled() if p.id == meter).field(demo_energy.GRID_IMPORT)
    (span,) = field.spans
    read = {"config_entry_id": entry_id, "address": f"{span.address:#06x}", "count": span.count}
    status, answer = await read_registers(session, headers, read)
    words = (answer.get("service_response") or {}).get("registers") or []
    if status != 200 or len(words) != span.count:
        say(f"check: read_registers answered {status}: {answer}")
        return False
    raw = b"".join(word.to_bytes(2, "big") for word in words)
    value = struct.unpack(">f", raw)[0] * field.scale
    async with session.get(f"{URL}/api/states/{entity_id}", headers=headers) as response:
        shown = (await response.json())["state"]
    if abs(value - float(shown)) >= 0.01:
        say(f"check: read_registers gives {value:.3f} kWh, the entity shows {shown}")
        return False
    say(f"check: read_registers over REST gives the import counter's words {words} ({shown} kWh)")
    return True


async def check_actions(
    session: aiohttp.ClientSession,
    token: str,
    headers: dict[str, str],
    entry_id: str,
    entities: dict[str, str],
    *,
    meter: str | None = None,
) -> bool:
    """Whether the register actions work over REST as a script would call them.

    The read returns what the device holds (its serial's words; a meter's import counter);
    a write to a register no profile declares writable (0x0404, the 3PH HYD's running state)
    is refused while raw writes are off.
    """
    actions = f"{URL}/api/services/{DOMAIN}"
    if meter is None:
        passed = await check_serial_read(session, token, headers, entry_id)
    else:
        counter = entities[demo_energy.GRID_IMPORT]
        passed = await check_meter_read(session, headers, entry_id, meter, counter)
    if not passed:
        return False
    raw = {"config_entry_id": entry_id, "address": 0x0404, "value": 1}
    async with session.post(f"{actions}/write_register", json=raw, headers=headers) as response:
        answer = await response.json()
    if response.status != 400 or "Allow raw register writes" not in answer.get("message", ""):
        say(f"check: a raw write answered {response.status}: {answer}")
        return False
    say(f"check: a raw write is refused while the option is off: {answer['message']}")
    return True


# The controls the local check sets, by field: a select and a number, each to two values
# (whichever it does not show already, so that every run writes).
CONTROLS: dict[str, tuple[str, tuple[Any, Any]]] = {
    "storage_mode": ("select", ("passive", "self_use")),
    "depth_of_discharge": ("number", (80, 70)),
}


async def check_local_controls(
    session: aiohttp.ClientSession, headers: dict[str, str], entities: dict[str, str]
) -> bool:
    """Set a select and a number as the UI does: each succeeds and then shows its value.

    Whatever way the stick answers the write (`--lse3-writes`: the LSE-3's `10 00`), the
    inverter's registers decide; and Home Assistant's log gets no ERROR from it.
    """
    log = DEMO / "hass.log"
    start = log.stat().st_size if log.exists() else 0
    for key, (platform, choices) in CONTROLS.items():
        entity_id = entities[key]
        async with session.get(f"{URL}/api/states/{entity_id}", headers=headers) as response:
            shown = (await response.json())["state"]
        value = next(v for v in choices if str(v) != shown)
        service, field_name = (
            ("select_option", "option") if platform == "select" else ("set_value", "value")
        )
        data = {"entity_id": entity_id, field_name: value}
        async with session.post(
            f"{URL}/api/services/{platform}/{service}", json=data, headers=headers
        ) as response:
            if response.status != 200:
                say(f"check: {platform}.{service} {value} answered {response.status}")
                return False
        async with session.get(f"{URL}/api/states/{entity_id}", headers=headers) as response:
            shown = (await response.json())["state"]
        if shown != str(value):
            say(f"check: after {platform}.{service} {value}, {entity_id} shows {shown}")
            return False
        say(f"check: {platform}.{service} set {entity_id} to {value}; it shows {shown}")
    errors = [
        line
        for line in log.read_bytes()[start:].decode(errors="replace").splitlines()
        if " ERROR " in line
    ]
    if errors:
        say(f"check: Home Assistant logged {len(errors)} ERROR lines: {errors[0][:200]}")
        return False
    return True


async def check_report(
    session: aiohttp.ClientSession, headers: dict[str, str], entry_id: str
) -> bool:
    """Download diagnostics as a user does: the device report holds every block's words.

    The download is kept in .demo/diagnostics.json, as an owner would attach it to an issue.
    """
    async with session.get(
        f"{URL}/api/diagnostics/config_entry/{entry_id}", headers=headers
    ) as response:
        if response.status != 200:
            say(f"check: the diagnostics download answered {response.status}")
            return False
        downloaded: dict[str, Any] = await response.json()
    (DEMO / "diagnostics.json").write_text(json.dumps(downloaded, indent=2))
    report = downloaded["data"]["device_report"]
    blocks = report["blocks"]
    read = [block for block in blocks if "words" in block]
    if report["error"] or not blocks or len(read) != len(blocks):
        say(
            f"check: the device report read {len(read)} of {len(blocks)} blocks ({report['error']})"
        )
        return False
    say(
        f"check: diagnostics hold a device report of {len(blocks)} blocks and "
        f"{len(report['candidates'])} other addresses, read {report['reads']['max_registers']} "
        f"registers at a time ({(DEMO / 'diagnostics.json').relative_to(ROOT)})"
    )
    return True


async def check_link(
    session: aiohttp.ClientSession,
    token: str,
    link: DemoLink,
    entities: dict[str, str],
    started: float,
    *,
    entry_id: str,
    meter: str | None = None,
    proxy: int | None = None,
) -> bool:
    """The register actions (a local link), the Energy dashboard, a cloud's webhook write.

    With the connection shared (--proxy), a Modbus TCP client reads through it too.
    """
    headers = {"Authorization": f"Bearer {token}"}
    passed = (
        await check_actions(session, token, headers, entry_id, entities, meter=meter)
        if link.registers
        else True
    )
    if link.registers and CONTROLS.keys() <= entities.keys():
        passed = await check_local_controls(session, headers, entities) and passed
    if link.registers:
        passed = await check_report(session, headers, entry_id) and passed
    if proxy is not None:
        (devices,) = await websocket(session, token, {"type": "config/device_registry/list"})
        serial = next(d["serial_number"] for d in devices if entry_id in d["config_entries"])
        passed = await check_proxy(proxy, serial) and passed
    passed = await check_energy(session, token, entities, *link.recorded_since(started)) and passed
    if link.external_url:
        passed = await check_webhook_write(session, headers, entities, entry_id) and passed
    return passed


async def check_webhook_write(
    session: aiohttp.ClientSession, headers: dict[str, str], entities: dict[str, str], entry_id: str
) -> bool:
    """Press Set clock: the write goes through the simulated cloud and ends at the webhook.

    The action returns once the simulator has posted the result to Home Assistant's
    webhook (or fails when none comes in time).
    """
    press = {"entity_id": entities["set_clock"]}
    async with session.post(
        f"{URL}/api/services/button/press", json=press, headers=headers
    ) as response:
        if response.status != 200:
            say(f"check: the clock write did not complete ({response.status})")
            return False
    say("check: Set clock completed through the webhook")
    return await check_control(session, headers, entities, entry_id)


async def check_control(
    session: aiohttp.ClientSession, headers: dict[str, str], entities: dict[str, str], entry_id: str
) -> bool:
    """Set the export limit as the UI does; its state is then what the callback confirmed.

    The System reports no settings: the limit is written with its mode, known once the
    group has been written whole (here by the register action: feed-in limit, 5000 W).
    Each step's state is checked, so a limit left at 3000 W by an earlier run proves nothing.
    """
    number = entities["export_limit"]
    group = {"config_entry_id": entry_id, "address": 0x1023, "values": [1, 50]}
    for service, data, watts in (
        (f"{DOMAIN}/write_registers?return_response", group, 5000),
        ("number/set_value", {"entity_id": number, "value": 3000}, 3000),
    ):
        url = f"{URL}/api/services/{service}"
        async with session.post(url, json=data, headers=headers) as response:
            if response.status != 200:
                say(f"check: {service} did not complete ({response.status})")
                return False
        async with session.get(f"{URL}/api/states/{number}", headers=headers) as response:
            state = await response.json()
        shown, assumed = state["state"], state["attributes"].get("assumed_state")
        if shown in ("unknown", "unavailable") or float(shown) != watts or not assumed:
            say(f"check: after {service}, the export limit shows {shown}, not {watts} (assumed)")
            return False
    say(f"check: the export limit set to 3000 W through the webhook; {number} shows it (assumed)")
    return True


async def wait_until_running(session: aiohttp.ClientSession, headers: dict[str, str]) -> None:
    """Until Home Assistant has finished starting: stopped before, it may not save its state."""
    for _ in range(240):
        async with session.get(f"{URL}/api/config", headers=headers) as response:
            if (await response.json())["state"] == "RUNNING":
                return
        await asyncio.sleep(0.5)
    raise SystemExit("Home Assistant did not finish starting within two minutes")


def arguments() -> tuple[argparse.Namespace, list[str]]:
    """The demo's own flags, and the simulator's (the faults among them)."""
    parser = argparse.ArgumentParser(
        prog="scripts/demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Other flags go to the simulator, for example --drop or --delay 2: "
        "`.venv/bin/python -m simulator --help` lists them.",
    )
    parser.add_argument(
        "--link",
        choices=sorted(LINKS),
        default="eth",
        help="how Home Assistant reaches the simulated inverter (default: the ETH stick)",
    )
    parser.add_argument(
        "--device",
        choices=sorted((*DETECTED, *METERS)),
        default="hyd-3ph",
        help="the simulated device; a meter (no serial number) is added by its profile, as a "
        f"user does, over {' or '.join(METER_LINKS)}",
    )
    parser.add_argument(
        "--proxy",
        type=int,
        metavar="PORT",
        help="share the entry's connection as Modbus TCP on 127.0.0.1:PORT (local links)",
    )
    parser.add_argument(
        "--plant",
        action="store_true",
        help="two inverters in parallel (two towers of two packs each) and their meter, a "
        "stick each, grouped into a plant: the Energy dashboard takes the plant's totals",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="stop once the check after `ready:` is done; exit status 0 if it passed",
    )
    options, simulator_flags = parser.parse_known_args()
    if options.device in METERS and options.link not in METER_LINKS:
        parser.error(f"a meter is shown over --link {' or '.join(METER_LINKS)}")
    if options.device in METERS and options.proxy is not None:
        # Its check reads the serial number through the shared connection.
        parser.error("--proxy is shown with an inverter: a meter has no serial number")
    return options, simulator_flags


def ensure_link(name: str, device: str) -> None:
    """One .demo serves one link and one device: the entry it set up is theirs."""
    chosen = {"link": name, "device": device}
    for flag, value in chosen.items():
        marker = DEMO / flag
        if marker.exists() and (before := marker.read_text().strip()) != value:
            raise SystemExit(
                f".demo was set up with --{flag} {before}: delete .demo to show --{flag} {value}"
            )
    for flag, value in chosen.items():
        (DEMO / flag).write_text(value)


def prepare(name: str, device: str, proxy: int | None, *, plant: bool) -> None:
    """Free ports, the .demo directory for this link and device, packages, configuration."""
    ensure_ports_free(proxy, len(PLANT_PORTS) if plant else 1)
    DEMO.mkdir(exist_ok=True)
    ensure_link("plant" if plant else name, device)
    ensure_packages()
    ensure_config()


def simulator_command(link: DemoLink, device: str, *, plant: bool) -> list[str]:
    """The simulator's front end, port and memory file for the link (or the plant)."""
    front = PLANT_SIMULATOR if plant else link.simulator
    memory = "plant.json" if plant else MEMORY.get(device, f"{device}.json")
    return [*front, "--port", str(link.port), "--memory", str(DEMO / memory)]


async def run(
    name: str,
    device: str,
    check_only: bool,
    simulator_flags: list[str],
    proxy: int | None = None,
    *,
    plant: bool = False,
) -> None:
    """Set everything up, report ready, check the Energy dashboard, serve until cancelled."""
    link = LINKS[name]
    started = time.time()
    prepare(name, device, proxy, plant=plant)
    simulator = await start(
        "simulator", sys.executable, "-m", "simulator", "--device", device,
        *simulator_command(link, device, plant=plant), *simulator_flags,
    )  # fmt: skip
    hass = None
    try:
        assert simulator.stdout is not None
        line = (await asyncio.wait_for(simulator.stdout.readline(), 30)).decode()
        if not line.startswith("listening"):
            # The simulator's own words (a refused flag, a taken port), then ours.
            words = (line + (await simulator.stdout.read()).decode()).strip()
            raise SystemExit(f"{words}\nthe simulator did not start")
        line = line.strip()
        say(f"simulator: {line}")
        hass_bin = str(Path(sys.executable).with_name("hass"))
        # Home Assistant installs what its built-in integrations need on the first start,
        # except these: ensure_packages() put other versions of them in place.
        hass = await start(
            "hass", hass_bin, "-c", str(CONFIG), "--skip-pip-packages", "pymicro-vad,pyspeex-noise",
            log=DEMO / "hass.log", environment=link.environment,
        )  # fmt: skip
        async with aiohttp.ClientSession() as session:
            await wait_for_http(session, hass)
            credentials, access = await sign_in(session)
            await confirm_loopback_http(session, access)
            headers = {"Authorization": f"Bearer {access}"}
            if link.external_url:
                await websocket(
                    session, access, {"type": "config/core/update", "external_url": URL}
                )
            if plant:
                # Here: the plant's demo uses this module's helpers (scripts/demo_plant.py).
                from scripts import demo_plant  # noqa: PLC0415

                await demo_plant.serve(session, access, credentials, started, check_only)
            # "listening rs485 /dev/pts/3": where the device is, as the user would find it.
            entry_id = await add_integration(
                session,
                headers,
                link,
                line.split(" ")[2].strip(","),
                profile=METERS.get(device),
                proxy=proxy,
            )
            entities = await our_entities(session, access, entry_id)
            count = await wait_for_values(session, headers, entities)
            if link.statistics:
                entities.update((key, statistic_id(SERIAL, key)) for key in demo_energy.COUNTERS)
            await set_up_energy(session, access, entities)
            await wait_until_running(session, headers)
            say(f"user: {credentials['username']}  password: {credentials['password']}")
            say(f"token: {TOKEN.relative_to(ROOT)}  ({count} entities with values)")
            say(f"ready: {URL}")
            passed = await check_link(
                session,
                access,
                link,
                entities,
                started,
                entry_id=entry_id,
                meter=METERS.get(device),
                proxy=proxy,
            )
            if check_only:
                raise SystemExit(0 if passed else 1)
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
    options, simulator_flags = arguments()
    if options.proxy is not None and not LINKS[options.link].registers:
        raise SystemExit(f"--proxy shares a local link's connection; {options.link} is a cloud")
    if options.plant and (options.link, options.device, options.proxy) != ("eth", "hyd-3ph", None):
        raise SystemExit("--plant is shown over its own sticks: no --link, --device or --proxy")
    with contextlib.suppress(asyncio.CancelledError):
        await run(
            options.link,
            options.device,
            options.check,
            simulator_flags,
            options.proxy,
            plant=options.plant,
        )


if __name__ == "__main__":
    asyncio.run(main())
