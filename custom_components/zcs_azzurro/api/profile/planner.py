"""Few read requests for the registers wanted, within what the device allows.

Each block must be read separately, so the fewest requests possible is the number of
blocks touched, plus whatever more the register limit and gaps force. Going left to
right and extending a request while the next run still fits gives that fewest number:
a run that does not fit can start no earlier request.
"""

from __future__ import annotations

from collections.abc import Iterable

from .schema import ReadRules, Span


def plan(runs: Iterable[Span], rules: ReadRules) -> tuple[Span, ...]:
    """The read requests that cover every run; each lies in one block and avoids gaps."""
    requests: list[Span] = []
    current: Span | None = None
    current_block: Span | None = None
    for run in sorted(set(runs), key=lambda span: (span.address, span.end)):
        block = rules.block_of(run)
        if block is None or rules.in_gap(run):
            raise ValueError(f"registers {run.address:#06x}..{run.end:#06x} cannot be read")
        if current is not None and block == current_block:
            merged = Span(current.address, max(current.end, run.end) - current.address + 1)
            if merged.count <= rules.max_registers and not rules.in_gap(merged):
                current = merged
                continue
        if current is not None:
            requests.append(current)
        current, current_block = run, block
    if current is not None:
        requests.append(current)
    return tuple(requests)
