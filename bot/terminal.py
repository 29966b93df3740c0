"""A `Publisher` that renders a run in the terminal, for `opsbot ask`."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from agents.events import (
    ApprovalRequested,
    ApprovalResolved,
    ModelRetry,
    Routed,
    RunEvent,
    RunFinished,
    RunStarted,
    TextDelta,
    ToolFinished,
    ToolStarted,
)  # fmt: skip
from agents.outcomes import words as outcome_words
from agents.pricing import cached_share

MARKS = {"ok": "ok", "error": "error", "denied": "denied", "rejected": "rejected",
         "expired": "expired", "unknown": "outcome unknown"}  # fmt: skip


class TerminalPublisher:
    """Prints routing, streamed text, tool progress and the footer; queues approval requests."""

    def __init__(self, run_id: str, out: TextIO | None = None) -> None:
        self.run_id = run_id
        self.out = out or sys.stdout
        self.approvals: asyncio.Queue[ApprovalRequested] = asyncio.Queue()
        self._mid_line = False

    def _line(self, text: str) -> None:
        if self._mid_line:
            self.out.write("\n")
            self._mid_line = False
        self.out.write(text + "\n")
        self.out.flush()

    async def publish(self, event: RunEvent) -> None:
        """Render one event of this run."""
        if event.run_id != self.run_id:
            return
        if isinstance(event, RunStarted):
            self._line(f"opsbot: on it ({event.run_id})")
        elif isinstance(event, Routed):
            self._line(f"\n-> {event.agent}  ({event.rule}: {event.reason})")
        elif isinstance(event, TextDelta):
            self.out.write(event.text)
            self.out.flush()
            self._mid_line = not event.text.endswith("\n")
        elif isinstance(event, ModelRetry):
            self._line(f"   [model call failed: {event.error}; retry {event.attempt}]")
        elif isinstance(event, ToolStarted):
            self._line(f"   - {event.name} {event.summary}".rstrip())
        elif isinstance(event, ToolFinished):
            detail = f": {' '.join(event.detail.split())}" if event.detail.strip() else ""
            mark = MARKS.get(event.status, event.status)
            self._line(f"     {event.name} {mark} ({event.duration_ms:.0f} ms){detail}")
        elif isinstance(event, ApprovalRequested):
            self._line(approval_card(event))
            await self.approvals.put(event)
        elif isinstance(event, ApprovalResolved):
            by = f" by {event.decided_by}" if event.decided_by else ""
            self._line(f"   approval {event.status}{by}")
        elif isinstance(event, RunFinished):
            self._line(footer(event))


def approval_card(event: ApprovalRequested) -> str:
    """The approval request as a boxed block of text."""
    rule = "-" * 72
    return "\n".join(
        [
            rule,
            f"APPROVAL NEEDED [{event.risk}] {event.tool_name} (asked by {event.agent})",
            f"why: {event.reason or '(no reason given)'}",
            event.preview.rstrip(),
            rule,
        ]
    )


def footer(event: RunFinished) -> str:
    """Outcome, duration, tokens and cost of a finished run."""
    limit = f" ({event.limit})" if event.limit else ""
    return (
        f"\n--- {outcome_words(event.outcome)}{limit} in {event.duration_s:.1f}s, "
        f"{event.input_tokens} in{cached_share(event.cache_read_tokens, event.input_tokens)}"
        f" / {event.output_tokens} out tokens, ${event.cost_usd:.4f}"
    )
