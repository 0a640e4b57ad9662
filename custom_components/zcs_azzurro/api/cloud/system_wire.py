"""Every ASSUMED wire detail of the Azzurro System API, in one place.

ZCS hands the API document out with the token; no public copy exists (research/cloud_api.md
Part 2). What is KNOWN (ZCS's guide §6.2): POST calls with a token; realtime, historic (about
6 days per request at most, wait at least 10 s), alarm realtime and alarm historic; register
writes whose result ZCS POSTs later, as JSON, to a callback URL the caller gives; writes only
for inverters behind ZSM-WIFI-USB or ZSM-ETH-USB loggers.

Everything else below is a GUESS, marked ASSUMED with why. When the real document differs,
change it here (and the field names in system_fields.yaml): the client, the simulator and
the webhook read these names only from this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

# ASSUMED: an API host of its own beside the web app www.zcsazzurrosystemsweb.com, as the
# Portal's API has (third.zcsazzurroportal.com). An advanced field of the flow overrides it.
BASE_URL: Final = "https://api.zcsazzurrosystemsweb.com/"
# ASSUMED: the token as a bearer token (the web app's own session API uses this header).
AUTH_HEADER: Final = "Authorization"
AUTH_SCHEME: Final = "Bearer "
# ASSUMED: one path per call, each a POST (KNOWN: the calls are POSTs).
PATH_REALTIME: Final = "realtime"
PATH_HISTORIC: Final = "historic"
PATH_ALARMS: Final = "alarmRealtime"
PATH_HISTORIC_ALARMS: Final = "alarmHistoric"
PATH_WRITE: Final = "write"
# ASSUMED: every request names the plant and the device (the inverter's serial).
PLANT: Final = "plantId"
DEVICE: Final = "deviceId"
# ASSUMED: a span as ISO-8601 UTC times; KNOWN: at most about 6 days (we ask for 5 at most,
# so that "about" never bites) and a timeout of at least 10 s.
START: Final = "from"
END: Final = "to"
MAX_SPAN: Final = timedelta(days=5)
MIN_TIMEOUT: Final = 10.0
# ASSUMED: answers are {"success": bool, "data": {...}}; a refusal names an error code.
SUCCESS: Final = "success"
DATA: Final = "data"
ERROR: Final = "error"
# ASSUMED: the code of a device the plant does not hold or that sends nothing.
ERROR_NO_DEVICE: Final = "DEVICE_NOT_FOUND"
# ASSUMED: the code of a write refused because the logger is not a ZSM-WIFI-USB/ETH-USB.
ERROR_LOGGER: Final = "LOGGER_NOT_SUPPORTED"
# ASSUMED: realtime data carries when the device last reported and through which logger.
LAST_UPDATE: Final = "lastUpdate"
LOGGER_MODEL: Final = "loggerModel"
# KNOWN: writes work only behind these loggers.
WRITE_LOGGERS: Final = frozenset({"ZSM-WIFI-USB", "ZSM-ETH-USB"})
# ASSUMED: historic data as index-aligned lists beside a list of times.
TIMES: Final = "ts"
# ASSUMED: the active alarms as a list of integer codes (as the Portal sends them).
ALARMS: Final = "alarms"
# ASSUMED: a write names the first register and the words from it (one for a single
# register), the callback URL, and an id of ours that the callback repeats.
REGISTER: Final = "register"
VALUES: Final = "values"
CALLBACK_URL: Final = "callbackUrl"
REQUEST_ID: Final = "requestId"
# ASSUMED: the callback repeats requestId, deviceId and register, and says "ok" or "error".
RESULT: Final = "result"
RESULT_OK: Final = "ok"
RESULT_ERROR: Final = "error"

_TS: Final = "%Y-%m-%dT%H:%M:%SZ"


def timestamp(moment: datetime) -> str:
    """A time as the API is assumed to take it."""
    return moment.astimezone(UTC).strftime(_TS)


def read_request(
    plant: str, device: str, span: tuple[datetime, datetime] | None = None
) -> dict[str, str]:
    """The body of a realtime, historic or alarm call."""
    body = {PLANT: plant, DEVICE: device}
    if span is not None:
        body |= {START: timestamp(span[0]), END: timestamp(span[1])}
    return body


def write_request(
    plant: str, device: str, register: int, values: list[int], *, callback_url: str, request_id: str
) -> dict[str, Any]:
    """The body of a register write."""
    return {
        PLANT: plant,
        DEVICE: device,
        REGISTER: register,
        VALUES: list(values),
        CALLBACK_URL: callback_url,
        REQUEST_ID: request_id,
    }


@dataclass(frozen=True)
class Callback:
    """What ZCS POSTs back once a write is done (or failed)."""

    request_id: str
    device: str
    register: int
    ok: bool
    error: str | None = None


def parse_callback(body: object) -> Callback | None:
    """The callback, or None when the body is not one (malformed: refused)."""
    if not isinstance(body, Mapping):
        return None
    request_id, device, register = body.get(REQUEST_ID), body.get(DEVICE), body.get(REGISTER)
    result, error = body.get(RESULT), body.get(ERROR)
    if (
        not isinstance(request_id, str)
        or not isinstance(device, str)
        or type(register) is not int
        or result not in (RESULT_OK, RESULT_ERROR)
        or not (error is None or isinstance(error, str))
    ):
        return None
    return Callback(request_id, device, register, result == RESULT_OK, error)


def callback_body(callback: Callback) -> dict[str, Any]:
    """A callback as ZCS is assumed to send it (for the simulator)."""
    body: dict[str, Any] = {
        REQUEST_ID: callback.request_id,
        DEVICE: callback.device,
        REGISTER: callback.register,
        RESULT: RESULT_OK if callback.ok else RESULT_ERROR,
    }
    if callback.error is not None:
        body[ERROR] = callback.error
    return body
