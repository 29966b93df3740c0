"""Read models for people: what runs, what waits, what finished; and the card of an approval."""

from __future__ import annotations

import time
from typing import Any

from dbos import DBOS
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from agents import audit
from agents.approvals import PENDING
from agents.runtime import current_engine
from core.models import ApprovalRow, RunRow, ThreadRow

ACTIVE = ("running", "waiting_approval")


class RunSummary(BaseModel):
    """One run as a status line shows it."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    thread_id: str
    status: str
    agents: list[str]
    started_at: float
    finished_at: float | None
    input_tokens: int
    output_tokens: int
    cost_usd: float
    limit_reason: str | None
    resumed_count: int = 0

    @property
    def channel(self) -> str:
        """The channel part of the thread id."""
        return self.thread_id.split(":")[1]

    @property
    def thread_ts(self) -> str:
        """The thread's root ts."""
        return self.thread_id.split(":", 2)[2]


class PendingApproval(BaseModel):
    """An approval that waits for a person."""

    model_config = ConfigDict(frozen=True)

    approval_id: str
    run_id: str
    tool_name: str
    risk: str
    preview: str
    requester: str | None
    created_at: float
    expires_at: float
    card_channel: str | None
    card_ts: str | None


class Overview(BaseModel):
    """A channel's (or workspace's) runs by state."""

    model_config = ConfigDict(frozen=True)

    running: list[RunSummary]
    waiting: list[PendingApproval]
    queued: list[str]
    finished: list[RunSummary]


class StepLine(BaseModel):
    """One step of a run, for a text waterfall."""

    model_config = ConfigDict(frozen=True)

    name: str
    started_at: float | None
    duration_ms: float | None
    failed: bool


def _summary(row: RunRow) -> RunSummary:
    return RunSummary(
        run_id=row.id, thread_id=row.thread_id, status=row.status, agents=list(row.agents or []),
        started_at=row.started_at, finished_at=row.finished_at, input_tokens=row.input_tokens,
        output_tokens=row.output_tokens, cost_usd=row.cost_usd, limit_reason=row.limit_reason,
        resumed_count=row.resumed_count or 0,
    )  # fmt: skip


def _pending(row: ApprovalRow) -> PendingApproval:
    return PendingApproval(
        approval_id=row.id, run_id=row.run_id, tool_name=row.tool_name, risk=row.risk,
        preview=row.preview, requester=row.requester, created_at=row.created_at,
        expires_at=row.expires_at, card_channel=row.card_channel, card_ts=row.card_ts,
    )  # fmt: skip


def _overview_rows(session: Session, prefix: str, finished_limit: int) -> Overview:
    like = f"{prefix}%"
    active = session.scalars(
        select(RunRow).where(RunRow.thread_id.like(like), RunRow.status.in_(ACTIVE))
        .order_by(RunRow.started_at)
    ).all()  # fmt: skip
    done = session.scalars(
        select(RunRow).where(RunRow.thread_id.like(like), RunRow.status.not_in(ACTIVE))
        .order_by(RunRow.finished_at.desc()).limit(finished_limit)
    ).all()  # fmt: skip
    waiting = session.scalars(
        select(ApprovalRow).where(ApprovalRow.thread_id.like(like), ApprovalRow.status == PENDING)
        .order_by(ApprovalRow.created_at)
    ).all()  # fmt: skip
    return Overview(
        running=[_summary(r) for r in active], waiting=[_pending(a) for a in waiting],
        queued=[], finished=[_summary(r) for r in done],
    )  # fmt: skip


async def overview(team: str, channel: str | None = None, finished_limit: int = 5) -> Overview:
    """Runs of a channel (or of the whole team): running, waiting, queued, recently finished."""
    engine = current_engine()
    prefix = f"{team}:{channel}:" if channel else f"{team}:"
    result = await engine.db.run(lambda s: _overview_rows(s, prefix, finished_limit))
    queued = await DBOS.list_workflows_async(
        status=["DELAYED", "ENQUEUED"],
        workflow_id_prefix=prefix,
        load_input=False,
        load_output=False,
    )
    return result.model_copy(update={"queued": [w.workflow_id for w in queued]})


async def run_summary(run_id: str) -> RunSummary | None:
    """One run, or None."""
    row = await current_engine().db.run(lambda s: s.get(RunRow, run_id))
    return _summary(row) if row is not None else None


async def thread_runs(thread_id: str) -> list[RunSummary]:
    """Every run of one thread, oldest first."""
    rows = await current_engine().db.run(
        lambda s: s.scalars(
            select(RunRow).where(RunRow.thread_id == thread_id).order_by(RunRow.started_at)
        ).all()
    )
    return [_summary(r) for r in rows]


async def run_steps(run_id: str) -> list[StepLine]:
    """The run's durable steps in order, with their durations."""
    return step_lines(await DBOS.list_workflow_steps_async(run_id, load_output=False))


def step_lines(steps: list[Any]) -> list[StepLine]:
    """DBOS step records as waterfall lines."""
    lines = []
    for info in steps:
        started, done = info["started_at_epoch_ms"], info["completed_at_epoch_ms"]
        lines.append(
            StepLine(
                name=info["function_name"].rsplit(".", 1)[-1],
                started_at=started / 1000 if started else None,
                duration_ms=float(done - started) if started and done else None,
                failed=info["error"] is not None,
            )
        )
    return lines


async def thread_known(thread_id: str) -> bool:
    """Whether opsbot already took part in this thread."""
    row = await current_engine().db.run(lambda s: s.get(ThreadRow, thread_id))
    return row is not None


async def pending_for(approval_id: str) -> PendingApproval | None:
    """An approval (whatever its status) as a pending-approval record, or None."""
    row = await current_engine().db.run(lambda s: s.get(ApprovalRow, approval_id))
    return _pending(row) if row is not None else None


async def approval_status(approval_id: str) -> dict[str, Any] | None:
    """Status, decider and requester of an approval."""

    def read(session: Session) -> dict[str, Any] | None:
        row = session.get(ApprovalRow, approval_id)
        if row is None:
            return None
        fields = (
            "status",
            "decided_by",
            "requester",
            "run_id",
            "expires_at",
            "tool_name",
            "risk",
            "first_approved_by",
            "thread_id",
        )
        return {name: getattr(row, name) for name in fields}

    return await current_engine().db.run(read)


async def record_card(approval_id: str, channel: str, ts: str) -> None:
    """Remember where an approval's card was posted."""
    await current_engine().db.run(
        lambda s: s.execute(
            update(ApprovalRow)
            .where(ApprovalRow.id == approval_id)
            .values(card_channel=channel, card_ts=ts)
        )
    )


async def card_of(approval_id: str) -> tuple[str, str] | None:
    """The (channel, ts) of an approval's card, if it was posted."""
    row = await current_engine().db.run(lambda s: s.get(ApprovalRow, approval_id))
    if row is None or not row.card_channel or not row.card_ts:
        return None
    return row.card_channel, row.card_ts


async def pending_approvals_of_run(run_id: str) -> list[PendingApproval]:
    """The run's approvals that still wait."""
    rows = await current_engine().db.run(
        lambda s: s.scalars(
            select(ApprovalRow).where(ApprovalRow.run_id == run_id, ApprovalRow.status == PENDING)
        ).all()
    )
    return [_pending(r) for r in rows]


def elapsed(since: float) -> str:
    """A short human duration since an epoch time."""
    seconds = max(0, int(time.time() - since))
    if seconds < 90:
        return f"{seconds}s"
    if seconds < 5400:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


async def run_decisions(run_id: str) -> list[audit.AuditEntry]:
    """The audit rows of one run, newest first."""
    return await current_engine().db.run(lambda s: audit.entries(s, run_id, 50))


def trace_id_hex(run_id: str) -> str:
    """The run's OpenTelemetry trace id, as tracing backends show it."""
    from core.telemetry import trace_id_for

    return f"{trace_id_for(run_id):032x}"


def waterfall(steps: list[StepLine]) -> str:
    """Steps as a text waterfall: offset, name, duration, and a bar."""
    starts = [s.started_at for s in steps if s.started_at]
    if not starts:
        return "no steps yet"
    first = min(starts)
    last = max((s.started_at or first) + (s.duration_ms or 0) / 1000 for s in steps)
    scale = 40 / max(last - first, 0.001)
    lines = []
    for step in steps:
        offset = (step.started_at or first) - first
        took = (step.duration_ms or 0) / 1000
        bar = " " * int(offset * scale) + "#" * max(1, int(took * scale))
        label = f"{step.duration_ms:.0f} ms" if step.duration_ms is not None else "running"
        mark = " FAILED" if step.failed else ""
        lines.append(f"{offset * 1000:>9.0f} ms  {step.name:<18} {label:>10}{mark}  |{bar}")
    return "\n".join(lines)
