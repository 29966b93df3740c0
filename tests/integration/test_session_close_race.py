"""Closing a session while another process starts a run in its thread.

The idle sweep picks a thread, then a new mention starts a run there before the sweep claims
it: the claim is refused, so the working thread's session is never set `closed`.

Several processes share the database, and their calls reach Slack in no guaranteed order: a
process claims the close (nothing runs), another starts a run in the thread and its status
reaches Slack first, then the `closed` lands. The closing process reads the status the
database implies once its call went out and sets that one, again after each call, so the
thread ends up showing its true status whichever call came last. Each test is two
`SessionStatus` instances (two processes) against one local workspace and one database; the
slow one's calls reach Slack only after the other process's steps (`SlowWriter`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from agents.alert_groups import AlertGroup
from agents.approval_rules import ApprovalRules
from agents.events import (
    ApprovalRequested,
    ApprovalResolved,
    RunEvent,
    RunFinished,
    RunStarted,
)
from agents.runtime import current_engine
from agents.session_expiry import claim_closing, idle_sessions, implied_status
from bot.alerts.desk import AlertDesk
from bot.approvers import Approvers
from bot.deps import BotDeps
from bot.session_expiry import close_idle_sessions
from bot.session_status import METHOD, SessionStatus
from bot.writer import SlackWriter
from core.models import RunRow
from core.redact import Redactor
from sandbox.model.server import RunningModelServer
from sandbox.slack.app import RunningSlack
from tests.integration.test_session_expiry import CHANNEL, add_thread, model, slack, status
from tests.support import make_settings

__all__ = ["model", "slack", "status"]  # the fixtures, imported so pytest finds them here
THREAD = "T0SANDBOX:C0INCIDENTS:1.0001"
Step = Callable[[], Awaitable[None]]


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


@dataclass
class SlowWriter(SlackWriter):
    """The writer of a process whose status calls are slow: before its next call of a status
    named in `before`, that step (another process's work) runs first."""

    before: dict[str, Step] = field(default_factory=dict)

    async def call(self, method: str, **arguments: Any) -> dict[str, Any]:
        """The step due before this status (if any), then the real call."""
        step = self.before.pop(str(arguments.get("status")), None) if method == METHOD else None
        if step is not None:
            await step()
        return await super().call(method, **arguments)


def slow_process(status: SessionStatus, before: dict[str, Step]) -> SessionStatus:
    """Another process's `SessionStatus`, against the same workspace and database."""
    return SessionStatus(SlowWriter(status.writer.client, rate_scale=100.0, before=before))


async def idle_thread(slack: RunningSlack, runs: list[tuple[str, float | None]]) -> str:
    """A thread of #incidents in the workspace and the database, with these runs; its ts."""
    root = await slack.sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout is returning 500s")
    await add_thread(f"{slack.sandbox.workspace.team_id}:{CHANNEL}:{root.ts}", runs)
    return root.ts


def event_of(run_id: str, thread_id: str, to: str, new: bool) -> RunEvent:
    if new:
        return RunStarted(run_id=run_id, thread_id=thread_id, requester="U0ONCALL",
                          text="and the cart?")  # fmt: skip
    if to == "waiting_approval":
        return ApprovalRequested(run_id=run_id, approval_id="a1", agent="coding",
                                 tool_name="shell_execute", risk="write", preview="restart",
                                 reason="restart the cart", requester="U0ONCALL",
                                 expires_at=time.time() + 600)  # fmt: skip
    if to == "running":
        return ApprovalResolved(run_id=run_id, approval_id="a1", status="approved",
                                decided_by="U0LEAD", reason=None)  # fmt: skip
    return RunFinished(run_id=run_id, outcome="answered", answer="done", limit=None,
                       input_tokens=1, output_tokens=1, cost_usd=0.0, duration_s=0.1)  # fmt: skip


def moves(process: SessionStatus, run_id: str, thread_id: str, *statuses: str) -> Step:
    """`process`'s run in the thread going through `statuses` as a run does: its row first
    (created by the first), then the event it publishes; each step waits for the call."""

    async def step() -> None:
        for to in statuses:

            def write(session: Session, to: str = to) -> bool:
                row = session.get(RunRow, run_id)
                if row is None:
                    session.add(RunRow(id=run_id, thread_id=thread_id, message_ts="9.0",
                                       status=to, agents=[], started_at=time.time()))  # fmt: skip
                    return True
                row.status = to
                row.finished_at = time.time() if to == "succeeded" else None
                return False

            new = await current_engine().db.run(write)
            await process.publish(event_of(run_id, thread_id, to, new))
            await process.settled()

    return step


def history_of(slack: RunningSlack, thread_ts: str) -> list[str]:
    return slack.sandbox.api.sessions[(CHANNEL, thread_ts)].history


@pytest.mark.parametrize(
    ("runs", "shown"),
    [(["running"], "processing"), (["running", "waiting_approval"], "suspended"),
     (["running", "succeeded"], "active")],
    ids=["working", "waiting-for-a-decision", "ended-quickly"],
)  # fmt: skip
async def test_a_close_that_reaches_slack_after_a_new_runs_status_is_corrected(
    slack: RunningSlack, status: SessionStatus, runs: list[str], shown: str
) -> None:
    thread_ts = await idle_thread(slack, [("succeeded", 2.0)])
    thread_id = f"T0SANDBOX:{CHANNEL}:{thread_ts}"
    other = SessionStatus(status.writer)
    new_mention = moves(other, f"{thread_id}:new", thread_id, *runs)
    closer = slow_process(status, {"closed": new_mention})

    assert await close_idle_sessions(closer, 0.0) == 1, "claimed while nothing ran there"
    await closer.settled()

    history = history_of(slack, thread_ts)
    assert history[-3:] == [shown, "closed", shown], "the run's status came first, then closed"
    assert await implied_status(thread_id) == shown


@pytest.mark.parametrize(
    ("first", "then", "stale", "shown"),
    [(["running"], ["succeeded"], "processing", "active"),
     (["running", "waiting_approval"], ["running"], "suspended", "processing")],
    ids=["run-ended", "decision-made"],
)  # fmt: skip
async def test_a_correction_that_reaches_slack_after_the_runs_next_status_is_corrected_again(
    slack: RunningSlack, status: SessionStatus, first: list[str], then: list[str], stale: str,
    shown: str,
) -> None:  # fmt: skip
    thread_ts = await idle_thread(slack, [("succeeded", 2.0)])
    thread_id = f"T0SANDBOX:{CHANNEL}:{thread_ts}"
    other = SessionStatus(status.writer)
    run_id = f"{thread_id}:new"
    closer = slow_process(status, {"closed": moves(other, run_id, thread_id, *first),
                                   stale: moves(other, run_id, thread_id, *then)})  # fmt: skip

    assert await close_idle_sessions(closer, 0.0) == 1
    await closer.settled()

    history = history_of(slack, thread_ts)
    assert history[-4:] == ["closed", shown, stale, shown], "each late call was followed"
    assert await implied_status(thread_id) == shown


@pytest.mark.parametrize(
    ("runs", "shown"), [(["running"], "processing"), (["running", "waiting_approval"], "suspended")]
)
async def test_a_finished_runs_status_that_reaches_slack_after_the_next_runs_is_corrected(
    slack: RunningSlack, status: SessionStatus, runs: list[str], shown: str
) -> None:
    thread_ts = await idle_thread(slack, [])
    thread_id = f"T0SANDBOX:{CHANNEL}:{thread_ts}"
    other = SessionStatus(status.writer)
    first = slow_process(status, {})
    await moves(first, f"{thread_id}:1", thread_id, "running")()
    assert history_of(slack, thread_ts) == ["processing"]

    assert isinstance(first.writer, SlowWriter)
    first.writer.before["active"] = moves(other, f"{thread_id}:2", thread_id, *runs)
    await moves(first, f"{thread_id}:1", thread_id, "succeeded")()  # its `active` comes last

    assert history_of(slack, thread_ts)[-2:] == ["active", shown]


@pytest.mark.parametrize(
    ("runs", "shown"), [(["running"], "processing"), (["running", "succeeded"], "active")],
    ids=["working", "ended-quickly"],
)  # fmt: skip
async def test_a_resolved_incidents_close_that_reaches_slack_late_is_corrected(
    slack: RunningSlack, status: SessionStatus, model: RunningModelServer, database_url: str,
    workspace: Path, runs: list[str], shown: str,
) -> None:  # fmt: skip
    thread_ts = await idle_thread(slack, [("succeeded", 2.0)])
    thread_id = f"T0SANDBOX:{CHANNEL}:{thread_ts}"
    other = SessionStatus(status.writer)
    closer = slow_process(status, {"closed": moves(other, f"{thread_id}:new", thread_id, *runs)})
    deps = BotDeps(settings=make_settings(database_url, workspace, model.url),
                   writer=closer.writer, approvers=Approvers(closer.writer, ApprovalRules()),
                   bot_user="U0BOT", team="T0SANDBOX", domain=None, redactor=Redactor(),
                   sessions=closer)  # fmt: skip
    group = AlertGroup(id="g1", episode=1, status="resolved", investigate=True, channel=CHANNEL,
                       thread_ts=thread_ts, card_episode=1, run_episode=1, notification={},
                       version=1, attempts=0)  # fmt: skip

    await AlertDesk(deps, "desk-1")._close_session(group)  # the alert group resolved
    await closer.settled()

    history = history_of(slack, thread_ts)
    assert history[-3:] == [shown, "closed", shown]
    assert await implied_status(thread_id) == shown
