"""The scripted model server, started as `python -m sandbox.model`, spoken to by the real SDK."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import anthropic
import pytest

ROOT = Path(__file__).resolve().parents[2]
ROUTER_SYSTEM = "You are opsbot's router."
AGENT_SYSTEM = "You are opsbot's log_analyzer agent."


@pytest.fixture
async def server_url(unused_tcp_port: int) -> AsyncIterator[str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sandbox.model", "--port", str(unused_tcp_port),
        "--scenario", "checkout-500", cwd=ROOT, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stdout is not None
    first_line = await asyncio.wait_for(process.stdout.readline(), 20)
    assert b"scripted model 'checkout-500'" in first_line
    yield f"http://127.0.0.1:{unused_tcp_port}"
    process.terminate()
    await process.wait()


@asynccontextmanager
async def client(url: str) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(api_key="sk-test", base_url=url, max_retries=0) as sdk:
        yield sdk


async def test_streaming_replays_the_script_with_the_real_event_sequence(server_url: str) -> None:
    kinds: list[str] = []
    messages = [{"role": "user", "content": "checkout is returning 500s"}]
    async with (
        client(server_url) as sdk,
        sdk.messages.stream(
            model="claude-sonnet-4-6", max_tokens=100, system=AGENT_SYSTEM, messages=messages
        ) as stream,
    ):
        async for event in stream:
            kinds.append(event.type)
        final = await stream.get_final_message()
    assert kinds[:2] == ["message_start", "content_block_start"]
    assert "text" in kinds
    assert "input_json" in kinds
    assert kinds[-2:] == ["message_delta", "message_stop"]
    assert final.stop_reason == "tool_use"
    assert final.content[0].type == "text"
    tool = final.content[1]
    assert tool.type == "tool_use"
    assert tool.name == "search_logs"
    assert tool.input["query"] == "ERROR|KeyError|POST /checkout 500"
    assert final.usage.input_tokens > 0
    assert final.usage.output_tokens > 0


async def test_the_step_follows_the_conversation_without_server_state(server_url: str) -> None:
    async with client(server_url) as sdk:
        first = await sdk.messages.create(
            model="m", max_tokens=50, system=AGENT_SYSTEM,
            messages=[{"role": "user", "content": "checkout is returning 500s"}],
        )  # fmt: skip
    second_messages = [
        {"role": "user", "content": "checkout is returning 500s"},
        {"role": "assistant", "content": [b.model_dump() for b in first.content]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": first.content[1].id, "content": "[]"}]},  # type: ignore[union-attr]
    ]  # fmt: skip
    async with client(server_url) as sdk:
        second = await sdk.messages.create(
            model="m", max_tokens=50, system=AGENT_SYSTEM, messages=second_messages
        )
    assert second.content[1].name == "read_file"  # type: ignore[union-attr]


async def test_the_router_is_forced_to_route_to(server_url: str) -> None:
    async with client(server_url) as sdk:
        reply = await sdk.messages.create(
            model="claude-haiku-4-5", max_tokens=50, system=ROUTER_SYSTEM,
            messages=[{"role": "user", "content": "checkout is returning 500s"}],
            tools=[{"name": "route_to", "input_schema": {"type": "object"}}],
            tool_choice={"type": "tool", "name": "route_to"},
        )  # fmt: skip
    assert reply.content[0].type == "tool_use"
    assert reply.content[0].input == {
        "agent": "log_analyzer", "reason": "The engineer reports errors; the logs come first.",
    }  # fmt: skip


async def test_errors_have_the_api_shape(server_url: str) -> None:
    async with aiohttp.ClientSession() as http:
        unauthenticated = await http.post(f"{server_url}/v1/messages", json={})
        assert unauthenticated.status == 401
        body = await unauthenticated.json()
        assert body["error"]["type"] == "authentication_error"
        invalid = await http.post(
            f"{server_url}/v1/messages", json={"model": "m", "messages": []},
            headers={"x-api-key": "sk-test"},
        )  # fmt: skip
        assert invalid.status == 400
        assert (await invalid.json())["error"] == {
            "type": "invalid_request_error", "message": "max_tokens: must be a positive integer",
        }  # fmt: skip
        await http.post(
            f"{server_url}/_sandbox/faults",
            json=[{"kind": "status", "status": 429, "retry_after": 2},
                  {"kind": "status", "status": 529}],
        )  # fmt: skip
    request = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    async with client(server_url) as sdk:
        with pytest.raises(anthropic.RateLimitError) as limited:
            await sdk.messages.create(**request)  # type: ignore[call-overload]
        assert limited.value.response.headers["retry-after"] == "2"
        with pytest.raises(anthropic.InternalServerError) as overloaded:
            await sdk.messages.create(**request)  # type: ignore[call-overload]
        assert overloaded.value.status_code == 529
