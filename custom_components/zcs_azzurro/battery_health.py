"""Battery health: ZCS's winter deep-discharge pattern of ZBT-5K / BTS-5K towers, as a repair.

ZCS describes it in its knowledge base (article 516): with too little PV in winter, towers
can go on discharging below the depth of discharge the inverter holds, lose communication
with it, show 0 % and no longer switch on; the inverter then reports ID124 (battery low),
ID125 (battery discharge prohibited) and, for the ZBT-5K, ID814 (discharge prohibited). A
state of charge of 0 % alone is not a deep discharge, ZCS says: the repair issue is raised
when a battery input reads 0 % together with one of those codes, or with the inverter's
lost contact with a lithium battery's BMS (ID157-ID160). It goes once every input reads
above a few percent again and none of those codes is active.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .api.cloud.portal_source import ALARM_KEY
from .api.profile.schema import Value
from .const import DOMAIN
from .coordinator import ZcsConfigEntry

# The codes of the pattern (KB 516), and the inverter losing its batteries' BMS (Modbus-G3
# V1.38 fault list: ID157-ID160, lithium battery 1-4 communication).
DISCHARGE_CODES = frozenset({124, 125, 814})
BMS_LOST = frozenset(range(157, 161))
# Where the codes are: the inverter's fault words, or a cloud's alarms.
CODE_KEYS = ("fault", ALARM_KEY)
SOC_KEYS = ("battery_soc", *(f"battery{k}_soc" for k in range(2, 9)))
# Above this (%) on every input, with none of the codes, the issue goes.
RECOVERED_SOC = 5
KB_516 = (
    "https://ticket.zcsazzurro.at/help/de-de/153-komponentenpflege-troubleshooting/"
    "516-energieverwaltung-azzurro-zbt-5k"
)


def _codes(values: Mapping[str, Value | None]) -> set[int]:
    found: set[int] = set()
    for key in CODE_KEYS:
        value = values.get(key)
        if isinstance(value, tuple):
            found.update(code for code in value if isinstance(code, int))
    return found


def _charges(values: Mapping[str, Value | None], inputs: Iterable[str]) -> list[float]:
    return [float(v) for key in inputs if isinstance(v := values.get(key), int | float)]


def deep_discharge(
    values: Mapping[str, Value | None], inputs: Iterable[str] = SOC_KEYS
) -> tuple[int, ...] | None:
    """The pattern's codes active now, if the values show the pattern (else None).

    `inputs` are the battery inputs with a tower (an empty input reads 0 %).
    """
    codes = _codes(values) & (DISCHARGE_CODES | BMS_LOST)
    if codes and any(soc <= 0 for soc in _charges(values, inputs)):
        return tuple(sorted(codes))
    return None


def recovered(values: Mapping[str, Value | None], inputs: Iterable[str] = SOC_KEYS) -> bool:
    """Whether every input reads above the floor again, with none of the codes."""
    charges = _charges(values, inputs)
    codes = _codes(values) & (DISCHARGE_CODES | BMS_LOST)
    return bool(charges) and not codes and all(soc > RECOVERED_SOC for soc in charges)


def _ids(codes: Iterable[int]) -> str:
    return ", ".join(f"ID{code:03d}" for code in codes)


@callback
def async_watch_battery_health(hass: HomeAssistant, entry: ZcsConfigEntry) -> None:
    """Raise the repair issue when the entry's device shows the pattern; withdraw it after."""
    coordinator = entry.runtime_data.coordinator
    fields = {field.key for field in coordinator.device.profile.fields}
    if not fields & set(SOC_KEYS) or not fields & set(CODE_KEYS):
        return
    issue = f"battery_deep_discharge_{entry.entry_id}"
    raised = False

    @callback
    def check() -> None:
        nonlocal raised
        if coordinator.data is None or not coordinator.last_update_success:
            return
        values = coordinator.data.values
        inputs = [key for key in SOC_KEYS if key in fields and coordinator.shows(key)]
        if (codes := deep_discharge(values, inputs)) is not None:
            raised = True
            ir.async_create_issue(
                hass,
                DOMAIN,
                issue,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                learn_more_url=KB_516,
                translation_key="battery_deep_discharge",
                translation_placeholders={"title": entry.title, "codes": _ids(codes)},
            )
        elif raised and recovered(values, inputs):
            raised = False
            ir.async_delete_issue(hass, DOMAIN, issue)

    # Listening under the first input's charge and the codes: they are read even with their
    # entities disabled (the other inputs' are read once they have a tower: their entities).
    for key in (SOC_KEYS[0], *CODE_KEYS):
        if key in fields:
            entry.async_on_unload(coordinator.async_add_listener(check, key))
    entry.async_on_unload(lambda: ir.async_delete_issue(hass, DOMAIN, issue))
