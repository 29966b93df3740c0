"""The audit log: every decision, expiry, refused attempt and cancellation, as a row."""

from __future__ import annotations

import time

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from agents.runtime import current_engine
from core.models import ApprovalRow, AuditRow


class AuditEntry(BaseModel):
    """One audit row as people read it."""

    model_config = ConfigDict(frozen=True)

    at: float
    actor: str | None
    action: str
    outcome: str
    approval_id: str | None
    run_id: str | None
    tool_name: str | None
    fingerprint: str | None
    detail: str | None


def add(
    session: Session, *, action: str, outcome: str, actor: str | None,
    approval_id: str | None = None, run_id: str | None = None, detail: str | None = None,
) -> None:  # fmt: skip
    """Append a row (the approval's tool and fingerprint are copied onto it)."""
    approval = session.get(ApprovalRow, approval_id) if approval_id else None
    session.add(
        AuditRow(
            at=time.time(), approval_id=approval_id,
            run_id=run_id or (approval.run_id if approval else None), actor=actor, action=action,
            outcome=outcome, tool_name=approval.tool_name if approval else None,
            fingerprint=approval.fingerprint if approval else None, detail=detail,
        )
    )  # fmt: skip


async def record(
    *, action: str, outcome: str, actor: str | None, approval_id: str | None = None,
    run_id: str | None = None, detail: str | None = None,
) -> None:  # fmt: skip
    """Append a row in its own transaction."""
    await current_engine().db.run(
        lambda s: add(
            s,
            action=action,
            outcome=outcome,
            actor=actor,
            approval_id=approval_id,
            run_id=run_id,
            detail=detail,
        )
    )


def entries(session: Session, run_id: str | None = None, limit: int = 200) -> list[AuditEntry]:
    """The newest rows first (of one run, when given)."""
    query = select(AuditRow).order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
    if run_id:
        query = query.where(AuditRow.run_id == run_id)
    return [
        AuditEntry(
            at=r.at,
            actor=r.actor,
            action=r.action,
            outcome=r.outcome,
            approval_id=r.approval_id,
            run_id=r.run_id,
            tool_name=r.tool_name,
            fingerprint=r.fingerprint,
            detail=r.detail,
        )
        for r in session.scalars(query).all()
    ]


def table(rows: list[AuditEntry]) -> str:
    """Rows as a text table."""
    lines = [f"{'when (UTC)':<20} {'actor':<12} {'action':<12} {'outcome':<16} {'tool':<14} "
             f"{'fingerprint':<12} run / detail"]  # fmt: skip
    for row in rows:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row.at))
        lines.append(
            f"{when:<20} {row.actor or '-':<12} {row.action:<12} {row.outcome:<16} "
            f"{row.tool_name or '-':<14} {(row.fingerprint or '-')[:12]:<12} "
            f"{row.run_id or '-'}{' · ' + row.detail if row.detail else ''}"
        )
    return "\n".join(lines)
