"""The local workspace enforces Slack's limits and required arguments with Slack's answers,
spoken to by the unmodified slack_sdk client (sandbox/slack/limits.py)."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack.app import RunningSlack

CHANNEL = "C0INCIDENTS"
RECIPIENT: dict[str, Any] = {"recipient_team_id": "T0SANDBOX", "recipient_user_id": "U0ONCALL"}


@pytest.fixture
def slack(unlimited_slack: RunningSlack) -> RunningSlack:
    return unlimited_slack


@pytest.fixture
def client(bot_client: AsyncWebClient) -> AsyncWebClient:
    return bot_client


async def _root(slack: RunningSlack) -> str:
    return (await slack.sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> help")).ts


async def _refused(call: Any) -> str:
    with pytest.raises(SlackApiError) as raised:
        await call
    return str(raised.value.response["error"])


@pytest.mark.parametrize(
    ("missing", "error"),
    [
        ("recipient_user_id", "missing_recipient_user_id"),
        ("recipient_team_id", "missing_recipient_team_id"),
        ("both", "missing_recipient_user_id"),
    ],
)
async def test_a_channel_stream_needs_its_recipient(
    slack: RunningSlack, client: AsyncWebClient, missing: str, error: str
) -> None:
    root = await _root(slack)
    arguments = {k: v for k, v in RECIPIENT.items() if missing not in (k, "both")}
    call = client.chat_startStream(channel=CHANNEL, thread_ts=root, markdown_text="hi",
                                   **arguments)  # fmt: skip
    assert await _refused(call) == error
    assert slack.sandbox.api.violations.seen[-1]["code"] == error


async def test_stream_calls_carry_at_most_12000_characters(
    slack: RunningSlack, client: AsyncWebClient
) -> None:
    root = await _root(slack)
    too_long = "x" * 12_001
    call = client.chat_startStream(channel=CHANNEL, thread_ts=root, markdown_text=too_long,
                                   **RECIPIENT)  # fmt: skip
    assert await _refused(call) == "msg_too_long"
    started = await client.chat_startStream(channel=CHANNEL, thread_ts=root,
                                            markdown_text="x" * 12_000, **RECIPIENT)  # fmt: skip
    append = client.chat_appendStream(channel=CHANNEL, ts=started["ts"], markdown_text=too_long)
    assert await _refused(append) == "msg_too_long"
    chunks = [{"type": "markdown_text", "text": "y" * 6_001}] * 2
    append = client.chat_appendStream(channel=CHANNEL, ts=started["ts"], chunks=chunks)
    assert await _refused(append) == "msg_too_long"
    stop = client.chat_stopStream(channel=CHANNEL, ts=started["ts"], markdown_text=too_long)
    assert await _refused(stop) == "msg_too_long"
    await client.chat_stopStream(channel=CHANNEL, ts=started["ts"])
    assert len(slack.sandbox.api.violations.seen) == 4


async def test_a_posted_text_past_40000_characters_is_truncated_with_a_warning(
    slack: RunningSlack, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel=CHANNEL, text="z" * 40_001)
    assert posted["response_metadata"]["warnings"] == ["message_truncated"]
    message = slack.sandbox.workspace.find_message(CHANNEL, posted["ts"])
    assert message is not None
    assert len(message.text) == 40_000
    fits = await client.chat_postMessage(channel=CHANNEL, text="z" * 40_000)
    assert "response_metadata" not in fits.data or not fits["response_metadata"].get("warnings")
    update = client.chat_update(channel=CHANNEL, ts=fits["ts"], text="z" * 40_001)
    assert await _refused(update) == "msg_too_long"
    kinds = [(v["method"], v["code"]) for v in slack.sandbox.api.violations.seen]
    assert kinds == [("chat.postMessage", "message_truncated"), ("chat.update", "msg_too_long")]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.mark.parametrize(
    ("blocks", "error"),
    [
        ([_section("row")] * 51, "invalid_blocks"),  # 50 blocks per message
        ([_section("s" * 3_001)], "invalid_blocks"),  # 3,000 per section text
        ([{"type": "markdown", "text": "m" * 6_001}] * 2, "msg_blocks_too_long"),
        ([{"type": "markdown", "text": "m" * 12_001}], "invalid_blocks"),
    ],
)
async def test_blocks_beyond_slacks_limits_are_refused(
    client: AsyncWebClient, blocks: list[dict[str, Any]], error: str
) -> None:
    call = client.chat_postMessage(channel=CHANNEL, text="fallback", blocks=blocks)
    assert await _refused(call) == error


async def test_app_home_holds_100_blocks_and_not_one_more(client: AsyncWebClient) -> None:
    view = {"type": "home", "blocks": [_section("row")] * 100}
    await client.views_publish(user_id="U0ONCALL", view=view)
    view["blocks"] = [_section("row")] * 101
    assert await _refused(client.views_publish(user_id="U0ONCALL", view=view)) == "invalid_blocks"


async def test_appending_and_stopping_need_the_message(
    slack: RunningSlack, client: AsyncWebClient
) -> None:
    await _root(slack)
    append: Any = client.api_call("chat.appendStream", json={"channel": CHANNEL})
    assert await _refused(append) == "invalid_arguments"
    update: Any = client.api_call("chat.update", json={"channel": CHANNEL, "text": "x"})
    assert await _refused(update) == "invalid_arguments"


async def test_a_rate_limit_can_be_forced_with_its_retry_after(
    slack: RunningSlack, client: AsyncWebClient
) -> None:
    root = await _root(slack)
    slack.sandbox.limiter.refuse_next("chat.startStream", retry_after=8)
    with pytest.raises(SlackApiError) as raised:
        await client.chat_startStream(channel=CHANNEL, thread_ts=root, markdown_text="x",
                                      **RECIPIENT)  # fmt: skip
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "8"
    await client.chat_startStream(channel=CHANNEL, thread_ts=root, markdown_text="x", **RECIPIENT)
