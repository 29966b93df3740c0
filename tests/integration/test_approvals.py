"""The approval gate: reject, expire, decide twice, decide late, decide unknown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from agents import audit, service
from agents.approvals import DecisionOutcome
from agents.events import ApprovalRequested, ApprovalResolved, RunFinished, ToolFinished
from agents.publisher import RecordingPublisher
from core.models import ApprovalRow, ToolCallRow
from sandbox.model.server import RunningModelServer, start_model_server
from tests.support import (
    COUNTER_TURN,
    counter_workspace,
    launched,
    make_settings,
    scripted,
    system_text,
    thread_and_message,
)  # fmt: skip

ORIGINAL_LINE = "percent = DISCOUNTS[code.upper()]"


def tool_results_sent(server: RunningModelServer, agent: str) -> list[str]:
    """Every tool_result text the model received in the requests of one agent."""
    texts = []
    for body in server.state.requests:
        if f"opsbot's {agent} agent" not in system_text(body):
            continue
        last = body["messages"][-1]
        if isinstance(last["content"], list):
            texts += [b["content"] for b in last["content"] if b.get("type") == "tool_result"]
    return texts


async def test_rejected_write_is_not_run_and_the_model_hears_why(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    publisher = RecordingPublisher()
    async with launched(make_settings(database_url, workspace, model_server.url), publisher):
        thread, message = thread_and_message("checkout is returning 500s")
        handle = await service.start_turn(thread, message)
        request = (await publisher.wait_for(ApprovalRequested))[-1]
        result = await service.submit_decision(
            request.approval_id, False, "U_LEAD", "return a 400 for unknown codes instead"
        )
        assert result.outcome is DecisionOutcome.ACCEPTED
        outcome = await asyncio.wait_for(handle.get_result(), 60)

    assert outcome == "not_fixed", "the coding agent reported its fix not done"
    assert ORIGINAL_LINE in (workspace / "checkout/pricing.py").read_text()
    statuses = {e.name: e.status for e in publisher.of(ToolFinished)}
    assert statuses["write_file"] == "rejected"
    assert "shell_execute" not in statuses, "after the rejection the script proposes no test run"
    assert len(publisher.of(ApprovalRequested)) == 1
    assert "Not fixed." in publisher.of(RunFinished)[0].answer
    told = tool_results_sent(model_server, "coding")
    assert any(
        "Rejected by U_LEAD: return a 400 for unknown codes instead" in text for text in told
    )
    assert publisher.of(RunFinished)[0].outcome == "not_fixed"


async def test_unanswered_approval_expires_closed_and_late_clicks_change_nothing(
    database_url: str, tmp_path: Path
) -> None:
    workspace = counter_workspace(tmp_path)
    server = await start_model_server(scripted([COUNTER_TURN]))
    publisher = RecordingPublisher()
    settings = make_settings(database_url, workspace, server.url, approval_timeout_s=0.5)
    try:
        async with launched(settings, publisher) as engine:
            thread, message = thread_and_message("run it")
            handle = await service.start_turn(thread, message)
            request = (await publisher.wait_for(ApprovalRequested))[0]
            outcome = await asyncio.wait_for(handle.get_result(), 30)
            late = await service.submit_decision(request.approval_id, True, "U_LEAD")
            row = await engine.db.run(lambda s: s.get(ApprovalRow, request.approval_id))
            log = await engine.db.run(audit.entries)
    finally:
        await server.stop()

    assert outcome == "expired", "the answer came after an approval nobody decided"
    assert not (workspace / "counter.txt").exists()
    assert [e.status for e in publisher.of(ApprovalResolved)] == ["expired"]
    assert late.outcome is DecisionOutcome.EXPIRED
    assert row is not None
    assert row.status == "expired"
    assert row.decided_by is None
    assert any("expired without a decision" in t for t in tool_results_sent(server, "coding"))
    assert [(e.actor, e.action, e.outcome) for e in reversed(log)] == [
        (None, "expire", "expired"),
        ("U_LEAD", "approve", "expired"),
    ]
    assert {e.approval_id for e in log} == {request.approval_id}


@pytest.fixture
async def counter_server() -> AsyncIterator[RunningModelServer]:
    """The scripted model that asks to run count.py once."""
    server = await start_model_server(scripted([COUNTER_TURN]))
    yield server
    await server.stop()


async def test_concurrent_and_repeated_decisions_run_the_command_once(
    database_url: str, tmp_path: Path, counter_server: RunningModelServer
) -> None:
    workspace = counter_workspace(tmp_path)
    publisher = RecordingPublisher()
    settings = make_settings(database_url, workspace, counter_server.url)
    async with launched(settings, publisher) as engine:
        thread, message = thread_and_message("run it")
        handle = await service.start_turn(thread, message)
        request = (await publisher.wait_for(ApprovalRequested))[0]
        first, second = await asyncio.gather(
            service.submit_decision(request.approval_id, True, "U_ONE"),
            service.submit_decision(request.approval_id, True, "U_TWO"),
        )
        await asyncio.wait_for(handle.get_result(), 30)
        again = await service.submit_decision(request.approval_id, False, "U_THREE")
        unknown = await service.submit_decision("no-such-approval", True, "U_ONE")
        calls = await engine.db.run(lambda s: s.scalars(select(ToolCallRow)).all())

    outcomes = sorted([first.outcome, second.outcome])
    assert outcomes == [DecisionOutcome.ACCEPTED, DecisionOutcome.ALREADY_DECIDED]
    assert again.outcome is DecisionOutcome.ALREADY_DECIDED
    assert again.status == "approved"
    assert unknown.outcome is DecisionOutcome.UNKNOWN
    assert (workspace / "counter.txt").read_text() == "ran\n"
    assert [(c.name, c.status) for c in calls] == [("shell_execute", "ok")]


async def test_changed_arguments_are_refused_even_when_approved(
    database_url: str, tmp_path: Path, counter_server: RunningModelServer
) -> None:
    workspace = counter_workspace(tmp_path)
    publisher = RecordingPublisher()
    settings = make_settings(database_url, workspace, counter_server.url)
    async with launched(settings, publisher) as engine:
        thread, message = thread_and_message("run it")
        handle = await service.start_turn(thread, message)
        request = (await publisher.wait_for(ApprovalRequested))[0]

        def tamper(session):  # type: ignore[no-untyped-def]
            row = session.get(ApprovalRow, request.approval_id)
            row.fingerprint = "0" * 64  # the row no longer describes this exact call

        await engine.db.run(tamper)
        await service.submit_decision(request.approval_id, True, "U_LEAD")
        await asyncio.wait_for(handle.get_result(), 30)

    assert not (workspace / "counter.txt").exists()
    assert [e.status for e in publisher.of(ToolFinished)] == ["denied"]
