"""Repairs the owner can make: accept the new start of a lifetime counter."""

from __future__ import annotations

from typing import Any

from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from .coordinator import ZcsConfigEntry


class CounterRestartFlow(ConfirmRepairFlow):
    """Confirm that a counter starts again (inverter replaced, counters reset)."""

    def __init__(self, entry_id: str, key: str) -> None:
        """The entry and the counter the issue is about."""
        super().__init__()
        self.entry_id = entry_id
        self.key = key

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Accept the new start, if the entry still runs; else there is nothing to accept."""
        if user_input is not None:
            entry: ZcsConfigEntry | None = self.hass.config_entries.async_get_entry(self.entry_id)
            if entry is None or entry.state is not ConfigEntryState.LOADED:
                return self.async_abort(reason="entry_not_loaded")
            await entry.runtime_data.coordinator.async_accept_restart(self.key)
        return await super().async_step_confirm(user_input)


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, Any] | None
) -> RepairsFlow:
    """The flow that fixes the issue (only the counters' issues are fixable)."""
    assert data is not None
    return CounterRestartFlow(str(data["entry_id"]), str(data["key"]))
