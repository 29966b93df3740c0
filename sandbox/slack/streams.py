"""Streamed messages: chat.startStream / appendStream / stopStream, as Slack answers them."""

from __future__ import annotations

import time

from sandbox.slack import limits, stream_chunks
from sandbox.slack.api_base import ApiBase, Args, json_field
from sandbox.slack.limits import ApiError
from sandbox.slack.model import Channel, Message
from sandbox.slack.sessions import STATUSES as SESSION_STATUSES


class StreamMethods(ApiBase):
    """Streams grow one message; Slack finalizes one left idle or open too long."""

    def _take_chunks(self, method: str, args: Args, message: Message) -> None:
        """One call's `markdown_text` and `chunks`, checked (nothing is taken when any of
        it is refused), added to the message's text and parts."""
        chunks = stream_chunks.check_chunks(json_field(args, "chunks"))
        text = str(args.get("markdown_text") or "")
        markdown = text + "".join(c["text"] for c in chunks if c["type"] == "markdown_text")
        limits.check_stream_markdown(method, markdown, self.violations)
        message.stream_text += markdown
        stream_chunks.apply_chunks(message.stream_parts, chunks, text)

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
                          task_display_mode=stream_chunks.display_mode(args),
                          stream_last_append=time.monotonic())  # fmt: skip
        self._take_chunks("chat.startStream", args, message)
        self.stream_started[message.ts] = time.monotonic()
        await self._post(channel, message)
        return {"channel": channel.id, "ts": message.ts}

    async def chat_append_stream(self, args: Args) -> Args:
        channel, message = self._streaming(args)
        self._take_chunks("chat.appendStream", args, message)
        message.stream_last_append = time.monotonic()
        return {"channel": channel.id, "ts": message.ts}

    async def chat_stop_stream(self, args: Args) -> Args:
        """Finish the stream; `session_status` (default `active`) becomes its thread's agent
        session status (docs.slack.dev/reference/methods/chat.stopStream)."""
        status = str(args.get("session_status") or "active")
        if status not in SESSION_STATUSES:
            raise ApiError("invalid_arguments", detail=f"session_status must be one of "
                           f"{SESSION_STATUSES}")  # fmt: skip
        channel, message = self._streaming(args)
        blocks = json_field(args, "blocks")
        if blocks is not None:
            limits.check_blocks("chat.stopStream", blocks, self.violations)
        self._take_chunks("chat.stopStream", args, message)
        if blocks is not None:
            message.blocks = blocks
        message.streaming = False
        message.text = message.stream_text
        self._stream_stopped(channel.id, message.thread_ts, status)
        return {"channel": channel.id, "ts": message.ts, "message": message.as_api()}
