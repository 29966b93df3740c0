"""Extended thinking in real runs: the real SDK against the scripted model server, which thinks
when asked, signs each thinking block, and refuses (400, as the Messages API does) a request
whose thinking blocks are not passed back exactly as they came, or that thinks with a forced
tool choice (sandbox/model/thinking.py). Real DBOS, a real database."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import anthropic
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import select

from agents import service
from agents.publisher import RecordingPublisher
from core.models import MessageRow
from sandbox.model.server import RunningModelServer, start_model_server
from sandbox.model.thinking import thinking_blocks
from tests.integration.test_prompt_caching import checkout_run, hops
from tests.support import launched, make_settings, scripted, system_text, thread_and_message

ANSWER = "The checkout service fails on unknown discount codes since 14:02 today."
THOUGHTS = (
    "PRIVATE-THOUGHT-1: the log shows password=hunter2secret; which evidence settles it?",
    "PRIVATE-THOUGHT-2: key AKIAIOSFODNN7EXAMPLE appears next to the discount errors.",
    "PRIVATE-THOUGHT-3: the evidence is enough to answer.",
)
LOOK_TURN: dict[str, Any] = {
    "match": ".*",
    "router": [{"agent": "log_analyzer", "reason": "look"}],
    "log_analyzer": [
        {"thinking": THOUGHTS[0], "text": "Searching the logs.",
         "tool_calls": [{"name": "search_logs", "input": {"query": "ERROR"}}]},
        {"thinking": THOUGHTS[1], "redacted_thinking": True,
         "tool_calls": [{"name": "search_logs", "input": {"query": "discount"}}]},
        {"thinking": THOUGHTS[2], "text": ANSWER},
    ],
}  # fmt: skip


def _role(body: dict[str, Any]) -> str:
    return "router" if "opsbot's router" in system_text(body) else "agent"


async def _look_run(
    database_url: str, workspace: Path, **settings: Any
) -> tuple[str, RecordingPublisher, RunningModelServer, list[str], str]:
    """One turn of LOOK_TURN: its outcome, events, server, the thread's stored messages and
    the recorded spans' attributes (as JSON)."""
    server = await start_model_server(scripted([LOOK_TURN]))
    publisher = RecordingPublisher()
    exporter = InMemorySpanExporter()
    values = {"otel_record_content": True, **settings}
    try:
        async with launched(make_settings(database_url, workspace, server.url, **values),
                            publisher, exporter) as engine:  # fmt: skip
            thread, message = thread_and_message("what broke in checkout?")
            outcome = await (await service.start_turn(thread, message)).get_result()
            stored = await engine.db.run(lambda s: list(s.scalars(
                select(MessageRow.content).where(MessageRow.thread_id == thread.key))))  # fmt: skip
    finally:
        await server.stop()
    spans = json.dumps([dict(s.attributes or {}) for s in exporter.get_finished_spans()],
                       default=str)  # fmt: skip
    return outcome, publisher, server, stored, spans


@pytest.mark.parametrize("patterns", [{}, {"evidence": r"evidence|discount errors"}])
async def test_a_thinking_run_passes_each_thinking_block_back_unchanged_through_its_tool_calls(
    database_url: str, workspace: Path, patterns: dict[str, str]
) -> None:
    # the redactor would change every thought (a password, an AWS key, OPSBOT_REDACT_PATTERNS):
    # a thought it touched on the way back would fail the server's signature check (400)
    outcome, publisher, server, stored, spans = await _look_run(
        database_url, workspace, thinking="adaptive", redact_patterns=patterns
    )

    assert outcome == "succeeded"
    agent = [b for b in server.state.requests if _role(b) == "agent"]
    router = [b for b in server.state.requests if _role(b) == "router"]
    assert len(agent) == 3
    assert len(router) == 2
    assert all(b["thinking"] == {"type": "adaptive"} for b in agent)
    assert all("thinking" not in b and b["tool_choice"]["type"] == "tool" for b in router)
    for step, body in enumerate(agent[1:], 1):  # each call sends back every earlier reply's
        sent = [m["content"] for m in body["messages"] if m["role"] == "assistant"]
        assert len(sent) == step
        for thought, content in zip(THOUGHTS, sent, strict=False):
            redacted = thought == THOUGHTS[1]
            assert content[: 1 + redacted] == thinking_blocks(thought, redacted)
    slack_bound = json.dumps([e.model_dump(mode="json") for e in publisher.events])
    assert ANSWER in slack_bound
    for seen in (slack_bound, "\n".join(stored), spans):
        assert "PRIVATE-THOUGHT" not in seen
        assert "EncryptedSandboxThinking" not in seen


@pytest.mark.parametrize("features", ["none", "prompt-caching,token-counting"])
async def test_an_endpoint_without_thinking_gets_none_whatever_opsbot_thinking_says(
    database_url: str, workspace: Path, features: str
) -> None:
    outcome, publisher, server, _, _ = await _look_run(
        database_url, workspace, thinking="adaptive", model_features=features
    )

    assert outcome == "succeeded"
    sent = json.dumps(server.state.requests)
    assert '"thinking"' not in sent
    assert "PRIVATE-THOUGHT" not in sent
    assert ANSWER in publisher.events[-1].model_dump_json()


async def test_thinking_off_sends_none(database_url: str, workspace: Path) -> None:
    outcome, _, server, _, _ = await _look_run(database_url, workspace)

    assert outcome == "succeeded"
    assert '"thinking"' not in json.dumps(server.state.requests)


async def test_the_checkout_incident_thinks_through_approvals_and_keeps_its_cache(
    database_url: str, workspace: Path, model_server: RunningModelServer
) -> None:
    finished, run, calls, _ = await checkout_run(
        database_url, workspace, model_server, thinking="adaptive"
    )

    assert run.status == "succeeded"
    requests = model_server.state.requests
    agent = [b for b in requests if _role(b) == "agent"]
    assert agent
    assert all(b["thinking"] == {"type": "adaptive"} for b in agent)
    assert all("thinking" not in b for b in requests if _role(b) == "router")
    for body in agent:
        for message in body["messages"]:
            for block in message["content"] if isinstance(message["content"], list) else []:
                if block["type"] == "thinking":
                    assert set(block) == {"type", "thinking", "signature"}, "never marked"
    assert "Private reasoning" not in finished.answer
    for hop in hops(calls):  # thinking blocks in the prefix leave each call's cache read intact
        for before, call in itertools.pairwise(hop):
            assert call.cache_read_tokens == before.cache_read_tokens + before.cache_write_tokens


async def _ask(client: anthropic.AsyncAnthropic, messages: Any) -> anthropic.types.Message:
    return await client.messages.create(
        model="claude-sonnet-4-6", max_tokens=1024, messages=messages,
        thinking={"type": "adaptive"},
    )  # fmt: skip


TAMPER = {
    "thinking text changed": lambda b: {**b, "thinking": b["thinking"] + " (edited)"},
    "signature changed": lambda b: {**b, "signature": "c2lnbmF0dXJl"},
}


@pytest.mark.parametrize("case", list(TAMPER))
async def test_the_server_refuses_a_changed_thinking_block_through_the_sdk(
    model_server: RunningModelServer, case: str
) -> None:
    [block] = thinking_blocks("PRIVATE-THOUGHT: look at the logs first")
    tool_use = {"type": "tool_use", "id": "toolu_1", "name": "search_logs", "input": {}}
    messages: list[Any] = [
        {"role": "user", "content": "what broke in checkout?"},
        {"role": "assistant", "content": [TAMPER[case](block), tool_use]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                      "content": "ERROR"}]},
    ]  # fmt: skip
    client = anthropic.AsyncAnthropic(api_key="sk-test", base_url=model_server.url, max_retries=0)
    async with client:
        with pytest.raises(anthropic.BadRequestError) as refused:
            await _ask(client, messages)
        assert "messages.1.content.0: Invalid `signature` in `thinking` block" in str(refused.value)
        messages[1]["content"][0] = block  # as it came: taken
        reply = await _ask(client, messages)
    assert reply.content[0].type == "thinking"


@pytest.mark.parametrize("tool_choice", [{"type": "tool", "name": "route_to"}, {"type": "any"}])
async def test_the_server_refuses_thinking_with_a_forced_tool_choice_through_the_sdk(
    model_server: RunningModelServer, tool_choice: Any
) -> None:
    route_to: Any = {"name": "route_to", "input_schema": {"type": "object", "properties": {}}}
    client = anthropic.AsyncAnthropic(api_key="sk-test", base_url=model_server.url, max_retries=0)
    async with client:
        with pytest.raises(anthropic.BadRequestError) as refused:
            await client.messages.create(
                model="claude-haiku-4-5", max_tokens=300, tools=[route_to],
                tool_choice=tool_choice, thinking={"type": "adaptive"},
                messages=[{"role": "user", "content": "route this"}],
            )  # fmt: skip
    assert "Thinking may not be enabled when tool_choice forces tool use." in str(refused.value)
