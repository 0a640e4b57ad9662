"""The bundled profiles, read from disk once per Home Assistant instance."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.util.hass_dict import HassKey

from .api.profile.loader import load_bundled
from .api.profile.schema import Profile
from .const import DOMAIN

_PROFILES: HassKey[tuple[Profile, ...]] = HassKey(f"{DOMAIN}_profiles")


async def async_get_profiles(hass: HomeAssistant) -> tuple[Profile, ...]:
    """Every bundled profile; the files are read in the executor the first time."""
    if (profiles := hass.data.get(_PROFILES)) is None:
        profiles = hass.data[_PROFILES] = await hass.async_add_executor_job(load_bundled)
    return profiles


async def async_get_profile(hass: HomeAssistant, profile_id: str) -> Profile | None:
    """The bundled profile with this id."""
    return next((p for p in await async_get_profiles(hass) if p.id == profile_id), None)
