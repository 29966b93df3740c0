"""The bundled incident from a mention in the local workspace to the final answer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sandbox.model.server import RunningModelServer
from sandbox.slack.server import SlackSandbox
from tests.otlp import otlp_receiver
from tests.slack_runs import readable
from tests.slackbot import CHANNEL, card_with, running_bot, thread, wait_for

pytestmark = pytest.mark.e2e


async def status_text(sandbox: SlackSandbox, user: str) -> str:
    """Run `/opsbot status` as `user` and return the ephemeral answer's text."""
    before = len(sandbox.ephemeral_for(user))
    await sandbox.command(user, CHANNEL, "/opsbot", "status")
    await wait_for(sandbox, lambda: len(sandbox.ephemeral_for(user)) > before)
    return str(sandbox.ephemeral_for(user)[-1]["blocks"])


async def walk_through_the_incident(sandbox: SlackSandbox, workspace: Path) -> None:
    """What an on-call engineer and an incident lead do and see."""
    root = await sandbox.post_as("U0ONCALL", CHANNEL, "<@U0BOT> checkout is returning 500s")
    await wait_for(sandbox, lambda: "eyes" in thread(sandbox, root.ts)[0]["reactions"])
    reacted = next(c for c in sandbox.calls if c["method"] == "reactions.add" and c["ok"])
    assert reacted["at"] - float(root.ts) < 1.0, "the thread shows within a second that it is seen"
    run_id = f"T0SANDBOX:{CHANNEL}:{root.ts}"
    running = ""
    for _ in range(50):  # the queue hands the run over within its poll interval
        running = (await status_text(sandbox, "U0ONCALL")).split("*Waiting for approval*")[0]
        if run_id in running.split("*Running*")[1]:
            break
        await asyncio.sleep(0.1)
    assert run_id in running.split("*Running*")[1], "status lists the run while it runs"
    first = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "write_file"))
    texts = readable(thread(sandbox, root.ts))
    assert ":compass: *log_analyzer*" in texts
    assert "KeyError: 'SPRING24'" in texts
    assert "`search_logs` ERROR|KeyError|POST /checkout 500 — ok" in texts
    assert "DISCOUNTS.get(code.upper(), 0)" in str(first["blocks"])
    assert "Waiting for approval" in await status_text(sandbox, "U0ONCALL")
    assert "write_file" in await status_text(sandbox, "U0ONCALL")

    await sandbox.click("U0VIEWER", CHANNEL, first["ts"], "opsbot_approve")
    refused = await wait_for(sandbox, lambda: sandbox.ephemeral_for("U0VIEWER"))
    assert "you are not on the approvers list" in refused[-1]["text"]
    assert card_with(sandbox, root.ts, "write_file") is not None, (
        "an unauthorized click changes nothing"
    )

    await sandbox.click("U0LEAD", CHANNEL, first["ts"], "opsbot_approve")
    second = await wait_for(sandbox, lambda: card_with(sandbox, root.ts, "shell_execute"))
    decided = next(m for m in thread(sandbox, root.ts) if m["ts"] == first["ts"])
    assert "Approved by <@U0LEAD>" in str(decided["blocks"])
    await sandbox.click("U0LEAD", CHANNEL, second["ts"], "opsbot_approve")

    final = await wait_for(
        sandbox,
        lambda: next((m for m in thread(sandbox, root.ts) if "tokens" in str(m["blocks"])), None),
    )
    assert (
        final is thread(sandbox, root.ts)[-1] or final["ts"] == thread(sandbox, root.ts)[-1]["ts"]
    )
    shown = "\n".join(m["text"] for m in thread(sandbox, root.ts))
    assert shown.count("Root cause found") == 1, "the answer appears once (streamed)"
    assert shown.count("**Fixed.**") == 1
    assert ":white_check_mark: succeeded" in str(final["blocks"])
    assert "DISCOUNTS.get(code.upper(), 0)" in (workspace / "checkout/pricing.py").read_text()
    assert not any(m["streaming"] for m in thread(sandbox, root.ts)), "no stream left open"
    assert "Finished" in (done := await status_text(sandbox, "U0ONCALL"))
    assert "succeeded" in done


async def test_the_incident_end_to_end_in_socket_mode(
    database_url: str, workspace: Path, model_server: RunningModelServer, unused_tcp_port: int
) -> None:
    async with (
        otlp_receiver(unused_tcp_port) as received,
        running_bot(
            database_url, workspace, model_server.url, otel_exporter_otlp_endpoint=received.url
        ) as slack,
    ):
        await walk_through_the_incident(slack.sandbox, workspace)
    # The run's trace links to the span of the listener that received the mention.
    spans = [span for span, _, scope in received.spans() if scope == "opsbot"]
    listener = next(s for s in spans if s.name == "slack app_mention")
    run = next(s for s in spans if s.name == "run")
    assert [(link.trace_id, link.span_id) for link in run.links] == [
        (listener.trace_id, listener.span_id)
    ]
    assert listener.trace_id != run.trace_id
    attributes = {a.key: a.value.string_value for a in listener.attributes}
    assert attributes["slack.channel_id"] == CHANNEL
    assert attributes["opsbot.run_id"] == f"T0SANDBOX:{CHANNEL}:" + attributes["slack.message_ts"]


async def test_the_incident_end_to_end_over_http(
    database_url: str, workspace: Path, model_server: RunningModelServer, unused_tcp_port: int
) -> None:
    async with running_bot(
        database_url, workspace, model_server.url, http_port=unused_tcp_port
    ) as slack:
        await walk_through_the_incident(slack.sandbox, workspace)
