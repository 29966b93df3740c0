"""Unmodified slack_bolt apps against the sandbox: Socket Mode, signed HTTP, retries."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack.app import RunningSlack, start_slack
from sandbox.slack.server import SandboxConfig, SlackSandbox
from sandbox.slack.signing import signed_headers

CHANNEL = "C0INCIDENTS"
APPROVE = {"type": "actions", "block_id": "card", "elements": [
    {"type": "button", "action_id": "approve", "style": "primary", "value": "run-1",
     "text": {"type": "plain_text", "text": "Approve"}}]}  # fmt: skip


def tiny_app(slack: RunningSlack, seen: list[dict[str, Any]]) -> AsyncApp:
    """A Bolt app that replies to mentions with a button, handles the click and a command."""
    space = slack.sandbox.workspace
    app = AsyncApp(
        token=space.bot_token, signing_secret=space.signing_secret,
        client=AsyncWebClient(token=space.bot_token, base_url=slack.api_url),
    )  # fmt: skip

    @app.event("app_mention")
    async def mention(body: dict[str, Any], event: dict[str, Any], say: Any) -> None:
        seen.append({"type": "app_mention", "event_id": body["event_id"]})
        await say(text="Shall I fix it?", thread_ts=event["ts"], blocks=[APPROVE])

    @app.event("message")
    async def message(body: dict[str, Any]) -> None:
        seen.append({"type": "message", "event_id": body["event_id"]})

    @app.action("approve")
    async def approve(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        seen.append({"type": "click", "value": body["actions"][0]["value"],
                     "container": body["container"], "trigger_id": body["trigger_id"]})  # fmt: skip
        await respond(replace_original=True, text=f"Approved by <@{body['user']['id']}>")

    @app.command("/opsbot")
    async def command(ack: Any, command: dict[str, Any]) -> None:
        await ack(f"status: all good ({command['text']})")

    return app


async def exercise(sandbox: SlackSandbox, seen: list[dict[str, Any]]) -> None:
    """Mention, click, slash command: what a person does, and what they must see."""
    root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout is down")
    await sandbox.wait_until(lambda: len(sandbox.rendered_thread(CHANNEL, root.ts)) == 2)
    card = sandbox.rendered_thread(CHANNEL, root.ts)[1]
    assert card["text"] == "Shall I fix it?"
    assert card["blocks"] == [APPROVE]
    await sandbox.click("U0LEAD", CHANNEL, card["ts"], "approve")
    await sandbox.wait_until(
        lambda: sandbox.rendered_thread(CHANNEL, root.ts)[1]["text"] == "Approved by <@U0LEAD>"
    )
    await sandbox.command("U0ONCALL", CHANNEL, "/opsbot", "status")
    await sandbox.wait_until(lambda: bool(sandbox.ephemeral_for("U0ONCALL")))
    assert sandbox.ephemeral_for("U0ONCALL")[0]["text"] == "status: all good (status)"
    kinds = [s["type"] for s in seen]
    assert kinds.count("app_mention") == 1
    assert kinds.count("click") == 1
    mention_id = next(s["event_id"] for s in seen if s["type"] == "app_mention")
    human_messages = [s for s in seen if s["type"] == "message"]
    assert mention_id not in {s["event_id"] for s in human_messages}
    click = next(s for s in seen if s["type"] == "click")
    assert click["value"] == "run-1"
    assert click["container"]["message_ts"] == card["ts"]


async def test_socket_mode_app_mention_click_and_command() -> None:
    slack = await start_slack(SandboxConfig())
    seen: list[dict[str, Any]] = []
    app = tiny_app(slack, seen)
    handler = AsyncSocketModeHandler(app, slack.sandbox.workspace.app_token)
    try:
        await handler.connect_async()
        await exercise(slack.sandbox, seen)
    finally:
        await handler.close_async()
        await app.client.session.close() if app.client.session else None
        await slack.stop()


@pytest.fixture
async def http_app(
    unused_tcp_port: int,
) -> AsyncIterator[tuple[RunningSlack, list[dict[str, Any]], str]]:
    url = f"http://127.0.0.1:{unused_tcp_port}/slack/events"
    slack = await start_slack(SandboxConfig(deliver=url))
    seen: list[dict[str, Any]] = []
    app = tiny_app(slack, seen)
    runner = web.AppRunner(app.web_app(path="/slack/events"), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    yield slack, seen, url
    await runner.cleanup()
    if app.client.session is not None:
        await app.client.session.close()
    await slack.stop()


async def test_http_mode_app_mention_click_and_command(
    http_app: tuple[RunningSlack, list[dict[str, Any]], str],
) -> None:
    slack, seen, _ = http_app
    await exercise(slack.sandbox, seen)
    kinds = {entry["kind"] for entry in slack.sandbox.delivery.log}
    assert {"event", "interactive", "slash_commands"} <= kinds


async def test_bolt_rejects_a_tampered_body_and_a_stale_timestamp(
    http_app: tuple[RunningSlack, list[dict[str, Any]], str],
) -> None:
    slack, _, url = http_app
    secret = slack.sandbox.workspace.signing_secret
    fields = {"command": "/opsbot", "text": "status", "user_id": "U0ONCALL",
              "channel_id": CHANNEL, "team_id": "T0SANDBOX", "response_url": "",
              "trigger_id": "t"}  # fmt: skip
    body = urllib.parse.urlencode(fields)
    now = str(int(time.time()))
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    async with aiohttp.ClientSession() as http:
        good = await http.post(
            url, data=body, headers={**form, **signed_headers(secret, now, body)}
        )
        tampered = await http.post(
            url, data=body.replace("status", "delete"),
            headers={**form, **signed_headers(secret, now, body)},
        )  # fmt: skip
        stale_time = str(int(time.time()) - 600)
        stale = await http.post(
            url, data=body, headers={**form, **signed_headers(secret, stale_time, body)}
        )
        wrong_secret = await http.post(
            url, data=body, headers={**form, **signed_headers("not-the-secret", now, body)}
        )
    assert good.status == 200
    assert (tampered.status, stale.status, wrong_secret.status) == (401, 401, 401)


async def test_socket_mode_redelivers_an_unacked_envelope_after_3_seconds() -> None:
    slack = await start_slack(SandboxConfig())
    opener = AsyncWebClient(token=slack.sandbox.workspace.app_token, base_url=slack.api_url)
    frames: list[dict[str, Any]] = []
    try:
        url = (await opener.apps_connections_open(app_token=slack.sandbox.workspace.app_token))[
            "url"
        ]
        async with aiohttp.ClientSession() as http, http.ws_connect(url) as socket:
            hello = json.loads((await socket.receive()).data)
            assert hello["type"] == "hello"
            await slack.sandbox.post_as("U0ONCALL", CHANNEL, "no mention here")
            first = json.loads((await asyncio.wait_for(socket.receive(), 5)).data)
            started = time.monotonic()
            retry = json.loads((await asyncio.wait_for(socket.receive(), 6)).data)
            waited = time.monotonic() - started
            await socket.send_str(json.dumps({"envelope_id": retry["envelope_id"]}))
            frames += [first, retry]
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(socket.receive(), 3.5)
    finally:
        if opener.session is not None:
            await opener.session.close()
        await slack.stop()
    assert first["type"] == "events_api"
    assert first["retry_attempt"] == 0
    assert retry["envelope_id"] == first["envelope_id"]
    assert (retry["retry_attempt"], retry["retry_reason"]) == (1, "timeout")
    assert 2.5 < waited < 4.5


async def test_http_events_are_retried_with_retry_headers(unused_tcp_port: int) -> None:
    received: list[dict[str, str]] = []

    async def flaky(request: web.Request) -> web.Response:
        received.append(dict(request.headers))
        return web.Response(status=500 if len(received) == 1 else 200)

    app = web.Application()
    app.router.add_post("/slack/events", flaky)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    slack = await start_slack(SandboxConfig(
        deliver=f"http://127.0.0.1:{unused_tcp_port}/slack/events", http_retry_delays=(0.1, 0.1),
    ))  # fmt: skip
    try:
        await slack.sandbox.post_as("U0ONCALL", CHANNEL, "hello")
        for _ in range(50):
            if len(received) >= 2:
                break
            await asyncio.sleep(0.05)
    finally:
        await slack.stop()
        await runner.cleanup()
    assert len(received) == 2
    assert "X-Slack-Retry-Num" not in received[0]
    assert (received[1]["X-Slack-Retry-Num"], received[1]["X-Slack-Retry-Reason"]) == (
        "1", "http_error",
    )  # fmt: skip
    assert received[1]["X-Slack-Signature"].startswith("v0=")


async def test_a_disconnect_message_makes_bolt_reconnect_and_keep_receiving() -> None:
    slack = await start_slack(SandboxConfig())
    seen: list[dict[str, Any]] = []
    app = tiny_app(slack, seen)
    handler = AsyncSocketModeHandler(app, slack.sandbox.workspace.app_token)
    sandbox = slack.sandbox
    try:
        await handler.connect_async()
        await sandbox.wait_until(lambda: len(sandbox.delivery.connections) == 1)  # type: ignore[attr-defined]
        async with aiohttp.ClientSession() as http:
            await http.post(f"{slack.url}/_sandbox/disconnect", json={"reason": "warning"})
        opens = lambda: [c for c in sandbox.calls if c["method"] == "apps.connections.open"]  # noqa: E731
        await sandbox.wait_until(lambda: len(opens()) == 2)
        root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> still there?")
        await sandbox.wait_until(lambda: len(sandbox.rendered_thread(CHANNEL, root.ts)) == 2)
    finally:
        await handler.close_async()
        if app.client.session is not None:
            await app.client.session.close()
        await slack.stop()
    assert [s["type"] for s in seen].count("app_mention") == 1


async def test_person_actions_over_http_and_trigger_ids_for_modals() -> None:
    slack = await start_slack(SandboxConfig(deliver="http://127.0.0.1:9/unused"))
    web = AsyncWebClient(token=slack.sandbox.workspace.bot_token, base_url=slack.api_url)
    modal = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Reject"},
        "blocks": [
            {
                "type": "input",
                "label": {"type": "plain_text", "text": "Why?"},
                "element": {"type": "plain_text_input", "action_id": "reason"},
            }
        ],
    }
    try:
        async with aiohttp.ClientSession() as http:
            posted = await (
                await http.post(
                    f"{slack.url}/_sandbox/post",
                    json={"user": "U0ONCALL", "channel": "#incidents", "text": "<@U0BOT> hi"},
                )
            ).json()
            card = await web.chat_postMessage(
                channel=CHANNEL, thread_ts=posted["ts"], text="card", blocks=[APPROVE]
            )
            clicked = await (
                await http.post(
                    f"{slack.url}/_sandbox/click",
                    json={
                        "user": "U0LEAD",
                        "channel": CHANNEL,
                        "ts": card["ts"],
                        "action_id": "approve",
                    },
                )
            ).json()
            missing = await http.post(
                f"{slack.url}/_sandbox/click",
                json={"user": "U0LEAD", "channel": CHANNEL, "ts": card["ts"], "action_id": "nope"},
            )
            thread = await (
                await http.get(
                    f"{slack.url}/_sandbox/thread", params={"channel": CHANNEL, "ts": posted["ts"]}
                )
            ).json()
        opened = await web.views_open(trigger_id=clicked["trigger_id"], view=modal)
        with pytest.raises(SlackApiError, match="invalid_trigger_id"):
            await web.views_open(trigger_id="made-up", view=modal)
    finally:
        if web.session is not None:
            await web.session.close()
        await slack.stop()
    assert posted["ok"]
    assert clicked["ok"]
    assert (missing.status, (await missing.json())["error"]) == (400, "action_not_found")
    assert [m["text"] for m in thread["thread"]] == ["<@U0BOT> hi", "card"]
    assert opened["view"]["type"] == "modal"
