"""A run's live messages: model text and tool lines streamed into the thread within Slack's limits.

Text streams into one message per stretch of work (`chat.startStream` / `appendStream` /
`stopStream`, or `chat.postMessage` + `chat.update` where streams are not available or the
run has no person to stream to). No message grows past `MAX_LIVE_TEXT` and no call carries
more than Slack's 12,000 characters: text that does not fit is cut at a sensible boundary
(bot/text_split.py) and rolled into a new message. Text Slack did not take goes back to the
front of the pending text, to be written again with the next flush, never dropped.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from agents import live_messages
from bot import task_cards, task_chunks, text_split
from bot.run_view import RunView
from bot.safe_text import split_stream_tail
from bot.writer import SlackWriter
from core import faults

log = logging.getLogger(__name__)
NOT_STREAMING = "message_not_in_streaming_state"
NO_STREAMS = {"unknown_method", "not_allowed", "method_deprecated", "feature_not_enabled"}
# One live message holds at most this much: each streaming call stays under Slack's 12,000
# characters with room for what bot/safe_text.py adds, and a chat.update of the whole
# message stays far under its 40,000.
MAX_LIVE_TEXT = 11_000
MIN_FILL = 500  # less room than this left in a message: start the next one instead
LINE_MARGIN = 2_000  # a line up to this long is never cut at the end of a message
WORKING = "processing"
"""The agent session status a stream is stopped with while its run goes on: chat.stopStream
sets the thread's session status, `active` unless told (docs.slack.dev/reference/methods/
chat.stopStream `session_status`), which would drop the Stop button of a run still working."""


class LiveMessages:
    """Writes the pending text of run views into their live messages."""

    def __init__(self, writer: SlackWriter, use_streams: bool = True) -> None:
        self.writer = writer
        self.use_streams = use_streams
        self._with_cards: set[str] = set()  # live streams holding task cards, by ts

    async def flush(self, view: RunView, final: bool = False) -> None:
        """Write what is pending (all of it when `final`; otherwise a piece never ends inside
        a mention or link the next piece could complete unseen), task cards where their
        markers are. Caller holds `view.lock`. Nothing once another process ended the run."""
        if not await self._flush_cards(view) or view.closed:
            return  # Slack took not all of the text before a card: the rest waits
        chunk, held = (view.pending, "") if final else split_stream_tail(view.pending)
        if not final and len(view.live_text) + len(chunk) > MAX_LIVE_TEXT - LINE_MARGIN:
            # Near the end of a message: a line still being written waits for its end, so
            # it is not cut in two when the message fills up.
            cut = chunk.rfind("\n") + 1
            if cut and len(chunk) - cut <= LINE_MARGIN:
                chunk, held = chunk[:cut], chunk[cut:] + held
        view.pending = ""  # text arriving while this writes is added after what is left
        left = await self._write(view, chunk)
        view.pending = "" if view.closed else left + held + view.pending

    async def _write(self, view: RunView, chunk: str) -> str:
        """Write `chunk` in pieces that fit; returns what Slack did not take (nothing once
        another process ended the run: `RunView.closed`)."""
        try:
            while chunk and not view.closed:
                chunk = await self._write_some(view, chunk)
        except SlackApiError as error:
            log.warning("could not write to %s: %s", view.channel, error.response.get("error"))
        return "" if view.closed else chunk

    async def _write_some(self, view: RunView, chunk: str) -> str:
        """Write the head of `chunk` that fits the live message; returns the rest."""
        if view.live_ts is None or not view.live_text:  # a message opens with no blank line
            chunk = chunk.lstrip("\n")
            if not chunk:
                return ""
        if view.live_ts is None:
            chunk, view.reopen = view.reopen + chunk, ""
        room = MAX_LIVE_TEXT - len(view.live_text)
        if view.live_ts is not None and room < min(MIN_FILL, len(chunk)):
            await self._roll_over(view)
            return chunk
        # Into a message that already shows text, only whole lines: a line that does not fit
        # starts the next message instead of being cut in two.
        piece, rest = text_split.take(chunk, room, lines_only=view.live_ts is not None,
                                      in_code=text_split.opens_code(view.live_text))  # fmt: skip
        if not piece:
            await self._roll_over(view)
            return chunk
        await self._write_piece(view, piece)  # raising: nothing of the piece was taken
        if rest and not view.closed:
            await self._roll_over(view)  # the message is full: the rest opens the next one
        return rest

    async def _roll_over(self, view: RunView) -> None:
        """Close a full live message; one Slack will not close is left as it stands (Slack
        finalizes an idle stream; its row lets the next start finish it) and never blocks
        the text after it. A code block left open is closed, and opened again in the next."""
        try:
            if view.live_ts is not None and text_split.opens_code(view.live_text):
                await self._write_piece(view, "\n" + text_split.FENCE)
                view.reopen = text_split.FENCE + "\n"
            await self.stop(view)
        except SlackApiError as error:
            log.warning("could not close a full live message: %s", error.response.get("error"))
            view.live_ts, view.live_text, view.call_start = None, "", 0

    async def _write_piece(self, view: RunView, piece: str) -> None:
        if view.live_ts is None:
            await self._start(view, piece)
        elif not view.streamed:
            await self.writer.call("chat.update", channel=view.channel, ts=view.live_ts,
                                   text=view.live_text + piece)  # fmt: skip
            view.live_text += piece
        else:
            try:
                await self.writer.call("chat.appendStream", channel=view.channel,
                                       ts=view.live_ts, markdown_text=piece)  # fmt: skip
                view.live_text += piece
            except SlackApiError as error:
                if error.response.get("error") != NOT_STREAMING:
                    raise
                if await self._ended_elsewhere(view):
                    return
                await self._finish_expired(view)
                await self._start(view, piece)
        view.shown += piece

    async def _finish_expired(self, view: RunView) -> None:
        """Slack ended the stream on its own (idle or too old): keep its text as it stands.
        The model call under way goes on in the next message: where it started counts from
        there (left pointing into this message, a retry of the call would keep the failed
        attempt's text, or withdraw none of it, and the answer would show twice). Its cards
        still running stay so here: Slack documents no way to change the task cards of a
        finished stream (chat.appendStream / chat.stopStream answer an ended one
        `message_not_in_streaming_state`, docs.slack.dev/reference/methods/chat.appendStream;
        chat.update takes `text` and `blocks`, not `chunks`, docs.slack.dev/reference/methods/
        chat.update). The next stream opens with them (`_start_stream`, bot/task_cards.py),
        and their end shows there."""
        assert view.live_ts is not None
        if not view.adopted:  # another process's text is not known here: left as it stands
            await self.writer.call("chat.update", channel=view.channel, ts=view.live_ts,
                                   text=view.live_text or " ")  # fmt: skip
        await live_messages.live_finished(view.channel, view.live_ts)
        view.adopted = False
        view.call_start = max(0, view.call_start - len(view.live_text))
        view.live_ts, view.live_text = None, ""

    async def _ended_elsewhere(self, view: RunView) -> bool:
        """Slack ended the stream: True when another process did so, ending the run (it ends
        the cards there, bot/task_cards.py), and this view is closed; False when Slack ended
        it on its own (its row is still here), and the run goes on in a new stream."""
        assert view.live_ts is not None
        if not await live_messages.ended_elsewhere(view.run_id, view.channel, view.live_ts):
            return False
        log.info("run %s was ended by another process: its stream is closed", view.run_id)
        task_cards.close(view)
        return True

    async def _start(self, view: RunView, piece: str) -> None:
        if await self._start_stream(view, markdown_text=piece):
            return
        posted = await self.writer.call(
            "chat.postMessage", channel=view.channel, thread_ts=view.thread_ts, text=piece
        )
        view.live_ts, view.live_text, view.streamed = posted["ts"], piece, False
        await live_messages.live_started(view.run_id, view.channel, view.live_ts or "", False,
                                         view.thread_ts)  # fmt: skip

    async def _start_stream(
        self, view: RunView, markdown_text: str = "", chunks: list[dict[str, Any]] | None = None
    ) -> bool:
        """Open a stream with its first text or chunks (tasks as a timeline); False when the
        run's messages cannot be streams (the workspace has none: noted for every run)."""
        if not (self.use_streams and view.can_stream):
            return False
        opening = await live_messages.live_starting(view.run_id, view.channel, view.thread_ts)
        if carry := task_cards.carried(view):  # cards the last stream left running go on here
            chunks = carry + (chunks or [{"type": "markdown_text", "text": markdown_text}])
        first: dict[str, Any] = {"chunks": chunks} if chunks else {"markdown_text": markdown_text}
        try:
            started = await self.writer.call(
                "chat.startStream", channel=view.channel, thread_ts=view.thread_ts,
                recipient_team_id=view.recipient_team, recipient_user_id=view.requester,
                task_display_mode=task_chunks.DISPLAY_MODE, **first,
            )  # fmt: skip
        except SlackApiError as error:
            await live_messages.live_finished(view.channel, opening)
            if error.response.get("error") not in NO_STREAMS:
                raise
            log.info("streaming unavailable (%s): using chat.update", error.response["error"])
            self.use_streams = False
            return False
        view.live_ts, view.live_text, view.streamed = started["ts"], markdown_text, True
        task_cards.note_sent(view, chunks or [])
        faults.point("after_stream_start")
        await live_messages.live_started(
            view.run_id, view.channel, started["ts"], True, view.thread_ts, replaces=opening
        )
        return True

    async def _flush_cards(self, view: RunView) -> bool:
        """Write the pending text up to each card marker, then the cards there in one call
        (their text lines where they cannot be streamed); False when Slack did not take some
        text, which stays pending in front of the cards not yet sent."""
        while (found := task_chunks.take_markers(view.pending)) is not None:
            head, keys, view.pending = found
            markers = "".join(task_chunks.marker(int(k)) for k in keys)
            left = await self._write(view, head) if head else ""
            if left:
                view.pending = left + markers + view.pending
                return False
            cards = [view.chunk_store.pop(k) for k in keys if k in view.chunk_store]
            if not cards:
                continue
            chunks = [card for card, _, _ in cards]
            if await self._send_chunks(view, chunks):
                view.open_line = None
                continue
            task_cards.note_refused(view, chunks)  # a card's end goes where it shows next
            left = await self._write(view, task_cards.as_lines(view, cards))
            if left:
                view.pending = left + view.pending
                return False
        return True

    async def _send_chunks(self, view: RunView, chunks: list[dict[str, Any]]) -> bool:
        """Task cards into the run's stream (a stream Slack ended opens a new one); False when
        the live message is not a stream or Slack refused them (logged)."""
        if view.live_ts is not None and not view.streamed:
            return False
        if view.closed:
            return True  # dropped: another process ended the run
        try:
            if view.live_ts is None:
                sent = await self._start_stream(view, chunks=chunks)
            else:
                try:
                    await self.writer.call("chat.appendStream", channel=view.channel,
                                           ts=view.live_ts, chunks=chunks)  # fmt: skip
                    task_cards.note_sent(view, chunks)
                    sent = True
                except SlackApiError as error:
                    if error.response.get("error") != NOT_STREAMING:
                        raise
                    if await self._ended_elsewhere(view):
                        return True
                    await self._finish_expired(view)
                    sent = await self._start_stream(view, chunks=chunks)
        except SlackApiError as error:
            log.warning("could not stream task cards to %s: %s", view.channel,
                        error.response.get("error"))  # fmt: skip
            return False
        if sent and view.live_ts is not None:
            self._with_cards.add(view.live_ts)
        return sent

    async def _withdraw_after_cards(self, view: RunView, error: str) -> None:
        """A stream holding task cards keeps its streamed text as Slack drew it (chat.update
        replaces the fallback `text`, not the cards' message): the failed attempt's text is
        marked withdrawn in the stream itself, and the retry writes into a new message."""
        assert view.live_ts is not None
        with contextlib.suppress(SlackApiError):
            await self.writer.call(
                "chat.appendStream", channel=view.channel, ts=view.live_ts,
                markdown_text=f"\n\n_(model call failed: {error}; the text above since the "
                              "last tool or agent hop is withdrawn; retrying)_",
            )  # fmt: skip
        with contextlib.suppress(SlackApiError):
            await self.writer.call("chat.stopStream", channel=view.channel, ts=view.live_ts,
                                   session_status=WORKING)  # fmt: skip
        await live_messages.live_finished(view.channel, view.live_ts)
        self._with_cards.discard(view.live_ts)
        view.live_ts, view.live_text, view.call_start, view.pending = None, "", 0, ""

    async def stop(
        self, view: RunView, blocks: list[dict[str, Any]] | None = None,
        session_status: str = WORKING,
    ) -> bool:  # fmt: skip
        """Finish the live message (its text stays); the next text opens a new one. `blocks`
        go under a stream's text (chat.stopStream `blocks`: "rendered at the bottom of the
        finalized message"); True when they were, False when there was no open stream to take
        them (none, a chat.update message, or one Slack had already ended). `session_status`
        is the thread's agent session status after the stop (see `WORKING`)."""
        placed = False
        if view.live_ts is not None and view.streamed:
            faults.point("before_stream_stop")
            placed = await self._stop_stream(view, blocks, session_status)
        if view.live_ts is not None:  # only once it is stopped: a crash before keeps the row
            await live_messages.live_finished(view.channel, view.live_ts)
            self._with_cards.discard(view.live_ts)
        view.live_ts, view.live_text, view.call_start, view.adopted = None, "", 0, False
        return placed

    async def _stop_stream(
        self, view: RunView, blocks: list[dict[str, Any]] | None, session_status: str,
        cards: list[dict[str, Any]] | None = None,
    ) -> bool:  # fmt: skip
        """chat.stopStream, `blocks` under the text; True when they were placed. A stop
        refused for its blocks (`invalid_blocks`, too long, ...) is sent again without them
        (they go in a message of their own), then with its cards bare (id, title, status),
        then without them: a stream never stopped stays open, and its row would have the
        next start mark a complete answer interrupted. `cards`: the chunks that end the
        cards still running (None: bot/task_cards.py `left_behind`)."""
        assert view.live_ts is not None
        extra: dict[str, Any] = {"blocks": blocks} if blocks else {}
        cards = task_cards.left_behind(view) if cards is None else cards
        if cards:  # a card still running goes on in the next message, or gets its end
            extra["chunks"] = cards
        try:
            await self.writer.call("chat.stopStream", channel=view.channel, ts=view.live_ts,
                                   session_status=session_status, **extra)  # fmt: skip
            task_cards.note_sent(view, [c for c in cards if c["status"] in task_cards.ENDED])
            return bool(blocks)
        except SlackApiError as error:
            if error.response.get("error") == NOT_STREAMING:
                if not view.adopted:  # another process's text is not known here
                    await self.writer.call("chat.update", channel=view.channel,
                                           ts=view.live_ts, text=view.live_text or " ")  # fmt: skip
                return False
            if blocks:
                log.warning("a stream's closing blocks were refused (%s): they follow it",
                            error.response.get("error"))  # fmt: skip
                return await self._stop_stream(view, None, session_status, cards)
            if not cards:
                raise
            fewer = [] if cards == task_cards.bare(cards) else task_cards.bare(cards)
            log.warning("a stream's closing cards were refused (%s): sent %s",
                        error.response.get("error"), "bare" if fewer else "without")  # fmt: skip
            return await self._stop_stream(view, None, session_status, fewer)

    async def end(
        self, view: RunView, blocks: list[dict[str, Any]] | None = None,
        session_status: str = WORKING,
    ) -> bool:  # fmt: skip
        """Write everything pending and close the live message, `blocks` under its text where
        it is a stream; True when they were placed there (see `stop`)."""
        async with view.lock:
            try:
                await self.flush(view, final=True)
                return await self.stop(view, blocks, session_status)
            except SlackApiError as error:
                log.warning("could not close the live message: %s", error.response.get("error"))
                return False

    async def void_attempt(self, view: RunView, error: str) -> None:
        """A model call failed and is retried: what its attempt streamed is withdrawn."""
        async with view.lock:
            whole = view.live_text + view.pending
            kept = whole[: view.call_start]
            view.pending = kept[len(view.live_text) :] if len(kept) > len(view.live_text) else ""
            if view.live_ts is None or len(kept) >= len(view.live_text):
                return
            voided = len(view.live_text) - len(kept)
            view.shown = view.shown[: max(0, len(view.shown) - voided)]
            if view.streamed and view.live_ts in self._with_cards:
                await self._withdraw_after_cards(view, error)
                return
            if view.streamed:
                with contextlib.suppress(SlackApiError):
                    await self.writer.call("chat.stopStream", channel=view.channel,
                                           ts=view.live_ts, session_status=WORKING)  # fmt: skip
            note = f"{kept}\n_(model call failed: {error}; retrying)_".strip()
            await self.writer.call("chat.update", channel=view.channel, ts=view.live_ts,
                                   text=note)  # fmt: skip
            await live_messages.live_finished(view.channel, view.live_ts)
            view.live_ts, view.live_text, view.call_start = None, "", 0
            view.pending = ""
