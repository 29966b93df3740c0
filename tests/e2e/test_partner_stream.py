"""A Slack Connect partner's mention streams to the partner's own team (chat.startStream's
`recipient_team_id` is "the ID of the team that is associated with recipient_user_id"), live
and after a `kill -9` while the run waits for approval; the local workspace refuses any other
team (sandbox/slack/limits.py), so a refused write fails these tests."""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.model.server import RunningModelServer, start_model_server
from sandbox.slack.app import RunningSlack
from sandbox.slack.model import Channel, User
from sandbox.slack.server import SlackSandbox
from tests.e2e.test_crash_matrix import SCRIPT, counter_world, serve
from tests.slack_runs import readable
from tests.slackbot import running_bot, wait_for
from tests.support import scripted

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
SHARED = "C0SHARED"
ANSWER = [{"match": ".*", "router": [{"agent": "log_analyzer", "reason": "look"}],
           "log_analyzer": [{"text": "Looked at it."}]}]  # fmt: skip
PARTNER = User("U0PARTNER", "pat", "Pat Partner", team_id="T0PARTNER")
VENDOR = User("U0VENDOR", "vic", "Vic Vendor", team_id="T0VENDOR")
EXPECTED_REFUSALS = {"message_not_in_streaming_state", "ratelimited"}


def share(sandbox: SlackSandbox, host_team: str | None = None) -> None:
    """A Slack Connect channel shared with two partner organisations."""
    space = sandbox.workspace
    space.channels[SHARED] = Channel(SHARED, "acme-incidents", {"U0BOT", "U0ONCALL", "U0LEAD"},
                                     host_team=host_team)  # fmt: skip
    space.add_partner(PARTNER, SHARED)
    space.add_partner(VENDOR, SHARED)


def shown(sandbox: SlackSandbox, root_ts: str) -> list[dict[str, Any]]:
    return sandbox.rendered_thread(SHARED, root_ts)


def recipients(sandbox: SlackSandbox, since: int = 0) -> set[tuple[str, str]]:
    """(recipient_user_id, recipient_team_id) of every stream the bot started."""
    return {(str(c["args"].get("recipient_user_id")), str(c["args"].get("recipient_team_id")))
            for c in sandbox.calls[since:] if c["method"] == "chat.startStream"}  # fmt: skip


def assert_nothing_refused(sandbox: SlackSandbox) -> None:
    refused = [(c["method"], c["error"]) for c in sandbox.calls
               if c["error"] and c["error"] not in EXPECTED_REFUSALS]  # fmt: skip
    assert refused == [], "Slack refused a write of the bot"
    assert sandbox.api.violations.seen == [], "a write met one of Slack's limits"


def answers(sandbox: SlackSandbox, root_ts: str) -> int:
    return sum("Looked at it." in m["text"] for m in shown(sandbox, root_ts))


LIVE = [
    # (who mentions, who replies without a mention, the channel's host, streams expected)
    ("U0PARTNER", None, None, {("U0PARTNER", "T0PARTNER")}),
    ("U0PARTNER", None, "T0PARTNER", {("U0PARTNER", "T0PARTNER")}),
    ("U0VENDOR", None, None, {("U0VENDOR", "T0VENDOR")}),
    ("U0ONCALL", "U0PARTNER", None, {("U0ONCALL", "T0SANDBOX"), ("U0PARTNER", "T0PARTNER")}),
    ("U0PARTNER", "U0ONCALL", None, {("U0PARTNER", "T0PARTNER"), ("U0ONCALL", "T0SANDBOX")}),
    ("U0ONCALL", None, None, {("U0ONCALL", "T0SANDBOX")}),  # a host user: unchanged
]


@pytest.mark.parametrize(
    ("first", "second", "host", "expected"),
    LIVE,
    ids=["partner", "partner-hosted", "second-partner", "host-then-partner",
         "partner-then-host", "host"],
)  # fmt: skip
async def test_a_mention_streams_to_the_team_of_the_person_who_asked(
    database_url: str, workspace: Path, first: str, second: str | None, host: str | None,
    expected: set[tuple[str, str]],
) -> None:  # fmt: skip
    server = await start_model_server(scripted(ANSWER))
    try:
        async with running_bot(database_url, workspace, server.url) as slack:
            sandbox = slack.sandbox
            share(sandbox, host)
            root = await sandbox.post_as(first, SHARED, "<@U0BOT> webhooks return 502")
            await wait_for(sandbox, lambda: answers(sandbox, root.ts) >= 1)
            if second is not None:
                await sandbox.post_as(second, SHARED, "it started at 10:00", thread_ts=root.ts)
                await wait_for(sandbox, lambda: answers(sandbox, root.ts) >= 2)
    finally:
        await server.stop()
    assert recipients(sandbox) == expected
    assert_nothing_refused(sandbox)
    assert all(m["text"].count("Looked at it.") <= 1 for m in shown(sandbox, root.ts))


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[RunningSlack, RunningModelServer, Path]]:
    async with counter_world(tmp_path, SCRIPT) as parts:
        yield parts


def _card(sandbox: SlackSandbox, root_ts: str) -> dict[str, Any] | None:
    for message in shown(sandbox, root_ts):
        blocks = message.get("blocks") or []
        if any(b.get("type") == "actions" for b in blocks) and "shell_execute" in str(blocks):
            return message
    return None


def _final(sandbox: SlackSandbox, root_ts: str) -> bool:
    return any("tokens" in str(m["blocks"]) for m in shown(sandbox, root_ts))


@pytest.mark.parametrize(("asker", "team"), [("U0PARTNER", "T0PARTNER"),
                                             ("U0VENDOR", "T0VENDOR"),
                                             ("U0ONCALL", "T0SANDBOX")])  # fmt: skip
async def test_after_a_kill_the_approved_command_streams_to_the_askers_team(
    database_url: str, world: tuple[RunningSlack, RunningModelServer, Path], asker: str,
    team: str,
) -> None:  # fmt: skip
    slack, model, workspace = world
    sandbox = slack.sandbox
    share(sandbox)
    first = await serve(slack, model, workspace, database_url, "waiting_approval")
    root = await sandbox.post_as(asker, SHARED, "<@U0BOT> run the counter")
    await asyncio.wait_for(first.wait(), 60)
    assert first.returncode == -signal.SIGKILL
    second = await serve(slack, model, workspace, database_url, None)
    try:
        card = await wait_for(sandbox, lambda: _card(sandbox, root.ts))
        since = len(sandbox.calls)
        await sandbox.click("U0LEAD", SHARED, card["ts"], "opsbot_approve")
        await wait_for(sandbox, lambda: _final(sandbox, root.ts), 60)
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), 30)
    assert recipients(sandbox, since) == {(asker, team)}, "the resumed run streamed its work"
    assert recipients(sandbox) == {(asker, team)}
    assert_nothing_refused(sandbox)
    text = readable(shown(sandbox, root.ts))
    assert re.search(r"`shell_execute`[^\n]* — ok", text), "the approved command's outcome"
    assert text.count("The counter ran and reported back.") == 1
    assert (workspace / "counter.txt").read_text() == "ran\n"
