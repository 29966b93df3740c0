"""The Slack bot at its edges: duplicates, replies, concurrency, limits, bad clicks, forgeries."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import create_engine, select

from core.db import sqlalchemy_url
from core.models import RunRow, ToolCallRow
from sandbox.model.server import RunningModelServer, start_model_server
from sandbox.slack import payloads
from sandbox.slack.server import SandboxConfig, SlackSandbox
from sandbox.slack.signing import signed_headers
from tests.slackbot import CHANNEL, card_with, forge_click, running_bot, thread, wait_for
from tests.support import scripted

pytestmark = pytest.mark.e2e


def runs(database_url: str) -> list[RunRow]:
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as connection:
        rows = list(connection.execute(select(RunRow)).all())
    engine.dispose()
    return rows  # type: ignore[return-value]


def finals_of(sandbox: SlackSandbox, root_ts: str) -> int:
    """How many runs of the thread have ended (each posts one footer)."""
    return len([m for m in thread(sandbox, root_ts) if "tokens" in str(m["blocks"])])


def final_of(sandbox: SlackSandbox, root_ts: str) -> dict[str, Any] | None:
    return next((m for m in thread(sandbox, root_ts) if "tokens" in str(m["blocks"])), None)


def approval_id_of(card: dict[str, Any]) -> str:
    actions = next(b for b in card["blocks"] if b["type"] == "actions")
    return str(actions["elements"][0]["value"])


TWO_TURNS = [
    {
        "match": "first question",
        "router": [{"agent": "log_analyzer", "reason": "look"}],
        "log_analyzer": [{"text": "Answer one: the cache is cold."}],
    },
    {
        "match": "follow up",
        "router": [{"agent": "log_analyzer", "reason": "again"}],
        "log_analyzer": [{"text": "Answer two: warm it at deploy."}],
    },
]


async def test_retried_and_double_deliveries_start_one_run(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    async with running_bot(database_url, workspace, model_server.url) as slack:
        sandbox = slack.sandbox
        root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout is returning 500s")
        for event in payloads.message_events(sandbox.workspace, root):
            sandbox.delivery.event(payloads.event_callback(sandbox.workspace, event))  # a retry
        await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "write_file"))
        await asyncio.sleep(1.0)
        routed = [m for m in thread(sandbox, root.ts) if "*log_analyzer*" in m["text"]]
        assert len(routed) == 1
        assert thread(sandbox, root.ts)[0]["reactions"] == {"eyes": ["U0BOT"]}
        assert len(runs(database_url)) == 1


async def test_a_reply_continues_with_history_and_strangers_threads_are_ignored(
    database_url: str, workspace: Path
) -> None:
    server = await start_model_server(scripted(TWO_TURNS))
    try:
        async with running_bot(database_url, workspace, server.url) as slack:
            sandbox = slack.sandbox
            root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> first question")
            await wait_for(sandbox, lambda: final_of(sandbox, root.ts))
            other = await sandbox.post_as("U0LEAD", CHANNEL, "a thread opsbot is not in")
            await sandbox.post_as("U0ONCALL", CHANNEL, "follow up there", thread_ts=other.ts)
            await sandbox.post_as("U0ONCALL", CHANNEL, "no mention, no thread")
            await sandbox.post_as("U0ONCALL", CHANNEL, "follow up please", thread_ts=root.ts)
            await wait_for(sandbox, lambda: finals_of(sandbox, root.ts) == 2)
            assert "Answer two" in " ".join(m["text"] for m in thread(sandbox, root.ts))
        second = [r for r in server.state.requests if "follow up please" in json.dumps(r)]
    finally:
        await server.stop()
    assert "Answer one: the cache is cold." in json.dumps(second[-1]["messages"])
    assert len(runs(database_url)) == 2
    assert len(thread(sandbox, other.ts)) == 2, "opsbot stayed out of a thread it was not in"


async def test_two_threads_at_once_do_not_mix(database_url: str, workspace: Path) -> None:
    server = await start_model_server(scripted(TWO_TURNS, latency_ms=200, tokens_per_second=80))
    try:
        async with running_bot(database_url, workspace, server.url) as slack:
            sandbox = slack.sandbox
            a, b = await asyncio.gather(
                sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> first question"),
                sandbox.post_as("U0LEAD", CHANNEL, "<@U0BOT> follow up"),
            )
            await wait_for(sandbox, lambda: final_of(sandbox, a.ts) and final_of(sandbox, b.ts))
    finally:
        await server.stop()
    text_a = " ".join(m["text"] for m in thread(sandbox, a.ts))
    text_b = " ".join(m["text"] for m in thread(sandbox, b.ts))
    assert "Answer one" in text_a
    assert "Answer two" not in text_a
    assert "Answer two" in text_b
    assert "Answer one" not in text_b


CHATTY = [
    {
        "match": ".*",
        "router": [{"agent": "log_analyzer", "reason": "look"}],
        "log_analyzer": [
            {
                "text": f"Step {n}: " + "checking the next log window and what it says. " * 8,
                "tool_calls": [{"name": "search_logs", "input": {"query": f"ERROR{n}"}}],
            }
            for n in range(4)
        ]
        + [{"text": "All windows checked: " + "nothing new beyond the KeyError. " * 10 + "END"}],
    },
]


async def test_a_burst_is_rate_limited_yet_nothing_is_lost(
    database_url: str, workspace: Path
) -> None:
    server = await start_model_server(scripted(CHATTY, tokens_per_second=400))
    config = SandboxConfig(rate_window_s=4.0)
    try:
        async with running_bot(
            database_url, workspace, server.url, sandbox_config=config, slack_rate_scale=50.0
        ) as slack:
            sandbox = slack.sandbox
            # each run is one stream (cards, hops and footer inside it): a workspace that lets
            # one stream start per window makes five runs at once meet Slack's 429s
            sandbox.limiter.tiers["chat.startStream"] = 1
            roots = [
                await sandbox.post_as("U0ONCALL", CHANNEL, f"<@U0BOT> burst {n}") for n in range(5)
            ]
            await wait_for(sandbox, lambda: all(final_of(sandbox, r.ts) for r in roots), 90)
    finally:
        await server.stop()
    for root in roots:
        final = final_of(sandbox, root.ts)
        assert final is not None
        shown = "\n".join(m["text"] for m in thread(sandbox, root.ts))
        assert shown.count("nothing new beyond the KeyError. END") == 1, "the answer, once"
        assert not any(m["streaming"] for m in thread(sandbox, root.ts))
    limited = sandbox.limiter.limited
    assert limited, "the burst was meant to exceed Slack's limits"
    calls = sandbox.calls
    for index, call in enumerate(calls):
        if call["status"] != 429:
            continue
        retry_after = next(x["retry_after"] for x in limited if abs(x["at"] - call["at"]) < 0.05)
        same = [
            c
            for c in calls[index + 1 :]
            if c["method"] == call["method"]
            and c["args"].get("channel") == call["args"].get("channel")
        ]
        if same:
            assert same[0]["at"] >= call["at"] + retry_after - 0.3, "a 429 was not honoured"


async def test_a_burst_at_start_is_authorized_without_one_auth_test_per_event(
    database_url: str, workspace: Path
) -> None:
    """Bolt's default would call auth.test per event until its first answer: 2 per mention."""
    server = await start_model_server(scripted(CHATTY, tokens_per_second=400))
    try:
        async with running_bot(database_url, workspace, server.url, slack_rate_scale=50.0) as slack:
            sandbox = slack.sandbox
            space = sandbox.workspace
            foreign = payloads.event_callback(
                space, {"type": "app_mention", "channel": CHANNEL, "user": "U0ONCALL",
                        "text": "<@U0BOT> from elsewhere", "ts": "1700000000.000100"},
            )  # fmt: skip
            foreign["team_id"] = foreign["context_team_id"] = "T0ELSEWHERE"
            foreign["authorizations"][0]["team_id"] = "T0ELSEWHERE"  # another installation
            sandbox.delivery.event(foreign)
            roots = await asyncio.gather(
                *(sandbox.post_as("U0ONCALL", CHANNEL, f"<@U0BOT> burst {n}") for n in range(8))
            )
            await wait_for(sandbox, lambda: all(final_of(sandbox, r.ts) for r in roots), 90)
    finally:
        await server.stop()
    assert [c["method"] for c in sandbox.calls].count("auth.test") == 1  # the startup check
    assert len(runs(database_url)) == 8  # and none for the other workspace's event


async def test_a_concurrent_double_click_decides_once(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    async with running_bot(database_url, workspace, model_server.url) as slack:
        sandbox = slack.sandbox
        root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout is returning 500s")
        card = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "write_file"))
        await asyncio.gather(
            sandbox.click("U0LEAD", CHANNEL, card["ts"], "opsbot_approve"),
            sandbox.click("U0LEAD", CHANNEL, card["ts"], "opsbot_approve"),
        )
        await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "shell_execute"))
        notes = await wait_for(sandbox, lambda: sandbox.ephemeral_for("U0LEAD"))
    assert "Already approved by U0LEAD" in notes[-1]["text"]
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as connection:
        writes = connection.execute(
            select(ToolCallRow.status).where(ToolCallRow.name == "write_file")
        ).all()
    engine.dispose()
    assert [w[0] for w in writes] == ["ok"]


async def test_a_click_after_expiry_changes_nothing(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    async with running_bot(
        database_url, workspace, model_server.url, approval_timeout_s=1.0
    ) as slack:
        sandbox = slack.sandbox
        root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout is returning 500s")
        card = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "write_file"))
        await wait_for(
            sandbox,
            lambda: (
                "Expired"
                in str(next(m for m in thread(sandbox, root.ts) if m["ts"] == card["ts"])["blocks"])
            ),
        )
        stale_screen = dataclasses.replace(
            sandbox.workspace.find_message(CHANNEL, card["ts"]), blocks=card["blocks"]
        )  # the buttons are still on a screen that did not refresh
        button = next(b for b in card["blocks"] if b["type"] == "actions")["elements"][0]
        sandbox.delivery.interactive(
            payloads.block_actions(
                sandbox.workspace,
                sandbox.workspace.users["U0LEAD"],
                stale_screen,
                button,
                "x",
                "http://127.0.0.1:9/none",
                "t",
            )
        )
        notes = await wait_for(sandbox, lambda: sandbox.ephemeral_for("U0LEAD"))
    assert "expired" in notes[-1]["text"]
    assert "DISCOUNTS[code.upper()]" in (workspace / "checkout/pricing.py").read_text()


async def test_a_button_from_another_card_or_a_made_up_one_is_refused(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    async with running_bot(database_url, workspace, model_server.url) as slack:
        sandbox = slack.sandbox
        one = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout is returning 500s")
        two = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout errors again")
        card_one = await wait_for(sandbox, lambda: card_with(sandbox, one.ts, "write_file"))
        card_two = await wait_for(sandbox, lambda: card_with(sandbox, two.ts, "write_file"))
        for forged_value in (approval_id_of(card_two), "made-up-approval"):
            forge_click(sandbox, "U0LEAD", card_one["ts"], forged_value)
        notes = await wait_for(
            sandbox,
            lambda: len(sandbox.ephemeral_for("U0LEAD")) >= 2 and sandbox.ephemeral_for("U0LEAD"),
        )
        assert card_with(sandbox, one.ts, "write_file")
        assert card_with(sandbox, two.ts, "write_file")
    texts = sorted(n["text"] for n in notes)
    assert (
        "does not belong to any approval" in texts[0]
        or "does not belong to any approval" in texts[1]
    )
    assert any("does not belong to this card" in t for t in texts)


async def test_forged_or_stale_http_requests_are_rejected(
    database_url: str, workspace: Path, model_server: RunningModelServer, unused_tcp_port: int
) -> None:
    async with running_bot(
        database_url, workspace, model_server.url, http_port=unused_tcp_port
    ) as slack:
        sandbox = slack.sandbox
        root_event = {
            "type": "app_mention",
            "user": "U0ONCALL",
            "text": "<@U0BOT> rm -rf /",
            "ts": "1700000000.000100",
            "channel": CHANNEL,
            "team": "T0SANDBOX",
        }
        body = json.dumps(payloads.event_callback(sandbox.workspace, root_event))
        url = f"http://127.0.0.1:{unused_tcp_port}/slack/events"
        secret = sandbox.workspace.signing_secret
        json_type = {"Content-Type": "application/json"}
        async with aiohttp.ClientSession() as http:
            wrong = await http.post(
                url,
                data=body,
                headers={**json_type, **signed_headers("guess", str(int(time.time())), body)},
            )
            stale = await http.post(
                url,
                data=body,
                headers={**json_type, **signed_headers(secret, str(int(time.time()) - 600), body)},
            )
        await asyncio.sleep(0.5)
    assert (wrong.status, stale.status) == (401, 401)
    assert runs(database_url) == []


async def test_malformed_payloads_are_dropped_and_the_bot_keeps_working(
    database_url: str, workspace: Path
) -> None:
    server = await start_model_server(scripted(TWO_TURNS))
    try:
        async with running_bot(database_url, workspace, server.url) as slack:
            sandbox = slack.sandbox
            space = sandbox.workspace
            for event in (
                {"type": "app_mention", "text": "<@U0BOT> no user or channel"},
                {"type": "message", "channel": CHANNEL, "user": "U0ONCALL", "thread_ts": "1.2"},
                {"type": "message", "subtype": "message_changed", "channel": CHANNEL},
            ):
                sandbox.delivery.event(payloads.event_callback(space, event))
            sandbox.delivery.interactive({"type": "block_actions", "user": {"id": "U0LEAD"}})
            sandbox.delivery.interactive(
                {
                    "type": "block_actions",
                    "user": {"id": "U0LEAD"},
                    "actions": [{"action_id": "opsbot_approve"}],
                }
            )
            root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> first question")
            await wait_for(sandbox, lambda: final_of(sandbox, root.ts))
    finally:
        await server.stop()
    assert len(runs(database_url)) == 1
