"""The crash matrix: `opsbot serve` SIGKILLs itself at each fault point, a new process takes
over, and the incident still ends once: one side effect, one final answer, no stuck stream."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from core.db import sqlalchemy_url
from core.models import MessageRow, RunRow
from sandbox.model.server import RunningModelServer, start_model_server
from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.server import SandboxConfig, SlackSandbox
from tests.slack_runs import shown_with_blocks
from tests.slackbot import CHANNEL, reject_with_reason, thread, wait_for
from tests.support import counter_workspace, scripted

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
ROOT = Path(__file__).resolve().parents[2]
COUNTER = (
    "import time\nwith open('counter.txt', 'a') as f:\n    f.write('ran\\n')\n"
    "time.sleep(1.5)\nprint('counted')\n"
)
SCRIPT: list[dict[str, Any]] = [
    {"match": ".*", "router": [{"agent": "coding", "reason": "run the counter"}],
     "coding": [
         {"text": "Running the counter now, it takes a moment to finish.", "tool_calls": [
             {"name": "shell_execute", "input": {"command": "python3 count.py"}}]},
         {"text": "The counter ran and reported back."}]},
]  # fmt: skip
CLICKED_AT: dict[str, float] = {}
# Killed while the run only waited for a person's click; killed while it worked.
ONLY_WAITING = {"waiting_approval", "after_card", "between_cas_and_send"}
WORKING = {"mid_stream:3", "after_tool", "during_shell"}
# Refusals a restart may meet by design: a leftover stream already finished, a rate limit.
EXPECTED_REFUSALS = {"message_not_in_streaming_state", "ratelimited"}
FAULTS = ["after_route", "mid_stream:3", "after_tool", "waiting_approval",
          "between_cas_and_send", "during_shell", "while_posting:1",
          "after_stream_start:2", "before_stream_stop:1", "before_stream_stop:2",
          "after_card"]  # fmt: skip
# while_posting:1 is the approval card (hops, tool calls and the footer go into streams);
# before_stream_stop:2 is the stop that would close the answer with its footer.


@asynccontextmanager
async def counter_world(
    tmp_path: Path, script: Any
) -> AsyncIterator[tuple[RunningSlack, RunningModelServer, Path]]:
    """The local workspace, a model server replaying `script` and the counter checkout."""
    workspace = counter_workspace(tmp_path)
    (workspace / "count.py").write_text(COUNTER)
    slack = await start_slack(SandboxConfig())
    model = await start_model_server(scripted(script, tokens_per_second=40))
    try:
        yield slack, model, workspace
    finally:
        await model.stop()
        await slack.stop()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[RunningSlack, RunningModelServer, Path]]:
    async with counter_world(tmp_path, SCRIPT) as parts:
        yield parts


async def serve(
    slack: RunningSlack,
    model: RunningModelServer,
    workspace: Path,
    database_url: str,
    fault: str | None,
    executor: str = "local",
    rate_scale: float | None = None,
    extra_env: dict[str, str] | None = None,
) -> asyncio.subprocess.Process:
    space = slack.sandbox.workspace
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("OPSBOT_", "SLACK_", "ANTHROPIC_"))
    }
    env.update({
        "SLACK_BOT_TOKEN": space.bot_token, "SLACK_APP_TOKEN": space.app_token,
        "OPSBOT_SLACK_API_URL": slack.api_url, "ANTHROPIC_API_KEY": "sk-test-key-for-the-matrix",
        "ANTHROPIC_BASE_URL": model.url, "OPSBOT_DATABASE_URL": database_url,
        "OPSBOT_WORKSPACE": str(workspace), "OPSBOT_LOG_SOURCES": "logs/*.log",
        "OPSBOT_APPROVERS": "U0LEAD", "OPSBOT_POLL_INTERVAL_S": "0.05",
        "OPSBOT_MODEL_RETRY_INTERVAL_S": "0.01", "PYTHONUNBUFFERED": "1",
    })  # fmt: skip
    env["OPSBOT_EXECUTOR_ID"] = executor
    if rate_scale is not None:
        env["OPSBOT_SLACK_RATE_SCALE"] = str(rate_scale)
    if fault:
        env["OPSBOT_FAULT"] = fault
    env.update(extra_env or {})
    before = len([c for c in slack.sandbox.calls if c["method"] == "apps.connections.open"])
    # The log goes to a file next to the workspace: a pipe nobody reads would stall the bot
    # once it filled up, and the file is there to read when a test fails.
    with (workspace.parent / f"{executor}.log").open("a") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "serve", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    await wait_for(
        slack.sandbox,
        lambda: (
            len([c for c in slack.sandbox.calls if c["method"] == "apps.connections.open"]) > before
        ),
        60,
    )
    hub: Any = slack.sandbox.delivery
    await wait_for(slack.sandbox, lambda: bool(hub.connections))
    return process


def open_cards(sandbox: SlackSandbox, root_ts: str) -> list[dict[str, Any]]:
    return [m for m in thread(sandbox, root_ts)
            if any(b.get("type") == "actions" for b in m["blocks"] or [])]  # fmt: skip


def posted_card_approvals(sandbox: SlackSandbox) -> list[str]:
    """The approval id of every card the bot posted, in order (repeats included)."""
    ids = []
    for call in sandbox.calls:
        if call["method"] == "chat.postMessage" and call["ok"]:
            blocks = call["args"].get("blocks") or []
            if isinstance(blocks, str):
                blocks = json.loads(blocks)
            ids += [e["value"] for b in blocks if b.get("type") == "actions"
                    for e in b["elements"] if e.get("action_id") == "opsbot_approve"]  # fmt: skip
    return ids


def final(sandbox: SlackSandbox, root_ts: str) -> list[dict[str, Any]]:
    return [m for m in thread(sandbox, root_ts) if "tokens" in str(m["blocks"])]


async def act_on_cards(sandbox: SlackSandbox, root_ts: str, handled: set[str]) -> None:
    """Approve each new card; reject a card that says the outcome is unknown."""
    for card in open_cards(sandbox, root_ts):
        if card["ts"] in handled:
            continue
        handled.add(card["ts"])
        if "outcome is unknown" in str(card["blocks"]):
            await reject_with_reason(sandbox, "U0LEAD", card["ts"], "it ran")
        else:
            CLICKED_AT[card["ts"]] = time.time()
            await sandbox.click("U0LEAD", CHANNEL, card["ts"], "opsbot_approve")


async def until(process: asyncio.subprocess.Process, sandbox: SlackSandbox, root_ts: str,
                handled: set[str], done: Any, timeout_s: float = 60) -> None:  # fmt: skip
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        if done():
            return
        await act_on_cards(sandbox, root_ts, handled)
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out; thread: {thread(sandbox, root_ts)}")


async def test_a_kill_right_after_slack_has_its_ack_loses_no_mention(
    database_url: str, world: tuple[RunningSlack, RunningModelServer, Path]
) -> None:
    """Slack does not deliver an acked event again, so the run must be queued before the ack."""
    slack, model, workspace = world
    sandbox = slack.sandbox
    first = await serve(slack, model, workspace, database_url, "after_event_ack")
    root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> run the counter")
    handled: set[str] = set()
    await until(first, sandbox, root.ts, handled, lambda: first.returncode is not None)
    assert first.returncode == -signal.SIGKILL
    second = await serve(slack, model, workspace, database_url, None)
    try:
        await until(second, sandbox, root.ts, handled, lambda: final(sandbox, root.ts))
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), 30)
    assert len(final(sandbox, root.ts)) == 1
    assert (workspace / "counter.txt").read_text() == "ran\n"


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_kill_at_each_fault_point_loses_nothing_and_repeats_nothing(
    database_url: str, world: tuple[RunningSlack, RunningModelServer, Path], fault: str
) -> None:
    slack, model, workspace = world
    sandbox = slack.sandbox
    first = await serve(slack, model, workspace, database_url, fault)
    root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> run the counter")
    handled: set[str] = set()
    await until(first, sandbox, root.ts, handled, lambda: first.returncode is not None)
    assert first.returncode == -signal.SIGKILL, f"{fault} never fired"
    second = await serve(slack, model, workspace, database_url, None)
    try:
        await until(second, sandbox, root.ts, handled, lambda: final(sandbox, root.ts))
        await asyncio.sleep(1.0)  # anything still on its way would show now
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), 30)

    messages = thread(sandbox, root.ts)
    refused = [(c["method"], c["error"]) for c in sandbox.calls
               if c["error"] and c["error"] not in EXPECTED_REFUSALS]  # fmt: skip
    assert refused == [], "Slack refused a write of the bot (arguments or limits)"
    assert sandbox.api.violations.seen == []
    # A message a restart interrupted keeps what it showed; every other one is whole.
    whole = [m for m in messages if "interrupted by a restart" not in str(m["text"])]
    shown = shown_with_blocks(whole)
    resumed_notes = [m for m in messages if "Resumed after a restart" in m["text"]]
    if fault in ONLY_WAITING:  # the approved command runs in the new process, streamed there
        assert re.search(r"`shell_execute`[^\n]* — ok", shown), "the command's outcome is shown"
        assert resumed_notes == [], "a run that only waited for a click resumed no work"
    elif fault in WORKING:
        assert len(resumed_notes) == 1, "work in progress resumed: said once"
    assert len(resumed_notes) <= 1
    if fault == "before_stream_stop:2":  # the answer was all written: it stays where it is,
        shown = shown_with_blocks(messages)  # in the stream the restart finished
    assert shown.count("The counter ran and reported back.") == 1, "the answer appears once"
    assert len(final(sandbox, root.ts)) == 1, "exactly one final answer"
    assert (workspace / "counter.txt").read_text() == "ran\n", "the command ran exactly once"
    assert not any(m["streaming"] for m in messages), "no stream left open"
    cards = posted_card_approvals(sandbox)
    assert len(cards) == len(set(cards)), "one card per approval"
    routed = [m for m in messages if ":compass: *coding*" in m["text"]]
    assert len(routed) == 1
    if fault == "during_shell":
        assert any("outcome is unknown" in str(m["blocks"]) for m in messages)
    if fault == "waiting_approval":
        clicked = max(CLICKED_AT[ts] for ts in handled if ts in CLICKED_AT)
        latency = (workspace / "counter.txt").stat().st_mtime - clicked
        print(f"\napproval resume latency after a restart ({database_url.split(':')[0]}): "
              f"{latency * 1000:.0f} ms from click to the command starting")  # fmt: skip
        assert latency < 10
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as connection:
        runs = connection.execute(select(RunRow.status, RunRow.resumed_count)).all()
        history = connection.execute(select(MessageRow.role)).scalars().all()
    engine.dispose()
    # A rejected "run it again?" card (a command whose outcome is unknown) is not a rejected
    # action: the command was approved and ran (agents/outcomes.py).
    # Killed while its last step wrote the footer, the run had ended in the database: DBOS
    # runs that step again, which counts no resumption of the run.
    resumed = 0 if fault == "before_stream_stop:2" else 1
    assert [tuple(r) for r in runs] == [("succeeded", resumed)]
    assert history == ["user", "assistant"]
