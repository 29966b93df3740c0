"""One run in a thread of the local workspace, rendered by the bot's Slack publisher.

A real run (DBOS, the scripted model, a real database) with extra tools given to the log
analyzer; the thread is the workspace's, written through the bot's rate-aware writer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from agents import service
from bot.renderer import SlackPublisher
from bot.writer import SlackWriter
from core.models import ToolCallRow
from core.redact import Redactor
from core.types import IncomingMessage, ThreadRef
from sandbox.model.server import RunningModelServer
from sandbox.slack.app import RunningSlack
from tests.support import make_settings
from tools.base import Tool

CHANNEL = "C0INCIDENTS"
STREAMED = ("markdown", "task_card", "plan")  # the blocks of a streamed message's chunks


async def run_in_thread(
    slack: RunningSlack, model: RunningModelServer, database_url: str, workspace: Path,
    tools: tuple[Tool[Any], ...], answer: str, use_streams: bool = True,
    keepalive_s: float = 20.0,
) -> tuple[str, str, list[dict[str, Any]]]:  # fmt: skip
    """Ask in a new thread of #incidents and wait for the run and for `answer` to show;
    returns (outcome, thread ts, the recorded results of the run's tool calls)."""
    space = slack.sandbox.workspace
    web = AsyncWebClient(token=space.bot_token, base_url=slack.api_url)
    publisher = SlackPublisher(SlackWriter(web, rate_scale=100.0), flush_interval_s=0.05,
                               redactor=Redactor(), use_streams=use_streams,
                               keepalive_s=keepalive_s)  # fmt: skip
    settings = make_settings(database_url, workspace, model.url)
    engine = await service.launch(settings, publisher)
    try:
        spec = engine.agents["log_analyzer"]
        engine.agents["log_analyzer"] = dataclasses.replace(spec, tools=(*spec.tools, *tools))
        root = await slack.sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> why are errors up?")
        thread = ThreadRef(team=space.team_id, channel=CHANNEL, thread_ts=root.ts)
        handle = await service.start_turn(
            thread, IncomingMessage(ts=root.ts, text="why are errors up?", user="U0ONCALL")
        )
        outcome = await asyncio.wait_for(handle.get_result(), 60)
        shown = slack.sandbox.rendered_thread
        await slack.sandbox.wait_until(
            lambda: any(answer in m["text"] for m in shown(CHANNEL, root.ts))
        )
        rows = await engine.db.run(
            lambda s: [dict(r.result or {}) for r in s.query(ToolCallRow).all()]
        )
        return outcome, root.ts, rows
    finally:
        await publisher.close()
        await service.stop()
        if web.session is not None:
            await web.session.close()


def chunks_of(args: dict[str, Any]) -> list[dict[str, Any]]:
    """The `chunks` of a streaming call's arguments (a JSON string when sent as a form)."""
    chunks = args.get("chunks") or []
    return json.loads(chunks) if isinstance(chunks, str) else list(chunks)


def replies(slack: RunningSlack, root_ts: str) -> list[dict[str, Any]]:
    """The thread's replies as conversations.replies returns them (the opening message aside)."""
    return [m.as_api() for m in slack.sandbox.workspace.thread(CHANNEL, root_ts)][1:]


def task_cards(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every task card of the messages, in order (a plan's cards where the plan is)."""
    cards: list[dict[str, Any]] = []
    for message in messages:
        for block in message.get("blocks") or []:
            if block["type"] == "task_card":
                cards.append(block)
            elif block["type"] == "plan":
                cards.extend(block.get("tasks") or [])
    return cards


def readable(messages: list[dict[str, Any]]) -> str:
    """The messages as a person reads them: each one's text, then its task cards as the tool
    lines a client without cards would show ("> :gear: `name` argument — output")."""
    lines: list[str] = []
    for message in messages:
        lines.append(str(message.get("text") or ""))
        for card in task_cards([message]):
            name, _, argument = str(card["title"]).partition(" ")
            shown = f"> :gear: `{name}` {argument}".rstrip()
            lines.append(f"{shown} — {card.get('output') or card['status']}")
    return "\n".join(lines)


def shown_with_blocks(messages: list[dict[str, Any]]) -> str:
    """`readable`, then every block that is not a streamed message's own (approval cards,
    footers, notes), so a check finds what is in them without counting a streamed text twice."""
    others = [[b for b in m.get("blocks") or [] if b["type"] not in STREAMED] for m in messages]
    return readable(messages) + "\n" + "\n".join(str(o) for o in others if o)
