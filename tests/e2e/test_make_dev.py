"""`make dev` (`opsbot dev`): starts, serves the page, completes the demo, stops, keeps history."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sandbox.model.scenario import load_scenario
from sandbox.model.server import start_model_server
from tests.e2e.dev_process import CHANNEL, Dev, running_dev

pytestmark = pytest.mark.e2e


def card(thread: list[dict[str, Any]], tool: str) -> dict[str, Any] | None:
    """The approval card for `tool` that still has buttons."""
    for message in thread:
        blocks = message.get("blocks") or []
        if any(b.get("type") == "actions" for b in blocks) and tool in str(blocks):
            return message
    return None


async def approve(dev: Dev, root: str, tool: str) -> None:
    """Wait for the card of `tool` and approve it as the incident lead."""

    async def waiting() -> dict[str, Any] | None:
        return card(await dev.thread(root), tool)

    found = await dev.until(waiting)
    action = {"user": "U0LEAD", "channel": CHANNEL, "ts": found["ts"],
              "action_id": "opsbot_approve"}  # fmt: skip
    clicked = await dev.post("/_sandbox/click", action)
    assert clicked["ok"], clicked


async def health(port: int) -> int:
    """The exit code of the container's HEALTHCHECK command against `port`."""
    check = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.health", env={**os.environ, "OPSBOT_HEALTH_PORT": str(port)},
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    return await check.wait()


async def test_make_dev_serves_the_page_completes_the_demo_and_keeps_history(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "dev"
    async with running_dev(directory) as dev:
        assert await health(dev.bot_port) == 0
        async with aiohttp.ClientSession() as session, session.get(dev.url) as page:
            assert page.status == 200
            assert "opsbot" in await page.text()
        state = await dev.get("/_sandbox/state")
        assert len(state["scenarios"]) >= 3
        assert state["banner"] == "scripted model (no API key)"
        prompt = next(s["prompt"] for s in state["scenarios"] if s["name"] == "payments-timeout")
        posted = await dev.post("/_sandbox/post", {"user": "U0ONCALL", "channel": CHANNEL,
                                                   "text": f"<@U0BOT> {prompt}"})  # fmt: skip
        root = posted["ts"]
        await approve(dev, root, "write_file")
        await approve(dev, root, "shell_execute")

        async def finished() -> list[dict[str, Any]] | None:
            runs = (await dev.get("/_sandbox/runs", thread=f"T0SANDBOX:{CHANNEL}:{root}"))["runs"]
            done = runs and runs[0]["status"] == "succeeded"
            return runs if done and runs[0]["steps"][-1]["name"] == "finish_turn" else None

        runs = await dev.until(finished)
        assert {"begin_turn", "route", "tool_exec", "finish_turn"} <= {
            s["name"] for s in runs[0]["steps"]
        }
        assert len(runs[0]["trace_id"]) == 32
        texts = " ".join(m["text"] for m in await dev.thread(root))
        assert "Fixed." in texts
    assert await health(dev.bot_port) == 1, "stopped means unhealthy"
    assert '"timeout_ms": 5000' in (directory / "workspace/payments/config.json").read_text()

    async with running_dev(directory) as again:
        kept = await again.thread(root)
        assert "Fixed." in " ".join(m["text"] for m in kept), "the page keeps its messages"
        runs = (await again.get("/_sandbox/runs", thread=f"T0SANDBOX:{CHANNEL}:{root}"))["runs"]
        assert [r["status"] for r in runs] == ["succeeded"], "the bot keeps its history"


async def test_with_an_api_key_make_dev_uses_that_model_and_says_so(tmp_path: Path) -> None:
    api = await start_model_server(load_scenario("checkout-500"))  # stands in for the real API
    try:
        key = {"ANTHROPIC_API_KEY": "sk-test-live", "ANTHROPIC_BASE_URL": api.url}
        async with running_dev(tmp_path / "dev", env=key) as dev:
            state = await dev.get("/_sandbox/state")
            assert state["banner"] == "live model: claude-sonnet-4-6"
            with socket.socket() as probe:
                assert probe.connect_ex(("127.0.0.1", dev.model_port)) != 0, "no scripted model"
            mention = {"user": "U0ONCALL", "channel": CHANNEL,
                       "text": "<@U0BOT> checkout is returning 500s"}  # fmt: skip
            posted = await dev.post("/_sandbox/post", mention)

            async def routed() -> bool:
                return "log_analyzer" in str(await dev.thread(posted["ts"]))

            await dev.until(routed)
        assert api.state.served > 0, "the bot asked the model it was given"
    finally:
        await api.stop()
