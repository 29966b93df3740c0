"""A run's tool calls whose task cards may still show `in_progress`, read from the database.

A process renders the cards of the runs it executes and keeps them in memory only; a process
that did not render them (another one handled the Stop; a restarted one finds the dead one's
stream) learns them here: a call's card was sent `in_progress` when it was claimed ("running",
bot/renderer.py `_tool_started`) and its end only when the renderer heard it finish. Calls
refused without running (denied, rejected, expired) never had a running card.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from agents import approvals
from agents.queries import ACTIVE
from agents.runtime import current_engine
from core.models import ApprovalRow, RunRow, ToolCallRow

RAN = ("running", "ok", "error", "unknown")
"""The statuses of a call that was claimed to run (and so had a running card)."""


@dataclass(frozen=True)
class RunningCall:
    """A call whose card may still show running: its tool_use id (the card's id), tool name,
    whether it was approved first (an approved call interrupted is not run again), and, once
    it finished, its status (a ToolStatus value; "running" until then), the result's error
    text and how long it ran."""

    tool_use_id: str
    name: str
    approved: bool
    status: str = "running"
    detail: str = ""
    duration_ms: float = 0.0
    finished_at: float | None = None

    @property
    def finished(self) -> bool:
        """The call has its outcome in the database."""
        return self.status != "running"


@dataclass(frozen=True)
class RunEnd:
    """How a run ended, as its row says: outcome and who cancelled it (None: nobody)."""

    outcome: str
    stopped_by: str | None


def _call(row: ToolCallRow, approved: bool) -> RunningCall:
    result = row.result if isinstance(row.result, dict) else {}
    took = (row.finished_at - row.started_at) * 1000 if row.finished_at and row.started_at else 0
    return RunningCall(row.tool_use_id, row.name, approved, row.status,
                       str(result.get("error") or ""), round(max(0.0, took), 1),
                       row.finished_at)  # fmt: skip


async def left_running(run_id: str, since: float | None) -> list[RunningCall]:
    """The run's calls still running and, unless `since` is None, those that finished at
    `since` or later (the process that showed their card may not have shown their end), in
    the order they started."""

    def read(session: Session) -> list[RunningCall]:
        late = ToolCallRow.status == "running"
        if since is not None:
            late = or_(late, ToolCallRow.finished_at >= since)
        rows = session.scalars(
            select(ToolCallRow)
            .where(ToolCallRow.run_id == run_id, ToolCallRow.status.in_(RAN), late)
            .order_by(ToolCallRow.started_at)
        ).all()  # fmt: skip
        asked = {approvals.approval_id_for(run_id, r.tool_use_id): r for r in rows}
        approved = set(session.scalars(select(ApprovalRow.id).where(ApprovalRow.id.in_(asked))))
        return [_call(row, key in approved) for key, row in asked.items()]

    return await current_engine().db.run(read)


def stopped_by(limit_reason: str | None) -> str | None:
    """Who cancelled a run, from its row's `limit_reason` ("cancelled by U…",
    agents/service.py cancel_run); None when nobody did."""
    prefix = "cancelled by "
    if limit_reason and limit_reason.startswith(prefix):
        return limit_reason[len(prefix) :] or None
    return None


async def run_end(run_id: str) -> tuple[RunEnd | None, float | None]:
    """(how the run ended, when) from its row; (None, None) while it runs or waits."""

    def read(session: Session) -> tuple[RunEnd | None, float | None]:
        row = session.get(RunRow, run_id)
        if row is None or row.status in ACTIVE:
            return None, None
        end = RunEnd(row.outcome or row.status, stopped_by(row.limit_reason))
        return end, row.finished_at

    return await current_engine().db.run(read)
