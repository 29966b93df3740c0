"""Task cards under pressure: a real run (DBOS, the scripted model, SQLite) renders into the
local workspace through the Slack publisher, with tool calls whose key argument is hostile, a
tool slower than Slack keeps an idle stream, many calls in one run, and Slack refusing or
rate-limiting the chunks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from core.types import Risk
from sandbox.model.server import Fault, RunningModelServer, start_model_server
from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.server import Outage, SandboxConfig
from tests.slack_runs import chunks_of, readable, replies, run_in_thread, task_cards
from tests.support import scripted
from tools.base import Tool, ToolContext

ANSWER = "Checkout errors began at 14:02 UTC after deploy d-2044."
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
SLACK_TOKEN = "xoxb-1234567890-0987654321-abcdefghijklmnopqrstuvwx"


class Query(BaseModel):
    query: str


async def _count(args: Query, ctx: ToolContext) -> dict[str, Any]:
    return {"errors": 412}


async def _slow(args: Query, ctx: ToolContext) -> dict[str, Any]:
    await asyncio.sleep(3.0)  # longer than the workspace keeps an idle stream below
    return {"errors": 1}


COUNT = Tool(name="count_errors", description="Count errors.", input_model=Query,
             risk=Risk.READ, handler=_count)  # fmt: skip
SLOW = Tool(name="slow_count", description="Count slowly.", input_model=Query, risk=Risk.READ,
            handler=_slow)  # fmt: skip


def turn(*steps: list[dict[str, Any]]) -> dict[str, Any]:
    """One thread turn: the log analyzer makes the tool calls of each step, then answers."""
    return {"match": ".*", "router": [{"agent": "log_analyzer", "reason": "count"}],
            "log_analyzer": [*({"text": "Looking.", "tool_calls": s} for s in steps),
                             {"text": ANSWER}]}  # fmt: skip


def calls(name: str, *queries: str) -> list[dict[str, Any]]:
    return [{"name": name, "input": {"query": q}} for q in queries]


@pytest.fixture
async def slack() -> AsyncIterator[RunningSlack]:
    running = await start_slack(SandboxConfig(rate_window_s=60.0, stream_idle_s=1.5))
    yield running
    await running.stop()


@pytest.fixture
async def unlimited() -> AsyncIterator[RunningSlack]:
    """The workspace without Slack's rate limits: how much is written, not how fast."""
    running = await start_slack(SandboxConfig(rate_limits=False))
    yield running
    await running.stop()


async def run(
    slack: RunningSlack, database_url: str, workspace: Path, script: dict[str, Any],
    use_streams: bool = True, keepalive_s: float = 20.0,
) -> tuple[str, list[dict[str, Any]]]:  # fmt: skip
    """The run of `script` rendered into a thread; (its outcome, the thread's replies)."""
    model = await start_model_server(scripted([script]))
    try:
        outcome, root_ts, _ = await run_in_thread(slack, model, database_url, workspace,
                                                  (COUNT, SLOW), ANSWER, use_streams,
                                                  keepalive_s)  # fmt: skip
    finally:
        await model.stop()
    return outcome, replies(slack, root_ts)


# A key argument is cut to 80 characters before it reaches the renderer: a secret across the
# cut arrives in part, which no redactor pattern recognises.
CUT_SECRETS = [
    ("x" * 60 + " " + AWS_KEY, "AKIAIOSFODNN7EXA"),
    ("token " + "y" * 50 + " ghp_" + "a1B2c3D4e5" * 4, "ghp_a1B2c3D4e5a1B2"),
    ("logs/" + "z" * 55 + "/" + AWS_KEY + "/boot.log", "AKIAIOSFODNN"),
    ("db " + "w" * 50 + " postgres://app:s3cretpassword@db/x", "postgres://app:s3cr"),
]


@pytest.mark.parametrize(("query", "part"), CUT_SECRETS)
@pytest.mark.parametrize("use_streams", [True, False], ids=["cards", "lines"])
async def test_a_secret_cut_in_two_by_the_shortened_argument_is_not_shown(
    slack: RunningSlack, database_url: str, workspace: Path, query: str, part: str,
    use_streams: bool,
) -> None:  # fmt: skip
    outcome, thread = await run(slack, database_url, workspace,
                                turn(calls("count_errors", query)), use_streams)  # fmt: skip

    assert outcome == "succeeded"
    shown = readable(thread)
    assert "`count_errors`" in shown
    assert part not in shown
    sent = str([c["args"] for c in slack.sandbox.calls if c["args"].get("user") != "U0ONCALL"])
    assert part not in sent


@pytest.mark.parametrize(
    "query",
    ["<!channel> <@U0ONCALL> *bold* `code` ```fence", "\u202eevil\u202c 🔥 עברית\x07\x1b[31m",
     "", "q" * 10_000],
)  # fmt: skip
async def test_hostile_key_arguments_still_give_one_finished_card_each(
    slack: RunningSlack, database_url: str, workspace: Path, query: str
) -> None:
    outcome, thread = await run(slack, database_url, workspace,
                                turn(calls("count_errors", query, "second")))  # fmt: skip

    assert outcome == "succeeded"
    cards = task_cards(thread)
    assert [(c["title"].split()[0], c["status"]) for c in cards] == [
        ("count_errors", "complete"), ("count_errors", "complete")]  # fmt: skip
    assert not slack.sandbox.api.violations.seen


@pytest.mark.parametrize("steps", [[30, 30], [60]], ids=["two-turns-of-30", "60-at-once"])
async def test_sixty_calls_in_one_run_each_end_as_one_card(
    unlimited: RunningSlack, database_url: str, workspace: Path, steps: list[int]
) -> None:
    """Nothing is lost and no message outgrows Slack's limits (each call costs two
    chat.appendStream calls, paced by the writer: Slack allows that method 100 a minute)."""
    slack = unlimited
    script = turn(*(calls("count_errors", *(f"q{s}-{i}" for i in range(n)))
                    for s, n in enumerate(steps)))  # fmt: skip

    outcome, thread = await run(slack, database_url, workspace, script)

    assert outcome == "succeeded"
    cards = task_cards(thread)
    assert len(cards) == 60
    assert {c["status"] for c in cards} == {"complete"}
    assert len({c["task_id"] for c in cards}) == 60
    assert not slack.sandbox.api.violations.seen
    assert sum(m["text"].count(ANSWER) for m in thread) == 1


@pytest.fixture
async def slack_as_is() -> AsyncIterator[RunningSlack]:
    """The workspace with Slack's own limits and stream timings."""
    running = await start_slack(SandboxConfig())
    yield running
    await running.stop()


async def test_sixty_calls_under_slacks_rate_limits_go_out_batched_and_never_hold_the_run(
    slack_as_is: RunningSlack, database_url: str, workspace: Path
) -> None:
    """Cards wait in the run's pending text and go out with the flusher, several per call: the
    tool step never waits for Slack, and 60 calls cost fewer streaming calls than calls."""
    script = turn(calls("count_errors", *(f"q{i}" for i in range(60))))

    outcome, thread = await run(slack_as_is, database_url, workspace, script)

    assert outcome == "succeeded"
    cards = task_cards(thread)
    assert len(cards) == 60
    assert {c["status"] for c in cards} == {"complete"}
    carrying = [c for c in slack_as_is.sandbox.calls
                if c["method"].endswith("Stream") and "chunks" in c["args"]]  # fmt: skip
    assert len(carrying) < 60, len(carrying)  # 120 cards (a start and an end each)
    assert not [c for c in slack_as_is.sandbox.calls if c.get("error") == "ratelimited"]


@pytest.mark.parametrize("slow", [1, 2])
async def test_a_tool_outliving_slacks_idle_stream_keeps_it_open_and_its_card_finishes(
    slack: RunningSlack, database_url: str, workspace: Path, slow: int
) -> None:
    """The tool runs longer than the workspace keeps an idle stream (1.5 s here: a loaded CI
    machine once stalled past 0.6 s): the card says for how long it runs (keepalive 0.3 s), so
    the stream stays open, the card is not left spinning, and the call's outcome is shown once,
    in its own card."""
    script = turn(calls("count_errors", "before") + calls("slow_count", *map(str, range(slow))))

    outcome, thread = await run(slack, database_url, workspace, script, keepalive_s=0.3)

    assert outcome == "succeeded"
    cards = task_cards(thread)
    assert "in_progress" not in [c["status"] for c in cards], cards
    slow_cards = [c for c in cards if c["title"].startswith("slow_count")]
    assert len(slow_cards) == slow
    assert {c["status"] for c in slow_cards} == {"complete"}
    progress = [
        ch
        for a in slack.sandbox.calls
        if a["method"] == "chat.appendStream"
        for ch in chunks_of(a["args"])
        if ch.get("details", "").startswith("running for")
    ]
    assert progress, "the running card said how long it runs"
    refused = [c["error"] for c in slack.sandbox.calls if c["error"]]
    assert "message_not_in_streaming_state" not in refused, "the stream never went idle"


@pytest.mark.parametrize("error", ["ratelimited", "internal_error"])
async def test_a_refused_chunk_append_loses_no_call(
    slack: RunningSlack, database_url: str, workspace: Path, error: str
) -> None:
    """chat.appendStream with a task's chunk fails once (a 429, Slack's own error): the call
    still shows how it ended, as a card or as a line."""
    status = 429 if error == "ratelimited" else 200
    slack.sandbox.outages.append(
        Outage("chat.appendStream", error=error, times=1, status=status,
               when=lambda a: "chunks" in a and "complete" in str(a["chunks"]))
    )  # fmt: skip
    outcome, thread = await run(slack, database_url, workspace,
                                turn(calls("count_errors", "first", "second")))  # fmt: skip

    assert outcome == "succeeded"
    cards = task_cards(thread)
    assert "in_progress" not in [c["status"] for c in cards], cards
    shown = readable(thread)
    assert shown.count("count_errors` first") == 1
    assert shown.count("count_errors` second") == 1


FAULTS: list[Fault] = []  # queued on the model server by the tool, between two model calls


async def _then_break(args: Query, ctx: ToolContext) -> dict[str, Any]:
    SERVING[0].state.faults.extend(FAULTS)
    return {"errors": 3}


SERVING: list[RunningModelServer] = []
BREAKING = Tool(name="count_then_break", description="Count errors.", input_model=Query,
                risk=Risk.READ, handler=_then_break)  # fmt: skip


@pytest.mark.parametrize(
    "fault",
    [Fault(kind="break", after_events=12, role="log_analyzer"),
     Fault(kind="stream_error", error_type="overloaded_error", message="Overloaded",
           after_events=12, role="log_analyzer")],
    ids=["connection-cut", "overloaded-event"],
)  # fmt: skip
async def test_a_retried_model_call_after_a_card_withdraws_its_text_from_the_message(
    unlimited: RunningSlack, database_url: str, workspace: Path, fault: Fault
) -> None:
    """The model call after a tool card fails mid-answer and is retried: what it had streamed
    is withdrawn from the message that holds the card, so the answer shows once."""
    FAULTS[:] = [fault]
    script = turn(calls("count_then_break", "errors"))
    model = await start_model_server(scripted([script], tokens_per_second=20))
    SERVING[:] = [model]
    try:
        outcome, root_ts, _ = await run_in_thread(unlimited, model, database_url, workspace,
                                                  (BREAKING,), ANSWER)  # fmt: skip
    finally:
        await model.stop()

    assert outcome == "succeeded"
    thread = replies(unlimited, root_ts)
    assert [c["status"] for c in task_cards(thread)] == ["complete"]
    blocks = [b for m in thread for b in m.get("blocks") or [] if b["type"] == "markdown"]
    visible = "\n".join(b["text"] for b in blocks) + "\n".join(
        m.get("text") or "" for m in thread if not m.get("blocks"))  # fmt: skip
    assert visible.count(ANSWER) == 1, visible
    # text the failed attempt streamed next to the card is marked withdrawn where it shows
    for part in visible.split(ANSWER):
        if "Checkout errors" in part:
            assert "is withdrawn; retrying" in part.split("Checkout errors", 1)[1], visible
