"""No task card is left spinning: a real run (DBOS, the scripted model, SQLite) renders through
the Slack publisher into the local workspace while a tool call runs, and then

- the run is cancelled (the session's Stop, handled by the bot's listener; `/opsbot cancel`'s
  `service.cancel_run`): the running call's card ends `error`, "stopped by <@U…>", in the
  stream the footer closes; any other ending does the same with its own output;
- Slack ends the stream for its age (not idleness) under the running call: the run goes on in
  a new stream that opens with the card in progress again, and ends it there.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from slack_sdk.web.async_client import AsyncWebClient

from agents import service
from agents.approval_rules import ApprovalRules
from agents.events import RunFinished, RunStarted, ToolFinished, ToolStarted
from bot.approvers import Approvers
from bot.deps import BotDeps
from bot.listeners.sessions import stop_thread
from bot.renderer import SlackPublisher
from bot.writer import SlackWriter
from core.redact import Redactor
from core.types import IncomingMessage, Risk, ThreadRef
from sandbox.model.server import start_model_server
from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.server import SandboxConfig
from tests.slack_runs import CHANNEL, chunks_of, replies, task_cards
from tests.support import make_settings, scripted
from tools.base import Tool, ToolContext

ANSWER = "Checkout errors began at 14:02 UTC after deploy d-2044."
GATES: list[asyncio.Event] = []  # a gated call runs until the test opens its run's gate
SLOW_S = [1.6]


class Query(BaseModel):
    query: str


async def _count(args: Query, ctx: ToolContext) -> dict[str, Any]:
    return {"errors": 412}


async def _gated(args: Query, ctx: ToolContext) -> dict[str, Any]:
    await asyncio.wait_for(GATES[-1].wait(), 30)
    return {"errors": 7}


async def _slow(args: Query, ctx: ToolContext) -> dict[str, Any]:
    await asyncio.sleep(SLOW_S[0])
    return {"errors": 1}


TOOLS = tuple(
    Tool(name=name, description="Count errors.", input_model=Query, risk=Risk.READ,
         handler=handler)
    for name, handler in (("count_errors", _count), ("gated_count", _gated),
                          ("slow_count", _slow))
)  # fmt: skip


def turn(*names: str) -> dict[str, Any]:
    """The log analyzer calls the tools `names`, in one step, then answers."""
    calls = [{"name": n, "input": {"query": f"q{i}"}} for i, n in enumerate(names)]
    steps = [{"text": "Looking.", "tool_calls": calls}, {"text": ANSWER}]
    return {"match": ".*", "router": [{"agent": "log_analyzer", "reason": "count"}],
            "log_analyzer": steps}  # fmt: skip


@dataclasses.dataclass
class Run:
    slack: RunningSlack
    writer: SlackWriter
    root_ts: str
    run_id: str
    settings: Any

    def thread(self) -> list[dict[str, Any]]:
        return replies(self.slack, self.root_ts)

    def cards(self) -> list[dict[str, Any]]:
        return task_cards(self.thread())


@asynccontextmanager
async def running(
    database_url: str, workspace: Path, script: dict[str, Any], config: SandboxConfig,
    keepalive_s: float = 20.0,
) -> AsyncIterator[Run]:  # fmt: skip
    """`script` started in a new thread of #incidents, rendered by the Slack publisher."""
    GATES[:] = [asyncio.Event()]  # one per test: an event belongs to its event loop
    slack = await start_slack(config)
    model = await start_model_server(scripted([script]))
    web = AsyncWebClient(token=slack.sandbox.workspace.bot_token, base_url=slack.api_url)
    writer = SlackWriter(web, rate_scale=100.0)
    publisher = SlackPublisher(writer, flush_interval_s=0.05, redactor=Redactor(),
                               keepalive_s=keepalive_s)  # fmt: skip
    settings = make_settings(database_url, workspace, model.url)
    engine = await service.launch(settings, publisher)
    try:
        spec = engine.agents["log_analyzer"]
        engine.agents["log_analyzer"] = dataclasses.replace(spec, tools=(*spec.tools, *TOOLS))
        root = await slack.sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> why are errors up?")
        thread = ThreadRef(team=slack.sandbox.workspace.team_id, channel=CHANNEL,
                           thread_ts=root.ts)  # fmt: skip
        handle = await service.start_turn(
            thread, IncomingMessage(ts=root.ts, text="why are errors up?", user="U0ONCALL")
        )
        yield Run(slack, writer, root.ts, handle.workflow_id, settings)
    finally:
        GATES[-1].set()
        await publisher.close()
        await service.stop()
        if web.session is not None:
            await web.session.close()
        await model.stop()
        await slack.stop()


def _card(run: Run, title: str) -> dict[str, Any] | None:
    return next((c for c in run.cards() if c["title"].startswith(title)), None)


def _spinning(run: Run) -> list[dict[str, Any]]:
    return [c for c in run.cards() if c["status"] == "in_progress"]


async def _stop_from_slack(run: Run, user: str) -> None:
    """The session's Stop pressed by `user`, handled by the bot's listener."""
    deps = BotDeps(settings=run.settings, writer=run.writer,
                   approvers=Approvers(run.writer, ApprovalRules(approvers=("U0LEAD",))),
                   bot_user="U0BOT", team=run.slack.sandbox.workspace.team_id, domain=None,
                   redactor=Redactor())  # fmt: skip
    streaming = [m["ts"] for m in run.thread() if m.get("streaming")]
    assert await stop_thread(deps, CHANNEL, run.root_ts, user, streaming) == [run.run_id]


async def _cancel_command(run: Run, user: str) -> None:
    """What `/opsbot cancel <run>` does."""
    assert await service.cancel_run(run.run_id, user) == f"Run {run.run_id} cancelled."


@pytest.mark.parametrize(
    ("cancel", "user", "tools"),
    [(_stop_from_slack, "U0ONCALL", ("gated_count",)),
     (_stop_from_slack, "U0LEAD", ("count_errors", "gated_count")),
     (_cancel_command, "U0LEAD", ("gated_count",)),
     (_cancel_command, "U0ONCALL", ("count_errors", "gated_count"))],
    ids=["stop-first-call", "stop-after-a-call", "cancel-first-call", "cancel-after-a-call"],
)  # fmt: skip
async def test_a_call_running_when_the_run_is_cancelled_ends_in_its_stream(
    database_url: str, workspace: Path, cancel: Any, user: str, tools: tuple[str, ...]
) -> None:
    async with running(database_url, workspace, turn(*tools), SandboxConfig()) as run:
        sandbox = run.slack.sandbox
        await sandbox.wait_until(lambda: _card(run, "gated_count") is not None, 30)
        assert _card(run, "gated_count")["status"] == "in_progress"  # type: ignore[index]
        await cancel(run, user)
        GATES[-1].set()  # the call was not interrupted: it ends, and reports to a run that ended
        await asyncio.sleep(1.0)
        thread = run.thread()

    assert _spinning(run) == [], run.cards()
    gated = _card(run, "gated_count")
    assert gated is not None
    assert (gated["status"], gated["output"]) == ("error", f"stopped by <@{user}>")
    if "count_errors" in tools:
        assert _card(run, "count_errors")["status"] == "complete"  # type: ignore[index]
    [holder] = [m for m in thread if any(c["title"].startswith("gated") for c in task_cards([m]))]
    assert f"cancelled by <@{user}>" in str(holder.get("blocks")), "ended in the footer's stream"
    assert not [m for m in thread if m.get("streaming")]


@asynccontextmanager
async def published_run(
    database_url: str, workspace: Path
) -> AsyncIterator[tuple[RunningSlack, SlackPublisher, Any, str]]:
    """A launched engine whose publisher renders into the local workspace, and a run started
    there by a mention whose events the test publishes itself: (slack, publisher, the
    mention, run id)."""
    slack = await start_slack(SandboxConfig())
    model = await start_model_server(scripted([turn("count_errors")]))
    web = AsyncWebClient(token=slack.sandbox.workspace.bot_token, base_url=slack.api_url)
    publisher = SlackPublisher(SlackWriter(web, rate_scale=100.0), flush_interval_s=0.05)
    await service.launch(make_settings(database_url, workspace, model.url), publisher)
    try:
        root = await slack.sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> why are errors up?")
        run_id = f"{slack.sandbox.workspace.team_id}:{CHANNEL}:{root.ts}"
        await publisher.publish(RunStarted(run_id=run_id, thread_id=run_id, text="why?",
                                           requester="U0ONCALL", requester_team=None))  # fmt: skip
        yield slack, publisher, root, run_id
    finally:
        await publisher.close()
        await service.stop()
        if web.session is not None:
            await web.session.close()
        await model.stop()
        await slack.stop()


@pytest.mark.parametrize(
    ("outcome", "output"),
    [("failed", "not finished (run failed)"), ("limited", "not finished (run limited)"),
     ("cancelled", "cancelled")],
)  # fmt: skip
async def test_any_ending_of_a_run_ends_its_running_cards(
    database_url: str, workspace: Path, outcome: str, output: str
) -> None:
    """The publisher told that a run ended while its calls ran (two of them): each card ends
    `error` with the ending's output, in the stream, before the footer closes it."""
    async with published_run(database_url, workspace) as (slack, publisher, root, run_id):
        for n in (1, 2):
            await publisher.publish(ToolStarted(run_id=run_id, agent="log_analyzer",
                                                tool_use_id=f"toolu_{n}", name="count_errors",
                                                summary=f"q{n}", risk="read"))  # fmt: skip
        await slack.sandbox.wait_until(lambda: len(task_cards(replies(slack, root.ts))) == 2)
        await publisher.publish(RunFinished(run_id=run_id, outcome=outcome, answer="",
                                            limit=None, input_tokens=1, output_tokens=1,
                                            cost_usd=0.0, duration_s=1.0))  # fmt: skip
        thread = replies(slack, root.ts)

    cards = task_cards(thread)
    assert [(c["task_id"], c["status"], c.get("output")) for c in cards] == [
        ("toolu_1", "error", output), ("toolu_2", "error", output)]  # fmt: skip
    assert not [m for m in thread if m.get("streaming")]


@pytest.mark.parametrize("keepalive_s", [20.0, 0.3], ids=["end-rolls-over", "progress-rolls-over"])
@pytest.mark.parametrize("slow_s", [1.6, 2.4])
async def test_a_stream_slack_ends_for_its_age_goes_on_in_a_new_one_with_the_running_card(
    database_url: str, workspace: Path, keepalive_s: float, slow_s: float
) -> None:
    """Slack ends streams older than 1 s here (idle ones only after a minute): the call's
    end (or its progress) finds the stream ended; a new stream opens with the card in
    progress again, and its end shows there."""
    SLOW_S[0] = slow_s
    config = SandboxConfig(rate_window_s=60.0, stream_max_s=1.0, stream_idle_s=60.0)
    async with running(database_url, workspace, turn("count_errors", "slow_count"), config,
                       keepalive_s) as run:  # fmt: skip
        sandbox = run.slack.sandbox
        await sandbox.wait_until(lambda: any(ANSWER in m["text"] for m in sandbox.rendered_thread(
            CHANNEL, run.root_ts)), 30)  # fmt: skip
        await asyncio.sleep(0.3)
        thread = run.thread()
        calls = list(sandbox.calls)

    refused = [c for c in calls if c["error"] == "message_not_in_streaming_state"]
    assert refused, "Slack ended a stream under the running call"
    holders = [m for m in thread if any(c["title"].startswith("slow_count")
                                        for c in task_cards([m]))]  # fmt: skip
    assert len(holders) >= 2, "the card goes on in a new stream"
    last = [c for c in task_cards([holders[-1]]) if c["title"].startswith("slow_count")]
    assert [c["status"] for c in last] == ["complete"]
    # the new stream opened with the card in progress, then ended it there
    opened = [
        c
        for c in calls
        if c["method"] == "chat.startStream"
        and c["ok"]
        and any(ch.get("title", "").startswith("slow_count") for ch in chunks_of(c["args"]))
    ]
    later = [c for c in calls if c["ok"] and c["args"].get("ts") == holders[-1]["ts"]]
    sent = [ch for c in (opened[-1], *later) for ch in chunks_of(c["args"])
            if ch.get("title", "").startswith("slow_count")]  # fmt: skip
    assert sent[0]["status"] == "in_progress"
    assert sent[-1]["status"] == "complete"
    # a card still shown in progress is only in a message Slack ended (it cannot be changed)
    ended = {m["ts"] for m in holders[:-1]}
    assert {m["ts"] for m in thread if m.get("blocks") and any(
        c["status"] == "in_progress" for c in task_cards([m]))} <= ended  # fmt: skip
    assert not [m for m in thread if m.get("streaming")]
    assert sum(m["text"].count(ANSWER) for m in thread) == 1


@pytest.mark.parametrize("running_calls", [1, 2])
async def test_a_stream_the_bot_closes_under_a_running_call_leaves_no_spinner_behind(
    database_url: str, workspace: Path, running_calls: int
) -> None:
    """The bot closes the live stream while calls run (as before a shared file): each running
    card is left `pending`, pointing on, and the next stream carries it to its end."""
    async with published_run(database_url, workspace) as (slack, publisher, root, run_id):
        for n in range(running_calls):
            await publisher.publish(ToolStarted(run_id=run_id, agent="log_analyzer",
                                                tool_use_id=f"toolu_{n}", name="count_errors",
                                                summary=f"q{n}", risk="read"))  # fmt: skip
        await slack.sandbox.wait_until(
            lambda: len(task_cards(replies(slack, root.ts))) == running_calls
        )
        await publisher.live.end(publisher.views[run_id])
        for n in range(running_calls):
            done = ToolFinished(
                run_id=run_id,
                agent="log_analyzer",
                tool_use_id=f"toolu_{n}",
                name="count_errors",
                status="ok",
                duration_ms=5.0,
                detail="",
            )
            await publisher.publish(done)
        await publisher.publish(RunFinished(run_id=run_id, outcome="succeeded", answer="",
                                            limit=None, input_tokens=1, output_tokens=1,
                                            cost_usd=0.0, duration_s=1.0))  # fmt: skip
        thread = replies(slack, root.ts)

    first, second = (task_cards([m]) for m in thread[:2])
    assert [(c["status"], c.get("details")) for c in first] == [
        ("pending", "continues in the next message")] * running_calls  # fmt: skip
    assert [c["status"] for c in second] == ["complete"] * running_calls
    assert [c["task_id"] for c in second] == [c["task_id"] for c in first]
    assert not [m for m in thread if m.get("streaming")]
