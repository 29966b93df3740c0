"""The local workspace's external file upload, driven by the unmodified slack_sdk client:
files_upload_v2 lands a file message in a thread; every bad call gets Slack's refusal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.page import state
from sandbox.slack.server import SandboxConfig

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # the bytes are carried, never decoded


@pytest.fixture
async def slack() -> AsyncIterator[RunningSlack]:
    running = await start_slack(SandboxConfig(rate_window_s=2.0))
    yield running
    await running.stop()


@pytest.fixture
async def client(slack: RunningSlack) -> AsyncIterator[AsyncWebClient]:
    web = AsyncWebClient(token=slack.sandbox.workspace.bot_token, base_url=slack.api_url)
    yield web
    if web.session is not None:
        await web.session.close()


@pytest.fixture
async def thread(client: AsyncWebClient) -> str:
    root = await client.chat_postMessage(channel="C0INCIDENTS", text="error rate is up")
    return str(root["ts"])


async def refusal(call: Any) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as refused:
        await call
    return dict(refused.value.response.data)


async def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, str]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as answer:
        return answer.status, await answer.read(), answer.content_type


async def test_files_upload_v2_shares_a_chart_into_the_thread(
    slack: RunningSlack, client: AsyncWebClient, thread: str
) -> None:
    done = await client.files_upload_v2(
        channel="C0INCIDENTS", thread_ts=thread, filename="error-rate.png", content=PNG,
        title="Error rate (5m)", alt_txt="Line chart of errors", initial_comment="The spike:",
    )  # fmt: skip

    replies = await client.conversations_replies(channel="C0INCIDENTS", ts=thread)
    shared = replies["messages"][-1]
    [file] = shared["files"]
    assert done["file"]["id"] == file["id"]
    assert (shared["text"], shared["user"]) == ("The spike:", "U0BOT")
    assert (file["name"], file["title"], file["mimetype"]) == (
        "error-rate.png", "Error rate (5m)", "image/png")  # fmt: skip
    assert (file["size"], file["alt_txt"]) == (len(PNG), "Line chart of errors")
    token = {"Authorization": f"Bearer {slack.sandbox.workspace.bot_token}"}
    assert await fetch(file["url_private"], token) == (200, PNG, "image/png")
    assert (await fetch(file["url_private"]))[0] == 401  # Slack's url_private needs the token


async def test_the_page_shows_a_shared_image_inline(
    slack: RunningSlack, client: AsyncWebClient, thread: str
) -> None:
    await client.files_upload_v2(channel="C0INCIDENTS", thread_ts=thread, filename="c.png",
                                 content=PNG, title="Latency p99")  # fmt: skip

    shown = state(slack.sandbox, "C0INCIDENTS", thread, "U0ONCALL")["thread"][-1]["files"]
    assert [(f["title"], f["mimetype"]) for f in shown] == [("Latency p99", "image/png")]
    assert await fetch(slack.url + shown[0]["src"]) == (200, PNG, "image/png")


async def test_a_multipart_upload_is_taken_as_curl_sends_it(
    slack: RunningSlack, client: AsyncWebClient, thread: str
) -> None:
    ticket = await client.files_getUploadURLExternal(filename="c.png", length=len(PNG))
    form = aiohttp.FormData()
    form.add_field("filename", PNG, filename="c.png", content_type="image/png")
    async with aiohttp.ClientSession() as session, session.post(
        ticket["upload_url"], data=form
    ) as answer:  # fmt: skip
        assert (answer.status, await answer.text()) == (200, f"OK - {len(PNG)}")

    listed = [{"id": ticket["file_id"], "title": "c"}]
    await client.files_completeUploadExternal(files=listed, channel_id="C0INCIDENTS",
                                              thread_ts=thread)  # fmt: skip
    replies = await client.conversations_replies(channel="C0INCIDENTS", ts=thread)
    assert replies["messages"][-1]["files"][0]["id"] == ticket["file_id"]


@pytest.mark.parametrize(
    ("arguments", "detail"),
    [
        ({"length": 10}, "filename is required"),
        ({"filename": "c.png"}, "length is required"),
        ({"filename": "", "length": 10}, "filename is required"),
        ({"filename": "c.png", "length": "ten"}, "length must be an integer"),
        ({"filename": "c.png", "length": 0}, "length must be between"),
        ({"filename": "c.png", "length": -5}, "length must be between"),
    ],
)
async def test_an_upload_url_needs_a_filename_and_a_length(
    client: AsyncWebClient, arguments: dict[str, Any], detail: str
) -> None:
    answer = await refusal(client.api_call("files.getUploadURLExternal", params=arguments))
    assert answer["error"] == "invalid_arguments"
    assert detail in answer["detail"]


async def test_an_alt_text_over_1000_characters_is_refused(client: AsyncWebClient) -> None:
    call = client.files_getUploadURLExternal(filename="c.png", length=3, alt_txt="a" * 1001)
    assert (await refusal(call))["error"] == "alt_txt_too_large"


@pytest.mark.parametrize("sent", [PNG[:-1], PNG + b"x", b""])
async def test_bytes_of_another_length_than_announced_are_refused(
    slack: RunningSlack, client: AsyncWebClient, sent: bytes
) -> None:
    ticket = await client.files_getUploadURLExternal(filename="c.png", length=len(PNG))
    async with aiohttp.ClientSession() as session, session.post(
        ticket["upload_url"], data=sent
    ) as answer:  # fmt: skip
        assert answer.status == 400
        assert f"announced {len(PNG)} bytes, got {len(sent)}" in await answer.text()
    never_uploaded = client.files_completeUploadExternal(
        files=[{"id": ticket["file_id"]}], channel_id="C0INCIDENTS"
    )
    assert "never uploaded" in (await refusal(never_uploaded))["detail"]


async def test_an_upload_url_takes_its_bytes_once(client: AsyncWebClient) -> None:
    ticket = await client.files_getUploadURLExternal(filename="c.png", length=len(PNG))
    async with aiohttp.ClientSession() as session:
        first = await session.post(ticket["upload_url"], data=PNG)
        again = await session.post(ticket["upload_url"], data=PNG)
        unknown = await session.post(ticket["upload_url"] + "x", data=PNG)
    assert (first.status, again.status, unknown.status) == (200, 400, 400)


async def uploaded(client: AsyncWebClient) -> str:
    ticket = await client.files_getUploadURLExternal(filename="c.png", length=len(PNG))
    async with aiohttp.ClientSession() as session:
        await session.post(ticket["upload_url"], data=PNG)
    return str(ticket["file_id"])


@pytest.mark.parametrize("file_id", ["F0NOSUCHFILE", "", "not-a-file"])
async def test_completing_an_unknown_file_is_file_not_found(
    client: AsyncWebClient, file_id: str
) -> None:
    call = client.files_completeUploadExternal(files=[{"id": file_id}], channel_id="C0INCIDENTS")
    assert (await refusal(call))["error"] == ("file_not_found" if file_id else "invalid_arguments")


async def test_a_file_is_completed_once(client: AsyncWebClient) -> None:
    file_id = await uploaded(client)
    await client.files_completeUploadExternal(files=[{"id": file_id}], channel_id="C0INCIDENTS")
    again = client.files_completeUploadExternal(files=[{"id": file_id}], channel_id="C0INCIDENTS")
    assert (await refusal(again))["error"] == "file_not_found"


@pytest.mark.parametrize(
    ("where", "error"),
    [
        ({"channel_id": "C0NOSUCH"}, "channel_not_found"),
        ({"channel_id": "#nowhere"}, "channel_not_found"),
        ({"channel_id": "C0INCIDENTS", "thread_ts": "1.000001"}, "thread_not_found"),
    ],
)
async def test_completing_into_a_place_that_does_not_exist_is_refused(
    slack: RunningSlack, client: AsyncWebClient, where: dict[str, str], error: str
) -> None:
    file_id = await uploaded(client)
    call = client.files_completeUploadExternal(
        files=[{"id": file_id}], channel_id=where["channel_id"], thread_ts=where.get("thread_ts")
    )
    assert (await refusal(call))["error"] == error
    assert not any(m.files for c in slack.sandbox.workspace.channels.values()
                   for m in c.messages.values())  # fmt: skip


@pytest.mark.parametrize("files", [None, "[]", "{not json", '[{"title": "no id"}]'])
async def test_completing_needs_a_list_of_file_ids(client: AsyncWebClient, files: Any) -> None:
    arguments = {"channel_id": "C0INCIDENTS", **({"files": files} if files else {})}
    answer = await refusal(client.api_call("files.completeUploadExternal", params=arguments))
    assert answer["error"] == "invalid_arguments"


async def test_files_upload_v2_into_an_unknown_channel_fails_and_shares_nothing(
    slack: RunningSlack, client: AsyncWebClient
) -> None:
    with pytest.raises(SlackApiError, match="channel_not_found"):
        await client.files_upload_v2(channel="C0NOSUCH", filename="c.png", content=PNG)
    assert [f.shared_in for f in slack.sandbox.workspace.files.values()] == [None]
