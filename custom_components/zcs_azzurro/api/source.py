"""What the coordinator polls: a source of readings, local device or cloud alike."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Protocol

from .device import Reading
from .profile.schema import Profile


class Source(Protocol):
    """Yields values keyed by the profile's field keys; ModbusDevice is one."""

    profile: Profile

    async def read(self, keys: Iterable[str]) -> Reading:
        """The fields with these keys; a value the source cannot vouch for is None."""
        ...


class SourceError(Exception):
    """A source gave no reading; `reason` is the translation key of what the user reads."""

    reason: ClassVar[str]


class SourceAuthError(SourceError):
    """The source refused the credentials: the user must enter them again."""
