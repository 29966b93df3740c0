"""A card whose end Slack refused is not left running, pending or "continuing" in a message
that is over: the end is sent again where the card shows next, the stream's stop.

A real run (DBOS, the scripted model, SQLite) renders through the Slack publisher into the
local workspace, which refuses the chunks that end the cards (a non-retried error, or Slack's
own trouble outlasting the writer's retries): the run's end (bot/task_cards.py
`ending_cards`), a call that finished mid-run, and the stop's own chunks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agents.events import RunFinished, ToolStarted
from sandbox.slack.app import start_slack
from sandbox.slack.server import Outage, SandboxConfig
from tests.integration.test_task_card_endings import published_run
from tests.integration.test_task_timeline_hostile import ANSWER, calls, run, turn
from tests.slack_runs import readable, replies, task_cards

ERRORS = [("invalid_arguments", 1), ("internal_error", 6)]


def _ends(args: dict[str, Any]) -> bool:
    return any(c.get("status") in ("complete", "error") for c in args.get("chunks") or [])


async def _ended_while_running(
    database_url: str, workspace: Path, outages: list[Outage]
) -> list[dict[str, Any]]:
    """Two calls running when the run fails, with `outages` from then on; the thread."""
    async with published_run(database_url, workspace) as (slack, publisher, root, run_id):
        for n in (1, 2):
            await publisher.publish(ToolStarted(run_id=run_id, agent="log_analyzer",
                                                tool_use_id=f"toolu_{n}", name="count_errors",
                                                summary=f"q{n}", risk="read"))  # fmt: skip
        await slack.sandbox.wait_until(lambda: len(task_cards(replies(slack, root.ts))) == 2)
        slack.sandbox.outages.extend(outages)
        await publisher.publish(RunFinished(run_id=run_id, outcome="failed", answer="",
                                            limit=None, input_tokens=1, output_tokens=1,
                                            cost_usd=0.0, duration_s=1.0))  # fmt: skip
        thread = replies(slack, root.ts)
    assert not [m for m in thread if m.get("streaming")]
    return thread


@pytest.mark.parametrize(("error", "times"), ERRORS)
async def test_a_refused_ending_of_a_run_still_ends_its_cards(
    database_url: str, workspace: Path, error: str, times: int
) -> None:
    outage = Outage("chat.appendStream", error=error, times=times, when=_ends)
    thread = await _ended_while_running(database_url, workspace, [outage])

    assert [(c["task_id"], c["status"], c.get("output")) for c in task_cards(thread)] == [
        ("toolu_1", "error", "not finished (run failed)"),
        ("toolu_2", "error", "not finished (run failed)")]  # fmt: skip


@pytest.mark.parametrize(("error", "times"), ERRORS)
async def test_a_stop_refusing_the_cards_ends_is_sent_with_them_bare(
    database_url: str, workspace: Path, error: str, times: int
) -> None:
    """Slack refuses the ends in the append and, with their output, in the stop too."""
    refused = [Outage("chat.appendStream", error=error, times=times, when=_ends),
               Outage("chat.stopStream", error=error, times=times,
                      when=lambda a: "output" in str(a.get("chunks")))]  # fmt: skip
    thread = await _ended_while_running(database_url, workspace, refused)

    assert [(c["task_id"], c["status"]) for c in task_cards(thread)] == [
        ("toolu_1", "error"), ("toolu_2", "error")]  # fmt: skip
    assert "`count_errors` — not finished (run failed)" in readable(thread), "a line says it"


@pytest.mark.parametrize(("error", "times"), ERRORS)
async def test_a_call_whose_refused_end_was_written_as_a_line_ends_its_card_at_the_stop(
    database_url: str, workspace: Path, error: str, times: int
) -> None:
    """Two slow calls, their cards shown running; their ends refused mid-run go out as
    lines, and the stream's stop ends the cards, not "continues in the next message"."""
    slack = await start_slack(SandboxConfig(rate_limits=False))
    try:
        slack.sandbox.outages.append(Outage("chat.appendStream", error=error, times=times,
                                            when=_ends))  # fmt: skip
        outcome, thread = await run(slack, database_url, workspace,
                                    turn(calls("slow_count", "first", "second")))  # fmt: skip
    finally:
        await slack.stop()

    assert outcome == "succeeded"
    cards = task_cards(thread)  # a card whose start was refused with an end is a line only
    assert cards[0]["title"] == "slow_count first"
    assert {c["status"] for c in cards} == {"complete"}, cards
    assert "continues in the next message" not in str(cards)
    assert ANSWER in readable(thread)
