"""Messages a dead process left streaming: stopped and marked at start, never left stuck; the
task cards it left running in them end there (bot/task_cards.py `restart_endings`)."""

from __future__ import annotations

import contextlib

from slack_sdk.errors import SlackApiError

from agents import live_messages
from agents.runtime import current_engine
from bot import task_cards
from bot.writer import SlackWriter

RESUMING = "processing"
"""A leftover stream's run is resumed next (bot/session_status.py then sets the status it is
in); stopping without it would set `active`, chat.stopStream's default."""
ENDED = "active"
"""A leftover stream of a run that has ended: nothing resumes it to set the status again, so
`processing` would leave the finished thread with a Stop button."""


async def finish_leftovers(writer: SlackWriter) -> int:
    """Finish messages this executor's dead process left streaming; returns how many."""
    finished = 0
    for leftover in await live_messages.live_leftovers():
        if leftover.opening:
            finished += await _finish_opened_streams(writer, leftover)
        else:
            status = ENDED if leftover.run_ended else RESUMING
            if leftover.streaming:
                await _stop(writer, leftover, leftover.ts, status)
            if not leftover.run_ended:  # an ended run's step posted what the stream lacks
                await _mark_interrupted(writer, leftover.channel, leftover.ts)
            finished += 1
        await live_messages.live_finished(leftover.channel, leftover.ts)
    return finished


async def _finish_opened_streams(writer: SlackWriter, leftover: live_messages.LiveLeftover) -> int:
    """A crash came between opening a stream and recording it: stop whichever of the bot's
    messages in that thread since then still streams (stopping a finished one fails)."""
    if leftover.thread_ts is None:
        return 0
    try:
        replies = await writer.call(
            "conversations.replies", channel=leftover.channel, ts=leftover.thread_ts,
            oldest=f"{leftover.created_at - 5:.6f}", limit=200,
        )  # fmt: skip
    except SlackApiError:
        return 0
    stopped = 0
    for message in replies.get("messages") or []:
        ts = str(message.get("ts") or "")
        if not message.get("bot_id") or ts == leftover.thread_ts:
            continue
        if not await _stop(writer, leftover, ts, ENDED if leftover.run_ended else RESUMING):
            continue  # not streaming (or not ours): nothing to finish
        if not leftover.run_ended:
            await _mark_interrupted(writer, leftover.channel, ts)
        stopped += 1
    return stopped


async def _stop(
    writer: SlackWriter, leftover: live_messages.LiveLeftover, ts: str, status: str
) -> bool:
    """Stop a leftover stream with the cards the dead process left running in it ended
    (bot/task_cards.py `restart_endings`); False when Slack refused (it was not streaming).
    A stop refused for its cards is sent again without them: a stream is never left open."""
    started = current_engine().launched_at
    chunks = await task_cards.restart_endings(leftover.run_id, leftover.created_at, started)
    for extra in ([{"chunks": chunks}] if chunks else []) + [{}]:
        try:
            await writer.call("chat.stopStream", channel=leftover.channel, ts=ts,
                              session_status=status, **extra)  # fmt: skip
            return True
        except SlackApiError as error:
            if error.response.get("error") == "message_not_in_streaming_state":
                return False
    return False


async def _mark_interrupted(writer: SlackWriter, channel: str, ts: str) -> None:
    """Append "(interrupted by a restart)" to the message, keeping its text."""
    text = ""
    with contextlib.suppress(SlackApiError):
        replies = await writer.call("conversations.replies", channel=channel, ts=ts,
                                    latest=ts, inclusive=True, limit=1)  # fmt: skip
        text = next((str(m.get("text") or "") for m in replies.get("messages") or []
                     if m.get("ts") == ts), "")  # fmt: skip
    note = f"{text}\n_(interrupted by a restart)_".strip()
    with contextlib.suppress(SlackApiError):
        await writer.call("chat.update", channel=channel, ts=ts, text=note)
