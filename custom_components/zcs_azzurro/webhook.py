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
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aiohttp import web
from homeassistant.components import webhook
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.network import NoURLAvailableError

from . import const
from .api.cloud import system_wire as wire
from .api.cloud.system import SystemApiError, SystemClient, SystemLoggerError
from .const import DOMAIN

_LOGGER = logging.getLogger(__name__)

# Fired when a write's result is known: the callback's, or that none came in time.
EVENT_WRITE_RESULT = f"{DOMAIN}_write_result"


@dataclass
class _Pending:
    register: int
    values: list[int]
    answer: asyncio.Future[wire.Callback]


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
    ) -> None:
        """Writes go to `device`; answers come to the webhook (None: no URL, writes off)."""
        self.hass = hass
        self.entry_id = entry_id
        self.client = client
        self.device = device
        self.webhook_id = webhook_id
        self.url = webhook_url(hass, webhook_id)
        self._pending: dict[str, _Pending] = {}

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
        """Write registers from `address`; the callback's result, or a translated error."""
        if self.url is None:
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="system_writes_disabled"
            )
        if self.client.logger is not None and self.client.logger not in wire.WRITE_LOGGERS:
            raise _logger_error(self.client.logger)
        request_id = uuid.uuid4().hex
        pending = _Pending(address, list(values), self.hass.loop.create_future())
        self._pending[request_id] = pending
        try:
            try:
                await self.client.write(
                    self.device, address, list(values), callback_url=self.url, request_id=request_id
                )
            except SystemLoggerError as err:
                # Known to the API before us: ask which logger it is, for the message.
                with contextlib.suppress(SystemApiError):
                    await self.client.realtime(self.device)
                logger = self.client.logger
                raise _logger_error(
                    logger if logger and logger not in wire.WRITE_LOGGERS else "?"
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
        return {"request_id": request_id, "register": address, "values": list(values)}

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
