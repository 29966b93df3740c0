"""Approval steps: record a request (exact arguments) and resolve it after the wait."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from agents import approvals, audit, tracing
from agents.events import (
    ApprovalRequested,
    ApprovalResolved,
)
from agents.llm import ToolUse
from agents.tool_steps import ToolSteps
from core.models import ApprovalRow, RunRow, ToolCallRow
from core.types import fingerprint
from tools.base import ToolError, ToolResult
from tools.changes.tool import OPEN_PULL_REQUEST

INTERRUPTED_NOTE = (
    "WARNING: the approved run of this call was interrupted by a restart and its outcome is "
    "unknown (it may have taken effect). Check before approving it again."
)


class ApprovalSteps(ToolSteps):
    """The steps around a person's decision."""

    async def request_approval(
        self, run_id: str, thread_id: str, requester: str | None, agent: str, use: ToolUse,
        reason: str, risk: str, attempt: int = 1,
    ) -> approvals.ApprovalTicket | ToolResult:  # fmt: skip
        """Step: record the approval row (exact arguments) and announce it; or refuse bad input.

        A second attempt follows a restart that interrupted the approved call: the card says
        that its outcome is unknown.
        """
        try:
            ctx = await self._call_context(run_id, use.name == OPEN_PULL_REQUEST.name)
            preview = self._tool(use.name).describe(use.input, ctx)
        except ToolError as exc:
            return ToolResult.failed(str(exc))
        if attempt > 1:
            preview = f"{INTERRUPTED_NOTE}\n{preview}"
        key = use.id if attempt == 1 else f"{use.id}#{attempt}"
        approval_id = approvals.approval_id_for(run_id, key)
        now = time.time()
        row = ApprovalRow(
            id=approval_id, run_id=run_id, thread_id=thread_id, tool_use_id=use.id,
            tool_name=use.name, args=use.input, fingerprint=fingerprint(use.name, use.input),
            risk=risk, preview=preview, requester=requester, status=approvals.PENDING,
            created_at=now, expires_at=now + self.settings.approval_timeout_s, delivered=False,
        )  # fmt: skip

        def record(session: Session) -> ApprovalRow | None:
            stored = approvals.insert_approval(session, row)
            run = session.get(RunRow, run_id)
            if run is not None and stored is not None:
                run.status = "waiting_approval"
            return stored

        stored = await self.db.run(record)  # before the call row: it tells a reused id apart
        if stored is None:
            return ToolResult.failed(approvals.REUSED_TOOL_USE_ID)
        await self._save_call(run_id, agent, use, risk, "awaiting_approval")
        await self.publish(
            ApprovalRequested(
                run_id=run_id, approval_id=approval_id, agent=agent, tool_name=use.name,
                risk=risk, preview=preview, reason=reason, requester=requester,
                expires_at=stored.expires_at,
            )
        )  # fmt: skip
        return approvals.ApprovalTicket(
            approval_id=approval_id,
            topic=approvals.topic_for(approval_id),
            timeout_s=max(stored.expires_at - stored.created_at, 0.001),
        )

    async def resolve_approval(
        self, run_id: str, ticket: approvals.ApprovalTicket, use: ToolUse, timed_out: bool,
        hop: int = 0,
    ) -> approvals.ApprovalVerdict:  # fmt: skip
        """Step: after the wait, expire if nobody decided, then re-read the row."""

        def reread(session: Session) -> approvals.ApprovalVerdict:
            if timed_out:
                approvals.expire(session, ticket.approval_id, time.time())
                audit.add(session, action="expire", outcome="expired", actor=None,
                          approval_id=ticket.approval_id, run_id=run_id)  # fmt: skip
            row = session.get(ApprovalRow, ticket.approval_id)
            assert row is not None, f"approval {ticket.approval_id} vanished"
            session.refresh(row)
            row.delivered = True
            verdict = approvals.ApprovalVerdict(
                status=row.status, decided_by=row.decided_by, reason=row.decision_reason,
                fingerprint_matches=row.fingerprint == fingerprint(use.name, use.input),
            )  # fmt: skip
            call = session.get(ToolCallRow, (run_id, use.id))
            if call is not None:
                call.status = "approved" if verdict.may_run else verdict.status
            run = session.get(RunRow, run_id)
            if run is not None:
                run.status = "running"
            return verdict

        verdict = await self.db.run(reread)
        asked = await self.db.run(lambda s: s.get(ApprovalRow, ticket.approval_id))
        if asked is not None:
            self.telemetry.metrics.approval_wait.record(
                time.time() - asked.created_at, {"status": verdict.status, "tool": use.name}
            )
            tracing.past_span(
                self.telemetry, run_id, f"approval {use.name}", parent=tracing.hop_key(hop),
                key=None, started_at=asked.created_at, ok=verdict.may_run,
                attributes={"opsbot.approval.id": ticket.approval_id,
                            "opsbot.approval.status": verdict.status,
                            "opsbot.approval.approver": verdict.decided_by or "",
                            "opsbot.approval.wait_s": round(time.time() - asked.created_at, 3),
                            "gen_ai.tool.name": use.name, "gen_ai.tool.call.id": use.id},
            )  # fmt: skip
        await self.publish(
            ApprovalResolved(run_id=run_id, approval_id=ticket.approval_id,
                             status=verdict.status, decided_by=verdict.decided_by,
                             reason=verdict.reason)
        )  # fmt: skip
        return verdict
