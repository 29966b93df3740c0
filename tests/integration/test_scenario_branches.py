"""Scripted scenarios branch on approve and reject, and a message of one's own gets one sentence.

Every bundled incident runs through the real engine, the real SDK and the scripted model
server; a person rejects one of its approval cards, and the answer must say what did not
happen instead of carrying on as if it had.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from agents import service
from agents.events import ApprovalRequested, RunFinished
from agents.publisher import RecordingPublisher
from sandbox.mcp.config import DEPLOYS_STATE, write_mcp_config
from sandbox.model.scenario import (
    Position,
    bundled_names,
    load_scenario,
    load_scenarios,
    locate,
    reply_for,
)
from sandbox.model.server import start_model_server
from tests.support import copy_scenario, launched, make_settings, thread_and_message


def _gated_steps(name: str) -> list[int]:
    """The coding steps of a bundled scenario that wait for approval (they carry a branch)."""
    steps = load_scenario(name).turns[0].roles.get("coding", ())  # latency-spike: none
    return [index for index, step in enumerate(steps) if step.if_rejected]


CASES = [(name, n) for name in bundled_names() for n in range(len(_gated_steps(name)))]


async def decide_each(publisher: RecordingPublisher, reject_at: int) -> None:
    """Approve each approval as it is requested, except the `reject_at`-th (0-based)."""
    handled = 0
    while True:
        requests = await publisher.wait_for(ApprovalRequested, count=handled + 1)
        for index, request in enumerate(requests[handled:], start=handled):
            approve = index != reject_at
            reason = None if approve else "not during business hours"
            await service.submit_decision(request.approval_id, approve, "U_LEAD", reason)
        handled = len(requests)


def test_every_approval_of_every_bundled_scenario_has_a_rejected_branch() -> None:
    for name in bundled_names():
        expect = load_scenario(name).extras["expect"]
        assert len(_gated_steps(name)) == len(expect["approvals"]), name


@pytest.mark.parametrize(("name", "reject_at"), CASES)
async def test_a_rejected_card_gets_an_answer_that_says_what_did_not_happen(
    name: str, reject_at: int, database_url: str, tmp_path: Path
) -> None:
    scenario = load_scenario(name)
    coding = scenario.turns[0].roles["coding"]
    rejected_step = coding[_gated_steps(name)[reject_at]]
    workspace = copy_scenario(name, tmp_path)
    files = [p for p in workspace.rglob("*") if p.is_file() and ".git" not in p.parts]
    before = {p: p.read_bytes() for p in files}
    server = await start_model_server(scenario)
    publisher = RecordingPublisher()
    try:
        mcp = write_mcp_config(tmp_path, [name], fresh=True)  # bad-deploy: deploys server
        extra = {"mcp_config": mcp} if mcp else {}
        async with launched(make_settings(database_url, workspace, server.url, **extra), publisher):
            deciding = asyncio.create_task(decide_each(publisher, reject_at))
            thread, message = thread_and_message(scenario.prompt)
            outcome = await asyncio.wait_for(
                (await service.start_turn(thread, message)).get_result(), 60
            )
            deciding.cancel()
    finally:
        await server.stop()
    answer = publisher.of(RunFinished)[0].answer
    approvals = publisher.of(ApprovalRequested)
    assert len(approvals) == reject_at + 1, "no card after the rejected one"
    assert "Root cause found" in answer
    assert rejected_step.if_rejected[-1].text.strip() in answer
    assert "rejected" in answer
    assert coding[-1].text.strip() not in answer, "the approved branch's answer after a rejection"
    assert outcome != "failed", publisher.of(RunFinished)
    rejected_call = approvals[reject_at]
    if rejected_call.tool_name == "write_file":
        changed = [p for p, data in before.items() if p.exists() and p.read_bytes() != data]
        assert changed == [], "a rejected write changed nothing"
    if rejected_call.tool_name.startswith("mcp__deploys__"):  # bad-deploy's rollback
        records = json.loads((tmp_path / DEPLOYS_STATE).read_text())["deploys"]
        assert "rollback" not in [r["kind"] for r in records], "a rejected rollback ran"
    command = json.dumps(rejected_call.model_dump(mode="json"))
    if "-delete" in command:
        assert all(p.exists() for p in before), "a rejected delete deletes nothing"
        assert "rotated debug logs are deleted" not in answer
        assert "not** deleted" in answer


def _request(*after_user: dict[str, Any]) -> dict[str, Any]:
    return {
        "system": "You are opsbot's coding agent.",
        "messages": [{"role": "user", "content": "ingest says the disk is full"}, *after_user],
    }


def _assistant(step: int) -> dict[str, Any]:
    return {"role": "assistant", "content": [
        {"type": "tool_use", "id": f"toolu_{step}", "name": "x", "input": {}}]}  # fmt: skip


def _result(step: int, content: Any, is_error: bool = True) -> dict[str, Any]:
    block = {"type": "tool_result", "tool_use_id": f"toolu_{step}", "content": content,
             "is_error": is_error}  # fmt: skip
    return {"role": "user", "content": [block]}


@pytest.mark.parametrize(
    "content",
    [
        json.dumps({"status": "rejected", "error": "rejected by U0LEAD"}),
        json.dumps({"status": "expired", "error": "the approval request expired"}),
        [{"type": "text", "text": "Rejected by the on-call lead: wait for the freeze to end"}],
    ],
)
def test_the_branch_is_read_from_the_tool_result_of_the_call_that_did_not_run(
    content: Any,
) -> None:
    scenario = load_scenario("disk-full")
    coding = scenario.turns[0].roles["coding"]
    ok = json.dumps({"status": "ok", "data": {}})
    messages = [_assistant(0), _result(0, ok, False), _assistant(1), _result(1, ok, False),
                _assistant(2), _result(2, content)]  # fmt: skip
    position = locate(_request(*messages))
    assert position.rejected_at == 2
    assert reply_for(scenario, position) == coding[2].if_rejected[0]
    later = locate(_request(*messages, _assistant(3), _result(3, ok, False)))
    assert reply_for(scenario, later) == coding[2].if_rejected[1]


@pytest.mark.parametrize(
    "content",
    [
        json.dumps({"status": "error", "error": "exit code 1"}),
        json.dumps({"status": "ok", "data": {"stdout": "rejected rows: 0"}}),
    ],
)
def test_a_call_that_ran_keeps_the_approved_branch(content: Any) -> None:
    scenario = load_scenario("disk-full")
    coding = scenario.turns[0].roles["coding"]
    position = locate(_request(_assistant(0), _result(0, content)))
    assert position.rejected_at is None
    assert reply_for(scenario, position) == coding[1]
    assert reply_for(scenario, Position("coding", "disk full", 1)) == coding[1]


OWN_INCIDENTS = [
    "the api is slow since 10:00",
    "can you restart the web tier?",
    "hello",
]


@pytest.mark.parametrize("text", OWN_INCIDENTS)
async def test_an_incident_of_ones_own_gets_one_plain_sentence(
    text: str, database_url: str, tmp_path: Path
) -> None:
    scenario = load_scenarios("all")
    server = await start_model_server(scenario)
    publisher = RecordingPublisher()
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    try:
        async with launched(make_settings(database_url, workspace, server.url), publisher):
            thread, message = thread_and_message(text)
            outcome = await asyncio.wait_for(
                (await service.start_turn(thread, message)).get_result(), 60
            )
    finally:
        await server.stop()
    answer = publisher.of(RunFinished)[0].answer
    assert "Only the bundled incidents are scripted" in answer
    for name in bundled_names():
        assert name in answer
    assert "ANTHROPIC_API_KEY" in answer
    assert answer.count("Only the bundled incidents") == 1
    assert "unscripted" not in answer
    assert "(scripted model" not in answer
    assert outcome == "declined"
    assert publisher.of(ApprovalRequested) == []
