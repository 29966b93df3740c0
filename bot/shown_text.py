"""What the thread already shows of a run, read back from Slack after a restart.

The renderer keeps the text it wrote for a run (`RunView.shown`) so the final message repeats
none of the answer (bot/answer.py). A process that dies loses that memory; the thread does
not. A view rebuilt after a restart reads the messages the bot posted in the run's thread
since the message that asked for it (`conversations.replies`, bounded) and starts from them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.writer import SlackWriter

log = logging.getLogger(__name__)
PAGE = 200  # conversations.replies `limit`: Slack allows up to 1,000, suggests no more than 200
MAX_PAGES = 5  # a run's own messages in one thread: far under 1,000
# Slack escapes these three in a message's text
# (docs.slack.dev/messaging/formatting-message-text#escaping).
_ESCAPES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


@dataclass(frozen=True)
class BotIdentity:
    """The bot as Slack names its messages: `user` and `bot_id` (from `auth.test`)."""

    user_id: str
    bot_id: str

    def wrote(self, message: dict[str, Any]) -> bool:
        """Whether this bot posted `message`."""
        return bool(
            (self.bot_id and message.get("bot_id") == self.bot_id)
            or (self.user_id and message.get("user") == self.user_id)
        )


async def bot_identity(writer: SlackWriter) -> BotIdentity | None:
    """Who the bot is, from `auth.test`; None when Slack does not answer."""
    try:
        auth = await writer.call("auth.test")
    except SlackApiError as error:
        log.warning("could not ask Slack who the bot is: %s", error.response.get("error"))
        return None
    return BotIdentity(str(auth.get("user_id") or ""), str(auth.get("bot_id") or ""))


def message_text(message: dict[str, Any]) -> str:
    """A message's text as written: its `text` and the text of its markdown and section
    blocks, Slack's escapes undone."""
    parts = [str(message.get("text") or "")]
    for block in message.get("blocks") or []:
        text = block.get("text")
        if block.get("type") == "markdown" and isinstance(text, str):
            parts.append(text)
        elif isinstance(text, dict) and isinstance(text.get("text"), str):
            parts.append(text["text"])
    joined = "\n\n".join(p for p in parts if p)
    for escaped, plain in _ESCAPES:
        joined = joined.replace(escaped, plain)
    return joined


def _after(message: dict[str, Any], since_ts: str, thread_ts: str) -> bool:
    """Whether `message` came after `since_ts` and is a reply (`oldest` is a request Slack
    may answer with the whole thread)."""
    ts = str(message.get("ts") or "")
    try:
        return ts != thread_ts and float(ts) > float(since_ts)
    except ValueError:
        return False


async def thread_shown(
    writer: SlackWriter, identity: BotIdentity, channel: str, thread_ts: str, since_ts: str
) -> str:
    """The text of the bot's messages in the thread `thread_ts` of `channel` posted after
    `since_ts`, oldest first, at most MAX_PAGES pages of PAGE messages; "" when Slack does
    not answer (the final message then repeats the answer rather than lose any of it)."""
    texts: list[str] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        arguments: dict[str, Any] = {"channel": channel, "ts": thread_ts, "oldest": since_ts,
                                     "limit": PAGE}  # fmt: skip
        if cursor:
            arguments["cursor"] = cursor
        try:
            replies = await writer.call("conversations.replies", **arguments)
        except SlackApiError as error:
            log.warning("could not read thread %s: %s", thread_ts, error.response.get("error"))
            break
        texts += [message_text(m) for m in replies.get("messages") or []
                  if identity.wrote(m) and _after(m, since_ts, thread_ts)]  # fmt: skip
        cursor = (replies.get("response_metadata") or {}).get("next_cursor") or None
        if not replies.get("has_more") or not cursor:
            break
    return "\n\n".join(texts)
