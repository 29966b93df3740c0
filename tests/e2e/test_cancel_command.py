"""`/opsbot cancel <run>` ends a run as the session's Stop does, and a cancelled run's thread
is closed like any other: one footer naming who cancelled it, no stream left open, nothing
from a step still in flight shown after it, the session no longer processing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from sandbox.model.server import RunningModelServer
from sandbox.slack.server import SlackSandbox
from tests.e2e.test_slack_bot_edges import runs
from tests.slackbot import CHANNEL, card_with, running_bot, thread, wait_for
from tests.support import slow_model

pytestmark = pytest.mark.e2e
ASK = "<@U0BOT> checkout is returning 500s"
FOOTER = ":no_entry_sign: cancelled by <@U0LEAD>"


async def cancel(sandbox: SlackSandbox, user: str, run_id: str) -> str:
    """Run `/opsbot cancel <run>` as `user`; the ephemeral reply's text."""
    before = len(sandbox.ephemeral_for(user))
    await sandbox.command(user, CHANNEL, "/opsbot", f"cancel {run_id}")
    await wait_for(sandbox, lambda: len(sandbox.ephemeral_for(user)) > before)
    return str(sandbox.ephemeral_for(user)[-1]["text"])


def has_footer(message: dict[str, Any]) -> bool:
    """The footer closes the stream (a block) or is a final message (its text)."""
    return FOOTER in message["text"] or FOOTER in str(message["blocks"])


def footers(sandbox: SlackSandbox, root_ts: str) -> list[str]:
    return [m["text"] for m in thread(sandbox, root_ts) if has_footer(m)]


async def test_cancel_during_an_approval_wait_closes_the_card_the_thread_and_the_session(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    async with running_bot(database_url, workspace, model_server.url) as slack:
        sandbox = slack.sandbox
        root = await sandbox.post_as("U0ONCALL", CHANNEL, ASK)
        run_id = f"T0SANDBOX:{CHANNEL}:{root.ts}"
        card = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "write_file"))

        reply = await cancel(sandbox, "U0LEAD", run_id)
        await wait_for(sandbox, lambda: footers(sandbox, root.ts))
        await wait_for(sandbox, lambda: sandbox.api.sessions[(CHANNEL, root.ts)].status == "active")
        await asyncio.sleep(1.0)  # anything still due would show now
        shown = thread(sandbox, root.ts)
        again = await cancel(sandbox, "U0LEAD", run_id)

    assert reply == f"Run {run_id} cancelled."
    closed = next(m for m in shown if m["ts"] == card["ts"])
    assert not [b for b in closed["blocks"] if b["type"] == "actions"], "the card lost its buttons"
    assert len(footers(sandbox, root.ts)) == 1
    assert not any(m["streaming"] for m in shown), "no stream left open"
    assert [(r.status, r.outcome) for r in runs(database_url)] == [("cancelled", "cancelled")]
    assert "DISCOUNTS[code.upper()]" in (workspace / "checkout/pricing.py").read_text()
    assert again == f"Run {run_id} already ended (cancelled)."


async def test_cancel_during_a_model_call_shows_nothing_of_the_step_in_flight_after_it(
    database_url: str, workspace: Path
) -> None:
    async with slow_model() as slow, running_bot(database_url, workspace, slow.url) as slack:
        sandbox = slack.sandbox
        root = await sandbox.post_as("U0ONCALL", CHANNEL, ASK)
        run_id = f"T0SANDBOX:{CHANNEL}:{root.ts}"
        await wait_for(sandbox, lambda: len(slow.state.requests) >= 2)
        reply = await cancel(sandbox, "U0LEAD", run_id)
        await wait_for(sandbox, lambda: footers(sandbox, root.ts))
        await asyncio.sleep(3.0)  # the call in flight answers; none of it may show
        shown = thread(sandbox, root.ts)
    assert reply == f"Run {run_id} cancelled."
    last_footer = max(i for i, m in enumerate(shown) if has_footer(m))
    after = [m["text"] for m in shown[last_footer + 1 :]]
    assert all("Stopped by" in text for text in after), f"shown after the footer: {after}"
    assert not any(m["streaming"] for m in shown)
    assert card_with(sandbox, root.ts, "write_file") is None


@pytest.mark.parametrize("run_id", ["T0SANDBOX:C0INCIDENTS:1.000001", "not-a-run"])
async def test_cancel_of_a_run_that_does_not_exist_says_so(
    database_url: str, workspace: Path, model_server: RunningModelServer, run_id: str
) -> None:
    async with running_bot(database_url, workspace, model_server.url) as slack:
        reply = await cancel(slack.sandbox, "U0LEAD", run_id)
    assert reply == f"No run {run_id}."
