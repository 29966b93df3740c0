"""The approval gate's records: approval rows, compare-and-set decisions, and their outcomes."""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from core.models import ApprovalRow, ToolCallRow

PENDING, APPROVED, REJECTED, EXPIRED = "pending", "approved", "rejected", "expired"


class DecisionOutcome(StrEnum):
    """What happened to a submitted decision."""

    ACCEPTED = "accepted"
    PARTIAL = "partial"
    ALREADY_DECIDED = "already_decided"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


class DecisionResult(BaseModel):
    """The typed answer of `submit_decision`."""

    model_config = ConfigDict(frozen=True)

    outcome: DecisionOutcome
    approval_id: str
    status: str | None = None
    decided_by: str | None = None
    run_id: str | None = None

    @property
    def message(self) -> str:
        """One sentence for the person who clicked."""
        if self.outcome is DecisionOutcome.ACCEPTED:
            return f"Recorded: {self.status} by {self.decided_by}."
        if self.outcome is DecisionOutcome.PARTIAL:
            return f"Approved by {self.decided_by}; a second, different approver is needed."
        if self.outcome is DecisionOutcome.ALREADY_DECIDED:
            return f"Already {self.status} by {self.decided_by}; nothing changed."
        if self.outcome is DecisionOutcome.EXPIRED:
            return "This approval has expired; nothing will run."
        return "No such approval."


class NeedsApproval(BaseModel):
    """A tool call that may only run after a person approves it."""

    model_config = ConfigDict(frozen=True)

    risk: str
    reason: str


class ApprovalTicket(BaseModel):
    """A recorded approval request the workflow now waits on."""

    model_config = ConfigDict(frozen=True)

    approval_id: str
    topic: str
    timeout_s: float


class ApprovalVerdict(BaseModel):
    """The approval row as re-read after the wait."""

    model_config = ConfigDict(frozen=True)

    status: str
    decided_by: str | None
    reason: str | None
    fingerprint_matches: bool

    @property
    def may_run(self) -> bool:
        """Approved, for exactly these arguments."""
        return self.status == APPROVED and self.fingerprint_matches


def approval_id_for(run_id: str, tool_use_id: str) -> str:
    """A stable id for the approval of one tool call of one run."""
    return hashlib.sha256(f"{run_id}|{tool_use_id}".encode()).hexdigest()[:24]


def topic_for(approval_id: str) -> str:
    """The DBOS message topic the waiting workflow listens on."""
    return f"approval:{approval_id}"


REUSED_TOOL_USE_ID = (
    "this tool call id was already used in this run, and that call was already handled; it is "
    "not run again. Make a new tool call (with a new id) if it is still needed."
)


def tool_use_id_reused(
    session: Session, run_id: str, tool_use_id: str, name: str, args_fingerprint: str,
    needs_approval: bool,
) -> bool:  # fmt: skip
    """Whether an earlier call of this run already used `tool_use_id` (checked before a call
    records anything, so the call's own re-run after a crash is told apart).

    An approval row for the id always means reuse (only the approval step writes one). A
    call row means reuse when this call needs approval (classifying writes no row for it) or
    names another tool or other arguments; otherwise it is this read's own interrupted run.
    """
    if session.get(ApprovalRow, approval_id_for(run_id, tool_use_id)) is not None:
        return True
    call = session.get(ToolCallRow, (run_id, tool_use_id))
    if call is None:
        return False
    return needs_approval or call.name != name or call.fingerprint != args_fingerprint


def insert_approval(session: Session, row: ApprovalRow) -> ApprovalRow | None:
    """Insert the approval unless it exists; return the stored row, or None for a reused id.

    The row exists already when this step re-runs after a crash (the call has no row yet or
    is still `awaiting_approval`; a person may even have decided since). A decided row of a
    call that has finished belongs to an earlier call with the same tool_use id: it is never
    handed out again, so its decision cannot run a second call.
    """
    existing = session.get(ApprovalRow, row.id)
    if existing is None:
        session.add(row)
        return row
    call = session.get(ToolCallRow, (row.run_id, row.tool_use_id))
    same_request = existing.fingerprint == row.fingerprint and existing.tool_name == row.tool_name
    this_call = call is None or call.status == "awaiting_approval"
    return existing if same_request and (existing.status == PENDING or this_call) else None


def approvals_needed_for(row: ApprovalRow, two_person_for: frozenset[str]) -> int:
    """How many distinct approvers this row needs: 2 when its risk is under the two-person
    rule, or when a first approval is already recorded on it (the rules then needed two; a
    later change of configuration never completes it with one), else 1."""
    return 2 if row.risk in two_person_for or row.first_approved_by is not None else 1


def decide(
    session: Session, approval_id: str, approved: bool, approver: str, reason: str | None,
    now: float, approvals_needed: int = 1, *, two_person_for: frozenset[str],
) -> DecisionResult:  # fmt: skip
    """Compare-and-set pending -> approved|rejected, only before expiry.

    The number of approvers comes from the row (`approvals_needed_for`, with the configured
    `two_person_for` risks); a caller's `approvals_needed` can only raise it, never lower it.
    When two are needed the first approval is only recorded (the row stays pending); the
    second, by a different person, approves. Returns the outcome; raises nothing.
    """
    stored = session.get(ApprovalRow, approval_id)
    if stored is None:
        return DecisionResult(outcome=DecisionOutcome.UNKNOWN, approval_id=approval_id)
    needed = max(approvals_needed, approvals_needed_for(stored, two_person_for))
    open_row: tuple[ColumnElement[bool], ...] = (
        ApprovalRow.id == approval_id, ApprovalRow.status == PENDING, ApprovalRow.expires_at > now,
    )  # fmt: skip
    if approved and needed >= 2:
        first = session.execute(
            update(ApprovalRow)
            .where(*open_row, ApprovalRow.first_approved_by.is_(None))
            .values(first_approved_by=approver, first_approved_at=now)
        )
        if getattr(first, "rowcount", 0) == 1:
            return DecisionResult(outcome=DecisionOutcome.PARTIAL, approval_id=approval_id,
                                  status=PENDING, decided_by=approver,
                                  run_id=_run_of(session, approval_id))  # fmt: skip
        extra: tuple[ColumnElement[bool], ...] = (ApprovalRow.first_approved_by.is_not(None),
                 ApprovalRow.first_approved_by != approver)  # fmt: skip
    else:
        extra = ()
    status = APPROVED if approved else REJECTED
    changed = session.execute(
        update(ApprovalRow)
        .where(*open_row, *extra)
        .values(status=status, decided_by=approver, decided_at=now, decision_reason=reason)
    )
    row = session.get(ApprovalRow, approval_id)
    if row is None:
        return DecisionResult(outcome=DecisionOutcome.UNKNOWN, approval_id=approval_id)
    session.refresh(row)
    if getattr(changed, "rowcount", 0) == 1:
        outcome = DecisionOutcome.ACCEPTED
    elif row.status == EXPIRED or (row.status == PENDING and row.expires_at <= now):
        outcome = DecisionOutcome.EXPIRED
    elif row.status == PENDING:
        outcome = DecisionOutcome.PARTIAL  # the same person approved twice: still one approval
    else:
        outcome = DecisionOutcome.ALREADY_DECIDED
    decided_by = row.decided_by or row.first_approved_by
    return DecisionResult(
        outcome=outcome, approval_id=approval_id, status=row.status,
        decided_by=decided_by, run_id=row.run_id,
    )  # fmt: skip


def _run_of(session: Session, approval_id: str) -> str | None:
    row = session.get(ApprovalRow, approval_id)
    return row.run_id if row is not None else None


def expire(session: Session, approval_id: str, now: float) -> None:
    """Compare-and-set pending -> expired (the wait timed out)."""
    session.execute(
        update(ApprovalRow)
        .where(ApprovalRow.id == approval_id, ApprovalRow.status == PENDING)
        .values(status=EXPIRED, decided_at=now)
    )


def mark_delivered(session: Session, approval_id: str) -> None:
    """Remember that the decision reached the workflow."""
    session.execute(update(ApprovalRow).where(ApprovalRow.id == approval_id).values(delivered=True))


def undelivered_decisions(session: Session) -> list[tuple[str, str, dict[str, Any]]]:
    """Decisions recorded but maybe never sent (a crash in between): (run, approval, message)."""
    rows = session.scalars(
        select(ApprovalRow).where(
            ApprovalRow.status.in_([APPROVED, REJECTED]), ApprovalRow.delivered.is_(False)
        )
    ).all()
    return [(row.run_id, row.id, decision_message(row)) for row in rows]


def decision_message(row: ApprovalRow) -> dict[str, Any]:
    """What is sent to the waiting workflow."""
    return {"status": row.status, "decided_by": row.decided_by, "reason": row.decision_reason}
