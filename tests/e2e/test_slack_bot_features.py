"""Reject with a reason, /opsbot status|cancel|help, App Home, stream expiry and fallback, serve."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from pathlib import Path

import pytest

from bot.blocks import HELP
from sandbox.model.scenario import load_scenario
from sandbox.model.server import RunningModelServer, start_model_server
from sandbox.slack.app import start_slack
from sandbox.slack.server import SandboxConfig, SlackSandbox
from tests.e2e.test_slack_bot_edges import final_of, runs
from tests.slackbot import CHANNEL, card_with, running_bot, thread, wait_for
from tests.support import scripted

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


async def command(sandbox: SlackSandbox, user: str, text: str) -> str:
    before = len(sandbox.ephemeral_for(user))
    await sandbox.command(user, CHANNEL, "/opsbot", text)
    notes = await wait_for(
        sandbox, lambda: len(sandbox.ephemeral_for(user)) > before and sandbox.ephemeral_for(user)
    )
    return str(notes[-1]["blocks"] or notes[-1]["text"])


async def status_once_checkpointed(sandbox: SlackSandbox, run_id: str, step: str) -> str:
    """`/opsbot status RUN` once DBOS has checkpointed `step`.

    A step is listed when it completes, and the card is posted from inside its step, so
    a status asked the moment the card appears may not list that step yet.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    detail = await command(sandbox, "U0ONCALL", f"status {run_id}")
    while step not in detail and loop.time() < deadline:
        await asyncio.sleep(0.2)
        detail = await command(sandbox, "U0ONCALL", f"status {run_id}")
    return detail


async def test_a_rejection_reason_from_the_modal_reaches_the_model(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    async with running_bot(database_url, workspace, model_server.url) as slack:
        sandbox = slack.sandbox
        root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout is returning 500s")
        card = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "write_file"))
        await sandbox.click("U0LEAD", CHANNEL, card["ts"], "opsbot_reject")
        modal = await wait_for(
            sandbox,
            lambda: next(
                (
                    v["view"]
                    for v in sandbox.workspace.views
                    if v["view"].get("callback_id") == "opsbot_reject_reason"
                ),
                None,
            ),
        )
        await sandbox.submit_view(
            "U0LEAD", modal["id"], {"reason": {"reason": "return a 400 instead"}}
        )
        # the script follows the rejection: no further card, an answer saying what did not happen
        await wait_for(sandbox, lambda: "Not fixed." in str(thread(sandbox, root.ts)), 60)
        assert card_with(sandbox, root.ts, "shell_execute") is None
        decided = next(m for m in thread(sandbox, root.ts) if m["ts"] == card["ts"])
    assert "Rejected by <@U0LEAD>" in str(decided["blocks"])
    assert "return a 400 instead" in str(decided["blocks"])
    told = json.dumps([r["messages"][-1] for r in model_server.state.requests])
    assert "Rejected by <@U0LEAD>: return a 400 instead" in told
    assert "DISCOUNTS[code.upper()]" in (workspace / "checkout/pricing.py").read_text()


async def test_status_help_cancel_and_app_home(database_url: str, workspace: Path) -> None:
    scenario = load_scenario("checkout-500")
    server = await start_model_server(
        scenario.__class__(**{**scenario.__dict__, "latency_ms": 1500})
    )
    try:
        async with running_bot(database_url, workspace, server.url) as slack:
            sandbox = slack.sandbox
            root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout is returning 500s")
            run_id = f"T0SANDBOX:{CHANNEL}:{root.ts}"
            await wait_for(sandbox, lambda: runs(database_url))
            running = await command(sandbox, "U0ONCALL", "status")
            assert "*Running*" in running
            assert run_id in running.split("*Waiting")[0]
            assert HELP in await command(sandbox, "U0ONCALL", "help")
            await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "write_file"), 60)
            detail = await status_once_checkpointed(sandbox, run_id, "request_approval")
            for label in ("turn starts", "approval card posted", "model answers"):
                assert label in detail, "steps in words (agents/run_steps.py)"
            for name in ("begin_turn", "request_approval", "llm_call"):
                assert name not in detail, "no internal step names"
            link = f"<https://sandbox.slack.com/archives/{CHANNEL}/p{root.ts.replace('.', '')}>"
            assert run_id in await command(sandbox, "U0ONCALL", f"status {link}")
            elsewhere = f"https://sandbox.slack.com/archives/{CHANNEL}/p1700000000000100"
            assert "No run in that thread" in await command(
                sandbox, "U0ONCALL", f"status {elsewhere}"
            )
            assert "can't read" in await command(sandbox, "U0ONCALL", "status yesterday")
            await sandbox.open_home("U0LEAD")
            home = await wait_for(
                sandbox,
                lambda: [v for v in sandbox.workspace.views if v.get("user_id") == "U0LEAD"],
            )
            assert "Waiting for your approval" in str(home[-1])
            assert "write_file" in str(home[-1])
            assert "Only approvers" in await command(sandbox, "U0VIEWER", f"cancel {run_id}")
            assert "cancelled" in await command(sandbox, "U0LEAD", f"cancel {run_id}")
            await asyncio.sleep(1.0)
            finished = await command(sandbox, "U0ONCALL", "status")
    finally:
        await server.stop()
    assert [r.status for r in runs(database_url)] == ["cancelled"]
    assert "cancelled" in finished.split("*Finished*")[1]
    assert "DISCOUNTS[code.upper()]" in (workspace / "checkout/pricing.py").read_text()


LONG = [
    {
        "match": ".*",
        "router": [{"agent": "log_analyzer", "reason": "look"}],
        "log_analyzer": [{"text": "word " * 40 + "THE END"}],
    }
]


def without_hop(text: str) -> str:
    """The text without the routed line that opens a run's first live message."""
    return re.sub(r"^\s*:compass: \*[a-z_]+\* — [^\n]*\n", "", text)


async def test_an_expired_stream_is_finished_and_continued_in_a_new_message(
    database_url: str, workspace: Path
) -> None:
    server = await start_model_server(scripted(LONG, tokens_per_second=15))
    config = SandboxConfig(stream_idle_s=0.3)
    try:
        async with running_bot(database_url, workspace, server.url, sandbox_config=config) as slack:
            sandbox = slack.sandbox
            root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> talk slowly")
            await wait_for(sandbox, lambda: final_of(sandbox, root.ts))
    finally:
        await server.stop()
    errors = [c for c in sandbox.calls if c["error"] == "message_not_in_streaming_state"]
    assert errors, "the stream was meant to expire"
    live = thread(sandbox, root.ts)[1:]  # the hop's line opens the first stream
    assert len(live) >= 2
    assert not any(m["streaming"] for m in thread(sandbox, root.ts))
    words = without_hop("".join(m["text"] for m in live))
    assert words.split() == ("word " * 40 + "THE END").split(), "the answer is shown once"
    assert final_of(sandbox, root.ts)["ts"] == live[-1]["ts"], "the footer closes the last stream"


async def test_without_streaming_methods_it_posts_and_updates(
    database_url: str, workspace: Path
) -> None:
    server = await start_model_server(scripted(LONG, tokens_per_second=200))
    config = SandboxConfig(streaming_methods=False)
    try:
        async with running_bot(database_url, workspace, server.url, sandbox_config=config) as slack:
            sandbox = slack.sandbox
            root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> no streams here")
            await wait_for(sandbox, lambda: final_of(sandbox, root.ts))
    finally:
        await server.stop()
    live = thread(sandbox, root.ts)[1]  # the hop's line opens it: streams were not known gone
    assert without_hop(live["text"]).split() == ("word " * 40 + "THE END").split()
    assert "THE END" not in final_of(sandbox, root.ts)["text"], "the answer is shown once"
    assert not [c for c in sandbox.calls if c["method"].endswith("Stream") and c["ok"]]


async def test_opsbot_serve_says_who_it_is_or_one_clear_error(tmp_path: Path) -> None:
    slack = await start_slack(SandboxConfig())
    space = slack.sandbox.workspace
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("OPSBOT_", "SLACK_", "ANTHROPIC_"))
    }
    env.update(
        {
            "SLACK_APP_TOKEN": space.app_token,
            "OPSBOT_SLACK_API_URL": slack.api_url,
            "ANTHROPIC_API_KEY": "sk-test",
            "OPSBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'o.sqlite'}",
            "OPSBOT_WORKSPACE": str(tmp_path),
            "PYTHONUNBUFFERED": "1",
        }
    )

    async def serve(token: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "serve",
            cwd=ROOT,
            env={**env, "SLACK_BOT_TOKEN": token},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

    try:
        bad = await serve("xoxb-wrong")
        _, err = await asyncio.wait_for(bad.communicate(), 60)
        good = await serve(space.bot_token)
        assert good.stdout is not None
        line = (await asyncio.wait_for(good.stdout.readline(), 60)).decode()
        good.send_signal(signal.SIGTERM)
        _, good_err = await asyncio.wait_for(good.communicate(), 30)
    finally:
        await slack.stop()
    assert bad.returncode == 2
    assert (
        err.decode().strip()
        == "configuration error: SLACK_BOT_TOKEN: Slack refused it (invalid_auth)"
    )
    assert line.startswith("opsbot is @opsbot (U0BOT) in opsbot sandbox (T0SANDBOX), Socket Mode")
    assert good.returncode == 0
    assert "will be unused" not in good_err.decode(), "no notice about Bolt's own token lookup"
