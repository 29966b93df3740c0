"""`/opsbot status [run|thread link]`, `/opsbot cancel <run>`, `/opsbot help` (ephemeral)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from agents import live_messages, queries, service
from bot.alerts.card import alerts_section
from bot.blocks import HELP, run_blocks, status_blocks
from bot.deps import BotDeps
from bot.listeners.sessions import LIVE, stop_thread
from bot.payloads import parse_status_target

COMMAND = "/opsbot"


async def status_reply(deps: BotDeps, channel: str, argument: str) -> dict[str, Any]:
    """The ephemeral answer to `/opsbot status ...`."""
    if not argument:
        view = await queries.overview(deps.team, channel)
        blocks = status_blocks(view, deps.domain, f"<#{channel}>")
        if firing := await queries.firing_alerts(channel):
            blocks.insert(1, alerts_section(firing, deps.domain))
        return {"blocks": blocks, "text": "opsbot status"}
    target = parse_status_target(argument, deps.team)
    if target is None:
        return {"text": f"I can't read `{argument}` as a run id or a thread link."}
    kind, key = target
    run_id = key
    if kind == "thread":
        runs = await queries.thread_runs(key)
        if not runs:
            return {"text": "No run in that thread."}
        run_id = runs[-1].run_id  # the newest
    run = await queries.run_summary(run_id)
    if run is None:
        return {"text": f"No run `{run_id}`."}
    steps, decisions = await queries.run_steps(run_id), await queries.run_decisions(run_id)
    return {"blocks": run_blocks(run, steps, decisions), "text": f"run {run_id}"}


async def cancel(deps: BotDeps, run_id: str, user: str) -> str:
    """`/opsbot cancel <run>` by an approver: a live run of a Slack thread is stopped as the
    session's Stop button stops it (cards lose their buttons, the thread says who, the status
    leaves processing); any other run is cancelled or answered as it is. Returns the reply."""
    place = await live_messages.run_place(run_id)
    thread = place.thread_id.split(":") if place is not None else []
    if place is None or place.status not in LIVE or len(thread) != 3 or thread[0] != deps.team:
        return await service.cancel_run(run_id, user)
    stopped = await stop_thread(deps, thread[1], thread[2], user, [])
    return f"Run {run_id} cancelled." if run_id in stopped else await service.cancel_run(
        run_id, user)  # fmt: skip


def register(app: AsyncApp, deps: BotDeps) -> None:
    """Listen to the slash command."""

    @app.command(COMMAND)
    async def on_command(ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()
        words = str(command.get("text") or "").strip().split(maxsplit=1)
        verb = words[0].lower() if words else "status"
        argument = words[1] if len(words) > 1 else ""
        user, channel = str(command.get("user_id")), str(command.get("channel_id"))
        if verb == "status":
            await respond(response_type="ephemeral", **await status_reply(deps, channel, argument))
        elif verb == "cancel":
            if not argument:
                await respond(response_type="ephemeral", text="Usage: `/opsbot cancel <run id>`")
            elif not await deps.approvers.may_approve(user, channel):
                await respond(response_type="ephemeral",
                              text="Only approvers may cancel runs.")  # fmt: skip
            else:
                outcome = await cancel(deps, argument.strip(), user)
                await respond(response_type="ephemeral", text=outcome)
        else:
            await respond(response_type="ephemeral", text=HELP)
