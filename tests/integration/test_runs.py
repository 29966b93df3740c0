"""Exactly-once runs, per-thread order, retries, tool errors, loop guard and budgets."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import select

from agents import service
from agents.events import ApprovalRequested, ModelRetry, RunFinished, TextDelta
from agents.publisher import RecordingPublisher
from core.models import MessageRow, RunRow
from sandbox.model.server import Fault, RunningModelServer, start_model_server
from tests.integration.test_approvals import tool_results_sent
from tests.integration.test_scenario_run import approve_every_request
from tests.support import launched, make_settings, scripted, thread_and_message

ANSWER_TURN: dict[str, Any] = {
    "match": ".*",
    "router": [{"agent": "log_analyzer", "reason": "look"}],
    "log_analyzer": [{"text": "Nothing wrong in the logs."}],
}


async def test_the_same_message_twice_is_one_run(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    publisher = RecordingPublisher()
    async with launched(make_settings(database_url, workspace, model_server.url), publisher) as e:
        approving = asyncio.create_task(approve_every_request(publisher))
        thread, message = thread_and_message("checkout is returning 500s")
        first, second = await asyncio.gather(
            service.start_turn(thread, message), service.start_turn(thread, message)
        )
        assert first.workflow_id == second.workflow_id == message.run_id(thread)
        await asyncio.wait_for(first.get_result(), 60)
        third = await service.start_turn(thread, message)
        assert await third.get_result() == "succeeded"
        approving.cancel()
        runs = await e.db.run(lambda s: s.scalars(select(RunRow)).all())

    assert len(runs) == 1
    assert len(publisher.of(RunFinished)) == 1
    assert len(publisher.of(ApprovalRequested)) == 2
    assert model_server.state.served == 11


async def test_threads_run_concurrently_and_one_threads_messages_in_order(
    database_url: str, workspace: Path
) -> None:
    server = await start_model_server(scripted([ANSWER_TURN], latency_ms=300))
    try:
        async with launched(make_settings(database_url, workspace, server.url)) as engine:
            thread_a, first = thread_and_message("first")
            _, second = thread_and_message("second", thread_ts=thread_a.thread_ts)
            thread_b, other = thread_and_message("elsewhere")
            handles = [
                await service.start_turn(thread_a, first),
                await service.start_turn(thread_a, second),
                await service.start_turn(thread_b, other),
            ]
            await asyncio.wait_for(asyncio.gather(*(h.get_result() for h in handles)), 60)

            def load(session):  # type: ignore[no-untyped-def]
                runs = {r.message_ts: r for r in session.scalars(select(RunRow)).all()}
                history = session.scalars(
                    select(MessageRow)
                    .where(MessageRow.thread_id == thread_a.key)
                    .order_by(MessageRow.seq)
                ).all()
                return runs, [(m.role, m.content) for m in history]

            runs, history = await engine.db.run(load)
    finally:
        await server.stop()

    a1, a2, b = runs[first.ts], runs[second.ts], runs[other.ts]
    assert a2.started_at >= a1.finished_at, "one thread's messages must not overlap"
    assert b.started_at < a1.finished_at, "threads run at the same time"
    assert a1.started_at < b.finished_at, "threads run at the same time"
    assert [content for role, content in history if role == "user"] == ["first", "second"]
    second_requests = [r for r in server.state.requests if "second" in str(r["messages"])]
    assert "Nothing wrong in the logs." in str(second_requests[-1]["messages"])


async def test_overload_rate_limit_and_a_broken_stream_are_retried(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    model_server.state.faults.extend(
        [
            Fault(kind="status", status=529, count=1),
            Fault(kind="status", status=429, count=1, retry_after=0.2),
            Fault(kind="break", after_events=6, count=1),
            Fault(kind="status", status=500, count=1),
        ]
    )
    publisher = RecordingPublisher()
    async with launched(make_settings(database_url, workspace, model_server.url), publisher):
        approving = asyncio.create_task(approve_every_request(publisher))
        thread, message = thread_and_message("checkout is returning 500s")
        handle = await service.start_turn(thread, message)
        outcome = await asyncio.wait_for(handle.get_result(), 60)
        approving.cancel()

    assert outcome == "succeeded"
    retries = publisher.of(ModelRetry)
    assert len(retries) == 4
    assert [r.error for r in retries[:2]] == [
        "the model API is overloaded (HTTP 529 overloaded_error: injected failure)",
        "the model API rate-limited opsbot (HTTP 429 rate_limit_error: injected failure)",
    ]
    assert model_server.state.served == 11 + 1  # the broken stream was served, then again
    assert publisher.of(RunFinished)[0].answer.count("Root cause found") == 1


async def test_a_model_that_stays_down_ends_the_run_with_a_clear_reason(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    model_server.state.faults.append(Fault(kind="status", status=529, count=100))
    publisher = RecordingPublisher()
    settings = make_settings(database_url, workspace, model_server.url, model_max_attempts=2)
    async with launched(settings, publisher):
        thread, message = thread_and_message("checkout is returning 500s")
        outcome = await (await service.start_turn(thread, message)).get_result()

    assert outcome == "failed"
    finished = publisher.of(RunFinished)[0]
    assert (
        "the model did not answer: the model API is overloaded (HTTP 529 overloaded_error: "
        "injected failure), after 2 attempts" in finished.answer
    )


TOOL_ERRORS_TURN: dict[str, Any] = {
    "match": ".*",
    "router": [{"agent": "log_analyzer", "reason": "look"}],
    "log_analyzer": [
        {"tool_calls": [
            {"name": "search_logs", "input": {"query": "("}},
            {"name": "read_file", "input": {"path": "../../etc/passwd"}},
            {"name": "search_logs", "input": {"query": "ERROR", "limit": "many"}},
            {"name": "delete_everything", "input": {}},
        ]},
        {"text": "Those tools failed; I could not find it."},
    ],
}  # fmt: skip


async def test_tool_failures_become_error_results_the_model_reads(
    database_url: str, workspace: Path
) -> None:
    server = await start_model_server(scripted([TOOL_ERRORS_TURN]))
    try:
        async with launched(make_settings(database_url, workspace, server.url)):
            thread, message = thread_and_message("what broke?")
            outcome = await (await service.start_turn(thread, message)).get_result()
        told = tool_results_sent(server, "log_analyzer")
    finally:
        await server.stop()

    assert outcome == "succeeded"
    assert len(told) == 4
    assert all('"status": "error"' in t for t in told)
    assert "invalid query" in told[0]
    assert "outside the workspace" in told[1]
    assert "invalid input for search_logs: limit" in told[2]
    assert "has no tool named 'delete_everything'" in told[3]


LOOP_TURN: dict[str, Any] = {
    "match": ".*",
    "router": [{"agent": "log_analyzer", "reason": "look"}],
    "log_analyzer": [
        {"text": f"Looking again ({n}).", "tool_calls": [
            {"name": "search_logs", "input": {"query": "ERROR"}}]}
        for n in range(6)
    ],
}  # fmt: skip


async def test_a_loop_of_identical_tool_calls_is_stopped_with_its_best_answer(
    database_url: str, workspace: Path
) -> None:
    server = await start_model_server(scripted([LOOP_TURN]))
    publisher = RecordingPublisher()
    try:
        async with launched(make_settings(database_url, workspace, server.url), publisher):
            thread, message = thread_and_message("what broke?")
            outcome = await (await service.start_turn(thread, message)).get_result()
    finally:
        await server.stop()

    assert outcome == "limited"
    finished = publisher.of(RunFinished)[0]
    assert finished.limit is not None
    assert "repeated tool call (search_logs" in finished.limit
    assert finished.answer.startswith("Looking again (2).")
    assert "_Stopped: reached the repeated tool call" in finished.answer
    assert server.state.served == 1 + 3  # router, then three identical calls


async def test_the_iteration_budget_ends_the_run_and_says_so(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    publisher = RecordingPublisher()
    settings = make_settings(database_url, workspace, model_server.url, max_iterations=2)
    async with launched(settings, publisher):
        thread, message = thread_and_message("checkout is returning 500s")
        outcome = await (await service.start_turn(thread, message)).get_result()

    assert outcome == "limited"
    finished = publisher.of(RunFinished)[0]
    assert finished.limit == "max iterations (2 model calls)"
    assert "Every failure has the same traceback" in finished.answer
    streamed = "".join(e.text for e in publisher.of(TextDelta))
    assert "Every failure has the same traceback" in streamed
