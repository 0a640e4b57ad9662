"""The profiles: the bundled ones, and the user's own from <config>/zcs_azzurro/profiles/."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util.hass_dict import HassKey

from .api.errors import ProfileError
from .api.profile.loader import load_bundled, load_user
from .api.profile.schema import Profile
from .const import DOMAIN

_BUNDLED: HassKey[tuple[Profile, ...]] = HassKey(f"{DOMAIN}_profiles")


@dataclass(frozen=True)
class Loaded:
    """Every profile that loaded, and the error of each user file that did not."""

    profiles: tuple[Profile, ...]
    errors: tuple[ProfileError, ...]

    def error(self, profile_id: str) -> ProfileError | None:
        """Why the user's profile with this id (file <id>.yaml) did not load, if it did not."""
        return next((e for e in self.errors if Path(e.source).stem == profile_id), None)


def user_directory(hass: HomeAssistant) -> Path:
    """Where the user keeps profiles of their own."""
    return Path(hass.config.path(DOMAIN, "profiles"))


def _load(hass: HomeAssistant, bundled: tuple[Profile, ...]) -> Loaded:
    user, errors = load_user(user_directory(hass), frozenset(p.id for p in bundled))
    return Loaded(bundled + user, errors)


async def async_get_bundled(hass: HomeAssistant) -> tuple[Profile, ...]:
    """The profiles that ship with the integration, read once per Home Assistant instance."""
    if (bundled := hass.data.get(_BUNDLED)) is None:
        bundled = hass.data[_BUNDLED] = await hass.async_add_executor_job(load_bundled)
    return bundled


async def async_load(hass: HomeAssistant) -> Loaded:
    """Every profile, and the errors of the user's files, read in the executor.

    The user's files are read each time, so that a file added or fixed counts without a
    restart.
    """
    return await hass.async_add_executor_job(_load, hass, await async_get_bundled(hass))


async def async_get_profiles(hass: HomeAssistant) -> tuple[Profile, ...]:
    """Every profile that loaded: the bundled ones first, then the user's."""
    return (await async_load(hass)).profiles


async def async_get_bundled_profile(hass: HomeAssistant, profile_id: str) -> Profile:
    """The bundled profile with this id (the System's register map: no user file changes it)."""
    return next(p for p in await async_get_bundled(hass) if p.id == profile_id)


def error_placeholders(error: ProfileError) -> dict[str, str]:
    """What a message about a bad profile file shows: file, line, field and the problem."""
    return {
        "file": error.source,
        "line": str(error.line) if error.line is not None else "-",
        "field": error.field,
        "problem": error.problem,
    }


def issue_id(entry_id: str) -> str:
    """The repair issue of an entry whose profile file is not valid."""
    return f"profile_invalid_{entry_id}"


def async_report(hass: HomeAssistant, entry_id: str, error: ProfileError | None) -> None:
    """Raise the entry's repair issue for its bad profile file, or clear it."""
    if error is None:
        ir.async_delete_issue(hass, DOMAIN, issue_id(entry_id))
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(entry_id),
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="profile_invalid",
        translation_placeholders=error_placeholders(error),
    )
