"""The workspace model: team, users, channels, messages, threads, reactions, the installed app,
other apps that post into channels, and Slack Connect partners (users of another organisation
in a channel shared with it)."""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from sandbox.slack import stream_chunks


@dataclass
class User:
    """A person (or the bot user) of the workspace."""

    id: str
    name: str
    real_name: str
    is_bot: bool = False
    bot_id: str | None = None
    team_id: str | None = None  # another organisation's, for a Slack Connect partner
    display_name: str | None = None  # what Slack shows after @ (the name when unset)

    def info(self, team_id: str) -> dict[str, Any]:
        """The `users.info` shape (`team_id`: the workspace's, unless the user is a partner's)."""
        return {
            "id": self.id, "team_id": self.team_id or team_id, "name": self.name,
            "real_name": self.real_name,
            "deleted": False, "is_bot": self.is_bot, "is_admin": False, "tz": "UTC",
            "profile": {"real_name": self.real_name, "display_name": self.display_name or self.name,
                        **({"bot_id": self.bot_id} if self.bot_id else {})},
        }  # fmt: skip


@dataclass(frozen=True)
class OtherApp:
    """Another app installed in the workspace that posts messages (Alertmanager, Datadog)."""

    bot_id: str
    app_id: str
    name: str
    user: str | None = None  # its bot user; None for an incoming webhook's posts
    team_id: str | None = None

    def profile(self, team_id: str) -> dict[str, Any]:
        """The `bot_profile` Slack puts on the app's messages."""
        return {"id": self.bot_id, "app_id": self.app_id, "name": self.name, "deleted": False,
                "team_id": self.team_id or team_id}  # fmt: skip


@dataclass
class Message:
    """A message as Slack stores it; streamed messages grow through `stream_text`.

    Another app's message carries `bot_id`, `app_id`, `bot_profile` and often only
    `attachments` (an incoming webhook's also `subtype: bot_message`, `username` and no user).
    """

    ts: str
    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    bot_id: str | None = None
    edited: bool = False
    reactions: dict[str, list[str]] = field(default_factory=dict)
    metadata: dict[str, Any] | None = None
    streaming: bool = False
    stream_text: str = ""
    stream_parts: list[dict[str, Any]] = field(default_factory=list)  # see stream_chunks
    task_display_mode: str | None = None
    stream_last_append: float = 0.0
    reply_count: int = 0
    link_names: bool = False  # sent with `link_names` / `parse=full`: plain @channel notifies
    attachments: list[dict[str, Any]] | None = None
    subtype: str | None = None
    username: str | None = None
    app_id: str | None = None
    bot_profile: dict[str, Any] | None = None
    team: str | None = None  # the poster's organisation (a partner's in Slack Connect)
    files: list[dict[str, Any]] | None = None  # shared files (files.completeUploadExternal)

    def as_api(self) -> dict[str, Any]:
        """The shape `conversations.history` / `replies` return."""
        body: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.visible_text()}
        if self.user:
            body["user"] = self.user
        for name in ("subtype", "username", "app_id", "bot_profile", "team"):
            if getattr(self, name):
                body[name] = getattr(self, name)
        if self.blocks is not None or stream_chunks.has_structure(self.stream_parts):
            body["blocks"] = self.all_blocks()
        if self.attachments:
            body["attachments"] = self.attachments
        if self.files:
            body["files"] = self.files
        if self.thread_ts:
            body["thread_ts"] = self.thread_ts
        if self.bot_id:
            body["bot_id"] = self.bot_id
        if self.edited:
            body["edited"] = {"user": self.user, "ts": self.ts}
        if self.reply_count:
            body["reply_count"] = self.reply_count
        if self.reactions:
            body["reactions"] = [
                {"name": name, "users": users, "count": len(users)}
                for name, users in self.reactions.items()
            ]
        if self.metadata:
            body["metadata"] = self.metadata
        return body

    def all_blocks(self) -> list[dict[str, Any]]:
        """The blocks a person sees: a streamed message's task cards and plan (with its text
        as markdown blocks) first, then the blocks it was finished with."""
        if stream_chunks.has_structure(self.stream_parts):
            streamed = stream_chunks.as_blocks(self.stream_parts, self.task_display_mode)
        elif self.stream_text and self.blocks:  # chat.stopStream's blocks go under the text
            streamed = [{"type": "markdown", "text": self.stream_text}]
        else:
            streamed = []
        return [*streamed, *(self.blocks or [])]

    def visible_text(self) -> str:
        """What a person sees: the streamed text for a streamed message."""
        return (
            self.stream_text
            if (self.streaming or self.stream_text) and not self.text
            else self.text
        )


@dataclass
class SlackFile:
    """A file of the workspace: announced (files.getUploadURLExternal), then its bytes uploaded,
    then shared (files.completeUploadExternal)."""

    id: str
    name: str
    length: int
    upload_key: str
    alt_txt: str = ""
    title: str = ""
    content: bytes | None = None
    created: int = field(default_factory=lambda: int(time.time()))
    shared_in: str | None = None  # the channel it was shared in; None: not completed


@dataclass
class Channel:
    """A public channel and its messages in ts order."""

    id: str
    name: str
    members: set[str] = field(default_factory=set)
    messages: dict[str, Message] = field(default_factory=dict)
    shared_with: set[str] = field(default_factory=set)  # partner teams (Slack Connect)
    host_team: str | None = None  # the organisation that owns it; None: this workspace


@dataclass
class Ephemeral:
    """A message only one user sees."""

    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None
    ts: str


@dataclass
class Workspace:
    """Everything in one sandbox workspace, with the app's credentials."""

    team_id: str = "T0SANDBOX"
    team_name: str = "opsbot sandbox"
    domain: str = "opsbot-sandbox"
    app_id: str = "A0OPSBOT"
    bot_token: str = field(default_factory=lambda: "xoxb-sandbox-" + secrets.token_hex(12))
    app_token: str = field(default_factory=lambda: "xapp-1-sandbox-" + secrets.token_hex(12))
    signing_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    scopes: str = (
        "app_mentions:read,channels:history,channels:read,chat:write,commands,groups:history,"
        "reactions:write,users:read,usergroups:read,assistant:write,im:history,files:write"
    )
    users: dict[str, User] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    usergroups: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # handle, users
    apps: dict[str, OtherApp] = field(default_factory=dict)  # other apps, by bot id
    ephemeral: list[Ephemeral] = field(default_factory=list)
    views: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, SlackFile] = field(default_factory=dict)
    _ts_counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _last_ts: float = 0.0

    @property
    def bot(self) -> User:
        """The app's bot user."""
        return next(u for u in self.users.values() if u.is_bot)

    def new_ts(self) -> str:
        """A message timestamp: unique and increasing, as Slack's are."""
        now = max(time.time(), self._last_ts + 0.000001)
        self._last_ts = now
        return f"{now:.6f}"

    def channel_by_name(self, name: str) -> Channel | None:
        """A channel by name (with or without '#')."""
        name = name.lstrip("#")
        return next((c for c in self.channels.values() if c.name == name), None)

    def find_message(self, channel: str, ts: str) -> Message | None:
        """A message by channel and ts."""
        found = self.channels.get(channel)
        return found.messages.get(ts) if found else None

    def team_of(self, user: str) -> str:
        """The organisation a user belongs to (a partner's, or this workspace's)."""
        found = self.users.get(user)
        return (found.team_id if found else None) or self.team_id

    def add_partner(self, user: User, channel: str) -> None:
        """Share `channel` with the user's organisation (Slack Connect) and add the user."""
        if not user.team_id or user.team_id == self.team_id:
            raise ValueError("a Slack Connect partner belongs to another team")
        self.users[user.id] = user
        self.channels[channel].shared_with.add(user.team_id)
        self.channels[channel].members.add(user.id)

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """The root message and its replies, in order."""
        found = self.channels.get(channel)
        if found is None:
            return []
        return sorted(
            (m for m in found.messages.values() if m.ts == thread_ts or m.thread_ts == thread_ts),
            key=lambda m: float(m.ts),
        )


def default_workspace() -> Workspace:
    """The workspace `make dev` and the tests start from."""
    workspace = Workspace()
    for user in (
        User("U0BOT", "opsbot", "opsbot", is_bot=True, bot_id="B0OPSBOT"),
        User("U0ONCALL", "oncall", "Casey On-call"),
        User("U0LEAD", "lead", "Robin Incident-lead"),
        User("U0VIEWER", "viewer", "Sam Viewer"),
    ):
        workspace.users[user.id] = user
    everyone = set(workspace.users)
    workspace.channels["C0INCIDENTS"] = Channel("C0INCIDENTS", "incidents", set(everyone))
    workspace.channels["C0GENERAL"] = Channel("C0GENERAL", "general", set(everyone))
    workspace.usergroups["S0ONCALL"] = ("oncall", ["U0ONCALL", "U0LEAD"])
    return workspace
