"""Idle threads' agent sessions become `closed`: real runs (DBOS, the scripted model, a real
database) in threads of the local workspace, the session status set through the real
slack_sdk client, and the sweep of bot/session_expiry.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.orm import Session

from agents import service
from agents.publisher import FanoutPublisher
from agents.runtime import current_engine
from agents.session_expiry import claim_closing_now
from bot.session_expiry import close_idle_sessions, sweep_interval
from bot.session_status import SessionStatus
from bot.writer import SlackWriter
from core.models import RunRow, ThreadRow
from core.types import IncomingMessage, ThreadRef
from sandbox.model.server import RunningModelServer, start_model_server
from sandbox.slack.app import RunningSlack
from sandbox.slack.server import Outage
from tests.integration.test_slack_agent_sessions import slack
from tests.support import make_settings, scripted

__all__ = ["slack"]  # the fixture, imported so pytest finds it here
CHANNEL = "C0INCIDENTS"
IDLE_S = 0.5


@pytest.fixture
async def model() -> AsyncIterator[RunningModelServer]:
    turn = {"match": ".*", "router": [{"agent": "log_analyzer", "reason": "read the logs"}],
            "log_analyzer": [{"text": "Errors began at 14:02 UTC."}]}  # fmt: skip
    server = await start_model_server(scripted([turn, turn]))
    yield server
    await server.stop()


@pytest.fixture
async def status(
    slack: RunningSlack, model: RunningModelServer, database_url: str, workspace: Path
) -> AsyncIterator[SessionStatus]:
    """A launched engine whose runs set session statuses in the local workspace."""
    web = AsyncWebClient(token=slack.sandbox.workspace.bot_token, base_url=slack.api_url)
    sessions = SessionStatus(SlackWriter(web, rate_scale=100.0))
    settings = make_settings(database_url, workspace, model.url)
    await service.launch(settings, FanoutPublisher([sessions]))
    yield sessions
    await sessions.close()
    await service.stop()
    if web.session is not None:
        await web.session.close()


async def run_in_new_thread(slack: RunningSlack, text: str = "checkout is returning 500s") -> str:
    """A finished run in a new thread of #incidents; returns the thread's ts."""
    root = await slack.sandbox.post_as("U0ONCALL", CHANNEL, f"<@U0BOT> {text}")
    await run_in(slack, root.ts, text)
    return root.ts


async def run_in(slack: RunningSlack, thread_ts: str, text: str) -> None:
    thread = ThreadRef(team=slack.sandbox.workspace.team_id, channel=CHANNEL, thread_ts=thread_ts)
    handle = await service.start_turn(
        thread, IncomingMessage(ts=f"{time.time():.6f}", text=text, user="U0ONCALL")
    )
    await asyncio.wait_for(handle.get_result(), 60)


def session_of(slack: RunningSlack, thread_ts: str) -> str | None:
    found = slack.sandbox.api.sessions.get((CHANNEL, thread_ts))
    return found.status if found else None


async def test_an_idle_thread_is_closed_once_and_reopened_by_its_next_run(
    slack: RunningSlack, status: SessionStatus
) -> None:
    thread_ts = await run_in_new_thread(slack)
    await status.settled()
    assert session_of(slack, thread_ts) == "active"
    assert await close_idle_sessions(status, 60.0) == 0, "not idle long enough yet"

    await asyncio.sleep(IDLE_S + 0.1)
    assert await close_idle_sessions(status, IDLE_S) == 1
    await status.settled()
    assert session_of(slack, thread_ts) == "closed"
    assert await close_idle_sessions(status, IDLE_S) == 0, "closed once"
    other_process = SessionStatus(status.writer)
    assert await close_idle_sessions(other_process, IDLE_S) == 0, "claimed: not by two processes"

    await run_in(slack, thread_ts, "and now the cart?")
    await status.settled()
    history = slack.sandbox.api.sessions[(CHANNEL, thread_ts)].history
    assert history[-3:] == ["closed", "processing", "active"]
    await asyncio.sleep(IDLE_S + 0.1)
    assert await close_idle_sessions(status, IDLE_S) == 1, "idle again: closed again"
    await status.settled()
    assert session_of(slack, thread_ts) == "closed"
    assert [s for s in history if s == "closed"] == ["closed", "closed"]


async def add_thread(thread_id: str, runs: list[tuple[str, float | None]]) -> None:
    """A thread with runs of these (status, finished_at), straight into the database."""
    team, channel, thread_ts = thread_id.split(":", 2)

    def add(session: Session) -> None:
        session.add(ThreadRow(id=thread_id, team=team, channel=channel, thread_ts=thread_ts,
                              created_at=1.0, updated_at=1.0))  # fmt: skip
        session.flush()
        for index, (run_status, finished) in enumerate(runs):
            session.add(RunRow(id=f"{thread_id}:{index}", thread_id=thread_id,
                               message_ts=f"{index}.0", status=run_status, agents=[],
                               started_at=1.0, finished_at=finished))  # fmt: skip

    await current_engine().db.run(add)


@pytest.mark.parametrize(
    ("thread_id", "runs"),
    [
        ("T0SANDBOX:C0INCIDENTS:1.0001", [("succeeded", 2.0), ("waiting_approval", None)]),
        ("T0SANDBOX:C0INCIDENTS:1.0002", [("succeeded", 2.0), ("running", None)]),
        ("local:terminal:1.0003", [("succeeded", 2.0)]),
        ("T0SANDBOX:C0INCIDENTS:1.0004", [("failed", None)]),
    ],
    ids=["waiting-for-a-decision", "running", "terminal-session", "no-end-time"],
)  # fmt: skip
async def test_a_thread_that_waits_works_or_is_no_slack_thread_is_never_closed(
    slack: RunningSlack, status: SessionStatus, thread_id: str, runs: list[tuple[str, float | None]]
) -> None:
    await add_thread(thread_id, runs)
    assert await close_idle_sessions(status, IDLE_S) == 0
    await status.settled()
    assert slack.sandbox.api.sessions == {}


async def test_a_backlog_is_closed_oldest_first_a_hundred_per_sweep(
    slack: RunningSlack, status: SessionStatus
) -> None:
    for n in range(130):
        await add_thread(f"T0SANDBOX:C0INCIDENTS:{n + 1}.0", [("succeeded", 100.0 + n)])
    assert await close_idle_sessions(status, IDLE_S) == 100
    assert await close_idle_sessions(status, IDLE_S) == 30
    assert await close_idle_sessions(status, IDLE_S) == 0
    await status.settled()  # those threads are not in the workspace: Slack refuses, nothing breaks


async def test_a_refused_close_does_not_stop_the_sweep_or_the_next_thread(
    slack: RunningSlack, status: SessionStatus
) -> None:
    first = await run_in_new_thread(slack, "disk full on db-2")
    second = await run_in_new_thread(slack, "cart latency")
    await status.settled()
    slack.sandbox.outages.append(
        Outage(
            "agents.sessions.setStatus",
            error="thread_not_found",
            when=lambda args: args.get("thread_ts") == first,
        )
    )
    await asyncio.sleep(IDLE_S + 0.1)
    assert await close_idle_sessions(status, IDLE_S) == 2
    await status.settled()
    assert session_of(slack, first) == "active"
    assert session_of(slack, second) == "closed"


@pytest.mark.parametrize(
    ("close_after_s", "interval_s"), [(86_400.0, 300.0), (600.0, 60.0), (2.0, 1.0), (0.5, 1.0)]
)
def test_the_sweep_runs_often_enough_and_never_spins(
    close_after_s: float, interval_s: float
) -> None:
    assert sweep_interval(close_after_s) == interval_s


@pytest.mark.parametrize(
    ("runs", "closes"),
    [([("succeeded", 2.0)], True), ([("succeeded", 2.0), ("running", None)], False),
     ([("waiting_approval", None)], False), ([], True)],
    ids=["ended", "still-running", "waiting", "no-run-yet"],
)  # fmt: skip
async def test_a_resolved_incident_closes_its_session_at_once_unless_a_run_works(
    status: SessionStatus, runs: list[tuple[str, float | None]], closes: bool
) -> None:
    thread_id = "T0SANDBOX:C0INCIDENTS:7.0001"
    await add_thread(thread_id, runs)
    assert await claim_closing_now(thread_id, time.time()) is closes
    assert await claim_closing_now(thread_id, time.time()) is False, "closed once"
    assert await close_idle_sessions(status, 0.0) == 0, "the sweep does not close it again"
    assert await claim_closing_now("T0SANDBOX:C0INCIDENTS:9.9", time.time()) is False
