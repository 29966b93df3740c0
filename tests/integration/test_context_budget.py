"""Context that never overflows: the real SDK against the local model server with a small
enforced window, real DBOS, a real database.

A long investigation under a small OPSBOT_MAX_CONTEXT_TOKENS clears older tool results before
its calls (no request over the window, no 400 at all), keeps the newest result and every
decision, and answers; a "prompt is too long" answer is trimmed for and retried, and a run
that cannot be made to fit ends with one clear line; a run DBOS replays clears the same.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS

from agents import service
from agents.context_budget import MAX_FIT_ATTEMPTS
from agents.context_trim import TRIMMED
from agents.events import RunFinished
from agents.publisher import RecordingPublisher
from sandbox.model.faults import prompt_tokens
from sandbox.model.server import Fault, RunningModelServer, start_model_server
from tests.integration.test_model_limits import _base_tokens
from tests.integration.test_scenario_run import approve_every_request
from tests.support import launched, make_settings, scripted, system_text, thread_and_message

QUESTION = "what broke?"
ANSWER = "The logs show a KeyError in the discount lookup."
SEARCHES = ["INFO", "checkout", "request_id", "POST", "duration_ms", "T14", "ERROR", "GET",
            "discount", "200"]  # fmt: skip
FINDINGS = {"component": "checkout/pricing.py", "error_signature": "KeyError: 'SUMMER'",
            "suspected_cause": "an unknown discount code"}  # fmt: skip
EDIT = {"path": "checkout/pricing.py", "old_string": "percent = DISCOUNTS[code.upper()]",
        "new_string": "percent = DISCOUNTS.get(code.upper(), 0)"}  # fmt: skip


def _search(query: str) -> dict[str, Any]:
    return {"name": "search_logs", "input": {"query": query, "limit": 1000}}


def _log_turn(searches: list[str], first: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"text": "Recording what I know.", "tool_calls": first}] \
        if first else []  # fmt: skip
    steps += [{"text": f"Searching for {q}.", "tool_calls": [_search(q)]} for q in searches]
    steps.append({"text": ANSWER})
    return {"match": ".*", "router": [{"agent": "log_analyzer", "reason": "look"}],
            "log_analyzer": steps}  # fmt: skip


def _coding_turn(reads: int) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [
        {"text": "Fixing the lookup first.", "tool_calls": [{"name": "edit_file", "input": EDIT}]}
    ]
    steps += [
        {"text": f"Reading part {n} of the log.", "tool_calls": [{"name": "read_file", "input": {
            "path": "logs/checkout.log", "start_line": 1 + n, "end_line": 120 + n}}]}
        for n in range(reads)
    ]  # fmt: skip
    steps.append({"text": ANSWER})
    return {"match": ".*", "router": [{"agent": "coding", "reason": "fix it"}], "coding": steps}


@dataclass
class Run:
    outcome: str
    answer: str
    server: RunningModelServer
    steps: list[str]

    def agent_requests(self, role: str = "log_analyzer") -> list[dict[str, Any]]:
        return [b for b in self.server.state.requests if f"{role} agent" in system_text(b)]

    @property
    def refused(self) -> int:
        """Requests the server answered with an error (a 400 here: nothing else is injected)."""
        return len(self.server.state.requests) - self.server.state.served


async def _run(
    database_url: str, workspace: Path, turn: dict[str, Any], *, window: int | None = None,
    watch: Any = None, **settings: Any,
) -> Run:  # fmt: skip
    server = await start_model_server(scripted([turn], latency_ms=100 if watch else 0))
    server.state.max_input_tokens = window
    publisher = RecordingPublisher()
    try:
        async with launched(make_settings(database_url, workspace, server.url, **settings),
                            publisher):  # fmt: skip
            helpers = [asyncio.create_task(approve_every_request(publisher))]
            if watch is not None:
                helpers.append(asyncio.create_task(watch(server)))
            thread, message = thread_and_message(QUESTION)
            handle = await service.start_turn(thread, message)
            outcome = await asyncio.wait_for(handle.get_result(), 120)
            for helper in helpers:
                helper.cancel()
            steps = await DBOS.list_workflow_steps_async(handle.workflow_id, load_output=False)
    finally:
        await server.stop()
    names = [str(step["function_name"]).rsplit(".", 1)[-1] for step in steps]
    return Run(outcome, publisher.of(RunFinished)[0].answer, server, names)


def _results(body: dict[str, Any]) -> dict[str, Any]:
    """tool_use id -> its tool_result's content, in the request's order."""
    return {b["tool_use_id"]: b["content"] for m in body["messages"]
            if isinstance(m["content"], list) for b in m["content"]
            if isinstance(b, dict) and b.get("type") == "tool_result"}  # fmt: skip


def _use_id(body: dict[str, Any], name: str) -> str:
    return next(str(b["id"]) for m in body["messages"] if m["role"] == "assistant"
                and isinstance(m["content"], list) for b in m["content"]
                if b.get("type") == "tool_use" and b["name"] == name)  # fmt: skip


@pytest.mark.parametrize(
    ("searches", "room", "features"),
    [(8, 4000, None), (10, 6000, frozenset())],
    ids=["token counting", "estimate only"],
)
async def test_a_long_investigation_stays_under_a_small_budget_and_answers(
    database_url: str, workspace: Path, searches: int, room: int, features: Any
) -> None:
    window = _base_tokens(database_url, workspace, QUESTION) + room
    run = await _run(
        database_url, workspace, _log_turn(SEARCHES[:searches]), window=window,
        max_context_tokens=window, tool_output_cap=6000, model_features=features,
    )  # fmt: skip

    assert run.outcome == "succeeded", run.answer
    assert ANSWER in run.answer
    assert run.refused == 0, "no request was refused: none went over the window"
    agent = run.agent_requests()
    assert len(agent) == searches + 1
    assert max(prompt_tokens(b) for b in agent) <= window
    last = list(_results(agent[-1]).values())
    assert len(last) == searches, "every call keeps its result block"
    assert TRIMMED in last, "older results were cleared on the way"
    assert last[-1] != TRIMMED, "the newest result stays"
    full = sum(len(json.dumps(r)) for b in agent[1:] for r in list(_results(b).values())[-1:])
    assert full // 4 > window, "without clearing the results alone would not have fit"
    counted = run.steps.count("count_tokens")
    assert (counted > 0) if features is None else (counted == 0)


@pytest.mark.parametrize("decision", ["record_findings", "edit_file (approved)"])
async def test_the_newest_result_and_every_decision_survive_clearing(
    database_url: str, workspace: Path, decision: str
) -> None:
    if decision == "record_findings":
        turn = _log_turn(SEARCHES[:8], first=[{"name": "record_findings", "input": FINDINGS}])
        role, name = "log_analyzer", "record_findings"
    else:
        turn, role, name = _coding_turn(8), "coding", "edit_file"
    window = _base_tokens(database_url, workspace, QUESTION) + 5000
    run = await _run(database_url, workspace, turn, window=window, max_context_tokens=window,
                     tool_output_cap=6000)  # fmt: skip

    assert run.outcome == "succeeded", run.answer
    assert ANSWER in run.answer
    assert run.refused == 0
    last = run.agent_requests(role)[-1]
    results = _results(last)
    kept = results[_use_id(last, name)]
    assert kept != TRIMMED, f"the {decision} result stays"
    assert next(iter(results)) == _use_id(last, name), "the decision is the oldest result"
    contents = list(results.values())
    assert contents[-1] != TRIMMED, "the newest result stays"
    assert TRIMMED in contents[1:-1], "results between them were cleared"


def _too_long_at(call: int, times: int, shortfall: float) -> Any:
    """A watcher that, once the agent's call before `call` arrives, queues `times` answers
    "prompt is too long" for the next agent calls, with a window `shortfall` under the prompt."""

    async def watch(server: RunningModelServer) -> None:
        while True:
            agent = [b for b in server.state.requests if "log_analyzer agent" in system_text(b)]
            if len(agent) >= call - 1:
                tokens = prompt_tokens(agent[-1]) + 1600  # about one more result and reply
                window = int(tokens * (1 - shortfall))
                server.state.faults.append(Fault(
                    kind="status", status=400, role="log_analyzer", count=times,
                    message=f"prompt is too long: {tokens} tokens > {window} maximum",
                ))  # fmt: skip
                return
            await asyncio.sleep(0.005)

    return watch


@pytest.mark.parametrize(
    ("call", "times", "shortfall"),
    [(4, 1, 0.1), (6, 2, 0.3)],
    ids=["once, slightly over", "twice in a row, far over"],
)
async def test_prompt_too_long_is_trimmed_for_and_retried(
    database_url: str, workspace: Path, call: int, times: int, shortfall: float
) -> None:
    run = await _run(
        database_url, workspace, _log_turn(SEARCHES[:8]),
        watch=_too_long_at(call, times, shortfall), tool_output_cap=6000,
    )  # fmt: skip

    assert run.outcome == "succeeded", run.answer
    assert ANSWER in run.answer
    assert run.refused == times
    agent = run.agent_requests()
    assert len(agent) == 8 + 1 + times
    retried = agent[call - 1 + times]
    window = int((prompt_tokens(agent[call - 2]) + 1600) * (1 - shortfall))
    assert TRIMMED in _results(retried).values()
    assert list(_results(retried).values())[-1] != TRIMMED or times > 1
    later = agent[call - 1 + times :]
    assert max(prompt_tokens(b) for b in later) <= window, "the learned window is kept"
    assert not any(isinstance(f, Fault) for f in run.server.state.faults)


@pytest.mark.parametrize("call", [2, 6])
async def test_a_prompt_that_never_fits_ends_with_one_clear_line(
    database_url: str, workspace: Path, call: int
) -> None:
    run = await _run(database_url, workspace, _log_turn(SEARCHES[:8]),
                     watch=_too_long_at(call, 50, 0.1), tool_output_cap=6000)  # fmt: skip

    assert run.outcome == "failed"
    assert "the model's context window" in run.answer
    assert "start a new thread" in run.answer
    assert 1 < run.refused <= 1 + MAX_FIT_ATTEMPTS, "bounded attempts"
    run.server.state.faults.clear()


@pytest.mark.parametrize("features", [None, frozenset()], ids=["token counting", "estimate only"])
async def test_a_replayed_run_clears_the_same_results(
    database_url: str, workspace: Path, features: Any
) -> None:
    """DBOS replays a run from its recorded steps (here by forking it at its last model call):
    the estimates, counts and clearing before that call come out the same, so the call sends
    the very request the original sent."""
    window = _base_tokens(database_url, workspace, QUESTION) + 4000
    server = await start_model_server(scripted([_log_turn(SEARCHES[:8])]))
    server.state.max_input_tokens = window
    settings = make_settings(database_url, workspace, server.url, max_context_tokens=window,
                             tool_output_cap=6000, model_features=features)  # fmt: skip
    try:
        async with launched(settings, RecordingPublisher()):
            thread, message = thread_and_message(QUESTION)
            handle = await service.start_turn(thread, message)
            assert await asyncio.wait_for(handle.get_result(), 60) == "succeeded"
            steps = await DBOS.list_workflow_steps_async(handle.workflow_id, load_output=False)
            last_call = max(s["function_id"] for s in steps if s["function_name"] == "llm_call")
            original = [b for b in server.state.requests if "log_analyzer agent" in system_text(b)]
            forked = await DBOS.fork_workflow_async(handle.workflow_id, last_call)
            assert await asyncio.wait_for(forked.get_result(), 60) == "succeeded"
    finally:
        await server.stop()

    again = [b for b in server.state.requests if "log_analyzer agent" in system_text(b)]
    assert len(again) == len(original) + 1, "only the last call was made again"
    assert any(_cleared(original[-1])), "the original cleared results before its last call"
    assert again[-1]["messages"] == original[-1]["messages"]


def _cleared(body: dict[str, Any]) -> list[bool]:
    return [content == TRIMMED for content in _results(body).values()]
