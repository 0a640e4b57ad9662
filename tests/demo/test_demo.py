"""The demo's files and ports: a user's edits survive, a taken port is one line."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from scripts import demo


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo's configuration directory, in a temporary place."""
    monkeypatch.setattr(demo, "ROOT", tmp_path)
    monkeypatch.setattr(demo, "CONFIG", tmp_path / ".demo" / "config")
    return tmp_path / ".demo" / "config"


def test_configuration_yaml_is_written_once_and_the_users_edits_survive(config: Path) -> None:
    demo.ensure_config()
    configuration = config / "configuration.yaml"
    assert "!include demo.yaml" in configuration.read_text()
    # First start: the loopback http: block, and onboarding without the online integrations.
    assert "server_host: 127.0.0.1" in (config / "demo.yaml").read_text()
    onboarding = json.loads((config / ".storage" / "onboarding").read_text())
    assert set(onboarding["data"]["done"]) == {"core_config", "analytics"}
    assert (config / "custom_components" / "zcs_azzurro").is_symlink()

    configuration.write_text(configuration.read_text() + "sun:\n")
    (config / ".storage" / "http").write_text("{}")  # Home Assistant has taken the address
    demo.ensure_config()
    assert configuration.read_text().endswith("sun:\n")
    demo_yaml = (config / "demo.yaml").read_text()
    assert "energy:" in demo_yaml
    assert "http:" not in demo_yaml


def test_a_configuration_without_the_demos_include_stops_with_one_line(config: Path) -> None:
    config.mkdir(parents=True)
    (config / "configuration.yaml").write_text("homeassistant:\n  name: mine\n")
    with pytest.raises(SystemExit, match=r"does not include demo\.yaml") as stopped:
        demo.ensure_config()
    assert "\n" not in str(stopped.value.code)
    assert (config / "configuration.yaml").read_text() == "homeassistant:\n  name: mine\n"


def test_a_taken_port_stops_the_demo_with_one_line(
    socket_enabled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setattr(demo, "HA_PORT", port)
        with pytest.raises(SystemExit, match=f"port {port} \\(Home Assistant\\) is in use"):
            demo.ensure_ports_free()
        # --proxy's port too.
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free = probe.getsockname()[1]
        monkeypatch.setattr(demo, "HA_PORT", free)
        monkeypatch.setattr(demo, "SIM_PORT", free)
        with pytest.raises(SystemExit, match=f"port {port} \\(the shared connection\\) is in"):
            demo.ensure_ports_free(proxy=port)
    monkeypatch.setattr(demo, "SIM_PORT", port)  # all free now
    monkeypatch.setattr(demo, "HA_PORT", port)
    monkeypatch.setattr(demo, "WEB_PORT", port)  # not the fixed one a running demo holds
    demo.ensure_ports_free()


def test_the_wifi_demo_scans_loopback_only() -> None:
    wifi = demo.LINKS["wifi"]
    assert wifi.environment["ZCS_AZZURRO_SCAN_ADDRESS"] == "127.0.0.1"
    assert wifi.environment["ZCS_AZZURRO_SCAN_PORT"] == str(demo.SCAN_PORT)
    # The simulator answers scans where Home Assistant sends them, and listens where it asks.
    assert wifi.simulator[-2:] == ("--scan-port", str(demo.SCAN_PORT))
    assert wifi.environment["ZCS_AZZURRO_WIFI_PORT"] == str(demo.SIM_PORT)


def test_the_sticks_serve_their_web_page_where_home_assistant_reads_it() -> None:
    for name in ("eth", "wifi"):
        link = demo.LINKS[name]
        where = link.simulator.index("--web-port")
        assert link.simulator[where + 1] == str(demo.WEB_PORT), name
        assert link.environment["ZCS_AZZURRO_STICK_WEB_PORT"] == str(demo.WEB_PORT), name
        assert link.stick, name
