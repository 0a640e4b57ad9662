"""`scripts/demo --plant`: two inverters in parallel and their meter, grouped into a plant.

The simulator runs a plant (`python -m simulator --plant 2 --link eth`): a master and a slave,
each with two battery towers of two packs, behind a stick each, and the meter at the plant's
grid connection behind a third. Home Assistant adds the three through the config flow as a
user does (the meter by its profile), then the plant (menu: A plant), and the Energy dashboard
takes the plant's totals. The check: the dashboard uses the plant's entities; the plant's
energy statistics are its members' sum within rounding, row by row, over the last hour of the
demo (the first run has a few minutes of it; run it again later for the hour); every pack of
the two-tower batteries is a device with values.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp

from scripts import demo
from scripts.demo import DOMAIN, HOST, PLANT_PORTS, URL, say, websocket

PLANT = "Plant"
# The counters summed over the inverters, and those the meter alone gives.
SUMMED = ("pv_energy_total", "battery_charge_energy_total", "battery_discharge_energy_total")
METERED = ("grid_import_energy_total", "grid_export_energy_total")
PACKS = 2 * 2 * 2  # two inverters, two towers each, two packs each
# A member's counters tick at 0.1 kWh (the meter's at 0.01): the plant's are their sum.
ROUNDING = 0.005


async def _flow(
    session: aiohttp.ClientSession, headers: dict[str, str], *steps: dict[str, Any]
) -> dict[str, Any]:
    """The config flow, step by step as the frontend sends them; the last answer."""
    flows = f"{URL}/api/config/config_entries/flow"
    async with session.post(flows, json={"handler": DOMAIN}, headers=headers) as response:
        result: dict[str, Any] = await response.json()
    for step in steps:
        if result.get("type") == "create_entry":
            break
        async with session.post(
            f"{flows}/{result['flow_id']}", json=step, headers=headers
        ) as response:
            result = await response.json()
    if result.get("type") != "create_entry":
        raise SystemExit(f"the config flow did not create the entry: {result}")
    say(f"added {result['title']} through the config flow")
    return result


async def set_up(session: aiohttp.ClientSession, headers: dict[str, str]) -> dict[str, str]:
    """The three devices and the plant; their entry ids by role (an earlier run's are kept)."""
    async with session.get(
        f"{URL}/api/config/config_entries/entry", params={"domain": DOMAIN}, headers=headers
    ) as response:
        existing = await response.json()
    if existing:
        by_title = {entry["title"]: entry["entry_id"] for entry in existing}
        return {"plant": by_title[PLANT], **_members(existing)}
    eth = {"next_step_id": "eth"}
    ids: dict[str, str] = {}
    for role in ("master", "slave"):
        where = {"host": HOST, "port": PLANT_PORTS[role], "unit_id": 1}
        ids[role] = (await _flow(session, headers, eth, where))["result"]["entry_id"]
    meter = {"host": HOST, "port": PLANT_PORTS["meter"], "unit_id": 1, "choose_profile": True}
    profile = {"profile": "chint_dtsu666"}
    ids["meter"] = (await _flow(session, headers, eth, meter, profile))["result"]["entry_id"]
    plant = {
        "name": PLANT,
        "inverters": [ids["master"], ids["slave"]],
        "meter": ids["meter"],
    }
    # The master step offers the inverter that reports itself master: taken as offered.
    ids["plant"] = (await _flow(session, headers, {"next_step_id": "plant"}, plant, {}))["result"][
        "entry_id"
    ]
    return ids


def _members(entries: list[dict[str, Any]]) -> dict[str, str]:
    """An earlier run's members: the inverters by their serial's tail (the master's first)."""
    inverters = sorted(
        (e for e in entries if e["title"].startswith("3PH")), key=lambda e: e["title"]
    )
    (meter,) = (e for e in entries if e["title"] != PLANT and e not in inverters)
    return {
        "master": inverters[0]["entry_id"],
        "slave": inverters[1]["entry_id"],
        "meter": meter["entry_id"],
    }


async def _statistics(
    session: aiohttp.ClientSession, token: str, ids: list[str], since: float
) -> dict[str, list[dict[str, Any]]]:
    (found,) = await websocket(
        session,
        token,
        {
            "type": "recorder/statistics_during_period",
            "start_time": datetime.fromtimestamp(since, UTC).isoformat(),
            "statistic_ids": ids,
            "period": "5minute",
            "types": ["sum", "state"],
        },
    )
    return found  # type: ignore[no-any-return]


async def check_sums(
    session: aiohttp.ClientSession, token: str, by_role: dict[str, dict[str, str]]
) -> bool:
    """Row by row, the plant's energy statistics are its members' sum (the grid: the meter's).

    Over the last hour the recorder has (five-minute rows), waiting up to six minutes for
    the first row.
    """
    plant, master, slave, meter = (by_role[r] for r in ("plant", "master", "slave", "meter"))
    parts = {key: [master[key], slave[key]] for key in SUMMED} | {
        key: [meter[key]] for key in METERED
    }
    ids = [plant[key] for key in parts] + [p for found in parts.values() for p in found]
    deadline = time.monotonic() + 6 * 60
    while True:
        rows = await _statistics(session, token, ids, time.time() - 3600)
        if all(rows.get(sid) for sid in ids) or time.monotonic() > deadline:
            break
        await asyncio.sleep(10)
    compared = 0
    for key, sources in parts.items():
        mine = rows.get(plant[key], [])
        theirs = [{row["start"]: row for row in rows.get(sid, [])} for sid in sources]
        for row in mine:
            if not all(row["start"] in found for found in theirs):
                continue
            for column in ("state", "sum"):
                total = sum(found[row["start"]][column] for found in theirs)
                if abs(row[column] - total) > ROUNDING:
                    say(f"check: {plant[key]} {column} {row[column]} at {row['start']}, "
                        f"its members' {total}")  # fmt: skip
                    return False
            compared += 1
    if not compared:
        say("check: no statistics of the plant and its members to compare yet")
        return False
    minutes = compared // len(parts) * 5
    say(f"check: {compared} five-minute rows of the plant's {len(parts)} energy counters "
        f"({minutes} minutes) are its members' sum within {ROUNDING} kWh")  # fmt: skip
    return True


async def check_packs(
    session: aiohttp.ClientSession, token: str, headers: dict[str, str], entry_ids: list[str]
) -> bool:
    """Every pack of the two-tower batteries is a device, its charge, cells and cycles shown.

    One pack is read a poll until each has been: this waits up to five minutes.
    """
    deadline = time.monotonic() + 5 * 60
    shown: dict[str, dict[str, str]] = {}
    while time.monotonic() < deadline:
        devices, registry = await websocket(
            session, token,
            {"type": "config/device_registry/list"}, {"type": "config/entity_registry/list"},
        )  # fmt: skip
        packs = {
            d["id"]: d["name"]
            for d in devices
            if set(d["config_entries"]) & set(entry_ids)
            and any("_pack_" in identifier[1] for identifier in d["identifiers"])
        }
        async with session.get(f"{URL}/api/states", headers=headers) as response:
            states = {s["entity_id"]: s["state"] for s in await response.json()}
        shown = {}
        for entity in registry:
            if entity["device_id"] in packs and entity["disabled_by"] is None:
                value = states.get(entity["entity_id"], "unavailable")
                if value not in ("unknown", "unavailable"):
                    key = entity["unique_id"].rsplit("_pack_", 1)[1]
                    shown.setdefault(packs[entity["device_id"]], {})[key] = value
        if len(shown) == PACKS and all(len(values) >= 9 for values in shown.values()):
            name, values = sorted(shown.items())[0]
            cells = values.get("cell_voltage_min")
            say(f"check: {len(shown)} battery packs are devices with values ({name}: "
                f"{len(values)} values, lowest cell {cells} V)")  # fmt: skip
            return True
        await asyncio.sleep(10)
    say(f"check: {len(shown)} of {PACKS} packs show values")
    return False


async def set_up_plant(
    session: aiohttp.ClientSession, token: str, headers: dict[str, str]
) -> tuple[dict[str, str], dict[str, dict[str, str]], str]:
    """The plant and its members, the Energy dashboard on the plant: (ids, entities, "N of M")."""
    ids = await set_up(session, headers)
    by_role = {role: await demo.our_entities(session, token, ids[role]) for role in ids}
    count = await demo.wait_for_values(session, headers, by_role["plant"])
    await demo.set_up_energy(session, token, by_role["plant"])
    return ids, by_role, count


async def serve(
    session: aiohttp.ClientSession,
    token: str,
    credentials: dict[str, str],
    started: float,
    check_only: bool,
) -> None:
    """Set the plant up, say ready, check; then serve until cancelled (or exit: --check)."""
    headers = {"Authorization": f"Bearer {token}"}
    ids, by_role, count = await set_up_plant(session, token, headers)
    await demo.wait_until_running(session, headers)
    say(f"user: {credentials['username']}  password: {credentials['password']}")
    say(f"token: {demo.TOKEN.relative_to(demo.ROOT)}  ({count} plant entities with values)")
    say(f"ready: {URL}")
    passed = await check_plant(session, token, headers, ids, by_role, started=started)
    if check_only:
        raise SystemExit(0 if passed else 1)
    await asyncio.Event().wait()  # until Ctrl-C cancels this task


async def check_plant(
    session: aiohttp.ClientSession,
    token: str,
    headers: dict[str, str],
    ids: dict[str, str],
    by_role: dict[str, dict[str, str]],
    *,
    started: float,
) -> bool:
    """The Energy dashboard on the plant, its sums, its members' packs."""
    passed = await demo.check_energy(session, token, by_role["plant"], started - 300)
    passed = await check_sums(session, token, by_role) and passed
    members = [ids["master"], ids["slave"]]
    return await check_packs(session, token, headers, members) and passed
