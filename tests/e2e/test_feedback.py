"""Feedback through the local workspace: the answer carries 👍/👎; a vote is stored with the run
and the voter and audited, a 👎 opens a comment form whose comment is stored, a second vote
replaces the first, `opsbot runs list` counts them; forged or broken clicks store nothing."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from core.db import sqlalchemy_url
from core.models import AuditRow, FeedbackRow
from sandbox.model.server import RunningModelServer, start_model_server
from sandbox.slack import payloads
from sandbox.slack.server import SlackSandbox
from tests.slackbot import CHANNEL, running_bot, thread, wait_for
from tests.support import scripted

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
ROOT = Path(__file__).resolve().parents[2]
ANSWER = [{"match": ".*", "router": [{"agent": "log_analyzer", "reason": "look"}],
           "log_analyzer": [{"text": "The cache is cold; it warms up in a minute."}]}]  # fmt: skip


@pytest.fixture
async def model() -> AsyncIterator[RunningModelServer]:
    server = await start_model_server(scripted(ANSWER))
    yield server
    await server.stop()


def rows(database_url: str, table: Any) -> list[Any]:
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as connection:
        found = list(connection.execute(select(table)).all())
    engine.dispose()
    return found


def votes(database_url: str) -> list[tuple[str, str, str, str | None]]:
    return sorted((r.run_id, r.voter, r.vote, r.comment) for r in rows(database_url, FeedbackRow))


def feedback_audit(database_url: str) -> list[tuple[str, str, str | None]]:
    found = [r for r in rows(database_url, AuditRow) if r.action == "feedback"]
    return [(r.actor, r.outcome, r.detail) for r in sorted(found, key=lambda r: r.id)]


def final_message(sandbox: SlackSandbox, root_ts: str) -> dict[str, Any] | None:
    return next((m for m in thread(sandbox, root_ts) if "tokens" in str(m["blocks"])), None)


async def note_for(sandbox: SlackSandbox, user: str, before: int) -> str:
    """The text of the next ephemeral note `user` gets after the first `before`."""
    notes = await wait_for(sandbox, lambda: sandbox.ephemeral_for(user)[before:])
    return str(notes[0]["text"])


async def answered(sandbox: SlackSandbox) -> tuple[str, dict[str, Any]]:
    """Ask, wait for the answer; the run id and the final message."""
    root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> why is checkout slow?")
    final = await wait_for(sandbox, lambda: final_message(sandbox, root.ts))
    return f"T0SANDBOX:{CHANNEL}:{root.ts}", final


async def runs_list(database_url: str, workspace: Path) -> str:
    listing = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "runs", "list", cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("OPSBOT_")},
             "OPSBOT_DATABASE_URL": database_url, "OPSBOT_WORKSPACE": str(workspace)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(listing.communicate(), 60)
    assert listing.returncode == 0, err.decode()
    return out.decode()


async def test_votes_and_a_comment_are_stored_audited_replaced_and_counted(
    database_url: str, workspace: Path, model: RunningModelServer
) -> None:
    async with running_bot(database_url, workspace, model.url) as slack:
        sandbox = slack.sandbox
        run_id, final = await answered(sandbox)
        buttons = [b for b in final["blocks"] if b["type"] == "context_actions"]
        assert len(buttons) == 1, "the final message carries the feedback buttons"
        element = buttons[0]["elements"][0]
        assert element["type"] == "feedback_buttons"
        assert element["positive_button"]["value"] == f"up:{run_id}"
        assert element["negative_button"]["value"] == f"down:{run_id}"

        await sandbox.click("U0ONCALL", CHANNEL, final["ts"], "opsbot_feedback", f"up:{run_id}")
        assert "your 👍 is recorded" in await note_for(sandbox, "U0ONCALL", 0)
        assert votes(database_url) == [(run_id, "U0ONCALL", "up", None)]
        assert feedback_audit(database_url) == [("U0ONCALL", "up", None)]

        # A second vote by the same person replaces the first; 👎 opens the comment form.
        await sandbox.click("U0ONCALL", CHANNEL, final["ts"], "opsbot_feedback", f"down:{run_id}")
        modal = await wait_for(sandbox, lambda: [
            v["view"] for v in sandbox.workspace.views
            if v["view"].get("callback_id") == "opsbot_feedback_comment"])  # fmt: skip
        assert votes(database_url) == [(run_id, "U0ONCALL", "down", None)]
        comment = {"comment": {"comment": "It blamed the cache; it was DNS."}}
        await sandbox.submit_view("U0ONCALL", modal[-1]["id"], comment)
        assert "comment is recorded" in await note_for(sandbox, "U0ONCALL", 1)
        assert votes(database_url) == [
            (run_id, "U0ONCALL", "down", "It blamed the cache; it was DNS.")
        ]
        await sandbox.click("U0LEAD", CHANNEL, final["ts"], "opsbot_feedback", f"up:{run_id}")
        await note_for(sandbox, "U0LEAD", 0)
    capture = f"capture it as an eval case: opsbot eval capture {run_id}"
    assert feedback_audit(database_url) == [
        ("U0ONCALL", "up", None), ("U0ONCALL", "down", capture),
        ("U0ONCALL", "comment", f"comment: It blamed the cache; it was DNS.; {capture}"),
        ("U0LEAD", "up", None),
    ]  # fmt: skip
    assert len(votes(database_url)) == 2, "one vote per run and voter"
    listing = await runs_list(database_url, workspace)
    line = next(line for line in listing.splitlines() if line.startswith(run_id))
    assert "succeeded" in line
    assert line.endswith("👍 1 👎 1")


def forged(sandbox: SlackSandbox, ts: str, value: Any, user: str | None = "U0ONCALL") -> None:
    """Deliver a feedback click on the message at `ts` carrying `value` (and `user`)."""
    message = sandbox.workspace.find_message(CHANNEL, ts)
    assert message is not None
    action: dict[str, Any] = {"type": "feedback_buttons", "action_id": "opsbot_feedback",
                              "text": {"type": "plain_text", "text": "👍"}}  # fmt: skip
    if value is not None:
        action["value"] = value
    body = payloads.block_actions(
        sandbox.workspace, sandbox.workspace.users["U0ONCALL"], message, action,
        "opsbot_feedback", "http://127.0.0.1:9/none", payloads.new_trigger_id(),
    )  # fmt: skip
    if user is None:
        del body["user"]
    sandbox.delivery.interactive(body)


async def test_broken_and_forged_clicks_store_nothing(
    database_url: str, workspace: Path, model: RunningModelServer,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.WARNING, logger="bot.listeners.feedback")
    async with running_bot(database_url, workspace, model.url) as slack:
        sandbox = slack.sandbox
        run_id, final = await answered(sandbox)
        cases = [
            (f"up:T0SANDBOX:{CHANNEL}:1.000001", "This answer's run is unknown"),
            ("up:T0ELSEWHERE:C0X:2.000002", "This answer's run is unknown"),
            (f"sideways:{run_id}", "is not a vote"),
            (f"{run_id}", "is not a vote"),
            ("up:", "the vote names no run"),
            (None, "the click carries no vote"),
            ("", "the click carries no vote"),
        ]
        for seen, (value, expected) in enumerate(cases):
            forged(sandbox, final["ts"], value)
            assert expected in await note_for(sandbox, "U0ONCALL", seen)
        forged(sandbox, final["ts"], f"up:{run_id}", user=None)
        forged(sandbox, final["ts"], f"down:{run_id}", user=None)
        no_user = "the click names no user"
        await wait_for(sandbox, lambda: len([
            r for r in caplog.records if no_user in r.getMessage()]) == 2)  # fmt: skip
        assert not [v for v in sandbox.workspace.views
                    if v["view"].get("callback_id") == "opsbot_feedback_comment"]  # fmt: skip
    assert votes(database_url) == []
    assert feedback_audit(database_url) == []
