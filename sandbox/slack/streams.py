"""Streamed messages: chat.startStream / appendStream / stopStream, as Slack answers them."""

from __future__ import annotations

import time

from sandbox.slack import limits
from sandbox.slack.api_base import ApiBase, Args, json_field
from sandbox.slack.limits import ApiError
from sandbox.slack.model import Channel, Message


class StreamMethods(ApiBase):
    """Streams grow one message; Slack finalizes one left idle or open too long."""

    def _chunks_text(self, method: str, args: Args) -> str:
        text = str(args.get("markdown_text") or "")
        for chunk in json_field(args, "chunks") or []:
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
        limits.check_stream_recipient(channel.id, args, self.violations,
                                      self.workspace.team_of)  # fmt: skip
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
        blocks = json_field(args, "blocks")
        if blocks is not None:
            limits.check_blocks("chat.stopStream", blocks, self.violations)
            message.blocks = blocks
        message.streaming = False
        message.text = message.stream_text
        return {"channel": channel.id, "ts": message.ts, "message": message.as_api()}
