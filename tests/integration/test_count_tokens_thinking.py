"""count_tokens sends the call's `thinking` with its messages: without it, a final assistant
message holding thinking blocks (a paused turn sent back) is refused as the Messages API
refuses it, and the run loses its count."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import anthropic
import pytest

from agents.context_budget import count_prompt_tokens
from agents.engine import Engine
from agents.llm import LlmClient, ModelRequest
from core.redact import Redactor
from sandbox.model.server import RunningModelServer, start_model_server
from sandbox.model.thinking import thinking_blocks
from tests.support import scripted

ADAPTIVE = {"type": "adaptive"}


@pytest.fixture
async def server() -> AsyncIterator[RunningModelServer]:
    running = await start_model_server(scripted([{"match": ".*", "log_analyzer": [
        {"text": "ok"}]}]))  # fmt: skip
    yield running
    await running.stop()


class CountingEngine:
    """What count_prompt_tokens reads of an engine: the run's redactor and the model client."""

    def __init__(self, client: anthropic.AsyncAnthropic) -> None:
        self.llm = LlmClient(client, Redactor())

    def redactor_for(self, run_id: str) -> Redactor:
        return self.llm.redactor


def paused(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": "checkout returns 500s"},
            {"role": "assistant", "content": blocks}]  # fmt: skip


@pytest.mark.parametrize("blocks", [
    thinking_blocks("the 500s started at 14:02"),
    thinking_blocks("look at the deploy first", redacted=True),
])  # fmt: skip
async def test_a_paused_turn_with_thinking_is_counted(
    server: RunningModelServer, blocks: list[dict[str, Any]]
) -> None:
    request = ModelRequest(model="claude-sonnet-4-6", system="You are opsbot.",
                           messages=paused(blocks), thinking=ADAPTIVE)  # fmt: skip
    async with anthropic.AsyncAnthropic(api_key="k", base_url=server.url, max_retries=0) as sdk:
        engine = cast(Engine, CountingEngine(sdk))
        counted = await count_prompt_tokens(engine, "run-1", request)
        assert counted is not None
        assert counted > 0
        with pytest.raises(anthropic.BadRequestError, match="When thinking is disabled"):
            await sdk.messages.count_tokens(model=request.model, system=request.system,
                                            messages=cast(Any, request.messages))  # fmt: skip


async def test_a_call_without_thinking_may_not_end_with_thinking(
    server: RunningModelServer,
) -> None:
    async with anthropic.AsyncAnthropic(api_key="k", base_url=server.url, max_retries=0) as sdk:
        for blocks in (thinking_blocks("a"), thinking_blocks("b", redacted=True)):
            with pytest.raises(anthropic.BadRequestError, match="final position cannot"):
                await sdk.messages.create(model="claude-sonnet-4-6", max_tokens=100,
                                          messages=cast(Any, paused(blocks)))  # fmt: skip
