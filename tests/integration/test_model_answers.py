"""The model's answer is more than its HTTP status: stream errors, blank blocks, stop reasons.

Every run here goes through the real anthropic SDK to the scripted model server, which
refuses what the Messages API refuses (blank text blocks, unpaired tool_use ids).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from agents import service
from agents.events import ModelRetry, RunFinished, TextDelta
from agents.publisher import RecordingPublisher
from sandbox.model.server import Fault, RunningModelServer, start_model_server
from tests.support import launched, make_settings, scripted, system_text, thread_and_message

ANSWER = "The checkout service fails on unknown discount codes since 14:02 today."
LOOK_TURN: dict[str, Any] = {
    "match": ".*",
    "router": [{"agent": "log_analyzer", "reason": "look"}],
    "log_analyzer": [
        {"text": "Searching the logs.", "tool_calls": [
            {"name": "search_logs", "input": {"query": "ERROR"}}]},
        {"text": ANSWER},
    ],
}  # fmt: skip


async def _run(
    database_url: str, workspace: Path, turns: list[dict[str, Any]], faults: list[Fault],
    **settings: Any,
) -> tuple[str, RecordingPublisher, RunningModelServer]:  # fmt: skip
    """One turn against a fresh scripted server with these faults queued."""
    server = await start_model_server(scripted(turns))
    server.state.faults.extend(dataclasses.replace(fault) for fault in faults)  # fresh counts
    publisher = RecordingPublisher()
    try:
        async with launched(make_settings(database_url, workspace, server.url, **settings),
                            publisher):  # fmt: skip
            thread, message = thread_and_message("what broke in checkout?")
            outcome = await (await service.start_turn(thread, message)).get_result()
    finally:
        await server.stop()
    return outcome, publisher, server


STREAM_FAULTS = {
    "overloaded_error event after text deltas": (
        Fault(kind="stream_error", error_type="overloaded_error", message="Overloaded",
              after_events=7, role="log_analyzer"), "the model API is overloaded"),
    "api_error event": (
        Fault(kind="stream_error", error_type="api_error", message="Internal server error",
              after_events=5, role="log_analyzer"), "the model API had a server error"),
    "rate_limit_error event, twice": (
        Fault(kind="stream_error", error_type="rate_limit_error", message="slow down",
              after_events=3, count=2, role="log_analyzer"), "rate_limit_error: slow down"),
    "connection cut mid-stream": (
        Fault(kind="break", after_events=8, role="log_analyzer"), "the connection"),
    "stream ends without message_stop": (
        Fault(kind="no_stop", after_events=10_000, role="log_analyzer"), "stream broke off"),
    "stream ends after the first deltas": (
        Fault(kind="no_stop", after_events=6, role="log_analyzer"), "stream broke off"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(STREAM_FAULTS))
async def test_a_stream_that_fails_after_its_200_is_retried_and_answered(
    database_url: str, workspace: Path, case: str
) -> None:
    fault, words = STREAM_FAULTS[case]
    outcome, publisher, server = await _run(database_url, workspace, [LOOK_TURN], [fault])

    assert outcome == "succeeded"
    retries = publisher.of(ModelRetry)
    assert len(retries) == fault.count
    assert all(words in r.error for r in retries), [r.error for r in retries]
    finished = publisher.of(RunFinished)[0]
    assert finished.outcome == "succeeded"
    assert finished.answer.count(ANSWER) == 1
    assert server.state.served == 2 + 2 + len(retries)  # two routes, two agent calls, retries


async def test_an_error_event_that_is_not_transient_is_not_retried(
    database_url: str, workspace: Path
) -> None:
    fault = Fault(kind="stream_error", error_type="invalid_request_error",
                  message="messages.1: something the API would not take", after_events=4,
                  role="log_analyzer")  # fmt: skip
    outcome, publisher, _ = await _run(database_url, workspace, [LOOK_TURN], [fault])

    assert outcome == "failed"
    assert publisher.of(ModelRetry) == []
    answer = publisher.of(RunFinished)[0].answer
    assert "something the API would not take" in answer
    assert "invalid_request_error" in answer


async def test_a_stream_error_on_every_attempt_ends_the_run_with_the_kind(
    database_url: str, workspace: Path
) -> None:
    fault = Fault(kind="stream_error", error_type="overloaded_error", message="Overloaded",
                  after_events=6, count=10, role="log_analyzer")  # fmt: skip
    outcome, publisher, _ = await _run(
        database_url, workspace, [LOOK_TURN], [fault], model_max_attempts=3
    )

    assert outcome == "failed"
    finished = publisher.of(RunFinished)[0]
    assert finished.outcome == "failed"
    assert (
        "the model did not answer: the model API is overloaded (error event in the stream: "
        "overloaded_error: Overloaded), after 3 attempts" in finished.answer
    )


def _blank_then_tool(blank: list[dict[str, Any]]) -> Fault:
    return Fault(kind="reply", role="log_analyzer", stop_reason="tool_use", content=[
        *blank, {"type": "tool_use", "name": "search_logs", "input": {"query": "ERROR"}},
    ])  # fmt: skip


BLANK_REPLIES = {
    "empty text beside a tool call": _blank_then_tool([{"type": "text", "text": ""}]),
    "spaces only": _blank_then_tool([{"type": "text", "text": "   "}]),
    "newlines and a tab": _blank_then_tool([{"type": "text", "text": "\n\n\t"}]),
    "two blank blocks around text": Fault(kind="reply", role="log_analyzer",
        stop_reason="tool_use", content=[
            {"type": "text", "text": ""}, {"type": "text", "text": "Looking."},
            {"type": "text", "text": " "},
            {"type": "tool_use", "name": "search_logs", "input": {"query": "ERROR"}}]),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BLANK_REPLIES))
async def test_blank_text_blocks_of_the_model_are_never_sent_back(
    database_url: str, workspace: Path, case: str
) -> None:
    outcome, publisher, server = await _run(
        database_url, workspace, [LOOK_TURN], [BLANK_REPLIES[case]]
    )

    assert outcome == "succeeded", publisher.of(RunFinished)[0].answer
    assert ANSWER in publisher.of(RunFinished)[0].answer
    sent = [
        block
        for body in server.state.requests
        for message in body["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "text"
    ]
    assert sent, "the assistant turn with the tool call was sent back"
    assert all(block["text"].strip() for block in sent)


async def test_the_scripted_model_refuses_blank_text_as_the_api_does(
    model_server: RunningModelServer,
) -> None:
    import anthropic

    client = anthropic.AsyncAnthropic(api_key="k", base_url=model_server.url, max_retries=0)
    try:
        for text, words in (("", "must be non-empty"), ("  \n", "non-whitespace text")):
            with pytest.raises(anthropic.BadRequestError) as raised:
                await client.messages.create(
                    model="m", max_tokens=10,
                    messages=[{"role": "user", "content": "hi"},
                              {"role": "assistant", "content": [{"type": "text", "text": text}]},
                              {"role": "user", "content": "again"}],
                )  # fmt: skip
            assert raised.value.api_message is not None
            assert words in raised.value.api_message
    finally:
        await client.close()


TEXT_ONLY_TURN: dict[str, Any] = {
    "match": ".*",
    "router": [{"agent": "log_analyzer", "reason": "look"}],
    "log_analyzer": [{"text": "step zero"}, {"text": "The rest of the answer."},
                     {"text": "step two"}],
}  # fmt: skip


def _reply(text: str, stop: str) -> Fault:
    content = [{"type": "text", "text": text}] if text else []
    return Fault(kind="reply", role="log_analyzer", stop_reason=stop, content=content)


async def test_pause_turn_sends_the_turn_back_and_the_answer_goes_on(
    database_url: str, workspace: Path
) -> None:
    fault = _reply("First part of the answer.", "pause_turn")
    outcome, publisher, server = await _run(database_url, workspace, [TEXT_ONLY_TURN], [fault])

    assert outcome == "succeeded"
    answer = publisher.of(RunFinished)[0].answer
    assert "First part of the answer." in answer
    assert "The rest of the answer." in answer
    agent_calls = [b for b in server.state.requests if "log_analyzer agent" in system_text(b)]
    assert len(agent_calls) == 2
    last = agent_calls[-1]["messages"][-1]
    assert last["role"] == "assistant"
    # sent back as it came; the marker is the call's cache breakpoint (agents/prompt_cache.py)
    assert last["content"] == [{"type": "text", "text": "First part of the answer.",
                                "cache_control": {"type": "ephemeral"}}]  # fmt: skip


async def test_pause_turn_again_and_again_stops_at_a_bound(
    database_url: str, workspace: Path
) -> None:
    fault = _reply("Still working.", "pause_turn")
    fault.count = 50
    outcome, publisher, server = await _run(database_url, workspace, [TEXT_ONLY_TURN], [fault])

    assert outcome == "limited"
    assert "pause_turn" in (publisher.of(RunFinished)[0].limit or "")
    agent_calls = [b for b in server.state.requests if "log_analyzer agent" in system_text(b)]
    assert len(agent_calls) == 5


@pytest.mark.parametrize("text", ["", "I can't help with that request."])
async def test_a_refusal_says_the_model_declined_and_is_not_succeeded(
    database_url: str, workspace: Path, text: str
) -> None:
    outcome, publisher, _ = await _run(
        database_url, workspace, [TEXT_ONLY_TURN], [_reply(text, "refusal")]
    )

    assert outcome == "declined"
    finished = publisher.of(RunFinished)[0]
    assert finished.outcome == "declined"
    assert "The model declined to answer this request" in finished.answer
    assert text in finished.answer


@pytest.mark.parametrize(
    ("stop", "limit"),
    [("max_tokens", "the model's output limit (max_tokens)"),
     ("model_context_window_exceeded", "the model's context window")],
)  # fmt: skip
async def test_a_text_answer_cut_at_a_limit_ends_limited_and_says_which(
    database_url: str, workspace: Path, stop: str, limit: str
) -> None:
    outcome, publisher, _ = await _run(
        database_url, workspace, [TEXT_ONLY_TURN], [_reply("The cause is the disc", stop)]
    )

    assert outcome == "limited"
    finished = publisher.of(RunFinished)[0]
    assert finished.limit == limit
    assert finished.answer.startswith("The cause is the disc")
    assert f"reached the {limit} limit" in finished.answer


async def test_stop_sequence_is_an_answer(database_url: str, workspace: Path) -> None:
    outcome, publisher, _ = await _run(
        database_url, workspace, [TEXT_ONLY_TURN], [_reply("Done here.", "stop_sequence")]
    )

    assert outcome == "succeeded"
    assert publisher.of(RunFinished)[0].answer == "Done here."


@pytest.mark.parametrize("content", [[], [{"type": "text", "text": "  "}]])
async def test_a_turn_without_any_answer_is_not_succeeded(
    database_url: str, workspace: Path, content: list[dict[str, Any]]
) -> None:
    fault = Fault(kind="reply", role="log_analyzer", stop_reason="end_turn", content=content)
    outcome, publisher, _ = await _run(database_url, workspace, [TEXT_ONLY_TURN], [fault])

    assert outcome == "no_answer"
    finished = publisher.of(RunFinished)[0]
    assert finished.answer == "I could not produce an answer."
    assert "".join(e.text for e in publisher.of(TextDelta)).strip() == ""
