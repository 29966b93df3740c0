"""The Slack `Publisher`: a run's events become a live thread, within Slack's limits.

Model text, tool calls (task cards) and agent hops (the plan's title and a routed line)
stream into live messages (bot/live_stream.py); where there are no streams, routing lines are
messages of their own. The footer and feedback buttons close the stream that holds the whole
answer (else they come in a final message). Approval cards and a final message are separate
messages; their `publish` returns only once they are posted: they are written inside the
workflow's steps. A run this process did not start (resumed after a restart) is rebuilt
from its row (bot/run_view.py), so its writes carry everything Slack requires.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Any

from slack_sdk.errors import SlackApiError

from agents import live_messages, queries, run_origin
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
from bot import task_cards, task_chunks, text_split
from bot.answer import final_messages, unshown_part
from bot.approval_blocks import approval_card
from bot.blocks import decided_card, footer_block, routed_line
from bot.card_delivery import card_texts, deliver_card
from bot.feedback_blocks import feedback_block, with_feedback
from bot.live_stream import LiveMessages
from bot.run_view import RunView, new_view
from bot.shown_text import BotIdentity, bot_identity, thread_shown
from bot.task_chunks import tool_outcome
from bot.thread_files import share_files
from bot.writer import SlackWriter
from core import faults
from core.redact import Redactor

log = logging.getLogger(__name__)
RESUMED_NOTE = (
    ":arrows_counterclockwise: Resumed after a restart; continuing from the last completed step."
)
MAX_POST_TEXT = 11_000  # a plain line's text per message (Slack keeps up to 40,000)
ENDED_KEPT = 1_000  # runs whose late events (a cancelled run's step in flight) are dropped
KEEPALIVE_S = 20.0
"""Seconds without a write after which running tool calls' cards are updated with how long
they run: Slack ends a stream nothing was appended to for a while (minutes; the exact time is
not documented), which would leave those cards in progress for good."""


class SlackPublisher:
    """Renders every Slack-started run; runs from elsewhere (the terminal) are ignored."""

    def __init__(
        self, writer: SlackWriter, *, flush_interval_s: float = 0.8, use_streams: bool = True,
        redactor: Redactor | None = None, keepalive_s: float = KEEPALIVE_S,
    ) -> None:  # fmt: skip
        self.writer = writer
        self.flush_interval_s = flush_interval_s
        self.keepalive_s = keepalive_s
        self.live = LiveMessages(writer, use_streams)
        self.views: dict[str, RunView] = {}
        self._not_slack: set[str] = set()
        self._resumed_threads: set[tuple[str, str]] = set()
        self._ended: OrderedDict[str, None] = OrderedDict()
        self._identity: BotIdentity | None = None
        self.redactor = redactor or Redactor()

    @property
    def use_streams(self) -> bool:
        """Whether live messages are Slack streams (False once Slack said it has none)."""
        return self.live.use_streams

    async def publish(self, event: RunEvent) -> None:
        """Render one event."""
        if isinstance(event, RunStarted):
            self._open(event.run_id, event.thread_id, event.requester, event.requester_team)
            return
        if event.run_id in self._ended:
            return  # a cancelled run's step in flight still reporting: its messages are closed
        view = self.views.get(event.run_id) or await self._recovered_view(event.run_id)
        if view is None:
            return
        if isinstance(event, RunResumed):
            await self._resumed(view)
        elif isinstance(event, TextDelta):
            self._add(view, event.text)
        elif isinstance(event, ToolStarted):
            await self._tool_started(view, event)
        elif isinstance(event, ToolFinished):
            await self._tool_finished(view, event)
            if event.files:
                await self._share_files(view, event)
        elif isinstance(event, Routed):
            if event.agent != "done":
                await self._routed(view, event)
        elif isinstance(event, ModelRetry):
            await self.live.void_attempt(view, event.error)
        elif isinstance(event, ApprovalRequested):
            await self.live.end(view, session_status="suspended")
            await self._post_card(view, event)
        elif isinstance(event, ApprovalResolved):
            await self._resolved(view, event)
        elif isinstance(event, RunFinished):
            await self._finish(view, event)
        if view.closed:
            self._forget(view)

    def _open(
        self, run_id: str, thread_id: str, requester: str | None, requester_team: str | None
    ) -> RunView | None:
        if thread_id.split(":", 1)[0] == "local":
            return None
        if run_id in self.views:
            view = self.views[run_id]
            view.requester = view.requester or requester
            view.requester_team = view.requester_team or requester_team or None
            return view
        view = new_view(run_id, thread_id, requester, self.redactor.for_run(), requester_team)
        view.flusher = asyncio.ensure_future(self._flush_forever(view))
        self.views[run_id] = view
        return view

    def _forget(self, view: RunView) -> None:
        """The run has ended (here, or in another process that closed its stream): its
        flusher stops and its late events are dropped."""
        if view.flusher is not None and view.flusher is not asyncio.current_task():
            view.flusher.cancel()
        self.views.pop(view.run_id, None)
        self._ended[view.run_id] = None
        while len(self._ended) > ENDED_KEPT:
            self._ended.popitem(last=False)

    async def _recovered_view(self, run_id: str) -> RunView | None:
        """A run this process did not start (it resumed after a restart, or another process
        runs it and this one ends it): its thread, the person who asked and their team come
        from its row."""
        if run_id in self._not_slack:
            return None
        place = await live_messages.run_place(run_id)
        rebuilt = run_id not in self.views
        view = (
            self._open(run_id, place.thread_id, place.requester, place.requester_team)
            if place
            else None
        )
        if view is None:
            self._not_slack.add(run_id)
        elif rebuilt:
            view.rebuilt = True
            view.shown = await self._thread_shown(view) + view.shown
        return view

    async def _thread_shown(self, view: RunView) -> str:
        """What the thread shows of a run a dead process rendered (its memory of it died
        with it): the bot's messages since the message that asked for the run."""
        if self._identity is None:
            self._identity = await bot_identity(self.writer)
        since = await run_origin.request_ts(view.run_id)
        if self._identity is None or since is None:
            return ""
        return await thread_shown(self.writer, self._identity, view.channel, view.thread_ts,
                                  since)  # fmt: skip

    async def _resumed(self, view: RunView) -> None:
        """Say a restart interrupted work in progress: not for a run that was only waiting for
        a decision, and once per thread per restart."""
        place = await live_messages.run_place(view.run_id)
        if place is None or place.waiting or view.thread_key in self._resumed_threads:
            return
        self._resumed_threads.add(view.thread_key)
        await self._post(view, RESUMED_NOTE)

    def _add(self, view: RunView, text: str) -> None:
        view.pending += view.redactor.redact(text)
        view.wake.set()

    def _timeline(self, view: RunView) -> bool:
        """Whether tool calls go out as task cards (the run's messages are streams)."""
        return self.live.use_streams and view.can_stream

    def _add_card(self, view: RunView, chunk: dict[str, Any], line: str, end: str = "") -> None:
        """Queue a task card where the run's text is now (bot/task_chunks.py markers); `line`
        is written instead where it cannot be streamed (`end` instead, for a call's outcome
        whose start was written as a line)."""
        view.chunk_keys += 1
        redact = view.redactor.redact
        view.chunk_store[str(view.chunk_keys)] = (chunk, redact(line), redact(end))
        view.pending += task_chunks.marker(view.chunk_keys)
        view.wake.set()

    async def _routed(self, view: RunView, event: Routed) -> None:
        """An agent hop: the stream's plan is titled with the hops so far and the routed line
        goes on in the stream; where there is no stream, the line is a message of its own.
        The reason is redacted before the line reshapes it (one line, cut to length): a secret
        is recognised by its shape (a private key's lines, a key's full length). A model call
        of the next agent that fails and is retried withdraws only what follows the line."""
        line = routed_line(event.agent, view.redactor.redact(event.reason))
        if not self._timeline(view):
            await self.live.end(view)
            await self._post(view, line)
            return
        view.hops.append(event.agent)
        async with view.lock:  # no text is on its way out meanwhile: all of it is counted here
            self._add_card(view, task_chunks.plan_update(view.hops, view.redactor), "")
            unclosed = text_split.opens_code(view.live_text + view.pending)  # the last agent's
            self._add(view, ("\n" + text_split.FENCE if unclosed else "") + f"\n\n{line}\n\n")
            await self.live.flush(view, final=True)  # before the router's step ends
            view.call_start = len(view.live_text) + len(view.pending)

    async def _tool_started(self, view: RunView, event: ToolStarted) -> None:
        """A task card in the stream's timeline; a text line where there is no stream."""
        summary = task_chunks.whole_words(event.summary)
        line = f"\n> :gear: `{event.name}` {summary}".rstrip()
        if self._timeline(view):
            chunk = task_chunks.task_started(event.tool_use_id, event.name, summary,
                                             view.redactor)  # fmt: skip
            view.tasks[event.tool_use_id] = chunk["title"]
            view.task_since[event.tool_use_id] = time.monotonic()
            self._add_card(view, chunk, line)
            return
        self._add(view, line)
        view.tool_open = True

    async def _tool_finished(self, view: RunView, event: ToolFinished) -> None:
        title = view.tasks.pop(event.tool_use_id, None)
        view.task_since.pop(event.tool_use_id, None)
        if self._timeline(view) and (title is not None or not view.tool_open):
            outcome = f"{tool_outcome(event.status, event.detail)} · {event.duration_ms:.0f} ms"
            chunk = task_chunks.task_finished(event.tool_use_id, title or event.name,
                                              event.status, outcome, view.redactor)  # fmt: skip
            self._add_card(
                view, chunk, f"\n> :gear: `{event.name}` — {outcome}\n", f" — {outcome}\n"
            )
            view.call_start = len(view.live_text) + len(view.pending)
            return
        self._text_tool_finished(view, event)

    def _text_tool_finished(self, view: RunView, event: ToolFinished) -> None:
        outcome = tool_outcome(event.status, event.detail)
        if view.tool_open:
            self._add(view, f" — {outcome} · {event.duration_ms:.0f} ms\n")
        else:
            self._add(view, f"\n> :gear: `{event.name}` — {outcome}\n")
        view.tool_open = False
        view.call_start = len(view.live_text) + len(view.pending)

    def _add_progress(self, view: RunView) -> None:
        """Nothing was written for `keepalive_s` while tool calls run: their cards say for how
        long, which also keeps the stream open (Slack ends a stream left idle)."""
        for card in task_cards.progress_cards(view):
            self._add_card(view, *card)

    async def _share_files(self, view: RunView, event: ToolFinished) -> None:
        """The tool's files (charts) under its line; a file that could not be shared becomes
        a short note, never a failed run."""
        await self.live.end(view)  # the tool's line first, then its files
        notes = await share_files(self.writer, view.channel, view.thread_ts, event.files,
                                  view.redactor)  # fmt: skip
        for note in notes:
            try:
                await self._post(view, note)
            except SlackApiError as error:
                log.warning("could not post a file note: %s", error.response.get("error"))

    async def _flush_forever(self, view: RunView) -> None:
        while True:
            try:
                await asyncio.wait_for(view.wake.wait(), self.keepalive_s)
            except TimeoutError:
                self._add_progress(view)
                continue
            await asyncio.sleep(self.flush_interval_s)  # coalesce what arrives meanwhile
            view.wake.clear()
            async with view.lock:
                await self.live.flush(view)
            if view.closed:  # another process ended the run and its stream
                self._forget(view)
                return

    async def _post(
        self, view: RunView, text: str, blocks: list[dict[str, Any]] | None = None
    ) -> str:
        """Post into the run's thread; a text too long for one message goes out as several
        (the blocks, if any, with the last); returns the last one's ts."""
        pieces = text_split.split(view.redactor.redact(text), MAX_POST_TEXT) or [" "]
        posted: dict[str, Any] = {}
        for index, piece in enumerate(pieces):
            arguments: dict[str, Any] = {"channel": view.channel, "thread_ts": view.thread_ts,
                                         "text": piece}  # fmt: skip
            if blocks is not None and index == len(pieces) - 1:
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
        if card is None:
            return
        blocks = view.cards.get(event.approval_id) or await self._card_blocks(*card)
        if not blocks:
            return
        expired = decided_card(blocks, "expired", None, time.time(), None)
        await self.writer.call("chat.update", channel=card[0], ts=card[1],
                               text="Approval expired", blocks=expired)  # fmt: skip

    async def _card_blocks(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """A card posted by an earlier process, as Slack has it."""
        try:
            replies = await self.writer.call("conversations.replies", channel=channel, ts=ts,
                                             latest=ts, inclusive=True, limit=1)  # fmt: skip
        except SlackApiError as error:
            log.warning("could not read card %s: %s", ts, error.response.get("error"))
            return []
        found = [m for m in replies.get("messages") or [] if m.get("ts") == ts]
        return list(found[0].get("blocks") or []) if found else []

    async def _finish(self, view: RunView, event: RunFinished) -> None:
        """The answer once: where the whole answer is in the open stream, the footer and the
        feedback buttons close that stream (chat.stopStream `blocks`); otherwise the part of
        the answer the thread does not show and the footer follow as the final message."""
        closing = [footer_block(event), feedback_block(event.run_id)]
        if view.rebuilt and self._timeline(view):  # another process may show its cards
            for card in await task_cards.adopt(view):
                self._add_card(view, *card)
        ending = task_cards.ending_output(event.outcome, event.stopped_by)
        for card in task_cards.ending_cards(view, ending):  # bot/task_cards.py: none spins
            self._add_card(view, *card)
        if view.tool_open:  # its line, where the calls are text lines
            self._add(view, f" — {ending}\n")
        async with view.lock:
            await self.live.flush(view, final=True)
            whole = view.live_ts is not None and view.streamed and not view.pending
            rest = unshown_part(view.redactor.redact(event.answer), view.shown)
        placed = await self.live.end(view, closing if whole and not rest else None, "active")
        if view.flusher is not None:
            view.flusher.cancel()
        if not placed:
            finals = final_messages(event, rest)
            finals = with_feedback(finals, event.run_id)  # 👍/👎 under the answer
            for text, blocks in finals:
                await self._post(view, text, blocks)
        self._forget(view)

    async def close(self) -> None:
        """Stop every flusher."""
        for view in self.views.values():
            if view.flusher is not None:
                view.flusher.cancel()
