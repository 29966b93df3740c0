"""👍 / 👎 clicks under an answer and the 👎 comment modal: store, audit, thank or explain.

A click is acknowledged at once (Slack's 3 s), then stored through agents/feedback.py. A 👎
opens the comment modal with the click's `trigger_id` (views.open,
docs.slack.dev/reference/methods/views.open). A malformed click or a vote on an unknown run
stores nothing; the person is told why in an ephemeral note when the payload says who and
where they are, else it is logged. A vote counts only on a run of the thread it was clicked
in (of this workspace's install), and a comment only on a run of the thread its modal names:
a value or `private_metadata` naming another thread's run is an unknown run.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from agents import feedback
from bot.deps import BotDeps
from bot.feedback_blocks import (
    COMMENT_MODAL,
    FEEDBACK_ACTION,
    BadFeedback,
    comment_modal,
    parse_comment,
    parse_feedback_click,
)
from bot.listeners.approvals import tell

log = logging.getLogger(__name__)
UNKNOWN_RUN = "This answer's run is unknown, so your vote was not recorded."
THANKS = "Thanks: your 👍 is recorded (voting again replaces it)."
NO_MODAL = "Your 👎 is recorded (the comment form could not open)."
COMMENT_THANKS = "Thanks: your comment is recorded with your 👎."


async def _refuse(deps: BotDeps, bad: BadFeedback) -> None:
    log.warning("feedback refused: %s (user %s, channel %s)", bad.reason, bad.user, bad.channel)
    if bad.user and bad.channel:
        await tell(deps, bad.channel, bad.user, f"Your vote was not recorded: {bad.reason}.",
                   bad.thread_ts)  # fmt: skip


def register(app: AsyncApp, deps: BotDeps) -> None:
    """Listen to the feedback buttons and the comment modal."""

    @app.action(FEEDBACK_ACTION)
    async def on_feedback(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        click = parse_feedback_click(body)
        if isinstance(click, BadFeedback):
            await _refuse(deps, click)
            return
        thread_id = f"{deps.team}:{click.channel}:{click.thread_ts or click.message_ts}"
        result = await feedback.record_vote(click.run_id, click.user, click.vote, thread_id)
        if result.outcome is feedback.FeedbackOutcome.UNKNOWN_RUN:
            await tell(deps, click.channel, click.user, UNKNOWN_RUN, click.thread_ts)
        elif click.vote == "up":
            await tell(deps, click.channel, click.user, THANKS, click.thread_ts)
        else:
            try:
                await deps.writer.call("views.open", trigger_id=click.trigger_id,
                                       view=comment_modal(click))  # fmt: skip
            except SlackApiError as error:
                log.warning("comment modal not opened: %s", error.response.get("error"))
                await tell(deps, click.channel, click.user, NO_MODAL, click.thread_ts)

    @app.view(COMMENT_MODAL)
    async def on_comment(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ack()
        comment = parse_comment(body, view)
        if comment is None or comment.channel is None or comment.thread_ts is None:
            log.warning("feedback comment refused: the submission is malformed")
            return
        if not comment.comment.strip():
            return  # sent empty: the 👎 alone stays
        thread_id = f"{deps.team}:{comment.channel}:{comment.thread_ts}"
        result = await feedback.record_comment(comment.run_id, comment.user, comment.comment,
                                               thread_id)  # fmt: skip
        note = (
            UNKNOWN_RUN.replace("vote", "comment")
            if result.outcome is feedback.FeedbackOutcome.UNKNOWN_RUN
            else COMMENT_THANKS
        )
        await tell(deps, comment.channel, comment.user, note, comment.thread_ts)
