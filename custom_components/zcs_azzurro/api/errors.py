"""What the device layer raises, by what the caller can do about it."""

from __future__ import annotations


class ZcsError(Exception):
    """Base of every error raised by this package."""


class LinkError(ZcsError):
    """The link to the device failed; the next request starts on a fresh connection."""


class InvalidHostError(LinkError):
    """The host name is malformed or does not resolve."""


class ConnectError(LinkError):
    """Nothing accepted a connection at the endpoint."""


class ConnectionLostError(LinkError):
    """The peer closed the connection before it answered."""


class NoResponseError(LinkError):
    """The endpoint took the request but nothing answered in time.

    Behind a logger stick this is the inverter being silent (asleep, or unit id wrong).
    """


class FrameError(LinkError):
    """Bytes came back, but not a valid answer to the request."""


# The Modbus exception code for an address the device does not serve.
ILLEGAL_ADDRESS = 0x02


class DeviceError(ZcsError):
    """The device answered with a Modbus exception."""

    def __init__(self, function_code: int, exception_code: int) -> None:
        """Keep the codes: ILLEGAL_ADDRESS means the device does not serve those registers."""
        super().__init__(f"Modbus exception {exception_code:#04x} to function {function_code:#04x}")
        self.function_code = function_code
        self.exception_code = exception_code


class IdentifyError(ZcsError):
    """The device answered, but it is not one this package can read."""


class NotZcsDeviceError(IdentifyError):
    """No ZCS serial number where ZCS devices keep it."""


class UnsupportedModelError(IdentifyError):
    """A ZCS serial number whose model no profile covers."""

    def __init__(self, serial: str) -> None:
        """Keep the serial number: its prefix names the model."""
        super().__init__(f"No profile covers serial number {serial}")
        self.serial = serial


class ProfileError(ZcsError):
    """A profile file is not valid; names the file, line and field."""

    def __init__(self, source: str, line: int | None, field: str, message: str) -> None:
        """Build 'file:line: field: message'."""
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {field}: {message}")
        self.source = source
        self.line = line
        self.field = field
