"""A reviewer's inputs of the same kinds as issue 16, section 1: the model's answer is more than
its HTTP status. Each goes through the real anthropic SDK to the scripted model server (or, for
a proxy's error pages, to a small aiohttp server answering what a proxy answers)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anthropic
import pytest
from aiohttp import web

from agents import service
from agents.events import ApprovalRequested, ModelRetry, RunFinished, ToolFinished
from agents.llm import LlmClient, ModelRequest
from agents.model_errors import describe_error, is_retryable
from agents.publisher import RecordingPublisher
from core.redact import Redactor
from sandbox.model.faults import prompt_tokens
from sandbox.model.server import Fault, RunningModelServer, start_model_server
from tests.integration.test_model_answers import ANSWER, LOOK_TURN
from tests.integration.test_model_limits import SEARCHES, _base_tokens, _log_turn
from tests.integration.test_scenario_run import approve_every_request
from tests.support import launched, make_settings, scripted, system_text, thread_and_message

DONE = "Done with the change."
CODING_TURN: dict[str, Any] = {
    "match": ".*",
    "router": [{"agent": "coding", "reason": "change a file"}],
    "coding": [{"text": "(replaced by the fault's reply)"}, {"text": DONE}],
}  # fmt: skip
ORIGINAL_LINE = "percent = DISCOUNTS[code.upper()]"
FIXED_LINE = "percent = DISCOUNTS.get(code.upper(), 0)"


async def _run(
    database_url: str, workspace: Path, turns: list[dict[str, Any]], faults: list[Fault],
    limit: int | None = None, text: str = "what broke in checkout?", **settings: Any,
) -> tuple[str, RecordingPublisher, RunningModelServer]:  # fmt: skip
    """One turn against a fresh scripted server with these faults queued; every approval is
    approved as a person clicking would."""
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


def _sent_blocks(server: RunningModelServer, kind: str) -> list[dict[str, Any]]:
    return [
        block
        for body in server.state.requests
        for message in body["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if isinstance(block, dict) and block.get("type") == kind
    ]


# -- error events inside a 200 stream, at other places and of other types ---------------------

STREAM_FAULTS = {
    "overloaded_error before any event": Fault(
        kind="stream_error", error_type="overloaded_error", message="Overloaded",
        after_events=0, role="log_analyzer"),
    "api_error right after message_start": Fault(
        kind="stream_error", error_type="api_error", message="Internal server error",
        after_events=1, role="log_analyzer"),
    "overloaded_error inside a tool_use block": Fault(
        kind="stream_error", error_type="overloaded_error", message="Overloaded",
        after_events=9, role="log_analyzer"),
    "overloaded_error three times in a row": Fault(
        kind="stream_error", error_type="overloaded_error", message="Overloaded",
        after_events=5, count=3, role="log_analyzer"),
    "connection cut inside a tool_use block, twice": Fault(
        kind="break", after_events=9, count=2, role="log_analyzer"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(STREAM_FAULTS))
async def test_review_stream_errors_anywhere_are_retried_and_the_tool_runs_once(
    database_url: str, workspace: Path, case: str
) -> None:
    fault = STREAM_FAULTS[case]
    outcome, publisher, _ = await _run(
        database_url, workspace, [LOOK_TURN], [fault], model_max_attempts=5
    )

    assert outcome == "succeeded", publisher.of(RunFinished)[0].answer
    assert len(publisher.of(ModelRetry)) == fault.count
    assert [f.name for f in publisher.of(ToolFinished)] == ["search_logs"]
    assert publisher.of(ToolFinished)[0].status == "ok"
    assert publisher.of(RunFinished)[0].answer.count(ANSWER) == 1


async def test_review_a_broken_connection_on_every_attempt_is_bounded_and_says_so(
    database_url: str, workspace: Path
) -> None:
    fault = Fault(kind="break", after_events=6, count=50, role="log_analyzer")
    outcome, publisher, server = await _run(
        database_url, workspace, [LOOK_TURN], [fault], model_max_attempts=3
    )

    assert outcome == "failed"
    finished = publisher.of(RunFinished)[0]
    assert "the model did not answer" in finished.answer
    assert "after 3 attempts" in finished.answer
    assert "succeeded" not in finished.answer
    agent_calls = [b for b in server.state.requests if "log_analyzer agent" in system_text(b)]
    assert len(agent_calls) == 3


# -- blank text, in other places ---------------------------------------------------------------

BLANKS = {
    "whitespace between two tool calls": Fault(kind="reply", role="log_analyzer",
        stop_reason="tool_use", content=[
            {"type": "tool_use", "name": "search_logs", "input": {"query": "ERROR"}},
            {"type": "text", "text": " \n\u00a0"},
            {"type": "tool_use", "name": "search_logs", "input": {"query": "KeyError"}}]),
    "a pause_turn whose only text is blank": Fault(kind="reply", role="log_analyzer",
        stop_reason="pause_turn", content=[{"type": "text", "text": "\n\t "}]),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BLANKS))
async def test_review_blank_text_in_other_places_is_never_sent_back(
    database_url: str, workspace: Path, case: str
) -> None:
    outcome, publisher, server = await _run(database_url, workspace, [LOOK_TURN], [BLANKS[case]])

    assert outcome == "succeeded", publisher.of(RunFinished)[0].answer
    assert ANSWER in publisher.of(RunFinished)[0].answer
    assert all(b["text"].strip() for b in _sent_blocks(server, "text"))


# -- tool calls cut at max_tokens: the second of two, and inside edit_file ----------------------


def _edit(old: str, new: str, path: str = "checkout/pricing.py") -> dict[str, Any]:
    return {"type": "tool_use", "name": "edit_file",
            "input": {"path": path, "old_string": old, "new_string": new}}  # fmt: skip


async def test_review_max_tokens_cutting_the_second_of_two_edits_runs_only_the_first(
    database_url: str, workspace: Path
) -> None:
    second = _edit(
        "return total_cents - total_cents * percent // 100",
        "return total_cents - total_cents * percent // 100  # a long note",
    )
    raw_first = json.dumps(_edit(ORIGINAL_LINE, FIXED_LINE)["input"])
    content = [{"type": "text", "text": "Two edits."}, _edit(ORIGINAL_LINE, FIXED_LINE), second]
    fault = Fault(kind="reply", role="coding", stop_reason="max_tokens", cut_at=45, content=content)
    assert len(raw_first) > 45
    outcome, publisher, server = await _run(database_url, workspace, [CODING_TURN], [fault])

    assert outcome == "succeeded", publisher.of(RunFinished)[0].answer
    source = (workspace / "checkout/pricing.py").read_text()
    assert source.count(FIXED_LINE) == 1
    assert "a long note" not in source
    assert [a.tool_name for a in publisher.of(ApprovalRequested)] == ["edit_file"]
    statuses = [f.status for f in publisher.of(ToolFinished)]
    assert statuses == ["ok", "error"]
    cut = publisher.of(ToolFinished)[1]
    told = [r for r in _sent_blocks(server, "tool_result") if r["tool_use_id"] == cut.tool_use_id]
    assert "output limit (max_tokens)" in told[0]["content"]


@pytest.mark.parametrize("cut_at", [20, 60, 75])
async def test_review_an_edit_file_cut_inside_its_strings_is_never_proposed(
    database_url: str, workspace: Path, cut_at: int
) -> None:
    fault = Fault(kind="reply", role="coding", stop_reason="max_tokens", cut_at=cut_at,
                  content=[_edit(ORIGINAL_LINE, FIXED_LINE)])  # fmt: skip
    before = (workspace / "checkout/pricing.py").read_text()
    outcome, publisher, _ = await _run(database_url, workspace, [CODING_TURN], [fault])

    assert outcome == "succeeded", publisher.of(RunFinished)[0].answer
    assert publisher.of(ApprovalRequested) == []
    assert (workspace / "checkout/pricing.py").read_text() == before
    assert [f.status for f in publisher.of(ToolFinished)] == ["error"]


async def test_review_a_call_cut_again_and_again_is_bounded_and_never_run(
    database_url: str, workspace: Path
) -> None:
    call = {"type": "tool_use", "name": "write_file",
            "input": {"path": "checkout/pricing.py", "content": "x = 1\n" * 2000}}  # fmt: skip
    fault = Fault(kind="reply", role="coding", stop_reason="max_tokens", cut_at=200, count=50,
                  content=[{"type": "text", "text": "Rewriting."}, call])  # fmt: skip
    before = (workspace / "checkout/pricing.py").read_text()
    outcome, publisher, _ = await _run(
        database_url, workspace, [CODING_TURN], [fault], max_iterations=6
    )

    assert outcome == "limited", publisher.of(RunFinished)[0].answer
    assert "max iterations" in (publisher.of(RunFinished)[0].limit or "")
    assert publisher.of(ApprovalRequested) == []
    assert (workspace / "checkout/pricing.py").read_text() == before
    assert {f.status for f in publisher.of(ToolFinished)} == {"error"}


# -- edit_file's own inputs ----------------------------------------------------------------


async def _edit_run(
    database_url: str, workspace: Path, call: dict[str, Any]
) -> tuple[str, RecordingPublisher, RunningModelServer]:
    fault = Fault(kind="reply", role="coding", stop_reason="tool_use",
                  content=[{"type": "text", "text": "Editing."}, call])  # fmt: skip
    return await _run(database_url, workspace, [CODING_TURN], [fault], text="change the file")


def _result_of(server: RunningModelServer, publisher: RecordingPublisher) -> str:
    finished = publisher.of(ToolFinished)
    assert len(finished) == 1, finished
    (told,) = [r for r in _sent_blocks(server, "tool_result")
               if r["tool_use_id"] == finished[0].tool_use_id][:1]  # fmt: skip
    return str(told["content"])


@pytest.mark.parametrize(
    ("old", "words"),
    [("percent = DISCOUNTS[code.lower()]", "does not occur"),
     ("    ", "times")],
)  # fmt: skip
async def test_review_edit_file_whose_old_string_is_not_unique_asks_nobody(
    database_url: str, workspace: Path, old: str, words: str
) -> None:
    before = (workspace / "checkout/pricing.py").read_text()
    assert before.count(old) != 1
    outcome, publisher, server = await _edit_run(database_url, workspace, _edit(old, "x"))

    assert outcome == "succeeded"
    assert publisher.of(ApprovalRequested) == []
    assert (workspace / "checkout/pricing.py").read_text() == before
    assert words in _result_of(server, publisher)


async def test_review_edit_file_that_changes_nothing_asks_nobody(
    database_url: str, workspace: Path
) -> None:
    """An approver should never be asked to approve an edit that changes nothing."""
    outcome, publisher, _ = await _edit_run(
        database_url, workspace, _edit(ORIGINAL_LINE, ORIGINAL_LINE)
    )

    assert outcome == "succeeded"
    assert publisher.of(ApprovalRequested) == [], [a.preview for a in
                                                   publisher.of(ApprovalRequested)]  # fmt: skip
    assert publisher.of(ToolFinished)[0].status == "error"


async def test_review_edit_file_spanning_crlf_lines_keeps_the_files_line_endings(
    database_url: str, workspace: Path
) -> None:
    """The model reads lines without their \\r (read_file numbers lines), so it writes \\n."""
    (workspace / "deploy.bat").write_bytes(b"@echo off\r\nset PORT=8080\r\nset HOST=0.0.0.0\r\n")
    call = _edit("set PORT=8080\nset HOST=0.0.0.0", "set PORT=9090\nset HOST=127.0.0.1",
                 path="deploy.bat")  # fmt: skip
    outcome, publisher, server = await _edit_run(database_url, workspace, call)

    assert outcome == "succeeded"
    assert (workspace / "deploy.bat").read_bytes() == (
        b"@echo off\r\nset PORT=9090\r\nset HOST=127.0.0.1\r\n"
    ), _result_of(server, publisher)


async def test_review_edit_file_never_rewrites_bytes_it_did_not_change(
    database_url: str, workspace: Path
) -> None:
    """A Latin-1 file: the edit of one ASCII line must not replace the other bytes with U+FFFD
    (either the edit is refused, or every other byte stays)."""
    original = b"# caf\xe9 settings\nversion=1\n"
    (workspace / "legacy.cfg").write_bytes(original)
    outcome, _, _ = await _edit_run(
        database_url, workspace, _edit("version=1", "version=2", path="legacy.cfg")
    )

    assert outcome == "succeeded"
    after = (workspace / "legacy.cfg").read_bytes()
    assert after in (original, b"# caf\xe9 settings\nversion=2\n"), after


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/hostname", ".env", "config/.env.prod"])
async def test_review_edit_file_outside_the_workspace_or_on_secrets_asks_nobody(
    database_url: str, workspace: Path, path: str
) -> None:
    (workspace.parent / "outside.txt").write_text("token=abc\n")
    (workspace / ".env").write_text("DB_PASSWORD=s3cr3t-value\n")
    (workspace / "config").mkdir(exist_ok=True)
    (workspace / "config/.env.prod").write_text("DB_PASSWORD=s3cr3t-value\n")
    outcome, publisher, server = await _edit_run(
        database_url,
        workspace,
        _edit("token=abc" if "outside" in path else "s3cr3t-value", "changed", path=path),
    )

    assert outcome == "succeeded"
    assert publisher.of(ApprovalRequested) == []
    assert publisher.of(ToolFinished)[0].status == "error"
    assert (workspace.parent / "outside.txt").read_text() == "token=abc\n"
    assert (workspace / ".env").read_text() == "DB_PASSWORD=s3cr3t-value\n"
    assert (workspace / "config/.env.prod").read_text() == "DB_PASSWORD=s3cr3t-value\n"
    assert "s3cr3t-value\\n" not in json.dumps(server.state.requests[-1])


# -- a 529 on the call retried after a context trim ----------------------------------------------


async def test_review_an_overload_on_the_call_retried_after_a_trim_is_retried_again(
    database_url: str, workspace: Path
) -> None:
    limit = _base_tokens(database_url, workspace, "what broke?") + 4000
    server = await start_model_server(scripted([_log_turn(SEARCHES[:4])]))
    server.state.max_input_tokens = limit
    original = server.state.next_fault
    injected = {"done": False}

    def overload_after_first_refusal(streaming: bool, role: str = "") -> Fault | None:
        refused = any(prompt_tokens(b) > limit for b in server.state.requests)
        if refused and not injected["done"] and role == "log_analyzer":
            injected["done"] = True
            return Fault(kind="status", status=529, message="Overloaded")
        return original(streaming, role)

    server.state.next_fault = overload_after_first_refusal  # type: ignore[method-assign]
    publisher = RecordingPublisher()
    try:
        async with launched(make_settings(database_url, workspace, server.url,
                                          tool_output_cap=6000), publisher):  # fmt: skip
            thread, message = thread_and_message("what broke?")
            outcome = await (await service.start_turn(thread, message)).get_result()
    finally:
        await server.stop()

    assert injected["done"], "the window was reached and the retried call got the 529"
    assert outcome == "succeeded", publisher.of(RunFinished)[0].answer
    assert len(publisher.of(ModelRetry)) == 1
    assert "KeyError in the discount lookup" in publisher.of(RunFinished)[0].answer


# -- stop reasons after other steps ------------------------------------------------------------


async def test_review_a_refusal_after_a_tool_call_is_declined_not_succeeded(
    database_url: str, workspace: Path
) -> None:
    refusal = Fault(kind="reply", role="log_analyzer", stop_reason="refusal", content=[])
    turn = {**LOOK_TURN, "log_analyzer": [LOOK_TURN["log_analyzer"][0], {"text": "unused"}]}
    server_faults = [refusal]
    server = await start_model_server(scripted([turn]))
    publisher = RecordingPublisher()
    try:
        async with launched(make_settings(database_url, workspace, server.url), publisher):
            thread, message = thread_and_message("what broke?")
            handle = await service.start_turn(thread, message)
            await publisher.wait_for(ToolFinished)
            server.state.faults.extend(server_faults)  # the call after the tool's result
            outcome = await handle.get_result()
    finally:
        await server.stop()

    assert outcome == "declined"
    finished = publisher.of(RunFinished)[0]
    assert "The model declined to answer this request" in finished.answer
    assert [f.name for f in publisher.of(ToolFinished)] == ["search_logs"]


async def test_review_a_refusal_ends_the_turn_no_other_agent_takes_the_request(
    database_url: str, workspace: Path
) -> None:
    """The log analyzer declines; the router must not hand the same request to the coding
    agent (which would change files for a request the model declined)."""
    turn = {
        "match": ".*",
        "router": [{"agent": "log_analyzer", "reason": "look"},
                   {"agent": "coding", "reason": "now fix it"}],
        "log_analyzer": [{"text": "unused"}],
        "coding": [{"text": "Rewriting.", "tool_calls": [
            {"name": "edit_file", "input": {"path": "checkout/pricing.py",
                                            "old_string": ORIGINAL_LINE,
                                            "new_string": FIXED_LINE}}]},
                   {"text": DONE}],
    }  # fmt: skip
    refusal = Fault(kind="reply", role="log_analyzer", stop_reason="refusal",
                    content=[{"type": "text", "text": "I can't help with that."}])  # fmt: skip
    outcome, publisher, server = await _run(database_url, workspace, [turn], [refusal])

    assert outcome == "declined"
    coding = [b for b in server.state.requests if "You are opsbot's coding agent" in system_text(b)]
    assert coding == [], "a declined request went on to the coding agent"
    assert publisher.of(ApprovalRequested) == []
    assert ORIGINAL_LINE in (workspace / "checkout/pricing.py").read_text()


async def test_review_four_pauses_then_an_answer_is_one_answer(
    database_url: str, workspace: Path
) -> None:
    turn = {"match": ".*", "router": [{"agent": "log_analyzer", "reason": "look"}],
            "log_analyzer": [{"text": f"step {n}"} for n in range(8)]}  # fmt: skip
    pause = Fault(kind="reply", role="log_analyzer", stop_reason="pause_turn", count=4,
                  content=[{"type": "text", "text": "Part."}])  # fmt: skip
    outcome, publisher, _ = await _run(database_url, workspace, [turn], [pause])

    assert outcome == "succeeded", publisher.of(RunFinished)[0].answer
    assert publisher.of(RunFinished)[0].answer.count("Part.") == 4


# -- error pages a proxy answers instead of the API --------------------------------------------

HTML_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>"
    "502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>"
)
PROXY_ANSWERS = [
    (502, "text/html", HTML_502, "server error (HTTP 502", True),
    (503, "text/plain", "", "server error (HTTP 503", True),
    (401, "text/html", "<html><body>Unauthorized</body></html>", "refused the key (HTTP 401",
     False),
    (403, "application/json", "", "may not do this (HTTP 403", False),
    (404, "text/html", "<html><body><h1>Not Found</h1></body></html>", "was not found (HTTP 404",
     False),
    (413, "text/html", "<html><head><title>413 Request Entity Too Large</title></head></html>",
     "too large for the model API (HTTP 413", False),
    (500, "application/json", '{"error": "upstream timed out"}', "server error (HTTP 500", True),
]  # fmt: skip


@pytest.fixture
async def proxy() -> AsyncIterator[tuple[str, list[tuple[int, str, str]]]]:
    """A server that answers every request with the next queued (status, type, body)."""
    queued: list[tuple[int, str, str]] = []

    async def answer(_: web.Request) -> web.Response:
        status, kind, body = queued.pop(0)
        return web.Response(status=status, body=body.encode(), headers={"content-type": kind})

    app = web.Application()
    app.router.add_post("/v1/messages", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", queued
    await runner.cleanup()


async def _fail(url: str) -> Exception:
    client = anthropic.AsyncAnthropic(api_key="k", base_url=url, max_retries=0)
    llm = LlmClient(client, Redactor())

    async def ignore(_: str) -> None:
        return None

    request = ModelRequest(model="claude-test-model", system="s",
                           messages=[{"role": "user", "content": "look"}])  # fmt: skip
    try:
        await llm.stream(request, ignore)
    except Exception as exc:  # the error under test
        return exc
    finally:
        await client.close()
    raise AssertionError("the call did not fail")


@pytest.mark.parametrize(("status", "kind", "body", "said", "retried"), PROXY_ANSWERS)
async def test_review_a_proxys_error_page_is_described_by_kind_in_one_line(
    proxy: tuple[str, list[tuple[int, str, str]]], status: int, kind: str, body: str,
    said: str, retried: bool,
) -> None:  # fmt: skip
    url, queued = proxy
    queued.append((status, kind, body))
    error = await _fail(url)
    line = describe_error(error)

    assert said in line, line
    assert is_retryable(error) is retried
    assert "\n" not in line, line
    assert "<html" not in line.lower(), line
    assert "<body" not in line.lower(), line


async def test_review_a_200_html_page_instead_of_a_stream_is_retried(
    proxy: tuple[str, list[tuple[int, str, str]]],
) -> None:
    url, queued = proxy
    queued.append((200, "text/html", "<html><body>Please sign in to the proxy</body></html>"))
    error = await _fail(url)

    assert is_retryable(error)
    assert "Traceback" not in describe_error(error)


@pytest.mark.parametrize("status", [400, 200])
async def test_review_an_api_message_over_several_lines_is_told_in_one_line(
    status: int,
) -> None:
    """A 400 (or an error event in a 200 stream) whose message spans lines: the outcome is
    still one line."""
    server = await start_model_server(scripted([LOOK_TURN]))
    message = "messages.3.content.0: invalid\n  tool_use id 'toolu_1'\n  expected a tool_result"
    kind = "status" if status == 400 else "stream_error"
    server.state.faults.append(Fault(kind=kind, status=400, error_type="invalid_request_error",
                                     message=message, after_events=2))  # fmt: skip
    try:
        error = await _fail(server.url)
    finally:
        await server.stop()
    line = describe_error(error)

    assert "tool_use id 'toolu_1'" in line
    assert "\n" not in line, line
