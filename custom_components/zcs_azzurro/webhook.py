"""Register writes through the Azzurro System API, answered by ZCS at this entry's webhook.

A write is sent with a callback URL (the entry's webhook) and an id of ours; ZCS POSTs the
result there later. The callback is untrusted input from the internet: it is matched to a
pending write by id, device and register, or refused with a 4xx; its body is read whole,
capped and within a time limit; nothing of it is logged above debug; the token and the
webhook id are never logged.

The same guarantees as local writes: one write per group at a time, each completed from
what the one before left; nothing sent when the inverter holds it already; groups in EEPROM
not rewritten within the entry's write interval; and words that say "unknown" when it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aiohttp import web
from homeassistant.components import webhook
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.helpers.storage import Store

from . import const
from .api.cloud import system_wire as wire
from .api.cloud.system import (
    SystemApiError,
    SystemAuthError,
    SystemClient,
    SystemLoggerError,
    SystemWriteRefusedError,
    may_have_arrived,
)
from .api.errors import InvalidValueError, TooSoonError
from .api.profile.decoder import decode
from .api.profile.encoder import encode
from .api.profile.schema import Field, Profile, Span, Value, WriteGroup
from .api.writer import WriteInterval
from .const import DEFAULT_WRITE_INTERVAL, DOMAIN
from .coordinator import invalid_value

_LOGGER = logging.getLogger(__name__)

# Fired when a write's result is known: the callback's, or that none came in time.
EVENT_WRITE_RESULT = f"{DOMAIN}_write_result"


@dataclass
class _Pending:
    register: int
    values: list[int]
    answer: asyncio.Future[wire.Callback]


def held_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Value]]:
    """Where an entry keeps the settings its confirmed writes gave, across restarts."""
    return Store(hass, 1, f"{DOMAIN}.system_settings.{entry_id}")


def webhook_url(hass: HomeAssistant, webhook_id: str) -> str | None:
    """Where ZCS can POST to: Home Assistant's external URL, https if it has one; or None.

    Over plain http the webhook id and each write's id cross the internet in clear (the
    entry then raises a repair issue, see system.py).
    """
    with contextlib.suppress(NoURLAvailableError):
        secure = get_url(hass, require_ssl=True, allow_internal=False, allow_cloud=False)
        return secure + webhook.async_generate_path(webhook_id)
    try:
        return webhook.async_generate_url(hass, webhook_id, allow_internal=False)
    except NoURLAvailableError:
        return None


class WebhookWrites:
    """One System entry's register writes, waiting for their callbacks."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        client: SystemClient,
        device: str,
        webhook_id: str,
        *,
        profile: Profile,
        reported: frozenset[str] = frozenset(),
        interval: float = DEFAULT_WRITE_INTERVAL,
    ) -> None:
        """Writes go to `device`; answers come to the webhook (None: no URL, writes off).

        `profile` is the entry's (the System's map with its settings groups): what the
        controls write, and what a confirmed write tells about them. `reported` are the
        settings the realtime call reports (none that we know of); `interval` the seconds
        between writes of a group kept in EEPROM, as for local writes.
        """
        self.hass = hass
        self.entry_id = entry_id
        self.client = client
        self.device = device
        self.webhook_id = webhook_id
        self.profile = profile
        self.reported = reported
        self.url = webhook_url(hass, webhook_id)
        self.interval = WriteInterval(interval)
        self._pending: dict[str, _Pending] = {}
        # One write per group at a time: each is completed from what the one before left.
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # What the settings hold as their last confirmed writes said (the API reads none).
        self.held: dict[str, Value] = {}
        self._store = held_store(hass, entry_id)

    async def async_load(self) -> None:
        """Take up the settings as the writes before the last restart left them."""
        self.held.update(await self._store.async_load() or {})

    async def write_settings(
        self, values: Mapping[str, Value], shown: Mapping[str, Value | None]
    ) -> None:
        """Write settings of one group: the group whole, its other settings as known.

        A setting the API does not report is known by its last confirmed write (newer than
        any poll: writes to one group wait for each other); one it reports, as `shown` by
        the last poll. A group with one of them unknown is refused before anything is sent.
        """
        self._check_writes_on()
        profile = self.profile
        (group,) = {profile.group(f.write.group) for f in map(profile.field, values) if f.write}
        async with self._locks[group.key]:
            words = [0] * group.span.count
            unknown = []
            for fld in profile.members(group):
                value = values.get(fld.key, self._known(fld, shown))
                if value is None:
                    unknown.append(fld)
                    continue
                try:
                    part = encode(fld, value)
                except InvalidValueError as err:
                    raise invalid_value(err) from err
                start = fld.spans[0].address - group.span.address
                words[start : start + len(part)] = part
            if unknown:
                raise self._unknown_error(group, unknown)
            for address, value in group.fixed:
                words[address - group.span.address] = value
            if group.commit is not None:
                words[group.commit[0] - group.span.address] = group.commit[1]
            if not self._holds(group.span.address, words, shown):
                await self._write(group, group.span.address, words)

    def _known(self, fld: Field, shown: Mapping[str, Value | None]) -> Value | None:
        first, then = (shown, self.held) if fld.key in self.reported else (self.held, shown)
        value = first.get(fld.key)
        return value if value is not None else then.get(fld.key)

    def _holds(
        self, address: int, words: list[int], shown: Mapping[str, Value | None] | None = None
    ) -> bool:
        """Whether the inverter holds these words already, as far as is known: send nothing.

        Only when every register is a setting's (or the commit's) and each setting's known
        value is what is to be written.
        """
        span = Span(address, len(words))
        registers = dict(enumerate(words, address))
        covered = {
            group.commit[0]
            for group in self.profile.groups
            if group.commit and span.address <= group.commit[0] <= span.end
        } | {
            fixed
            for group in self.profile.groups
            for fixed, value in group.fixed
            if registers.get(fixed) == value
        }
        for fld in self.profile.fields:
            if fld.write is None or not all(s.within(span) for s in fld.spans):
                continue
            if self._known(fld, shown or {}) != decode(fld, registers):
                return False
            covered.update(a for s in fld.spans for a in range(s.address, s.end + 1))
        return covered >= set(registers)

    def _unknown_error(self, group: WriteGroup, unknown: list[Field]) -> ServiceValidationError:
        # Named by their entity ids, which the user can find and the action's docs use.
        registry = er.async_get(self.hass)
        entry = self.hass.config_entries.async_get_entry(self.entry_id)
        prefix = entry.unique_id if entry else ""
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="system_setting_unknown",
            translation_placeholders={
                "settings": ", ".join(
                    registry.async_get_entity_id(
                        fld.presentation.platform, DOMAIN, f"{prefix}_{fld.key}"
                    )
                    or fld.key
                    for fld in unknown
                    if fld.presentation
                ),
                "first": f"{group.span.address:#06x}",
                "count": str(group.span.count),
            },
        )

    def register(self, name: str) -> None:
        """Take callbacks at the webhook: POST only, from the internet (ZCS's servers)."""
        webhook.async_register(
            self.hass,
            DOMAIN,
            name,
            self.webhook_id,
            self.handle,
            local_only=False,
            allowed_methods=["POST"],
        )

    def unregister(self) -> None:
        """Take no more callbacks; writes still waiting end as timed out."""
        webhook.async_unregister(self.hass, self.webhook_id)
        for pending in self._pending.values():
            if not pending.answer.done():
                pending.answer.set_exception(TimeoutError())

    async def write_registers(self, address: int, values: list[int]) -> dict[str, Any] | None:
        """Write registers from `address`; the callback's result (None: held already, not sent).

        Translated errors otherwise. The settings a confirmed write covers are held as written.
        """
        self._check_writes_on()
        group = self._group_of(Span(address, len(values)))
        async with self._locks[group.key]:
            if self._holds(address, values):
                return None
            return await self._write(group, address, values)

    def _group_of(self, span: Span) -> WriteGroup:
        """The write group the registers are in; registers outside every group are their own."""
        return next(
            (group for group in self.profile.groups if group.span.overlaps(span)),
            WriteGroup(f"{span.address:#06x}-{span.end:#06x}", span),
        )

    async def _write(self, group: WriteGroup, address: int, values: list[int]) -> dict[str, Any]:
        """Send the write and wait for its callback; the caller holds the group's lock."""
        url = self._check_writes_on()
        if self.client.logger is not None and self.client.logger not in wire.WRITE_LOGGERS:
            raise _logger_error(self.client.logger)
        try:
            self.interval.check(group)
        except TooSoonError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="write_too_soon",
                translation_placeholders={"wait": f"{err.wait:.0f}"},
            ) from err
        request_id = uuid.uuid4().hex
        pending = _Pending(address, list(values), self.hass.loop.create_future())
        self._pending[request_id] = pending
        # Why the request failed although ZCS may have taken it (its callback may still come).
        unsure: SystemApiError | None = None
        try:
            try:
                await self.client.write(
                    self.device, address, list(values), callback_url=url, request_id=request_id
                )
            except SystemLoggerError as err:
                # Known to the API before us: ask which logger it is, for the message.
                with contextlib.suppress(SystemApiError):
                    await self.client.realtime(self.device)
                logger = self.client.logger
                raise _logger_error(
                    logger if logger and logger not in wire.WRITE_LOGGERS else "?"
                ) from err
            except SystemAuthError as err:
                # The token no longer works: the owner is asked for a new one, as a poll does.
                if entry := self.hass.config_entries.async_get_entry(self.entry_id):
                    entry.async_start_reauth(self.hass)
                raise HomeAssistantError(
                    translation_domain=DOMAIN, translation_key="system_write_auth"
                ) from err
            except SystemApiError as err:
                if isinstance(err, SystemWriteRefusedError) or not may_have_arrived(err):
                    _LOGGER.debug("Azzurro System write not taken: %r", err)
                    raise HomeAssistantError(
                        translation_domain=DOMAIN, translation_key="system_write_not_sent"
                    ) from err
                _LOGGER.debug("Azzurro System write may have been taken: %r", err)
                unsure = err
            # Sent, or maybe: the EEPROM may be written, and the callback may come.
            self.interval.spent(group)
            try:
                async with asyncio.timeout(const.SYSTEM_WRITE_TIMEOUT):
                    answer = await pending.answer
            except TimeoutError as err:
                self._fire(request_id, pending, success=False, error="timeout")
                seconds = f"{const.SYSTEM_WRITE_TIMEOUT:.0f}"
                if unsure is not None:
                    raise HomeAssistantError(
                        translation_domain=DOMAIN,
                        translation_key="system_write_unknown",
                        translation_placeholders={"seconds": seconds},
                    ) from unsure
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="system_write_timeout",
                    translation_placeholders={"seconds": seconds},
                ) from err
        finally:
            # From here on a callback for it is late: refused.
            del self._pending[request_id]
        self._fire(request_id, pending, success=answer.ok, error=answer.error)
        if not answer.ok:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="system_write_failed",
                translation_placeholders={"error": answer.error or "?"},
            )
        await self._hold(address, values)
        return {"request_id": request_id, "register": address, "values": list(values)}

    def _check_writes_on(self) -> str:
        """The webhook's URL; without one, writes are off."""
        if self.url is None:
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="system_writes_disabled"
            )
        return self.url

    async def _hold(self, address: int, values: list[int]) -> None:
        """Keep what the settings within the written registers hold now; saved at once.

        A setting written a value it does not know (a code none of its options has) is
        unknown from now on: the inverter no longer holds what was shown.
        """
        written = Span(address, len(values))
        registers = dict(enumerate(values, address))
        covered = [
            fld
            for fld in self.profile.fields
            if fld.write is not None and all(span.within(written) for span in fld.spans)
        ]
        if not covered:
            return
        for fld in covered:
            if (value := decode(fld, registers)) is None:
                self.held.pop(fld.key, None)
            else:
                self.held[fld.key] = value
        await self._store.async_save(self.held)

    async def handle(
        self, hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        """A callback: matched to the write it answers, or refused with a 4xx."""
        try:
            async with asyncio.timeout(const.CALLBACK_READ_TIMEOUT):
                raw = await _body(request, const.MAX_CALLBACK_BYTES)
        except TimeoutError:
            return _refuse(HTTPStatus.REQUEST_TIMEOUT, "not whole in time")
        if raw is None:
            return _refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too large")
        try:
            answer = wire.parse_callback(json.loads(raw))
        except ValueError:
            answer = None
        if answer is None:
            return _refuse(HTTPStatus.BAD_REQUEST, "malformed")
        pending = self._pending.get(answer.request_id)
        if pending is None or answer.device != self.device or answer.register != pending.register:
            # No such write, another device's or register's, or one that timed out already.
            return _refuse(HTTPStatus.NOT_FOUND, "for no pending write")
        if pending.answer.done():
            return _refuse(HTTPStatus.CONFLICT, "a duplicate")
        pending.answer.set_result(answer)
        return web.Response(status=HTTPStatus.OK)

    def _fire(
        self, request_id: str, pending: _Pending, *, success: bool, error: str | None
    ) -> None:
        devices = dr.async_entries_for_config_entry(dr.async_get(self.hass), self.entry_id)
        self.hass.bus.async_fire(
            EVENT_WRITE_RESULT,
            {
                "device_id": devices[0].id if devices else None,
                "entry_id": self.entry_id,
                "request_id": request_id,
                "register": pending.register,
                "values": pending.values,
                "success": success,
                "error": error,
            },
        )


async def _body(request: web.Request, cap: int) -> bytes | None:
    """The whole body, however many pieces it comes in; None when it is longer than `cap`."""
    if (request.content_length or 0) > cap:
        return None
    raw = bytearray()
    while chunk := await request.content.read(cap + 1 - len(raw)):
        raw += chunk
        if len(raw) > cap:
            return None
    return bytes(raw)


def _refuse(status: HTTPStatus, why: str) -> web.Response:
    # Debug only: the body is anyone's, and the webhook id in the URL is a secret.
    _LOGGER.debug("Azzurro System callback refused: %s", why)
    return web.Response(status=status)


def _logger_error(logger: str) -> HomeAssistantError:
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="system_write_logger",
        translation_placeholders={"logger": logger},
    )
