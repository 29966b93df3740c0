"""Signed but malformed bodies to `/slack/events` get 400 and one log line, not a 500 (which
Slack retries); the bot still answers well-formed requests, and unsigned ones get 401."""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
from pathlib import Path

import aiohttp
import pytest

from sandbox.model.server import RunningModelServer
from sandbox.slack.signing import signed_headers
from tests.slackbot import CHANNEL, running_bot, wait_for

pytestmark = pytest.mark.e2e
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def form(**fields: str) -> bytes:
    return urllib.parse.urlencode(fields).encode()


MALFORMED: list[tuple[str, str, bytes]] = [
    ("cut JSON", JSON, b"{"),
    ("a JSON array", JSON, b"[]"),
    ("JSON null", JSON, b"null"),
    ("a JSON string", JSON, b'"event_callback"'),
    ("a JSON number", JSON, b"42"),
    ("a payload that is not JSON", FORM, form(payload="{not json")),
    ("a payload that is a JSON array", FORM, form(payload="[1, 2]")),
    ("a payload that is JSON null", FORM, form(payload="null")),
    ("two payload fields", FORM, b"payload=%7B%7D&payload=%7B%7D"),
    ("a JSON object sent as text/plain", "text/plain", b'{"type": "event_callback"}'),
    ("no content type", "", b'{"type": "event_callback"}'),
    ("a body that is not UTF-8", JSON, b'{"type": "\xff\xfe"}'),
]


async def post(url: str, secret: str | None, content_type: str, body: bytes) -> int:
    headers = signed_headers(secret, str(int(time.time())), body) if secret else {}
    if content_type:
        headers["Content-Type"] = content_type
    async with (
        aiohttp.ClientSession(skip_auto_headers=["Content-Type"]) as session,
        session.post(url, data=body, headers=headers) as answer,
    ):
        return answer.status


async def test_signed_malformed_bodies_get_400_logged_once(
    database_url: str, workspace: Path, model_server: RunningModelServer, unused_tcp_port: int,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    url = f"http://127.0.0.1:{unused_tcp_port}/slack/events"
    async with running_bot(database_url, workspace, model_server.url,
                           http_port=unused_tcp_port) as slack:  # fmt: skip
        secret = slack.sandbox.workspace.signing_secret
        statuses: dict[str, int] = {}
        for name, content_type, body in MALFORMED:
            caplog.clear()
            with caplog.at_level(logging.INFO):
                statuses[name] = await post(url, secret, content_type, body)
            refusals = [r for r in caplog.records if "refused a signed request" in r.message]
            assert len(refusals) == 1, (name, [r.message for r in caplog.records])
            assert not [r for r in caplog.records if r.levelno >= logging.ERROR], name
        unsigned = {name: await post(url, None, content_type, body)
                    for name, content_type, body in MALFORMED[:-1]}  # fmt: skip
        challenge = json.dumps({"type": "url_verification", "challenge": "c0ffee"}).encode()
        good = await post(url, secret, JSON, challenge)
    assert statuses == {name: 400 for name, _, _ in MALFORMED}
    assert unsigned == {name: 401 for name, _, _ in MALFORMED[:-1]}, "unsigned: Bolt's 401"
    assert good == 200, "a well-formed signed request still reaches Bolt"


@pytest.mark.parametrize("text", ["status payload-service", "help payload", "status payload=1"])
async def test_a_slash_command_mentioning_payload_is_answered_over_http(
    database_url: str, workspace: Path, model_server: RunningModelServer, unused_tcp_port: int,
    text: str,
) -> None:  # fmt: skip
    """Bolt's adapter took any form with the text "payload" for an interactivity payload."""
    async with running_bot(database_url, workspace, model_server.url,
                           http_port=unused_tcp_port) as slack:  # fmt: skip
        sandbox = slack.sandbox
        await sandbox.command("U0ONCALL", CHANNEL, "/opsbot", text)
        await wait_for(sandbox, lambda: sandbox.ephemeral_for("U0ONCALL"))
        deliveries = [d for d in sandbox.delivery.log if d["kind"] == "slash_commands"]
    assert [d["outcome"] for d in deliveries] == [200]
