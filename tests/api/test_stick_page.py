"""A stick's status page: its serial and firmware, read over HTTP as a browser does."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import aiohttp
import pytest
from aiohttp import web

from custom_components.zcs_azzurro.api.stick_page import (
    StickPage,
    parse_status_page,
    read_status_page,
)
from simulator.web import StickWebPage
from tests.conftest import closed_port

# A Sofar LSW-3's status page as a public capture shows it (a Sofar owner's notes: the
# inverter serial padded with spaces, the logger's serial and its firmware).
SOFAR_LSW3 = """
var webdata_sn = "SA3ES233xxxxxx  ";
var webdata_msvn = "V310";
var webdata_ssvn = "";
var webdata_pv_type = "SA3ES233";
var webdata_rate_p = "3 00";
var webdata_utime = "0";
var cover_mid = "1797000000";
var cover_ver = "LSW3_15_FFFF_1.0.57";
var cover_wmode = "APSTA";
var cover_ap_ssid = "AP_1797000000";
"""


def test_a_sofar_sticks_page_names_its_serial_and_firmware() -> None:
    assert parse_status_page(SOFAR_LSW3) == StickPage(1797000000, "LSW3_15_FFFF_1.0.57")


def test_a_serial_padded_with_spaces_and_no_spaces_around_the_sign_are_read() -> None:
    # Pages pad fields to a width (a capture's `var cover_mid = "238483342     ";`), and
    # tools write the variables without spaces too.
    page = 'var cover_mid="238483342        ";var cover_ver="MW3_15U_5406_1.49R";'
    assert parse_status_page(page) == StickPage(238483342, "MW3_15U_5406_1.49R")


@pytest.mark.parametrize(
    "text",
    [
        "<html>SolarAssistant</html>",  # another device's page
        'var cover_mid = "1797000000";',  # no firmware
        'var cover_ver = "LSW3_15_FFFF_1.0.57";',  # no serial
        'var cover_mid = "0"; var cover_ver = "LSW3_15_FFFF_1.0.57";',  # no serial either
        'var cover_mid = "99999999999"; var cover_ver = "X";',  # wider than a V5 header's
        'var cover_mid = "1797000000"; var cover_ver = "";',  # an empty firmware
    ],
)
def test_a_page_without_a_loggers_serial_and_firmware_names_no_stick(text: str) -> None:
    assert parse_status_page(text) is None


def test_the_firmware_release_and_the_mqtt_firmware_are_told() -> None:
    lse3 = StickPage(2112345678, "ME_0D_270A_1.11")
    mqtt = StickPage(2712345678, "LSW3_15_MQTT_270A_1.22")
    assert (lse3.release, lse3.mqtt) == ("1.11", False)
    assert (mqtt.release, mqtt.mqtt) == ("1.22", True)
    assert not StickPage(2312345678, "LSW3_15_FFFF_1.0.65").mqtt
    # ZCS's own MQTT firmware, on a 31xxxxxxxx logger (davidrapan/ha-solarman #800).
    assert StickPage(3112345678, "LSW3_ZCSMQTT_270A_1.0C7").mqtt


@pytest.fixture
async def session(socket_enabled: None) -> AsyncGenerator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
async def stick_page(socket_enabled: None) -> AsyncGenerator[StickWebPage]:
    page = StickWebPage(2712345678, "LSW3_15_MQTT_270A_1.10", "ZP1ES010M2H00017")
    await page.start()
    yield page
    await page.stop()


async def test_the_page_is_read_with_the_factory_login(
    session: aiohttp.ClientSession, stick_page: StickWebPage
) -> None:
    page = await read_status_page(session, "127.0.0.1", stick_page.port)
    assert page == StickPage(2712345678, "LSW3_15_MQTT_270A_1.10")
    assert stick_page.requests == 1


async def test_a_changed_login_keeps_the_page_closed(
    session: aiohttp.ClientSession, stick_page: StickWebPage
) -> None:
    stick_page.login = ("admin", "secret")
    assert await read_status_page(session, "127.0.0.1", stick_page.port) is None
    assert stick_page.requests == 1  # asked once, refused: no guessing


async def _router(_: web.Request) -> web.Response:
    return web.Response(text="<html>a router</html>")


async def test_no_page_or_another_page_names_no_stick(session: aiohttp.ClientSession) -> None:
    assert await read_status_page(session, "127.0.0.1", await closed_port()) is None
    app = web.Application()
    app.router.add_get("/status.html", _router)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        port = runner.addresses[0][1]
        assert await read_status_page(session, "127.0.0.1", port) is None
    finally:
        await runner.cleanup()
