"""Mentions start or continue a thread's conversation; replies in an active thread continue it.

The run is queued before Slack gets its ack (a middleware), so a process killed right after
the ack loses no message. A database that does not answer within the ack's budget does not
hold the ack: the enqueue goes on after it (DBOS retries its connection until the database is
back), the thread is told after 30 s that the message waits for the database, and an enqueue
that fails outright is retried, then reported in the thread.

The run's input is the message as the person saw it (bot/thread_context.py): the thread's
earlier messages, attachments and blocks as text, Slack's escapes decoded. Reading the thread
is part of what the ack waits for (within the same budget); if Slack does not answer within
`INPUT_BUDGET_S`, the run starts with the message alone and says so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import SpanKind
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.errors import SlackApiError

from agents import queries, service
from bot.deps import BotDeps
from bot.payloads import SlackMessage, mentions, person_message
from bot.slack_markup import decode, strip_leading_mention
from bot.slack_text import message_text
from bot.thread_context import ThreadPlace, agent_input
from core import faults
from core.types import IncomingMessage, ThreadRef

log = logging.getLogger(__name__)

ACK_BUDGET_S = 2.0  # of Slack's 3 s for the ack, what the enqueue may take before it
SLOW_NOTE_AFTER_S = 30.0  # then the thread hears that the message waits for the database
ENQUEUE_RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)  # after an enqueue that failed
RUN_KEY = "opsbot_run"  # the context entry the middleware leaves for the listener
INPUT_BUDGET_S = 8.0  # for reading the thread and its names; then the message alone
# A reply must be queued within the ordering window (agents/ordering.py ORDER_WINDOW_S), or a
# later reply of its thread on another worker could run first: its read gets this much.
REPLY_INPUT_BUDGET_S = 2.0


@dataclass
class RunRequest:
    """A person's message that starts or continues a run; `incoming` holds the run's input
    once `prepare_input` has read the thread."""

    message: SlackMessage
    thread: ThreadRef
    incoming: IncomingMessage
    event_type: str
    prepared: bool = False


async def run_request(deps: BotDeps, body: dict[str, Any]) -> RunRequest | None:
    """The run this event asks for: a mention, or a reply in a thread the bot is active in."""
    event = body.get("event")
    kind = event.get("type") if isinstance(event, dict) else None
    if kind not in ("app_mention", "message") or not isinstance(event, dict):
        return None
    message = person_message(body, event, deps.bot_user, own_team=deps.team)
    if message is None:
        return None
    thread = message.thread(fallback_team=deps.team)
    if kind == "message":
        if message.thread_ts is None or mentions(message.text, deps.bot_user):
            return None  # the app_mention delivery of the same post starts the run
        if not await queries.thread_known(thread.key):
            return None
    incoming = IncomingMessage(ts=message.ts, text=_plain_input(deps, message), user=message.user,
                               user_team=message.user_team or thread.team)  # fmt: skip
    return RunRequest(message, thread, incoming, str(kind))


def _plain_input(deps: BotDeps, message: SlackMessage) -> str:
    """The message alone, decoded without look-ups (ids stay ids), redacted."""
    said = decode(strip_leading_mention(message_text(message.as_api()), deps.bot_user)).strip()
    return deps.redactor.redact(said or "(empty message)")


async def _since(thread: ThreadRef, before_ts: str) -> str | None:
    """The message of the latest earlier run of this thread, if opsbot is in it."""
    try:
        runs = await queries.thread_runs(thread.key)
    except Exception as error:  # the database's errors differ per driver; read all then
        log.warning("could not read the runs of %s: %s", thread.key, error)
        return None
    starts = [r.run_id.split(":", 2)[2] for r in runs]
    earlier = [ts for ts in starts if float(ts) < float(before_ts)]
    return max(earlier, key=float) if earlier else None


async def prepare_input(deps: BotDeps, request: RunRequest) -> None:
    """Read the thread once and make the run's input (the message alone if Slack fails)."""
    if request.prepared:
        return
    message = request.message
    since_ts = await _since(request.thread, message.ts)
    place = ThreadPlace(
        channel=message.channel, thread_ts=message.root_ts, message_ts=message.ts,
        bot_user=deps.bot_user, installation_team=request.thread.team, since_ts=since_ts,
    )  # fmt: skip
    budget = INPUT_BUDGET_S if message.ts == message.root_ts else REPLY_INPUT_BUDGET_S
    try:
        text = await asyncio.wait_for(
            agent_input(deps.writer.call, place, message.as_api(), message.user), budget
        )
        request.incoming = request.incoming.model_copy(update={"text": deps.redactor.redact(text)})
    except Exception as error:  # Slack's and the network's errors alike: the message alone
        reason = (
            str(error.response.get("error")) if isinstance(error, SlackApiError)
            else "no answer in time" if isinstance(error, TimeoutError) else type(error).__name__
        )  # fmt: skip
        log.warning("could not read the thread of %s: %s", message.ts, reason)
        note = f"(opsbot could not read this thread's earlier messages: {reason})"
        request.incoming = request.incoming.model_copy(
            update={"text": f"{note}\n\n{request.incoming.text}"}  # the message stays last
        )
    request.prepared = True


async def enqueue_traced(deps: BotDeps, request: RunRequest) -> str | None:
    """Queue the run once (its input read first), inside a `slack {event}` span
    the run's span links to; the error's name when the database refused."""
    attributes = {
        "messaging.system": "slack", "slack.event_type": request.event_type,
        "slack.team_id": request.thread.team, "slack.channel_id": request.thread.channel,
        "slack.message_ts": request.message.ts,
        "opsbot.run_id": request.incoming.run_id(request.thread),
    }  # fmt: skip
    with service.tracer().start_as_current_span(
        f"slack {request.event_type}", kind=SpanKind.CONSUMER, attributes=attributes
    ):
        try:
            await prepare_input(deps, request)
            await service.start_turn(request.thread, request.incoming)  # idempotent
        except Exception as error:  # the driver's errors differ per database
            return type(error).__name__
    return None


async def follow_up(
    deps: BotDeps, request: RunRequest, enqueue: asyncio.Future[str | None]
) -> None:
    """After the ack: wait out a slow enqueue (saying so in the thread), retry a failed one,
    then 👀 on the message or tell the thread it did not start."""
    run_id = request.incoming.run_id(request.thread)
    done, _ = await asyncio.wait({enqueue}, timeout=SLOW_NOTE_AFTER_S)
    if not done:
        await deps.writer.call(
            "chat.postMessage", channel=request.message.channel,
            thread_ts=request.message.root_ts,
            text=(":hourglass: My database is not answering, so this has not started yet; it "
                  "starts by itself when the database is back. Nothing has run."),
        )  # fmt: skip
    failure = await enqueue
    for delay in ENQUEUE_RETRY_DELAYS_S:
        if failure is None:
            break
        log.warning("enqueue of %s failed (%s); retrying in %.1fs", run_id, failure, delay)
        await asyncio.sleep(delay)
        failure = await enqueue_traced(deps, request)
    message = request.message
    if failure is None:
        await _react(deps, message)
        return
    log.error("could not enqueue %s: %s", run_id, failure)
    await deps.writer.call(
        "chat.postMessage", channel=message.channel, thread_ts=message.root_ts,
        text=(f":x: I could not start on this: my database did not answer ({failure}). "
              "Nothing was run. Mention me again once it is back."),
    )  # fmt: skip


async def _react(deps: BotDeps, message: SlackMessage) -> None:
    """👀 on the message: the bot is on it."""
    try:
        await deps.writer.call("reactions.add", channel=message.channel, timestamp=message.ts,
                               name="eyes")  # fmt: skip
    except SlackApiError as error:
        if error.response.get("error") != "already_reacted":
            log.warning("could not react: %s", error.response.get("error"))


def register(app: AsyncApp, deps: BotDeps) -> None:
    """Queue runs before the ack; listen to `app_mention` and `message` for what follows."""

    @app.middleware
    async def enqueue_before_ack(
        body: dict[str, Any], context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]
    ) -> Any:
        if body.get("type") == "event_callback":
            try:
                request = await run_request(deps, body)
            except Exception as error:  # is the thread active? the database cannot say now
                log.warning("could not check the thread of an event: %s", error)
                request = None
            if request is not None:
                enqueue = asyncio.ensure_future(enqueue_traced(deps, request))
                await asyncio.wait({enqueue}, timeout=ACK_BUDGET_S)
                context[RUN_KEY] = (request, enqueue)
        return await next()

    async def after_ack(context: AsyncBoltContext) -> None:
        faults.point("after_event_ack")
        found = context.get(RUN_KEY)
        if found is not None:
            await follow_up(deps, *found)

    app.event("app_mention")(after_ack)
    app.event("message")(after_ack)
