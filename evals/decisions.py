"""How an eval answers an approval card: as the incident lead (U0LEAD, the only approver)
clicking in the local workspace, or by letting the card expire.

Expiring does what the end of a card's wait does (agents/approval_steps.py
`resolve_approval`): the row goes pending -> expired, audited, and the waiting run is woken
(through the card's topic, as a decision is) instead of after OPSBOT_APPROVAL_TIMEOUT_S, so
a captured run whose card expired replays with that card expired, not rejected.
"""

from __future__ import annotations

import asyncio
import time

from dbos import DBOS
from sqlalchemy.orm import Session

from agents import approvals, audit
from agents.runtime import current_engine
from core.models import ApprovalRow
from sandbox.slack.server import SlackSandbox

CHANNEL = "C0INCIDENTS"
APPROVER = "U0LEAD"


async def answer_card(
    sandbox: SlackSandbox, approval_id: str, card_ts: str, decision: str, reason: str | None
) -> None:
    """Answer the approval card posted at `card_ts` as `decision` says (cases.Decision): click
    Approve, or click Reject and submit the reason dialog, or let it expire. Raises
    RuntimeError when Reject opens no reason dialog."""
    if decision == "expire":
        await expire_now(approval_id)
        return
    if decision == "approve":
        await sandbox.click(APPROVER, CHANNEL, card_ts, "opsbot_approve")
        return
    opened = len(sandbox.workspace.views)
    await sandbox.click(APPROVER, CHANNEL, card_ts, "opsbot_reject")
    for _ in range(200):
        views = sandbox.workspace.views[opened:]
        modal = next((v["view"] for v in views
                      if v["view"].get("callback_id") == "opsbot_reject_reason"), None)  # fmt: skip
        if modal is not None:
            await sandbox.submit_view(APPROVER, modal["id"], {"reason": {"reason": reason or ""}})
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("the Reject button opened no reason dialog")


async def expire_now(approval_id: str) -> None:
    """End the card's wait as if its time ran out; a card already decided stays as it is."""

    def expire(session: Session) -> str | None:
        approvals.expire(session, approval_id, time.time())
        row = session.get(ApprovalRow, approval_id)
        if row is None or row.status != approvals.EXPIRED:
            return None
        audit.add(session, action="expire", outcome="expired", actor=None,
                  approval_id=approval_id, run_id=row.run_id)  # fmt: skip
        return row.run_id

    run_id = await current_engine().db.run(expire)
    if run_id is not None:
        await DBOS.send_async(run_id, {"status": approvals.EXPIRED},
                              topic=approvals.topic_for(approval_id))  # fmt: skip
