"""Home Assistant with the integration, set up against the simulated stick."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from datetime import timedelta
from typing import Any
from unittest.mock import PropertyMock, patch

import pytest
from aiohttp.test_utils import TestClient
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.zcs_azzurro import const
from simulator.eth import EthStick, Framing
from tests.conftest import LINK_KINDS, TEST_TIMEOUT

SERIAL = "ZP1ES010M2H00017"
MODEL = "3PH HYD10000 ZSS"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/."""


@pytest.fixture(autouse=True)
def short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Links wait a fraction of a second, not ten, for the simulator's answers."""
    monkeypatch.setattr(const, "REQUEST_TIMEOUT", TEST_TIMEOUT)
    monkeypatch.setattr(const, "PROBE_TIMEOUT", TEST_TIMEOUT)


@pytest.fixture(autouse=True)
def scan_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scans for WiFi sticks go to loopback only, never the LAN; a short wait for answers.

    Port 9 (discard): nothing answers there unless a test points the scan at a simulator.
    """
    monkeypatch.setattr(const, "SCAN_ADDRESS", "127.0.0.1")
    monkeypatch.setattr(const, "SCAN_PORT", 9)
    monkeypatch.setattr(const, "SCAN_WAIT", 0.05)


@pytest.fixture(autouse=True)
def stick_page_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stick's web page is asked for on a loopback port nothing listens on (9, discard).

    Tests of the page point it at a simulated stick's page.
    """
    monkeypatch.setattr(const, "STICK_WEB_PORT", 9)


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create every entity enabled, the disabled-by-default ones too."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


def entry_data(port: int, **changes: Any) -> dict[str, Any]:
    """What the config flow stores for an ETH stick on loopback (RTU over TCP)."""
    return {
        const.CONF_LINK: const.LINK_ETH,
        const.CONF_FRAMING: LINK_KINDS[Framing.RTU].value,
        CONF_HOST: "127.0.0.1",
        CONF_PORT: port,
        const.CONF_UNIT_ID: 1,
        const.CONF_PROFILE: "zcs_3ph_hyd_zss",
        const.CONF_MODEL: MODEL,
        **changes,
    }


@pytest.fixture
def config_entry(stick: EthStick) -> MockConfigEntry:
    """An entry for the simulated inverter, not yet added."""
    data = entry_data(stick.port, framing=LINK_KINDS[stick.framing].value)
    return MockConfigEntry(domain=const.DOMAIN, unique_id=SERIAL, title=MODEL, data=data)


@pytest.fixture
async def loaded_entry(hass: HomeAssistant, config_entry: MockConfigEntry) -> MockConfigEntry:
    """The entry, set up."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return config_entry


def entity_id(hass: HomeAssistant, key: str, platform: str = "sensor") -> str:
    """The entity showing the profile field with this key."""
    found = er.async_get(hass).async_get_entity_id(platform, const.DOMAIN, f"{SERIAL}_{key}")
    assert found is not None, key
    return found


def state(hass: HomeAssistant, key: str, platform: str = "sensor") -> State:
    """The state of the entity showing the field with this key."""
    found = hass.states.get(entity_id(hass, key, platform))
    assert found is not None, key
    return found


async def poll(hass: HomeAssistant) -> None:
    """Let the scan interval pass, so the coordinator polls as it does on schedule."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=const.MAX_SCAN_INTERVAL))
    # Scheduled polls run as background tasks; wait for this one to finish.
    await hass.async_block_till_done(wait_background_tasks=True)


type ClientMaker = Callable[[], Awaitable[TestClient]]


@pytest.fixture
async def http(hass: HomeAssistant, hass_client_no_auth: ClientMaker) -> TestClient:
    """Home Assistant's HTTP server on loopback, its address the external URL (webhooks)."""
    assert await async_setup_component(hass, "webhook", {})
    # And what our manifest depends on that serves views (usb's websocket commands): a
    # view cannot be added once the server runs, as Home Assistant sets these up first.
    assert await async_setup_component(hass, "usb", {})
    client = await hass_client_no_auth()
    hass.config.external_url = str(client.make_url("")).rstrip("/")
    return client


class Later:
    """Home Assistant's timers fire as if its clock moved on (the wall clock does not).

    Time is not frozen: the links' own timeouts keep running on the real clock.
    """

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self.ahead = timedelta(0)

    async def __call__(self, seconds: float) -> None:
        self.ahead += timedelta(seconds=seconds)
        async_fire_time_changed(self.hass, dt_util.utcnow() + self.ahead)
        await self.hass.async_block_till_done(wait_background_tasks=True)


@pytest.fixture
def later(hass: HomeAssistant) -> Later:
    """Moves Home Assistant's timers on."""
    return Later(hass)
