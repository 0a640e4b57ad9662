"""A paced port (the Azzurro HUB's): one gap between requests, one budget, one client.

The HUB serves one client per port and needs a pause between two requests (its own
setting, which the entry's option must match). Every entry behind one port shares Home
Assistant's one connection to it; this module keeps what they must agree on: the gap
(the longest any of them asks for), the request budget of the port (at gap p and scan
interval T, at most T/p requests per interval for all of them together), and what to
do when something else keeps taking the port.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.util.hass_dict import HassKey
from modbus_connection import ModbusUnit

from .api.transport.unit import Endpoint
from .const import DOMAIN

# Polls in a row that find the connection taken away before the HUB's port counts as taken.
TAKEN_AFTER = 3
# The longest wait between two polls while another client holds the port.
MAX_BACKOFF = timedelta(minutes=10)


@dataclass
class _Port:
    """What the entries behind one port hold there."""

    gaps: dict[object, tuple[ModbusUnit, float]] = field(default_factory=dict)
    # Requests per scan interval each entry needs, by entry id.
    demand: dict[str, float] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        return max((seconds for _, seconds in self.gaps.values()), default=0.0)


_PORTS: HassKey[dict[str, _Port]] = HassKey(f"{DOMAIN}_ports")


def _port(hass: HomeAssistant, endpoint: Endpoint) -> _Port:
    return hass.data.setdefault(_PORTS, {}).setdefault(str(endpoint), _Port())


@callback
def async_hold_pacing(
    hass: HomeAssistant, endpoint: Endpoint, unit: ModbusUnit, seconds: float
) -> Callable[[], None]:
    """Keep at least `seconds` between any two requests on the port; call back to let go.

    The connection spaces requests per unit id; every unit on the port gets the longest
    gap any entry asks for, so the gap holds between requests of different entries too.
    """
    port = _port(hass, endpoint)
    hold = object()
    port.gaps[hold] = (unit, seconds)
    _space(port)

    @callback
    def release() -> None:
        port.gaps.pop(hold, None)
        _space(port)

    return release


def _space(port: _Port) -> None:
    for unit, _ in port.gaps.values():
        unit.set_message_spacing(port.gap)
        # A new connection knows nothing of the last request on the one before it (the
        # flow's, or one the HUB dropped): its first request waits the gap out too.
        unit.require_connect_delay(port.gap or None)


@dataclass
class PortWatch:
    """One entry's view of its paced port: the interval it may poll at, and what to say."""

    hass: HomeAssistant
    entry_id: str
    title: str
    endpoint: Endpoint
    interval: timedelta
    _backoff: timedelta | None = None
    _taken_polls: int = 0
    _losses: int = 0
    _budget_interval: timedelta | None = None
    # Requests forwarded for other programs since the last poll, and their rate per poll.
    forwarded: int = 0
    _forwarded_rate: float = 0.0

    def __post_init__(self) -> None:
        """Start with nothing noted."""
        self._port = _port(self.hass, self.endpoint)

    def release(self) -> None:
        """The entry unloads: its demand leaves the port, its issues go."""
        self._port.demand.pop(self.entry_id, None)
        for kind in ("hub_budget", "hub_port_taken"):
            ir.async_delete_issue(self.hass, DOMAIN, self._issue(kind))

    def polled(self, demand: float, losses: int) -> timedelta:
        """After a poll: the interval to poll at next.

        `demand` is the requests per scan interval this entry needs; `losses` counts every
        time the port was taken from the link since it was made. What the shared connection
        forwarded since the last poll counts too, averaged over the last few polls (a
        program that reads in bursts moves the interval once, not back and forth).
        """
        self._forwarded_rate = (self._forwarded_rate + self.forwarded) / 2
        self.forwarded = 0
        self._port.demand[self.entry_id] = demand + self._forwarded_rate
        taken = losses != self._losses
        self._losses = losses
        self._note_taken(taken)
        self._note_budget()
        return max(
            self.interval, self._budget_interval or self.interval, self._backoff or self.interval
        )

    @property
    def busy_for(self) -> float:
        """Seconds the entries of the port take for one round of their polls (at its gap)."""
        return sum(self._port.demand.values()) * self._port.gap

    def _note_taken(self, taken: bool) -> None:
        """Back off while something else keeps taking the port; heal when it stops."""
        issue = self._issue("hub_port_taken")
        if not taken:
            self._taken_polls = 0
            if self._backoff is not None:
                self._backoff = None
                ir.async_delete_issue(self.hass, DOMAIN, issue)
            return
        self._taken_polls += 1
        if self._taken_polls < TAKEN_AFTER:
            return
        # Each poll takes the port back from the other client; poll ever more rarely.
        self._backoff = min(2 * (self._backoff or self.interval), MAX_BACKOFF)
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="hub_port_taken",
            translation_placeholders={
                "title": self.title,
                "port": str(self.endpoint),
                "interval": f"{self._backoff.total_seconds():.0f}",
            },
        )

    def _note_budget(self) -> None:
        """Lengthen the interval when the port's requests do not fit in it at its gap."""
        gap = self._port.gap
        requests = sum(self._port.demand.values())
        needed = timedelta(seconds=math.ceil(requests * gap))
        issue = self._issue("hub_budget")
        if needed <= self.interval:
            if self._budget_interval is not None:
                self._budget_interval = None
                ir.async_delete_issue(self.hass, DOMAIN, issue)
            return
        if self._budget_interval == needed:
            return
        self._budget_interval = needed
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="hub_budget",
            translation_placeholders={
                "port": str(self.endpoint),
                "requests": f"{requests:.1f}",
                "pacing": f"{gap:g}",
                "interval": f"{self.interval.total_seconds():.0f}",
                "budget": f"{self.interval.total_seconds() / gap:.1f}" if gap else "-",
                "needed": f"{needed.total_seconds():.0f}",
            },
        )

    def _issue(self, kind: str) -> str:
        return f"{kind}_{self.entry_id}"
