"""Binary sensors: fault words shown as one problem sensor with the active fault codes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .alarms import display_id
from .api.profile.schema import Field, Presentation, Value
from .coordinator import ZcsConfigEntry
from .entity import ZcsEntity

PARALLEL_UPDATES = 0


def _codes(value: Value | None) -> tuple[int, ...]:
    return value if isinstance(value, tuple) else ()


@dataclass(frozen=True, kw_only=True)
class ZcsBinarySensorEntityDescription(BinarySensorEntityDescription):
    """A bit field: on while any bit is set; the set bits are its codes."""

    is_on_fn: Callable[[Value | None], bool] = lambda value: bool(_codes(value))
    attributes_fn: Callable[[Value | None], Mapping[str, Any]] = lambda value: {
        "codes": list(map(display_id, _codes(value)))
    }


def describe(field: Field, shown: Presentation) -> ZcsBinarySensorEntityDescription:
    """The entity description a profile field asks for."""
    return ZcsBinarySensorEntityDescription(
        key=field.key,
        translation_key=field.key,
        device_class=BinarySensorDeviceClass(shown.device_class) if shown.device_class else None,
        entity_registry_enabled_default=shown.enabled,
    )


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ZcsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a binary sensor for each binary_sensor field of the entry's profile."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(
        ZcsBinarySensor(coordinator, describe(field, shown))
        for field, shown in coordinator.device.profile.entities(Platform.BINARY_SENSOR)
    )


class ZcsBinarySensor(ZcsEntity, BinarySensorEntity):
    """On while the device reports any of the field's conditions."""

    entity_description: ZcsBinarySensorEntityDescription

    @property
    def is_on(self) -> bool:
        """Whether any condition is active."""
        return self.entity_description.is_on_fn(self.device_value)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """Which conditions are active."""
        return self.entity_description.attributes_fn(self.device_value)
