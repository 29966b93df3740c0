"""kill -9 while a run waits for approval; a new process resumes it; approving completes it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.exc import OperationalError

from core.db import sqlalchemy_url
from core.models import ApprovalRow, LlmCallRow, RunRow, ToolCallRow
from sandbox.model.server import RunningModelServer, start_model_server
from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.server import SandboxConfig, SlackSandbox
from tests.e2e.test_crash_matrix import COUNTER, SCRIPT, final, serve
from tests.slack_runs import readable
from tests.slackbot import CHANNEL, card_with, reject_with_reason, thread, wait_for
from tests.support import COUNTER_TURN, counter_workspace, next_ts, scripted

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.e2e.turn_process", *args, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


async def _wait_for_pending_approval(url: str, timeout_s: float = 30) -> None:
    engine = create_engine(sqlalchemy_url(url))
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            try:
                with engine.connect() as connection:
                    status = connection.execute(select(ApprovalRow.status)).scalar()
            except OperationalError:  # the process has not migrated the schema yet
                status = None
            if status == "pending":
                return
            await asyncio.sleep(0.05)
        raise AssertionError("no approval became pending")
    finally:
        engine.dispose()


async def test_kill_9_while_waiting_then_restart_and_approve(
    database_url: str, tmp_path: Path
) -> None:
    workspace = counter_workspace(tmp_path)
    server = await start_model_server(scripted([COUNTER_TURN]))
    args = ["--db", database_url, "--workspace", str(workspace), "--model-url", server.url,
            "--ts", next_ts()]  # fmt: skip
    try:
        first = await _spawn(*args)
        await _wait_for_pending_approval(database_url)
        served_before_kill = server.state.served
        first.send_signal(signal.SIGKILL)
        await first.wait()
        assert first.returncode == -signal.SIGKILL

        second = await _spawn(*args, "--approve")
        output, _ = await asyncio.wait_for(second.communicate(), 60)
        assert second.returncode == 0, output.decode()
        assert "outcome succeeded" in output.decode()
    finally:
        await server.stop()

    assert served_before_kill == 2  # the router and the coding agent's first call
    assert server.state.served == 3, "no model call before the wait was repeated"
    assert (workspace / "counter.txt").read_text() == "ran\n"
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as connection:
        runs = connection.execute(select(RunRow.status)).scalars().all()
        calls = connection.execute(select(ToolCallRow.status)).scalars().all()
        llm_steps = connection.execute(select(LlmCallRow.step_id)).scalars().all()
        decided_by = connection.execute(select(ApprovalRow.decided_by)).scalars().all()
    engine.dispose()
    assert runs == ["succeeded"]
    assert calls == ["ok"]
    assert len(llm_steps) == len(set(llm_steps)) == 3
    assert decided_by == ["U_AFTER_RESTART"]


# The same kill, with `opsbot serve` rendering into the local workspace: what the renderer
# needs after the restart (the thread, the person who asked, the card) comes from the run.


@pytest.fixture
async def slack_world(
    tmp_path: Path,
) -> AsyncIterator[tuple[RunningSlack, RunningModelServer, Path]]:
    workspace = counter_workspace(tmp_path)
    (workspace / "count.py").write_text(COUNTER)
    slack = await start_slack(SandboxConfig())
    model = await start_model_server(scripted(SCRIPT, tokens_per_second=40))
    yield slack, model, workspace
    await model.stop()
    await slack.stop()


async def _killed_while_waiting(
    world: tuple[RunningSlack, RunningModelServer, Path], database_url: str,
    extra_env: dict[str, str] | None = None,
) -> tuple[SlackSandbox, str, dict[str, Any], asyncio.subprocess.Process]:  # fmt: skip
    """Mention, card, kill -9 while waiting, restart: (sandbox, root ts, card, new process)."""
    slack, model, workspace = world
    sandbox = slack.sandbox
    first = await serve(slack, model, workspace, database_url, "waiting_approval",
                        extra_env=extra_env)  # fmt: skip
    root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> run the counter")
    await asyncio.wait_for(first.wait(), 60)
    assert first.returncode == -signal.SIGKILL
    second = await serve(slack, model, workspace, database_url, None, extra_env=extra_env)
    card = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "shell_execute"))
    return sandbox, root.ts, card, second


async def _stop(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(process.wait(), 30)


def _streams_after(sandbox: SlackSandbox, since: int) -> list[dict[str, Any]]:
    return [c for c in sandbox.calls[since:] if c["method"] == "chat.startStream"]


def _refused(sandbox: SlackSandbox) -> list[tuple[str, str]]:
    expected = {"message_not_in_streaming_state", "ratelimited"}
    return [(c["method"], c["error"]) for c in sandbox.calls
            if c["error"] and c["error"] not in expected]  # fmt: skip


def _text(sandbox: SlackSandbox, root_ts: str) -> str:
    return readable(thread(sandbox, root_ts))


@pytest.mark.timeout(180)
async def test_approved_after_a_kill_the_command_streams_to_the_person_who_asked(
    database_url: str, slack_world: tuple[RunningSlack, RunningModelServer, Path]
) -> None:
    sandbox, root_ts, card, second = await _killed_while_waiting(slack_world, database_url)
    try:
        since = len(sandbox.calls)
        await sandbox.click("U0LEAD", CHANNEL, card["ts"], "opsbot_approve")
        await wait_for(sandbox, lambda: final(sandbox, root_ts), 60)
    finally:
        await _stop(second)
    streams = _streams_after(sandbox, since)
    assert streams, "the resumed run streamed its work"
    assert {(s["args"]["recipient_user_id"], s["args"]["recipient_team_id"]) for s in streams} == {
        ("U0ONCALL", "T0SANDBOX")
    }
    assert _refused(sandbox) == []
    shown = _text(sandbox, root_ts)
    assert re.search(r"`shell_execute`[^\n]* — ok", shown), "the approved command's outcome"
    assert shown.count("The counter ran and reported back.") == 1
    assert "Resumed after a restart" not in shown, "the run only waited for the click"
    assert (slack_world[2] / "counter.txt").read_text() == "ran\n"


@pytest.mark.timeout(180)
async def test_rejected_after_a_kill_the_thread_says_who_rejected_and_why(
    database_url: str, slack_world: tuple[RunningSlack, RunningModelServer, Path]
) -> None:
    sandbox, root_ts, card, second = await _killed_while_waiting(slack_world, database_url)
    try:
        await reject_with_reason(sandbox, "U0LEAD", card["ts"], "not during the freeze")
        await wait_for(sandbox, lambda: final(sandbox, root_ts), 60)
    finally:
        await _stop(second)
    assert _refused(sandbox) == []
    shown = _text(sandbox, root_ts)
    assert "Rejected by <@U0LEAD>: not during the freeze" in shown
    assert "rejected: rejected by" not in shown
    assert not (slack_world[2] / "counter.txt").exists(), "nothing ran"


@pytest.mark.timeout(180)
async def test_expired_after_a_kill_the_card_posted_before_it_says_so(
    database_url: str, slack_world: tuple[RunningSlack, RunningModelServer, Path]
) -> None:
    short = {"OPSBOT_APPROVAL_TIMEOUT_S": "8"}
    sandbox, root_ts, card, second = await _killed_while_waiting(slack_world, database_url, short)
    try:
        await wait_for(sandbox, lambda: final(sandbox, root_ts), 60)
    finally:
        await _stop(second)
    assert _refused(sandbox) == []
    now = next(m for m in thread(sandbox, root_ts) if m["ts"] == card["ts"])
    assert "Expired without a decision" in str(now["blocks"])
    assert not any(b.get("type") == "actions" for b in now["blocks"]), "no buttons left"
    assert not (slack_world[2] / "counter.txt").exists()
