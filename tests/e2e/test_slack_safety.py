"""Safety in the local workspace: self-approval, two people, the audit log, no leaked secrets."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from agents import audit
from core.db import Database, sqlalchemy_url
from sandbox.model.server import RunningModelServer, start_model_server
from sandbox.slack.server import SlackSandbox
from tests.e2e.test_slack_bot_edges import approval_id_of, final_of
from tests.slackbot import (
    CHANNEL,
    card_with,
    forge_click,
    reject_with_reason,
    running_bot,
    thread,
    wait_for,
)
from tests.support import counter_workspace, scripted

pytestmark = pytest.mark.e2e


def audit_rows(database_url: str) -> list[tuple[str | None, str, str]]:
    database = Database(create_engine(sqlalchemy_url(database_url)))
    rows = database.transact(lambda s: audit.entries(s))
    database.dispose()
    return [(r.actor, r.action, r.outcome) for r in reversed(rows)]


async def click_and_hear(sandbox: SlackSandbox, user: str, ts: str) -> str:
    before = len(sandbox.ephemeral_for(user))
    await sandbox.click(user, CHANNEL, ts, "opsbot_approve")
    notes = await wait_for(
        sandbox, lambda: len(sandbox.ephemeral_for(user)) > before and sandbox.ephemeral_for(user)
    )
    return str(notes[-1]["text"])


async def test_the_requester_cannot_approve_their_own_critical_command(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    async with running_bot(database_url, workspace, model_server.url) as slack:
        sandbox = slack.sandbox
        root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout is returning 500s")
        write = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "write_file"))
        await sandbox.click("U0ONCALL", CHANNEL, write["ts"], "opsbot_approve")  # write: allowed
        shell = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "shell_execute"))
        note = await click_and_hear(sandbox, "U0ONCALL", shell["ts"])
        assert "no self-approval" in note
        assert card_with(sandbox, root.ts, "shell_execute") is not None
        await sandbox.click("U0LEAD", CHANNEL, shell["ts"], "opsbot_approve")
        await wait_for(sandbox, lambda: final_of(sandbox, root.ts))
    assert audit_rows(database_url) == [
        ("U0ONCALL", "approve", "accepted"),
        ("U0ONCALL", "approve", "refused"),
        ("U0LEAD", "approve", "accepted"),
    ]


async def test_two_person_rule_needs_two_different_approvers(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    async with running_bot(
        database_url, workspace, model_server.url, approvers=["U0LEAD", "U0VIEWER"],
        two_person_critical=True,
    ) as slack:  # fmt: skip
        sandbox = slack.sandbox
        root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout is returning 500s")
        write = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "write_file"))
        await sandbox.click("U0LEAD", CHANNEL, write["ts"], "opsbot_approve")
        shell = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "shell_execute"))
        await sandbox.click("U0LEAD", CHANNEL, shell["ts"], "opsbot_approve")
        await wait_for(
            sandbox,
            lambda: (
                ":one: Approved by <@U0LEAD>" in str(card_with(sandbox, root.ts, "shell_execute"))
            ),
        )
        note = await click_and_hear(sandbox, "U0LEAD", shell["ts"])
        assert "a second, different approver is needed" in note
        assert final_of(sandbox, root.ts) is None, "one approval must not run a critical command"
        await sandbox.click("U0VIEWER", CHANNEL, shell["ts"], "opsbot_approve")
        await wait_for(sandbox, lambda: final_of(sandbox, root.ts))
    shown = "\n".join(m["text"] for m in thread(sandbox, root.ts))
    assert shown.count("**Fixed.**") == 1, "the answer is shown once (streamed)"
    assert audit_rows(database_url) == [
        ("U0LEAD", "approve", "accepted"),
        ("U0LEAD", "approve", "partial"),
        ("U0LEAD", "approve", "refused"),
        ("U0VIEWER", "approve", "accepted"),
    ]


CHANGED_COMMAND = [
    {"match": ".*", "router": [{"agent": "coding", "reason": "run the counter"}],
     "coding": [
         {"text": "Running the counter.", "tool_calls": [
             {"name": "shell_execute", "input": {"command": "python3 count.py"}}]},
         {"text": "Once more, with a flag.", "tool_calls": [
             {"name": "shell_execute", "input": {"command": "python3 count.py --again"}}]},
         {"text": "Done."}]},
]  # fmt: skip


async def test_an_approval_is_not_reused_for_a_changed_command(
    database_url: str, tmp_path: Path
) -> None:
    workspace = counter_workspace(tmp_path)
    counter = workspace / "counter.txt"
    server = await start_model_server(scripted(CHANGED_COMMAND))
    try:
        async with running_bot(database_url, workspace, server.url) as slack:
            sandbox = slack.sandbox
            root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> run the counter")
            first = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "count.py"))
            approved = approval_id_of(first)
            await sandbox.click("U0LEAD", CHANNEL, first["ts"], "opsbot_approve")
            second = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "--again"))
            assert counter.read_text() == "ran\n"
            # The approved id replayed on the new card, then on its own decided card.
            for card in (second, first):
                before = len(sandbox.ephemeral_for("U0LEAD"))
                forge_click(sandbox, "U0LEAD", card["ts"], approved)
                notes = await wait_for(
                    sandbox, lambda n=before: len(sandbox.ephemeral_for("U0LEAD")) > n and
                    sandbox.ephemeral_for("U0LEAD"),
                )  # fmt: skip
            await asyncio.sleep(1.0)
            assert counter.read_text() == "ran\n", "an old approval ran the changed command"
            assert card_with(sandbox, root.ts, "--again") is not None
            await reject_with_reason(sandbox, "U0LEAD", second["ts"], "once")
            await wait_for(sandbox, lambda: final_of(sandbox, root.ts))
    finally:
        await server.stop()
    texts = " ".join(n["text"] for n in notes)
    assert "does not belong to this card" in texts
    assert "Already approved by U0LEAD" in texts
    assert counter.read_text() == "ran\n"
    assert audit_rows(database_url) == [
        ("U0LEAD", "approve", "accepted"),
        ("U0LEAD", "approve", "refused"),
        ("U0LEAD", "approve", "already_decided"),
        ("U0LEAD", "reject", "accepted"),
    ]


async def test_no_token_or_key_of_the_bot_reaches_slack_or_the_model(
    database_url: str, workspace: Path
) -> None:
    server = await start_model_server(scripted([]))
    try:
        async with running_bot(database_url, workspace, server.url) as slack:
            sandbox = slack.sandbox
            space = sandbox.workspace
            secrets = [
                space.bot_token,
                space.app_token,
                space.signing_secret,
                "sk-test-not-a-real-key",
            ]
            (workspace / ".env").write_text(
                f"SLACK_BOT_TOKEN={space.bot_token}\nSLACK_APP_TOKEN={space.app_token}\n"
                f"SLACK_SIGNING_SECRET={space.signing_secret}\nANTHROPIC_API_KEY=sk-test-not-a-real-key\n"
            )
            leaky = f"Found them: {space.bot_token} {space.signing_secret} sk-test-not-a-real-key ."
            server.state.scenario = scripted([
                {"match": ".*", "router": [{"agent": "log_analyzer", "reason": "look"}],
                 "log_analyzer": [
                     {"text": "Reading the config.", "tool_calls": [
                         {"name": "read_file", "input": {"path": ".env"}},
                         {"name": "search_logs", "input": {"query": "ERROR"}}]},
                     {"text": leaky}]},
            ])  # fmt: skip
            root = await sandbox.post_as(
                "U0ONCALL", CHANNEL, f"<@U0BOT> is {space.app_token} valid?"
            )
            await wait_for(sandbox, lambda: final_of(sandbox, root.ts))
        seen_by_people = json.dumps(
            [thread(sandbox, root.ts)[1:], [vars(e) for e in space.ephemeral]]
        )
        seen_by_model = json.dumps(server.state.requests)
    finally:
        await server.stop()
    for secret in secrets:
        assert secret not in seen_by_people
        assert secret not in seen_by_model
    assert "[REDACTED:own_secret" in seen_by_people
    assert "[REDACTED:own_secret" in seen_by_model


def test_opsbot_audit_prints_the_log(database_url: str, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from core import migrate

    engine = create_engine(sqlalchemy_url(database_url))
    migrate.upgrade(engine)
    database = Database(engine)
    database.transact(
        lambda s: audit.add(
            s,
            action="approve",
            outcome="refused",
            actor="U0VIEWER",
            run_id="T:C:1.2",
            detail="not on the approvers list",
        )
    )
    database.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOT_")}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "audit", "--run", "T:C:1.2"],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=60,
        env={**env, "OPSBOT_DATABASE_URL": database_url, "OPSBOT_WORKSPACE": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("when (UTC)")
    assert "U0VIEWER" in lines[1]
    assert "refused" in lines[1]
    assert "not on the approvers list" in lines[1]
