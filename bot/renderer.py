"""The Slack `Publisher`: a run's events become a live thread, within Slack's rate limits.

Text and tool lines stream into one live message per stretch of work (`chat.startStream` /
`appendStream` / `stopStream`, or `chat.postMessage` + throttled `chat.update` where streams
are not available). Approval cards and the final answer are separate messages, and their
`publish` returns only once they are posted: they are written inside the workflow's steps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError

from agents import live_messages, queries
from agents.events import (
    ApprovalRequested,
    ApprovalResolved,
    ModelRetry,
    Routed,
    RunEvent,
    RunFinished,
    RunResumed,
    RunStarted,
    TextDelta,
    ToolFinished,
    ToolStarted,
)
from bot.approval_blocks import approval_card
from bot.blocks import decided_card, final_message, footer_text, routed_line
from bot.card_delivery import card_texts, deliver_card
from bot.safe_text import split_stream_tail
from bot.writer import SlackWriter
from core import faults
from core.redact import Redactor

log = logging.getLogger(__name__)
NOT_STREAMING = "message_not_in_streaming_state"
NO_STREAMS = {"unknown_method", "not_allowed", "method_deprecated", "feature_not_enabled"}
MAX_LIVE_TEXT = 11_000


@dataclass
class RunView:
    """One run's place in Slack and its live message."""

    run_id: str
    team: str
    channel: str
    thread_ts: str
    requester: str | None
    live_ts: str | None = None
    live_text: str = ""
    pending: str = ""
    call_start: int = 0
    tool_open: bool = False
    cards: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    flusher: asyncio.Task[None] | None = None
    redactor: Redactor = field(default_factory=Redactor)
    """The run's own redactor: what it remembers of one run's secrets stays with that run."""


class SlackPublisher:
    """Renders every Slack-started run; runs from elsewhere (the terminal) are ignored."""

    def __init__(
        self, writer: SlackWriter, *, flush_interval_s: float = 0.8, use_streams: bool = True,
        redactor: Redactor | None = None,
    ) -> None:  # fmt: skip
        self.writer = writer
        self.flush_interval_s = flush_interval_s
        self.use_streams = use_streams
        self.views: dict[str, RunView] = {}
        self._not_slack: set[str] = set()
        self.redactor = redactor or Redactor()

    async def publish(self, event: RunEvent) -> None:
        """Render one event."""
        if isinstance(event, RunStarted):
            self._open(event.run_id, event.thread_id, event.requester)
            return
        view = self.views.get(event.run_id) or await self._recovered_view(event.run_id)
        if view is None:
            return
        if isinstance(event, RunResumed):
            await self._post(view, ":arrows_counterclockwise: Resumed after a restart; "
                                   "continuing from the last completed step.")  # fmt: skip
            return
        if isinstance(event, TextDelta):
            self._add(view, event.text)
        elif isinstance(event, ToolStarted):
            self._add(view, f"\n> :gear: `{event.name}` {event.summary}".rstrip())
            view.tool_open = True
        elif isinstance(event, ToolFinished):
            self._tool_finished(view, event)
        elif isinstance(event, Routed):
            if event.agent != "done":
                await self._end_live(view)
                await self._post(view, routed_line(event.agent, event.reason))
        elif isinstance(event, ModelRetry):
            await self._void_attempt(view, event)
        elif isinstance(event, ApprovalRequested):
            await self._end_live(view)
            await self._post_card(view, event)
        elif isinstance(event, ApprovalResolved):
            await self._resolved(view, event)
        elif isinstance(event, RunFinished):
            await self._finish(view, event)

    def _open(self, run_id: str, thread_id: str, requester: str | None) -> RunView | None:
        team, channel, thread_ts = thread_id.split(":", 2)
        if team == "local":
            return None
        if run_id in self.views:
            return self.views[run_id]
        view = RunView(run_id=run_id, team=team, channel=channel, thread_ts=thread_ts,
                       requester=requester, redactor=self.redactor.for_run())  # fmt: skip
        view.flusher = asyncio.ensure_future(self._flush_forever(view))
        self.views[run_id] = view
        return view

    async def _recovered_view(self, run_id: str) -> RunView | None:
        """A run this process did not start (it resumed after a restart): find its thread."""
        if run_id in self._not_slack:
            return None
        run = await queries.run_summary(run_id)
        view = self._open(run_id, run.thread_id, None) if run is not None else None
        if view is None:
            self._not_slack.add(run_id)
        return view

    def _add(self, view: RunView, text: str) -> None:
        view.pending += view.redactor.redact(text)
        view.wake.set()

    def _tool_finished(self, view: RunView, event: ToolFinished) -> None:
        detail = f": {event.detail[:200]}" if event.detail else ""
        if view.tool_open:
            self._add(view, f" — {event.status} · {event.duration_ms:.0f} ms{detail}\n")
        else:
            self._add(view, f"\n> :gear: `{event.name}` — {event.status}{detail}\n")
        view.tool_open = False
        view.call_start = len(view.live_text) + len(view.pending)

    async def _flush_forever(self, view: RunView) -> None:
        while True:
            await view.wake.wait()
            await asyncio.sleep(self.flush_interval_s)  # coalesce what arrives meanwhile
            view.wake.clear()
            async with view.lock:
                await self._flush(view)

    async def _flush(self, view: RunView, final: bool = False) -> None:
        # A piece never ends inside a mention or link the next piece could complete unseen.
        chunk, view.pending = (view.pending, "") if final else split_stream_tail(view.pending)
        if not chunk:
            return
        try:
            await self._write_live(view, chunk)
        except SlackApiError as error:
            log.warning("could not write to %s: %s", view.channel, error.response.get("error"))

    async def _write_live(self, view: RunView, chunk: str) -> None:
        if view.live_ts is not None and len(view.live_text) + len(chunk) > MAX_LIVE_TEXT:
            await self._stop_live(view)
        if view.live_ts is None:
            chunk = chunk.lstrip("\n")
            if chunk:
                await self._start_live(view, chunk)
            return
        if not self.use_streams:
            view.live_text += chunk
            await self.writer.call("chat.update", channel=view.channel, ts=view.live_ts,
                                   text=view.live_text)  # fmt: skip
            return
        try:
            await self.writer.call("chat.appendStream", channel=view.channel, ts=view.live_ts,
                                   markdown_text=chunk)  # fmt: skip
            view.live_text += chunk
        except SlackApiError as error:
            if error.response.get("error") != NOT_STREAMING:
                raise
            await self.writer.call("chat.update", channel=view.channel, ts=view.live_ts,
                                   text=view.live_text or " ")  # fmt: skip
            await live_messages.live_finished(view.channel, view.live_ts)
            view.live_ts, view.live_text = None, ""
            await self._start_live(view, chunk)

    async def _start_live(self, view: RunView, chunk: str) -> None:
        if self.use_streams:
            opening = await live_messages.live_starting(view.run_id, view.channel, view.thread_ts)
            try:
                started = await self.writer.call(
                    "chat.startStream", channel=view.channel, thread_ts=view.thread_ts,
                    markdown_text=chunk, recipient_team_id=view.team,
                    recipient_user_id=view.requester,
                )  # fmt: skip
                view.live_ts, view.live_text = started["ts"], chunk
                faults.point("after_stream_start")
                await live_messages.live_started(
                    view.run_id,
                    view.channel,
                    view.live_ts or "",
                    True,
                    view.thread_ts,
                    replaces=opening,
                )
                return
            except SlackApiError as error:
                await live_messages.live_finished(view.channel, opening)
                if error.response.get("error") not in NO_STREAMS:
                    raise
                log.info("streaming unavailable (%s): using chat.update", error.response["error"])
                self.use_streams = False
        posted = await self.writer.call(
            "chat.postMessage", channel=view.channel, thread_ts=view.thread_ts, text=chunk
        )
        view.live_ts, view.live_text = posted["ts"], chunk
        await live_messages.live_started(view.run_id, view.channel, view.live_ts or "", False,
                                         view.thread_ts)  # fmt: skip

    async def _stop_live(self, view: RunView) -> None:
        if view.live_ts is not None and self.use_streams:
            faults.point("before_stream_stop")
            try:
                await self.writer.call("chat.stopStream", channel=view.channel, ts=view.live_ts)
            except SlackApiError as error:
                if error.response.get("error") != NOT_STREAMING:
                    raise
                await self.writer.call("chat.update", channel=view.channel, ts=view.live_ts,
                                       text=view.live_text or " ")  # fmt: skip
        if view.live_ts is not None:  # only once it is stopped: a crash before keeps the row
            await live_messages.live_finished(view.channel, view.live_ts)
        view.live_ts, view.live_text, view.call_start = None, "", 0

    async def _end_live(self, view: RunView) -> None:
        """Flush what is pending and close the live message."""
        async with view.lock:
            try:
                await self._flush(view, final=True)
                await self._stop_live(view)
            except SlackApiError as error:
                log.warning("could not close the live message: %s", error.response.get("error"))

    async def _void_attempt(self, view: RunView, event: ModelRetry) -> None:
        async with view.lock:
            whole = view.live_text + view.pending
            kept = whole[: view.call_start]
            view.pending = kept[len(view.live_text) :] if len(kept) > len(view.live_text) else ""
            if view.live_ts is not None and len(kept) < len(view.live_text):
                await self._stop_live_quietly(view)
                note = f"{kept}\n_(model call failed: {event.error}; retrying)_".strip()
                await self.writer.call("chat.update", channel=view.channel, ts=view.live_ts or "",
                                       text=note)  # fmt: skip
                await live_messages.live_finished(view.channel, view.live_ts or "")
                view.live_ts, view.live_text, view.call_start = None, "", 0
                view.pending = ""

    async def _stop_live_quietly(self, view: RunView) -> None:
        if view.live_ts is not None and self.use_streams:
            with contextlib.suppress(SlackApiError):
                await self.writer.call("chat.stopStream", channel=view.channel, ts=view.live_ts)

    async def _post(
        self, view: RunView, text: str, blocks: list[dict[str, Any]] | None = None
    ) -> str:
        arguments: dict[str, Any] = {"channel": view.channel, "thread_ts": view.thread_ts,
                                     "text": view.redactor.redact(text)}  # fmt: skip
        if blocks is not None:
            arguments["blocks"] = blocks
        posted = await self.writer.call("chat.postMessage", **arguments)
        return str(posted["ts"])

    async def _post_card(self, view: RunView, event: ApprovalRequested) -> None:
        redacted = event.model_copy(update=card_texts(view.redactor or self.redactor, event))
        if await queries.card_of(event.approval_id) is not None:
            # Announced again by a step re-run after a restart: the card is already there.
            view.cards.setdefault(event.approval_id, approval_card(redacted))
            return
        posted = await deliver_card(lambda text, blocks: self._post(view, text, blocks), redacted)
        if posted is not None:
            ts, view.cards[event.approval_id] = posted
            await queries.record_card(event.approval_id, view.channel, ts)
            faults.point("after_card")

    async def _resolved(self, view: RunView, event: ApprovalResolved) -> None:
        view.call_start = len(view.live_text) + len(view.pending)
        if event.status != "expired":
            return  # a click updates its own card at once
        card = await queries.card_of(event.approval_id)
        blocks = view.cards.get(event.approval_id)
        if card is None or blocks is None:
            return
        expired = decided_card(blocks, "expired", None, time.time(), None)
        await self.writer.call("chat.update", channel=card[0], ts=card[1],
                               text="Approval expired", blocks=expired)  # fmt: skip

    async def _finish(self, view: RunView, event: RunFinished) -> None:
        await self._end_live(view)
        if view.flusher is not None:
            view.flusher.cancel()
        await self._post(view, f"{event.answer}\n{footer_text(event)}", final_message(event))
        self.views.pop(event.run_id, None)

    async def close(self) -> None:
        """Stop every flusher."""
        for view in self.views.values():
            if view.flusher is not None:
                view.flusher.cancel()
