"""What a thread shows of a run, read back after a restart (bot/shown_text.py), from the local
workspace through the unmodified slack_sdk client: only this bot's messages after the run's
request, Slack's escapes undone, markdown blocks included."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.answer import unshown_part
from bot.shown_text import bot_identity, thread_shown
from bot.writer import SlackWriter
from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.others import DATADOG, post_as_app
from sandbox.slack.server import SandboxConfig

CHANNEL = "C0INCIDENTS"
FINDING = "Root cause found. Since checkout 4.2.0 every POST /checkout fails."


@pytest.fixture
async def slack() -> AsyncIterator[RunningSlack]:
    running = await start_slack(SandboxConfig(rate_limits=False))
    yield running
    await running.stop()


@pytest.fixture
async def writer(slack: RunningSlack) -> AsyncIterator[SlackWriter]:
    web = AsyncWebClient(token=slack.sandbox.workspace.bot_token, base_url=slack.api_url)
    yield SlackWriter(web, rate_scale=100.0)
    if web.session is not None:
        await web.session.close()


async def _shown(writer: SlackWriter, thread_ts: str, since_ts: str) -> str:
    identity = await bot_identity(writer)
    assert identity is not None
    return await thread_shown(writer, identity, CHANNEL, thread_ts, since_ts)


async def test_the_bots_own_messages_after_the_request_count(
    slack: RunningSlack, writer: SlackWriter
) -> None:
    sandbox = slack.sandbox
    root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout is down")
    await writer.call("chat.postMessage", channel=CHANNEL, thread_ts=root.ts,
                      text="An earlier run's answer.")  # fmt: skip
    again = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> and now?", thread_ts=root.ts)
    await writer.call("chat.postMessage", channel=CHANNEL, thread_ts=root.ts, text=FINDING)
    shown = await _shown(writer, root.ts, again.ts)
    assert FINDING in shown
    assert "earlier run" not in shown, "a message before the run's request is another run's"
    assert "and now?" not in shown, "a person's message is not the bot's"
    assert unshown_part(f"{FINDING}\n\nA new paragraph.", shown) == "A new paragraph."


async def test_a_person_or_another_app_quoting_the_answer_does_not_count(
    slack: RunningSlack, writer: SlackWriter
) -> None:
    sandbox = slack.sandbox
    root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout is down")
    await sandbox.post_as("U0ONCALL", CHANNEL, f"did you mean: {FINDING}", thread_ts=root.ts)
    await post_as_app(sandbox, DATADOG, CHANNEL, text=FINDING, thread_ts=root.ts)
    shown = await _shown(writer, root.ts, root.ts)
    assert FINDING not in shown
    assert unshown_part(FINDING, shown) == FINDING


async def test_escapes_are_undone_and_markdown_blocks_read(
    slack: RunningSlack, writer: SlackWriter
) -> None:
    sandbox = slack.sandbox
    root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> the 5xx ratio")
    ratio = "The 5xx ratio is > 5% & rising since 14:03."
    await writer.call("chat.postMessage", channel=CHANNEL, thread_ts=root.ts,
                      text=ratio.replace("&", "&amp;").replace(">", "&gt;"))  # fmt: skip
    fixed = [{"type": "markdown", "text": "**Fixed** in `pricing.py`."}]
    await writer.call("chat.postMessage", channel=CHANNEL, thread_ts=root.ts, text="fallback",
                      blocks=fixed)  # fmt: skip
    shown = await _shown(writer, root.ts, root.ts)
    assert unshown_part(f"{ratio}\n\n**Fixed** in `pricing.py`.", shown) == ""
