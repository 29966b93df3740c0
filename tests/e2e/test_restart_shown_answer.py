"""What the thread already shows survives a restart: kill -9, restart, decide (or be killed
while the answer streams), and every paragraph of the answer appears in the thread once.

The final message carries only what the thread does not show yet (bot/answer.py); after a
restart the renderer reads that from the thread itself, not from a process that died.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.model.server import RunningModelServer
from sandbox.slack.app import RunningSlack
from sandbox.slack.server import SlackSandbox
from tests.e2e.test_crash_matrix import act_on_cards, counter_world, final, serve, until
from tests.slackbot import CHANNEL, card_with, reject_with_reason, thread, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
FINDING = "Root cause found. Since checkout 4.2.0 the payment client gives up after 2 seconds."
PLAN = "The payment client lost its longer timeout in that release, so it needs it back."
RUNNING = "Running the counter now to confirm it."
RAN = "The counter ran and reported back."
CLOSING = "Nothing else needs doing tonight."
# The log analyzer answers (two paragraphs) and hands over; the coding agent's command waits
# for a card; the run's answer is both agents' answers.
SCRIPT: list[dict[str, Any]] = [
    {"match": ".*", "router": [{"agent": "log_analyzer", "reason": "the logs come first"},
                               {"agent": "coding", "reason": "run the counter"}],
     "log_analyzer": [{"text": f"{FINDING}\n\n{PLAN}"}],
     "coding": [
         {"text": RUNNING, "tool_calls": [
             {"name": "shell_execute", "input": {"command": "python3 count.py"}}]},
         {"text": f"{RAN}\n\n{CLOSING}"}]},
]  # fmt: skip
# Text deltas are one word each: the kill comes at the third word of the answer after the
# command ran, while that text streams.
WHILE_ANSWERING = len(f"{FINDING} {PLAN} {RUNNING}".split()) + 3


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[RunningSlack, RunningModelServer, Path]]:
    async with counter_world(tmp_path, SCRIPT) as parts:
        yield parts


def _paragraph_counts(sandbox: SlackSandbox, root_ts: str) -> dict[str, int]:
    """How often each paragraph of the answer appears in the thread's messages."""
    text = "\n".join(str(m["text"]) for m in thread(sandbox, root_ts))
    return {p: text.count(p) for p in (FINDING, PLAN)}


async def _stop(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(process.wait(), 30)


async def _killed_while_waiting(
    world: tuple[RunningSlack, RunningModelServer, Path], database_url: str
) -> tuple[SlackSandbox, str, dict[str, Any], asyncio.subprocess.Process]:
    slack, model, workspace = world
    sandbox = slack.sandbox
    first = await serve(slack, model, workspace, database_url, "waiting_approval")
    root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> run the counter")
    await asyncio.wait_for(first.wait(), 60)
    assert first.returncode == -signal.SIGKILL
    second = await serve(slack, model, workspace, database_url, None)
    card = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "shell_execute"))
    return sandbox, root.ts, card, second


async def test_approved_after_a_kill_each_paragraph_appears_once(
    database_url: str, world: tuple[RunningSlack, RunningModelServer, Path]
) -> None:
    sandbox, root_ts, card, second = await _killed_while_waiting(world, database_url)
    try:
        await sandbox.click("U0LEAD", CHANNEL, card["ts"], "opsbot_approve")
        await wait_for(sandbox, lambda: final(sandbox, root_ts), 60)
    finally:
        await _stop(second)
    counts = _paragraph_counts(sandbox, root_ts)
    assert counts == {FINDING: 1, PLAN: 1}, thread(sandbox, root_ts)
    text = "\n".join(str(m["text"]) for m in thread(sandbox, root_ts))
    assert text.count(RAN) == 1
    assert text.count(CLOSING) == 1


async def test_rejected_after_a_kill_each_paragraph_appears_once(
    database_url: str, world: tuple[RunningSlack, RunningModelServer, Path]
) -> None:
    sandbox, root_ts, card, second = await _killed_while_waiting(world, database_url)
    try:
        await reject_with_reason(sandbox, "U0LEAD", card["ts"], "freeze")
        await wait_for(sandbox, lambda: final(sandbox, root_ts), 60)
    finally:
        await _stop(second)
    assert _paragraph_counts(sandbox, root_ts) == {FINDING: 1, PLAN: 1}, thread(sandbox, root_ts)


async def test_killed_while_the_answer_streams_each_paragraph_appears_once(
    database_url: str, world: tuple[RunningSlack, RunningModelServer, Path]
) -> None:
    slack, model, workspace = world
    sandbox = slack.sandbox
    first = await serve(slack, model, workspace, database_url, f"mid_stream:{WHILE_ANSWERING}")
    root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> run the counter")
    handled: set[str] = set()
    await until(first, sandbox, root.ts, handled, lambda: first.returncode is not None)
    assert first.returncode == -signal.SIGKILL
    assert (workspace / "counter.txt").exists(), "killed after the command ran"
    second = await serve(slack, model, workspace, database_url, None)
    try:
        await until(second, sandbox, root.ts, handled, lambda: final(sandbox, root.ts))
        await act_on_cards(sandbox, root.ts, handled)
    finally:
        await _stop(second)
    assert _paragraph_counts(sandbox, root.ts) == {FINDING: 1, PLAN: 1}, thread(sandbox, root.ts)
    whole = [m for m in thread(sandbox, root.ts) if "interrupted by a restart" not in m["text"]]
    text = "\n".join(str(m["text"]) for m in whole)
    assert text.count(RAN) == 1
    assert text.count(CLOSING) == 1
