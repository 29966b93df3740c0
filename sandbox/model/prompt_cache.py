"""The local model server's prompt cache, by the documented rules, so a test can prove that a
run's cache breakpoints stay stable across its calls.

Rules (platform.claude.com/docs/en/build-with-claude/prompt-caching):

- the prompt is tools, then system, then messages, read as one sequence of blocks (a string
  system or message content is one text block, so marking it as a block changes nothing);
  `cache_control` marks a breakpoint, at most 4;
- a prefix ending at a breakpoint is cached when it has at least the model's minimum length
  (`minimum_tokens`); caches belong to a model;
- a hit is looked for at each breakpoint and at up to 20 blocks before it; the longest prefix
  written before and not expired is read (`cache_read_input_tokens`), and reading refreshes
  its lifetime (5 minutes, or 1 hour with `"ttl": "1h"`);
- what lies between the read prefix and the last breakpoint is written
  (`cache_creation_input_tokens`); the rest of the prompt is `input_tokens`.

Token counts are this server's (4 characters a token, sandbox/model/faults.py), per block.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_BREAKPOINTS = 4
LOOKBACK_BLOCKS = 20
TTL_S = {"5m": 300.0, "1h": 3600.0}
CHARS_PER_TOKEN = 4
_MINIMUMS: tuple[tuple[str, int], ...] = (
    ("opus-4-6", 4096), ("opus-4-5", 4096), ("haiku-4-5", 4096), ("sonnet-4-6", 2048),
    ("haiku-3", 2048),
)  # fmt: skip
DEFAULT_MINIMUM = 1024
"""Sonnet 4.5, Sonnet 4, Opus 4.1, Opus 4 and any model the table does not name."""


def minimum_tokens(model: str) -> int:
    """The shortest prefix (tokens) the API caches for `model`, from the documented table."""
    name = model.lower()
    return next((least for family, least in _MINIMUMS if family in name), DEFAULT_MINIMUM)


@dataclass(frozen=True)
class _Block:
    digest: str  # of everything up to and including this block
    tokens: int  # of everything up to and including this block
    ttl: str | None  # this block's breakpoint TTL, None: no breakpoint


def _blocks(body: dict[str, Any]) -> list[_Block]:
    """The prompt as blocks with running digests and token counts (markers left out of both:
    moving a breakpoint does not change the content)."""
    parts: list[tuple[str, Any]] = [("tool", t) for t in body.get("tools") or []]
    parts += [("system", b) for b in _as_blocks(body.get("system"))]
    for message in body.get("messages") or []:
        parts += [(str(message.get("role")), b) for b in _as_blocks(message.get("content"))]
    running = hashlib.sha256(str(body.get("model")).encode())
    tokens = 0
    found: list[_Block] = []
    for where, block in parts:
        marker = block.get("cache_control") if isinstance(block, dict) else None
        plain = {k: v for k, v in block.items() if k != "cache_control"} if isinstance(
            block, dict) else block  # fmt: skip
        text = json.dumps([where, plain], sort_keys=True, ensure_ascii=False)
        running.update(text.encode())
        tokens += max(1, len(text) // CHARS_PER_TOKEN)
        ttl = str(marker.get("ttl") or "5m") if isinstance(marker, dict) else None
        found.append(_Block(running.hexdigest(), tokens, ttl))
    return found


def _as_blocks(content: Any) -> list[Any]:
    """Content as blocks: a string is one text block, as the API reads it."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return list(content) if isinstance(content, list) else []


def breakpoint_problem(body: dict[str, Any]) -> str | None:
    """Why the API would refuse the request's cache markers, or None."""
    blocks = _blocks(body)
    marked = [b for b in blocks if b.ttl is not None]
    if len(marked) > MAX_BREAKPOINTS:
        return (f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. "
                f"Found {len(marked)}.")  # fmt: skip
    if unknown := sorted({str(b.ttl) for b in marked if b.ttl not in TTL_S}):
        return f"cache_control.ttl: Input should be '5m' or '1h' (got {unknown[0]!r})"
    return None


@dataclass
class PromptCache:
    """Prefixes written so far: digest -> (when it expires, its lifetime), `clock` seconds."""

    clock: Callable[[], float] = time.monotonic
    entries: dict[str, tuple[float, float]] = field(default_factory=dict)

    def usage(self, body: dict[str, Any], total_tokens: int) -> dict[str, int]:
        """Read and write the request's prefixes; its usage fields (`input_tokens`,
        `cache_creation_input_tokens`, `cache_read_input_tokens`), which add up to
        `total_tokens` (the whole prompt as the server counts it)."""
        blocks = _blocks(body)
        marks = [i for i, b in enumerate(blocks) if b.ttl is not None]
        now = self.clock()
        read_at = self._longest_hit(blocks, marks, now)
        read = min(blocks[read_at].tokens, total_tokens) if read_at is not None else 0
        if read_at is not None:  # a read refreshes the prefix's lifetime
            lifetime = self.entries[blocks[read_at].digest][1]
            self.entries[blocks[read_at].digest] = (now + lifetime, lifetime)
        written = 0
        least = minimum_tokens(str(body.get("model") or ""))
        for mark in marks:
            block = blocks[mark]
            if block.tokens >= least and (read_at is None or mark > read_at):
                lifetime = TTL_S.get(block.ttl or "5m", TTL_S["5m"])
                self.entries[block.digest] = (now + lifetime, lifetime)
                written = min(block.tokens, total_tokens) - read
        return {
            "input_tokens": total_tokens - read - written,
            "cache_creation_input_tokens": written,
            "cache_read_input_tokens": read,
        }

    def _longest_hit(self, blocks: list[_Block], marks: list[int], now: float) -> int | None:
        """The last block of the longest live prefix at a breakpoint or up to 20 blocks
        before one, or None."""
        best: int | None = None
        for mark in marks:
            for index in range(mark, max(mark - LOOKBACK_BLOCKS, -1), -1):
                entry = self.entries.get(blocks[index].digest)
                if entry is not None and entry[0] > now:
                    best = index if best is None else max(best, index)
                    break
        return best
