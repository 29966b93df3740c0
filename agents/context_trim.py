"""Making a conversation fit the model's context window again, oldest tool results first.

The Messages API refuses a request whose prompt is over the model's window with a 400
"prompt is too long: N tokens > M maximum" (https://docs.anthropic.com/en/api/errors).
Trimming replaces the content of the oldest tool results (then the text of earlier turns)
with a short marker: no block is removed, so every `tool_use` keeps its `tool_result` and
the roles keep alternating. Never trimmed: the person's current message, the tool results
named in `keep` (the run's decisions: approvals, recorded findings, a fix report), and, short
of a last resort, the newest tool results (those of the latest round).
"""

from __future__ import annotations

import json
from typing import Any

TRIMMED = "[output trimmed to fit the context window]"
CHARS_PER_TOKEN = 4  # a rough count; the API's own tokenizer decides
MIN_SHARE = 20  # trim at least 1/20 of the prompt each time, so a retry makes progress


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str) else len(json.dumps(value, ensure_ascii=False))


def _current_turn_start(messages: list[dict[str, Any]]) -> int:
    """Index of the message holding the person's current text (never trimmed)."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index]["role"] == "user" and _has_text(messages[index]["content"]):
            return index
    return 0


def _has_text(content: Any) -> bool:
    """A person's message (a string, or blocks with text: the work so far before it), not a
    message of tool results."""
    if isinstance(content, str):
        return True
    return any(isinstance(b, dict) and b.get("type") == "text" for b in content or [])


def _newest_results(messages: list[dict[str, Any]]) -> int:
    """Index of the latest message holding tool results (-1 without one)."""
    for index in range(len(messages) - 1, -1, -1):
        content = messages[index]["content"]
        if isinstance(content, list) and any(
            isinstance(b, dict) and b.get("type") == "tool_result" for b in content
        ):
            return index
    return -1


def _worth(content: Any) -> bool:
    """Whether replacing `content` with the marker saves anything: a result or text no longer
    than the marker (or the marker itself) would only grow the prompt and lose what it said."""
    return content != TRIMMED and _size(content) > len(TRIMMED)


def _places(
    messages: list[dict[str, Any]], keep: frozenset[str], last_resort: bool
) -> list[tuple[int, int | None]]:
    """Trimmable places, in order: older tool results (oldest first); with `last_resort`,
    then earlier turns' texts and the newest results. Results in `keep` never."""
    results: list[tuple[int, int | None]] = [
        (m, b)
        for m, message in enumerate(messages)
        if isinstance(message["content"], list)
        for b, block in enumerate(message["content"])
        if isinstance(block, dict) and block.get("type") == "tool_result"
        and _worth(block.get("content", "")) and block.get("tool_use_id") not in keep
    ]  # fmt: skip
    newest = _newest_results(messages)
    older = [place for place in results if place[0] != newest]
    if not last_resort:
        return older
    current = _current_turn_start(messages)
    earlier: list[tuple[int, int | None]] = [
        (m, None)
        for m, message in enumerate(messages[:current])
        if isinstance(message["content"], str) and _worth(message["content"])
    ]
    return older + earlier + [place for place in results if place[0] == newest]


def trim_for_context(
    messages: list[dict[str, Any]],
    prompt_tokens: int,
    max_tokens: int,
    *,
    tokens_per_char: float = 1 / CHARS_PER_TOKEN,
    keep: frozenset[str] = frozenset(),
    last_resort: bool = True,
) -> list[dict[str, Any]] | None:
    """A copy of `messages` trimmed by about `prompt_tokens - max_tokens` tokens (at least a
    twentieth of the prompt), oldest tool results first; None when nothing is left to trim.

    `tokens_per_char` converts tokens to characters (calibrated from a real count, else 1/4);
    `keep` names tool_use ids whose results stay; without `last_resort` only older tool
    results are trimmed (never earlier turns' texts nor the newest results). The input list
    is not changed.
    """
    excess = max(prompt_tokens - max_tokens, prompt_tokens // MIN_SHARE, 1)
    need = excess / max(tokens_per_char, 1e-6)
    places = _places(messages, keep, last_resort)
    if not places:
        return None
    trimmed = [
        {**m, "content": list(m["content"]) if isinstance(m["content"], list) else m["content"]}
        for m in messages
    ]
    saved = 0
    for m, b in places:
        if saved >= need:
            break
        if b is None:
            saved += _size(trimmed[m]["content"]) - len(TRIMMED)
            trimmed[m]["content"] = TRIMMED
        else:
            block = trimmed[m]["content"][b]
            saved += _size(block.get("content", "")) - len(TRIMMED)
            trimmed[m]["content"][b] = {**block, "content": TRIMMED}
    return trimmed
