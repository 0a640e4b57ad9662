"""The config flow's plant steps: inverter entries (and a meter) grouped, and the master.

A plant is an entry of its own that names entries already added: the inverters that
belong together, the meter at the grid connection if there is one, and the master (the
inverter that takes the plant's export limit, and reads the grid where there is no meter
entry). The master is offered as the inverter that reports itself master (0x1036), if one
does; the user has the last word.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import voluptuous as vol
from homeassistant.config_entries import ConfigEntry, ConfigEntryState, ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_NAME
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)

from .api.errors import LinkError
from .const import (
    CONF_INVERTERS,
    CONF_LINK,
    CONF_MASTER,
    CONF_METER,
    CONF_PROFILE,
    DEFAULT_PLANT_NAME,
    LINK_PLANT,
)
from .profiles import async_get_profiles

if TYPE_CHECKING:
    from .coordinator import ZcsCoordinator

_LOGGER = logging.getLogger(__name__)

# What an inverter reports itself as in a parallel system (0x1036).
PARALLEL_ROLE = "parallel_role"
MASTER = "master"
NO_METER = "none"


class PlantFlow(ConfigFlow):
    """The steps that make (or change) a plant; mixed into the integration's flow."""

    _plant: dict[str, Any] | None = None

    async def _async_candidates(self) -> tuple[list[ConfigEntry], list[ConfigEntry]]:
        """The entries of inverters and of meters a plant can name (local, loaded or not)."""
        profiles = {profile.id: profile for profile in await async_get_profiles(self.hass)}
        inverters: list[ConfigEntry] = []
        meters: list[ConfigEntry] = []
        for entry in self._async_current_entries(include_ignore=False):
            profile = profiles.get(entry.data.get(CONF_PROFILE, ""))
            if profile is None or entry.data[CONF_LINK] == LINK_PLANT:
                continue
            (inverters if profile.serial_prefixes else meters).append(entry)
        return inverters, meters

    def _taken(self, exclude: str | None) -> set[str]:
        """The entries another plant already names."""
        taken: set[str] = set()
        for plant in self._async_current_entries(include_ignore=False):
            if plant.data[CONF_LINK] == LINK_PLANT and plant.entry_id != exclude:
                taken.update(plant.data[CONF_INVERTERS])
                taken.update([plant.data[CONF_METER]] if plant.data.get(CONF_METER) else [])
        return taken

    async def async_step_plant(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A name, the inverters that belong together, and the meter at the grid connection."""
        reconfiguring = self.source == "reconfigure"
        current = self._get_reconfigure_entry() if reconfiguring else None
        inverters, meters = await self._async_candidates()
        errors: dict[str, str] = {}
        if user_input is not None:
            chosen = list(user_input.get(CONF_INVERTERS, []))
            meter = user_input.get(CONF_METER, NO_METER)
            taken = self._taken(current.entry_id if current else None)
            if not chosen:
                errors[CONF_INVERTERS] = "plant_no_inverter"
            elif len(chosen) < 2 and meter == NO_METER:
                errors[CONF_INVERTERS] = "plant_too_small"
            elif taken.intersection([*chosen, meter]):
                errors[CONF_INVERTERS] = "plant_member_taken"
            else:
                self._plant = {
                    CONF_LINK: LINK_PLANT,
                    CONF_INVERTERS: chosen,
                    CONF_METER: None if meter == NO_METER else meter,
                    CONF_NAME: str(user_input.get(CONF_NAME) or DEFAULT_PLANT_NAME).strip(),
                }
                return await self.async_step_plant_master()
        suggested: dict[str, Any] = {CONF_NAME: DEFAULT_PLANT_NAME, CONF_METER: NO_METER}
        if current is not None:
            suggested = {
                CONF_NAME: current.title,
                CONF_INVERTERS: current.data[CONF_INVERTERS],
                CONF_METER: current.data.get(CONF_METER) or NO_METER,
            }
        schema = vol.Schema(
            {
                vol.Required(CONF_NAME): TextSelector(),
                vol.Required(CONF_INVERTERS): _pick(inverters, multiple=True),
                vol.Required(CONF_METER): _pick(meters, none=True),
            }
        )
        return self.async_show_form(
            step_id="plant",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or suggested),
            errors=errors,
        )

    async def async_step_plant_master(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The inverter that takes the plant's export limit: the one reporting master, if any."""
        assert self._plant is not None
        chosen: list[str] = self._plant[CONF_INVERTERS]
        if user_input is not None or len(chosen) == 1:
            master = user_input[CONF_MASTER] if user_input else chosen[0]
            return await self._async_make_plant(master)
        entries = [self.hass.config_entries.async_get_entry(entry_id) for entry_id in chosen]
        found = [entry for entry in entries if entry is not None]
        reported = [entry for entry in found if await _reports_master(entry)]
        default = (reported or found)[0].entry_id
        schema = vol.Schema({vol.Required(CONF_MASTER, default=default): _pick(found)})
        return self.async_show_form(
            step_id="plant_master",
            data_schema=schema,
            description_placeholders={
                "reported": ", ".join(entry.title for entry in reported) or "-"
            },
        )

    async def _async_make_plant(self, master: str) -> ConfigFlowResult:
        assert self._plant is not None
        data = {key: value for key, value in self._plant.items() if key != CONF_NAME}
        data[CONF_MASTER] = master
        title = self._plant[CONF_NAME]
        master_entry = self.hass.config_entries.async_get_entry(master)
        unique_id = f"{LINK_PLANT}_{master_entry.unique_id if master_entry else master}"
        if self.source == "reconfigure":
            entry = self._get_reconfigure_entry()
            return self.async_update_reload_and_abort(
                entry, unique_id=unique_id, title=title, data=data, reason="reconfigure_successful"
            )
        await self.async_set_unique_id(unique_id)
        self._abort_if_unique_id_configured()
        return self.async_create_entry(title=title, data=data)


def _pick(
    entries: list[ConfigEntry], *, multiple: bool = False, none: bool = False
) -> SelectSelector:
    options = [SelectOptionDict(value=entry.entry_id, label=entry.title) for entry in entries]
    if none:
        options.insert(0, SelectOptionDict(value=NO_METER, label=NO_METER))
    config = SelectSelectorConfig(
        options=options,
        multiple=multiple,
        mode=SelectSelectorMode.LIST if multiple else SelectSelectorMode.DROPDOWN,
    )
    if none:
        config["translation_key"] = CONF_METER
    return SelectSelector(config)


async def _reports_master(entry: ConfigEntry) -> bool:
    """Whether the entry's inverter says it is the master of a parallel system (read now)."""
    if entry.state is not ConfigEntryState.LOADED:
        return False
    coordinator: ZcsCoordinator = entry.runtime_data.coordinator
    if not any(field.key == PARALLEL_ROLE for field in coordinator.device.profile.fields):
        return False
    try:
        async with coordinator.async_turn():
            reading = await coordinator.device.read([PARALLEL_ROLE])
    except LinkError as err:
        _LOGGER.debug("%s: parallel role not read: %r", entry.title, err)
        return False
    return reading.values.get(PARALLEL_ROLE) == MASTER
