"""Switches: the settings of the profile that are truly on or off."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api.profile.schema import Field, Presentation
from .coordinator import ZcsConfigEntry
from .entity import ZcsEntity

# Writes are queued by the coordinator's writer, one at a time per device.
PARALLEL_UPDATES = 0

# A switch field's two options (the loader makes sure they are these).
OFF, ON = "off", "on"


def describe(field: Field, shown: Presentation) -> SwitchEntityDescription:
    """The entity description an on/off profile field asks for."""
    return SwitchEntityDescription(
        key=field.key,
        translation_key=field.key,
        entity_category=EntityCategory.CONFIG,
        entity_registry_enabled_default=shown.enabled,
    )


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ZcsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a switch for each switch field of the entry's profile."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(
        ZcsSwitch(coordinator, describe(field, shown))
        for field, shown in coordinator.device.profile.entities(Platform.SWITCH)
    )


class ZcsSwitch(ZcsEntity, SwitchEntity):
    """A setting the device holds as off or on."""

    @property
    def is_on(self) -> bool | None:
        """Whether the device holds "on"; None when not known."""
        value = self.device_value
        return None if value is None else value == ON

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Write on; the entity then shows what the device holds."""
        await self.coordinator.async_write({self.entity_description.key: ON})

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Write off; the entity then shows what the device holds."""
        await self.coordinator.async_write({self.entity_description.key: OFF})
