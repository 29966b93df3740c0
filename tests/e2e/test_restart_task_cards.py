"""`opsbot serve` is killed (SIGKILL) while a tool call's task card shows `in_progress` in
its stream; the next process stops that leftover stream with the card ended `error`, saying
what the resumed run does with the call:

- a read-only call (an MCP tool allowed to run at once) runs again: "it runs again", and its
  new card ends `complete` in the resumed run's stream;
- an approved call is not run again (its outcome is unknown, agents/tool_steps.py): "not run
  again (its outcome is unknown)", and the resumed run asks about it with a new card.

Real processes, the local workspace, the scripted model, an MCP server over stdio, SQLite.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.task_cards import NOT_RUN_AGAIN, RUNS_AGAIN
from sandbox.slack.server import SlackSandbox
from tests.e2e.test_crash_matrix import counter_world, final, serve
from tests.e2e.test_mcp_durable import _stop
from tests.mcp_servers.running import read_calls, server_args
from tests.slack_runs import task_cards
from tests.slackbot import CHANNEL, card_with, reject_with_reason, thread, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
ROOT = Path(__file__).resolve().parents[2]
SLOW = {"name": "mcp__ops__slow", "input": {"seconds": 5}}
SCRIPT: list[dict[str, Any]] = [
    {"match": ".*", "router": [{"agent": "coding", "reason": "wait for the slow check"}],
     "coding": [
         {"text": "Running the slow check.", "tool_calls": [SLOW],
          "if_rejected": [{"text": "The slow check was not run again."}]},
         {"text": "The slow check is done."}]},
]  # fmt: skip


def _env(tmp_path: Path, approve: bool) -> tuple[dict[str, str], Path]:
    """OPSBOT_MCP_CONFIG for the ops server, its `slow` tool allowed at once or approved."""
    calls = tmp_path / "mcp-calls.jsonl"
    rule = {"approve": ["slow"]} if approve else {"allow": ["slow"]}
    config = {"mcpServers": {"ops": {"command": sys.executable, "args": server_args(calls),
                                     "cwd": str(ROOT), **rule}}}  # fmt: skip
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps(config))
    return {"OPSBOT_MCP_CONFIG": str(path)}, calls


def _slow_cards(sandbox: SlackSandbox, root_ts: str) -> list[tuple[str, dict[str, Any]]]:
    """(message ts, card) of every `slow` card of the thread, in order."""
    return [(m["ts"], c) for m in thread(sandbox, root_ts) for c in task_cards([m])
            if c["title"].startswith("mcp__ops__slow")]  # fmt: skip


@pytest.mark.parametrize("approve", [False, True], ids=["read-runs-again", "approved-not-again"])
async def test_a_card_running_when_the_process_died_ends_in_its_stream_at_the_next_start(
    database_url: str, tmp_path: Path, approve: bool
) -> None:
    async with counter_world(tmp_path, SCRIPT) as (slack, model, workspace):
        sandbox = slack.sandbox
        env, calls = _env(tmp_path, approve)
        first = await serve(slack, model, workspace, database_url, None, extra_env=env)
        try:
            root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> run the slow check")
            if approve:
                card = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "slow"), 60)
                await sandbox.click("U0LEAD", CHANNEL, card["ts"], "opsbot_approve")
            await wait_for(sandbox, lambda: [c for _, c in _slow_cards(sandbox, root.ts)
                                             if c["status"] == "in_progress"], 60)  # fmt: skip
        finally:
            first.send_signal(signal.SIGKILL)
            await asyncio.wait_for(first.wait(), 30)
        [(stream_ts, _)] = _slow_cards(sandbox, root.ts)
        second = await serve(slack, model, workspace, database_url, None, extra_env=env)
        try:
            if approve:
                again = await wait_for(
                    sandbox, lambda: card_with(sandbox, root.ts, "outcome is unknown"), 60
                )
                await reject_with_reason(sandbox, "U0LEAD", again["ts"], "it already ran")
            await wait_for(sandbox, lambda: final(sandbox, root.ts), 60)
            await asyncio.sleep(1.0)
        finally:
            await _stop(second)
        shown = thread(sandbox, root.ts)

    assert [c for c in task_cards(shown) if c["status"] == "in_progress"] == [], task_cards(shown)
    assert not [m for m in shown if m.get("streaming")]
    cards = _slow_cards(sandbox, root.ts)
    left = [c for ts, c in cards if ts == stream_ts]
    assert [(c["status"], c.get("output")) for c in left] == [
        ("error", NOT_RUN_AGAIN if approve else RUNS_AGAIN)]  # fmt: skip
    ran = [c for c in read_calls(calls) if c["tool"] == "slow"]
    if approve:
        assert len(ran) == 1, "an approved call is not run again"
    else:
        assert len(ran) == 2, "a read-only call runs again"
        assert [c["status"] for ts, c in cards if ts != stream_ts] == ["complete"]
