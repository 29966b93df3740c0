"""The idle sweep picks a thread, then a new mention starts a run there before the sweep
claims it: the claim is refused, so the working thread's session is never set `closed`
(the sweep's `closed`, wanted after the run's `processing`, would have won)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.orm import Session

from agents.runtime import current_engine
from agents.session_expiry import claim_closing, idle_sessions
from bot.session_status import SessionStatus
from core.models import RunRow
from sandbox.slack.app import RunningSlack
from tests.integration.test_session_expiry import add_thread, model, slack, status

__all__ = ["model", "slack", "status"]  # the fixtures, imported so pytest finds them here
THREAD = "T0SANDBOX:C0INCIDENTS:1.0001"


async def start_run(thread_id: str, run_status: str) -> None:
    def add(session: Session) -> None:
        session.add(RunRow(id=f"{thread_id}:new", thread_id=thread_id, message_ts="9.0",
                           status=run_status, agents=[], started_at=time.time()))  # fmt: skip

    await current_engine().db.run(add)


@pytest.mark.parametrize("run_status", ["running", "waiting_approval"])
async def test_a_run_started_after_the_sweep_picked_its_thread_keeps_it_open(
    slack: RunningSlack, status: SessionStatus, run_status: str
) -> None:
    await add_thread(THREAD, [("succeeded", 2.0)])
    [picked] = await idle_sessions(60.0, time.time())
    assert picked.thread_id == THREAD

    await start_run(THREAD, run_status)  # a new mention, between the pick and the claim

    assert await claim_closing(picked, time.time()) is False
    assert await idle_sessions(60.0, time.time()) == []
