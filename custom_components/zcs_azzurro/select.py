"""Selects: the settings of the profile that take one of a list (modes)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api.battery import POWERED, BatteryCommand, BatteryMode
from .api.profile.schema import Field, Presentation
from .battery import MODE_SELECT, BatteryControl
from .const import DOMAIN
from .coordinator import ZcsConfigEntry
from .entity import BatteryControlEntity, ZcsEntity
from .maintenance import ATTR_MAINTENANCE

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
    if (control := entry.runtime_data.battery) is not None:
        async_add_entities([BatteryModeSelect(control, BATTERY_MODE)])


BATTERY_MODE = SelectEntityDescription(
    key=MODE_SELECT,
    translation_key=MODE_SELECT,
    options=[mode.value for mode in BatteryMode],
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


class BatteryModeSelect(BatteryControlEntity, SelectEntity):
    """The battery's mode; charge, discharge and grid target at the mode power's watts."""

    control: BatteryControl

    @property
    def available(self) -> bool:
        """Not while the storage mode it reads the inverter's mode from has no value."""
        return super().available and self.control.known

    @property
    def current_option(self) -> str | None:
        """The mode asked for, or the inverter's own if it is one of ours."""
        mode = self.control.mode
        return mode.value if mode else None

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Whether the charge is the maintenance charge (the option), asked by nobody."""
        return {ATTR_MAINTENANCE: self.control.maintenance}

    async def async_select_option(self, option: str) -> None:
        """Ask for the mode, until changed."""
        mode = BatteryMode(option)
        power = self.control.power
        if mode in POWERED and power is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="battery_power_missing"
            )
        await self.control.async_set(BatteryCommand(mode, power or 0))
