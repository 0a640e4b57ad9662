"""tmodbus's warnings for failures our links handle, logged at debug instead.

A stick answering a burst of garbage, a Modbus TCP answer to a request that timed out, a
stick resetting the connection: tmodbus warns (or errs) about each, and our link already
turns each into a failed poll and heals on the next one. A user reads one line from us
when the device goes away and one when it is back; the library's view stays in the debug
log, where "Enable debug logging" on this integration shows it (the manifest lists
tmodbus among its loggers).

tmodbus's records name no endpoint, so they are told apart by context: a connection's
callbacks run in a copy of the context that opened it, and our links open theirs inside
a request (`IN_LINK_REQUEST`). A connection another integration opened keeps its
warnings, also while we share it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from homeassistant.core import HomeAssistant, callback
from homeassistant.util.hass_dict import HassKey

from .api.transport.unit import IN_LINK_REQUEST
from .const import DOMAIN

# Logger -> the messages (format strings, as tmodbus 0.6.2 writes them) of the failures
# our links handle: garbage or a bad CRC (resynchronising), an answer that came after its
# request gave up, and a connection the other end reset.
HANDLED: dict[str, frozenset[str]] = {
    "tmodbus.transport.async_rtu": frozenset(
        {
            "Discarding %d byte(s) in %d step(s) to resynchronize.",
            "Received data with no pending requests. Discarding %d bytes: %s",
            "Async Serial connection lost due to error: %s",
        }
    ),
    "tmodbus.transport.async_tcp": frozenset(
        {
            "Received unexpected response with Transaction ID: %d. Discarding bytes: %s",
            "Async TCP connection lost due to error: %s",
        }
    ),
}


class HandledFailureFilter(logging.Filter):
    """Drops a handled failure's warning and logs it again, at debug, from the same logger.

    A filter cannot lower a record's level in place: the logger's level check is behind
    it, and Home Assistant's handlers would print a record relabelled DEBUG all the same.
    Logged again, the record obeys the logger's own level like any debug line.
    """

    def __init__(self, logger: logging.Logger, messages: frozenset[str]) -> None:
        """Watch `logger` for `messages`."""
        super().__init__()
        self._logger = logger
        self._messages = messages

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether the record goes on as it is."""
        if (
            record.levelno <= logging.DEBUG
            or record.msg not in self._messages
            or not IN_LINK_REQUEST.get()
        ):
            return True
        if self._logger.isEnabledFor(logging.DEBUG):
            quiet = logging.makeLogRecord(record.__dict__)
            quiet.levelno, quiet.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
            self._logger.handle(quiet)
        return False


_HOLDERS: HassKey[set[object]] = HassKey(f"{DOMAIN}_quiet_logs")
_FILTERS = {name: HandledFailureFilter(logging.getLogger(name), m) for name, m in HANDLED.items()}


@callback
def async_hold_quiet_logs(hass: HomeAssistant) -> Callable[[], None]:
    """Keep the filters on while a link of ours is held; call back to let go.

    The last holder to let go removes them: nothing of ours stays in a library's logger.
    """
    holders = hass.data.setdefault(_HOLDERS, set())
    if not holders:
        for name, log_filter in _FILTERS.items():
            logging.getLogger(name).addFilter(log_filter)
    holder = object()
    holders.add(holder)

    @callback
    def release() -> None:
        holders.discard(holder)
        if not holders:
            for name, log_filter in _FILTERS.items():
                logging.getLogger(name).removeFilter(log_filter)

    return release
