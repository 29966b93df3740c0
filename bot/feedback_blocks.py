"""Feedback buttons under an answer, the 👎 comment modal, and reading their payloads.

Block Kit: a `context_actions` block holding one `feedback_buttons` element
(docs.slack.dev/reference/block-kit/blocks/context-actions-block,
docs.slack.dev/reference/block-kit/block-elements/feedback-buttons-element). A click arrives
as `block_actions` whose action has `type: feedback_buttons` and the clicked button's
`value`; each value is `<vote>:<run id>` ("up" or "down"), so a click names its run.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict

from agents.feedback import MAX_COMMENT, VOTES

FEEDBACK_ACTION = "opsbot_feedback"
FEEDBACK_BLOCK = "opsbot_feedback"
COMMENT_MODAL = "opsbot_feedback_comment"
COMMENT_INPUT = "comment"
MAX_RUN_ID = 2000 - len("down:")  # a button's value holds at most 2,000 characters


def feedback_block(run_id: str) -> dict[str, Any]:
    """The 👍 / 👎 buttons of one run's answer (a `context_actions` block)."""
    if not run_id or len(run_id) > MAX_RUN_ID:
        raise ValueError(f"a run id of 1 to {MAX_RUN_ID} characters is needed, got {run_id!r}")

    def button(emoji: str, vote: str, label: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": emoji}, "value": f"{vote}:{run_id}",
                "accessibility_label": label}  # fmt: skip

    return {
        "type": "context_actions",
        "block_id": FEEDBACK_BLOCK,
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": FEEDBACK_ACTION,
                "positive_button": button("👍", "up", "This answer helped"),
                "negative_button": button("👎", "down", "This answer did not help"),
            }
        ],
    }


def with_feedback(
    messages: list[tuple[str, list[dict[str, Any]]]], run_id: str
) -> list[tuple[str, list[dict[str, Any]]]]:
    """`messages` (fallback text, blocks) that end a run, the last one carrying the buttons."""
    if not messages:
        return messages
    text, blocks = messages[-1]
    return [*messages[:-1], (text, [*blocks, feedback_block(run_id)])]


class FeedbackClick(BaseModel):
    """A click on a feedback button: who, which vote, on which run, where."""

    model_config = ConfigDict(frozen=True)

    user: str
    vote: str
    run_id: str
    channel: str
    message_ts: str
    thread_ts: str | None
    trigger_id: str


class BadFeedback(BaseModel):
    """A feedback payload that cannot be a vote: why, and whom to tell (when known)."""

    model_config = ConfigDict(frozen=True)

    reason: str
    user: str | None
    channel: str | None
    thread_ts: str | None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_feedback_click(body: dict[str, Any]) -> FeedbackClick | BadFeedback:
    """The click in a `block_actions` payload, or why it is not one (no user, no vote, no run)."""
    user, container = _object(body.get("user")), _object(body.get("container"))
    actions = body.get("actions")
    action = _object(actions[0] if isinstance(actions, list) and actions else None)
    who, channel = _text(user.get("id")), _text(container.get("channel_id"))
    thread_ts = _text(container.get("thread_ts"))
    vote, _, run_id = str(action.get("value") or "").partition(":")
    reason = None
    if who is None:
        reason = "the click names no user"
    elif channel is None or _text(container.get("message_ts")) is None:
        reason = "the click names no message"
    elif not _text(action.get("value")):
        reason = "the click carries no vote"
    elif vote not in VOTES:
        reason = f"{str(action['value'])[:40]!r} is not a vote (👍 or 👎)"
    elif not run_id:
        reason = "the vote names no run"
    if reason is not None or who is None or channel is None:
        return BadFeedback(reason=reason or "", user=who, channel=channel, thread_ts=thread_ts)
    return FeedbackClick(user=who, vote=vote, run_id=run_id, channel=channel,
                         message_ts=str(container["message_ts"]), thread_ts=thread_ts,
                         trigger_id=str(body.get("trigger_id") or ""))  # fmt: skip


def comment_modal(click: FeedbackClick) -> dict[str, Any]:
    """The modal a 👎 opens: an optional comment on what was wrong (views.open)."""
    thread_ts = click.thread_ts or click.message_ts  # a root message is its thread's root
    metadata = {"run_id": click.run_id, "channel": click.channel, "thread_ts": thread_ts}
    return {
        "type": "modal",
        "callback_id": COMMENT_MODAL,
        "private_metadata": json.dumps(metadata),
        "title": {"type": "plain_text", "text": "What went wrong?"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Skip"},
        "blocks": [
            {
                "type": "input",
                "block_id": COMMENT_INPUT,
                "optional": True,
                "label": {"type": "plain_text", "text": "Your 👎 is recorded. Tell us why?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": COMMENT_INPUT,
                    "multiline": True,
                    "max_length": MAX_COMMENT,
                },
            },
        ],
    }


class FeedbackComment(BaseModel):
    """A submitted comment modal: who, on which run, where to answer, the text."""

    model_config = ConfigDict(frozen=True)

    user: str
    run_id: str
    channel: str | None
    thread_ts: str | None
    comment: str


def parse_comment(body: dict[str, Any], view: dict[str, Any]) -> FeedbackComment | None:
    """The comment of a `view_submission` of the comment modal, or None when malformed."""
    try:
        metadata = json.loads(str(view.get("private_metadata") or ""))
        values = view["state"]["values"]
        comment = values.get(COMMENT_INPUT, {}).get(COMMENT_INPUT, {}).get("value") or ""
        return FeedbackComment(
            user=str(body["user"]["id"]), run_id=str(metadata["run_id"]),
            channel=metadata.get("channel"), thread_ts=metadata.get("thread_ts"),
            comment=str(comment),
        )  # fmt: skip
    except (KeyError, TypeError, AttributeError, ValueError):
        return None
