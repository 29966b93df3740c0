"""Prompt caching: where a model call marks its cache breakpoints.

Per platform.claude.com/docs/en/build-with-claude/prompt-caching, the prompt is read as tools,
then system, then messages; a block with `cache_control` ends a prefix the API caches (at most
4 such blocks, each prefix at least the model's minimum length, 1,024 to 4,096 tokens), and a
later call whose prompt starts with the same prefix reads it at a tenth of the input price
(writing it costs 1.25 times). A hit is looked for at each breakpoint and up to 20 blocks
before it.

Each call of an agent loop sends what the previous call sent plus the reply and its tool
results, so the breakpoints are:

1. the last tool definition: the tools stay while a hop's system prompt changes (the coding
   agent's carries the findings);
2. the system prompt: tools and instructions, the same for every call of a hop;
3. the message the previous call ended with (the third from the end): exactly the previous
   call's prefix, read whatever the 20-block window holds;
4. the last message: written now, read by the next call.

Blocks that cannot carry a marker are passed over: thinking blocks (the API refuses
`cache_control` on them) and blank text.
"""

from __future__ import annotations

from typing import Any

EPHEMERAL: dict[str, str] = {"type": "ephemeral"}
"""The 5-minute cache, refreshed by each read (the documented default)."""
UNMARKABLE = frozenset({"thinking", "redacted_thinking"})


def with_cache_breakpoints(arguments: dict[str, Any]) -> dict[str, Any]:
    """The Messages API `arguments` (model, system, messages, tools, ...) with the four
    breakpoints above; a copy: the caller's system, tools and messages are not changed."""
    marked = dict(arguments)
    tools = arguments.get("tools") or []
    if tools:
        marked["tools"] = [*tools[:-1], {**tools[-1], "cache_control": EPHEMERAL}]
    system = arguments.get("system")
    if isinstance(system, str) and system.strip():
        marked["system"] = [{"type": "text", "text": system, "cache_control": EPHEMERAL}]
    messages = list(arguments.get("messages") or [])
    for index in {len(messages) - 1, len(messages) - 3}:
        if index >= 0:
            messages[index] = _marked(messages[index])
    marked["messages"] = messages
    return marked


def _marked(message: dict[str, Any]) -> dict[str, Any]:
    """The message with a breakpoint on its last block that can carry one (as is if none)."""
    content = message.get("content")
    if isinstance(content, str):
        if not content.strip():
            return message
        return {**message, "content": [{"type": "text", "text": content,
                                        "cache_control": EPHEMERAL}]}  # fmt: skip
    blocks = list(content or [])
    for index in range(len(blocks) - 1, -1, -1):
        block = blocks[index]
        if not isinstance(block, dict) or block.get("type") in UNMARKABLE:
            continue
        if block.get("type") == "text" and not str(block.get("text") or "").strip():
            continue
        blocks[index] = {**block, "cache_control": EPHEMERAL}
        return {**message, "content": blocks}
    return message
