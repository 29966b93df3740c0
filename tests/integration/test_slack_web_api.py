"""The sandbox's Web API, spoken to by the unmodified slack_sdk clients."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.server import SandboxConfig

ROOT = Path(__file__).resolve().parents[2]
BUTTON = {
    "type": "actions", "block_id": "decide",
    "elements": [
        {"type": "button", "action_id": "approve", "style": "primary", "value": "a1",
         "text": {"type": "plain_text", "text": "Approve"}},
        {"type": "button", "action_id": "reject", "style": "danger", "value": "a1",
         "text": {"type": "plain_text", "text": "Reject"},
         "confirm": {"title": {"type": "plain_text", "text": "Reject?"},
                     "text": {"type": "mrkdwn", "text": "Nothing will run."},
                     "confirm": {"type": "plain_text", "text": "Reject"},
                     "deny": {"type": "plain_text", "text": "Cancel"}}},
    ],
}  # fmt: skip


@pytest.fixture
async def slack() -> AsyncIterator[RunningSlack]:
    running = await start_slack(SandboxConfig(rate_window_s=2.0, stream_idle_s=0.4))
    yield running
    await running.stop()


@pytest.fixture
async def client(slack: RunningSlack) -> AsyncIterator[AsyncWebClient]:
    web = AsyncWebClient(token=slack.sandbox.workspace.bot_token, base_url=slack.api_url)
    yield web
    if web.session is not None:
        await web.session.close()


async def test_auth_test_reports_the_bot_and_its_scopes(
    slack: RunningSlack, client: AsyncWebClient
) -> None:
    response = await client.auth_test()
    assert response["user_id"] == "U0BOT"
    assert response["team_id"] == "T0SANDBOX"
    assert "chat:write" in response.headers["x-oauth-scopes"]


async def test_posting_updating_and_reading_a_thread(
    slack: RunningSlack, client: AsyncWebClient
) -> None:
    root = await slack.sandbox.post_as("U0ONCALL", "C0INCIDENTS", "<@U0BOT> checkout is down")
    posted = await client.chat_postMessage(
        channel="C0INCIDENTS", thread_ts=root.ts, text="On it", blocks=[BUTTON]
    )
    await client.chat_update(channel="C0INCIDENTS", ts=posted["ts"], text="On it (updated)")
    await client.reactions_add(channel="C0INCIDENTS", timestamp=root.ts, name="eyes")
    replies = await client.conversations_replies(channel="C0INCIDENTS", ts=root.ts)
    assert [m["text"] for m in replies["messages"]] == [
        "<@U0BOT> checkout is down", "On it (updated)",
    ]  # fmt: skip
    assert replies["messages"][0]["reactions"] == [{"name": "eyes", "users": ["U0BOT"], "count": 1}]
    assert replies["messages"][1]["blocks"][0]["elements"][0]["action_id"] == "approve"
    history = await client.conversations_history(channel="C0INCIDENTS")
    assert [m["ts"] for m in history["messages"]] == [root.ts]


async def test_the_sync_client_sends_form_bodies_and_reads_the_same_state(
    slack: RunningSlack,
) -> None:
    sync = WebClient(token=slack.sandbox.workspace.bot_token, base_url=slack.api_url)
    response = await asyncio.to_thread(sync.chat_postMessage, channel="#incidents", text="hi")
    assert response["channel"] == "C0INCIDENTS"
    info = await asyncio.to_thread(sync.users_info, user="U0LEAD")
    assert info["user"]["real_name"] == "Robin Incident-lead"
    group = await asyncio.to_thread(sync.usergroups_users_list, usergroup="S0ONCALL")
    assert group["users"] == ["U0ONCALL", "U0LEAD"]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        ({"channel": "C0NOPE", "text": "x"}, "channel_not_found"),
        ({"channel": "C0INCIDENTS"}, "no_text"),
        # A text past 40,000 characters is truncated with a warning, as Slack does
        # (tests/integration/test_slack_sandbox_limits.py).
        ({"channel": "C0INCIDENTS", "text": "x",
          "blocks": [{"type": "section", "text": {"type": "rich", "text": "y"}}]},
         "invalid_blocks"),
        ({"channel": "C0INCIDENTS", "text": "x", "thread_ts": "1.000001"}, "thread_not_found"),
    ],
)  # fmt: skip
@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning")
async def test_post_message_errors_are_slacks(
    client: AsyncWebClient, call: dict[str, object], error: str
) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(**call)  # type: ignore[arg-type]
    assert raised.value.response["error"] == error


async def test_tokens_are_checked(slack: RunningSlack) -> None:
    async def error_of(token: str | None) -> str:
        web = AsyncWebClient(token=token, base_url=slack.api_url)
        try:
            await web.auth_test()
        except SlackApiError as exc:
            return str(exc.response["error"])
        finally:
            if web.session is not None:
                await web.session.close()
        return "ok"

    assert await error_of(None) == "not_authed"
    assert await error_of("xoxb-wrong") == "invalid_auth"
    assert await error_of(slack.sandbox.workspace.app_token) == "not_allowed_token_type"
    assert await error_of(slack.sandbox.workspace.bot_token) == "ok"


async def test_other_methods_answer_in_slacks_shapes(
    slack: RunningSlack, client: AsyncWebClient
) -> None:
    root = await slack.sandbox.post_as("U0ONCALL", "C0INCIDENTS", "help")
    ephemeral = await client.chat_postEphemeral(channel="C0INCIDENTS", user="U0VIEWER", text="psst")
    assert ephemeral["message_ts"]
    assert slack.sandbox.ephemeral_for("U0VIEWER")[0]["text"] == "psst"
    posted = await client.chat_postMessage(channel="C0INCIDENTS", text="temporary")
    await client.chat_delete(channel="C0INCIDENTS", ts=posted["ts"])
    with pytest.raises(SlackApiError, match="message_not_found"):
        await client.chat_update(channel="C0INCIDENTS", ts=posted["ts"], text="gone")
    with pytest.raises(SlackApiError, match="cant_update_message"):
        await client.chat_update(channel="C0INCIDENTS", ts=root.ts, text="not mine")
    info = await client.conversations_info(channel="C0INCIDENTS")
    assert info["channel"]["name"] == "incidents"
    assert info["channel"]["is_member"] is True
    view = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}],
    }
    published = await client.views_publish(user_id="U0ONCALL", view=view)
    assert published["view"]["type"] == "home"
    await client.assistant_threads_setStatus(channel_id="C0INCIDENTS", thread_ts=root.ts,
                                             status="is investigating...")  # fmt: skip
    assert slack.sandbox.workspace.statuses[-1]["status"] == "is investigating..."
    with pytest.raises(SlackApiError, match="user_not_found"):
        await client.users_info(user="U0NOBODY")


async def test_chat_stream_grows_one_message_and_finishes_it(
    slack: RunningSlack, client: AsyncWebClient
) -> None:
    root = await slack.sandbox.post_as("U0ONCALL", "C0INCIDENTS", "<@U0BOT> why 500s?")
    streamer = await client.chat_stream(
        channel="C0INCIDENTS", thread_ts=root.ts, recipient_team_id="T0SANDBOX",
        recipient_user_id="U0ONCALL", buffer_size=8,
    )  # fmt: skip
    for piece in ["Looking ", "at the ", "logs... ", "found a ", "KeyError."]:
        await streamer.append(markdown_text=piece)
    middle = slack.sandbox.rendered_thread("C0INCIDENTS", root.ts)[1]
    assert middle["streaming"] is True
    assert middle["text"].startswith("Looking at the")
    await streamer.stop(markdown_text=" Done.")
    final = slack.sandbox.rendered_thread("C0INCIDENTS", root.ts)[1]
    assert final["streaming"] is False
    assert final["text"] == "Looking at the logs... found a KeyError. Done."
    methods = [c["method"] for c in slack.sandbox.calls if c["method"].endswith("Stream")]
    assert methods[0] == "chat.startStream"
    assert methods[-1] == "chat.stopStream"
    assert "chat.appendStream" in methods


async def test_an_idle_stream_expires_and_chat_update_recovers_it(
    slack: RunningSlack, client: AsyncWebClient
) -> None:
    root = await slack.sandbox.post_as("U0ONCALL", "C0INCIDENTS", "<@U0BOT> status?")
    started = await client.chat_startStream(channel="C0INCIDENTS", thread_ts=root.ts,
                                            markdown_text="Half an ans",
                                            recipient_team_id="T0SANDBOX",
                                            recipient_user_id="U0ONCALL")  # fmt: skip
    await asyncio.sleep(0.6)  # longer than the sandbox's idle timeout of 0.4 s
    with pytest.raises(SlackApiError) as raised:
        await client.chat_appendStream(channel="C0INCIDENTS", ts=started["ts"], markdown_text="wer")
    assert raised.value.response["error"] == "message_not_in_streaming_state"
    await client.chat_update(
        channel="C0INCIDENTS", ts=started["ts"], text="Half an answer, finished"
    )
    final = slack.sandbox.rendered_thread("C0INCIDENTS", root.ts)[1]
    assert final["text"] == "Half an answer, finished"
    assert final["streaming"] is False


async def test_a_burst_is_rate_limited_and_the_sdk_retry_handler_recovers(
    slack: RunningSlack,
) -> None:
    web = AsyncWebClient(
        token=slack.sandbox.workspace.bot_token, base_url=slack.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=5)],
    )  # fmt: skip
    try:
        results = [await web.usergroups_users_list(usergroup="S0ONCALL") for _ in range(25)]
    finally:
        if web.session is not None:
            await web.session.close()
    assert all(r["ok"] for r in results)
    limited = slack.sandbox.limiter.limited
    assert limited
    assert {entry["method"] for entry in limited} == {"usergroups.users.list"}
    statuses = [c["status"] for c in slack.sandbox.calls if c["method"] == "usergroups.users.list"]
    assert statuses.count(429) == len(limited)
    assert statuses.count(200) == 25


async def test_post_message_is_limited_per_channel_with_retry_after(
    slack: RunningSlack, client: AsyncWebClient
) -> None:
    errors = []
    for n in range(8):
        try:
            await client.chat_postMessage(channel="C0INCIDENTS", text=f"burst {n}")
        except SlackApiError as exc:
            errors.append((exc.response.status_code, exc.response.headers.get("Retry-After")))
    other = await client.chat_postMessage(channel="C0GENERAL", text="another channel is fine")
    assert other["ok"]
    assert errors
    assert all(status == 429 and int(after) >= 1 for status, after in errors)


async def test_python_m_sandbox_slack_prints_credentials_that_work(unused_tcp_port: int) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sandbox.slack", "--port", str(unused_tcp_port),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stdout is not None
    try:
        lines = [(await asyncio.wait_for(process.stdout.readline(), 20)).decode() for _ in range(5)]
        assert lines[0].startswith(f"local Slack workspace at http://127.0.0.1:{unused_tcp_port}")
        values = dict(line.strip().split("=", 1) for line in lines[1:])
        web = AsyncWebClient(
            token=values["SLACK_BOT_TOKEN"], base_url=values["OPSBOT_SLACK_API_URL"]
        )
        try:
            assert (await web.auth_test())["user"] == "opsbot"
        finally:
            if web.session is not None:
                await web.session.close()
        assert values["SLACK_APP_TOKEN"].startswith("xapp-")
    finally:
        process.terminate()
        await process.wait()
