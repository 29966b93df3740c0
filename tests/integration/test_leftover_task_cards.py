"""A leftover stream of a run that had ended keeps no task card spinning.

A real run (DBOS, the scripted model, SQLite) is cancelled while a tool call runs, and Slack
refuses the writes that would end its card and stop its stream (internal_error): the stream
is left open with the card `in_progress`, and the call, not interrupted, finishes after the
run's end, which no renderer shows. Then, as at the next start (the stream's row is this
executor's, as in tests/integration/test_leftover_of_an_answered_run.py), Slack answers again
and bot/leftovers.py stops the stream with the card ended as the run ended ("stopped by
<@U…>"), a call that finished before the run's end keeping its own end.
The leftover of a run that is resumed is in tests/e2e/test_restart_task_cards.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.leftovers import finish_leftovers
from sandbox.slack.server import Outage, SandboxConfig
from tests.integration.test_task_card_endings import (
    GATES,
    _cancel_command,
    _stop_from_slack,
    running,
    turn,
)
from tests.slack_runs import CHANNEL, task_cards

REFUSED = ("chat.appendStream", "chat.stopStream")


@pytest.mark.parametrize(
    ("cancel", "user", "tools"),
    [(_cancel_command, "U0LEAD", ("gated_count",)),
     (_stop_from_slack, "U0ONCALL", ("count_errors", "gated_count"))],
    ids=["cancel-first-call", "stop-after-a-call"],
)  # fmt: skip
async def test_an_ended_runs_leftover_stream_ends_its_running_card_as_the_run_ended(
    database_url: str, workspace: Path, cancel: Any, user: str, tools: tuple[str, ...]
) -> None:
    async with running(database_url, workspace, turn(*tools), SandboxConfig()) as run:
        sandbox = run.slack.sandbox

        def cards() -> list[dict[str, Any]]:
            return task_cards(sandbox.rendered_thread(CHANNEL, run.root_ts))

        def gated() -> dict[str, Any] | None:
            return next((c for c in cards() if c["title"].startswith("gated_count")), None)

        await sandbox.wait_until(lambda: gated() is not None, 30)
        sandbox.outages.extend(Outage(method, times=99) for method in REFUSED)
        await cancel(run, user)
        GATES[-1].set()  # the call ends after the run's end: no renderer shows it
        await asyncio.sleep(1.0)
        running_card = gated()
        assert running_card is not None
        assert running_card["status"] == "in_progress", "Slack refused the card's end"
        assert [m for m in sandbox.rendered_thread(CHANNEL, run.root_ts) if m["streaming"]]

        sandbox.outages.clear()  # the next start, and Slack answers again
        assert await finish_leftovers(run.writer) == 1
        shown = sandbox.rendered_thread(CHANNEL, run.root_ts)

    assert [c for c in task_cards(shown) if c["status"] == "in_progress"] == [], task_cards(shown)
    assert not [m for m in shown if m["streaming"]]
    ended = gated()
    assert ended is not None
    assert (ended["status"], ended.get("output")) == ("error", f"stopped by <@{user}>")
    if "count_errors" in tools:
        counted = [c for c in task_cards(shown) if c["title"].startswith("count_errors")]
        assert [c["status"] for c in counted] == ["complete"]
    assert "interrupted by a restart" not in str(shown), "the run had ended: nothing resumes"
