"""Every string of a stream chunk that Slack shows people passes the one door of
bot/safe_text.py: a task card's title, details and output, a plan's title."""

from __future__ import annotations

from typing import Any

import pytest

from bot import task_chunks
from bot.safe_text import safe_arguments
from core.redact import Redactor
from sandbox.slack.mentions import broadcasts
from sandbox.slack.model import Message
from sandbox.slack.stream_chunks import MAX_TASK_TITLE, apply_chunks, check_chunks


def _shown(chunks: list[dict[str, Any]]) -> Message:
    """The chunks as the local workspace stores a streamed message of them."""
    message = Message(ts="1.0", channel="C1", user="U0BOT", text="")
    apply_chunks(message.stream_parts, check_chunks(chunks), "")
    return message


@pytest.mark.parametrize("bait", ["<!channel>", "@here", "<!subteam^S1|@oncall>", "@everyone"])
@pytest.mark.parametrize("field", ["title", "details", "output"])
def test_a_task_card_string_sent_by_hand_is_made_safe_at_the_door(bait: str, field: str) -> None:
    chunk = {"type": "task_update", "id": "t1", "title": "count_errors", "status": "error",
             field: f"{bait} look"}  # fmt: skip
    assert broadcasts(_shown([chunk])) != [], "the workspace counts it as Slack would"
    safe = safe_arguments("chat.appendStream", {"ts": "1", "chunks": [chunk]})
    assert broadcasts(_shown(safe["chunks"])) == []
    assert "look" in safe["chunks"][0][field]


@pytest.mark.parametrize("bait", ["<!here> rollout", "plain @channel rollout"])
def test_a_plan_title_pings_nobody(bait: str) -> None:
    safe = safe_arguments("chat.stopStream", {"chunks": [{"type": "plan_update", "title": bait}]})
    assert broadcasts(_shown(safe["chunks"])) == []


def test_the_person_who_stopped_a_run_is_still_named() -> None:
    chunk = task_chunks.task_finished("t1", "count_errors", "not_finished", "stopped by <@U0LEAD>",
                                      Redactor())  # fmt: skip
    assert safe_arguments("chat.stopStream", {"chunks": [chunk]})["chunks"][0]["output"] == (
        "stopped by <@U0LEAD>"
    )


@pytest.mark.parametrize("summary", ["<!here> " * 40, "<!channel>" * 30])
def test_an_escaped_title_stays_within_slacks_length(summary: str) -> None:
    chunk = task_chunks.task_started("t1", "count_errors", summary, Redactor())
    sent = safe_arguments("chat.appendStream", {"chunks": [chunk]})["chunks"]
    check_chunks(sent)  # refused with invalid_arguments when a title is too long
    assert len(sent[0]["title"]) <= MAX_TASK_TITLE
    assert broadcasts(_shown(sent)) == []
