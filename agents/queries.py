"""Read models for people: what runs, what waits, what finished; and the card of an approval."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from dbos import DBOS
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from agents import alert_groups, audit
from agents.approvals import PENDING
from agents.run_about import first_words as first_words
from agents.run_about import requests_of
from agents.run_steps import StepLine as StepLine  # re-exported: callers import them from here
from agents.run_steps import step_lines as step_lines
from agents.run_steps import waterfall as waterfall
from agents.runtime import current_engine
from core.models import ApprovalRow, MessageRow, RunRow, ThreadRow, ToolCallRow

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
    requester: str | None = None
    about: str = ""  # the first words of the request that started it

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
    about: str = ""  # the first words of the request of its run
    thread_ts: str | None = None  # the root of the thread the card is posted in
    first_approved_by: str | None = None  # the first of two approvers, when two are needed


class Overview(BaseModel):
    """A channel's (or workspace's) runs by state."""

    model_config = ConfigDict(frozen=True)

    running: list[RunSummary]
    waiting: list[PendingApproval]
    queued: list[str]
    finished: list[RunSummary]


def _abouts(session: Session, run_ids: list[str]) -> dict[str, str]:
    """Each run's request (the user message it answered), in a few words."""
    if not run_ids:
        return {}
    rows = session.scalars(
        select(MessageRow).where(MessageRow.run_id.in_(run_ids), MessageRow.role == "user")
        .order_by(MessageRow.seq)
    ).all()  # fmt: skip
    found: dict[str, str] = {}
    for row in rows:
        found.setdefault(row.run_id, first_words(row.content))
    return found


async def _with_requests(overview: Overview) -> Overview:
    """The overview with `about` filled in where the conversation is not stored yet."""
    runs = [*overview.running, *overview.finished]
    missing = {r.run_id for r in runs if not r.about} | {
        a.run_id for a in overview.waiting if not a.about
    }
    found = await requests_of(sorted(missing))
    if not found:
        return overview

    def run(summary: RunSummary) -> RunSummary:
        about = summary.about or found.get(summary.run_id, "")
        return summary.model_copy(update={"about": about})

    def pending(approval: PendingApproval) -> PendingApproval:
        about = approval.about or found.get(approval.run_id, "")
        return approval.model_copy(update={"about": about})

    return overview.model_copy(update={
        "running": [run(r) for r in overview.running],
        "finished": [run(r) for r in overview.finished],
        "waiting": [pending(a) for a in overview.waiting],
    })  # fmt: skip


def _summary(row: RunRow, about: str = "") -> RunSummary:
    return RunSummary(
        run_id=row.id, thread_id=row.thread_id, status=row.status, agents=list(row.agents or []),
        started_at=row.started_at, finished_at=row.finished_at, input_tokens=row.input_tokens,
        output_tokens=row.output_tokens, cost_usd=row.cost_usd, limit_reason=row.limit_reason,
        resumed_count=row.resumed_count or 0, requester=row.requester, about=about,
    )  # fmt: skip


def _summaries(session: Session, rows: Sequence[RunRow]) -> list[RunSummary]:
    abouts = _abouts(session, [row.id for row in rows])
    return [_summary(row, abouts.get(row.id, "")) for row in rows]


def _pending(row: ApprovalRow, about: str = "") -> PendingApproval:
    return PendingApproval(
        approval_id=row.id, run_id=row.run_id, tool_name=row.tool_name, risk=row.risk,
        preview=row.preview, requester=row.requester, created_at=row.created_at,
        expires_at=row.expires_at, card_channel=row.card_channel, card_ts=row.card_ts,
        about=about, thread_ts=row.thread_id.split(":", 2)[2] if row.thread_id.count(":") >= 2
        else None, first_approved_by=row.first_approved_by,
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
    abouts = _abouts(session, [a.run_id for a in waiting])
    return Overview(
        running=_summaries(session, active),
        waiting=[_pending(a, abouts.get(a.run_id, "")) for a in waiting],
        queued=[], finished=_summaries(session, done),
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
    result = await _with_requests(result)
    return result.model_copy(update={"queued": [w.workflow_id for w in queued]})


async def firing_alerts(channel: str | None = None) -> list[alert_groups.FiringGroup]:
    """Alertmanager groups firing now whose threads are in `channel` (all when None)."""
    return await current_engine().db.run(lambda s: alert_groups.firing_groups(s, channel))


async def run_summary(run_id: str) -> RunSummary | None:
    """One run, or None."""

    def read(session: Session) -> RunSummary | None:
        row = session.get(RunRow, run_id)
        return _summaries(session, [row])[0] if row is not None else None

    summary = await current_engine().db.run(read)
    if summary is not None and not summary.about:
        about = (await requests_of([run_id])).get(run_id, "")
        summary = summary.model_copy(update={"about": about})
    return summary


async def thread_runs(thread_id: str) -> list[RunSummary]:
    """Every run of one thread, oldest first."""

    def read(session: Session) -> list[RunSummary]:
        rows = session.scalars(
            select(RunRow).where(RunRow.thread_id == thread_id).order_by(RunRow.started_at)
        ).all()
        return _summaries(session, rows)

    return await current_engine().db.run(read)


async def run_steps(run_id: str) -> list[StepLine]:
    """The run's durable steps in order, with their durations."""
    return step_lines(await DBOS.list_workflow_steps_async(run_id, load_output=False))


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


async def running_tools(run_id: str) -> list[str]:
    """The names of the run's tool calls executing now (approved and started, not finished)."""
    rows = await current_engine().db.run(
        lambda s: s.scalars(
            select(ToolCallRow.name).where(
                ToolCallRow.run_id == run_id, ToolCallRow.status == "running"
            )
        ).all()
    )
    return list(rows)


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
