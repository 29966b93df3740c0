"""What every Web API method of the local workspace shares: arguments, lookups, posting."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.slack import limits
from sandbox.slack.limits import ApiError, Violations
from sandbox.slack.model import Channel, Message, Workspace


@dataclass
class StreamLimits:
    """When a streamed message stops accepting appends, as Slack's do."""

    idle_s: float = 60.0
    max_s: float = 300.0


Args = dict[str, Any]
Hook = Callable[[Message], Awaitable[None]]


def json_field(args: Args, name: str) -> Any:
    value = args.get(name)
    if isinstance(value, str) and value.strip().startswith(("[", "{")):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise ApiError("invalid_arguments", detail=f"{name} is not valid JSON") from None
    return value


def warned(warnings: list[str]) -> Args:
    """Slack's way of saying a write was accepted but changed."""
    if not warnings:
        return {}
    return {"warning": ",".join(warnings), "response_metadata": {"warnings": warnings}}


def link_names(args: Args) -> bool:
    """Whether Slack would turn plain `@channel` words of this write into mentions."""
    return args.get("link_names") in (True, 1, "1", "true") or args.get("parse") == "full"


@dataclass
class ApiBase:
    """The workspace the methods act on; `on_message` lets the server emit events for new posts."""

    workspace: Workspace
    streams: StreamLimits = field(default_factory=StreamLimits)
    on_message: Hook | None = None
    stream_started: dict[str, float] = field(default_factory=dict)
    triggers: dict[str, float] = field(default_factory=dict)
    trigger_ttl_s: float = 3.0
    violations: Violations = field(default_factory=Violations)
    """Every write that met one of Slack's limits (sandbox/slack/limits.py)."""
    base_url: str = ""
    """Where the workspace is served (set once it listens): upload and file URLs point there."""

    def channel(self, args: Args, key: str = "channel") -> Channel:
        """The channel named by id or #name, or `channel_not_found`."""
        value = str(args.get(key) or "")
        found = self.workspace.channels.get(value) or self.workspace.channel_by_name(value)
        if found is None:
            raise ApiError("channel_not_found")
        return found

    def message(self, channel: Channel, ts: Any) -> Message:
        """A message of the channel, or `message_not_found`."""
        found = channel.messages.get(str(ts or ""))
        if found is None:
            raise ApiError("message_not_found")
        return found

    def _content(
        self, method: str, args: Args, *, required: bool = True
    ) -> tuple[str, list[Any] | None, list[str]]:
        """(text as Slack keeps it, blocks, warnings), or Slack's refusal."""
        text = str(args.get("text") or "")
        blocks = json_field(args, "blocks")
        if blocks is not None:
            limits.check_blocks(method, blocks, self.violations)
        if required and not text and not blocks:
            raise ApiError("no_text")
        text, warnings = limits.checked_text(method, text, self.violations)
        return text, blocks, warnings

    def _stream_stopped(self, channel: str, thread_ts: str | None, status: str) -> None:
        """A stream of the thread was stopped with this session status (sessions override)."""

    async def _post(self, channel: Channel, message: Message) -> None:
        """Store a new message (counted as a reply of its thread) and announce it."""
        channel.messages[message.ts] = message
        if message.thread_ts:
            root = channel.messages.get(message.thread_ts)
            if root is not None:
                root.reply_count += 1
        if self.on_message is not None:
            await self.on_message(message)
