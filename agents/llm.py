"""The model client: one streamed Messages API call, with its usage, cost and retry rules."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anthropic
from pydantic import BaseModel, ConfigDict, model_validator

from agents.model_client import ModelClient
from agents.model_errors import IncompleteStream, describe_error, is_retryable
from agents.pricing import cost_usd
from agents.prompt_cache import with_cache_breakpoints
from agents.thinking import forces_tool
from core import faults
from core.redact import Redactor, StreamRedactor

RETRY_AFTER_CAP_S = 60.0

__all__ = ["IncompleteStream", "describe_error", "is_retryable"]  # agents/model_errors.py


class ModelRequest(BaseModel):
    """Everything one model call sends."""

    model_config = ConfigDict(frozen=True)

    model: str
    system: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = []
    max_tokens: int = 4096
    tool_choice: dict[str, Any] | None = None
    thinking: dict[str, Any] | None = None
    """The Messages API `thinking` parameter (agents/thinking.py), None: not sent."""

    @model_validator(mode="after")
    def _thinking_allowed(self) -> ModelRequest:
        """The API refuses thinking with a forced tool choice, and a budget not below
        max_tokens: raises ValueError for either, before the call."""
        if self.thinking is None:
            return self
        if forces_tool(self.tool_choice):
            raise ValueError("thinking may not be enabled when tool_choice forces tool use")
        budget = self.thinking.get("budget_tokens")
        if isinstance(budget, int) and budget >= self.max_tokens:
            raise ValueError("max_tokens must be greater than thinking.budget_tokens")
        return self


class Usage(BaseModel):
    """Token counts and cost of one or more calls."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def prompt_tokens(self) -> int:
        """The whole prompt: uncached input plus what was read from and written to the cache
        (the API counts the three apart: `input_tokens` is only the uncached rest)."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def total_tokens(self) -> int:
        """The whole prompt plus the output tokens."""
        return self.prompt_tokens + self.output_tokens

    def plus(self, other: Usage) -> Usage:
        """The sum of two usages."""
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            cost_usd=round(self.cost_usd + other.cost_usd, 6),
        )


class ToolUse(BaseModel):
    """A tool call the model asked for."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    input: dict[str, Any]


class ModelReply(BaseModel):
    """The final message of one call, as the workflow records it."""

    model_config = ConfigDict(frozen=True)

    model: str
    content: list[dict[str, Any]]
    stop_reason: str | None
    usage: Usage
    duration_ms: float
    first_token_ms: float = 0.0

    @property
    def text(self) -> str:
        """All text blocks joined."""
        return "".join(block.get("text", "") for block in self.content if block["type"] == "text")

    @property
    def tool_uses(self) -> list[ToolUse]:
        """The tool_use blocks, in order."""
        return [
            ToolUse(id=b["id"], name=b["name"], input=b.get("input") or {})
            for b in self.content
            if b["type"] == "tool_use"
        ]


def _reply_from(message: anthropic.types.Message, started: float, redactor: Redactor) -> ModelReply:
    usage = message.usage
    cache_read = usage.cache_read_input_tokens or 0
    cache_write = usage.cache_creation_input_tokens or 0
    content: list[dict[str, Any]] = []
    for block in message.content:
        if block.type == "text":
            if block.text.strip():  # a blank text block is refused when sent back
                content.append({"type": "text", "text": redactor.redact(block.text)})
        elif block.type == "tool_use":
            content.append(
                {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
            )
        else:  # thinking (text and signature), redacted_thinking, server tool blocks: sent
            # back exactly as they came (the API checks thinking signatures; pause_turn)
            content.append(block.model_dump(mode="json", exclude_none=True))
    return ModelReply(
        model=message.model,
        content=content,
        stop_reason=message.stop_reason,
        usage=Usage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
            cost_usd=cost_usd(
                message.model, usage.input_tokens, usage.output_tokens, cache_write, cache_read
            ),
        ),
        duration_ms=round((time.monotonic() - started) * 1000, 1),
    )


def _api_arguments(request: ModelRequest) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "model": request.model,
        "system": request.system,
        "messages": request.messages,
        "max_tokens": request.max_tokens,
    }
    if request.tools:
        arguments["tools"] = request.tools
    if request.tool_choice:
        arguments["tool_choice"] = request.tool_choice
    if request.thinking is not None:
        arguments["thinking"] = request.thinking
    return arguments


def count_arguments(request: ModelRequest) -> dict[str, Any]:
    """The `messages.count_tokens` arguments of `request`: what its call would send, less
    `max_tokens` (count_tokens takes no output budget;
    https://docs.anthropic.com/en/api/messages-count-tokens)."""
    return {k: v for k, v in _api_arguments(request).items() if k != "max_tokens"}


def _scrub_block(block: Any, redactor: Redactor) -> Any:
    if isinstance(block, str):
        return redactor.redact(block)
    if not isinstance(block, dict):
        return block
    if block.get("type") == "text":
        return {**block, "text": redactor.redact(str(block.get("text", "")))}
    if block.get("type") == "tool_result":
        content = block.get("content")
        scrubbed = (redactor.redact(content) if isinstance(content, str)
                    else [_scrub_block(b, redactor) for b in content or []])  # fmt: skip
        return {**block, "content": scrubbed}
    return block


def is_blank_text(block: Any) -> bool:
    """A text block with no visible text: the Messages API refuses it in a request (400
    "messages: text content blocks must be non-empty")."""
    return isinstance(block, dict) and block.get("type") == "text" and not str(
        block.get("text") or "").strip()  # fmt: skip


def scrubbed(request: ModelRequest, redactor: Redactor) -> ModelRequest:
    """The request with every text a person or a tool wrote redacted (defence in depth), and
    without blank text blocks (the API refuses them)."""
    messages = []
    for message in request.messages:
        content = message.get("content")
        if isinstance(content, list):
            content = [_scrub_block(b, redactor) for b in content if not is_blank_text(b)]
        else:
            content = _scrub_block(content, redactor)
        messages.append({**message, "content": content})
    return request.model_copy(
        update={"messages": messages, "system": redactor.redact(request.system)}
    )


class LlmClient:
    """Calls the Messages API with streaming; retries are left to the caller (one layer only).

    At most `max_concurrent` calls are open at once per process: thousands of runs resumed or
    started together queue here instead of opening thousands of connections to the API.
    """

    def __init__(
        self, client: ModelClient, redactor: Redactor, max_concurrent: int = 64,
        caching: bool = False,
    ) -> None:  # fmt: skip
        self.client = client
        self.redactor = redactor
        self.max_concurrent = max_concurrent
        self.caching = caching
        """Mark cache breakpoints (agents/prompt_cache.py): off where the endpoint lacks
        prompt caching (OPSBOT_MODEL_FEATURES)."""
        self._slots: asyncio.Semaphore | None = None

    def _arguments(self, request: ModelRequest) -> dict[str, Any]:
        arguments = _api_arguments(request)
        return with_cache_breakpoints(arguments) if self.caching else arguments

    @property
    def slots(self) -> asyncio.Semaphore:
        """The semaphore bounding open calls (made on first use, on the running loop)."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_concurrent)
        return self._slots

    async def stream(
        self,
        request: ModelRequest,
        on_text: Callable[[str], Awaitable[None]],
        on_tool: Callable[[str], Awaitable[None]] | None = None,
        redactor: Redactor | None = None,
    ) -> ModelReply:
        """Stream one call: redacted text to `on_text`, each tool_use name to `on_tool`.

        `redactor` is the run's own (see Redactor.for_run); the client's is used without one.
        """
        redactor = redactor or self.redactor
        started = time.monotonic()
        pieces = StreamRedactor(redactor)
        finished = False
        first_token: float | None = None
        request = scrubbed(request, redactor)
        async with self.slots, self.client.messages.stream(**self._arguments(request)) as stream:
            async for event in stream:
                if first_token is None and event.type in ("text", "input_json", "thinking"):
                    first_token = time.monotonic()
                if event.type == "text":  # never thinking deltas: those are not shown
                    if ready := pieces.feed(event.text):
                        await on_text(ready)
                    # Counted per delta of the model, not per piece shown: the redactor holds
                    # text back in amounts of its own, a crash test names a place in the answer.
                    faults.point("mid_stream")
                elif event.type == "content_block_start" and on_tool is not None:
                    if event.content_block.type == "tool_use":
                        await on_tool(event.content_block.name)
                elif event.type == "message_stop":
                    finished = True
            if not finished:
                raise IncompleteStream("the model's stream ended before message_stop")
            message = await stream.get_final_message()
        if rest := pieces.flush():
            await on_text(rest)
        reply = _reply_from(message, started, redactor)
        waited = ((first_token or time.monotonic()) - started) * 1000
        return reply.model_copy(update={"first_token_ms": round(waited, 1)})

    async def create(self, request: ModelRequest, redactor: Redactor | None = None) -> ModelReply:
        """One call without streaming (the router's structured classification)."""
        redactor = redactor or self.redactor
        started = time.monotonic()
        request = scrubbed(request, redactor)
        async with self.slots:
            message = await self.client.messages.create(**self._arguments(request))
        return _reply_from(message, started, redactor)


def retry_after_s(error: BaseException) -> float:
    """The server's `Retry-After` (seconds, capped), or 0 when it sent none."""
    if not isinstance(error, anthropic.APIStatusError):
        return 0.0
    value = error.response.headers.get("retry-after")
    try:
        return min(max(float(value), 0.0), RETRY_AFTER_CAP_S) if value else 0.0
    except ValueError:
        return 0.0


async def honour_retry_after(error: BaseException) -> None:
    """Wait what the server asked for before the next attempt."""
    if delay := retry_after_s(error):
        await asyncio.sleep(delay)
