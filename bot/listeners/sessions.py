"""The native Stop button of a thread's agent session (`agent_session_stopped`).

Slack sends the event with `channel`, `thread_ts`, `user` and `streaming_message_ts[]`
(docs.slack.dev/reference/events/agent_session_stopped). Stop cancels the thread's running
run durably (`agents.service.cancel_run`, as `/opsbot cancel` does: DBOS cancellation, its
pending approvals rejected), replaces the buttons of its approval cards, ends the streamed
messages Slack named, says in the thread who stopped it (and which approved tool was already
executing: a command that started runs to its end) and moves the session to `active`
(Slack leaves the status alone: the app must leave `processing`). The requester of the run
or an approver may stop it; anyone else is told so, and the run goes on.

The event's fields are not trusted beyond what opsbot knows: a Stop in a thread where opsbot
never ran does nothing (no session is created there), and of the streamed messages the event
names only those of this thread's runs are ended. Stops of one thread are handled one at a
time (a retried delivery, or two people pressing Stop at once): the run is stopped, audited
and announced once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from agents import live_messages, queries, service
from bot.blocks import clock
from bot.deps import BotDeps
from bot.listeners.approvals import card_message

log = logging.getLogger(__name__)

EVENT = "agent_session_stopped"
LIVE = ("running", "waiting_approval")
_stopping: dict[str, tuple[asyncio.Lock, int]] = {}
"""Per thread being stopped: its lock and how many Stops hold or wait for it."""


def stopped_line(user: str, running: list[str] | None = None) -> str:
    """What the thread says after a Stop; `running` names the tools that were already
    executing: Stop does not interrupt them, and the thread says so."""
    line = f":black_square_for_stop: Stopped by <@{user}>"
    if running:
        names = ", ".join(f"`{name}`" for name in sorted(set(running)))
        line += f"; {names} was already running and was not interrupted"
    return line


def stopped_card(blocks: list[dict[str, Any]], user: str, at: float) -> list[dict[str, Any]]:
    """An approval card with its buttons replaced by who stopped the run (nothing ran)."""
    kept = [b for b in blocks if b.get("type") != "actions"]
    line = f"{stopped_line(user)} at {clock(at)}; nothing ran"
    return [*kept, {"type": "context", "elements": [{"type": "mrkdwn", "text": line}]}]


async def stop_thread(
    deps: BotDeps, channel: str, thread_ts: str, user: str, streams: list[str]
) -> list[str]:
    """Stop the thread's running runs as `user`; returns the ids of the runs cancelled
    (none when nothing ran, or `user` may not stop them: they are told so). Stops of one
    thread take turns; a later one finds the run already ended."""
    thread_id = f"{deps.team}:{channel}:{thread_ts}"
    lock, holders = _stopping.get(thread_id, (asyncio.Lock(), 0))
    _stopping[thread_id] = (lock, holders + 1)
    try:
        async with lock:
            return await _stop(deps, thread_id, channel, thread_ts, user, streams)
    finally:
        lock, holders = _stopping[thread_id]
        if holders <= 1:
            del _stopping[thread_id]
        else:
            _stopping[thread_id] = (lock, holders - 1)


async def _stop(
    deps: BotDeps, thread_id: str, channel: str, thread_ts: str, user: str, streams: list[str]
) -> list[str]:
    runs = await queries.thread_runs(thread_id)
    if not runs:
        log.info("ignored %s in %s: opsbot has no run there", EVENT, thread_id)
        return []
    running = [r.run_id for r in runs if r.status in LIVE]
    if running and not await _may_stop(deps, user, channel, running):
        await deps.writer.call("chat.postEphemeral", channel=channel, user=user,
                               thread_ts=thread_ts,
                               text="Only the person who asked or an approver can stop this "
                                    "run.")  # fmt: skip
        return []
    ours = await live_messages.live_streams(channel, [r.run_id for r in runs])
    streams = [ts for ts in streams if ts in ours]
    cancelled: list[str] = []
    executing: list[str] = []
    for run_id in running:
        cards = [a.approval_id for a in await queries.pending_approvals_of_run(run_id)]
        executing += await queries.running_tools(run_id)
        outcome = await service.cancel_run(run_id, user)
        log.info("Stop in %s by %s: %s", thread_id, user, outcome)
        cancelled.append(run_id)
        for approval_id in cards:
            await _close_card(deps, approval_id, user)
    for ts in streams:
        await _end_stream(deps, channel, ts)
    if cancelled:
        await deps.writer.call("chat.postMessage", channel=channel, thread_ts=thread_ts,
                               text=stopped_line(user, executing))  # fmt: skip
    if deps.sessions is not None:
        deps.sessions.stopped(channel, thread_ts)
    return cancelled


async def _may_stop(deps: BotDeps, user: str, channel: str, runs: list[str]) -> bool:
    for run_id in runs:
        place = await live_messages.run_place(run_id)
        if place is not None and place.requester == user:
            return True
    return await deps.approvers.may_approve(user, channel)


async def _close_card(deps: BotDeps, approval_id: str, user: str) -> None:
    """The card loses its buttons (cancel_run rejected its approval; no click will update it)."""
    card = await queries.card_of(approval_id)
    if card is None:
        return
    blocks = list((await card_message(deps, *card)).get("blocks") or [])
    if not blocks:
        return
    await deps.writer.call("chat.update", channel=card[0], ts=card[1], text="Run stopped",
                           blocks=stopped_card(blocks, user, time.time()))  # fmt: skip


async def _end_stream(deps: BotDeps, channel: str, ts: str) -> None:
    """Finish a message still streaming (one already finished answers an error: fine). Its
    row goes too: the process that streamed into it then knows the stream was ended for the
    run's end (bot/live_stream.py `_ended_elsewhere`) and opens no new one."""
    try:
        await deps.writer.call("chat.stopStream", channel=channel, ts=ts, session_status="active")
    except SlackApiError as error:
        log.info("stream %s after Stop: %s", ts, error.response.get("error"))
        if error.response.get("error") != "message_not_in_streaming_state":
            return
    await live_messages.live_finished(channel, ts)


def register(app: AsyncApp, deps: BotDeps) -> None:
    """Listen to the session Stop button."""

    @app.event(EVENT)
    async def on_stopped(event: dict[str, Any]) -> None:
        channel, thread_ts = str(event.get("channel") or ""), str(event.get("thread_ts") or "")
        user = str(event.get("user") or "")
        named = event.get("streaming_message_ts") or []
        streams = [str(ts) for ts in ([named] if isinstance(named, str) else named) if ts]
        if channel and thread_ts and user:
            await stop_thread(deps, channel, thread_ts, user, streams)
        else:
            log.warning("ignored %s without channel, thread_ts or user", EVENT)
