"""A plant entry: inverter entries (and a meter entry) grouped into one device with its totals.

A user makes a plant in the config flow (*A plant*): it names inverters already added
(master and slaves in parallel, several behind one HUB, one per stick), optionally the
meter at the grid connection, and the master, which takes the plant's export limit (the
one whose inverter reports itself master is offered). The plant reads nothing itself: it
listens to its members' coordinators, asks them for the fields it needs, and works out
its totals (api/plant.py) each time one of them has polled. Each member keeps its own
device; the plant's device connects them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .api.plant import (
    AVERAGE_SOC,
    BATTERY_POWERS,
    CAPACITY,
    GRID_COUNTERS,
    GRID_POWER,
    SOC,
    SUMMED_COUNTERS,
    SUMMED_POWERS,
    VOLTAGE,
    Member,
    PlantCounters,
    totals,
)
from .api.profile.schema import Value
from .const import CONF_INVERTERS, CONF_MASTER, CONF_METER, DOMAIN
from .coordinator import ZcsConfigEntry, ZcsCoordinator

_LOGGER = logging.getLogger(__name__)

PLANT_PLATFORMS = [Platform.NUMBER, Platform.SENSOR]
# The master's settings the plant's numbers show and write.
EXPORT_LIMIT, OUTPUT_LIMIT = "export_limit", "output_limit"
OUTPUT_LIMIT_ENABLED = "output_limit_enabled"
RATED = "rated_power"
# A dip of the house balance within this (kWh) is held (api/plant.py, PlantCounters): two
# ticks of an inverter's 0.1 kWh counters.
HOLD_KWH = 0.2


@dataclass
class PlantRuntimeData:
    """What a loaded plant entry holds."""

    coordinator: PlantCoordinator


type PlantConfigEntry = ConfigEntry[PlantRuntimeData]


class PlantCoordinator(DataUpdateCoordinator[dict[str, float | None]]):
    """Works out the plant's values whenever one of its members has polled."""

    config_entry: PlantConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: PlantConfigEntry,
        inverters: list[ZcsCoordinator],
        master: ZcsCoordinator,
        meter: ZcsCoordinator | None,
    ) -> None:
        """No interval of its own: the members' polls drive it."""
        super().__init__(hass, _LOGGER, config_entry=entry, name=entry.title)
        self.inverters = inverters
        self.master = master
        # What crosses the grid connection is read once: at the meter, or by the master.
        self.grid = meter or master
        self.counters = PlantCounters(HOLD_KWH)
        self.unique_id = entry.unique_id or entry.entry_id

    def wanted(self, member: ZcsCoordinator) -> list[str]:
        """The fields the plant needs of a member (it asks its coordinator to read them)."""
        keys: list[str] = []
        if member in self.inverters:
            keys += [*SUMMED_POWERS, *SUMMED_COUNTERS, *BATTERY_POWERS, SOC, AVERAGE_SOC]
            if sum(1 for m in self.inverters if _has(m, SOC)) > 1:
                # Weighing the batteries' charge takes what each holds.
                keys += [CAPACITY, VOLTAGE]
        if member is self.grid:
            keys += [GRID_POWER, *GRID_COUNTERS]
        if member is self.master:
            keys += [EXPORT_LIMIT]
        if member in self.inverters:
            keys += [OUTPUT_LIMIT, OUTPUT_LIMIT_ENABLED]
        return [key for key in dict.fromkeys(keys) if _has(member, key)]

    async def _async_update_data(self) -> dict[str, float | None]:
        return self.compute()

    @callback
    def member_polled(self) -> None:
        """A member has polled: the plant's values again."""
        self.async_set_updated_data(self.compute())

    def compute(self) -> dict[str, float | None]:
        """The plant's values from what its members showed last."""
        members = [_member(coordinator) for coordinator in self.inverters]
        grid = _values(self.grid)
        values = self.counters.apply(totals(members, grid))
        rated = values[RATED]
        # The master takes the plant's limits: they may reach what the plant is rated for.
        if rated is not None:
            self.master.plant_bounds[RATED] = rated
        else:
            self.master.plant_bounds.pop(RATED, None)
        return values

    def release(self) -> None:
        """The plant unloads: its master's limits are its own again."""
        self.master.plant_bounds.pop(RATED, None)


def _has(coordinator: ZcsCoordinator, key: str) -> bool:
    return any(field.key == key for field in coordinator.device.profile.fields)


def _values(coordinator: ZcsCoordinator) -> dict[str, Value | None]:
    """A member's last values; none while its last poll failed (the plant's are unknown)."""
    if not coordinator.last_update_success or coordinator.data is None:
        return {}
    return coordinator.data.values


def _member(coordinator: ZcsCoordinator) -> Member:
    batteries = tuple(
        key for key in BATTERY_POWERS if _has(coordinator, key) and coordinator.shows(key)
    )
    rated = (coordinator.identity or {}).get(RATED)
    return Member(
        _values(coordinator), batteries, float(rated) if isinstance(rated, int | float) else None
    )


def _loaded(hass: HomeAssistant, entry_id: str) -> ZcsConfigEntry:
    """A member's entry, once set up; until then the plant waits (its setup is retried)."""
    member: ZcsConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
    if member is None:
        raise ConfigEntryError(translation_domain=DOMAIN, translation_key="plant_member_gone")
    if member.state is not ConfigEntryState.LOADED:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="plant_member_waiting",
            translation_placeholders={"title": member.title},
        )
    return member


async def async_setup_plant_entry(hass: HomeAssistant, entry: PlantConfigEntry) -> bool:
    """Listen to the members; the plant's device and entities."""
    inverters = [_loaded(hass, entry_id) for entry_id in entry.data[CONF_INVERTERS]]
    meter = _loaded(hass, entry.data[CONF_METER]) if entry.data.get(CONF_METER) else None
    master = _loaded(hass, entry.data[CONF_MASTER])
    coordinator = PlantCoordinator(
        hass,
        entry,
        [member.runtime_data.coordinator for member in inverters],
        master.runtime_data.coordinator,
        meter.runtime_data.coordinator if meter else None,
    )
    registry = dr.async_get(hass)
    plant = registry.async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, coordinator.unique_id)},
        manufacturer="ZCS Azzurro",
        model="Plant",
        name=entry.title,
    )
    members = [*inverters, *([meter] if meter else [])]
    for member in members:
        # Each member stays its own device, shown as connected through the plant's.
        for device in dr.async_entries_for_config_entry(registry, member.entry_id):
            registry.async_update_device(device.id, via_device_id=plant.id)
        member_coordinator = member.runtime_data.coordinator
        entry.async_on_unload(member_coordinator.async_add_listener(coordinator.member_polled))
        for key in coordinator.wanted(member_coordinator):
            # A listener under a field's key makes the member read that field.
            entry.async_on_unload(member_coordinator.async_add_listener(_nothing, key))
        member.async_on_unload(_reload_when_gone(hass, entry.entry_id))
    entry.async_on_unload(coordinator.release)
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = PlantRuntimeData(coordinator)
    await hass.config_entries.async_forward_entry_setups(entry, PLANT_PLATFORMS)
    return True


@callback
def _nothing() -> None:
    """A listener that only says which field is wanted."""


def _reload_when_gone(hass: HomeAssistant, plant_id: str) -> Callable[[], None]:
    """When a member unloads (reloaded, or removed), the plant sets itself up again."""

    @callback
    def reload() -> None:
        plant = hass.config_entries.async_get_entry(plant_id)
        if plant is not None and plant.state is ConfigEntryState.LOADED:
            hass.config_entries.async_schedule_reload(plant_id)

    return reload
