"""At most N model calls are open at once per process; the rest wait their turn."""

from __future__ import annotations

import asyncio

import anthropic

from agents.llm import LlmClient, ModelRequest
from core.redact import Redactor
from sandbox.model.scenario import parse_scenario
from sandbox.model.server import start_model_server

SLOW = parse_scenario({"name": "slow", "latency_ms": 300, "turns": [
    {"match": ".*", "log_analyzer": [{"text": "ok"}]},
]})  # fmt: skip


async def test_calls_beyond_the_bound_wait_for_a_free_slot() -> None:
    server = await start_model_server(SLOW)
    client = anthropic.AsyncAnthropic(api_key="k", base_url=server.url, max_retries=0)
    llm = LlmClient(client, Redactor(), max_concurrent=2)
    request = ModelRequest(model="m", system="You are opsbot's log_analyzer.",
                           messages=[{"role": "user", "content": "look"}])  # fmt: skip
    open_now = peak = 0

    async def on_text(_: str) -> None:  # runs inside an open call
        nonlocal open_now, peak
        open_now += 1
        peak = max(peak, open_now)
        await asyncio.sleep(0.05)
        open_now -= 1

    try:
        started = asyncio.get_running_loop().time()
        replies = await asyncio.gather(*(llm.stream(request, on_text) for _ in range(6)))
        took = asyncio.get_running_loop().time() - started
    finally:
        await client.close()
        await server.stop()
    assert [r.content[0]["text"] for r in replies] == ["ok"] * 6
    assert peak <= 2, "never more than two calls open"
    assert took >= 3 * 0.3, "six calls of 300 ms through two slots take three rounds"
    assert server.state.served == 6
