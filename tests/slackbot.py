"""Helpers for end-to-end tests of the Slack bot against the local Slack workspace."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bot.serve import run_until_stopped
from sandbox.slack import payloads
from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.server import SandboxConfig, SlackSandbox
from tests.support import make_settings

CHANNEL = "C0INCIDENTS"


@contextlib.asynccontextmanager
async def running_bot(
    database_url: str, workspace: Path, model_url: str, *, http_port: int | None = None,
    sandbox_config: SandboxConfig | None = None, **settings: Any,
) -> AsyncIterator[RunningSlack]:  # fmt: skip
    """The local workspace and `opsbot serve` (Socket Mode, or HTTP on `http_port`)."""
    config = sandbox_config or SandboxConfig()
    if http_port is not None:
        config.deliver = f"http://127.0.0.1:{http_port}/slack/events"
    slack = await start_slack(config)
    space = slack.sandbox.workspace
    values: dict[str, Any] = {
        "slack_bot_token": space.bot_token, "slack_signing_secret": space.signing_secret,
        "slack_api_url": slack.api_url, "approvers": ["S0ONCALL"],
        "slack_app_token": space.app_token if http_port is None else None,
        "http_port": http_port or 3000, **settings,
    }  # fmt: skip
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_until_stopped(make_settings(database_url, workspace, model_url, **values), stop)
    )
    try:
        await wait_ready(slack.sandbox, task, http_port)
        yield slack
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await slack.stop()


async def wait_ready(
    sandbox: SlackSandbox, task: asyncio.Task[None], http_port: int | None
) -> None:
    """Until the bot is connected (Socket Mode) or its HTTP port answers."""
    import aiohttp

    for _ in range(200):
        if task.done():
            task.result()
            raise AssertionError("the bot stopped during start")
        if http_port is None:
            if getattr(sandbox.delivery, "connections", None):
                return
        else:
            with contextlib.suppress(aiohttp.ClientError):
                async with (
                    aiohttp.ClientSession() as http,
                    http.get(f"http://127.0.0.1:{http_port}/healthz") as response,
                ):
                    if response.status == 200:
                        return
        await asyncio.sleep(0.05)
    raise AssertionError("the bot did not become ready")


def thread(sandbox: SlackSandbox, root_ts: str) -> list[dict[str, Any]]:
    """The thread as a person sees it."""
    return sandbox.rendered_thread(CHANNEL, root_ts)


def card_with(sandbox: SlackSandbox, root_ts: str, text: str) -> dict[str, Any] | None:
    """The approval card whose blocks mention `text` and still have buttons."""
    for message in thread(sandbox, root_ts):
        blocks = message.get("blocks") or []
        if any(b.get("type") == "actions" for b in blocks) and text in str(blocks):
            return message
    return None


async def wait_for(sandbox: SlackSandbox, condition: Any, timeout_s: float = 30.0) -> Any:
    """Poll `condition()` until it returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        value = condition()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting; thread state: {sandbox.calls[-5:]}")


async def reject_with_reason(
    sandbox: SlackSandbox, user: str, card_ts: str, reason: str, channel: str = CHANNEL
) -> None:
    """Click a card's Reject as `user`, then submit `reason` in the reason form it opens."""
    await sandbox.click(user, channel, card_ts, "opsbot_reject")
    modal = await wait_for(sandbox, lambda: [
        v["view"] for v in sandbox.workspace.views
        if v["view"].get("callback_id") == "opsbot_reject_reason"])  # fmt: skip
    await sandbox.submit_view(user, modal[-1]["id"], {"reason": {"reason": reason}})


def forge_click(sandbox: SlackSandbox, user: str, ts: str, approval_id: str) -> None:
    """Deliver a click on the message at `ts` from a made-up button carrying `approval_id`."""
    message = sandbox.workspace.find_message(CHANNEL, ts)
    assert message is not None
    button = {"type": "button", "action_id": "opsbot_approve", "value": approval_id,
              "text": {"type": "plain_text", "text": "Approve"}}  # fmt: skip
    sandbox.delivery.interactive(
        payloads.block_actions(
            sandbox.workspace,
            sandbox.workspace.users[user],
            message,
            button,
            "x",
            "http://127.0.0.1:9/none",
            "t",
        )
    )
