"""Replies cut at the output limit, and prompts over the context window.

A tool call cut at `max_tokens` is never proposed or run (the model hears why and goes on
with edit_file); a prompt over the window is trimmed, oldest tool results first, and sent
again; when nothing is left to trim the thread says the conversation no longer fits.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from agents import service
from agents.context_trim import TRIMMED
from agents.events import ApprovalRequested, RunFinished, ToolFinished, ToolStarted
from agents.publisher import RecordingPublisher
from agents.specs import log_analyzer_agent
from agents.state import NetworkState
from sandbox.model.faults import prompt_tokens
from sandbox.model.server import Fault, RunningModelServer, start_model_server
from tests.integration.test_scenario_run import approve_every_request
from tests.support import launched, make_settings, scripted, system_text, thread_and_message
from tools.registry import default_tools

ORIGINAL_LINE = "percent = DISCOUNTS[code.upper()]"
FIXED_LINE = "percent = DISCOUNTS.get(code.upper(), 0)"
WHOLE_FILE = "from decimal import Decimal\n" + "# filler line of a long module\n" * 400
FIX_TURN: dict[str, Any] = {
    "match": ".*",
    "router": [{"agent": "coding", "reason": "fix the discount lookup"}],
    "coding": [
        {"text": "(replaced by the cut reply)"},
        {"text": "A smaller change instead.", "tool_calls": [
            {"name": "edit_file", "input": {"path": "checkout/pricing.py",
                                            "old_string": ORIGINAL_LINE,
                                            "new_string": FIXED_LINE}}]},
        {"text": "Fixed the discount lookup with one edit."},
    ],
}  # fmt: skip


async def _run(
    database_url: str, workspace: Path, turns: list[dict[str, Any]], faults: list[Fault],
    limit: int | None = None, text: str = "fix checkout", **settings: Any,
) -> tuple[str, RecordingPublisher, RunningModelServer]:  # fmt: skip
    server = await start_model_server(scripted(turns))
    server.state.faults.extend(dataclasses.replace(fault) for fault in faults)
    server.state.max_input_tokens = limit
    publisher = RecordingPublisher()
    try:
        async with launched(make_settings(database_url, workspace, server.url, **settings),
                            publisher):  # fmt: skip
            approving = asyncio.create_task(approve_every_request(publisher))
            thread, message = thread_and_message(text)
            handle = await service.start_turn(thread, message)
            outcome = await asyncio.wait_for(handle.get_result(), 90)
            approving.cancel()
    finally:
        await server.stop()
    return outcome, publisher, server


def _write_cut(stop: str, cut_at: int, before: list[dict[str, Any]] | None = None) -> Fault:
    call = {"type": "tool_use", "name": "write_file",
            "input": {"path": "checkout/pricing.py", "content": WHOLE_FILE}}  # fmt: skip
    content = [{"type": "text", "text": "Rewriting pricing.py."}, *(before or []), call]
    return Fault(kind="reply", role="coding", stop_reason=stop, content=content, cut_at=cut_at)


CUT_REPLIES = {
    "max_tokens in the content": _write_cut("max_tokens", 400),
    "max_tokens before the content key": _write_cut("max_tokens", 30),
    "max_tokens before any input": _write_cut("max_tokens", 0),
    "context window in the content": _write_cut("model_context_window_exceeded", 2000),
}


def _results_for(server: RunningModelServer, tool_use_id: str) -> list[dict[str, Any]]:
    return [
        block
        for body in server.state.requests
        for message in body["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result" and block.get("tool_use_id") == tool_use_id
    ]


@pytest.mark.parametrize("case", list(CUT_REPLIES))
async def test_a_tool_call_cut_at_a_limit_is_never_run_and_the_model_goes_on(
    database_url: str, workspace: Path, case: str
) -> None:
    outcome, publisher, server = await _run(
        database_url, workspace, [FIX_TURN], [CUT_REPLIES[case]]
    )

    assert outcome == "succeeded", publisher.of(RunFinished)[0].answer
    source = (workspace / "checkout/pricing.py").read_text()
    assert FIXED_LINE in source
    assert "filler line" not in source
    assert [a.tool_name for a in publisher.of(ApprovalRequested)] == ["edit_file"]
    assert "write_file" not in [s.name for s in publisher.of(ToolStarted)]
    cut = next(f for f in publisher.of(ToolFinished) if f.name == "write_file")
    assert cut.status == "error"
    told = _results_for(server, cut.tool_use_id)
    assert told
    assert told[0]["is_error"] is True
    limit = "context window" if "context" in case else "output limit (max_tokens)"
    assert limit in told[0]["content"]
    assert "edit_file" in told[0]["content"]
    assert "Field required" not in told[0]["content"]
    assert "Fixed the discount lookup with one edit." in publisher.of(RunFinished)[0].answer


async def test_complete_calls_before_the_cut_one_still_run(
    database_url: str, workspace: Path
) -> None:
    search = {"type": "tool_use", "name": "search_code", "input": {"pattern": "DISCOUNTS"}}
    fault = _write_cut("max_tokens", 100, before=[search])
    outcome, publisher, server = await _run(database_url, workspace, [FIX_TURN], [fault])

    assert outcome == "succeeded"
    finished = {f.name: f for f in publisher.of(ToolFinished)}
    assert finished["search_code"].status == "ok"
    assert finished["write_file"].status == "error"
    told = _results_for(server, finished["search_code"].tool_use_id)
    assert "checkout/pricing.py" in told[0]["content"]


SEARCHES = ["INFO", "checkout", "request_id", "POST", "duration_ms", "T14"]


def _log_turn(searches: list[str], said: str = "") -> dict[str, Any]:
    steps: list[dict[str, Any]] = [
        {"text": f"Searching for {q}.{said}", "tool_calls": [
            {"name": "search_logs", "input": {"query": q, "limit": 1000}}]}
        for q in searches
    ]  # fmt: skip
    steps.append({"text": "The logs show a KeyError in the discount lookup."})
    return {"match": ".*", "router": [{"agent": "log_analyzer", "reason": "look"}],
            "log_analyzer": steps}  # fmt: skip


def _base_tokens(database_url: str, workspace: Path, text: str) -> int:
    """The log_analyzer's first prompt, counted as the scripted model counts it."""
    settings = make_settings(database_url, workspace, "http://127.0.0.1:9")
    spec = log_analyzer_agent(default_tools(), settings)
    body = {"system": spec.prompt(NetworkState({})), "tools": spec.tool_definitions(),
            "messages": [{"role": "user", "content": text}]}  # fmt: skip
    return prompt_tokens(body)


@pytest.mark.parametrize(("searches", "room"), [(SEARCHES[:4], 4000), (SEARCHES, 3000)])
async def test_a_prompt_over_the_window_is_trimmed_oldest_results_first(
    database_url: str, workspace: Path, searches: list[str], room: int
) -> None:
    limit = _base_tokens(database_url, workspace, "what broke?") + room
    outcome, publisher, server = await _run(
        database_url, workspace, [_log_turn(searches)], [], limit=limit, text="what broke?",
        tool_output_cap=6000,
    )  # fmt: skip

    assert outcome == "succeeded", publisher.of(RunFinished)[0].answer
    assert "KeyError in the discount lookup" in publisher.of(RunFinished)[0].answer
    agent = [b for b in server.state.requests if "log_analyzer agent" in system_text(b)]
    refused = [b for b in agent if prompt_tokens(b) > limit]
    assert refused, "the window was reached at least once"
    answered = [b for b in agent if prompt_tokens(b) <= limit]
    last = answered[-1]["messages"]
    results = [b for m in last if isinstance(m["content"], list) for b in m["content"]
               if b.get("type") == "tool_result"]  # fmt: skip
    assert len(results) == len(searches)  # every call still has its result
    trimmed = [r["content"] == TRIMMED for r in results]
    assert trimmed[0], "the oldest result goes first"
    assert not trimmed[-1], "the newest result stays"
    assert trimmed == sorted(trimmed, reverse=True)


async def test_a_message_that_alone_does_not_fit_ends_with_a_clear_line(
    database_url: str, workspace: Path
) -> None:
    text = "please read this: " + "x " * 4000
    limit = _base_tokens(database_url, workspace, text) - 500
    outcome, publisher, _ = await _run(
        database_url, workspace, [_log_turn(SEARCHES[:1])], [], limit=limit, text=text
    )

    assert outcome == "failed"
    answer = publisher.of(RunFinished)[0].answer
    assert "the conversation no longer fits the model's context window" in answer
    assert "start a new thread" in answer


async def test_trimming_that_cannot_reach_the_window_ends_with_a_clear_line(
    database_url: str, workspace: Path
) -> None:
    said = " Reasoning about it at length:" + " and so on" * 200  # ~500 tokens a step
    limit = _base_tokens(database_url, workspace, "what broke?") + 1200
    outcome, publisher, server = await _run(
        database_url, workspace, [_log_turn(SEARCHES[:3], said)], [], limit=limit,
        text="what broke?", tool_output_cap=6000,
    )  # fmt: skip

    assert outcome == "failed"
    assert "no longer fits the model's context window" in publisher.of(RunFinished)[0].answer
    last = server.state.requests[-1]
    assert json.dumps(last).count(TRIMMED) >= 1
