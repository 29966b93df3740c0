"""One rate-aware writer per workspace: paces Slack calls by tier and honours 429 Retry-After;
every write passes bot/safe_text.py on its way out."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import text_split
from bot.safe_text import safe_arguments
from core import faults

log = logging.getLogger(__name__)

PER_MINUTE = {
    "chat.startStream": 20, "chat.stopStream": 20, "chat.update": 50, "chat.delete": 50,
    "reactions.add": 50, "chat.appendStream": 100, "chat.postEphemeral": 100,
    "views.publish": 100, "views.open": 100, "conversations.replies": 50,
    "files.getUploadURLExternal": 100, "files.completeUploadExternal": 100,
    "agents.sessions.setStatus": 50, "agents.sessions.rename": 50,
}  # fmt: skip
POST_MESSAGE_PER_CHANNEL_S = 1.0
MAX_ATTEMPTS = 8
STREAM_METHODS = frozenset({"chat.startStream", "chat.appendStream", "chat.stopStream"})
FORM_METHODS = frozenset({"files.getUploadURLExternal", "files.completeUploadExternal"})
"""Sent as slack_sdk sends them (form parameters, `files` a JSON string), not as a JSON body."""


class UploadRefused(Exception):
    """The upload URL did not take a file's bytes (Slack answered other than 200)."""


class _Bucket:
    """A token bucket: `rate` per second, bursts of `burst`.

    Calls of one bucket go out one at a time (`lock` is held across the request), so a 429 is
    known before the next request of that bucket leaves: none is already in flight behind it.
    """

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = burst, time.monotonic()
        self.lock = asyncio.Lock()

    async def take(self) -> None:
        """Wait for a token; the caller holds `lock`."""
        while True:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await asyncio.sleep((1 - self.tokens) / self.rate)

    def pause(self, seconds: float) -> None:
        """Spend the bucket into debt so nothing goes out for `seconds`."""
        self.tokens = min(self.tokens, 0) - seconds * self.rate
        self.stamp = time.monotonic()


@dataclass
class SlackWriter:
    """Every Slack write of the bot goes through here, so the workspace stays within its limits."""

    client: AsyncWebClient
    rate_scale: float = 1.0
    on_rate_limited: Callable[[str], None] | None = None
    limited: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def _bucket(self, method: str, channel: str | None) -> _Bucket | None:
        if method == "chat.postMessage":
            key, rate, burst = f"post:{channel}", 1 / POST_MESSAGE_PER_CHANNEL_S, 3.0
        elif method in PER_MINUTE:
            key, rate, burst = method, PER_MINUTE[method] / 60, max(1.0, PER_MINUTE[method] / 10)
        else:
            return None
        if key not in self._buckets:
            self._buckets[key] = _Bucket(rate * self.rate_scale, burst)
        return self._buckets[key]

    async def call(self, method: str, **arguments: Any) -> dict[str, Any]:
        """Call a Web API method, paced; a 429 waits Retry-After and tries again.

        Every write is made safe here, the one place all of them pass: no broadcast mention,
        links that show their URL, new messages that never unfurl (bot/safe_text.py). A
        streaming call whose `markdown_text` grew past Slack's 12,000 characters on the way
        (bot/text_split.py) goes out as several calls of one stream, never refused.
        """
        arguments = safe_arguments(method, arguments)
        text = arguments.get("markdown_text")
        if method in STREAM_METHODS and len(text or "") > text_split.STREAM_MARKDOWN_MAX:
            return await self._stream_in_pieces(method, arguments, str(text))
        return await self._paced(method, arguments)

    async def upload(
        self, *, channel: str, thread_ts: str, filename: str, title: str, content: bytes,
        alt_text: str = "",
    ) -> str:  # fmt: skip
        """Share a file into a thread with Slack's external upload, each call paced (both
        methods Tier 4); returns the file id. Raises SlackApiError, UploadRefused, or an
        aiohttp/timeout error. Flow: docs.slack.dev/messaging/working-with-files#upload
        (files.getUploadURLExternal, POST the bytes to `upload_url`,
        files.completeUploadExternal with `channel_id` and `thread_ts`)."""
        announced: dict[str, Any] = {"filename": filename, "length": len(content)}
        if alt_text:
            announced["alt_txt"] = alt_text
        ticket = await self.call("files.getUploadURLExternal", **announced)
        await self._post_bytes(str(ticket["upload_url"]), content)
        file_id = str(ticket["file_id"])
        await self.call("files.completeUploadExternal", channel_id=channel, thread_ts=thread_ts,
                        files=json.dumps([{"id": file_id, "title": title}]))  # fmt: skip
        return file_id

    async def _post_bytes(self, url: str, content: bytes) -> None:
        """The bytes, raw, to an upload URL (as slack_sdk's files_upload_v2 sends them)."""
        self.calls["upload_url"] = self.calls.get("upload_url", 0) + 1
        timeout = aiohttp.ClientTimeout(total=self.client.timeout)
        async with contextlib.AsyncExitStack() as stack:
            session: aiohttp.ClientSession | None = self.client.session
            if session is None:
                session = await stack.enter_async_context(aiohttp.ClientSession())
            ssl = self.client.ssl if self.client.ssl is not None else True
            async with session.post(url, data=content, timeout=timeout, ssl=ssl,
                                    proxy=self.client.proxy) as answer:  # fmt: skip
                if answer.status != 200:
                    body = (await answer.text())[:200]
                    raise UploadRefused(f"upload refused ({answer.status}): {body}")

    async def _stream_in_pieces(
        self, method: str, arguments: dict[str, Any], text: str
    ) -> dict[str, Any]:
        """One streaming call as several: the first (start or append) carries the first
        piece, appends carry the middle ones, a stop carries the last."""
        pieces = text_split.split(text, text_split.STREAM_MARKDOWN_MAX)
        first = pieces.pop(0) if method != "chat.stopStream" else None
        last = pieces.pop() if method == "chat.stopStream" else None
        response: dict[str, Any] = {}
        if first is not None:
            response = await self._paced(method, {**arguments, "markdown_text": first})
        target = {"channel": arguments["channel"], "ts": arguments.get("ts") or response["ts"]}
        for piece in pieces:
            await self._paced("chat.appendStream", {**target, "markdown_text": piece})
        if last is not None:
            response = await self._paced(method, {**arguments, "markdown_text": last})
        return response

    async def _paced(self, method: str, arguments: dict[str, Any]) -> dict[str, Any]:
        bucket = self._bucket(method, arguments.get("channel"))
        for attempt in range(1, MAX_ATTEMPTS + 1):
            async with bucket.lock if bucket is not None else contextlib.nullcontext():
                if bucket is not None:
                    await bucket.take()
                try:
                    return await self._send(method, arguments)
                except SlackApiError as error:
                    if error.response.status_code != 429 or attempt == MAX_ATTEMPTS:
                        raise
                    retry_after = self._note_rate_limited(method, error)
                    if bucket is not None:
                        bucket.pause(retry_after)
            if bucket is None:
                await asyncio.sleep(retry_after)
        raise AssertionError("unreachable")

    async def _send(self, method: str, arguments: dict[str, Any]) -> dict[str, Any]:
        if method == "chat.postMessage":
            faults.point("while_posting")
        self.calls[method] = self.calls.get(method, 0) + 1
        if method in FORM_METHODS:
            response = await self.client.api_call(method, params=arguments)
        else:
            response = await self.client.api_call(method, json=arguments)
        return dict(response.data) if isinstance(response.data, dict) else {}

    def _note_rate_limited(self, method: str, error: SlackApiError) -> float:
        self.limited += 1
        if self.on_rate_limited is not None:
            self.on_rate_limited(method)
        retry_after = float(error.response.headers.get("Retry-After", 1))
        log.warning("Slack rate-limited %s; waiting %.0fs", method, retry_after)
        return retry_after
