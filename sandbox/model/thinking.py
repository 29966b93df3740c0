"""Extended thinking on the local model server, by the Messages API's rules.

Per platform.claude.com/docs/en/build-with-claude/extended-thinking and .../adaptive-thinking:

- `thinking` is `{"type": "adaptive"}`, `{"type": "enabled", "budget_tokens": N}` (N at least
  1,024 and below `max_tokens`) or `{"type": "disabled"}`;
- thinking may not be combined with a `tool_choice` that forces tool use (`any`, `tool`), nor
  with a `temperature` other than 1;
- a reply starts with a `thinking` block (its text, then a `signature` that vouches for it)
  and may hold `redacted_thinking` blocks (opaque `data`); streamed, the text comes as
  `thinking_delta` events and the signature as one `signature_delta` before the block stops;
- during tool use the final assistant message must start with a thinking block, and every
  thinking or redacted_thinking block sent back must be exactly as it came: the API checks
  the signature and answers 400 otherwise.

This server signs a thinking block with an HMAC of its text, and a redacted_thinking block's
data carries an HMAC of its own payload, so a changed text, signature or data is refused as
the API refuses it. It always thinks when asked (an adaptive model may not), so a request
whose last assistant message lacks its thinking block shows that a client dropped it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any

KEY = b"opsbot sandbox model: thinking signatures"
"""Fixed, so blocks stay valid across server restarts (the API's signatures do not expire)."""
FORCED_TOOL_CHOICE = "Thinking may not be enabled when tool_choice forces tool use."
THINKING_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
MIN_BUDGET_TOKENS = 1024
REDACTED_PREFIX = "EncryptedSandboxThinking:"


def signature(thinking: str) -> str:
    """The signature this server gives a thinking block with text `thinking`."""
    digest = hmac.new(KEY, thinking.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def redacted_data(payload: str) -> str:
    """An opaque redacted_thinking `data` wrapping `payload` with its HMAC."""
    raw = f"{payload}\n{signature(payload)}".encode()
    return REDACTED_PREFIX + base64.b64encode(raw).decode()


def default_thinking(role: str, step: int) -> str:
    """What this server thinks at a step the script gives no thinking for."""
    return f"Private reasoning of {role} at step {step + 1}: which evidence settles it?"


def thinking_blocks(text: str, redacted: bool = False) -> list[dict[str, Any]]:
    """The blocks a reply starts with: a signed thinking block, then a redacted one if asked."""
    blocks: list[dict[str, Any]] = [
        {"type": "thinking", "thinking": text, "signature": signature(text)}
    ]
    if redacted:
        blocks.append({"type": "redacted_thinking", "data": redacted_data(f"hidden: {text}")})
    return blocks


def thinking_events(index: int, block: dict[str, Any]) -> list[dict[str, Any]]:
    """A thinking block at `index` streamed as the API streams it: its start (empty), its
    text in thinking_delta events, then its signature in one signature_delta."""
    start = {"type": "thinking", "thinking": "", "signature": ""}
    events = [{"type": "content_block_start", "index": index, "content_block": start}]
    for word in re.findall(r"\S+\s*|\s+", block["thinking"]):
        delta = {"type": "thinking_delta", "thinking": word}
        events.append({"type": "content_block_delta", "index": index, "delta": delta})
    delta = {"type": "signature_delta", "signature": block["signature"]}
    events.append({"type": "content_block_delta", "index": index, "delta": delta})
    return events


def thinking_on(body: dict[str, Any]) -> bool:
    """Whether the request asks for thinking (adaptive or enabled)."""
    config = body.get("thinking")
    return isinstance(config, dict) and config.get("type") in ("adaptive", "enabled")


def config_problem(body: dict[str, Any]) -> str | None:
    """Why the request's `thinking` (with its tool_choice, temperature, max_tokens) would be
    refused, or None."""
    config = body.get("thinking")
    if config is None:
        return None
    kind = config.get("type") if isinstance(config, dict) else None
    if kind not in ("adaptive", "enabled", "disabled"):
        return "thinking.type: Input should be 'adaptive', 'enabled' or 'disabled'"
    if kind == "disabled":
        return None
    if kind == "enabled":
        budget = config.get("budget_tokens")
        if not isinstance(budget, int):
            return "thinking.enabled.budget_tokens: Field required"
        if budget < MIN_BUDGET_TOKENS:
            return f"thinking.enabled.budget_tokens: Input should be >= {MIN_BUDGET_TOKENS}"
        if body.get("max_tokens", 0) <= budget:
            return "`max_tokens` must be greater than `thinking.budget_tokens`."
    tool_choice = body.get("tool_choice")
    if isinstance(tool_choice, dict) and tool_choice.get("type") in ("any", "tool"):
        return FORCED_TOOL_CHOICE
    temperature = body.get("temperature")
    if temperature is not None and temperature != 1:
        return "`temperature` may only be set to 1 when thinking is enabled or in adaptive mode."
    return None


def _block_problem(block: dict[str, Any]) -> bool:
    """Whether a thinking or redacted_thinking block is not as this server gave it."""
    if block.get("type") == "thinking":
        text, signed = block.get("thinking"), block.get("signature")
        valid = isinstance(text, str) and isinstance(signed, str)
        return not (valid and hmac.compare_digest(signature(str(text)), str(signed)))
    data = block.get("data")
    if not isinstance(data, str) or not data.startswith(REDACTED_PREFIX):
        return True
    try:
        raw = base64.b64decode(data[len(REDACTED_PREFIX) :], validate=True).decode()
    except ValueError:
        return True
    payload, _, signed = raw.rpartition("\n")
    return not hmac.compare_digest(signature(payload), signed)


def passed_back_problem(body: dict[str, Any]) -> str | None:
    """Why the thinking blocks the request sends back would be refused, or None: a block
    changed in any way (whether or not thinking is on now), or, with thinking on, a final
    assistant message of a tool-use cycle that does not start with its thinking block."""
    messages = body.get("messages") or []
    for index, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        for at, block in enumerate(content if isinstance(content, list) else []):
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind in ("thinking", "redacted_thinking") and _block_problem(block):
                return f"messages.{index}.content.{at}: Invalid `signature` in `{kind}` block"
    if not thinking_on(body):
        return _final_thinking_problem(messages)
    last = _final_assistant(messages)
    if last is None:
        return None
    content = messages[last].get("content")
    first = content[0] if isinstance(content, list) and content else {"type": "text"}
    kind = first.get("type") if isinstance(first, dict) else "text"
    if kind in ("thinking", "redacted_thinking"):
        return None
    return (f"messages.{last}.content.0.type: Expected `thinking` or `redacted_thinking`, but "
            f"found `{kind}`. When `thinking` is enabled, a final `assistant` message must "
            "start with a thinking block (preceeding the lastmost set of `tool_use` and "
            "`tool_result` blocks). We recommend you include thinking blocks from previous "
            "turns. To avoid this requirement, disable `thinking`. Please consult our "
            f"documentation at {THINKING_DOCS}")  # fmt: skip


def _final_thinking_problem(messages: list[Any]) -> str | None:
    """Without thinking, a final assistant message (a paused turn sent back) may hold no
    thinking block: the API's 400 for it, or None."""
    last = messages[-1] if messages else None
    content = last.get("content") if isinstance(last, dict) else None
    if not isinstance(last, dict) or last.get("role") != "assistant":
        return None
    for at, block in enumerate(content if isinstance(content, list) else []):
        if isinstance(block, dict) and block.get("type") in ("thinking", "redacted_thinking"):
            return (f"messages.{len(messages) - 1}.content.{at}: When thinking is disabled, an "
                    "`assistant` message in the final position cannot contain `thinking`. To "
                    "use thinking blocks, enable `thinking` in your request.")  # fmt: skip
    return None


def _final_assistant(messages: list[Any]) -> int | None:
    """The index of the last assistant message of the tool-use cycle under way (after the
    last user message with text), or None when the cycle has no assistant message yet."""
    found = None
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if message.get("role") == "user" and _has_text(content):
            found = None
        elif message.get("role") == "assistant":
            found = index
    return found


def _has_text(content: Any) -> bool:
    if isinstance(content, str):
        return True
    return any(isinstance(b, dict) and b.get("type") == "text" for b in content or [])
