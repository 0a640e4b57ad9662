"""The base of every entity: one device, one field of the profile, honest availability."""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import SensorEntityDescription
from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .api.cloud.portal_source import PortalSource
from .api.profile.schema import Value
from .const import DOMAIN
from .coordinator import ZcsCoordinator

# The attribute naming how far public maps bear the field out, where they do not.
EVIDENCE = "evidence"


class ZcsEntity(CoordinatorEntity[ZcsCoordinator]):
    """Shows one field; unavailable when the field has no true value."""

    _attr_has_entity_name = True
    # What the state last written showed: availability and value.
    _shown: tuple[bool, Value | None] | None = None

    def __init__(self, coordinator: ZcsCoordinator, description: EntityDescription) -> None:
        """The description's key is the profile field's key, and the coordinator context."""
        super().__init__(coordinator, context=description.key)
        self.entity_description = description
        self._attr_unique_id = coordinator.unique_id(description.key)
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, coordinator.serial)})
        source = coordinator.device
        # A setting the source cannot read (the System's) shows what its last write confirmed.
        self._attr_assumed_state = (
            isinstance(source, PortalSource) and description.key in source.assumed
        )
        profile = source.profile
        field = next((f for f in profile.fields if f.key == description.key), None)
        if field is not None and field.evidence is not None and field.evidence.doubted:
            # Where public maps disagree, or none has the field: the user is told so, and
            # docs/help-confirm.md says how a device report settles it.
            self._attr_extra_state_attributes = {EVIDENCE: str(field.evidence.status)}
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
        """A failed or implausible read is unavailable, never a 0.

        An assumed setting never written is unknown: nothing says otherwise.
        """
        return super().available and (self.device_value is not None or self.assumed_state)

    async def async_added_to_hass(self) -> None:
        """Remember what the first state, written once the entity is added, shows."""
        await super().async_added_to_hass()
        self._shown = (self.available, self.device_value)

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state only when the value or the availability changed.

        CoordinatorEntity writes on every poll; an unchanged state still costs the state
        machine's work and a state_reported event, for every entity, every poll.
        """
        shown = (self.available, self.device_value)
        if shown != self._shown:
            self._shown = shown
            self.async_write_ha_state()


def sensor_description(key: str, **shown: Any) -> SensorEntityDescription:
    """A sensor described in code (a plant's, a pack's): named by its key's translation."""
    return SensorEntityDescription(key=key, translation_key=key, **shown)
