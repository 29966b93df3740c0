"""What a person is told, where: refusals in the card's thread naming approvers, status by topic.

The real bot (`opsbot serve` in-process) against the local Slack workspace and the scripted
model; people click, run `/opsbot status` and open the Home tab as they would in Slack.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from agents.queries import first_words
from sandbox.model.scenario import load_scenario
from sandbox.model.server import RunningModelServer, start_model_server
from sandbox.slack.server import SlackSandbox
from tests.slackbot import CHANNEL, card_with, reject_with_reason, running_bot, wait_for
from tests.support import copy_scenario

pytestmark = pytest.mark.e2e
CHECKOUT = "<@U0BOT> checkout is returning 500s"


async def note_after_click(sandbox: SlackSandbox, user: str, ts: str) -> dict[str, Any]:
    """Click Approve on the card at `ts` as `user`; the ephemeral note they get."""
    before = len(sandbox.ephemeral_for(user))
    await sandbox.click(user, CHANNEL, ts, "opsbot_approve")
    notes = await wait_for(
        sandbox, lambda: len(sandbox.ephemeral_for(user)) > before and sandbox.ephemeral_for(user)
    )
    return dict(notes[-1])


def assert_names_no_raw_ids(text: str) -> None:
    assert "subteam" not in text
    assert "S0ONCALL" not in text
    assert "<@" not in text, "people by name, not as mentions"


async def test_self_approval_is_refused_in_the_thread_naming_who_can(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    async with running_bot(database_url, workspace, model_server.url) as slack:
        sandbox = slack.sandbox
        root = await sandbox.post_as("U0ONCALL", CHANNEL, CHECKOUT)
        write = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "write_file"))
        viewer = await note_after_click(sandbox, "U0VIEWER", write["ts"])
        assert viewer["thread_ts"] == root.ts, "the note is where the card is"
        assert "not on the approvers list" in viewer["text"]
        assert "Casey On-call (@oncall)" in viewer["text"]
        assert "Robin Incident-lead (@lead)" in viewer["text"]
        assert_names_no_raw_ids(viewer["text"])

        await sandbox.click("U0ONCALL", CHANNEL, write["ts"], "opsbot_approve")
        shell = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "shell_execute"), 60)
        own = await note_after_click(sandbox, "U0ONCALL", shell["ts"])
        assert own["thread_ts"] == root.ts
        assert "no self-approval" in own["text"]
        assert "Who can approve it: Robin Incident-lead (@lead)." in own["text"]
        assert "Casey" not in own["text"], "the person refused is not offered as who can"
        assert_names_no_raw_ids(own["text"])
        assert [e for e in sandbox.ephemeral_for("U0ONCALL") if not e["thread_ts"]] == []


async def test_approvers_named_one_by_one_are_named_too(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    async with running_bot(
        database_url, workspace, model_server.url, approvers=["U0LEAD", "U0ONCALL"]
    ) as slack:
        sandbox = slack.sandbox
        root = await sandbox.post_as("U0ONCALL", CHANNEL, CHECKOUT)
        write = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "write_file"))
        note = await note_after_click(sandbox, "U0VIEWER", write["ts"])
        assert note["thread_ts"] == root.ts
        assert "Robin Incident-lead (@lead), Casey On-call (@oncall)" in note["text"]
        assert_names_no_raw_ids(note["text"])


async def test_when_nobody_else_may_approve_the_note_says_so(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    async with running_bot(
        database_url, workspace, model_server.url, approvers=["U0ONCALL"]
    ) as slack:
        sandbox = slack.sandbox
        root = await sandbox.post_as("U0ONCALL", CHANNEL, CHECKOUT)
        write = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "write_file"))
        await sandbox.click("U0ONCALL", CHANNEL, write["ts"], "opsbot_approve")
        shell = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "shell_execute"), 60)
        own = await note_after_click(sandbox, "U0ONCALL", shell["ts"])
        assert own["thread_ts"] == root.ts
        assert "Nobody else on the approvers list can approve it" in own["text"]
        assert "OPSBOT_APPROVERS" in own["text"]


async def status_blocks(sandbox: SlackSandbox, user: str) -> str:
    before = len(sandbox.ephemeral_for(user))
    await sandbox.command(user, CHANNEL, "/opsbot", "status")
    await wait_for(sandbox, lambda: len(sandbox.ephemeral_for(user)) > before)
    return str(sandbox.ephemeral_for(user)[-1]["blocks"])


async def test_status_and_home_name_runs_by_what_they_are_about(
    database_url: str, tmp_path: Path
) -> None:
    scenario = load_scenario("disk-full")
    workspace = copy_scenario("disk-full", tmp_path)
    server = await start_model_server(scenario)
    asked = "<@U0BOT> ingest says no space left on device since 10:00, see <https://g.example|this>"
    try:
        async with running_bot(database_url, workspace, server.url) as slack:
            sandbox = slack.sandbox
            root = await sandbox.post_as("U0LEAD", CHANNEL, asked)
            await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "write_file"), 60)
            about = "ingest says no space left on device"
            status = await status_blocks(sandbox, "U0ONCALL")
            waiting = status.split("*Waiting for approval*")[1].split("*Queued*")[0]
            assert about in waiting
            assert f"…” in <#{CHANNEL}> from <@U0LEAD>" in waiting
            assert "g.example" not in waiting, "no link from the request"
            await sandbox.open_home("U0ONCALL")
            home = await wait_for(sandbox, lambda: _home_of(sandbox, "U0ONCALL"))
            assert about in home.split("*Waiting for your approval*")[1]

            card = card_with(sandbox, root.ts, "write_file")
            assert card
            await reject_with_reason(sandbox, "U0ONCALL", card["ts"], "no")
            await wait_for(sandbox, lambda: "the disk is still full" in str(
                sandbox.rendered_thread(CHANNEL, root.ts)), 60)  # fmt: skip

            async def finished() -> str | None:
                text = (await status_blocks(sandbox, "U0LEAD")).split("*Finished*")[1]
                return text if "T0SANDBOX" in text else None

            done = await wait_for_async(finished)
            assert about in done
            assert f"in <#{CHANNEL}> from <@U0LEAD>: " in done
            assert " ago, took " in done
    finally:
        await server.stop()


async def wait_for_async(probe: Any, timeout_s: float = 30.0) -> Any:
    """Await `probe()` until it returns something truthy."""
    for _ in range(int(timeout_s / 0.2)):
        if value := await probe():
            return value
        await asyncio.sleep(0.2)
    raise AssertionError("timed out")


def _home_of(sandbox: SlackSandbox, user: str) -> str | None:
    views = [v for v in sandbox.workspace.views if v.get("user_id") == user]
    return str(views[-1]["view"]["blocks"]) if views else None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("checkout is returning 500s", "checkout is returning 500s"),
        ("<@U0BOT> the api is slow since 10:00 and p99 doubled overnight",
         "the api is slow since 10:00 and p99 …"),
        ("<!here> <https://x.example|logs>  db\nfailover   stuck in <#C0DB|db-ops>",
         "logs db failover stuck in db-ops"),
        ("a <b", "a b"),
    ],
)  # fmt: skip
def test_first_words_are_plain_text(text: str, words: str) -> None:
    assert first_words(text) == words


async def _home_waiting(sandbox: SlackSandbox, user: str) -> str:
    """The *Waiting for your approval* part of `user`'s Home, freshly opened."""
    before = len([v for v in sandbox.workspace.views if v.get("user_id") == user])
    await sandbox.open_home(user)
    await wait_for(
        sandbox, lambda: len([v for v in sandbox.workspace.views if v.get("user_id") == user])
        > before,
    )  # fmt: skip
    home = _home_of(sandbox, user) or ""
    return home.split("*Waiting for your approval*")[1].split("divider")[0]


async def test_home_lists_only_what_the_person_may_approve_with_a_link_into_the_thread(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    """The command card of a run Casey started is not Casey's to approve (no self-approval of
    a critical action): it is on Robin's Home, with the request, its channel and a link to the
    card inside its thread; a viewer's Home lists nothing."""
    async with running_bot(database_url, workspace, model_server.url) as slack:
        sandbox = slack.sandbox
        root = await sandbox.post_as("U0ONCALL", CHANNEL, CHECKOUT)
        write = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "write_file"))
        assert "write_file" in await _home_waiting(sandbox, "U0ONCALL"), "a write: theirs too"
        await sandbox.click("U0LEAD", CHANNEL, write["ts"], "opsbot_approve")
        shell = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "shell_execute"), 60)

        own = await _home_waiting(sandbox, "U0ONCALL")
        assert "shell_execute" not in own, "the requester may not approve it: not listed"
        lead = await _home_waiting(sandbox, "U0LEAD")
        assert "shell_execute" in lead
        assert "“checkout is returning 500s” in <#" in lead
        card_ts = shell["ts"].replace(".", "")
        assert f"/p{card_ts}?thread_ts={root.ts}&cid={CHANNEL}|card>" in lead
        assert "shell_execute" not in await _home_waiting(sandbox, "U0VIEWER")
