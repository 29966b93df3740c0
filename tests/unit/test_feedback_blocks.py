"""Reading feedback payloads (bot/feedback_blocks.py): a click or a comment is read whole, or
the reason it cannot be a vote is named; the buttons go on the last message that ends a run."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.feedback_blocks import (
    BadFeedback,
    FeedbackClick,
    comment_modal,
    feedback_block,
    parse_comment,
    parse_feedback_click,
    with_feedback,
)

RUN = "T0:C0:1.000001"


def click(value: Any = f"down:{RUN}", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "user": {"id": "U1"}, "trigger_id": "t1",
        "container": {"channel_id": "C0", "message_ts": "2.0", "thread_ts": "1.000001"},
        "actions": [{"type": "feedback_buttons", "action_id": "opsbot_feedback", "value": value}],
    }  # fmt: skip
    body.update(changes)
    return body


def test_a_click_names_its_voter_vote_run_and_place() -> None:
    assert parse_feedback_click(click()) == FeedbackClick(
        user="U1", vote="down", run_id=RUN, channel="C0", message_ts="2.0",
        thread_ts="1.000001", trigger_id="t1",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (click(user=None), "the click names no user"),
        (click(user={"id": ""}), "the click names no user"),
        (click(container={"channel_id": "C0"}), "the click names no message"),
        (click(container="C0"), "the click names no message"),
        (click(actions=[]), "the click carries no vote"),
        (click(value=7), "the click carries no vote"),
        (click(value="maybe:" + RUN), "'maybe:T0:C0:1.000001' is not a vote (👍 or 👎)"),
        (click(value="up"), "the vote names no run"),
    ],
)
def test_a_click_that_is_no_vote_says_why(body: dict[str, Any], reason: str) -> None:
    bad = parse_feedback_click(body)
    assert isinstance(bad, BadFeedback)
    assert bad.reason == reason


def test_the_comment_of_the_modal_is_read_back() -> None:
    parsed = parse_feedback_click(click())
    assert isinstance(parsed, FeedbackClick)
    view = {**comment_modal(parsed),
            "state": {"values": {"comment": {"comment": {"value": "wrong host"}}}}}  # fmt: skip
    comment = parse_comment({"user": {"id": "U1"}}, view)
    assert comment is not None
    assert (comment.run_id, comment.channel, comment.comment) == (RUN, "C0", "wrong host")


@pytest.mark.parametrize(
    ("body", "view"),
    [
        ({"user": {"id": "U1"}}, {"private_metadata": "not json", "state": {"values": {}}}),
        (
            {"user": {"id": "U1"}},
            {"private_metadata": json.dumps({"channel": "C0"}), "state": {"values": {}}},
        ),
        ({}, {"private_metadata": json.dumps({"run_id": RUN}), "state": {"values": {}}}),
        ({"user": {"id": "U1"}}, {"private_metadata": json.dumps({"run_id": RUN})}),
    ],
)
def test_a_malformed_comment_is_not_read(body: dict[str, Any], view: dict[str, Any]) -> None:
    assert parse_comment(body, view) is None


def test_the_buttons_go_on_the_last_message_only() -> None:
    first: tuple[str, list[dict[str, Any]]] = ("a", [{"type": "markdown", "text": "a"}])
    last: tuple[str, list[dict[str, Any]]] = ("b", [])
    assert with_feedback([first, last], RUN) == [first, ("b", [feedback_block(RUN)])]
    assert with_feedback([], RUN) == []
    with pytest.raises(ValueError, match="run id"):
        feedback_block("")
