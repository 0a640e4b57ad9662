"""Selects: the settings of the profile that take one of a list (modes)."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api.profile.schema import Field, Presentation
from .coordinator import ZcsConfigEntry
from .entity import ZcsEntity

# Writes are queued by the coordinator's writer, one at a time per device.
PARALLEL_UPDATES = 0


def describe(field: Field, shown: Presentation) -> SelectEntityDescription:
    """The entity description a writable profile field with options asks for."""
    return SelectEntityDescription(
        key=field.key,
        translation_key=field.key,
        options=list((field.options or {}).values()),
        entity_category=EntityCategory.CONFIG,
        entity_registry_enabled_default=shown.enabled,
    )


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ZcsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a select for each select field of the entry's profile."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(
        ZcsSelect(coordinator, describe(field, shown))
        for field, shown in coordinator.device.profile.entities(Platform.SELECT)
    )


class ZcsSelect(ZcsEntity, SelectEntity):
    """A setting the device holds as one of its options."""

    @property
    def current_option(self) -> str | None:
        """The option the device holds."""
        value = self.device_value
        return value if isinstance(value, str) else None

    async def async_select_option(self, option: str) -> None:
        """Write the option; the entity then shows what the device holds."""
        await self.coordinator.async_write({self.entity_description.key: option})
