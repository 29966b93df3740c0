"""The local workspace refuses a channel stream whose `recipient_team_id` is not the team of
its `recipient_user_id` (chat.startStream: "The ID of the team that is associated with
recipient_user_id"), spoken to by the unmodified slack_sdk client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.model import Channel, User
from sandbox.slack.server import SandboxConfig

SHARED = "C0SHARED"
PARTNERS = [User("U0PARTNER", "pat", "Pat Partner", team_id="T0PARTNER"),
            User("U0VENDOR", "vic", "Vic Vendor", team_id="T0VENDOR")]  # fmt: skip


@pytest.fixture
async def slack() -> AsyncIterator[RunningSlack]:
    running = await start_slack(SandboxConfig(rate_limits=False))
    space = running.sandbox.workspace
    space.channels[SHARED] = Channel(SHARED, "acme-incidents", {"U0BOT", "U0ONCALL"})
    for partner in PARTNERS:
        space.add_partner(partner, SHARED)
    yield running
    await running.stop()


@pytest.fixture
async def client(slack: RunningSlack) -> AsyncIterator[AsyncWebClient]:
    web = AsyncWebClient(token=slack.sandbox.workspace.bot_token, base_url=slack.api_url)
    yield web
    if web.session is not None:
        await web.session.close()


async def _start(slack: RunningSlack, client: AsyncWebClient, user: str, team: str) -> str:
    root = await slack.sandbox.post_as("U0ONCALL", SHARED, "<@U0BOT> help")
    started = await client.chat_startStream(
        channel=SHARED, thread_ts=root.ts, markdown_text="hi", recipient_user_id=user,
        recipient_team_id=team,
    )  # fmt: skip
    return str(started["ts"])


@pytest.mark.parametrize(
    ("user", "team"),
    [
        ("U0PARTNER", "T0SANDBOX"),  # a partner addressed as the installation's
        ("U0ONCALL", "T0PARTNER"),  # a host user addressed as a partner's
        ("U0PARTNER", "T0VENDOR"),  # a partner addressed as another partner's
        ("U0NOBODY", "T0PARTNER"),  # an unknown user belongs to no partner team
    ],
)
async def test_a_stream_to_a_user_of_another_team_is_refused(
    slack: RunningSlack, client: AsyncWebClient, user: str, team: str
) -> None:
    with pytest.raises(SlackApiError) as raised:
        await _start(slack, client, user, team)
    assert raised.value.response["error"] == "invalid_arguments"
    assert slack.sandbox.api.violations.seen[-1]["code"] == "invalid_arguments"


@pytest.mark.parametrize(
    ("user", "team"),
    [("U0PARTNER", "T0PARTNER"), ("U0VENDOR", "T0VENDOR"), ("U0ONCALL", "T0SANDBOX")],
)
async def test_a_stream_to_a_user_of_their_own_team_is_taken(
    slack: RunningSlack, client: AsyncWebClient, user: str, team: str
) -> None:
    assert await _start(slack, client, user, team)
    assert slack.sandbox.api.violations.seen == []
