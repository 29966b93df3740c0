"""More inputs of the kinds a review of issue 16, section 1 found, end to end through the real
anthropic SDK and the scripted model server: calls that change nothing or a file that is not
UTF-8 (no approval card), a refusal that ends the turn, and API messages over several lines
(one outcome line). Tool-level inputs of the same kinds: tests/unit/test_file_writes_exact.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agents.events import ApprovalRequested, ModelRetry, RunFinished, ToolFinished
from agents.model_errors import MAX_LINE, describe_error
from sandbox.model.server import Fault, start_model_server
from tests.integration.test_review_model_inputs import (
    DONE,
    LOOK_TURN,
    ORIGINAL_LINE,
    _edit,
    _edit_run,
    _fail,
    _result_of,
    _run,
)
from tests.support import scripted, system_text

# -- a call that changes nothing, or a file that cannot be written back: nobody is asked --------


def _write(path: str, content: str) -> dict[str, Any]:
    return {"type": "tool_use", "name": "write_file",
            "input": {"path": path, "content": content}}  # fmt: skip


NO_CARD = {
    "write_file with the file's current content": (
        _write("checkout/pricing.py", "(current)"), "already holds exactly this content"),
    "write_file of a CRLF file's lines as read_file shows them": (
        _write("deploy.bat", "@echo off\nset PORT=8080\n"), "already holds exactly this content"),
    "edit_file of a CRLF file that only changes its line end": (
        _edit("set PORT=8080\r\n", "set PORT=8080\n", path="deploy.bat"), "changes nothing"),
    "write_file over a Latin-1 file": (
        _write("legacy.cfg", "# caf\ufffd settings\nversion=2\n"), "not UTF-8 text"),
    "edit_file of a cp1252 file, on an ASCII line": (
        _edit("level=1", "level=2", path="notes.txt"), "not UTF-8 text"),
}  # fmt: skip


def _snapshot(workspace: Path) -> dict[Path, bytes]:
    """Every file of the workspace outside .git, with its bytes."""
    return {
        p: p.read_bytes() for p in workspace.rglob("*") if p.is_file() and ".git" not in p.parts
    }


@pytest.mark.parametrize("case", list(NO_CARD))
async def test_review_a_write_that_changes_nothing_or_would_change_other_bytes_asks_nobody(
    database_url: str, workspace: Path, case: str
) -> None:
    call, words = NO_CARD[case]
    (workspace / "deploy.bat").write_bytes(b"@echo off\r\nset PORT=8080\r\n")
    (workspace / "legacy.cfg").write_bytes(b"# caf\xe9 settings\nversion=1\n")
    (workspace / "notes.txt").write_bytes(b"\x93quoted\x94\nlevel=1\n")
    if call["input"].get("content") == "(current)":
        call = _write("checkout/pricing.py", (workspace / "checkout/pricing.py").read_text())
    before = _snapshot(workspace)
    outcome, publisher, server = await _edit_run(database_url, workspace, call)

    assert outcome == "succeeded"
    assert publisher.of(ApprovalRequested) == [], [a.preview for a in
                                                   publisher.of(ApprovalRequested)]  # fmt: skip
    assert publisher.of(ToolFinished)[0].status == "error"
    assert words in _result_of(server, publisher)
    assert _snapshot(workspace) == before


# -- a refusal ends the turn, wherever it comes ---------------------------------------------


def _agent_calls(requests: list[dict[str, Any]], agent: str) -> int:
    return sum(f"You are opsbot's {agent} agent" in system_text(body) for body in requests)


REFUSALS: dict[str, tuple[list[dict[str, str]], list[Fault], str]] = {
    "a refusal after a tool call, the coding agent was next": (
        [{"agent": "log_analyzer", "reason": "look"}, {"agent": "coding", "reason": "fix"}],
        [Fault(kind="reply", role="log_analyzer", stop_reason="tool_use", content=[
            {"type": "text", "text": "Searching."},
            {"type": "tool_use", "name": "search_logs", "input": {"query": "ERROR"}}]),
         Fault(kind="reply", role="log_analyzer", stop_reason="refusal",
               content=[{"type": "text", "text": "I can't go on with this."}])],
        "coding"),
    "a refusal with no content at all": (
        [{"agent": "log_analyzer", "reason": "look"}, {"agent": "coding", "reason": "fix"}],
        [Fault(kind="reply", role="log_analyzer", stop_reason="refusal", content=[])],
        "coding"),
    "a refusal after a paused turn": (
        [{"agent": "log_analyzer", "reason": "look"}, {"agent": "coding", "reason": "fix"}],
        [Fault(kind="reply", role="log_analyzer", stop_reason="pause_turn",
               content=[{"type": "text", "text": "Part."}]),
         Fault(kind="reply", role="log_analyzer", stop_reason="refusal",
               content=[{"type": "text", "text": "I can't go on with this."}])],
        "coding"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(REFUSALS))
async def test_review_a_refusal_anywhere_ends_the_turn(
    database_url: str, workspace: Path, case: str
) -> None:
    route, faults, never = REFUSALS[case]
    turn = {
        "match": ".*",
        "router": route,
        "log_analyzer": [{"text": "unused"}, {"text": "unused"}],
        "coding": [{"text": "Rewriting.", "tool_calls": [
            {"name": "edit_file", "input": {"path": "checkout/pricing.py",
                                            "old_string": ORIGINAL_LINE, "new_string": "x"}}]},
                   {"text": DONE}],
    }  # fmt: skip
    outcome, publisher, server = await _run(database_url, workspace, [turn], faults)

    assert outcome == "declined", publisher.of(RunFinished)[0].answer
    assert _agent_calls(server.state.requests, never) == 0, f"{never} took a declined request"
    routes = [
        b for b in server.state.requests if (b.get("tool_choice") or {}).get("type") == "tool"
    ]
    assert len(routes) <= 1, "the router was asked again after the refusal"
    assert publisher.of(ApprovalRequested) == []
    assert ORIGINAL_LINE in (workspace / "checkout/pricing.py").read_text()
    assert "The model declined to answer this request" in publisher.of(RunFinished)[0].answer


# -- an outside message over several lines is one line wherever it is told ---------------------

MULTI_LINE = {
    "CRLF and tabs": "line one\r\n\tline two\r\n",
    "Unicode line and paragraph separators": "first\u2028second\u2029third\x0bfourth",
    "very long, over many lines": "\n".join(f"messages.{n}: invalid" for n in range(400)),
}


@pytest.mark.parametrize("case", list(MULTI_LINE))
@pytest.mark.parametrize(("kind", "status"), [("status", 529), ("status", 400),
                                              ("stream_error", 400)])  # fmt: skip
async def test_review_any_api_message_is_described_in_one_bounded_line(
    case: str, kind: str, status: int
) -> None:
    server = await start_model_server(scripted([LOOK_TURN]))
    server.state.faults.append(Fault(kind=kind, status=status, message=MULTI_LINE[case],
                                     error_type="api_error", after_events=2))  # fmt: skip
    try:
        error = await _fail(server.url)
    finally:
        await server.stop()
    line = describe_error(error)

    assert line.splitlines() == [line], line
    assert len(line) <= MAX_LINE
    assert (
        ("line one line two" in line)
        or ("first second third fourth" in line)
        or ("messages.0: invalid messages.1: invalid" in line)
    ), line


MESSAGE = "messages.3.content.0: invalid\n  tool_use id 'toolu_1'\n  expected a tool_result"


async def test_review_the_retry_note_of_a_multi_line_stream_error_is_one_line(
    database_url: str, workspace: Path
) -> None:
    fault = Fault(kind="stream_error", error_type="overloaded_error", message=MESSAGE,
                  after_events=2, role="log_analyzer")  # fmt: skip
    outcome, publisher, _ = await _run(database_url, workspace, [LOOK_TURN], [fault])

    assert outcome == "succeeded"
    (retry,) = publisher.of(ModelRetry)
    assert retry.error.splitlines() == [retry.error], retry.error
    assert "tool_use id 'toolu_1' expected a tool_result" in retry.error


async def test_review_the_stopped_line_of_a_multi_line_400_is_one_line(
    database_url: str, workspace: Path
) -> None:
    fault = Fault(kind="status", status=400, message=MESSAGE, role="log_analyzer")
    outcome, publisher, _ = await _run(database_url, workspace, [LOOK_TURN], [fault])

    assert outcome == "failed"
    finished = publisher.of(RunFinished)[0]
    stopped = finished.answer.split("\n\n")[-1]
    assert stopped.startswith("_The run stopped: the model did not answer"), finished.answer
    assert stopped.splitlines() == [stopped], stopped
    assert "tool_use id 'toolu_1' expected a tool_result" in stopped
    assert finished.limit is not None
    assert "\n" not in finished.limit
