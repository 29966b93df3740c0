"""The local workspace takes streaming chunks as Slack documents them
(docs.slack.dev/messaging/sending-and-scheduling-messages#text-streaming): task cards updated in
place by id, a plan, markdown between them; a bad chunk or display mode is refused whole
with invalid_arguments and changes nothing. Called through slack_sdk's real client."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.models.messages.chunk import MarkdownTextChunk, PlanUpdateChunk, TaskUpdateChunk
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack.app import RunningSlack

CHANNEL = "C0INCIDENTS"
RECIPIENT: dict[str, Any] = {"recipient_team_id": "T0SANDBOX", "recipient_user_id": "U0ONCALL"}


@pytest.fixture
def slack(unlimited_slack: RunningSlack) -> RunningSlack:
    return unlimited_slack


@pytest.fixture
def web(bot_client: AsyncWebClient) -> AsyncWebClient:
    return bot_client


async def _stream(slack: RunningSlack, web: AsyncWebClient, **first: Any) -> tuple[str, str]:
    root = await slack.sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> why?")
    started = await web.chat_startStream(channel=CHANNEL, thread_ts=root.ts, **RECIPIENT, **first)
    return root.ts, str(started["ts"])


def _blocks(slack: RunningSlack, ts: str) -> list[dict[str, Any]]:
    [message] = [m for m in slack.sandbox.workspace.channels[CHANNEL].messages.values()
                 if m.ts == ts]  # fmt: skip
    return message.as_api().get("blocks") or []


async def test_a_timeline_keeps_cards_where_they_arrived_and_updates_them_in_place(
    slack: RunningSlack, web: AsyncWebClient
) -> None:
    _, ts = await _stream(slack, web, markdown_text="Looking. ", task_display_mode="timeline")
    await web.chat_appendStream(channel=CHANNEL, ts=ts, chunks=[
        TaskUpdateChunk(id="t1", title="search_logs 500", status="in_progress")])  # fmt: skip
    await web.chat_appendStream(channel=CHANNEL, ts=ts, chunks=[
        TaskUpdateChunk(id="t1", title="search_logs 500", status="complete", output="ok · 4 ms"),
        MarkdownTextChunk(text="Found it.")])  # fmt: skip
    await web.chat_stopStream(channel=CHANNEL, ts=ts)

    assert _blocks(slack, ts) == [
        {"type": "markdown", "text": "Looking. "},
        {"type": "task_card", "task_id": "t1", "title": "search_logs 500", "status": "complete",
         "output": "ok · 4 ms"},
        {"type": "markdown", "text": "Found it."},
    ]  # fmt: skip
    [message] = [m for m in slack.sandbox.rendered_thread(CHANNEL, _root(slack)) if m["ts"] == ts]
    assert message["text"] == "Looking. Found it."  # the text of a client without cards


async def test_plan_mode_gathers_the_cards_under_the_plans_title(
    slack: RunningSlack, web: AsyncWebClient
) -> None:
    _, ts = await _stream(slack, web, task_display_mode="plan", chunks=[
        PlanUpdateChunk(title="Investigating"),
        TaskUpdateChunk(id="a", title="read logs", status="complete")])  # fmt: skip
    await web.chat_appendStream(channel=CHANNEL, ts=ts, chunks=[
        PlanUpdateChunk(title="Fixing"), MarkdownTextChunk(text="Done."),
        TaskUpdateChunk(id="b", title="edit file", status="error", details="denied")])  # fmt: skip

    [plan, text] = _blocks(slack, ts)
    assert plan["title"] == "Fixing"
    assert [(t["task_id"], t["status"]) for t in plan["tasks"]] == [
        ("a", "complete"), ("b", "error")]  # fmt: skip
    assert text == {"type": "markdown", "text": "Done."}


@pytest.mark.parametrize(
    "chunks",
    [
        [{"type": "thinking", "text": "hm"}],  # no such chunk type
        [{"type": "task_update", "id": "t1", "status": "complete"}],  # no title
        [{"type": "task_update", "id": "t1", "title": "x", "status": "done"}],  # bad status
        [{"type": "task_update", "id": "", "title": "x", "status": "pending"}],  # empty id
        [{"type": "task_update", "id": "t", "title": "x" * 257, "status": "pending"}],
        [{"type": "task_update", "id": "t", "title": "x", "status": "pending", "output": 5}],
        [{"type": "plan_update"}],  # no title
        [{"type": "markdown_text"}],  # no text
        ["just text"],
        {"type": "markdown_text", "text": "not an array"},
    ],
)
async def test_a_bad_chunk_is_refused_and_nothing_of_the_call_is_taken(
    slack: RunningSlack, web: AsyncWebClient, chunks: Any
) -> None:
    _, ts = await _stream(slack, web, markdown_text="Before. ")

    with pytest.raises(SlackApiError) as refused:
        await web.api_call("chat.appendStream", json={
            "channel": CHANNEL, "ts": ts, "markdown_text": "After.", "chunks": chunks})  # fmt: skip

    assert refused.value.response["error"] == "invalid_arguments"
    [message] = [m for m in slack.sandbox.rendered_thread(CHANNEL, _root(slack)) if m["ts"] == ts]
    assert message["text"] == "Before. "
    assert not message["blocks"]


@pytest.mark.parametrize("mode", ["gallery", "TIMELINE", 5])
async def test_an_unknown_task_display_mode_is_refused(
    slack: RunningSlack, web: AsyncWebClient, mode: Any
) -> None:
    root = await slack.sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> why?")

    with pytest.raises(SlackApiError) as refused:
        await web.api_call("chat.startStream", json={
            "channel": CHANNEL, "thread_ts": root.ts, "markdown_text": "x",
            "task_display_mode": mode, **RECIPIENT})  # fmt: skip

    assert refused.value.response["error"] == "invalid_arguments"
    assert len(slack.sandbox.rendered_thread(CHANNEL, root.ts)) == 1  # no message was made


def _root(slack: RunningSlack) -> str:
    roots = [m for m in slack.sandbox.workspace.channels[CHANNEL].messages.values()
             if m.thread_ts in (None, m.ts) and m.user == "U0ONCALL"]  # fmt: skip
    return roots[-1].ts
