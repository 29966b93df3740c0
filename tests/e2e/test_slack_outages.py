"""Slack refusing an approval card: the card still gets there (retried, then compact), and
when it cannot, the thread says so and nothing runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from core.db import sqlalchemy_url
from core.models import ApprovalRow, ToolCallRow
from sandbox.model.server import RunningModelServer
from sandbox.slack.server import Outage
from tests.slackbot import CHANNEL, card_with, running_bot, thread, wait_for

pytestmark = pytest.mark.e2e


def is_card(args: dict[str, Any]) -> bool:
    return "opsbot_approve" in str(args.get("blocks"))


async def test_a_card_slack_refuses_twice_arrives_compact_and_still_decides(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    async with running_bot(database_url, workspace, model_server.url) as slack:
        sandbox = slack.sandbox
        sandbox.outages.append(Outage("chat.postMessage", "internal_error", times=2, when=is_card))
        root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout is returning 500s")
        card = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "write_file"), 60)
        assert "The full card could not be posted" in str(card["blocks"])
        await sandbox.click("U0LEAD", CHANNEL, card["ts"], "opsbot_approve")
        card = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "shell_execute"), 60)
        assert "The full card could not be posted" not in str(card["blocks"])  # Slack is back
        await sandbox.click("U0LEAD", CHANNEL, card["ts"], "opsbot_approve")
        await wait_for(sandbox, lambda: any("tokens" in str(m["blocks"])
                                            for m in thread(sandbox, root.ts)), 60)  # fmt: skip
    refused = [c for c in sandbox.calls if c["error"] == "internal_error"]
    assert len(refused) == 2
    assert "DISCOUNTS.get(" in (workspace / "checkout/pricing.py").read_text()


async def test_a_card_slack_never_takes_leaves_a_note_and_runs_nothing(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    async with running_bot(database_url, workspace, model_server.url) as slack:
        sandbox = slack.sandbox
        sandbox.outages.append(Outage("chat.postMessage", "invalid_blocks", times=99, when=is_card))
        root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout is returning 500s")
        note = await wait_for(
            sandbox,
            lambda: next(
                (m for m in thread(sandbox, root.ts) if "refused its card" in m["text"]), None
            ),
            60,
        )
    assert "`write_file`" in note["text"]
    assert "(invalid_blocks)" in note["text"]
    assert "Nothing runs without it" in note["text"]
    attempts = [
        c for c in sandbox.calls if c["method"] == "chat.postMessage" and is_card(c["args"])
    ]
    assert len(attempts) == 4
    assert "The full card could not be posted" in str(attempts[1]["args"]["blocks"])
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as connection:
        approvals = connection.execute(select(ApprovalRow.status, ApprovalRow.card_ts)).all()
        ran = connection.execute(
            select(ToolCallRow.name).where(ToolCallRow.name == "write_file",
                                           ToolCallRow.status == "ok")
        ).all()  # fmt: skip
    engine.dispose()
    assert [tuple(a) for a in approvals] == [("pending", None)]
    assert ran == []
    assert "DISCOUNTS[code.upper()]" in (workspace / "checkout/pricing.py").read_text()
