"""Mentions start or continue a thread's conversation; replies in an active thread continue it."""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry.trace import SpanKind
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from agents import queries, service
from bot.deps import BotDeps
from bot.payloads import SlackMessage, mentions, person_message, without_mention
from core.types import IncomingMessage, ThreadRef

log = logging.getLogger(__name__)


async def start_run(deps: BotDeps, message: SlackMessage, event_type: str) -> None:
    """Enqueue the run (once per message, whatever the deliveries) and show the bot is on it.

    The enqueue happens inside a `slack {event_type}` span that the run's span links to.
    """
    thread = ThreadRef(team=message.team or deps.team, channel=message.channel,
                       thread_ts=message.root_ts)  # fmt: skip
    text = deps.redactor.redact(without_mention(message.text, deps.bot_user) or "(empty message)")
    incoming = IncomingMessage(ts=message.ts, text=text, user=message.user)
    attributes = {
        "messaging.system": "slack", "slack.event_type": event_type,
        "slack.team_id": thread.team, "slack.channel_id": thread.channel,
        "slack.message_ts": message.ts, "opsbot.run_id": incoming.run_id(thread),
    }  # fmt: skip
    with service.tracer().start_as_current_span(
        f"slack {event_type}", kind=SpanKind.CONSUMER, attributes=attributes
    ):
        await service.start_turn(thread, incoming)
    try:
        await deps.writer.call("reactions.add", channel=message.channel, timestamp=message.ts,
                               name="eyes")  # fmt: skip
    except SlackApiError as error:
        if error.response.get("error") != "already_reacted":
            log.warning("could not react: %s", error.response.get("error"))


def register(app: AsyncApp, deps: BotDeps) -> None:
    """Listen to `app_mention` and `message` events."""

    @app.event("app_mention")
    async def on_mention(body: dict[str, Any], event: dict[str, Any]) -> None:
        message = person_message(body, event, deps.bot_user)
        if message is not None:
            await start_run(deps, message, "app_mention")

    @app.event("message")
    async def on_message(body: dict[str, Any], event: dict[str, Any]) -> None:
        message = person_message(body, event, deps.bot_user)
        if message is None or message.thread_ts is None:
            return
        if mentions(message.text, deps.bot_user):
            return  # the app_mention delivery of the same post starts the run
        thread_id = f"{message.team or deps.team}:{message.channel}:{message.thread_ts}"
        if await queries.thread_known(thread_id):
            await start_run(deps, message, "message")
