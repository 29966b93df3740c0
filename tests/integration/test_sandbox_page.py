"""The local page's server side: files, state, live updates, the run panel's proxy, history."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from sandbox.slack import persist
from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.model import default_workspace
from sandbox.slack.server import SandboxConfig

CHANNEL = "C0INCIDENTS"


@pytest.fixture
async def slack() -> AsyncIterator[RunningSlack]:
    running = await start_slack(SandboxConfig(banner="scripted model"))
    yield running
    await running.stop()


async def test_the_page_and_its_files_are_served(slack: RunningSlack) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(slack.url + "/") as page:
            assert page.status == 200
            assert "/static/app.js" in await page.text()
        for name in ("app.js", "style.css"):
            async with session.get(f"{slack.url}/static/{name}") as file:
                assert file.status == 200, name
        async with session.get(slack.url + "/static/../server.py") as escape:
            assert escape.status in (403, 404)


async def test_state_shows_a_thread_and_only_my_ephemeral_messages(slack: RunningSlack) -> None:
    sandbox = slack.sandbox
    root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> help")
    await sandbox.post_as("U0LEAD", CHANNEL, "on it", thread_ts=root.ts)
    await sandbox.api.chat_post_ephemeral({"channel": CHANNEL, "user": "U0LEAD", "text": "psst"})
    async with aiohttp.ClientSession() as session:
        params = {"channel": CHANNEL, "thread": root.ts, "user": "U0ONCALL"}
        async with session.get(slack.url + "/_sandbox/state", params=params) as answer:
            state = await answer.json()
    assert state["banner"] == "scripted model"
    assert [m["text"] for m in state["messages"]] == ["<@U0BOT> help"]
    assert state["messages"][0]["reply_count"] == 1
    assert [m["text"] for m in state["thread"]] == ["<@U0BOT> help", "on it"]
    assert state["ephemeral"] == [], "another person's ephemeral message is not mine"
    assert {u["id"] for u in state["users"]} >= {"U0BOT", "U0ONCALL", "U0LEAD", "U0VIEWER"}


async def test_live_updates_announce_each_change(slack: RunningSlack) -> None:
    async with aiohttp.ClientSession() as session, session.get(
        slack.url + "/_sandbox/live"
    ) as live:  # fmt: skip
        assert live.headers["Content-Type"].startswith("text/event-stream")
        assert (await live.content.readline()).startswith(b"data: changed")
        await live.content.readline()
        await slack.sandbox.post_as("U0ONCALL", CHANNEL, "anything new?")
        line = await asyncio.wait_for(live.content.readline(), 5)
        assert line.startswith(b"data: changed")


async def test_the_run_panel_says_when_the_app_is_not_there(
    slack: RunningSlack, unused_tcp_port: int
) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(slack.url + "/_sandbox/runs", params={"thread": "T:C:1"}) as off:
            assert off.status == 404
            assert (await off.json())["error"] == "no_runs_url"
        slack.sandbox.config.app_runs_url = f"http://127.0.0.1:{unused_tcp_port}/runs"
        async with session.get(slack.url + "/_sandbox/runs", params={"thread": "T:C:1"}) as down:
            assert down.status == 502
            assert (await down.json())["error"].startswith("app unreachable")


async def test_the_run_panel_relays_the_apps_answer(
    slack: RunningSlack, unused_tcp_port: int
) -> None:
    async def runs(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "runs": [{"thread": request.query["thread"]}]})

    app = web.Application()
    app.router.add_get("/runs", runs)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    slack.sandbox.config.app_runs_url = f"http://127.0.0.1:{unused_tcp_port}/runs"
    try:
        async with aiohttp.ClientSession() as session, session.get(
            slack.url + "/_sandbox/runs", params={"thread": "T:C:1"}
        ) as answer:  # fmt: skip
            assert await answer.json() == {"ok": True, "runs": [{"thread": "T:C:1"}]}
    finally:
        await runner.cleanup()


async def test_messages_survive_a_restart_and_streams_do_not(
    slack: RunningSlack, tmp_path: Path
) -> None:
    sandbox = slack.sandbox
    root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> disk is full")
    stream = await sandbox.api.chat_start_stream({"channel": CHANNEL, "thread_ts": root.ts,
                                                  "markdown_text": "Looking",
                                                  "recipient_user_id": "U0ONCALL",
                                                  "recipient_team_id": "T0SANDBOX"})  # fmt: skip
    state = tmp_path / "slack.json"
    persist.save(sandbox.workspace, state)
    fresh = default_workspace()
    assert persist.load(fresh, state) == 2
    kept = fresh.thread(CHANNEL, root.ts)
    assert [m.visible_text() for m in kept] == ["<@U0BOT> disk is full", "Looking"]
    assert not any(m.streaming for m in kept)
    assert kept[1].ts == stream["ts"]
    assert json.loads(state.read_text())["C0GENERAL"] == []
    assert persist.load(default_workspace(), tmp_path / "missing.json") == 0
