"""The maintenance charge: towers kept above the floor in winter (an option, off by default).

ZCS's knowledge base (article 516) describes ZBT-5K / BTS-5K towers that, with too little PV in
winter, go on discharging (about 12 % a day in standby) until they lose their BMS and no longer
switch on (battery_health.py raises the repair issue). With the option on, a tower at or below
FLOOR starts a charge from the grid at POWER through battery control (its mode engine and
write path, passive mode), for at most STINT; it stops once every tower reads BACK or more,
and the next poll starts another if a stint ended below it.

Anyone's mode wins over it (battery control's `async_maintain`): it starts only over self use,
and a mode asked during one (the action, the select, evcc through the shared connection, the
storage mode set elsewhere) ends it for good until the towers were back above the floor.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util

from .api.battery import BatteryCommand, BatteryMode
from .battery_health import RECOVERED_SOC, SOC_KEYS, charges, tower_inputs
from .const import CONF_MAINTENANCE_CHARGE, DOMAIN
from .coordinator import ZcsConfigEntry

_LOGGER = logging.getLogger(__name__)

# At or below this (%) on any tower a charge starts: where the repair issue goes, too.
FLOOR = RECOVERED_SOC
# At or above this (%) on every tower it stops; the gap keeps it from flapping at the floor.
BACK = FLOOR + 5
# W: a few hours' standby of a few towers in minutes, gently (held to what the battery takes).
POWER = 1000
# The longest a charge lasts unwatched (the readings may stop with the link).
STINT = timedelta(hours=1)
# The battery mode select's attribute: whether its charge is the maintenance charge.
ATTR_MAINTENANCE = "maintenance_charge"


@callback
def async_watch_maintenance(hass: HomeAssistant, entry: ZcsConfigEntry) -> None:
    """Charge the entry's towers at the floor, if its options ask, through battery control."""
    control = entry.runtime_data.battery
    if control is None or not entry.options.get(CONF_MAINTENANCE_CHARGE, False):
        return
    coordinator = control.coordinator
    power = min(POWER, control.limits.battery_high)

    async def maintain(charge: BatteryCommand | None) -> None:
        try:
            await control.async_maintain(charge, dt_util.utcnow() + STINT)
        except HomeAssistantError as err:
            # Battery control writes it again at its next turn; the next poll decides anew.
            _LOGGER.debug("%s: maintenance charge not written: %s", entry.title, err)

    @callback
    def check() -> None:
        if coordinator.data is None or not coordinator.last_update_success:
            return
        found = charges(coordinator.data.values, tower_inputs(coordinator))
        if not found:
            return
        if min(found) <= FLOOR and not control.maintenance:
            charge: BatteryCommand | None = BatteryCommand(BatteryMode.CHARGE, power)
        elif min(found) >= BACK and (control.maintenance or control.maintenance_yielded):
            charge = None
        else:
            return
        entry.async_create_background_task(hass, maintain(charge), f"{DOMAIN} maintenance charge")

    # The first input's charge is read whatever is shown; the others once they have a tower.
    entry.async_on_unload(coordinator.async_add_listener(check, SOC_KEYS[0]))
