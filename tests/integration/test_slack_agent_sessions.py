"""The local workspace's agent sessions (agents.sessions.setStatus / rename, the Stop button),
spoken to by the unmodified slack_sdk client and through the page's HTTP route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.sessions import TITLE_MAX

CHANNEL = "C0INCIDENTS"


@pytest.fixture
async def slack() -> AsyncIterator[RunningSlack]:
    running = await start_slack()
    yield running
    await running.stop()


@pytest.fixture
async def client(slack: RunningSlack) -> AsyncIterator[AsyncWebClient]:
    web = AsyncWebClient(token=slack.sandbox.workspace.bot_token, base_url=slack.api_url)
    yield web
    if web.session is not None:
        await web.session.close()


async def refused(call: Any) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call
    return str(caught.value.response["error"])


async def press_stop(slack: RunningSlack, **body: str) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{slack.url}/_sandbox/stop", json=body) as answer,
    ):
        return answer.status, await answer.json()


async def test_a_session_follows_its_statuses_and_keeps_its_title(
    slack: RunningSlack, client: AsyncWebClient
) -> None:
    root = await slack.sandbox.post_as("U0ONCALL", CHANNEL, "checkout is returning 500s")
    first = await client.agents_sessions_setStatus(
        channel_id=CHANNEL, thread_ts=root.ts, status="processing", title="checkout 500s",
        initiator_user_id="U0ONCALL",
    )  # fmt: skip
    assert first["agent_status"] == "processing"
    await client.agents_sessions_setStatus(channel_id=CHANNEL, thread_ts=root.ts,
                                           status="suspended")  # fmt: skip
    renamed = await client.agents_sessions_rename(channel_id=CHANNEL, thread_ts=root.ts,
                                                  title="checkout: discount KeyError")  # fmt: skip
    assert renamed["title"] == "checkout: discount KeyError"
    session = slack.sandbox.api.sessions[(CHANNEL, root.ts)]
    assert session.history == ["processing", "suspended"]
    assert (session.title, session.initiator) == ("checkout: discount KeyError", "U0ONCALL")
    assert session.as_page()["stoppable"] is False, "Stop is offered only while processing"


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"status": "running"}, "invalid_arguments"),
        ({"status": "PROCESSING"}, "invalid_arguments"),
        ({"status": ""}, "invalid_arguments"),
        ({"thread_ts": None}, "invalid_arguments"),
        ({"thread_ts": "1700000000.000001"}, "thread_not_found"),
        ({"channel_id": "C0NOWHERE"}, "channel_not_found"),
        ({"title": "x" * (TITLE_MAX + 1)}, "invalid_arguments"),
        ({"initiator_user_id": "U0NOBODY"}, "user_not_found"),
    ],
)
async def test_set_status_refuses_bad_arguments(
    slack: RunningSlack, client: AsyncWebClient, arguments: dict[str, Any], error: str
) -> None:
    root = await slack.sandbox.post_as("U0ONCALL", CHANNEL, "checkout is returning 500s")
    call: dict[str, Any] = {"channel_id": CHANNEL, "thread_ts": root.ts, "status": "processing",
                            **arguments}  # fmt: skip
    call = {k: v for k, v in call.items() if v is not None}
    assert await refused(client.api_call("agents.sessions.setStatus", json=call)) == error
    assert slack.sandbox.api.sessions == {}, "a refused call creates no session"


async def test_rename_refuses_bad_titles_and_unknown_sessions(
    slack: RunningSlack, client: AsyncWebClient
) -> None:
    root = await slack.sandbox.post_as("U0ONCALL", CHANNEL, "checkout is returning 500s")
    place = {"channel_id": CHANNEL, "thread_ts": root.ts}
    assert await refused(client.agents_sessions_rename(**place, title="t")) == "session_not_found"
    await client.agents_sessions_setStatus(**place, status="processing", title="kept")
    for title in ("", "   ", "y" * (TITLE_MAX + 1)):
        assert await refused(client.agents_sessions_rename(**place, title=title)) == (
            "invalid_arguments"
        )
    missing_title = client.api_call("agents.sessions.rename", json=place)
    assert await refused(missing_title) == "invalid_arguments"
    assert slack.sandbox.api.sessions[(CHANNEL, root.ts)].title == "kept"


async def test_stop_delivers_the_event_only_while_processing(
    slack: RunningSlack, client: AsyncWebClient
) -> None:
    sandbox = slack.sandbox
    root = await sandbox.post_as("U0ONCALL", CHANNEL, "checkout is returning 500s")
    place = {"user": "U0LEAD", "channel": CHANNEL, "thread_ts": root.ts}
    assert await press_stop(slack, **place) == (400, {"ok": False, "error": "session_not_found"})
    await client.agents_sessions_setStatus(channel_id=CHANNEL, thread_ts=root.ts,
                                           status="suspended")  # fmt: skip
    assert (await press_stop(slack, **place))[1]["error"] == "session_not_processing"
    assert (await press_stop(slack, **{**place, "user": "U0NOBODY"}))[1]["error"] == (
        "user_not_found"
    )
    streaming = await client.chat_startStream(
        channel=CHANNEL, thread_ts=root.ts, recipient_user_id="U0ONCALL",
        recipient_team_id=sandbox.workspace.team_id, markdown_text="Looking…",
    )  # fmt: skip
    await client.agents_sessions_setStatus(channel_id=CHANNEL, thread_ts=root.ts,
                                           status="processing")  # fmt: skip
    assert await press_stop(slack, **place) == (200, {"ok": True})
    session = sandbox.api.sessions[(CHANNEL, root.ts)]
    assert session.status == "processing", "Slack leaves the status to the app"
    assert session.stopped_by == ["U0LEAD"]
    event = sandbox.api.stopped_event("U0LEAD", CHANNEL, root.ts)
    assert event["type"] == "agent_session_stopped"
    assert (event["channel"], event["thread_ts"], event["user"]) == (CHANNEL, root.ts, "U0LEAD")
    assert event["streaming_message_ts"] == [streaming["ts"]]


async def test_the_page_shows_the_session_and_stop_while_processing(
    slack: RunningSlack, client: AsyncWebClient
) -> None:
    root = await slack.sandbox.post_as("U0ONCALL", CHANNEL, "checkout is returning 500s")

    async def shown() -> Any:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{slack.url}/_sandbox/state",
                     params={"channel": CHANNEL, "thread": root.ts}) as answer,
        ):  # fmt: skip
            return (await answer.json())["session"]

    assert await shown() is None, "no session before the app sets one"
    await client.agents_sessions_setStatus(channel_id=CHANNEL, thread_ts=root.ts,
                                           status="processing", title="checkout 500s")  # fmt: skip
    assert await shown() == {"status": "processing", "title": "checkout 500s",
                             "initiator": None, "stoppable": True}  # fmt: skip
    await client.agents_sessions_setStatus(channel_id=CHANNEL, thread_ts=root.ts,
                                           status="active")  # fmt: skip
    assert (await shown())["stoppable"] is False


@pytest.mark.parametrize("title", [["checkout"], 42, {"text": "checkout"}])
async def test_a_title_that_is_not_a_string_is_refused(
    slack: RunningSlack, client: AsyncWebClient, title: Any
) -> None:
    root = await slack.sandbox.post_as("U0ONCALL", CHANNEL, "checkout is returning 500s")
    arguments = {"channel_id": CHANNEL, "thread_ts": root.ts, "status": "processing",
                 "title": title}  # fmt: skip
    call = client.api_call("agents.sessions.setStatus", json=arguments)
    assert await refused(call) == "invalid_arguments"
    assert slack.sandbox.api.sessions == {}


@pytest.mark.parametrize(
    ("body", "error"),
    [({}, "bad_request"), ({"user": "U0LEAD", "channel": CHANNEL}, "bad_request"),
     ({"user": ["U0LEAD"], "channel": CHANNEL, "thread_ts": "1.000001"}, "bad_request"),
     ({"user": "U0LEAD", "channel": "C0NOPE", "thread_ts": "1.000001"}, "channel_not_found"),
     ([CHANNEL], "bad_request")],
)  # fmt: skip
async def test_a_malformed_page_stop_is_refused_and_delivers_nothing(
    slack: RunningSlack, body: Any, error: str
) -> None:
    before = len(slack.sandbox.delivery.log)
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{slack.url}/_sandbox/stop", json=body) as answer,
    ):
        status, found = answer.status, await answer.json()
    assert status == 400
    assert found["ok"] is False
    assert str(found["error"]).startswith(error)
    assert len(slack.sandbox.delivery.log) == before


async def open_stream(slack: RunningSlack, client: AsyncWebClient, thread_ts: str) -> str:
    started = await client.chat_startStream(
        channel=CHANNEL, thread_ts=thread_ts, recipient_user_id="U0ONCALL",
        recipient_team_id=slack.sandbox.workspace.team_id, markdown_text="looking",
    )  # fmt: skip
    return str(started["ts"])


@pytest.mark.parametrize(
    ("given", "after"),
    [({}, "active"), ({"session_status": "processing"}, "processing"),
     ({"session_status": "suspended"}, "suspended"), ({"session_status": "closed"}, "closed")],
    ids=["default-active", "processing", "suspended", "closed"],
)  # fmt: skip
async def test_stopping_a_stream_sets_its_threads_session_status(
    slack: RunningSlack, client: AsyncWebClient, given: dict[str, str], after: str
) -> None:
    root = await slack.sandbox.post_as("U0ONCALL", CHANNEL, "checkout is returning 500s")
    await client.agents_sessions_setStatus(channel_id=CHANNEL, thread_ts=root.ts,
                                           status="processing")  # fmt: skip
    ts = await open_stream(slack, client, root.ts)

    await client.chat_stopStream(channel=CHANNEL, ts=ts, **given)

    session = slack.sandbox.api.sessions[(CHANNEL, root.ts)]
    assert session.status == after
    assert session.as_page()["stoppable"] is (after == "processing")


@pytest.mark.parametrize("status", ["done", "PROCESSING", "stopped", " active"])
async def test_a_stop_with_an_unknown_session_status_is_refused_and_keeps_streaming(
    slack: RunningSlack, client: AsyncWebClient, status: str
) -> None:
    root = await slack.sandbox.post_as("U0ONCALL", CHANNEL, "checkout is returning 500s")
    ts = await open_stream(slack, client, root.ts)
    assert (
        await refused(client.chat_stopStream(channel=CHANNEL, ts=ts, session_status=status))
        == "invalid_arguments"
    )
    assert slack.sandbox.workspace.channels[CHANNEL].messages[ts].streaming


async def test_stopping_a_stream_of_a_thread_without_a_session_creates_none(
    slack: RunningSlack, client: AsyncWebClient
) -> None:
    root = await slack.sandbox.post_as("U0ONCALL", CHANNEL, "checkout is returning 500s")
    ts = await open_stream(slack, client, root.ts)
    await client.chat_stopStream(channel=CHANNEL, ts=ts, session_status="suspended")
    assert (CHANNEL, root.ts) not in slack.sandbox.api.sessions
