"""Each thread as a Slack agent session: its status across an approval wait, the native Stop
(during a model call and during an approval wait), and workspaces without sessions."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import pytest
from dbos import DBOS

from sandbox.model.server import RunningModelServer, start_model_server
from sandbox.slack.app import start_slack
from sandbox.slack.server import Outage, SlackSandbox
from sandbox.slack.sessions import Session, deliver_stop
from tests.e2e.test_crash_matrix import serve
from tests.e2e.test_slack_bot_edges import final_of, runs
from tests.slackbot import CHANNEL, card_with, running_bot, thread, wait_for
from tests.support import scripted, slow_model

pytestmark = pytest.mark.e2e
ASK = "<@U0BOT> checkout is returning 500s"
QUICK = [{"match": ".*", "router": [{"agent": "log_analyzer", "reason": "look"}],
          "log_analyzer": [{"text": "Nothing alarming in the logs."}]}]  # fmt: skip


def session(sandbox: SlackSandbox, root_ts: str) -> Session | None:
    return sandbox.api.sessions.get((CHANNEL, root_ts))


def status_is(sandbox: SlackSandbox, root_ts: str, status: str) -> bool:
    found = session(sandbox, root_ts)
    return found is not None and found.status == status


def status_sent(sandbox: SlackSandbox, root_ts: str, status: str) -> bool:
    """The bot's own setStatus call for `status` went through (a stream's stop may set the same
    status before it: a test that then changes the status must wait for this one too)."""
    return any(c["method"] == "agents.sessions.setStatus" and c["ok"]
               and c["args"].get("thread_ts") == root_ts and c["args"].get("status") == status
               for c in sandbox.calls)  # fmt: skip


def collapsed(history: list[str]) -> list[str]:
    """The statuses as a person saw them change (a repeat of the same status is no change)."""
    return [s for i, s in enumerate(history) if i == 0 or history[i - 1] != s]


async def step_names(run_id: str) -> list[str]:
    steps = await DBOS.list_workflow_steps_async(run_id, load_output=False)
    return [str(step["function_name"]).rsplit(".", 1)[-1] for step in steps]


async def test_status_follows_the_run_across_approval_waits(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    async with running_bot(database_url, workspace, model_server.url) as slack:
        sandbox = slack.sandbox
        root = await sandbox.post_as("U0ONCALL", CHANNEL, ASK)
        await wait_for(sandbox, lambda: status_is(sandbox, root.ts, "processing"))
        first = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "write_file"))
        await wait_for(sandbox, lambda: status_is(sandbox, root.ts, "suspended"))
        await sandbox.click("U0LEAD", CHANNEL, first["ts"], "opsbot_approve")
        second = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "shell_execute"))
        await wait_for(sandbox, lambda: status_is(sandbox, root.ts, "suspended"))
        await sandbox.click("U0LEAD", CHANNEL, second["ts"], "opsbot_approve")
        await wait_for(sandbox, lambda: final_of(sandbox, root.ts), 60)
        await wait_for(sandbox, lambda: status_is(sandbox, root.ts, "active"))
        found = session(sandbox, root.ts)
    assert found is not None
    assert collapsed(found.history) == [
        "processing", "suspended", "processing", "suspended", "processing", "active",
    ]  # fmt: skip
    assert found.title == "checkout is returning 500s", "the opening line, without the mention"
    assert found.initiator == "U0ONCALL"
    titled = [c for c in sandbox.calls if c["method"] == "agents.sessions.setStatus"]
    assert all(c["ok"] for c in titled)
    assert sum("title" in c["args"] for c in titled) == 1, "the title is sent once"


async def test_stop_during_an_approval_wait(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    async with running_bot(database_url, workspace, model_server.url) as slack:
        sandbox = slack.sandbox
        root = await sandbox.post_as("U0ONCALL", CHANNEL, ASK)
        run_id = f"T0SANDBOX:{CHANNEL}:{root.ts}"
        card = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "write_file"))
        await wait_for(sandbox, lambda: status_sent(sandbox, root.ts, "suspended"))
        # Slack offers Stop while the session processes; the bot is told whenever it comes.
        sandbox.api.sessions[(CHANNEL, root.ts)].status = "processing"
        deliver_stop(sandbox.api, sandbox.delivery, "U0VIEWER", CHANNEL, root.ts)
        told = await wait_for(sandbox, lambda: sandbox.ephemeral_for("U0VIEWER"))
        assert "Only the person who asked or an approver" in told[-1]["text"]
        assert card_with(sandbox, root.ts, "write_file") is not None, "a refused Stop stops nothing"
        assert [r.status for r in runs(database_url)] == ["waiting_approval"]

        deliver_stop(sandbox.api, sandbox.delivery, "U0ONCALL", CHANNEL, root.ts)
        await wait_for(sandbox, lambda: "Stopped by <@U0ONCALL>" in str(thread(sandbox, root.ts)))
        await wait_for(sandbox, lambda: status_is(sandbox, root.ts, "active"))
        await asyncio.sleep(1.5)  # anything still due would have run by now
        shown = thread(sandbox, root.ts)
        steps = await step_names(run_id)
    closed = next(m for m in shown if m["ts"] == card["ts"])
    assert not [b for b in closed["blocks"] if b["type"] == "actions"], "the card lost its buttons"
    assert "Stopped by <@U0ONCALL>" in str(closed["blocks"])
    assert [m["text"] for m in shown].count(":black_square_for_stop: Stopped by <@U0ONCALL>") == 1
    assert [(r.status, r.outcome) for r in runs(database_url)] == [("cancelled", "cancelled")]
    assert "tool_exec" not in steps, "the approved-tool step never ran"
    assert "DISCOUNTS[code.upper()]" in (workspace / "checkout/pricing.py").read_text()
    found = session(sandbox, root.ts)
    assert found is not None
    assert found.status == "active"


async def test_stop_during_a_model_call(database_url: str, workspace: Path) -> None:
    async with slow_model() as slow, running_bot(database_url, workspace, slow.url) as slack:
        sandbox = slack.sandbox
        root = await sandbox.post_as("U0ONCALL", CHANNEL, ASK)
        run_id = f"T0SANDBOX:{CHANNEL}:{root.ts}"
        # the router's call, then the log analyzer's: Stop while the second is answering
        await wait_for(sandbox, lambda: len(slow.state.requests) >= 2)
        asked = len(slow.state.requests)
        await wait_for(sandbox, lambda: status_is(sandbox, root.ts, "processing"))
        deliver_stop(sandbox.api, sandbox.delivery, "U0LEAD", CHANNEL, root.ts)
        await wait_for(sandbox, lambda: "Stopped by <@U0LEAD>" in str(thread(sandbox, root.ts)))
        await wait_for(sandbox, lambda: status_is(sandbox, root.ts, "active"))
        await asyncio.sleep(3.0)  # the call in flight ends; nothing may follow it
        steps = await step_names(run_id)
        shown = str(thread(sandbox, root.ts))
    assert len(slow.state.requests) == asked, "no model call after Stop"
    assert "tool_call" not in steps, "the tool the answer asked for never ran"
    assert [(r.status, r.outcome) for r in runs(database_url)] == [("cancelled", "cancelled")]
    assert card_with(sandbox, root.ts, "write_file") is None
    assert "search_logs" not in shown
    found = session(sandbox, root.ts)
    assert found is not None
    assert found.status == "active"


@pytest.mark.parametrize(
    ("error", "http_status"),
    [("not_allowed", 200), ("missing_scope", 200), ("unknown_method", 404)],
)
async def test_a_workspace_without_sessions_runs_as_before_and_says_so_once(
    database_url: str, workspace: Path, caplog: pytest.LogCaptureFixture, error: str,
    http_status: int,
) -> None:  # fmt: skip
    caplog.set_level(logging.WARNING, logger="bot.session_status")
    server = await start_model_server(scripted(QUICK))
    try:
        async with running_bot(database_url, workspace, server.url) as slack:
            sandbox = slack.sandbox
            sandbox.outages.append(Outage("agents.sessions.setStatus", error, times=100,
                                          status=http_status))  # fmt: skip
            roots = []
            for text in ("<@U0BOT> is checkout ok?", "<@U0BOT> and payments?"):
                roots.append(root := await sandbox.post_as("U0ONCALL", CHANNEL, text))
                await wait_for(sandbox, lambda r=root: final_of(sandbox, r.ts), 60)
    finally:
        await server.stop()
    assert [(r.status, r.outcome) for r in runs(database_url)] == [("succeeded", "succeeded")] * 2
    for root in roots:
        assert "Nothing alarming in the logs." in str(thread(sandbox, root.ts))
    asked = [c for c in sandbox.calls if c["method"] == "agents.sessions.setStatus"]
    assert [c["error"] for c in asked] == [error], "refused once, never asked again"
    said = [r for r in caplog.records if "agent sessions are not available" in r.getMessage()]
    assert len(said) == 1
    assert error in said[0].getMessage()
    assert sandbox.api.sessions == {}


async def test_a_run_resumed_while_it_waits_is_suspended_again(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    slack = await start_slack()
    sandbox = slack.sandbox
    try:
        first = await serve(slack, model_server, workspace, database_url, "waiting_approval")
        root = await sandbox.post_as("U0ONCALL", CHANNEL, ASK)
        await asyncio.wait_for(first.wait(), 60)
        assert first.returncode == -signal.SIGKILL
        await wait_for(sandbox, lambda: session(sandbox, root.ts))
        # what Slack shows if the dead process never said `suspended`
        sandbox.api.sessions[(CHANNEL, root.ts)].status = "processing"
        second = await serve(slack, model_server, workspace, database_url, None)
        await wait_for(sandbox, lambda: status_is(sandbox, root.ts, "suspended"))
        await asyncio.sleep(1.0)  # nothing sets it back to processing
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), 30)
    finally:
        await slack.stop()
    assert status_is(sandbox, root.ts, "suspended")
    assert card_with(sandbox, root.ts, "write_file") is not None
