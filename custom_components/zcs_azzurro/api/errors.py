"""What the device layer raises, by what the caller can do about it."""

from __future__ import annotations

from collections.abc import Mapping


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


class BusyError(LinkError):
    """The request outlived its deadline: the device kept answering busy (0x06).

    Home Assistant's shared connection asks a busy device again, for up to a minute per
    request; the link gives up at its deadline instead, which no request outlives that got
    an answer or a timeout (the other way past it: others' requests holding the shared
    connection that long).
    """

    exception_code = 0x06

    def __init__(self, function_code: int, seconds: float) -> None:
        """Keep the function asked, as a DeviceError does."""
        super().__init__(f"function {function_code:#04x}: no answer but busy within {seconds:g} s")
        self.function_code = function_code


class UnconfirmedError(LinkError):
    """A write went out, but no answer to it could be read: what the device did is unknown.

    Real sticks answer writes in their own ways: the Solarman LSE-3 (ZCS's ZSM-ETH-USB)
    applies a write-multiple and answers `10 00` where the echo belongs (evcc-io/evcc#33016).
    An answer cut short or empty, another request's echo, a damaged frame, none in time, or
    the connection lost once the request was sent: the device may hold the new values or
    not, and only reading them back tells. Only an exception the device answered (a
    DeviceError) is a refusal. `cause` is what the link met.
    """

    def __init__(self, function_code: int, cause: LinkError) -> None:
        """Keep the function sent and what became of its answer."""
        super().__init__(f"function {function_code:#04x} sent; its answer: {cause}")
        self.function_code = function_code
        self.cause = cause


class WrongLoggerError(LinkError):
    """A Solarman logger answered, but under another serial than the one it was asked by.

    The serial given is not this logger's: the one on its label (not the inverter's) is.
    """

    def __init__(self, asked: int, answered: int) -> None:
        """Keep both serials."""
        # The message names neither: serials are the owner's (diagnostics show messages).
        super().__init__("another logger answered than the one asked")
        self.asked = asked
        self.answered = answered


# What a link raises before a request leaves it: nothing reached the device.
NOT_SENT: tuple[type[LinkError], ...] = (ConnectError, InvalidHostError, WrongLoggerError)


def unconfirmed(function_code: int, err: LinkError) -> LinkError:
    """A write's link error, as the writer must take it: "outcome unknown" once it went out."""
    return err if isinstance(err, NOT_SENT) else UnconfirmedError(function_code, err)


# The Modbus exception code for an address the device does not serve.
ILLEGAL_ADDRESS = 0x02
# ... and for a function it (or the link to it) does not carry.
ILLEGAL_FUNCTION = 0x01
# ... and for a value it does not take: to a read, a register count longer than it serves.
ILLEGAL_VALUE = 0x03


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
        self.problem = message


class WriteError(ZcsError):
    """A setting was not written, or not as asked; `group` names the write group."""

    def __init__(self, group: str, message: str) -> None:
        """Say which group, and what went wrong."""
        super().__init__(f"{group}: {message}")
        self.group = group


class InvalidValueError(WriteError):
    """A value the profile does not allow for the field; nothing was sent.

    `allowed` says what the field takes, as text for people (a range and step, or options).
    """

    def __init__(self, group: str, key: str, value: object, allowed: str) -> None:
        """Keep the field, the value refused and what is allowed."""
        super().__init__(group, f"{key} takes {allowed}, not {value!r}")
        self.key = key
        self.value = value
        self.allowed = allowed


class WriteRefusedError(WriteError):
    """The device answered the write with a Modbus exception; nothing changed."""

    def __init__(self, group: str, function_code: int, exception_code: int) -> None:
        """Keep the codes the device answered with."""
        super().__init__(
            group, f"refused with exception {exception_code:#04x} to function {function_code:#04x}"
        )
        self.function_code = function_code
        self.exception_code = exception_code


class CommitError(WriteError):
    """The group's commit register reads a result code that means the write failed."""

    def __init__(self, group: str, code: int) -> None:
        """Keep the result code."""
        super().__init__(group, f"commit result code {code:#06x}")
        self.code = code


class ReadBackError(WriteError):
    """The write was sent, but the group reads back otherwise than written.

    `held` is what the device holds now for each field (by key) or register (by its
    address in hex) that differs: the asked ones it did not take, or others it changed.
    """

    def __init__(self, group: str, held: Mapping[str, object]) -> None:
        """Keep what the registers that differ hold."""
        super().__init__(
            group, "reads back " + ", ".join(f"{key}={value}" for key, value in held.items())
        )
        self.keys = tuple(held)
        self.held = dict(held)


class UnsettledError(WriteError):
    """Reads of the group did not agree twice in a row: what it holds is not known.

    The rest of a group is sent back only as the device holds it, so nothing was sent.
    (After a write, the same makes its outcome unknown: an OutcomeUnknownError.)
    """

    def __init__(self, group: str) -> None:
        """Name the group."""
        super().__init__(group, "reads of the group did not agree")


class HeldValueError(WriteError):
    """A setting written back with the group reads a value it cannot take; nothing was sent.

    The device may hold it (set on its display, or by firmware this profile does not know),
    or the answer was damaged: either way it is not sent back into the device's memory.
    """

    def __init__(self, group: str, key: str, value: object, allowed: str) -> None:
        """Keep the setting, what it reads and what it takes."""
        super().__init__(group, f"{key} reads {value!r}, outside {allowed}; nothing was sent")
        self.key = key
        self.value = value
        self.allowed = allowed


class OutcomeUnknownError(WriteError):
    """The write went out, but neither its answer nor a read-back could be read.

    The device may hold the new values or the old ones; the next reading tells.
    """

    def __init__(self, group: str, cause: ZcsError) -> None:
        """Keep why the group could not be read back."""
        super().__init__(group, f"sent; its answer and the read-back unreadable: {cause}")
        self.cause = cause


class TooSoonError(WriteError):
    """The group lives in EEPROM and was written less than the minimum interval ago."""

    def __init__(self, group: str, wait: float) -> None:
        """Keep how long until the group may be written again (s)."""
        super().__init__(group, f"written too recently; try again in {wait:.0f} s")
        self.wait = wait
