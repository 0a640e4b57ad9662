"""What the bench and the soak share: a real Home Assistant, the links and profiles to run.

Home Assistant here is HA's own test harness (`async_test_home_assistant`, the `hass` of
every integration test), started from a script: the same core, state machine, event bus,
entity platforms, config entries and the real `modbus` integration as `hass` runs, without
the HTTP server, frontend and recorder, which cost both integrations the same per state
written. It starts in a second, so a short run fits in scripts/test, and the soak can move
the simulator's clock and faults while Home Assistant polls it. The measured integrations
poll the simulator in another process over loopback (the bench), or in this one (the soak).

A link or profile adds its row to LINKS or PROFILES: how to start the simulator's front
end for it and what the config flow stores for it.
"""

from __future__ import annotations

import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest.mock import patch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from homeassistant import loader  # noqa: E402
from homeassistant.components.http import config as http_config  # noqa: E402
from homeassistant.const import (  # noqa: E402
    CONF_DEVICE,
    CONF_HOST,
    CONF_PORT,
    CONF_TOKEN,
    CONF_URL,
    CONF_WEBHOOK_ID,
    EVENT_STATE_CHANGED,
    EVENT_STATE_REPORTED,
)
from homeassistant.core import Event, HomeAssistant, callback  # noqa: E402
from homeassistant.helpers import frame, translation  # noqa: E402
from homeassistant.setup import async_setup_component  # noqa: E402
from pytest_homeassistant_custom_component.common import (  # noqa: E402
    MockConfigEntry,
    async_test_home_assistant,
)

from custom_components.zcs_azzurro import const  # noqa: E402
from custom_components.zcs_azzurro.api.transport.unit import LinkKind  # noqa: E402
from simulator.wifi import DEFAULT_LOGGER_SERIAL  # noqa: E402

SERIAL = "ZP1ES010M2H00017"


# The HUB's pause between requests in the bench and the soak: short, so that they run fast
# (a real HUB is set to seconds); the entry's option and the simulated HUB agree on it.
SHORT_PACING = 0.002
# A serial line as the RS485 link stores it, and as core `modbus` is told it.
LINE = {const.CONF_BAUDRATE: 9600, const.CONF_BYTESIZE: 8, const.CONF_STOPBITS: 1}


@dataclass(frozen=True)
class LocalLink:
    """A link Home Assistant reaches the device by, and how core `modbus` reaches it."""

    name: str
    simulator: tuple[str, ...]  # the arguments of `python -m simulator` for its front end
    data: dict[str, Any]  # what the config flow stores, beside address, unit, profile
    modbus_type: str | None  # the `type:` of a core `modbus` hub on the same wire, if any
    options: dict[str, Any] = field(default_factory=dict)  # the entry's, beside the interval
    modbus: dict[str, Any] = field(default_factory=dict)  # more of core `modbus`'s hub YAML

    @property
    def serial(self) -> bool:
        """Whether the device is at a serial port's path, not a host and port."""
        return bool(self.data[const.CONF_LINK] == const.LINK_RS485)


LOCAL_LINKS = (
    LocalLink(
        "eth-rtu",
        ("--link", "eth", "--framing", "rtu"),
        {const.CONF_LINK: const.LINK_ETH, const.CONF_FRAMING: LinkKind.RTU_OVER_TCP.value},
        "rtuovertcp",
    ),
    LocalLink(
        "eth-tcp",
        ("--link", "eth", "--framing", "tcp"),
        {const.CONF_LINK: const.LINK_ETH, const.CONF_FRAMING: LinkKind.MODBUS_TCP.value},
        "tcp",
    ),
    # Core `modbus` speaks no Solarman V5: this link has no side by side.
    LocalLink(
        "wifi",
        ("--link", "wifi"),
        {const.CONF_LINK: const.LINK_WIFI, const.CONF_LOGGER_SERIAL: DEFAULT_LOGGER_SERIAL},
        None,
    ),
    # The HUB's inverter line; core `modbus` keeps the same pause between its requests.
    LocalLink(
        "hub",
        ("--link", "hub", "--pacing", str(SHORT_PACING)),
        {const.CONF_LINK: const.LINK_HUB, const.CONF_FRAMING: LinkKind.MODBUS_TCP.value},
        "tcp",
        options={const.CONF_PACING: SHORT_PACING},
        modbus={"message_wait_milliseconds": round(SHORT_PACING * 1000)},
    ),
    # ZCS hands out no public Power Magic map: its link (Modbus TCP, 0x03/0x06/0x10) is
    # measured with the inverter model behind it.
    LocalLink(
        "power-magic",
        ("--link", "power-magic"),
        {const.CONF_LINK: const.LINK_POWER_MAGIC, const.CONF_FRAMING: LinkKind.MODBUS_TCP.value},
        "tcp",
    ),
    # A USB adapter on the RS485 bus: here a pseudo-terminal, 9600 8N1.
    LocalLink(
        "rs485",
        ("--link", "rs485", "--pty"),
        {
            const.CONF_LINK: const.LINK_RS485,
            const.CONF_FRAMING: LinkKind.RTU_SERIAL.value,
            **LINE,
            const.CONF_PARITY: "none",
        },
        "serial",
        modbus={**LINE, "method": "rtu", "parity": "N"},
    ),
)

# Each bundled profile, the simulated device that holds its map, and the model it reports.
PROFILES = {
    "zcs_3ph_hyd_zss": ("hyd-3ph", "3PH HYD10000 ZSS"),
    "zcs_1ph_hyd_zss_hp": ("hyd-1ph", "1PH HYD6000 ZSS HP"),
    "zcs_3ph_ktl_v3": ("ktl-v3", "3PH 20KTL-V3"),
    "zcs_hyd_es": ("hyd-es", "HYD ES / 3000SP"),
    "zcs_1ph_tl_v3": ("tl-v3", "1PH TL-V3"),
}
# Not yet here: the Chint meters (core `modbus` never showed all their readings in a minute).


def local_entry(link: LocalLink, profile: str, where: int | str, **options: Any) -> MockConfigEntry:
    """An entry for a device on loopback (at a port) or a pty (at a path), as the flow makes it."""
    address = {CONF_DEVICE: where} if link.serial else {CONF_HOST: "127.0.0.1", CONF_PORT: where}
    data = {
        **link.data,
        **address,
        const.CONF_UNIT_ID: 1,
        const.CONF_PROFILE: profile,
        const.CONF_MODEL: PROFILES[profile][1],
    }
    return MockConfigEntry(
        domain=const.DOMAIN, unique_id=SERIAL, title=data[const.CONF_MODEL], data=data,
        options=link.options | options,
    )  # fmt: skip


def system_entry(url: str, fields: list[str], **options: Any) -> MockConfigEntry:
    """An entry for the simulated Azzurro System (its defaults), as the config flow makes it."""
    return MockConfigEntry(
        domain=const.DOMAIN,
        unique_id=f"system_{SERIAL}",
        title="Azzurro System",
        data={
            const.CONF_LINK: const.LINK_SYSTEM,
            CONF_TOKEN: "simulated-token",
            const.CONF_PLANT_ID: "PLANT-1",
            const.CONF_THING_KEY: SERIAL,
            CONF_URL: url,
            const.CONF_FIELDS: fields,
            const.CONF_MODEL: const.SYSTEM_MODEL,
            CONF_WEBHOOK_ID: "bench-webhook",
        },
        options={const.CONF_BACKFILL_DAYS: 0, **options},
    )


@asynccontextmanager
async def home_assistant() -> AsyncIterator[HomeAssistant]:
    """A running Home Assistant with this checkout's integration, in a throwaway config."""
    # As the tests do: no zeroconf resolver (the cloud's simulator is on 127.0.0.1). Home
    # Assistant closes its resolver with real_close when it stops, as the tests' does.
    threaded = aiohttp.ThreadedResolver()
    threaded.real_close = threaded.close  # type: ignore[attr-defined]
    resolver = patch(
        "homeassistant.helpers.aiohttp_client._async_make_resolver", return_value=threaded
    )
    with tempfile.TemporaryDirectory() as config, resolver:
        async with async_test_home_assistant(config_dir=config) as hass:
            # As the tests' hass fixture and enable_custom_integrations do.
            frame.async_setup(hass)
            await translation.async_load_integrations(hass, {"homeassistant"})
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)
            # The integration needs http (its webhook): on loopback, on a port of its own, so
            # a run never binds every interface nor collides with a running demo on 8123.
            http = {"server_host": ["127.0.0.1"], "server_port": _free_port()}
            assert await async_setup_component(hass, "http", {"http": http})
            # Confirmed, as a user confirms a new HTTP config: a run past five minutes would
            # otherwise revert it, calling a restart the harness has not (the RS485 soak).
            store = hass.data[http_config.DATA_STORE]
            if store.active_config_type is http_config.ActiveConfigType.PENDING:
                await store.async_promote_pending()
            try:
                yield hass
            finally:
                # As the tests' hass fixture does: what integrations register for the process
                # (usb's serial port scheme) is let go, so the next run's hass can take it.
                await hass.async_stop(force=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def count_writes(hass: HomeAssistant, entity_ids: set[str]) -> Iterator[dict[str, int]]:
    """Counts, while in the context, the state writes of these entities.

    "changed": state_changed events; "unchanged": state_reported events, which Home
    Assistant fires for a state written again as it was.
    """
    counts = {"changed": 0, "unchanged": 0}

    @callback
    def _ours(data: Any) -> bool:
        return data["entity_id"] in entity_ids

    def _counter(kind: str) -> Callable[[Event], None]:
        @callback
        def _count(event: Event) -> None:
            counts[kind] += 1

        return _count

    listeners = [
        hass.bus.async_listen(EVENT_STATE_CHANGED, _counter("changed"), _ours),
        hass.bus.async_listen(EVENT_STATE_REPORTED, _counter("unchanged"), _ours),
    ]
    try:
        yield counts
    finally:
        for unsubscribe in listeners:
            unsubscribe()
