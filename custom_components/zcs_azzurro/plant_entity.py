"""The plant's entities: its totals as sensors, its limits as numbers.

They carry the keys (and so the names) of the inverters' own entities, and entity ids that
say `plant`: sensor.plant_pv_power, sensor.plant_grid_import_energy, and so on.
"""

from __future__ import annotations

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfEnergy,
    UnitOfPower,
)
from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.entity_platform import (
    AddConfigEntryEntitiesCallback,
    async_get_current_platform,
)
from homeassistant.helpers.update_coordinator import CoordinatorEntity
from homeassistant.util import slugify

from .api.plant import COUNTERS, SOC
from .const import DOMAIN
from .entity import sensor_description
from .plant import (
    EXPORT_LIMIT,
    OUTPUT_LIMIT,
    OUTPUT_LIMIT_ENABLED,
    RATED,
    PlantConfigEntry,
    PlantCoordinator,
)

POWER = {
    "device_class": SensorDeviceClass.POWER,
    "state_class": SensorStateClass.MEASUREMENT,
    "native_unit_of_measurement": UnitOfPower.WATT,
    "suggested_display_precision": 0,
}
ENERGY = {
    "device_class": SensorDeviceClass.ENERGY,
    "state_class": SensorStateClass.TOTAL_INCREASING,
    "native_unit_of_measurement": UnitOfEnergy.KILO_WATT_HOUR,
    "suggested_display_precision": 1,
}


# Signs as the inverters': grid + = import, battery + = discharge.
SENSORS = (
    *(
        sensor_description(key, **POWER)
        for key in ("pv_power", "inverter_power", "grid_power", "house_power", "battery_power")
    ),
    sensor_description(
        SOC,
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
    ),
    *(sensor_description(key, **ENERGY) for key in COUNTERS),
    sensor_description(
        RATED,
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
)
# The plant's output limit, in W (each inverter's is a share of its rating).
OUTPUT_POWER_LIMIT = "output_power_limit"


def _watts(key: str, step: float) -> NumberEntityDescription:
    """A limit in W, typed in (a plant's reaches far past what a slider could show)."""
    return NumberEntityDescription(
        key=key,
        translation_key=key,
        device_class=NumberDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        native_min_value=0,
        native_step=step,
        mode=NumberMode.BOX,
        entity_category=EntityCategory.CONFIG,
    )


# The master's, in 100 W steps as it takes it; each inverter's share, in 0.1 % steps.
EXPORT = _watts(EXPORT_LIMIT, 100)
OUTPUT = _watts(OUTPUT_POWER_LIMIT, 10)


class PlantEntity(CoordinatorEntity[PlantCoordinator]):
    """One value of the plant, on the plant's device; its entity id says `plant`."""

    _attr_has_entity_name = True

    def __init__(
        self, coordinator: PlantCoordinator, description: EntityDescription, platform: str
    ) -> None:
        """The plant's device; an entity id from the plant's name, `plant` in it.

        As Home Assistant makes ids (the device's name, then the entity's, in the language
        it makes ids in), with `plant` in front of a plant's name that does not say it.
        """
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.unique_id}_{description.key}"
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, coordinator.unique_id)})
        device = slugify(coordinator.config_entry.title)
        base = device if "plant" in device.split("_") else f"plant_{device}".rstrip("_")
        names = async_get_current_platform().platform_data.object_id_platform_translations
        name = names.get(f"component.{DOMAIN}.entity.{platform}.{description.key}.name")
        self.entity_id = f"{platform}.{base}_{slugify(name or description.key)}"

    @property
    def plant_value(self) -> float | None:
        """The plant's value for this entity's key; None while it cannot be worked out."""
        data = self.coordinator.data or {}
        return data.get(self.entity_description.key)

    @property
    def available(self) -> bool:
        """A total with a member missing is unavailable, never a partial sum."""
        return super().available and self.plant_value is not None


class PlantSensor(PlantEntity, SensorEntity):
    """A plant's total."""

    @property
    def native_value(self) -> float | None:
        """The total."""
        return self.plant_value


class PlantCounterSensor(PlantSensor, RestoreSensor):
    """A plant's energy counter: after a restart it goes on from what it showed."""

    async def async_added_to_hass(self) -> None:
        """Seed the counters' guard with the value shown before the restart."""
        await super().async_added_to_hass()
        last = await self.async_get_last_sensor_data()
        if last is not None and isinstance(last.native_value, int | float):
            self.coordinator.counters.seed(self.entity_description.key, float(last.native_value))
            self.coordinator.async_set_updated_data(self.coordinator.compute())


class PlantExportLimit(PlantEntity, NumberEntity):
    """The plant's export limit: the master's, up to what the whole plant is rated for."""

    @property
    def plant_value(self) -> float | None:
        """What the master holds; known once every member's rated power is known too."""
        if self.coordinator.data.get(RATED) is None:
            return None
        return _number(self.coordinator.master, EXPORT_LIMIT)

    @property
    def native_value(self) -> float | None:
        """What the master holds."""
        return self.plant_value

    @property
    def native_max_value(self) -> float:
        """The plant's rated power."""
        return self.coordinator.data.get(RATED) or 0.0

    async def async_set_native_value(self, value: float) -> None:
        """Write it where the master takes it (it then limits the whole plant)."""
        await self.coordinator.master.async_write({EXPORT_LIMIT: int(value)})


class PlantOutputLimit(PlantEntity, NumberEntity):
    """The plant's output limit (W): each inverter limited to the same share of its rating."""

    @property
    def native_value(self) -> float | None:
        """What the inverters' limits add up to."""
        return self.plant_value

    @property
    def plant_value(self) -> float | None:
        """What the inverters' limits add up to (an inverter not limited: its rating)."""
        total = 0.0
        for member in self.coordinator.inverters:
            rated = (member.identity or {}).get(RATED)
            share = _number(member, OUTPUT_LIMIT)
            enabled = member.data.values.get(OUTPUT_LIMIT_ENABLED) if member.data else None
            if not isinstance(rated, int | float) or share is None or enabled is None:
                return None
            total += rated * (share / 100 if enabled == "on" else 1.0)
        return round(total)

    @property
    def native_max_value(self) -> float:
        """The plant's rated power."""
        return self.coordinator.data.get(RATED) or 0.0

    async def async_set_native_value(self, value: float) -> None:
        """Limit every inverter to the plant's share (0.1 % steps, as the inverters take it)."""
        rated = self.coordinator.data.get(RATED) or 0.0
        share = round(min(value / rated, 1.0) * 100, 1) if rated else 0.0
        for member in self.coordinator.inverters:
            await member.async_write({OUTPUT_LIMIT_ENABLED: "on", OUTPUT_LIMIT: share})


def _number(member: object, key: str) -> float | None:
    data = getattr(member, "data", None)
    value = data.values.get(key) if data is not None else None
    return float(value) if isinstance(value, int | float) else None


@callback
def async_add_sensors(entry: PlantConfigEntry, add: AddConfigEntryEntitiesCallback) -> None:
    """The plant's totals."""
    coordinator = entry.runtime_data.coordinator
    add(
        (PlantCounterSensor if description.key in COUNTERS else PlantSensor)(
            coordinator, description, "sensor"
        )
        for description in SENSORS
    )


@callback
def async_add_numbers(entry: PlantConfigEntry, add: AddConfigEntryEntitiesCallback) -> None:
    """The plant's limits, where its members have them."""
    coordinator = entry.runtime_data.coordinator
    numbers: list[NumberEntity] = []
    if EXPORT_LIMIT in coordinator.wanted(coordinator.master):
        numbers.append(PlantExportLimit(coordinator, EXPORT, "number"))
    if all(OUTPUT_LIMIT in coordinator.wanted(member) for member in coordinator.inverters):
        numbers.append(PlantOutputLimit(coordinator, OUTPUT, "number"))
    add(numbers)
