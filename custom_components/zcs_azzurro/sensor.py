"""Sensors: every profile field shown on the sensor platform."""

from __future__ import annotations

from datetime import datetime

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

from .alarms import (
    ACTIVE_FAULT_KEY,
    FAULT_KEY,
    NO_FAULT,
    active_fault,
    display_id,
    fault_ids,
    fault_state,
    fault_texts_of,
)
from .api.profile.schema import Field, Presentation, Profile
from .battery import MODE_END, MODE_WRITES, STORAGE_WRITES, BatteryControl
from .const import CONF_LINK, LINK_PLANT
from .coordinator import ZcsConfigEntry
from .entity import BatteryControlEntity, ZcsEntity, sensor_description
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


def describe_fault(profile: Profile) -> SensorEntityDescription | None:
    """The Active fault sensor of a profile whose fault IDs have texts: an ID's text shows."""
    texts = fault_texts_of(profile)
    if texts is None:
        return None
    return SensorEntityDescription(
        key=ACTIVE_FAULT_KEY,
        translation_key=texts,
        device_class=SensorDeviceClass.ENUM,
        options=[NO_FAULT, *map(fault_state, fault_ids(profile))],
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
    if (texts := describe_fault(coordinator.device.profile)) is not None:
        async_add_entities([ZcsFaultSensor(coordinator, texts, FAULT_KEY)])

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
    if (control := entry.runtime_data.battery) is not None:
        async_add_entities(
            [
                BatteryModeEndSensor(control, BATTERY_MODE_END),
                BatteryWritesToSensor(control, BATTERY_MODE_WRITES),
                StorageWritesSensor(control, STORAGE_MODE_WRITES),
            ]
        )


BATTERY_MODE_END = sensor_description(MODE_END, device_class=SensorDeviceClass.TIMESTAMP)
# What a change of battery mode writes: RAM only ("stay in passive mode"), or the storage
# mode (EEPROM) when it goes from or back to self use.
RAM_ONLY = "ram_only"
STORAGE_MODE_TOO = "storage_mode"
BATTERY_MODE_WRITES = sensor_description(
    MODE_WRITES,
    device_class=SensorDeviceClass.ENUM,
    options=[RAM_ONLY, STORAGE_MODE_TOO],
    entity_category=EntityCategory.DIAGNOSTIC,
)
STORAGE_MODE_WRITES = sensor_description(
    STORAGE_WRITES,
    state_class=SensorStateClass.TOTAL_INCREASING,
    entity_category=EntityCategory.DIAGNOSTIC,
)


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


class BatteryModeEndSensor(BatteryControlEntity, SensorEntity):
    """When the battery mode asked for a while ends (then the one before comes back)."""

    control: BatteryControl

    @property
    def native_value(self) -> datetime | None:
        """The end; unknown while the mode lasts until changed."""
        return self.control.until if self.control.episode else None


class BatteryWritesToSensor(BatteryControlEntity, SensorEntity):
    """Whether a change of battery mode writes RAM only, or the storage mode (EEPROM) too."""

    control: BatteryControl
    follows_device = False

    @property
    def native_value(self) -> str:
        """RAM only with "stay in passive mode"; else the storage mode too."""
        return RAM_ONLY if self.control.stay_in_passive else STORAGE_MODE_TOO


class StorageWritesSensor(BatteryControlEntity, SensorEntity):
    """How often battery control has written the inverter's permanent memory (EEPROM)."""

    control: BatteryControl
    follows_device = False

    @property
    def native_value(self) -> int:
        """Writes of the storage mode and of the passive timeout, since it was set up."""
        return self.control.storage_writes


class ZcsFaultSensor(ZcsEntity, SensorEntity):
    """The lowest active fault ID of the fault field, shown as its text; all as `codes`."""

    @property
    def native_value(self) -> str | None:
        """No fault, or the first active one."""
        codes = self.device_value
        if not isinstance(codes, tuple):
            return None
        return active_fault(codes)

    @property
    def extra_state_attributes(self) -> dict[str, list[str]]:
        """Every active fault ID, as the inverter's display writes them."""
        codes = self.device_value
        return {"codes": list(map(display_id, codes)) if isinstance(codes, tuple) else []}
