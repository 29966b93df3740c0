"""Alertmanager's webhook through `opsbot serve` under hostile and careless input, tried as an
attacker and as a new user would: headers that are not the token, bodies that would crash a
parser, a card built from labels full of mentions, links, secrets and Slack-limit-sized text
(the local workspace enforces Slack's limits and refuses what Slack refuses), and a channel
the bot cannot post in (nothing lost, retries spaced out, a log line that says what to do)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from core.models import AlertGroupRow
from tests.alerts.notifications import alert, notification
from tests.e2e.dev_process import free_port
from tests.e2e.test_alert_webhook import (
    ANSWER,
    TOKEN,
    World,
    alert_env,
    cards,
    count,
    delivered,
    post,
    stop,
    text_of,
    world,
)
from tests.e2e.test_crash_matrix import serve
from tests.slackbot import wait_for
from tests.unit.test_alert_card import mrkdwn_texts

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
__all__ = ["world"]  # the fixture, imported so pytest finds it here

SECRET = "hunter2hunter2"


async def raw_request(port: int, head: bytes, body: bytes = b"") -> bytes:
    """One HTTP/1.1 request written as bytes (headers a client library would refuse to send)."""
    for _ in range(100):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            break
        except OSError:
            await asyncio.sleep(0.1)
    else:
        raise AssertionError("the alert listener never opened")
    writer.write(head + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode())
    writer.write(body)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 30)
    writer.close()
    return answer


async def oversize_answer(port: int, head: bytes, body: bytes) -> int | str:
    """The status of a request the server stops reading early, or "reset".

    The server answers 400/431 once its header limit is reached and closes with the rest of our
    bytes unread, so the kernel may send a TCP reset that discards the answer before we read it
    (RFC 9112 section 9.6, "tear-down"). Either way the request was refused; the callers then
    check that nothing was stored and that the endpoint still answers.
    """
    try:
        return status_of(await raw_request(port, head, body))
    except ConnectionResetError:
        return "reset"


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


async def test_no_header_trick_gets_in_or_breaks_the_endpoint(
    world: World, database_url: str
) -> None:
    slack, model, workspace = world
    port = free_port()
    bot = await serve(slack, model, workspace, database_url, None, extra_env=alert_env(port))
    body = json.dumps(notification()).encode()
    start = b"POST /alerts/alertmanager HTTP/1.1\r\nHost: x\r\n"
    try:
        tries = [
            b"Authorization: Bearer \xff\xfe" + TOKEN.encode() + b"\r\n",
            b"Authorization: Bearer " + TOKEN.encode() + b"\xc3\r\n",
            b"Authorization: Bearer" + TOKEN.encode() + b"\r\n",
            b"Authorization: Bearer\t" + TOKEN.encode() + b"\r\n",
            b"Authorization: Basic " + TOKEN.encode() + b"\r\n",
            b"Authorization: " + TOKEN.encode() + b"\r\n",
            b"X-Authorization: Bearer " + TOKEN.encode() + b"\r\n",
            b"Authorization: Bearer " + b"x" * 7_000 + b"\r\n",
        ]
        for header in tries:
            assert status_of(await raw_request(port, start + header, body)) == 401, header
        in_query = f"POST /alerts/alertmanager?token={TOKEN}&access_token={TOKEN} HTTP/1.1\r\n"
        assert status_of(await raw_request(port, in_query.encode() + b"Host: x\r\n", body)) == 401
        huge = b"Authorization: Bearer " + b"x" * 100_000 + b"\r\n"
        assert await oversize_answer(port, start + huge, body) in (400, 431, "reset")
        deep = b"[" * 100_000 + b"]" * 100_000
        auth = b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
        for bad in (deep, body[:-1] + b', "x": ' + deep + b"}"):
            answer = await raw_request(port, start + auth, bad)
            assert status_of(answer) == 400, answer[:300]
            assert b"nested too deeply" in answer
        assert count(database_url, AlertGroupRow) == 0
        lowercase = b"authorization: bearer " + TOKEN.encode() + b"\r\n"
        assert status_of(await raw_request(port, start + lowercase, body)) == 200
    finally:
        await stop(bot)


def hostile_notification(status: str = "firing") -> dict[str, Any]:
    """Every slot a rule or a label could fill, filled to hurt: pings, masked links, Markdown
    link joints that grow under escaping, text over Slack's limits, a secret."""
    joints = "](" * 1_450
    pings = "<!channel> <!here> <@U0A> <@U0B> <@U0C> <http://evil.example|runbook> @everyone"
    alerts = [alert(status, instance=f"node-{i}", pod=joints[:900], note=pings)
              for i in range(120)]  # fmt: skip
    body = notification("checkout", status, alerts=alerts)
    body["groupLabels"]["team"] = pings + "\n" + "t" * 50_000
    body["commonLabels"].update({f"label{i}": joints[:1_990] for i in range(30)})
    body["commonLabels"]["alertname"] = pings + "A" * 45_000
    body["commonAnnotations"] = {
        "summary": pings + " [runbook](http://evil.example) " + joints,
        "description": f"db password={SECRET} " + "<&>" * 2_000,
        "runbook_url": f"https://admin:{SECRET}@runbooks.example/x?token={SECRET}&" + joints,
    }
    body["receiver"] = "<" * 1_000
    return body


async def test_a_hostile_group_posts_one_safe_card_and_its_resolve_updates_it(
    world: World, database_url: str
) -> None:
    slack, model, workspace = world
    sandbox, port = slack.sandbox, free_port()
    bot = await serve(slack, model, workspace, database_url, None, extra_env=alert_env(port))
    try:
        answer = await post(port, hostile_notification())
        assert answer[1].get("action") == "new_episode", answer
        card = (await wait_for(sandbox, lambda: cards(sandbox), 60))[0]
        await wait_for(sandbox, lambda: ANSWER in text_of(sandbox, card["ts"]), 60)
        answer = await post(port, hostile_notification("resolved"))
        assert answer[1].get("action") == "resolved", answer
        await wait_for(sandbox, lambda: "RESOLVED" in json.dumps(cards(sandbox)[0]["blocks"]), 60)
        await wait_for(sandbox, lambda: delivered(database_url), 60)
        refused = [c for c in sandbox.calls if str(c["method"]).startswith("chat.") and not c["ok"]]
        assert refused == [], [(c["method"], c["error"]) for c in refused]
        shown = json.dumps([cards(sandbox)[0]["text"], cards(sandbox)[0]["blocks"]])
        assert SECRET not in shown
        assert SECRET not in text_of(sandbox, card["ts"]), "nor in the investigation's thread"
        for live in ("<!channel>", "<!here>", "<@U0A>", "|runbook>", "](http"):
            assert live not in "\n".join(mrkdwn_texts(cards(sandbox)[0])), live
        assert len(cards(sandbox)) == 1
    finally:
        await stop(bot)


def log_of(workspace: Path) -> str:
    return (workspace.parent / "local.log").read_text(errors="replace")


async def test_a_channel_the_bot_cannot_post_in_loses_no_alert(
    world: World, database_url: str
) -> None:
    """A new user sets a channel id that does not exist: one log line per attempt says which
    alert, which channel and what to do; attempts are spaced out; once the setting is fixed
    and the bot restarted, the card is posted in the right channel, once."""
    slack, model, workspace = world
    sandbox, port = slack.sandbox, free_port()
    wrong = alert_env(port, OPSBOT_ALERT_CHANNEL="C0MISSING")
    bot = await serve(slack, model, workspace, database_url, None, extra_env=wrong)
    try:
        assert (await post(port, notification()))[1]["action"] == "new_episode"
        await wait_for(sandbox, lambda: "channel_not_found" in log_of(workspace), 30)
        await asyncio.sleep(6)
        line = next(x for x in log_of(workspace).splitlines() if "channel_not_found" in x)
        for part in ("HighErrorRate", "C0MISSING", "OPSBOT_ALERT_CHANNEL", "retrying in"):
            assert part in line, line
        tries = [c for c in sandbox.calls if (c.get("args") or {}).get("channel") == "C0MISSING"]
        assert 2 <= len(tries) <= 8, f"{len(tries)} calls in about 6 s: backing off"
    finally:
        await stop(bot)
    assert not delivered(database_url), "kept to deliver"
    fixed = await serve(slack, model, workspace, database_url, None, extra_env=alert_env(port))
    try:
        card = (await wait_for(sandbox, lambda: cards(sandbox), 60))[0]  # in CHANNEL
        await wait_for(sandbox, lambda: ANSWER in text_of(sandbox, card["ts"]), 60)
        await asyncio.sleep(1)
        assert len(cards(sandbox)) == 1
    finally:
        await stop(fixed)
