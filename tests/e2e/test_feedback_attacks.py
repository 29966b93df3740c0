"""Feedback through the local workspace, attacked: a click whose value names the run of
another thread (or another workspace), a comment modal whose `private_metadata` was altered
to name another thread's run or no thread, a comment carrying a secret, one person clicking
👍/👎 many times at once, and a vote on a run that was stopped. Real bot, real sandbox Slack,
real database."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from core.models import FeedbackRow
from sandbox.model.server import RunningModelServer
from sandbox.slack.server import SlackSandbox
from sandbox.slack.sessions import deliver_stop
from tests.e2e.test_feedback import final_message, forged, model, note_for, rows, votes
from tests.slackbot import CHANNEL, running_bot, thread, wait_for
from tests.support import slow_model

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
__all__ = ["model"]  # the fixture, used by name


async def two_answers(sandbox: SlackSandbox) -> list[tuple[str, dict[str, Any]]]:
    """Two threads, each answered: (run id, final message) of each."""
    found = []
    for text in ("<@U0BOT> why is checkout slow?", "<@U0BOT> and payments?"):
        root = await sandbox.post_as("U0ONCALL", CHANNEL, text)
        final = await wait_for(sandbox, lambda r=root: final_message(sandbox, r.ts), 60)
        found.append((f"T0SANDBOX:{CHANNEL}:{root.ts}", final))
    return found


def comment_modals(sandbox: SlackSandbox) -> list[dict[str, Any]]:
    return [v["view"] for v in sandbox.workspace.views
            if v["view"].get("callback_id") == "opsbot_feedback_comment"]  # fmt: skip


async def test_a_vote_naming_another_threads_run_stores_nothing(
    database_url: str, workspace: Path, model: RunningModelServer
) -> None:
    async with running_bot(database_url, workspace, model.url) as slack:
        sandbox = slack.sandbox
        (first_run, first), (second_run, _) = await two_answers(sandbox)
        elsewhere = ["up:" + second_run, "down:" + second_run,
                     "up:T0OTHER:" + first_run.split(":", 1)[1]]  # fmt: skip
        for seen, value in enumerate(elsewhere):
            forged(sandbox, first["ts"], value)
            assert "This answer's run is unknown" in await note_for(sandbox, "U0ONCALL", seen)
        assert votes(database_url) == []
        assert comment_modals(sandbox) == [], "no comment form for a refused 👎"
        forged(sandbox, first["ts"], "up:" + first_run)
        assert "your 👍 is recorded" in await note_for(sandbox, "U0ONCALL", len(elsewhere))
    assert votes(database_url) == [(first_run, "U0ONCALL", "up", None)]


async def test_an_altered_comment_modal_stores_nothing_and_a_secret_is_redacted(
    database_url: str, workspace: Path, model: RunningModelServer
) -> None:
    async with running_bot(database_url, workspace, model.url) as slack:
        sandbox = slack.sandbox
        (first_run, first), (second_run, _) = await two_answers(sandbox)
        await sandbox.click("U0ONCALL", CHANNEL, first["ts"], "opsbot_feedback",
                            f"down:{first_run}")  # fmt: skip
        modal = (await wait_for(sandbox, lambda: comment_modals(sandbox)))[-1]
        original = json.loads(modal["private_metadata"])
        assert original["thread_ts"] == first_run.rsplit(":", 1)[1]
        altered = [
            {**original, "run_id": second_run},
            {**original, "thread_ts": second_run.rsplit(":", 1)[1]},
            {**original, "thread_ts": None},
            {"run_id": first_run},
        ]
        told = 0
        for metadata in altered:
            modal["private_metadata"] = json.dumps(metadata)
            await sandbox.submit_view("U0ONCALL", modal["id"],
                                      {"comment": {"comment": "blame it on me"}})  # fmt: skip
            if metadata.get("thread_ts") and metadata.get("channel"):
                assert "unknown" in await note_for(sandbox, "U0ONCALL", told)
                told += 1
        await asyncio.sleep(1.0)  # the ones without a thread are only logged
        assert "blame it on me" not in str(votes(database_url))
        modal["private_metadata"] = json.dumps(original)
        secret = "AKIAIOSFODNN7EXAMPLE and xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx"
        await sandbox.submit_view("U0ONCALL", modal["id"],
                                  {"comment": {"comment": f"it leaked {secret}"}})  # fmt: skip
        assert "comment is recorded" in await note_for(sandbox, "U0ONCALL", told)
    stored = votes(database_url)
    assert len(stored) == 1
    assert stored[0][:3] == (first_run, "U0ONCALL", "down")
    assert "AKIAIOSFODNN7EXAMPLE" not in str(stored)
    assert "xoxb-" not in str(stored)
    assert "it leaked [REDACTED:" in str(stored[0][3])


async def test_many_quick_votes_from_one_person_leave_one_vote(
    database_url: str, workspace: Path, model: RunningModelServer
) -> None:
    async with running_bot(database_url, workspace, model.url) as slack:
        sandbox = slack.sandbox
        (run_id, final), _ = await two_answers(sandbox)
        clicks = ["up", "down"] * 4 + ["up"]
        for vote in clicks:  # delivered without waiting for one another
            forged(sandbox, final["ts"], f"{vote}:{run_id}")
        await wait_for(sandbox, lambda: len(sandbox.ephemeral_for("U0ONCALL")) >= 5, 60)
        await asyncio.sleep(1.5)
        notes = [str(n["text"]) for n in sandbox.ephemeral_for("U0ONCALL")]
    found = rows(database_url, FeedbackRow)
    assert len(found) == 1
    assert not [n for n in notes if "not recorded" in n or "unknown" in n]
    assert len([n for n in notes if "your 👍 is recorded" in n]) == 5, "every 👍 was answered"


@pytest.mark.parametrize("vote", ["up", "down"])
async def test_a_vote_on_a_stopped_run_is_stored_with_it(
    database_url: str, workspace: Path, vote: str
) -> None:
    async with slow_model() as slow, running_bot(database_url, workspace, slow.url) as slack:
        sandbox = slack.sandbox
        root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout is down")
        run_id = f"T0SANDBOX:{CHANNEL}:{root.ts}"
        await wait_for(sandbox, lambda: len(slow.state.requests) >= 2)
        await wait_for(sandbox, lambda: sandbox.api.sessions.get((CHANNEL, root.ts)))
        sandbox.api.sessions[(CHANNEL, root.ts)].status = "processing"
        deliver_stop(sandbox.api, sandbox.delivery, "U0ONCALL", CHANNEL, root.ts)
        last = await wait_for(sandbox, lambda: next((
            m for m in thread(sandbox, root.ts)
            if "context_actions" in str(m["blocks"]) and "cancelled" in str(m["blocks"])
        ), None))  # fmt: skip
        await sandbox.click("U0LEAD", CHANNEL, last["ts"], "opsbot_feedback",
                            f"{vote}:{run_id}")  # fmt: skip
        await wait_for(sandbox, lambda: votes(database_url))
    assert votes(database_url) == [(run_id, "U0LEAD", vote, None)]
