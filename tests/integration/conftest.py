"""Fixtures of the integration tests that talk to the local Slack workspace directly."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.server import SandboxConfig


@pytest.fixture
async def unlimited_slack() -> AsyncIterator[RunningSlack]:
    """The local workspace with its rate limits off (its size and argument checks stay on)."""
    running = await start_slack(SandboxConfig(rate_limits=False))
    yield running
    await running.stop()


@pytest.fixture
async def bot_client(unlimited_slack: RunningSlack) -> AsyncIterator[AsyncWebClient]:
    """slack_sdk's real client with the bot's token, pointed at `unlimited_slack`."""
    space = unlimited_slack.sandbox.workspace
    web = AsyncWebClient(token=space.bot_token, base_url=unlimited_slack.api_url)
    yield web
    if web.session is not None:
        await web.session.close()
