"""Agent hops as the stream's plan: each hop titles the plan with the path so far
(`plan_update`) and its routed line goes on in the same stream, so a routed run is one message;
where there are no streams the routed lines are readable text (each a message of its own when
the run knows that from its start)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from sandbox.model.server import RunningModelServer, start_model_server
from sandbox.slack.app import RunningSlack
from sandbox.slack.server import Outage
from tests.integration.test_task_timeline import slack
from tests.slack_runs import chunks_of, replies, run_in_thread
from tests.support import scripted

__all__ = ["slack"]  # the fixture, imported so pytest finds it here
ANSWER = "Set pool_size back to 20 in config/db.yaml."
HOPS_TURN: dict[str, Any] = {
    "match": ".*",
    "router": [{"agent": "log_analyzer", "reason": "look at the logs"},
               {"agent": "coding", "reason": "the fix is in the config <!channel>"},
               {"agent": "done", "reason": "answered"}],
    "log_analyzer": [{"text": "Errors began at 14:02 UTC, all pool timeouts."}],
    "coding": [{"text": ANSWER}],
}  # fmt: skip


@pytest.fixture
async def model() -> AsyncIterator[RunningModelServer]:
    server = await start_model_server(scripted([HOPS_TURN]))
    yield server
    await server.stop()


def plan_titles_sent(slack: RunningSlack) -> list[str]:
    return [chunk["title"] for call in slack.sandbox.calls if call["method"].endswith("Stream")
            for chunk in chunks_of(call["args"]) if chunk["type"] == "plan_update"]  # fmt: skip


async def test_hops_title_the_plan_and_the_routed_run_is_one_message(
    slack: RunningSlack, model: RunningModelServer, database_url: str, workspace: Any
) -> None:
    outcome, root_ts, _ = await run_in_thread(slack, model, database_url, workspace, (), ANSWER)

    assert outcome == "succeeded"
    assert plan_titles_sent(slack) == ["log_analyzer", "log_analyzer → coding"]
    thread = replies(slack, root_ts)
    assert len(thread) == 1, [m["text"] for m in thread]
    [message] = thread
    plans = [b for b in message["blocks"] if b["type"] == "plan"]
    assert [p["title"] for p in plans] == ["log_analyzer → coding"]
    text = message["text"]
    assert text.count(":compass: *log_analyzer* — look at the logs") == 1
    assert text.count(":compass: *coding*") == 1
    assert "<!channel>" not in text, "a broadcast in the model's reason is neutralised"
    assert text.index("*log_analyzer*") < text.index("14:02") < text.index("*coding*")
    assert text.index("*coding*") < text.index(ANSWER)


FENCED_TURN: dict[str, Any] = {
    "match": ".*",
    "router": [{"agent": "log_analyzer", "reason": "look at the logs"},
               {"agent": "coding", "reason": "```\nfix\n it"},
               {"agent": "done", "reason": "answered"}],
    "log_analyzer": [{"text": "The pool log:\n```\npool timeout after 30s"}],
    "coding": [{"text": ANSWER}],
}  # fmt: skip


async def test_a_code_block_left_open_by_one_agent_does_not_swallow_the_next_hop(
    slack: RunningSlack, database_url: str, workspace: Any
) -> None:
    server = await start_model_server(scripted([FENCED_TURN]))
    try:
        outcome, root_ts, _ = await run_in_thread(slack, server, database_url, workspace, (),
                                                  ANSWER)  # fmt: skip
    finally:
        await server.stop()

    assert outcome == "succeeded"
    text = "\n".join(m["text"] for m in replies(slack, root_ts))
    routed = text.index(":compass: *coding*")
    assert text[:routed].count("```") % 2 == 0, "the open block is closed before the hop"
    assert text.count("```") % 2 == 0
    assert ":compass: *coding* — ` fix it" in text
    assert text.index(ANSWER) > routed


@pytest.mark.parametrize(
    "refusal", [None, Outage("chat.startStream", error="not_allowed", times=99)],
    ids=["streams-off", "not_allowed"],
)  # fmt: skip
async def test_without_streams_each_routed_line_is_a_message(
    slack: RunningSlack, model: RunningModelServer, database_url: str, workspace: Any,
    refusal: Outage | None,
) -> None:  # fmt: skip
    if refusal is not None:
        slack.sandbox.outages.append(replace(refusal))  # its own count per database
    outcome, root_ts, _ = await run_in_thread(slack, model, database_url, workspace, (), ANSWER,
                                              use_streams=refusal is not None)  # fmt: skip

    assert outcome == "succeeded"
    thread = replies(slack, root_ts)
    assert not [b for m in thread for b in m.get("blocks") or [] if b["type"] == "plan"]
    texts = [m["text"] for m in thread]
    joined = "\n".join(texts)
    assert joined.count(":compass: *log_analyzer* — look at the logs") == 1
    assert joined.count(":compass: *coding*") == 1
    assert joined.index("*log_analyzer*") < joined.index("14:02") < joined.index("*coding*")
    assert joined.count(ANSWER) == 1
    if refusal is None:  # known from the start: each routed line is a message of its own
        assert [t.split(" — ")[0] for t in texts if t.startswith(":compass:")] == [
            ":compass: *log_analyzer*", ":compass: *coding*"]  # fmt: skip
