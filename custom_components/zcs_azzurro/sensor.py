"""Sensors: every profile field shown on the sensor platform."""

from __future__ import annotations

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorExtraStoredData,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .api.profile.schema import Field, Presentation
from .const import CONF_LINK, LINK_PLANT
from .coordinator import ZcsConfigEntry
from .entity import ZcsEntity
from .pack import async_add_pack_sensors
from .plant_entity import async_add_sensors

# Read-only: the coordinator does the polling.
PARALLEL_UPDATES = 0


def describe(field: Field, shown: Presentation) -> SensorEntityDescription:
    """The entity description a profile field asks for."""
    return SensorEntityDescription(
        key=field.key,
        translation_key=field.key,
        device_class=SensorDeviceClass(shown.device_class) if shown.device_class else None,
        state_class=SensorStateClass(shown.state_class) if shown.state_class else None,
        native_unit_of_measurement=shown.unit,
        suggested_display_precision=shown.precision,
        entity_registry_enabled_default=shown.enabled,
        entity_category=EntityCategory(shown.category) if shown.category else None,
        options=list(field.options.values()) if field.options else None,
    )


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ZcsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a sensor for each sensor field of the entry's profile.

    A field of a part the device may lack (a second battery tower) gets its sensor once the
    device reports the part: at setup if it does, or at the first poll that says so.
    """
    if entry.data[CONF_LINK] == LINK_PLANT:
        async_add_sensors(entry, async_add_entities)  # type: ignore[arg-type]
        return
    coordinator = entry.runtime_data.coordinator
    fields = list(coordinator.device.profile.entities(Platform.SENSOR))

    @callback
    def add_reported() -> None:
        nonlocal fields
        shown_now = [(field, shown) for field, shown in fields if coordinator.shows(field.key)]
        if not shown_now:
            return
        fields = [item for item in fields if item not in shown_now]
        async_add_entities(
            (ZcsCounterSensor if field.counter else ZcsSensor)(coordinator, describe(field, shown))
            for field, shown in shown_now
        )

    add_reported()
    if fields:
        entry.async_on_unload(coordinator.async_add_listener(add_reported))
    async_add_pack_sensors(entry, async_add_entities)


class ZcsSensor(ZcsEntity, SensorEntity):
    """A number, or an enum option, read from the device."""

    @property
    def native_value(self) -> StateType:
        """The decoded value (sensor fields decode to numbers or option names)."""
        value = self.device_value
        return value if isinstance(value, int | float | str) else None


class ZcsCounterSensor(ZcsSensor, RestoreSensor):
    """An energy counter; its last value is stored for the guard to check after a restart."""

    @property
    def extra_restore_state_data(self) -> SensorExtraStoredData:
        """The shown value; while none is shown, the last the guard accepted.

        Otherwise a restart while the counter is unavailable (say, twice in one night with
        the inverter asleep) would store nothing, and the next reading would go unchecked.
        """
        stored = super().extra_restore_state_data
        if stored.native_value is None:
            stored.native_value = self.coordinator.guard.last(self.entity_description.key)
        return stored
