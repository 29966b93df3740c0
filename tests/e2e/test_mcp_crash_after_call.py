"""kill -9 after an approved MCP call reached the server and before opsbot recorded its
result: the call is never re-run blindly. The new process asks again with a card that says
the outcome is unknown; rejecting it leaves the server with exactly the one call."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_crash_matrix import final, serve
from tests.e2e.test_mcp_durable import World, _stop, _text, _tool_calls, coding_world, mcp_env
from tests.mcp_servers.running import read_calls
from tests.slackbot import CHANNEL, card_with, reject_with_reason, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
__all__ = ["coding_world"]  # the fixture, used by name


def _deleted(calls: Path) -> list[dict[str, Any]]:
    return [c for c in read_calls(calls) if c["tool"] == "delete_pod"]


@pytest.mark.parametrize("second_answer", ["opsbot_reject", "opsbot_approve"])
async def test_an_mcp_call_cut_off_by_a_kill_is_asked_about_again_not_rerun(
    database_url: str, coding_world: World, tmp_path: Path, second_answer: str
) -> None:
    slack, model, workspace = coding_world
    sandbox = slack.sandbox
    env, calls = mcp_env(tmp_path)
    first = await serve(slack, model, workspace, database_url, "after_mcp_answer", extra_env=env)
    root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> delete the stuck pod api-7d9f")
    card = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "delete_pod"), 60)
    await sandbox.click("U0LEAD", CHANNEL, card["ts"], "opsbot_approve")
    await asyncio.wait_for(first.wait(), 60)
    assert first.returncode == -signal.SIGKILL, "the fault point after the answer never fired"
    assert len(_deleted(calls)) == 1, "the server acted once before the kill"

    second = await serve(slack, model, workspace, database_url, None, extra_env=env)
    try:
        again = await wait_for(
            sandbox, lambda: [c for c in [card_with(sandbox, root.ts, "outcome is unknown")]
                              if c and c["ts"] != card["ts"]], 60)  # fmt: skip
        assert len(_deleted(calls)) == 1, "not re-run before a person answered"
        if second_answer == "opsbot_reject":
            await reject_with_reason(sandbox, "U0LEAD", again[0]["ts"], "it already ran")
        else:
            await sandbox.click("U0LEAD", CHANNEL, again[0]["ts"], second_answer)
        await wait_for(sandbox, lambda: final(sandbox, root.ts), 60)
        await asyncio.sleep(1.0)
    finally:
        await _stop(second)
    expected = 1 if second_answer == "opsbot_reject" else 2
    assert len(_deleted(calls)) == expected, "the person's second answer decided, once"
    assert "outcome is unknown" in _text(sandbox, root.ts)
    status = _tool_calls(database_url)["mcp__ops__delete_pod"][0]
    assert status == ("rejected" if second_answer == "opsbot_reject" else "ok")
