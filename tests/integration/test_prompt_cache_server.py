"""The local model server's prompt cache follows the documented rules (sandbox/model/
prompt_cache.py): requests through the real anthropic SDK, usage read from its answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic
import pytest

from sandbox.model.prompt_cache import DEFAULT_MINIMUM, LOOKBACK_BLOCKS, minimum_tokens
from sandbox.model.server import RunningModelServer, start_model_server
from tests.support import scripted

EPHEMERAL = {"type": "ephemeral"}
LONG = "The checkout service runbook. " * 400  # ~3,000 tokens: above Sonnet's minimum
MODEL = "claude-sonnet-4-5"


@pytest.fixture
async def server() -> AsyncIterator[RunningModelServer]:
    running = await start_model_server(scripted([{"match": ".*", "log_analyzer": [
        {"text": "ok"}, {"text": "ok"}, {"text": "ok"}, {"text": "ok"}]}]))  # fmt: skip
    yield running
    await running.stop()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def usage(server: RunningModelServer, messages: list[dict[str, Any]], system: Any = None,
                model: str = MODEL) -> anthropic.types.Usage:  # fmt: skip
    async with anthropic.AsyncAnthropic(api_key="k", base_url=server.url, max_retries=0) as sdk:
        reply = await sdk.messages.create(
            model=model, max_tokens=50, messages=messages,  # type: ignore[arg-type]
            system=system or [{"type": "text", "text": "You are opsbot's log_analyzer agent. "
                               + LONG, "cache_control": EPHEMERAL}],
        )  # fmt: skip
    return reply.usage


def ask(text: str, marked: bool = True) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": text}
    return {"role": "user", "content": [{**block, "cache_control": EPHEMERAL} if marked
                                        else block]}  # fmt: skip


async def test_the_same_prefix_is_written_once_then_read_and_the_parts_add_up(
    server: RunningModelServer,
) -> None:
    first = await usage(server, [ask("what broke?")])
    second = await usage(server, [ask("what broke?")])

    assert first.cache_read_input_tokens == 0
    assert (first.cache_creation_input_tokens or 0) > DEFAULT_MINIMUM
    assert second.cache_creation_input_tokens == 0
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    total = first.input_tokens + (first.cache_creation_input_tokens or 0)
    assert second.input_tokens + (second.cache_read_input_tokens or 0) == total


@pytest.mark.parametrize(
    ("change", "why"),
    [({"model": "claude-haiku-4-5"}, "caches belong to a model"),
     ({"system": [{"type": "text", "text": "You are opsbot's log_analyzer agent. " + LONG + "!",
                   "cache_control": EPHEMERAL}]}, "an earlier block changed")],
)  # fmt: skip
async def test_a_different_prefix_is_not_read(
    server: RunningModelServer, change: dict[str, Any], why: str
) -> None:
    await usage(server, [ask("what broke?")])

    other = await usage(server, [ask("what broke?")], **change)

    assert other.cache_read_input_tokens == 0, why


async def test_a_prefix_under_the_models_minimum_is_never_cached(
    server: RunningModelServer,
) -> None:
    short = [{"type": "text", "text": "You are opsbot's log_analyzer agent.",
              "cache_control": EPHEMERAL}]  # fmt: skip
    assert minimum_tokens("claude-opus-4-6") == 4096
    assert minimum_tokens("claude-sonnet-4-5") == DEFAULT_MINIMUM

    for _ in range(2):
        small = await usage(server, [ask("hi")], system=short)
        assert (small.cache_creation_input_tokens, small.cache_read_input_tokens) == (0, 0)
    # ~3,000 tokens: cached for Sonnet 4.5 (1,024), not for Opus 4.6 (4,096)
    for _ in range(2):
        opus = await usage(server, [ask("hi")], model="claude-opus-4-6")
        assert (opus.cache_creation_input_tokens, opus.cache_read_input_tokens) == (0, 0)


async def test_a_prefix_expires_five_minutes_after_its_last_use(
    server: RunningModelServer,
) -> None:
    clock = Clock()
    server.state.cache.clock = clock
    await usage(server, [ask("what broke?")])
    clock.now += 299
    assert (await usage(server, [ask("what broke?")])).cache_read_input_tokens, "alive"
    clock.now += 299  # 598 s after the write, 299 s after the read that refreshed it
    assert (await usage(server, [ask("what broke?")])).cache_read_input_tokens, "refreshed"
    clock.now += 301

    late = await usage(server, [ask("what broke?")])

    assert late.cache_read_input_tokens == 0
    assert (late.cache_creation_input_tokens or 0) > 0, "written again"


@pytest.mark.parametrize(("added", "hit"), [(LOOKBACK_BLOCKS - 1, True), (LOOKBACK_BLOCKS + 1,
                                                                          False)])  # fmt: skip
async def test_a_hit_is_found_up_to_twenty_blocks_before_a_breakpoint(
    server: RunningModelServer, added: int, hit: bool
) -> None:
    first = await usage(server, [ask("what broke?")])
    blocks = [{"type": "text", "text": f"line {n}"} for n in range(added)]
    grown = {"role": "user", "content": [{"type": "text", "text": "what broke?"}, *blocks[:-1],
                                         {**blocks[-1], "cache_control": EPHEMERAL}]}  # fmt: skip

    later = await usage(server, [grown])

    read = later.cache_read_input_tokens or 0
    assert (read == first.cache_creation_input_tokens) is hit
    if not hit:  # only the system prompt's own breakpoint is found
        assert 0 < read < (first.cache_creation_input_tokens or 0)


@pytest.mark.parametrize(
    ("markers", "error"),
    [(4, "A maximum of 4 blocks with cache_control may be provided. Found 5."),
     (1, "cache_control.ttl")],
)  # fmt: skip
async def test_the_api_refuses_more_than_four_markers_and_an_unknown_ttl(
    server: RunningModelServer, markers: int, error: str
) -> None:
    ttl = {"ttl": "5m"} if markers > 1 else {"ttl": "2h"}
    content = [{"type": "text", "text": f"part {n}", "cache_control": {**EPHEMERAL, **ttl}}
               for n in range(markers)]  # fmt: skip

    with pytest.raises(anthropic.BadRequestError, match=error):
        await usage(server, [{"role": "user", "content": content}])
