"""Battery packs as devices: each pack the BMS window shows has a device of its own.

A pack's device is connected through its inverter's, named by its place (battery input and
pack), and carries the pack's serial once read. Its sensors appear when the pack is first
read (api/bms.py; the coordinator reads one pack per turn of the window).
"""

from __future__ import annotations

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfTemperature,
)
from homeassistant.core import callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .api.bms import PackId
from .const import DOMAIN
from .coordinator import ZcsConfigEntry, ZcsCoordinator
from .entity import sensor_description

AMPERE_HOUR = "Ah"


TEMPERATURE = {
    "device_class": SensorDeviceClass.TEMPERATURE,
    "state_class": SensorStateClass.MEASUREMENT,
    "native_unit_of_measurement": UnitOfTemperature.CELSIUS,
    "suggested_display_precision": 1,
}
CELL = {
    "device_class": SensorDeviceClass.VOLTAGE,
    "state_class": SensorStateClass.MEASUREMENT,
    "native_unit_of_measurement": UnitOfElectricPotential.VOLT,
    "suggested_display_precision": 3,
}
CAPACITY = {
    "state_class": SensorStateClass.MEASUREMENT,
    "native_unit_of_measurement": AMPERE_HOUR,
    "suggested_display_precision": 1,
    "entity_category": EntityCategory.DIAGNOSTIC,
}
_sensor = sensor_description


PACK_SENSORS = (
    _sensor(
        "pack_soc",
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
    ),
    _sensor(
        "pack_soh",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
    _sensor("pack_cell_voltage_max", **CELL),
    _sensor("pack_cell_voltage_min", **CELL),
    _sensor("pack_temperature_max", **TEMPERATURE),
    _sensor("pack_temperature_min", **TEMPERATURE),
    _sensor("pack_mos_temperature", **TEMPERATURE, entity_registry_enabled_default=False),
    _sensor(
        "pack_current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
    ),
    _sensor("pack_remaining_capacity", **CAPACITY),
    _sensor("pack_full_capacity", **CAPACITY),
    # Cycles as a measurement: a damaged answer read lower would be taken for a new
    # meter by a total's statistics; the BMS's count is shown as it reads.
    _sensor(
        "pack_cycles",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
)
PACK_SERIAL = "pack_serial"
# The pack device's name: its inverter's, battery input and pack (translated).
PACK_DEVICE = "battery_pack"


def pack_identifier(coordinator: ZcsCoordinator, pack: PackId) -> tuple[str, str]:
    """The pack's device identifier: its inverter's serial and its place."""
    return (DOMAIN, f"{coordinator.serial}_pack_{pack.battery + 1}_{pack.pack + 1}")


class PackSensor(CoordinatorEntity[ZcsCoordinator], SensorEntity):
    """One value of one battery pack, on the pack's device."""

    _attr_has_entity_name = True

    def __init__(
        self, coordinator: ZcsCoordinator, pack: PackId, description: SensorEntityDescription
    ) -> None:
        """The pack's device, connected through the inverter's."""
        super().__init__(coordinator)
        self.pack = pack
        self.entity_description = description
        battery, number = pack.battery + 1, pack.pack + 1
        self._attr_unique_id = f"{coordinator.serial}_pack_{battery}_{number}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={pack_identifier(coordinator, pack)},
            via_device_id=coordinator.device_id,
            manufacturer=coordinator.device.profile.manufacturer,
            translation_key=PACK_DEVICE,
            translation_placeholders={
                "title": coordinator.config_entry.title,
                "battery": str(battery),
                "pack": str(number),
            },
        )

    @property
    def native_value(self) -> StateType:
        """The pack's value, as last read."""
        value = self.coordinator.packs.get(self.pack, {}).get(self.entity_description.key)
        return value if isinstance(value, int | float | str) else None

    @property
    def available(self) -> bool:
        """A pack not read, or read badly, has no value: unavailable, never 0."""
        return super().available and self.native_value is not None


@callback
def async_add_pack_sensors(entry: ZcsConfigEntry, add: AddConfigEntryEntitiesCallback) -> None:
    """Each pack's sensors, once the pack has been read; its serial on its device."""
    coordinator = entry.runtime_data.coordinator
    if coordinator.bms is None:
        return
    added: set[PackId] = set()

    @callback
    def add_new() -> None:
        registry = dr.async_get(coordinator.hass)
        for pack, values in coordinator.packs.items():
            serial = values.get(PACK_SERIAL)
            device = registry.async_get_device({pack_identifier(coordinator, pack)})
            if device is not None and isinstance(serial, str) and device.serial_number != serial:
                registry.async_update_device(device.id, serial_number=serial)
        new = [
            pack
            for pack, values in coordinator.packs.items()
            if pack not in added and any(value is not None for value in values.values())
        ]
        if not new:
            return
        added.update(new)
        add(
            PackSensor(coordinator, pack, description)
            for pack in new
            for description in PACK_SENSORS
        )

    add_new()
    entry.async_on_unload(coordinator.async_add_listener(add_new))
