"""Our decoders fed generated input (Hypothesis): only our declared errors come out.

The RTU and MBAP framing is the library's; ours is the profile loader, the value decoder,
the Portal's JSON answers, and the probe's look at the bytes a framing gave back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymodbus.framer import FRAMER_NAME_TO_CLASS
from pymodbus.pdu import DecodePDU

from custom_components.zcs_azzurro.api.cloud.portal import PortalClient
from custom_components.zcs_azzurro.api.cloud.system import SystemClient
from custom_components.zcs_azzurro.api.errors import FrameError, ProfileError
from custom_components.zcs_azzurro.api.profile.decoder import decode
from custom_components.zcs_azzurro.api.profile.loader import BUNDLED, load_profile
from custom_components.zcs_azzurro.api.profile.schema import FieldType, Profile
from custom_components.zcs_azzurro.api.source import SourceError
from custom_components.zcs_azzurro.api.transport.probe import _FRAMERS, _framed
from custom_components.zcs_azzurro.api.transport.unit import LinkKind

# Few examples each: scripts/test stays fast; raise with --hypothesis-profile or by hand.
FAST = settings(max_examples=40, deadline=None, derandomize=True)
BUNDLED_TEXT = next(BUNDLED.glob("*.yaml")).read_text(encoding="utf-8")
BUNDLED_DOC = yaml.safe_load(BUNDLED_TEXT)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _load(tmp_path: Path, text: str | bytes) -> None:
    path = tmp_path / "fuzzed.yaml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    with contextlib.suppress(ProfileError):
        load_profile(path)


@FAST
@given(text=st.text(max_size=300) | st.text(max_size=100).map(lambda t: t.encode("utf-16")))
def test_any_text_as_a_profile(tmp_path_factory: pytest.TempPathFactory, text: str | bytes) -> None:
    """Any text, in any encoding: a profile, or a ProfileError that says where."""
    _load(tmp_path_factory.mktemp("p"), text)


@FAST
@given(raw=st.binary(max_size=300))
def test_any_bytes_as_a_profile(tmp_path_factory: pytest.TempPathFactory, raw: bytes) -> None:
    """Any bytes (a file saved in another encoding, or none): a ProfileError at worst."""
    _load(tmp_path_factory.mktemp("p"), BUNDLED_TEXT.encode()[:200] + raw)


def _replace(document: Any, path: list[int], junk: Any) -> Any:
    """The document with the node that `path` leads to replaced by junk."""
    if not path or not isinstance(document, dict | list) or not document:
        return junk
    keys = list(document) if isinstance(document, dict) else list(range(len(document)))
    key = keys[path[0] % len(keys)]
    copy = dict(document) if isinstance(document, dict) else list(document)
    copy[key] = _replace(document[key], path[1:], junk)
    return copy


@FAST
@given(path=st.lists(st.integers(0, 200), min_size=1, max_size=5), junk=json_values)
def test_a_bundled_profile_with_one_node_spoiled(
    tmp_path_factory: pytest.TempPathFactory, path: list[int], junk: Any
) -> None:
    """The shipped profile with any one node replaced by anything: loads, or ProfileError."""
    spoiled = _replace(BUNDLED_DOC, path, junk)
    _load(tmp_path_factory.mktemp("p"), yaml.safe_dump(spoiled))


@FAST
@given(data=st.data())
def test_any_registers_decode_to_a_value_or_none(profile: Profile, data: st.DataObject) -> None:
    """Every field of the profile, any register words: a value in its range, or None."""
    for fld in profile.fields:
        if fld.type is FieldType.SUM:
            continue
        addresses = [a for span in fld.spans for a in range(span.address, span.end + 1)]
        words = data.draw(st.lists(st.integers(0, 0xFFFF), min_size=len(addresses),
                                   max_size=len(addresses)))  # fmt: skip
        value = decode(fld, dict(zip(addresses, words, strict=True)))
        if isinstance(value, int | float) and fld.valid is not None:
            assert fld.valid[0] <= value <= fld.valid[1]
        if fld.options is not None:
            assert value is None or value in fld.options.values()


@FAST
@given(kind=st.sampled_from(list(_FRAMERS)), received=st.binary(max_size=40))
def test_any_bytes_back_from_a_probe(kind: LinkKind, received: bytes) -> None:
    """Whatever a probed port sends back: framed, not yet, or a FrameError."""
    framer = FRAMER_NAME_TO_CLASS[_FRAMERS[kind]](DecodePDU(is_server=False))
    with contextlib.suppress(FrameError):
        assert isinstance(_framed(kind, framer, received), bool)


answers = st.one_of(
    json_values.map(json.dumps),
    st.text(max_size=60),
    # Pages in another encoding (a proxy's "è in manutenzione" in latin-1), or none.
    st.binary(max_size=60),
    # Answers shaped like the Portal's, with anything inside.
    st.fixed_dictionaries(
        {"realtimeData": st.fixed_dictionaries(
            {"success": st.sampled_from([True, False, None]),
             "params": st.fixed_dictionaries({"value": st.lists(st.dictionaries(
                 st.sampled_from(["T1", "other"]), json_values), max_size=2) | json_values})
                 | json_values})},
    ).map(json.dumps),
    # Answers shaped like the System's (the assumed wire), with anything inside.
    st.fixed_dictionaries(
        {"success": st.sampled_from([True, False, None]),
         "data": st.dictionaries(st.sampled_from(["E_PV_TOTAL", "ts", "lastUpdate"]), json_values)
         | json_values},
    ).map(json.dumps),
)  # fmt: skip


async def _ask(body: str | bytes, status: int) -> None:
    """The clients' realtime reads of a Portal, then a System, that answer `body`."""
    raw = body.encode() if isinstance(body, str) else body

    async def handler(request: web.Request) -> web.Response:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        return web.Response(status=status, body=raw, headers=headers)

    app = web.Application()
    app.router.add_post("/{path:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
    try:
        async with aiohttp.ClientSession() as session:
            with contextlib.suppress(SourceError):
                await PortalClient(session, "k", "c", url=url).realtime("T1", alarms=True)
            with contextlib.suppress(SourceError):
                await SystemClient(session, "t", "p", url=url).realtime("T1", alarms=True)
    finally:
        await runner.cleanup()


@settings(FAST, max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=answers, status=st.sampled_from([200, 200, 200, 401, 500, 502, 503]))
def test_any_cloud_answer(socket_enabled: None, body: str | bytes, status: int) -> None:
    """Whatever a cloud answers: a reading, or a SourceError the coordinator translates."""
    asyncio.run(_ask(body, status))
