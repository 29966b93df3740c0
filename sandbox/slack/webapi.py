"""Web API methods: Slack's response shapes and error codes over the workspace model."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.slack import limits
from sandbox.slack.blocks import MAX_VIEW_BLOCKS
from sandbox.slack.directory import directory_methods
from sandbox.slack.limits import ApiError, Violations
from sandbox.slack.model import Channel, Ephemeral, Message, Workspace

__all__ = ["ApiError", "StreamLimits", "WebApi"]


@dataclass
class StreamLimits:
    """When a streamed message stops accepting appends, as Slack's do."""

    idle_s: float = 60.0
    max_s: float = 300.0


Args = dict[str, Any]
Hook = Callable[[Message], Awaitable[None]]


def _json_field(args: Args, name: str) -> Any:
    value = args.get(name)
    if isinstance(value, str) and value.strip().startswith(("[", "{")):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise ApiError("invalid_arguments", detail=f"{name} is not valid JSON") from None
    return value


def _warned(warnings: list[str]) -> Args:
    """Slack's way of saying a write was accepted but changed."""
    if not warnings:
        return {}
    return {"warning": ",".join(warnings), "response_metadata": {"warnings": warnings}}


def _link_names(args: Args) -> bool:
    """Whether Slack would turn plain `@channel` words of this write into mentions."""
    return args.get("link_names") in (True, 1, "1", "true") or args.get("parse") == "full"


@dataclass
class WebApi:
    """The methods the bot may call; `on_message` lets the server emit events for new posts."""

    workspace: Workspace
    streams: StreamLimits = field(default_factory=StreamLimits)
    on_message: Hook | None = None
    stream_started: dict[str, float] = field(default_factory=dict)
    triggers: dict[str, float] = field(default_factory=dict)
    trigger_ttl_s: float = 3.0
    violations: Violations = field(default_factory=Violations)
    """Every write that met one of Slack's limits (sandbox/slack/limits.py)."""

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
        blocks = _json_field(args, "blocks")
        if blocks is not None:
            limits.check_blocks(method, blocks, self.violations)
        if required and not text and not blocks:
            raise ApiError("no_text")
        text, warnings = limits.checked_text(method, text, self.violations)
        return text, blocks, warnings

    async def _post(self, channel: Channel, message: Message) -> None:
        channel.messages[message.ts] = message
        if message.thread_ts:
            root = channel.messages.get(message.thread_ts)
            if root is not None:
                root.reply_count += 1
        if self.on_message is not None:
            await self.on_message(message)

    async def auth_test(self, args: Args) -> Args:
        bot, space = self.workspace.bot, self.workspace
        return {"url": f"https://{space.domain}.slack.com/", "team": space.team_name,
                "user": bot.name, "team_id": self.workspace.team_id, "user_id": bot.id,
                "bot_id": bot.bot_id, "is_enterprise_install": False}  # fmt: skip

    async def chat_post_message(self, args: Args) -> Args:
        channel = self.channel(args)
        text, blocks, warnings = self._content("chat.postMessage", args)
        bot = self.workspace.bot
        thread_ts = str(args["thread_ts"]) if args.get("thread_ts") else None
        if thread_ts and thread_ts not in channel.messages:
            raise ApiError("thread_not_found")
        message = Message(ts=self.workspace.new_ts(), channel=channel.id, user=bot.id, text=text,
                          blocks=blocks, thread_ts=thread_ts, bot_id=bot.bot_id,
                          metadata=_json_field(args, "metadata"),
                          link_names=_link_names(args))  # fmt: skip
        await self._post(channel, message)
        return {"channel": channel.id, "ts": message.ts, "message": message.as_api(),
                **_warned(warnings)}  # fmt: skip

    async def chat_update(self, args: Args) -> Args:
        limits.require(args, "channel", "ts")
        channel = self.channel(args)
        message = self.message(channel, args.get("ts"))
        if message.user != self.workspace.bot.id:
            raise ApiError("cant_update_message")
        text, blocks, _ = self._content("chat.update", args, required=False)
        if not text and blocks is None and not message.stream_text:
            raise ApiError("no_text")
        message.text = text or message.text or message.stream_text
        if blocks is not None:
            message.blocks = blocks
        message.link_names = _link_names(args)
        message.streaming = False
        message.edited = True
        return {"channel": channel.id, "ts": message.ts, "text": message.text,
                "message": message.as_api()}  # fmt: skip

    async def chat_delete(self, args: Args) -> Args:
        channel = self.channel(args)
        message = self.message(channel, args.get("ts"))
        if message.user != self.workspace.bot.id:
            raise ApiError("cant_delete_message")
        del channel.messages[message.ts]
        return {"channel": channel.id, "ts": message.ts}

    async def chat_post_ephemeral(self, args: Args) -> Args:
        channel = self.channel(args)
        user = str(args.get("user") or "")
        if user not in self.workspace.users:
            raise ApiError("user_not_found")
        if user not in channel.members:
            raise ApiError("user_not_in_channel")
        text, blocks, warnings = self._content("chat.postEphemeral", args)
        ts = self.workspace.new_ts()
        thread_ts = str(args["thread_ts"]) if args.get("thread_ts") else None
        self.workspace.ephemeral.append(Ephemeral(channel.id, user, text, blocks, thread_ts, ts))
        return {"message_ts": ts, **_warned(warnings)}

    def _chunks_text(self, method: str, args: Args) -> str:
        text = str(args.get("markdown_text") or "")
        for chunk in _json_field(args, "chunks") or []:
            if isinstance(chunk, dict) and chunk.get("type") == "markdown_text":
                text += str(chunk.get("text") or "")
        limits.check_stream_markdown(method, text, self.violations)
        return text

    def _streaming(self, args: Args) -> tuple[Channel, Message]:
        limits.require(args, "channel", "ts")
        channel = self.channel(args)
        message = self.message(channel, args.get("ts"))
        now = time.monotonic()
        started = self.stream_started.get(message.ts, now)
        expired = (
            now - message.stream_last_append > self.streams.idle_s
            or now - started > self.streams.max_s
        )
        if message.streaming and expired:
            message.streaming = False  # Slack finalizes an abandoned stream as it stands
        if not message.streaming:
            raise ApiError("message_not_in_streaming_state")
        return channel, message

    async def chat_start_stream(self, args: Args) -> Args:
        channel = self.channel(args)
        thread_ts = str(args.get("thread_ts") or "")
        if not thread_ts:
            raise ApiError("invalid_arguments", detail="thread_ts is required")
        if thread_ts not in channel.messages:
            raise ApiError("thread_not_found")
        limits.check_stream_recipient(channel.id, args, self.violations)
        bot = self.workspace.bot
        message = Message(ts=self.workspace.new_ts(), channel=channel.id, user=bot.id, text="",
                          thread_ts=thread_ts, bot_id=bot.bot_id, streaming=True,
                          stream_text=self._chunks_text("chat.startStream", args),
                          stream_last_append=time.monotonic())  # fmt: skip
        self.stream_started[message.ts] = time.monotonic()
        await self._post(channel, message)
        return {"channel": channel.id, "ts": message.ts}

    async def chat_append_stream(self, args: Args) -> Args:
        channel, message = self._streaming(args)
        message.stream_text += self._chunks_text("chat.appendStream", args)
        message.stream_last_append = time.monotonic()
        return {"channel": channel.id, "ts": message.ts}

    async def chat_stop_stream(self, args: Args) -> Args:
        channel, message = self._streaming(args)
        message.stream_text += self._chunks_text("chat.stopStream", args)
        blocks = _json_field(args, "blocks")
        if blocks is not None:
            limits.check_blocks("chat.stopStream", blocks, self.violations)
            message.blocks = blocks
        message.streaming = False
        message.text = message.stream_text
        return {"channel": channel.id, "ts": message.ts, "message": message.as_api()}

    async def conversations_replies(self, args: Args) -> Args:
        channel = self.channel(args)
        ts = str(args.get("ts") or "")
        if ts not in channel.messages:
            raise ApiError("thread_not_found")
        messages = [m.as_api() for m in self.workspace.thread(channel.id, ts)]
        return {"messages": messages, "has_more": False,
                "response_metadata": {"next_cursor": ""}}  # fmt: skip

    async def conversations_history(self, args: Args) -> Args:
        channel = self.channel(args)
        limit = int(args.get("limit") or 100)
        roots = sorted(
            (m for m in channel.messages.values() if not m.thread_ts or m.thread_ts == m.ts),
            key=lambda m: float(m.ts), reverse=True,
        )  # fmt: skip
        return {"messages": [m.as_api() for m in roots[:limit]], "has_more": len(roots) > limit,
                "response_metadata": {"next_cursor": ""}}  # fmt: skip

    async def conversations_info(self, args: Args) -> Args:
        channel = self.channel(args)
        return {"channel": {"id": channel.id, "name": channel.name, "is_channel": True,
                            "is_private": False, "is_archived": False,
                            "is_member": self.workspace.bot.id in channel.members,
                            "num_members": len(channel.members)}}  # fmt: skip

    async def reactions_add(self, args: Args) -> Args:
        channel = self.channel(args)
        message = self.message(channel, args.get("timestamp"))
        name = str(args.get("name") or "").strip(":")
        if not name:
            raise ApiError("invalid_name")
        users = message.reactions.setdefault(name, [])
        if self.workspace.bot.id in users:
            raise ApiError("already_reacted")
        users.append(self.workspace.bot.id)
        return {}

    async def users_info(self, args: Args) -> Args:
        user = self.workspace.users.get(str(args.get("user") or ""))
        if user is None:
            raise ApiError("user_not_found")
        return {"user": user.info(self.workspace.team_id)}

    async def usergroups_users_list(self, args: Args) -> Args:
        group = self.workspace.usergroups.get(str(args.get("usergroup") or ""))
        if group is None:
            raise ApiError("no_such_subteam")
        return {"users": list(group[1])}

    def _view(self, args: Args) -> dict[str, Any]:
        view = _json_field(args, "view")
        if not isinstance(view, dict) or view.get("type") not in ("home", "modal"):
            raise ApiError("invalid_arguments", detail="view.type must be home or modal")
        limits.check_blocks("views", view.get("blocks") or [], self.violations,
                            limit=MAX_VIEW_BLOCKS)  # fmt: skip
        return view

    async def views_publish(self, args: Args) -> Args:
        if str(args.get("user_id") or "") not in self.workspace.users:
            raise ApiError("user_not_found")
        view = {**self._view(args), "id": "V" + self.workspace.new_ts().replace(".", "")}
        self.workspace.views.append({"user_id": args["user_id"], "view": view})
        return {"view": view}

    async def views_open(self, args: Args) -> Args:
        issued = self.triggers.get(str(args.get("trigger_id") or ""))
        if issued is None:
            raise ApiError("invalid_trigger_id")
        if time.monotonic() - issued > self.trigger_ttl_s:
            raise ApiError("expired_trigger_id")
        view = {**self._view(args), "id": "V" + self.workspace.new_ts().replace(".", "")}
        self.workspace.views.append({"trigger_id": args.get("trigger_id"), "view": view})
        return {"view": view}

    async def assistant_threads_set_status(self, args: Args) -> Args:
        channel = self.channel(args, "channel_id")
        if not args.get("thread_ts"):
            raise ApiError("invalid_arguments", detail="thread_ts is required")
        self.workspace.statuses.append({"channel": channel.id, "thread_ts": args["thread_ts"],
                                        "status": str(args.get("status") or "")})  # fmt: skip
        return {}

    def methods(self) -> dict[str, Callable[[Args], Awaitable[Args]]]:
        """Every bot-token method by its Slack name."""
        return {
            **directory_methods(self.workspace, ApiError),
            "auth.test": self.auth_test,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.delete": self.chat_delete,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.startStream": self.chat_start_stream,
            "chat.appendStream": self.chat_append_stream,
            "chat.stopStream": self.chat_stop_stream,
            "conversations.replies": self.conversations_replies,
            "conversations.history": self.conversations_history,
            "conversations.info": self.conversations_info,
            "reactions.add": self.reactions_add,
            "users.info": self.users_info,
            "usergroups.users.list": self.usergroups_users_list,
            "views.publish": self.views_publish,
            "views.open": self.views_open,
            "assistant.threads.setStatus": self.assistant_threads_set_status,
        }
