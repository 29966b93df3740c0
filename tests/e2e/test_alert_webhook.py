"""Alertmanager's webhook through `opsbot serve`, the local workspace and the scripted model:
a firing group opens one thread with its card and one investigation, whatever Alertmanager
repeats or retries; resolved updates the card and starts nothing; flapping is bounded; the
endpoint refuses what is not an authorised version 4 notification and records nothing."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import create_engine, func, select

from core.db import sqlalchemy_url
from core.models import AlertGroupRow, RunRow
from sandbox.model.server import RunningModelServer
from sandbox.slack.app import RunningSlack
from sandbox.slack.server import SlackSandbox
from tests.alerts.notifications import alert, notification
from tests.e2e.dev_process import free_port
from tests.e2e.test_crash_matrix import counter_world, serve
from tests.e2e.test_slack_bot import status_text
from tests.slackbot import CHANNEL, thread, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
World = tuple[RunningSlack, RunningModelServer, Path]
TOKEN = "am-token-0123456789"
ANSWER = "checkout errors began at 14:02 UTC on checkout-1"
SCRIPT: list[dict[str, Any]] = [
    {"match": "Alertmanager alert group", "router": [{"agent": "log_analyzer", "reason": "alert"}],
     "log_analyzer": [{"text": ANSWER}]},
    {"match": ".*", "router": [{"agent": "log_analyzer", "reason": "question"}],
     "log_analyzer": [{"text": "Still looking."}]},
]  # fmt: skip


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with counter_world(tmp_path, SCRIPT) as parts:
        yield parts


def alert_env(port: int, **extra: str) -> dict[str, str]:
    return {"OPSBOT_HTTP_PORT": str(port), "OPSBOT_ALERTMANAGER_TOKEN": TOKEN,
            "OPSBOT_ALERT_CHANNEL": CHANNEL, **extra}  # fmt: skip


async def post(port: int, body: Any, token: str | None = TOKEN, raw: bytes | None = None
               ) -> tuple[int, dict[str, Any]]:  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    data = raw if raw is not None else json.dumps(body).encode()
    async with aiohttp.ClientSession() as session:
        for _ in range(100):  # the listener opens a moment after Socket Mode connects
            try:
                async with session.post(f"http://127.0.0.1:{port}/alerts/alertmanager",
                                        data=data, headers=headers) as response:  # fmt: skip
                    return response.status, await response.json()
            except aiohttp.ClientConnectorError:
                await asyncio.sleep(0.1)
    raise AssertionError("the alert listener never opened")


def cards(sandbox: SlackSandbox) -> list[dict[str, Any]]:
    """The channel's alert cards (top-level messages with opsbot_alert metadata), oldest first."""
    messages = sandbox.workspace.channels[CHANNEL].messages.values()
    found = [m.as_api() for m in messages if m.metadata and not m.thread_ts]
    return sorted(found, key=lambda m: float(m["ts"]))


def text_of(sandbox: SlackSandbox, ts: str) -> str:
    return "\n".join(
        str(m["text"]) + json.dumps(m.get("blocks") or "") for m in thread(sandbox, ts)
    )


def count(database_url: str, model: Any) -> int:
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as connection:
        total = connection.execute(select(func.count()).select_from(model)).scalar_one()
    engine.dispose()
    return int(total)


def recorded_versions(database_url: str) -> int:
    """How many notifications were recorded for delivery, over all groups."""
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as connection:
        total = connection.execute(select(func.sum(AlertGroupRow.version))).scalar()
    engine.dispose()
    return int(total or 0)


def delivered(database_url: str) -> bool:
    """Whether the desk delivered every recorded notification."""
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as connection:
        rows = connection.execute(
            select(AlertGroupRow.version, AlertGroupRow.delivered_version)
        ).all()
    engine.dispose()
    return bool(rows) and all(version == done for version, done in rows)


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)


async def test_a_firing_group_opens_one_thread_and_one_investigation(
    world: World, database_url: str
) -> None:
    slack, model, workspace = world
    sandbox, port = slack.sandbox, free_port()
    bot = await serve(slack, model, workspace, database_url, None, extra_env=alert_env(port))
    try:
        firing = notification()
        # an HA pair of Alertmanagers sends each notification twice, at once
        answers = await asyncio.gather(*(post(port, firing) for _ in range(6)))
        actions = sorted(answer["action"] for _, answer in answers)
        assert actions == ["new_episode"] + ["repeat"] * 5, answers
        card = (await wait_for(sandbox, lambda: cards(sandbox), 60))[0]
        shown = json.dumps(card["blocks"])
        assert "[FIRING:1] HighErrorRate (checkout)" in shown
        assert "checkout returns 5xx on 12% of requests" in shown, "the summary"
        assert "https://runbooks.example/checkout-5xx" in shown, "the runbook"
        assert "prometheus.example:9090/graph" in shown, "the source"
        assert "*severity*\\npage" in shown, "the labels"
        await wait_for(sandbox, lambda: ANSWER in text_of(sandbox, card["ts"]), 60)
        for _ in range(3):  # Alertmanager's retries and repeat_interval re-sends
            assert (await post(port, firing))[1]["action"] == "repeat"
        second_alert = notification(alerts=[alert(), alert(instance="checkout-2:9100")])
        assert (await post(port, second_alert))[1]["action"] == "updated"
        await wait_for(sandbox, lambda: "[FIRING:2]" in json.dumps(cards(sandbox)[0]["blocks"]))
        resolved = notification(status="resolved", alerts=[alert("resolved")])
        assert (await post(port, resolved))[1]["action"] == "resolved"
        await wait_for(sandbox, lambda: "RESOLVED" in json.dumps(cards(sandbox)[0]["blocks"]))
        await wait_for(sandbox, lambda: "Resolved: 1 alert(s)" in text_of(sandbox, card["ts"]))
        session = sandbox.api.sessions[(CHANNEL, card["ts"])]
        await wait_for(sandbox, lambda: session.status == "closed")  # the incident is over
        await asyncio.sleep(1.5)
        assert session.history[-2:] == ["active", "closed"]
        assert len(cards(sandbox)) == 1, "one thread per episode"
        assert count(database_url, RunRow) == 1, "one investigation per episode"
        assert text_of(sandbox, card["ts"]).count(ANSWER) == 1
    finally:
        await stop(bot)


async def test_people_talk_to_the_bot_in_the_alert_thread(world: World, database_url: str) -> None:
    slack, model, workspace = world
    sandbox, port = slack.sandbox, free_port()
    bot = await serve(slack, model, workspace, database_url, None, extra_env=alert_env(port))
    try:
        await post(port, notification())
        card = (await wait_for(sandbox, lambda: cards(sandbox), 60))[0]
        await wait_for(sandbox, lambda: ANSWER in text_of(sandbox, card["ts"]), 60)
        await sandbox.post_as("U0ONCALL", CHANNEL, "is it still happening?", thread_ts=card["ts"])
        await wait_for(sandbox, lambda: "Still looking." in text_of(sandbox, card["ts"]), 60)
        assert count(database_url, RunRow) == 2
        status = await status_text(sandbox, "U0ONCALL")
        assert "Alerts firing" in status
        assert "HighErrorRate (1 firing" in status
        assert f"p{card['ts'].replace('.', '')}" in status, "linked to its thread"
        await post(port, notification(status="resolved", alerts=[alert("resolved")]))
        await wait_for(sandbox, lambda: delivered(database_url))
        assert "Alerts firing" not in await status_text(sandbox, "U0ONCALL")
    finally:
        await stop(bot)


async def test_a_flapping_group_is_investigated_a_bounded_number_of_times(
    world: World, database_url: str
) -> None:
    slack, model, workspace = world
    sandbox, port = slack.sandbox, free_port()
    env = alert_env(port, OPSBOT_ALERT_FLAP_LIMIT="2")
    bot = await serve(slack, model, workspace, database_url, None, extra_env=env)
    try:
        for episode in range(1, 6):
            starts = f"2026-11-30T14:0{episode}:00Z"
            firing = notification(alerts=[alert(starts_at=starts)])
            assert (await post(port, firing))[1] == {"ok": True, "action": "new_episode",
                                                     "episode": episode}  # fmt: skip
            await wait_for(sandbox, lambda: delivered(database_url), 60)
            resolved = notification(status="resolved", alerts=[alert("resolved", starts_at=starts)])
            assert (await post(port, resolved))[1]["action"] == "resolved"
        last = await wait_for(sandbox, lambda: len(cards(sandbox)) == 2 and cards(sandbox)[-1])
        await wait_for(sandbox, lambda: "Fired again" in text_of(sandbox, last["ts"]))
        await wait_for(sandbox, lambda: count(database_url, RunRow) == 2, 60)
        await asyncio.sleep(1.5)
        assert len(cards(sandbox)) == 2, "two episodes opened threads, the other three did not"
        assert count(database_url, RunRow) == 2
        said = [m["text"] for m in thread(sandbox, last["ts"]) if "Fired again" in m["text"]]
        assert len(said) == 3, said
    finally:
        await stop(bot)


NO_KEY = {k: v for k, v in notification().items() if k != "groupKey"}
BAD: list[tuple[str, bytes, str | None, int, str]] = [
    ("no token", b"{}", None, 401, "bearer token"),
    ("wrong token", b"{}", "not-the-token", 401, "bearer token"),
    ("token as basic", b"{}", "", 401, "bearer token"),
    ("not JSON", b"{not json", TOKEN, 400, "not JSON"),
    ("not UTF-8", b"\xff\xfe{}", TOKEN, 400, "not JSON"),
    ("a list", b"[]", TOKEN, 400, "not a JSON object"),
    ("version 3", json.dumps({**notification(), "version": "3"}).encode(), TOKEN, 400, "version"),
    ("no alerts", json.dumps({**notification(), "alerts": []}).encode(), TOKEN, 400, "alerts"),
    ("no groupKey", json.dumps(NO_KEY).encode(), TOKEN, 400, "groupKey"),
    (
        "bad status",
        json.dumps({**notification(), "status": "pending"}).encode(),
        TOKEN,
        400,
        "status",
    ),
    (
        "label not text",
        json.dumps(
            {**notification(), "alerts": [{**alert(), "labels": {"alertname": ["x"]}}]}
        ).encode(),
        TOKEN,
        400,
        "labels",
    ),
]


async def test_the_endpoint_refuses_what_it_cannot_take_and_records_nothing(
    world: World, database_url: str
) -> None:
    slack, model, workspace = world
    sandbox, port = slack.sandbox, free_port()
    bot = await serve(slack, model, workspace, database_url, None, extra_env=alert_env(port))
    try:
        for name, body, token, status, error in BAD:
            got, answer = await post(port, None, token=token, raw=body)
            assert (got, answer["ok"]) == (status, False), name
            assert error in answer["error"], (name, answer)
        big = json.dumps(notification(alerts=[alert(instance=f"i-{n}" + "x" * 2000)
                                              for n in range(4500)])).encode()  # fmt: skip
        assert (await post(port, None, raw=big))[0] == 413
        resolved_unknown = notification(
            "never-fired", status="resolved", alerts=[alert("resolved")]
        )
        assert (await post(port, resolved_unknown))[1]["action"] == "ignored"
        await asyncio.sleep(1)
        assert recorded_versions(database_url) == 0, "remembered, but nothing to deliver"
        assert cards(sandbox) == []
    finally:
        await stop(bot)


@pytest.mark.parametrize("fault", ["after_alert_recorded", "after_alert_card"])
async def test_a_kill_around_the_card_loses_nothing_and_posts_nothing_twice(
    world: World, database_url: str, fault: str
) -> None:
    slack, model, workspace = world
    sandbox, port = slack.sandbox, free_port()
    first = await serve(slack, model, workspace, database_url, fault, extra_env=alert_env(port))
    try:
        if fault == "after_alert_recorded":
            with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
                await post(port, notification())
        else:
            assert (await post(port, notification()))[0] == 200
        await asyncio.wait_for(first.wait(), 60)
        assert first.returncode == -signal.SIGKILL
    finally:
        await stop(first)
    assert count(database_url, AlertGroupRow) == 1, "recorded before the answer"
    second = await serve(slack, model, workspace, database_url, None, extra_env=alert_env(port))
    try:
        if fault == "after_alert_recorded":  # Alertmanager retries what got no 200
            assert (await post(port, notification()))[1]["action"] == "repeat"
        card = (await wait_for(sandbox, lambda: cards(sandbox), 60))[0]
        await wait_for(sandbox, lambda: ANSWER in text_of(sandbox, card["ts"]), 60)
        await asyncio.sleep(1.5)
        assert len(cards(sandbox)) == 1
        assert count(database_url, RunRow) == 1
    finally:
        await stop(second)
