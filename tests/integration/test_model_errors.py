"""Model errors described by kind, in the API's own words, through the real anthropic SDK."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import anthropic
import pytest

from agents import service
from agents.events import ModelRetry, RunFinished
from agents.llm import LlmClient, ModelRequest
from agents.model_errors import describe_error, is_retryable, prompt_too_long
from agents.publisher import RecordingPublisher
from core.redact import Redactor
from sandbox.model.scenario import load_scenario
from sandbox.model.server import Fault, RunningModelServer, start_model_server
from tests.support import launched, make_settings, thread_and_message

REQUEST = ModelRequest(model="claude-test-model", system="You are opsbot's log_analyzer agent.",
                       messages=[{"role": "user", "content": "look"}])  # fmt: skip


@pytest.fixture
async def server() -> AsyncIterator[RunningModelServer]:
    """A scripted model server of its own (faults are queued per test)."""
    running = await start_model_server(load_scenario("checkout-500"))
    yield running
    await running.stop()


async def _error_of(url: str, fault: Fault | None, server: RunningModelServer | None) -> Exception:
    if fault is not None and server is not None:
        server.state.faults.append(fault)
    client = anthropic.AsyncAnthropic(api_key="k", base_url=url, max_retries=0)
    llm = LlmClient(client, Redactor())

    async def ignore(_: str) -> None:
        return None

    try:
        await llm.stream(REQUEST, ignore)
    except Exception as exc:  # the error under test
        return exc
    finally:
        await client.close()
    raise AssertionError("the call did not fail")


KINDS = [
    (400, "invalid_request_error", "messages.0.content: Input should be a list",
     False, "the model API refused the request (HTTP 400 invalid_request_error: "
     "messages.0.content: Input should be a list)"),
    (401, "authentication_error", "invalid x-api-key", False,
     "the model API refused the key (HTTP 401 authentication_error: invalid x-api-key); "
     "check ANTHROPIC_API_KEY"),
    (403, "permission_error", "Your API key does not have permission to use the specified "
     "resource.", False, "the key may not do this (HTTP 403 permission denied"),
    (404, "not_found_error", "model: claude-test-model", False,
     "model 'claude-test-model' was not found (HTTP 404 not_found_error: model: "
     "claude-test-model); check OPSBOT_MODEL"),
    (429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate "
     "limit", True, "the model API rate-limited opsbot (HTTP 429 rate_limit_error: Number of"),
    (529, "overloaded_error", "Overloaded", True,
     "the model API is overloaded (HTTP 529 overloaded_error: Overloaded)"),
    (500, "api_error", "Internal server error", True,
     "the model API had a server error (HTTP 500 api_error: Internal server error)"),
    (503, "api_error", "Service unavailable", True,
     "the model API had a server error (HTTP 503 api_error: Service unavailable)"),
]  # fmt: skip


@pytest.mark.parametrize(("status", "kind", "message", "retried", "said"), KINDS)
async def test_each_error_status_is_described_by_its_kind_with_the_api_message(
    server: RunningModelServer, status: int, kind: str, message: str, retried: bool, said: str
) -> None:
    fault = Fault(kind="status", status=status, error_type=kind, message=message)
    error = await _error_of(server.url, fault, server)

    assert describe_error(error).startswith(said), describe_error(error)
    assert is_retryable(error) is retried
    assert "Traceback" not in describe_error(error)


async def test_a_model_api_that_cannot_be_reached_says_so() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = await _error_of(f"http://127.0.0.1:{port}", None, None)

    said = describe_error(error)
    assert said.startswith(f"the model API cannot be reached at http://127.0.0.1:{port}"), said
    assert is_retryable(error)


async def test_prompt_too_long_is_read_from_the_api_message(server: RunningModelServer) -> None:
    server.state.max_input_tokens = 5
    error = await _error_of(server.url, None, server)

    assert prompt_too_long(error) is not None
    tokens, maximum = prompt_too_long(error) or (0, 0)
    assert maximum == 5
    assert tokens > 5
    assert not is_retryable(error)
    assert f"prompt is too long: {tokens} tokens > 5 maximum" in describe_error(error)


@pytest.mark.parametrize(
    ("status", "kind", "words"),
    [(401, "authentication_error", "the model API refused the key"),
     (404, "not_found_error", "model 'claude-missing-1' was not found"),
     (400, "invalid_request_error", "the model API refused the request")],
)  # fmt: skip
async def test_a_run_whose_model_refuses_it_fails_saying_why_without_retrying(
    database_url: str, workspace: Path, server: RunningModelServer, status: int, kind: str,
    words: str,
) -> None:  # fmt: skip
    server.state.faults.append(Fault(kind="status", status=status, error_type=kind, count=10,
                                     message="what the API said"))  # fmt: skip
    publisher = RecordingPublisher()
    settings = make_settings(database_url, workspace, server.url, model="claude-missing-1")
    async with launched(settings, publisher):
        thread, message = thread_and_message("checkout is returning 500s")
        outcome = await (await service.start_turn(thread, message)).get_result()

    assert outcome == "failed"
    finished = publisher.of(RunFinished)[0]
    assert finished.outcome == "failed"
    assert f"the model did not answer: {words}" in finished.answer
    assert "what the API said" in finished.answer
    assert publisher.of(ModelRetry) == []


SECRET_KEY = "sk-ant-api03-" + "Q7x9" * 20 + "-AA"


@pytest.mark.parametrize(
    ("status", "message", "secret"),
    [(401, f"invalid x-api-key {SECRET_KEY}", SECRET_KEY),
     (529, "Overloaded; upstream said password=hunter22", "hunter22")],
)  # fmt: skip
async def test_the_api_message_is_redacted_before_it_reaches_the_thread(
    database_url: str, workspace: Path, server: RunningModelServer, status: int, message: str,
    secret: str,
) -> None:  # fmt: skip
    server.state.faults.append(Fault(kind="status", status=status, message=message, count=10))
    publisher = RecordingPublisher()
    settings = make_settings(database_url, workspace, server.url, model_max_attempts=2)
    async with launched(settings, publisher):
        thread, message_ = thread_and_message("checkout is returning 500s")
        outcome = await (await service.start_turn(thread, message_)).get_result()

    assert outcome == "failed"
    said = [publisher.of(RunFinished)[0].answer] + [r.error for r in publisher.of(ModelRetry)]
    assert "the model did not answer" in said[0]
    assert all(secret not in text for text in said), said
