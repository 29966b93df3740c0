"""What the scripted model does wrong on demand, and the request checks the real API makes.

Faults are queued (`POST /_sandbox/faults` or `state.faults`) and taken in order:

- `status`: an HTTP error (`status`, `error_type`, `message`, optional `retry_after`);
- `break`: the connection drops after `after_events` SSE events;
- `stream_error`: an `error` event (`error_type`, `message`) inside a 200 stream after
  `after_events` events, then the stream ends, as the Messages API does on overload;
- `no_stop`: the stream ends cleanly after `after_events` events, without `message_stop`;
- `reply`: this raw reply instead of the script's (`content` blocks and `stop_reason`); with
  `stop_reason` `max_tokens` or `model_context_window_exceeded` and a tool_use last, its
  input JSON is streamed only up to `cut_at` characters, as a cut reply is.

A fault with `role` waits for a request of that role (router, log_analyzer, coding).
The error shapes follow https://docs.anthropic.com/en/api/errors and
https://docs.anthropic.com/en/docs/build-with-claude/streaming#error-events.
"""

from __future__ import annotations

import json
import os
from collections import deque
from dataclasses import dataclass
from typing import Any

CUT_OFF = frozenset({"max_tokens", "model_context_window_exceeded"})
STREAM_ONLY = frozenset({"break", "stream_error", "no_stop", "reply"})
MAX_INPUT_TOKENS_ENV = "OPSBOT_SANDBOX_MAX_INPUT_TOKENS"
CHARS_PER_TOKEN = 4
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass
class Fault:
    """A failure (or an odd reply) to inject into the next requests; see the module's text."""

    kind: str
    count: int = 1
    status: int = 529
    retry_after: float | None = None
    after_events: int = 4
    error_type: str = ""
    message: str = "injected failure"
    role: str | None = None
    content: list[dict[str, Any]] | None = None
    stop_reason: str = "end_turn"
    cut_at: int = 40

    @property
    def type_name(self) -> str:
        """The error's `type`: given, else the one the API uses for the status."""
        return self.error_type or ERROR_TYPES.get(self.status, "api_error")


def take_fault(faults: deque[Fault], streaming: bool, role: str) -> Fault | None:
    """Take one use of the first pending fault, if it applies to this request."""
    if not faults:
        return None
    fault = faults[0]
    if (fault.kind in STREAM_ONLY and not streaming) or (fault.role and fault.role != role):
        return None
    fault.count -= 1
    if fault.count <= 0:
        faults.popleft()
    return fault


def error_event(fault: Fault) -> bytes:
    """The SSE `error` event of a stream that fails after its 200."""
    body = {"type": "error", "error": {"type": fault.type_name, "message": fault.message}}
    return f"event: error\ndata: {json.dumps(body)}\n\n".encode()


def max_input_tokens_from_env() -> int | None:
    """The context window the server enforces (`OPSBOT_SANDBOX_MAX_INPUT_TOKENS`), or None."""
    raw = os.environ.get(MAX_INPUT_TOKENS_ENV, "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def prompt_tokens(body: dict[str, Any]) -> int:
    """A rough token count of the prompt (system, messages, tools): 4 characters a token."""
    prompt = {k: body.get(k) for k in ("system", "messages", "tools")}
    return max(1, len(json.dumps(prompt, ensure_ascii=False)) // CHARS_PER_TOKEN)


def _blank_text_problem(content: Any) -> str | None:
    for block in content if isinstance(content, list) else []:
        if isinstance(block, dict) and block.get("type") == "text":
            text = block.get("text")
            if not text:
                return "messages: text content blocks must be non-empty"
            if isinstance(text, str) and not text.strip():
                return "messages: text content blocks must contain non-whitespace text"
    return None


def _ids(content: Any, kind: str, key: str) -> list[str]:
    blocks = content if isinstance(content, list) else []
    return [str(b.get(key)) for b in blocks if isinstance(b, dict) and b.get("type") == kind]


def message_problem(messages: list[Any]) -> str | None:
    """What the Messages API would refuse in these messages (400 invalid_request_error):
    blank text, empty content, a tool_use without its tool_result right after."""
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return f"messages.{index}: role must be 'user' or 'assistant'"
        content = message.get("content")
        last = index == len(messages) - 1
        if not content and not (last and message["role"] == "assistant"):
            return (f"messages.{index}: all messages must have non-empty content except for "
                    "the optional final assistant message")  # fmt: skip
        if problem := _blank_text_problem(content):
            return problem
        used = _ids(content, "tool_use", "id")
        if used and not last:
            answered = set(_ids(messages[index + 1].get("content"), "tool_result", "tool_use_id"))
            if missing := [i for i in used if i not in answered]:
                return (f"messages.{index + 1}: `tool_use` ids were found without "
                        f"`tool_result` blocks immediately after: {', '.join(missing)}. Each "
                        "`tool_use` block must have a corresponding `tool_result` block in the "
                        "next message.")  # fmt: skip
    return None


def cut_events(
    events: list[tuple[dict[str, Any], bool]], fault: Fault
) -> list[tuple[dict[str, Any], bool]]:
    """The events of a cut reply: the last tool_use's input JSON ends after `cut_at` characters."""
    last = max((i for i, (e, _) in enumerate(events) if e["type"] == "content_block_start"),
               default=None)  # fmt: skip
    if last is None or events[last][0]["content_block"]["type"] != "tool_use":
        return events
    index = events[last][0]["index"]
    sent = 0
    kept: list[tuple[dict[str, Any], bool]] = []
    for event, is_token in events:
        delta = event.get("delta", {})
        if event.get("index") == index and delta.get("type") == "input_json_delta":
            piece = delta["partial_json"][: max(0, fault.cut_at - sent)]
            sent += len(piece)
            if not piece:
                continue
            event = {**event, "delta": {**delta, "partial_json": piece}}
        kept.append((event, is_token))
    return kept
