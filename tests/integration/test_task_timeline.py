"""Tool calls as the task cards of Slack's streamed timeline: a real run (DBOS, the scripted
model) renders through the Slack publisher into the local workspace. Each call is one card,
in progress then complete or error with a one-line output; titles and outputs are redacted;
where the run's messages cannot be streams the same calls are readable text lines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from core.types import Risk
from sandbox.model.server import RunningModelServer, start_model_server
from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.server import Outage, SandboxConfig
from tests.slack_runs import chunks_of, replies, run_in_thread, task_cards
from tests.support import scripted
from tools.base import Tool, ToolContext, ToolError

ANSWER = "Checkout errors began at 14:02 UTC after deploy d-2044."
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
TIMELINE_TURN: dict[str, Any] = {
    "match": ".*",
    "router": [{"agent": "log_analyzer", "reason": "count the errors"}],
    "log_analyzer": [
        {"text": "Counting errors, then reading the deploy log.", "tool_calls": [
            {"name": "count_errors", "input": {"query": "status>=500"}},
            {"name": "read_deploy_log", "input": {"path": f"deploys/{AWS_KEY}.log"}}]},
        {"text": ANSWER},
    ],
}  # fmt: skip


class Query(BaseModel):
    query: str


class PathArg(BaseModel):
    path: str


async def _count(args: Query, ctx: ToolContext) -> dict[str, Any]:
    return {"query": args.query, "errors": 412}


async def _broken(args: PathArg, ctx: ToolContext) -> dict[str, Any]:
    raise ToolError(f"no such log {args.path} (token {AWS_KEY})")


TOOLS = (
    Tool(name="count_errors", description="Count errors.", input_model=Query, risk=Risk.READ,
         handler=_count),
    Tool(name="read_deploy_log", description="Read a deploy log.", input_model=PathArg,
         risk=Risk.READ, handler=_broken),
)  # fmt: skip


@pytest.fixture
async def slack() -> AsyncIterator[RunningSlack]:
    running = await start_slack(SandboxConfig(rate_window_s=60.0))
    yield running
    await running.stop()


@pytest.fixture
async def model() -> AsyncIterator[RunningModelServer]:
    server = await start_model_server(scripted([TIMELINE_TURN]))
    yield server
    await server.stop()


async def test_each_tool_call_is_one_card_complete_or_error_with_its_outcome(
    slack: RunningSlack, model: RunningModelServer, database_url: str, workspace: Path
) -> None:
    outcome, root_ts, _ = await run_in_thread(slack, model, database_url, workspace, TOOLS,
                                              ANSWER)  # fmt: skip

    assert outcome == "succeeded"
    thread = replies(slack, root_ts)
    cards = task_cards(thread)
    assert [(c["title"].split()[0], c["status"]) for c in cards] == [
        ("count_errors", "complete"), ("read_deploy_log", "error")]  # fmt: skip
    assert cards[0]["title"] == "count_errors status>=500"
    assert cards[0]["output"].startswith("ok · ")
    assert cards[0]["output"].endswith(" ms")
    assert "no such log" in cards[1]["output"]
    updates = [c["args"] for c in slack.sandbox.calls
               if c["method"].endswith("Stream") and "chunks" in str(c["args"])]  # fmt: skip
    statuses = [ch["status"] for a in updates for ch in chunks_of(a) if ch["type"] == "task_update"]
    assert statuses == ["in_progress", "complete", "in_progress", "error"]
    starts = [c["args"] for c in slack.sandbox.calls if c["method"] == "chat.startStream"]
    assert {a.get("task_display_mode") for a in starts} == {"timeline"}
    texts = " ".join(m["text"] for m in thread)
    assert texts.count(ANSWER) == 1  # the answer once, in the stream, not again at the end
    assert "count_errors" not in texts  # the calls are cards, not also text lines


async def test_a_secret_in_a_tools_input_or_error_never_reaches_a_card(
    slack: RunningSlack, model: RunningModelServer, database_url: str, workspace: Path
) -> None:
    _, root_ts, _ = await run_in_thread(slack, model, database_url, workspace, TOOLS, ANSWER)

    sent = str([c["args"] for c in slack.sandbox.calls if c["method"] != "chat.postMessage"
                or c["args"].get("user") != "U0ONCALL"])  # fmt: skip
    assert AWS_KEY not in sent
    [_, broken] = task_cards(replies(slack, root_ts))
    assert "[REDACTED:aws_key" in broken["title"]
    assert "[REDACTED:aws_key" in broken["output"]


@pytest.mark.parametrize(
    "refusal",
    [None, Outage("chat.startStream", error="not_allowed", times=99),
     Outage("chat.startStream", error="unknown_method", times=99)],
    ids=["streams-off", "not_allowed", "unknown_method"],
)  # fmt: skip
async def test_without_streams_the_calls_are_readable_text_lines(
    slack: RunningSlack, model: RunningModelServer, database_url: str, workspace: Path,
    refusal: Outage | None,
) -> None:  # fmt: skip
    if refusal is not None:
        slack.sandbox.outages.append(replace(refusal))  # its own count per database
    outcome, root_ts, _ = await run_in_thread(
        slack, model, database_url, workspace, TOOLS, ANSWER, use_streams=refusal is not None
    )

    assert outcome == "succeeded"
    thread = replies(slack, root_ts)
    assert task_cards(thread) == []
    texts = "\n".join(m["text"] for m in thread)
    assert "`count_errors` status>=500 — ok" in texts
    assert "`read_deploy_log`" in texts
    assert "no such log" in texts
    assert AWS_KEY not in texts
    assert texts.count(ANSWER) == 1
