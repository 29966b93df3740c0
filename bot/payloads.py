"""Slack payloads parsed once, at the edge, into typed values."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from core.types import ThreadRef

IGNORED_SUBTYPES = {
    "message_changed", "message_deleted", "channel_join", "channel_leave", "bot_message",
    "channel_topic", "channel_purpose", "channel_name", "pinned_item", "unpinned_item",
    "ekm_access_denied", "me_message", "thread_broadcast_deleted", "message_replied",
}  # fmt: skip
RUN_ID = re.compile(r"^[A-Z0-9]+:[A-Z0-9]+:\d+\.\d+$")
THREAD_LINK = re.compile(r"/archives/([A-Z0-9]+)/p(\d{10})(\d{6})")


def installation_team(body: dict[str, Any], own_team: str = "") -> str:
    """The workspace the app is installed in, which an event reaches: `authorizations[0]`,
    else `own_team` (the bot's own, from `auth.test` at start: BotDeps.team), else
    `context_team_id`, else the envelope's `team_id` (Events API "callback fields",
    docs.slack.dev/apis/events-api, which may leave `authorizations` out). In a Slack Connect
    channel the poster's `team` is their own organisation's and `context_team_id` the channel
    host's, so neither keys a thread while the bot's own team is known."""
    authorizations = body.get("authorizations")
    if isinstance(authorizations, list) and authorizations:
        first = authorizations[0]
        if isinstance(first, dict) and first.get("team_id"):
            return str(first["team_id"])
    return str(own_team or body.get("context_team_id") or body.get("team_id") or "")


class SlackMessage(BaseModel):
    """A message event from a person; `team` is the installation's (it keys the thread),
    `user_team` the poster's own (a Slack Connect partner's organisation, which a channel
    stream to them names as `recipient_team_id`)."""

    model_config = ConfigDict(frozen=True)

    team: str
    channel: str
    user: str
    user_team: str = ""
    text: str
    ts: str
    thread_ts: str | None = None
    blocks: list[dict[str, Any]] = []
    attachments: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []  # a `file_share` message's files (described, not read)

    @property
    def root_ts(self) -> str:
        """The thread this message belongs to (itself when it starts one)."""
        return self.thread_ts or self.ts

    def thread(self, fallback_team: str) -> ThreadRef:
        """The thread this message belongs to: installation team, channel, thread start."""
        return ThreadRef(team=self.team or fallback_team, channel=self.channel,
                         thread_ts=self.root_ts)  # fmt: skip

    def as_api(self) -> dict[str, Any]:
        """The message in the shape `conversations.replies` returns (for rendering its text)."""
        return {"ts": self.ts, "user": self.user, "text": self.text, "blocks": self.blocks,
                "attachments": self.attachments, "files": self.files}  # fmt: skip


def poster_team(event: dict[str, Any], installation: str) -> str:
    """The team of the person who posted: the event's `user_team`, else its `team`, else the
    installation's (a message event names the poster's team in `team`, and in a shared channel
    also `user_team`; Events API `message` event, docs.slack.dev/reference/events/message)."""
    for name in ("user_team", "team"):
        if isinstance(event.get(name), str) and event[name]:
            return str(event[name])
    return installation


def person_message(
    body: dict[str, Any], event: dict[str, Any], bot_user: str, own_team: str = ""
) -> SlackMessage | None:
    """The message if a person wrote it (not a bot, not an edit, delete or join), else None;
    `own_team` is the bot's own workspace (see `installation_team`)."""
    if event.get("bot_id") or event.get("subtype") in IGNORED_SUBTYPES:
        return None
    if event.get("subtype") not in (None, "thread_broadcast", "file_share"):
        return None
    if event.get("user") in (None, bot_user):
        return None
    try:
        team = installation_team(body, own_team)
        return SlackMessage(
            team=team, user_team=poster_team(event, team),
            channel=str(event["channel"]), user=str(event["user"]),
            text=str(event.get("text") or ""), ts=str(event["ts"]),
            thread_ts=str(event["thread_ts"]) if event.get("thread_ts") else None,
            blocks=_dicts(event.get("blocks")), attachments=_dicts(event.get("attachments")),
            files=_dicts(event.get("files")),
        )  # fmt: skip
    except (KeyError, ValidationError):
        return None


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def mentions(text: str, bot_user: str) -> bool:
    """Whether the text mentions the bot (`<@U123>` or `<@U123|name>`)."""
    return re.search(rf"<@{re.escape(bot_user)}(?:\|[^<>]*)?>", text) is not None


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
    """`/opsbot status <run id or thread link>` → ("run", id) or ("thread", thread key);
    `team` is the installation's, as in every thread key."""
    text = text.strip().strip("<>").split("|", 1)[0]
    if RUN_ID.match(text):
        return "run", text
    link = THREAD_LINK.search(text)
    if link:
        root = f"{link.group(2)}.{link.group(3)}"
        return "thread", ThreadRef(team=team, channel=link.group(1), thread_ts=root).key
    return None
