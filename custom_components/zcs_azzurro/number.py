"""Numbers: the settings of the profile written as a number (limits, depths, set-points)."""

from __future__ import annotations

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
)
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api.profile.schema import Field, Presentation
from .const import CONF_LINK, LINK_PLANT
from .coordinator import ZcsConfigEntry
from .entity import ZcsEntity
from .plant_entity import async_add_numbers

# Writes are queued by the coordinator's writer, one at a time per device.
PARALLEL_UPDATES = 0


def describe(field: Field, shown: Presentation) -> NumberEntityDescription:
    """The entity description a writable profile field asks for."""
    assert field.write is not None  # the loader made sure
    low, high = field.write.range or (0.0, 0.0)
    return NumberEntityDescription(
        key=field.key,
        translation_key=field.key,
        device_class=NumberDeviceClass(shown.device_class) if shown.device_class else None,
        native_unit_of_measurement=shown.unit,
        native_min_value=low,
        native_max_value=high,
        native_step=field.write.step,
        entity_category=EntityCategory.CONFIG,
        entity_registry_enabled_default=shown.enabled,
    )


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ZcsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a number for each number field of the entry's profile."""
    if entry.data[CONF_LINK] == LINK_PLANT:
        async_add_numbers(entry, async_add_entities)  # type: ignore[arg-type]
        return
    coordinator = entry.runtime_data.coordinator
    async_add_entities(
        ZcsNumber(coordinator, describe(field, shown))
        for field, shown in coordinator.device.profile.entities(Platform.NUMBER)
    )


class ZcsNumber(ZcsEntity, NumberEntity):
    """A setting the device holds as a number."""

    @property
    def native_max_value(self) -> float:
        """The range's top, or what the device (or its plant) is rated for if less."""
        top = super().native_max_value
        bound = self.coordinator.bound(self.entity_description.key)
        return top if bound is None else min(top, bound)

    @property
    def native_value(self) -> float | None:
        """What the device holds."""
        value = self.device_value
        return value if isinstance(value, int | float) else None

    async def async_set_native_value(self, value: float) -> None:
        """Write the value; the entity then shows what the device holds."""
        await self.coordinator.async_write(
            {self.entity_description.key: int(value) if value.is_integer() else value}
        )
