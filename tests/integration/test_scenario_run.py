"""The bundled scenario through the real SDK, the scripted model and real DBOS workflows."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from agents import service
from agents.events import (
    ApprovalRequested,
    Routed,
    RunFinished,
    TextDelta,
    ToolCallProposed,
    ToolFinished,
)
from agents.publisher import RecordingPublisher
from core.models import ApprovalRow, LlmCallRow, MessageRow, RunRow, ThreadStateRow, ToolCallRow
from sandbox.model.server import RunningModelServer
from tests.support import launched, make_settings, system_text, thread_and_message


async def approve_every_request(publisher: RecordingPublisher, approver: str = "U_LEAD") -> None:
    """Approve each approval as it is requested, the way a person clicking would."""
    handled = 0
    while True:
        requests = await publisher.wait_for(ApprovalRequested, count=handled + 1)
        for request in requests[handled:]:
            await service.submit_decision(request.approval_id, True, approver)
        handled = len(requests)


async def test_checkout_incident_is_investigated_fixed_and_recorded(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    publisher = RecordingPublisher()
    settings = make_settings(database_url, workspace, model_server.url)
    async with launched(settings, publisher) as engine:
        thread, message = thread_and_message("checkout is returning 500s")
        approver = asyncio.create_task(approve_every_request(publisher))
        handle = await service.start_turn(thread, message)
        outcome = await asyncio.wait_for(handle.get_result(), 60)
        approver.cancel()
        run_id = message.run_id(thread)

        assert outcome == "succeeded", publisher.of(RunFinished)
        assert [(r.agent, r.rule) for r in publisher.of(Routed)] == [
            ("log_analyzer", "classifier"),
            ("coding", "classifier"),
            ("done", "completion"),
        ]
        streamed = "".join(e.text for e in publisher.of(TextDelta, run_id))
        assert "KeyError: 'SPRING24'" in streamed
        proposed = [e.name for e in publisher.of(ToolCallProposed, run_id)]
        assert proposed == [
            "search_logs", "read_file", "record_findings", "read_file", "write_file",
            "shell_execute", "report_fix",
        ]  # fmt: skip
        assert [a.tool_name for a in publisher.of(ApprovalRequested)] == [
            "write_file",
            "shell_execute",
        ]
        diff = publisher.of(ApprovalRequested)[0].preview
        assert "-    percent = DISCOUNTS[code.upper()]" in diff
        assert "+    percent = DISCOUNTS.get(code.upper(), 0)" in diff
        finished_tools = {e.name: e.status for e in publisher.of(ToolFinished)}
        assert finished_tools == {
            "search_logs": "ok", "read_file": "ok", "write_file": "ok", "shell_execute": "ok",
        }  # fmt: skip
        assert "DISCOUNTS.get(code.upper(), 0)" in (workspace / "checkout/pricing.py").read_text()
        final = publisher.of(RunFinished)[0]
        assert final.outcome == "succeeded"
        assert "Root cause found" in final.answer
        assert "Fixed." in final.answer
        assert final.input_tokens > 0
        assert final.cost_usd > 0

        def rows(session):  # type: ignore[no-untyped-def]
            return (
                session.scalars(select(MessageRow).order_by(MessageRow.seq)).all(),
                session.get(RunRow, run_id),
                session.scalars(select(ToolCallRow)).all(),
                session.scalars(select(ApprovalRow)).all(),
                session.scalars(select(LlmCallRow)).all(),
                {s.key: s.value for s in session.scalars(select(ThreadStateRow)).all()},
            )

        messages, run, calls, approval_rows, llm_calls, state = await engine.db.run(rows)
        assert [(m.role, m.seq) for m in messages] == [("user", 1), ("assistant", 2)]
        assert messages[0].content == "checkout is returning 500s"
        assert messages[1].agent == "log_analyzer,coding"
        assert run.status == "succeeded"
        assert run.agents == ["log_analyzer", "coding"]
        assert run.llm_calls == 9
        assert run.cost_usd > 0
        assert {c.name: c.status for c in calls} == finished_tools
        assert sorted(a.status for a in approval_rows) == ["approved", "approved"]
        assert all(a.decided_by == "U_LEAD" for a in approval_rows)
        assert len(llm_calls) == 11  # 9 agent calls + 2 router classifications
        assert state["findings"]["error_signature"] == "KeyError: 'SPRING24'"
        assert state["fix"]["status"] == "fixed"

        coding_requests = [
            r for r in model_server.state.requests if "opsbot's coding agent" in system_text(r)
        ]
        assert "KeyError: 'SPRING24'" in system_text(coding_requests[0])
        shell_result = coding_requests[3]["messages"][-1]["content"][0]["content"]
        assert "Ran 4 tests" in shell_result
        assert '"exit_code": 0' in shell_result
