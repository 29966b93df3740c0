"""Web API methods: Slack's response shapes and error codes over the workspace model."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sandbox.slack import limits
from sandbox.slack.api_base import Args, StreamLimits, json_field, link_names, warned
from sandbox.slack.blocks import MAX_VIEW_BLOCKS
from sandbox.slack.directory import directory_methods
from sandbox.slack.files import FileMethods
from sandbox.slack.limits import ApiError
from sandbox.slack.model import Ephemeral, Message
from sandbox.slack.sessions import SessionMethods
from sandbox.slack.streams import StreamMethods

__all__ = ["ApiError", "StreamLimits", "WebApi"]


@dataclass
class WebApi(StreamMethods, FileMethods, SessionMethods):
    """The methods the bot may call; `on_message` lets the server emit events for new posts."""

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
                          metadata=json_field(args, "metadata"),
                          link_names=link_names(args))  # fmt: skip
        await self._post(channel, message)
        return {"channel": channel.id, "ts": message.ts, "message": message.as_api(),
                **warned(warnings)}  # fmt: skip

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
        message.link_names = link_names(args)
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
        return {"message_ts": ts, **warned(warnings)}

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
        view = json_field(args, "view")
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
            **self.session_methods(),
            "files.getUploadURLExternal": self.files_get_upload_url_external,
            "files.completeUploadExternal": self.files_complete_upload_external,
        }
