"""Approval binding by attack (review 2026-11-30, D2-D5): real DBOS runs on a real database.

A scripted model that repeats tool_use ids stands in for a buggy model or a hostile proxy:
the sandbox server's ids are replaced by fixed ones for chosen calls.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import sandbox.model.server as model_server_module
from agents import approvals, service
from agents.approvals import DecisionOutcome
from agents.events import ApprovalRequested, ToolFinished
from agents.publisher import RecordingPublisher
from core.models import ApprovalRow, ToolCallRow
from sandbox.model.server import RunningModelServer, start_model_server
from tests.support import counter_workspace, launched, make_settings, scripted, thread_and_message

REUSED = "toolu_REUSED0000000000001"
Outcome = tuple[RecordingPublisher, RunningModelServer, list[ToolCallRow], list[ApprovalRow]]


def fixed_ids(monkeypatch: pytest.MonkeyPatch, ids: dict[str, str]) -> None:
    """Give the tool calls named by `name:json(input)` a fixed id (others keep random ids)."""
    original = model_server_module._blocks

    def blocks(reply: Any, thinks: str | None = None) -> list[dict[str, Any]]:
        made = original(reply, thinks)
        for block in made:
            if block["type"] == "tool_use":
                key = f"{block['name']}:{json.dumps(block['input'], sort_keys=True)}"
                block["id"] = ids.get(key, block["id"])
        return made

    monkeypatch.setattr(model_server_module, "_blocks", blocks)


def key(name: str, **args: Any) -> str:
    return f"{name}:{json.dumps(args, sort_keys=True)}"


def coding_turn(match: str, *calls: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """One user message: routed to coding, which makes each call in its own reply."""
    steps: list[dict[str, Any]] = [
        {"text": f"step {n}", "tool_calls": [{"name": name, "input": args}]}
        for n, (name, args) in enumerate(calls, start=1)
    ]
    return {"match": match, "router": [{"agent": "coding", "reason": "test"}],
            "coding": [*steps, {"text": "done"}]}  # fmt: skip


def results_told(server: RunningModelServer) -> list[str]:
    """Every distinct tool_result the model received, in order (requests repeat earlier ones)."""
    told = [
        block["content"]
        for body in server.state.requests
        for message in body.get("messages", [])
        if message["role"] == "user" and isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]
    return list(dict.fromkeys(told))


async def run_turn(
    database_url: str, workspace: Path, turn: dict[str, Any], decisions: list[bool],
    **settings: Any,
) -> Outcome:  # fmt: skip
    """Run one message; approve or reject each approval request in order."""
    server = await start_model_server(scripted([turn]))
    publisher = RecordingPublisher()
    try:
        async with launched(
            make_settings(database_url, workspace, server.url, **settings), publisher
        ) as engine:
            thread, message = thread_and_message("go")
            handle = await service.start_turn(thread, message)
            for count, approve in enumerate(decisions, start=1):
                request = (await publisher.wait_for(ApprovalRequested, count=count))[-1]
                result = await service.submit_decision(request.approval_id, approve, "U_LEAD")
                assert result.outcome is DecisionOutcome.ACCEPTED
            expected = "succeeded" if all(decisions) else "rejected"  # agents/outcomes.py
            assert await asyncio.wait_for(handle.get_result(), 60) == expected
            calls = await engine.db.run(lambda s: list(s.scalars(select(ToolCallRow)).all()))
            rows = await engine.db.run(lambda s: list(s.scalars(select(ApprovalRow)).all()))
    finally:
        await server.stop()
    return publisher, server, calls, rows


# D4: a reused tool_use id never runs a decided call again.


async def test_a_reused_id_of_an_approved_call_is_refused_not_run_again(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = counter_workspace(tmp_path)
    command = {"command": "python3 count.py"}
    fixed_ids(monkeypatch, {key("shell_execute", **command): REUSED})
    turn = coding_turn(".*", ("shell_execute", command), ("shell_execute", command))
    publisher, server, calls, rows = await run_turn(database_url, workspace, turn, [True])

    assert (workspace / "counter.txt").read_text() == "ran\n"
    assert len(publisher.of(ApprovalRequested)) == 1
    assert [e.status for e in publisher.of(ToolFinished)] == ["ok", "error"]
    told = results_told(server)
    assert "this tool call id was already used" in told[-1]
    assert [(c.tool_use_id, c.status) for c in calls] == [(REUSED, "ok")]
    assert [r.status for r in rows] == ["approved"]


async def test_a_reused_id_of_a_rejected_call_with_new_arguments_is_refused(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = counter_workspace(tmp_path)
    first = {"path": "notes.txt", "content": "first\n"}
    second = {"path": "notes.txt", "content": "second\n"}
    fixed_ids(monkeypatch, {key("write_file", **first): REUSED,
                            key("write_file", **second): REUSED})  # fmt: skip
    turn = coding_turn(".*", ("write_file", first), ("write_file", second))
    publisher, server, calls, rows = await run_turn(database_url, workspace, turn, [False])

    assert not (workspace / "notes.txt").exists()
    assert len(publisher.of(ApprovalRequested)) == 1
    assert "this tool call id was already used" in results_told(server)[-1]
    assert [(c.name, c.status, c.args) for c in calls] == [("write_file", "rejected", first)]
    assert [r.status for r in rows] == ["rejected"]


async def test_an_id_first_used_by_a_read_cannot_carry_a_write(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = counter_workspace(tmp_path)
    read = {"path": "count.py"}
    write = {"path": "count.py", "content": "print('replaced')\n"}
    fixed_ids(monkeypatch, {key("read_file", **read): REUSED, key("write_file", **write): REUSED})
    turn = coding_turn(".*", ("read_file", read), ("write_file", write))
    publisher, server, calls, rows = await run_turn(database_url, workspace, turn, [])

    assert "counter.txt" in (workspace / "count.py").read_text()
    assert publisher.of(ApprovalRequested) == []
    assert "this tool call id was already used" in results_told(server)[-1]
    assert [(c.name, c.status) for c in calls] == [("read_file", "ok")]
    assert rows == []


# D2 (through the agent): a config write is critical and the approver sees why.


async def test_a_gitconfig_write_asks_for_a_critical_approval_with_the_reason(
    database_url: str, tmp_path: Path
) -> None:
    workspace = counter_workspace(tmp_path)
    write = {"path": ".gitconfig", "content": '[diff]\n\texternal = "sh -c id; echo"\n'}
    turn = coding_turn(".*", ("write_file", write))
    publisher, _, _, rows = await run_turn(database_url, workspace, turn, [False])

    request = publisher.of(ApprovalRequested)[0]
    assert request.risk == "critical"
    assert "(policy: writes .gitconfig: git runs programs" in request.reason
    assert [r.risk for r in rows] == ["critical"]
    assert not (workspace / ".gitconfig").exists()


# D3: the number of approvers comes from the row, never from the caller.


def pending_row(approval_id: str, risk: str, first: str | None = None) -> ApprovalRow:
    now = time.time()
    return ApprovalRow(
        id=approval_id, run_id="no-such-run", thread_id="T:C:1", tool_use_id=approval_id,
        tool_name="write_file", args={}, fingerprint="f" * 64, risk=risk, preview="",
        requester="U_REQ", status=approvals.PENDING, created_at=now, expires_at=now + 600,
        delivered=False, first_approved_by=first, first_approved_at=now if first else None,
    )  # fmt: skip


async def test_a_first_approval_is_never_completed_by_a_callers_count_of_one(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, counter_workspace(tmp_path), "http://127.0.0.1:9",
                             two_person_critical=True)  # fmt: skip
    async with launched(settings) as engine:
        await engine.db.run(lambda s: s.add_all([
            pending_row("given", "critical", first="UA"),  # the review's input
            pending_row("fresh", "critical"),  # the two-person risk, no approval yet
            pending_row("changed", "write", first="UA"),  # the rules changed between clicks
        ]))  # fmt: skip
        given = await service.submit_decision("given", True, "UA", approvals_needed=1)
        fresh = await service.submit_decision("fresh", True, "UA", approvals_needed=1)
        changed = await service.submit_decision("changed", True, "UA", approvals_needed=1)
        direct = await engine.db.run(lambda s: approvals.decide(
            s, "given", True, "UA", None, time.time(), approvals_needed=1,
            two_person_for=frozenset(),
        ))  # fmt: skip
        second = await engine.db.run(lambda s: approvals.decide(
            s, "changed", True, "UB", None, time.time(), two_person_for=frozenset(),
        ))  # fmt: skip
        rows = await engine.db.run(lambda s: {r.id: r.status for r in s.scalars(
            select(ApprovalRow)).all()})  # fmt: skip

    assert [given.outcome, fresh.outcome, changed.outcome, direct.outcome] == [
        DecisionOutcome.PARTIAL] * 4  # fmt: skip
    assert second.outcome is DecisionOutcome.ACCEPTED
    assert rows == {"given": "pending", "fresh": "pending", "changed": "approved"}


# D5: read_output reads only outputs kept by the same thread.


async def test_read_output_does_not_cross_threads(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = counter_workspace(tmp_path)
    (workspace / "big.txt").write_text("".join(f"line {n} of a long file\n" for n in range(400)))
    big = "toolu_BIGREAD000000000000001"
    fixed_ids(monkeypatch, {key("read_file", path="big.txt"): big})
    mine = ("read_output", {"output_id": big, "offset": 10})
    theirs = ("read_output", {"output_id": big, "offset": 20})
    unknown = ("read_output", {"output_id": "toolu_never_made", "offset": 0})
    server = await start_model_server(scripted([
        coding_turn("thread A", ("read_file", {"path": "big.txt"}), mine),
        coding_turn("thread B", theirs, unknown),
    ]))  # fmt: skip
    try:
        settings = make_settings(database_url, workspace, server.url, tool_output_cap=400)
        async with launched(settings):
            for text in ("thread A", "thread B"):
                thread, message = thread_and_message(text)
                handle = await service.start_turn(thread, message)
                assert await asyncio.wait_for(handle.get_result(), 60) == "succeeded"
    finally:
        await server.stop()

    told = results_told(server)
    own_page = next(t for t in told if '"offset": 10' in t)
    assert "line " in own_page
    refused = [t for t in told if "no kept output" in t]
    assert len(refused) == 2
    assert any(big in t for t in refused)
    assert not any('"offset": 20' in t for t in told)
