"""Register writes through the Azzurro System API, answered by ZCS at this entry's webhook.

A write is sent with a callback URL (the entry's webhook) and an id of ours; ZCS POSTs the
result there later. The callback is untrusted input from the internet: it is matched to a
pending write by id, device and register, or refused with a 4xx; its body is capped; nothing
of it is logged above debug; the token and the webhook id are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
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
from homeassistant.helpers.network import NoURLAvailableError
from homeassistant.helpers.storage import Store

from . import const
from .api.cloud import system_wire as wire
from .api.cloud.system import (
    SystemApiError,
    SystemAuthError,
    SystemClient,
    SystemLoggerError,
)
from .api.errors import InvalidValueError
from .api.profile.decoder import decode
from .api.profile.encoder import encode
from .api.profile.schema import Profile, Span, Value
from .const import DOMAIN
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
    """Where ZCS can POST to: Home Assistant's external URL or its cloud; None without one."""
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
    ) -> None:
        """Writes go to `device`; answers come to the webhook (None: no URL, writes off).

        `profile` is the entry's (the System's map with its settings groups): what the
        controls write, and what a confirmed write tells about them.
        """
        self.hass = hass
        self.entry_id = entry_id
        self.client = client
        self.device = device
        self.webhook_id = webhook_id
        self.profile = profile
        self.url = webhook_url(hass, webhook_id)
        self._pending: dict[str, _Pending] = {}
        # What the settings hold as their last confirmed writes said (the API reads none).
        self.held: dict[str, Value] = {}
        self._store = held_store(hass, entry_id)

    async def async_load(self) -> None:
        """Take up the settings as the writes before the last restart left them."""
        self.held.update(await self._store.async_load() or {})

    async def write_settings(
        self, values: Mapping[str, Value], shown: Mapping[str, Value | None]
    ) -> None:
        """Write settings of one group: the group whole, its other settings as `shown`.

        Settings not shown fall back to what their last confirmed write gave; a group with
        one of them unknown is refused before anything is sent (nothing reads it here).
        """
        self._check_writes_on()
        profile = self.profile
        (group,) = {profile.group(f.write.group) for f in map(profile.field, values) if f.write}
        words = [0] * group.span.count
        unknown = []
        for fld in profile.members(group):
            value = values.get(fld.key, shown.get(fld.key))
            if value is None and (value := self.held.get(fld.key)) is None:
                unknown.append(fld)
                continue
            try:
                part = encode(fld, value)
            except InvalidValueError as err:
                raise invalid_value(err) from err
            start = fld.spans[0].address - group.span.address
            words[start : start + len(part)] = part
        if unknown:
            # Named by their entity ids, which the user can find and the action's docs use.
            registry = er.async_get(self.hass)
            entry = self.hass.config_entries.async_get_entry(self.entry_id)
            prefix = entry.unique_id if entry else ""
            raise ServiceValidationError(
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
        if group.commit is not None:
            words[group.commit[0] - group.span.address] = group.commit[1]
        await self.write_registers(group.span.address, words)

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

    async def write_registers(self, address: int, values: list[int]) -> dict[str, Any]:
        """Write registers from `address`; the callback's result, or a translated error.

        The settings a confirmed write covers are held as written.
        """
        url = self._check_writes_on()
        if self.client.logger is not None and self.client.logger not in wire.WRITE_LOGGERS:
            raise _logger_error(self.client.logger)
        request_id = uuid.uuid4().hex
        pending = _Pending(address, list(values), self.hass.loop.create_future())
        self._pending[request_id] = pending
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
                _LOGGER.debug("Azzurro System write not taken: %r", err)
                raise HomeAssistantError(
                    translation_domain=DOMAIN, translation_key="system_write_not_sent"
                ) from err
            try:
                async with asyncio.timeout(const.SYSTEM_WRITE_TIMEOUT):
                    answer = await pending.answer
            except TimeoutError as err:
                self._fire(request_id, pending, success=False, error="timeout")
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="system_write_timeout",
                    translation_placeholders={"seconds": f"{const.SYSTEM_WRITE_TIMEOUT:.0f}"},
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
        """Keep what the settings within the written registers hold now; saved at once."""
        written = Span(address, len(values))
        registers = dict(enumerate(values, address))
        held = {
            fld.key: value
            for fld in self.profile.fields
            if fld.write is not None
            and all(span.within(written) for span in fld.spans)
            and (value := decode(fld, registers)) is not None
        }
        if held:
            self.held.update(held)
            await self._store.async_save(self.held)

    async def handle(
        self, hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        """A callback: matched to the write it answers, or refused with a 4xx."""
        if (request.content_length or 0) > const.MAX_CALLBACK_BYTES:
            return _refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too large")
        raw = await request.content.read(const.MAX_CALLBACK_BYTES + 1)
        if len(raw) > const.MAX_CALLBACK_BYTES:
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
