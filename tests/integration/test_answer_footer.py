"""The answer once, in one message: where the answer streamed whole, the footer (outcome,
duration, tokens, cost) and the feedback buttons close that stream (chat.stopStream `blocks`)
and no message follows it; where the stream cannot take them (Slack ended it, refused the
stop, or there are no streams) they come in one final message. Never twice, never lost."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from sandbox.model.server import RunningModelServer
from sandbox.slack.app import RunningSlack
from sandbox.slack.server import Outage
from tests.integration.test_task_timeline import ANSWER, TOOLS, model, slack
from tests.slack_runs import replies, run_in_thread

__all__ = ["model", "slack"]  # the fixtures, imported so pytest finds them here
FOOTER_WORDS = "out tokens"


def footer_messages(thread: list[dict[str, Any]]) -> list[int]:
    """Indexes of the replies showing a footer (a context block with the token counts)."""
    return [
        index for index, message in enumerate(thread)
        if any(b["type"] == "context" and FOOTER_WORDS in json.dumps(b)
               for b in message.get("blocks") or [])
    ]  # fmt: skip


def feedback_messages(thread: list[dict[str, Any]]) -> list[int]:
    return [
        index for index, message in enumerate(thread)
        if any(b["type"] == "context_actions" for b in message.get("blocks") or [])
    ]  # fmt: skip


def answer_count(thread: list[dict[str, Any]]) -> int:
    """How often the answer shows: in a message's text or in its blocks (not both at once)."""
    return sum(
        max(str(m.get("text") or "").count(ANSWER), json.dumps(m.get("blocks") or []).count(ANSWER))
        for m in thread
    )


def stop_calls(slack: RunningSlack) -> list[dict[str, Any]]:
    return [c["args"] for c in slack.sandbox.calls if c["method"] == "chat.stopStream"]


async def test_a_streamed_answer_ends_with_its_footer_and_buttons_in_the_same_message(
    slack: RunningSlack, model: RunningModelServer, database_url: str, workspace: Any
) -> None:
    outcome, root_ts, _ = await run_in_thread(slack, model, database_url, workspace, TOOLS,
                                              ANSWER)  # fmt: skip

    assert outcome == "succeeded"
    thread = replies(slack, root_ts)
    last = thread[-1]
    assert ANSWER in last["text"], "the last reply is the stream that holds the answer"
    assert footer_messages(thread) == [len(thread) - 1]
    assert feedback_messages(thread) == [len(thread) - 1]
    kinds = [b["type"] for b in last["blocks"]]
    assert kinds[-2:] == ["context", "context_actions"], kinds
    assert answer_count(thread) == 1
    with_blocks = [a for a in stop_calls(slack) if a.get("blocks")]
    assert [a["ts"] for a in with_blocks] == [last["ts"]]
    page = slack.sandbox.rendered_thread(  # the local page shows the text above the footer
        "C0INCIDENTS", root_ts)[-1]  # fmt: skip
    page_blocks = json.dumps(page.get("blocks"))
    assert page_blocks.index("deploy d-2044") < page_blocks.index(FOOTER_WORDS)


@pytest.mark.parametrize(
    "refusal",
    [
        Outage("chat.stopStream", error="message_not_in_streaming_state", times=1,
               when=lambda args: bool(args.get("blocks"))),
        Outage("chat.stopStream", error="invalid_blocks", times=1,
               when=lambda args: bool(args.get("blocks"))),
        Outage("chat.stopStream", error="channel_not_found", times=5),
    ],
    ids=["stream-ended-by-slack", "blocks-refused", "stop-refused"],
)  # fmt: skip
async def test_a_stream_that_cannot_take_the_footer_gets_one_final_message(
    slack: RunningSlack, model: RunningModelServer, database_url: str, workspace: Any,
    refusal: Outage,
) -> None:  # fmt: skip
    slack.sandbox.outages.append(replace(refusal))  # its own count per database
    outcome, root_ts, _ = await run_in_thread(slack, model, database_url, workspace, TOOLS,
                                              ANSWER)  # fmt: skip

    assert outcome == "succeeded"
    thread = replies(slack, root_ts)
    assert footer_messages(thread) == [len(thread) - 1]
    assert feedback_messages(thread) == [len(thread) - 1]
    assert answer_count(thread) == 1
    assert ANSWER not in thread[-1]["text"], "the final message repeats none of the answer"


async def test_without_streams_the_answer_message_carries_the_footer_once(
    slack: RunningSlack, model: RunningModelServer, database_url: str, workspace: Any
) -> None:
    outcome, root_ts, _ = await run_in_thread(slack, model, database_url, workspace, TOOLS,
                                              ANSWER, use_streams=False)  # fmt: skip

    assert outcome == "succeeded"
    thread = replies(slack, root_ts)
    assert stop_calls(slack) == []
    assert footer_messages(thread) == [len(thread) - 1]
    assert feedback_messages(thread) == [len(thread) - 1]
    assert answer_count(thread) == 1
