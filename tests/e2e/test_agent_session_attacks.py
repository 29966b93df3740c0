"""The session Stop button, attacked: a forged `agent_session_stopped` for a thread opsbot
never ran in, for another channel, naming the streaming messages of another thread, without
fields, replayed after the run ended; a session title carrying a secret, a broadcast, Slack
markup, 10,000 characters or only a mention. Real bot, real sandbox Slack, real database."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from core.models import AuditRow
from sandbox.model.server import start_model_server
from sandbox.slack import payloads
from sandbox.slack.server import Outage, SlackSandbox
from tests.e2e.test_agent_sessions import QUICK, session, status_is
from tests.e2e.test_feedback import rows
from tests.e2e.test_slack_bot_edges import final_of, runs
from tests.slackbot import CHANNEL, card_with, running_bot, thread, wait_for
from tests.support import scripted, slow_model

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
OTHER = "C0GENERAL"


def forge_stop(sandbox: SlackSandbox, **event: Any) -> None:
    """Deliver `agent_session_stopped` with exactly these fields (Slack never checked them)."""
    body = {"type": "agent_session_stopped", "event_ts": sandbox.workspace.new_ts(), **event}
    sandbox.delivery.event(payloads.event_callback(sandbox.workspace, body))


def stop_streams(sandbox: SlackSandbox, ts: str) -> list[dict[str, Any]]:
    return [c for c in sandbox.calls
            if c["method"] == "chat.stopStream" and c["args"].get("ts") == ts]  # fmt: skip


async def test_forged_stops_touch_no_other_thread_and_make_no_session(
    database_url: str, workspace: Path
) -> None:
    async with slow_model() as slow, running_bot(database_url, workspace, slow.url) as slack:
        sandbox = slack.sandbox
        chat = await sandbox.post_as("U0VIEWER", CHANNEL, "lunch anyone?")
        elsewhere = await sandbox.post_as("U0VIEWER", OTHER, "hello")
        root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout is down")
        live = await wait_for(sandbox, lambda: [
            m["ts"] for m in thread(sandbox, root.ts) if m["streaming"]])  # fmt: skip
        forged = [
            {"channel": CHANNEL, "thread_ts": chat.ts, "user": "U0VIEWER"},
            {"channel": CHANNEL, "thread_ts": chat.ts, "user": "U0LEAD"},
            {"channel": OTHER, "thread_ts": elsewhere.ts, "user": "U0VIEWER"},
            {"channel": OTHER, "thread_ts": root.ts, "user": "U0LEAD"},
        ]
        for event in forged:
            forge_stop(sandbox, **event, streaming_message_ts=live)
        await asyncio.sleep(2.0)
        stopped_live = stop_streams(sandbox, live[0])
        sessions = dict(sandbox.api.sessions)
        status = [r.status for r in runs(database_url)]
    assert stopped_live == [], "another thread's stream is not stopped"
    assert status == ["running"], "the run in its own thread goes on"
    assert set(sessions) == {(CHANNEL, root.ts)}, "no session where opsbot never ran"
    assert "Stopped by" not in str(thread(sandbox, chat.ts))


async def test_a_stop_replayed_or_late_or_without_fields_changes_nothing(
    database_url: str, workspace: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.listeners.sessions")
    server = await start_model_server(scripted(QUICK))
    try:
        async with running_bot(database_url, workspace, server.url) as slack:
            sandbox = slack.sandbox
            root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> is checkout ok?")
            await wait_for(sandbox, lambda: final_of(sandbox, root.ts), 60)
            await wait_for(sandbox, lambda: status_is(sandbox, root.ts, "active"))
            before = len(thread(sandbox, root.ts))
            for user in ("U0ONCALL", "U0VIEWER", "U0ONCALL"):  # late, and replayed
                forge_stop(sandbox, channel=CHANNEL, thread_ts=root.ts, user=user,
                           streaming_message_ts=[])  # fmt: skip
            for event in ({"channel": CHANNEL, "thread_ts": root.ts},
                          {"channel": CHANNEL, "user": "U0ONCALL"},
                          {"thread_ts": root.ts, "user": "U0ONCALL", "channel": ""}):  # fmt: skip
                forge_stop(sandbox, **event)
            await wait_for(sandbox, lambda: len([
                r for r in caplog.records if "ignored agent_session_stopped" in r.getMessage()
            ]) >= 3)  # fmt: skip
            await asyncio.sleep(1.0)
            after = thread(sandbox, root.ts)
    finally:
        await server.stop()
    assert len(after) == before, "nothing is said after the run ended"
    assert "Stopped by" not in str(after)
    assert [(r.status, r.outcome) for r in runs(database_url)] == [("succeeded", "succeeded")]
    found = session(sandbox, root.ts)
    assert found is not None
    assert found.status == "active"


@pytest.mark.parametrize(
    ("opening", "title"),
    [
        ("<@U0BOT> deploy key AKIAIOSFODNN7EXAMPLE leaked in ci", "deploy key [REDACTED:"),
        ("<@U0BOT> <!channel> token xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx "
         "in the logs", "token [REDACTED:"),
        ("<@U0BOT> see <https://grafana.example.com/d/1|the dashboard> &amp; <#C0INCIDENTS|"
         "incidents>: p99 &gt; 2s", "see the dashboard (https://grafana.example.com/d/1) & "
         "#incidents: p99 >"),
        ("<@U0BOT> " + "x" * 10_000, "x" * 79 + "…"),
        ("<@U0BOT> <!here>\n<!channel>", ""),
    ],
)  # fmt: skip
async def test_a_session_title_carries_no_secret_and_no_slack_markup(
    database_url: str, workspace: Path, opening: str, title: str
) -> None:
    server = await start_model_server(scripted(QUICK))
    try:
        async with running_bot(database_url, workspace, server.url) as slack:
            sandbox = slack.sandbox
            root = await sandbox.post_as("U0ONCALL", CHANNEL, opening)
            await wait_for(sandbox, lambda: final_of(sandbox, root.ts), 60)
            await wait_for(sandbox, lambda: status_is(sandbox, root.ts, "active"))
            found = session(sandbox, root.ts)
    finally:
        await server.stop()
    assert found is not None
    assert found.title.startswith(title)
    assert len(found.title) <= 80
    if not title:
        assert found.title == "", "a message of mentions only gives no title"
    for secret in ("AKIAIOSFODNN7EXAMPLE", "xoxb-", "<", "&amp;", "&gt;", "@channel"):
        assert secret not in found.title


def with_label(args: dict[str, Any]) -> bool:
    return "title" in args or "initiator_user_id" in args


def final_status(args: dict[str, Any]) -> bool:
    return args.get("status") == "active"


@pytest.mark.parametrize(
    "outage",
    [
        Outage("agents.sessions.setStatus", "user_not_found", times=100, when=with_label),
        Outage("agents.sessions.setStatus", "invalid_arguments", times=100, when=with_label),
        Outage("agents.sessions.setStatus", "internal_error", times=1, when=final_status),
        Outage("agents.sessions.setStatus", "ratelimited", times=3, status=429),
    ],
    ids=["initiator-refused", "title-refused", "final-status-fails-once", "ratelimited"],
)
async def test_a_refused_or_failed_status_call_neither_stalls_the_run_nor_strands_the_session(
    database_url: str, workspace: Path, outage: Outage
) -> None:
    server = await start_model_server(scripted(QUICK))
    try:
        async with running_bot(database_url, workspace, server.url) as slack:
            sandbox = slack.sandbox
            sandbox.outages.append(replace(outage))  # its own count per database
            root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> is checkout ok?")
            started = asyncio.get_running_loop().time()
            await wait_for(sandbox, lambda: final_of(sandbox, root.ts), 60)
            answered_in = asyncio.get_running_loop().time() - started
            await wait_for(sandbox, lambda: status_is(sandbox, root.ts, "active"), 20)
            found = session(sandbox, root.ts)
    finally:
        await server.stop()
    assert answered_in < 15, "the run never waits for a session status"
    assert [(r.status, r.outcome) for r in runs(database_url)] == [("succeeded", "succeeded")]
    assert found is not None
    assert found.history[-1] == "active"


@pytest.mark.parametrize("users", [("U0ONCALL", "U0ONCALL"), ("U0ONCALL", "U0LEAD", "U0ONCALL")])
async def test_stops_delivered_at_once_stop_the_run_once(
    database_url: str, workspace: Path, users: tuple[str, ...]
) -> None:
    async with slow_model() as slow, running_bot(database_url, workspace, slow.url) as slack:
        sandbox = slack.sandbox
        root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout is down")
        await wait_for(sandbox, lambda: status_is(sandbox, root.ts, "processing"))
        await wait_for(sandbox, lambda: len(slow.state.requests) >= 2)
        for user in users:  # a retried delivery, or several people pressing Stop
            forge_stop(sandbox, channel=CHANNEL, thread_ts=root.ts, user=user,
                       streaming_message_ts=[])  # fmt: skip
        await wait_for(sandbox, lambda: "Stopped by" in str(thread(sandbox, root.ts)))
        await wait_for(sandbox, lambda: status_is(sandbox, root.ts, "active"))
        await asyncio.sleep(2.0)
        said = [m["text"] for m in thread(sandbox, root.ts) if "Stopped by" in m["text"]]
        audited = [r for r in rows(database_url, AuditRow) if r.action == "cancel"]
    assert len(said) == 1, said
    assert len(audited) == 1
    assert [(r.status, r.outcome) for r in runs(database_url)] == [("cancelled", "cancelled")]


SLOW_SCRIPT = """import time
open('started.txt', 'w').write('s')
time.sleep(4)
open('done.txt', 'w').write('d')
print('finished')
"""


@pytest.mark.parametrize("command", ["python3 slow.py", "python3 slow.py && echo again"])
async def test_a_stop_while_an_approved_command_runs_says_it_was_not_interrupted(
    database_url: str, tmp_path: Path, command: str
) -> None:
    place = tmp_path / "ws"
    (place / "logs").mkdir(parents=True)
    (place / "logs" / "app.log").write_text("2026-11-24T14:00:00Z ERROR boom\n")
    (place / "slow.py").write_text(SLOW_SCRIPT)
    turn = {"match": ".*", "router": [{"agent": "coding", "reason": "run it"}],
            "coding": [{"text": "Running.", "tool_calls": [
                {"name": "shell_execute", "input": {"command": command}}]},
                {"text": "It ran."}]}  # fmt: skip
    server = await start_model_server(scripted([turn]))
    try:
        async with running_bot(database_url, place, server.url) as slack:
            sandbox = slack.sandbox
            root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> run the slow job")
            card = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "shell_execute"), 60)
            await sandbox.click("U0LEAD", CHANNEL, card["ts"], "opsbot_approve")
            await wait_for(sandbox, lambda: (place / "started.txt").exists(), 20)
            forge_stop(sandbox, channel=CHANNEL, thread_ts=root.ts, user="U0LEAD",
                       streaming_message_ts=[])  # fmt: skip
            said = await wait_for(sandbox, lambda: [
                m["text"] for m in thread(sandbox, root.ts) if "Stopped by" in m["text"]
            ])  # fmt: skip
            await wait_for(sandbox, lambda: (place / "done.txt").exists(), 20)
    finally:
        await server.stop()
    assert said == [":black_square_for_stop: Stopped by <@U0LEAD>; `shell_execute` was already "
                    "running and was not interrupted"]  # fmt: skip
    assert [(r.status, r.outcome) for r in runs(database_url)] == [("cancelled", "cancelled")]
