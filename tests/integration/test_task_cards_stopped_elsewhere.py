"""A run stopped by another process leaves no task card spinning.

Processes share the database, so the session's Stop (`agent_session_stopped`) or `/opsbot
cancel` may reach process B while the run executes and streams in process A. Here each
process is its own renderer (`SlackPublisher`, its own Slack client and memory) over one
database and one local workspace: the run's workflow publishes to A's renderer, and what B's
listener or command publishes (the run's end) goes to B's, as when B's engine publishes it.
DBOS, the scripted model and SQLite are real; one Python process holds one DBOS, so the two
renderers are what is two here (it is their memory that differs between processes).

B ends the card A left running, in A's stream, and closes that stream with the footer; A,
whose call in flight then finishes (and whose progress cards keep coming), opens no stream
with the card running again.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from agents import service
from agents.approval_rules import ApprovalRules
from agents.events import RunEvent
from bot.approvers import Approvers
from bot.deps import BotDeps
from bot.listeners.sessions import stop_thread
from bot.renderer import SlackPublisher
from bot.writer import SlackWriter
from core.redact import Redactor
from core.types import IncomingMessage, ThreadRef
from sandbox.model.server import start_model_server
from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.server import SandboxConfig
from tests.integration.test_task_card_endings import GATES, TOOLS, turn
from tests.slack_runs import CHANNEL, task_cards
from tests.support import make_settings, scripted

IN_B: contextvars.ContextVar[bool] = contextvars.ContextVar("in_b", default=False)


class TwoProcesses:
    """The engine's publisher: events go to process A's renderer, except those published
    while process B handles a Stop or a cancel (`IN_B`), which go to B's."""

    def __init__(self, a: SlackPublisher, b: SlackPublisher) -> None:
        self.a, self.b = a, b

    async def publish(self, event: RunEvent) -> None:
        await (self.b if IN_B.get() else self.a).publish(event)


@dataclasses.dataclass
class World:
    slack: RunningSlack
    a: SlackPublisher
    b_writer: SlackWriter
    root_ts: str
    run_id: str
    settings: Any

    def rendered(self) -> list[dict[str, Any]]:
        return self.slack.sandbox.rendered_thread(CHANNEL, self.root_ts)[1:]

    def cards(self) -> list[dict[str, Any]]:
        return task_cards(self.rendered())

    def card(self, title: str) -> dict[str, Any] | None:
        return next((c for c in self.cards() if c["title"].startswith(title)), None)


def _client(slack: RunningSlack) -> AsyncWebClient:
    return AsyncWebClient(token=slack.sandbox.workspace.bot_token, base_url=slack.api_url)


@asynccontextmanager
async def two_processes(
    database_url: str, workspace: Path, tools: tuple[str, ...], keepalive_s: float
) -> AsyncIterator[World]:
    """A run calling `tools` started in a new thread of #incidents, rendered by process A."""
    GATES[:] = [asyncio.Event()]
    slack = await start_slack(SandboxConfig())
    model = await start_model_server(scripted([turn(*tools)]))
    webs = [_client(slack), _client(slack)]
    a = SlackPublisher(SlackWriter(webs[0], rate_scale=100.0), flush_interval_s=0.05,
                       redactor=Redactor(), keepalive_s=keepalive_s)  # fmt: skip
    b_writer = SlackWriter(webs[1], rate_scale=100.0)
    b = SlackPublisher(b_writer, flush_interval_s=0.05, redactor=Redactor())
    settings = make_settings(database_url, workspace, model.url)
    engine = await service.launch(settings, TwoProcesses(a, b))
    try:
        spec = engine.agents["log_analyzer"]
        engine.agents["log_analyzer"] = dataclasses.replace(spec, tools=(*spec.tools, *TOOLS))
        root = await slack.sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> why are errors up?")
        thread = ThreadRef(team=slack.sandbox.workspace.team_id, channel=CHANNEL,
                           thread_ts=root.ts)  # fmt: skip
        handle = await service.start_turn(
            thread, IncomingMessage(ts=root.ts, text="why are errors up?", user="U0ONCALL")
        )
        yield World(slack, a, b_writer, root.ts, handle.workflow_id, settings)
    finally:
        GATES[-1].set()
        await a.close()
        await b.close()
        await service.stop()
        for web in webs:
            if web.session is not None:
                await web.session.close()
        await model.stop()
        await slack.stop()


async def _stop_in_b(world: World, user: str) -> None:
    """The session's Stop pressed by `user`, its event handled by B's listener."""
    deps = BotDeps(settings=world.settings, writer=world.b_writer,
                   approvers=Approvers(world.b_writer, ApprovalRules(approvers=("U0LEAD",))),
                   bot_user="U0BOT", team=world.slack.sandbox.workspace.team_id, domain=None,
                   redactor=Redactor())  # fmt: skip
    streaming = [m["ts"] for m in world.rendered() if m.get("streaming")]
    assert streaming, "A streams the run"
    IN_B.set(True)
    try:
        assert await stop_thread(deps, CHANNEL, world.root_ts, user, streaming) == [world.run_id]
    finally:
        IN_B.set(False)


async def _cancel_in_b(world: World, user: str) -> None:
    """What `/opsbot cancel <run>` does, handled by B."""
    IN_B.set(True)
    try:
        assert await service.cancel_run(world.run_id, user) == f"Run {world.run_id} cancelled."
    finally:
        IN_B.set(False)


def _no_card_spins(world: World, user: str, tools: tuple[str, ...]) -> None:
    assert [c for c in world.cards() if c["status"] == "in_progress"] == [], world.cards()
    gated = world.card("gated_count")
    assert gated is not None
    assert (gated["status"], gated.get("output")) == ("error", f"stopped by <@{user}>")
    if "count_errors" in tools:
        assert world.card("count_errors")["status"] == "complete"  # type: ignore[index]
    holder = [m for m in world.rendered()
              if any(c["title"].startswith("gated") for c in task_cards([m]))]  # fmt: skip
    assert len(holder) == 1, "the card is in A's stream only"
    assert f"cancelled by <@{user}>" in str(holder[0]["blocks"]), "B's footer closes A's stream"
    assert not [m for m in world.rendered() if m.get("streaming")]


@pytest.mark.parametrize(
    ("cancel", "user", "tools", "keepalive_s"),
    [(_stop_in_b, "U0ONCALL", ("gated_count",), 20.0),
     (_stop_in_b, "U0LEAD", ("count_errors", "gated_count"), 0.3),
     (_cancel_in_b, "U0LEAD", ("gated_count",), 0.3),
     (_cancel_in_b, "U0ONCALL", ("count_errors", "gated_count"), 20.0)],
    ids=["stop-first-call", "stop-after-a-call-progress", "cancel-first-call-progress",
         "cancel-after-a-call"],
)  # fmt: skip
async def test_a_run_stopped_in_another_process_ends_its_running_card_in_its_stream(
    database_url: str, workspace: Path, cancel: Any, user: str, tools: tuple[str, ...],
    keepalive_s: float,
) -> None:  # fmt: skip
    async with two_processes(database_url, workspace, tools, keepalive_s) as world:
        sandbox = world.slack.sandbox
        await sandbox.wait_until(lambda: world.card("gated_count") is not None, 30)
        assert world.card("gated_count")["status"] == "in_progress"  # type: ignore[index]
        await cancel(world, user)
        _no_card_spins(world, user, tools)
        shown = len(world.rendered())
        await asyncio.sleep(1.0)  # A's progress cards (keepalive 0.3 s) meet the ended stream
        GATES[-1].set()  # A's call in flight ends, and A's renderer hears it
        for _ in range(100):  # A learns the run ended when its write meets the ended stream
            if world.run_id not in world.a.views:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        _no_card_spins(world, user, tools)
        assert len(world.rendered()) == shown, "A opened no stream after the run's end"
        assert world.run_id not in world.a.views, "A closed its view of the run"
