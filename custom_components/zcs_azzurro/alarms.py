"""Faults and alarms: the event fired for each code that becomes active, and its text.

The texts are translations of the *Active fault* sensor's states, one set per fault map
(docs/troubleshooting.md names their public sources): the Sofar G3 map's IDs (3PH HYD ZSS,
1PH HYD ZSS HP, 3PH KTL-V3), the legacy storage map's (HYD ES / 3000SP) and the legacy
string map's (1PH TL-V3). A cloud's alarm codes get none: ZCS does not say which IDs they are.
"""

from __future__ import annotations

from collections.abc import Mapping

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.translation import async_get_translations

from .api.profile.schema import FieldType, Profile
from .const import DOMAIN
from .coordinator import ZcsCoordinator

# Fired once for each fault or alarm that becomes active: automations can notify about it.
EVENT_ALARM = f"{DOMAIN}_alarm"
# The local devices' fault field, read as the IDs of its set bits.
FAULT_KEY = "fault"
# The Active fault sensor's own key: the fault field's is its binary sensor's unique id.
ACTIVE_FAULT_KEY = "active_fault"
# Which set of texts each bundled profile's fault IDs have (the sensor's translation key).
FAULT_TEXTS = {
    "zcs_3ph_hyd_zss": "fault_g3",
    "zcs_1ph_hyd_zss_hp": "fault_g3",
    "zcs_3ph_ktl_v3": "fault_g3",
    "zcs_hyd_es": "fault_hyd_es",
    "zcs_1ph_tl_v3": "fault_tl_v3",
}
# The sensor's state while no fault is active.
NO_FAULT = "none"


def display_id(code: int) -> str:
    """A fault ID as the inverter's display and manual write it: ID001, ID002, ..."""
    return f"ID{code:03d}"


def fault_state(code: int) -> str:
    """The Active fault sensor's state for a fault ID (translated to the ID's text)."""
    return f"id{code:03d}"


def active_fault(codes: tuple[int, ...]) -> str:
    """The Active fault sensor's state for the active IDs: none, or the lowest one's."""
    return fault_state(min(codes)) if codes else NO_FAULT


def fault_ids(profile: Profile) -> range:
    """The IDs the profile's fault field can report: one per bit of its registers."""
    field = next(f for f in profile.fields if f.key == FAULT_KEY)
    return range(1, 16 * sum(span.count for span in field.spans) + 1)


def fault_texts_of(profile: Profile) -> str | None:
    """The set of texts the profile's fault IDs have, if it has a fault field and texts."""
    has_faults = any(f.key == FAULT_KEY and f.type is FieldType.BITS for f in profile.fields)
    return FAULT_TEXTS.get(profile.id) if profile.bundled and has_faults else None


async def async_fault_texts(hass: HomeAssistant, texts: str | None) -> dict[int, str]:
    """Each fault ID's text in Home Assistant's language (English where it has none)."""
    if texts is None:
        return {}
    prefix = f"component.{DOMAIN}.entity.sensor.{texts}.state.id"
    # Home Assistant fills what a language lacks from English.
    strings = await async_get_translations(hass, hass.config.language, "entity", [DOMAIN])
    return {
        int(key.removeprefix(prefix)): text
        for key, text in strings.items()
        if key.startswith(prefix)
    }


@callback
def async_watch_alarms(
    hass: HomeAssistant, coordinator: ZcsCoordinator, key: str, texts: Mapping[int, str]
) -> CALLBACK_TYPE:
    """Fire EVENT_ALARM for each code of the field that was not active at the last reading.

    The first reading after setup is the baseline: a restart does not announce again the
    alarms already active.
    """
    active: set[int] | None = None

    @callback
    def _changed() -> None:
        nonlocal active
        codes = coordinator.data.values.get(key) if coordinator.data else None
        if not isinstance(codes, tuple):
            return
        if active is not None and (new := sorted(set(codes) - active)):
            entry_id = coordinator.config_entry.entry_id
            devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry_id)
            for code in new:
                hass.bus.async_fire(
                    EVENT_ALARM,
                    {
                        "device_id": devices[0].id if devices else None,
                        "entry_id": entry_id,
                        "code": code,
                        "codes": list(codes),
                        "text": texts.get(code),
                    },
                )
        active = set(codes)

    _changed()
    # Listening under the field's key: it is read even with its entities disabled.
    return coordinator.async_add_listener(_changed, key)
