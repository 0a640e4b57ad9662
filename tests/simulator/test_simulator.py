"""The simulator: its command line, its plant's physics, its device's rules."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from custom_components.zcs_azzurro.api.profile.decoder import decode
from custom_components.zcs_azzurro.api.profile.loader import load_bundled
from simulator.devices import DEVICES
from simulator.devices.hyd_3ph import Hyd3ph
from simulator.faults import Faults, add_flags, from_flags
from simulator.modbus import crc16, rtu_frame, rtu_valid
from simulator.registers import ModbusExceptionError
from tests.conftest import Clock, local_time

ROOT = Path(__file__).parents[2]


async def _serve(*arguments: str) -> tuple[asyncio.subprocess.Process, int]:
    """The simulator's command line, run; the port it says it listens on."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", "--port", "0", *arguments,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
    match = re.fullmatch(r"listening eth 127\.0\.0\.1:(\d+)\n", line)
    assert match, line
    return process, int(match[1])


async def test_the_command_line_serves_on_the_port_it_prints(socket_enabled: None) -> None:
    process, port = await _serve("--device", "hyd-3ph", "--link", "eth", "--refuse", "0x0606")
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(rtu_frame(1, bytes([0x03, 0x06, 0x08, 0x00, 0x01])))  # battery SOC
        answer = await asyncio.wait_for(reader.readexactly(7), 5)
        assert rtu_valid(answer)
        assert answer[:3] == bytes([1, 0x03, 2])
        writer.write(rtu_frame(1, bytes([0x03, 0x06, 0x04, 0x00, 0x05])))  # battery 1, 0x0606 too
        refused = await asyncio.wait_for(reader.readexactly(5), 5)
        assert refused == rtu_frame(1, bytes([0x83, 0x02]))  # illegal address
        writer.close()
        await writer.wait_closed()
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 10) == 0


def _flags(*arguments: str) -> Faults:
    parser = argparse.ArgumentParser()
    add_flags(parser)
    return from_flags(parser.parse_args(arguments), Faults)


def test_every_fault_has_a_flag_with_help() -> None:
    parser = argparse.ArgumentParser()
    add_flags(parser)
    flags = {action.dest: action for action in parser._actions}
    for fault in fields(Faults):
        assert fault.name in flags, fault.name
        assert flags[fault.name].help
    assert _flags() == Faults()


def test_flags_switch_faults_on() -> None:
    faults = _flags("--silent", "--bad-crc", "--delay", "0.5", "--exception", "0x04")
    assert faults == Faults(silent=True, bad_crc=True, delay=0.5, exception=4)
    assert _flags("--exception", "2").exception == 2


async def test_a_fault_flag_reaches_the_wire(socket_enabled: None) -> None:
    process, port = await _serve("--exception", "0x04")
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(rtu_frame(1, bytes([0x03, 0x06, 0x08, 0x00, 0x01])))
        refused = await asyncio.wait_for(reader.readexactly(5), 5)
        assert refused == rtu_frame(1, bytes([0x83, 0x04]))  # server device failure
        writer.close()
        await writer.wait_closed()
    finally:
        process.terminate()
        await process.wait()


async def test_a_taken_port_is_one_line_not_a_traceback(socket_enabled: None) -> None:
    process, port = await _serve()
    try:
        taken = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "simulator", "--port", str(port),
            cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(taken.communicate(), 20)
    finally:
        process.terminate()
        await process.wait()
    assert taken.returncode == 1
    assert out == b""
    assert err.decode() == f"simulator: 127.0.0.1:{port} is in use (another simulator?)\n"


def test_an_older_python_is_told_which_python_to_use() -> None:
    # As if this were Python 3.13: the package refuses before anything else runs.
    older = "import sys; sys.version_info = (3, 13, 9, 'final', 0); import simulator"
    done = subprocess.run(
        [sys.executable, "-c", older], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert "needs Python 3.14" in done.stderr
    assert ".venv/bin/python -m simulator" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("hour", [3, 9, 13, 19, 23])
def test_power_balances_at_every_hour(hour: int) -> None:
    device = Hyd3ph(clock=Clock(local_time(hour)))
    plant = device.plant
    sources = plant.pv_w + max(-plant.grid_w, 0) + max(-plant.battery_w, 0)
    sinks = plant.load_w + max(plant.grid_w, 0) + max(plant.battery_w, 0)
    assert sources == pytest.approx(sinks)
    assert (plant.pv_w > 0) == (6.5 < hour < 19.5)


def test_counters_only_grow_and_today_restarts_at_midnight() -> None:
    clock = Clock(local_time(0) + 60)
    device = Hyd3ph(clock=clock)
    totals = device.read(0x0684, 24)
    previous = totals
    for _ in range(48):  # a day, every half hour
        clock.now += 1800
        device.refresh()
        current = device.read(0x0684, 24)
        lifetime = [(current[i] << 16) | current[i + 1] for i in range(2, 24, 4)]
        before = [(previous[i] << 16) | previous[i + 1] for i in range(2, 24, 4)]
        assert all(now >= then for now, then in zip(lifetime, before, strict=True))
        previous = current
    assert previous[2:4] != totals[2:4]  # PV energy grew over the day
    today_pv = (previous[0] << 16) | previous[1]
    assert today_pv < 1000  # restarted at midnight: a few kWh at most since
    assert 0 <= device.plant.soc <= 100


def test_reads_follow_the_device_rules() -> None:
    device = Hyd3ph()
    assert len(device.read(0x0404, 58)) == 58
    for address, count in ((0x0404, 61), (0x043E, 2), (0x0400, 1), (0x0404, 0)):
        with pytest.raises(ModbusExceptionError):
            device.read(address, count)
    device.gaps.append((0x0410, 0x0410))
    with pytest.raises(ModbusExceptionError):
        device.read(0x0404, 20)
    with pytest.raises(ModbusExceptionError):
        device.write(0x0404, [1])


def test_crc_matches_the_modbus_reference() -> None:
    # The CRC of 01 03 00 00 00 01 is 84 0A on the wire (low byte first).
    assert crc16(bytes.fromhex("010300000001")) == 0x0A84
    assert rtu_frame(1, bytes.fromhex("0300000001")).hex() == "010300000001840a"


async def _pv_total(port: int) -> int:
    """The PV lifetime counter, in 0.1 kWh, read over the wire."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(rtu_frame(1, bytes([0x03, 0x06, 0x86, 0x00, 0x02])))
    answer = await asyncio.wait_for(reader.readexactly(9), 5)
    writer.close()
    await writer.wait_closed()
    return int.from_bytes(answer[3:7])


async def _write_storage_mode(port: int, mode: int) -> None:
    """Write 0x1110 over the wire (one register, function 0x10), as energy managers do."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(rtu_frame(1, bytes([0x10, 0x11, 0x10, 0x00, 0x01, 0x02, 0x00, mode])))
    answer = await asyncio.wait_for(reader.readexactly(8), 5)
    assert answer[1] == 0x10
    writer.close()
    await writer.wait_closed()


async def test_counters_are_kept_across_runs_like_the_inverter_keeps_them(
    socket_enabled: None, tmp_path: Path
) -> None:
    memory = tmp_path / "inverter.json"
    process, port = await _serve("--memory", str(memory))
    first = await _pv_total(port)
    await _write_storage_mode(port, 3)
    process.terminate()
    assert await asyncio.wait_for(process.wait(), 10) == 0
    kept = json.loads(memory.read_text())
    assert round(kept["totals_wh"]["pv"] / 100) >= first
    # The EEPROM's wear survives a restart too, per register.
    assert kept["eeprom_writes"] == {"0x1110": 1}
    # Ahead of what the clock alone gives, as a run whose flows were above average leaves it.
    kept["totals_wh"]["pv"] += 5_000_000
    memory.write_text(json.dumps(kept))
    process, port = await _serve("--memory", str(memory))
    try:
        assert await _pv_total(port) >= first + 50_000
        await _write_storage_mode(port, 0)
    finally:
        process.terminate()
        await process.wait()
    assert json.loads(memory.read_text())["eeprom_writes"] == {"0x1110": 2}


@pytest.mark.parametrize(
    ("device", "profile_id", "codes"),
    [
        ("hyd-3ph", "zcs_3ph_hyd_zss", (2, 10, 289, 480)),
        ("ktl-v3", "zcs_3ph_ktl_v3", (124,)),
        ("hyd-es", "zcs_hyd_es", (5, 80)),
        ("tl-v3", "zcs_1ph_tl_v3", (1, 57)),
    ],
)
def test_a_reported_fault_reads_as_its_id(
    device: str, profile_id: str, codes: tuple[int, ...]
) -> None:
    # --fault-id: the model's fault words, numbered as our profiles (and the maps) number them.
    model = DEVICES[device](clock=Clock(local_time(13)))  # type: ignore[call-arg]
    model.report_faults(codes)
    model.refresh()
    profile = next(p for p in load_bundled() if p.id == profile_id)
    field = profile.field("fault")
    registers = model.inputs if profile.rules.is_input(field.spans[0]) else model.values
    assert decode(field, registers) == codes
    with pytest.raises(ValueError, match="is not one of"):
        model.report_faults([16 * len(model.FAULT_WORDS) + 1])
