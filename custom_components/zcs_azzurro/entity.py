"""The base of every entity: one device, one field of the profile, honest availability."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .api.profile.schema import Value
from .const import DOMAIN
from .coordinator import ZcsCoordinator


class ZcsEntity(CoordinatorEntity[ZcsCoordinator]):
    """Shows one field; unavailable when the field has no true value."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: ZcsCoordinator, description: EntityDescription) -> None:
        """The description's key is the profile field's key, and the coordinator context."""
        super().__init__(coordinator, context=description.key)
        self.entity_description = description
        self._attr_unique_id = coordinator.unique_id(description.key)
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, coordinator.serial)})
        profile = coordinator.device.profile
        if not profile.bundled:
            # Translations know only the bundled profiles' keys: a user's profile names
            # its entities itself (translation_key would leave them nameless).
            language = coordinator.hass.config.language
            self._attr_name = profile.entity_name(description.key, language)

    @property
    def device_value(self) -> Value | None:
        """The field's value from the last poll; None if not read, failed or implausible.

        (Not `value`: NumberEntity keeps that name for itself.)
        """
        data = self.coordinator.data
        return data.values.get(self.entity_description.key) if data else None

    @property
    def available(self) -> bool:
        """A failed or implausible read is unavailable, never a 0."""
        return super().available and self.device_value is not None
