"""Slack payloads parsed once, at the edge, into typed values."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

IGNORED_SUBTYPES = {
    "message_changed", "message_deleted", "channel_join", "channel_leave", "bot_message",
    "channel_topic", "channel_purpose", "channel_name", "pinned_item", "unpinned_item",
    "ekm_access_denied", "me_message", "thread_broadcast_deleted", "message_replied",
}  # fmt: skip
RUN_ID = re.compile(r"^[A-Z0-9]+:[A-Z0-9]+:\d+\.\d+$")
THREAD_LINK = re.compile(r"/archives/([A-Z0-9]+)/p(\d{10})(\d{6})")


class SlackMessage(BaseModel):
    """A message event from a person."""

    model_config = ConfigDict(frozen=True)

    team: str
    channel: str
    user: str
    text: str
    ts: str
    thread_ts: str | None = None

    @property
    def root_ts(self) -> str:
        """The thread this message belongs to (itself when it starts one)."""
        return self.thread_ts or self.ts


def person_message(
    body: dict[str, Any], event: dict[str, Any], bot_user: str
) -> SlackMessage | None:
    """The message if a person wrote it (not a bot, not an edit, delete or join), else None."""
    if event.get("bot_id") or event.get("subtype") in IGNORED_SUBTYPES:
        return None
    if event.get("subtype") not in (None, "thread_broadcast", "file_share"):
        return None
    if event.get("user") in (None, bot_user):
        return None
    try:
        return SlackMessage(
            team=str(event.get("team") or body.get("team_id") or ""),
            channel=str(event["channel"]), user=str(event["user"]),
            text=str(event.get("text") or ""), ts=str(event["ts"]),
            thread_ts=str(event["thread_ts"]) if event.get("thread_ts") else None,
        )  # fmt: skip
    except (KeyError, ValidationError):
        return None


def mentions(text: str, bot_user: str) -> bool:
    """Whether the text mentions the bot."""
    return f"<@{bot_user}>" in text


def without_mention(text: str, bot_user: str) -> str:
    """The text with the bot's mention removed."""
    return re.sub(rf"<@{re.escape(bot_user)}(\|[^>]*)?>", "", text).strip()


class Click(BaseModel):
    """A click on an approval card's button."""

    model_config = ConfigDict(frozen=True)

    user: str
    team: str
    approval_id: str
    channel: str
    message_ts: str
    trigger_id: str
    blocks: list[dict[str, Any]]


def parse_click(body: dict[str, Any]) -> Click | None:
    """The click, or None when the payload lacks what a click on a card carries."""
    try:
        container = body["container"]
        return Click(
            user=str(body["user"]["id"]), team=str(body["team"]["id"]),
            approval_id=str(body["actions"][0]["value"]),
            channel=str(container["channel_id"]), message_ts=str(container["message_ts"]),
            trigger_id=str(body.get("trigger_id") or ""),
            blocks=list((body.get("message") or {}).get("blocks") or []),
        )  # fmt: skip
    except (KeyError, IndexError, TypeError, ValidationError):
        return None


def parse_status_target(text: str, team: str) -> tuple[str, str] | None:
    """`/opsbot status <run id or thread link>` → ("run", id) or ("thread", thread key)."""
    text = text.strip().strip("<>").split("|", 1)[0]
    if RUN_ID.match(text):
        return "run", text
    link = THREAD_LINK.search(text)
    if link:
        return "thread", f"{team}:{link.group(1)}:{link.group(2)}.{link.group(3)}"
    return None
