"""Buttons: write groups a press writes whole, such as the inverter's clock."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api.profile.schema import GroupKind
from .coordinator import ZcsConfigEntry
from .entity import ZcsEntity

# Writes are queued by the coordinator's writer, one at a time per device.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ZcsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a button for each clock group of the entry's profile."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(
        ZcsClockButton(
            coordinator,
            ButtonEntityDescription(
                key=group.key, translation_key=group.key, entity_category=EntityCategory.CONFIG
            ),
        )
        for group in coordinator.device.profile.groups
        if group.kind is GroupKind.CLOCK
    )


class ZcsClockButton(ZcsEntity, ButtonEntity):
    """Sets the device's clock to Home Assistant's time."""

    @property
    def available(self) -> bool:
        """Pressable whenever the device answers (a button shows no value)."""
        return self.coordinator.last_update_success

    async def async_press(self) -> None:
        """Write the clock group with the time now."""
        await self.coordinator.async_set_clock(self.entity_description.key)
