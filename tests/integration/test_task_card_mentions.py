"""A task card cannot ping a crowd: the title (a call's key argument) and the output (its
error) of a card reach the local workspace with no broadcast in them, as streamed text does.

Slack turns a `task_update` chunk's strings into rich text for people, so `<!channel>` or a
plain `@here` there notifies like the stream's markdown would (sandbox/slack/mentions.py).
A real run (DBOS, the scripted model, SQLite) renders into the workspace.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from core.types import Risk
from sandbox.model.server import start_model_server
from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.mentions import broadcasts
from sandbox.slack.server import SandboxConfig
from tests.slack_runs import CHANNEL, replies, run_in_thread, task_cards
from tests.support import scripted
from tools.base import Tool, ToolContext

ANSWER = "Checkout errors began at 14:02 UTC after deploy d-2044."


class Query(BaseModel):
    query: str


async def _count(args: Query, ctx: ToolContext) -> dict[str, Any]:
    return {"errors": 412}


async def _failing(args: Query, ctx: ToolContext) -> dict[str, Any]:
    raise RuntimeError(f"backend said: {args.query}")


COUNT = Tool(name="count_errors", description="Count errors.", input_model=Query,
             risk=Risk.READ, handler=_count)  # fmt: skip
FAILING = Tool(name="failing_count", description="Count, failing.", input_model=Query,
               risk=Risk.READ, handler=_failing)  # fmt: skip


@pytest.fixture
async def slack() -> AsyncIterator[RunningSlack]:
    running = await start_slack(SandboxConfig(rate_limits=False))
    yield running
    await running.stop()


async def _run(
    slack: RunningSlack, database_url: str, workspace: Path, tool: str, query: str
) -> list[dict[str, Any]]:
    """One call of `tool` with `query` rendered into a thread; the thread's replies."""
    script = {"match": ".*", "router": [{"agent": "log_analyzer", "reason": "count"}],
              "log_analyzer": [{"text": "Looking.",
                                "tool_calls": [{"name": tool, "input": {"query": query}}]},
                               {"text": ANSWER}]}  # fmt: skip
    model = await start_model_server(scripted([script]))
    try:
        outcome, root_ts, _ = await run_in_thread(slack, model, database_url, workspace,
                                                  (COUNT, FAILING), ANSWER)  # fmt: skip
    finally:
        await model.stop()
    assert outcome == "succeeded"
    ours = [m for m in slack.sandbox.workspace.thread(CHANNEL, root_ts)[1:]
            if m.user == "U0BOT"]  # fmt: skip
    assert [(m.ts, broadcasts(m)) for m in ours if broadcasts(m)] == []
    return replies(slack, root_ts)


@pytest.mark.parametrize(
    ("query", "word"),
    [("<!channel> checkout", "!channel"), ("@here checkout", "here"),
     ("<!subteam^S0ONCALL|@oncall> checkout", "subteam"), ("@everyone", "everyone")],
)  # fmt: skip
async def test_a_key_argument_with_a_broadcast_gives_a_card_title_that_pings_nobody(
    slack: RunningSlack, database_url: str, workspace: Path, query: str, word: str
) -> None:
    thread = await _run(slack, database_url, workspace, "count_errors", query)

    cards = task_cards(thread)
    assert [(c["title"].split()[0], c["status"]) for c in cards] == [("count_errors", "complete")]
    assert word in cards[0]["title"], "the words stay readable; only the mention goes"


@pytest.mark.parametrize("query", ["<!everyone> rollback now", "ask @channel first"])
async def test_a_tool_error_with_a_broadcast_gives_a_card_output_that_pings_nobody(
    slack: RunningSlack, database_url: str, workspace: Path, query: str
) -> None:
    thread = await _run(slack, database_url, workspace, "failing_count", query)

    cards = task_cards(thread)
    assert [c["status"] for c in cards] == ["error"]
    assert "backend said" in cards[0].get("output", "")
