"""Extended thinking for the agents' model calls (OPSBOT_THINKING), never the router's.

Per platform.claude.com/docs/en/build-with-claude/adaptive-thinking, `{"type": "adaptive"}`
lets the model decide whether and how much to think (no `budget_tokens`; thinking tokens count
toward `max_tokens`); it turns on interleaved thinking between tool calls too. The rules opsbot
keeps (docs/models.md):

- thinking may not be combined with a `tool_choice` that forces tool use: the router forces
  `route_to`, so it never thinks (ModelRequest refuses the pair);
- `temperature` may only be 1 with thinking: opsbot sends none;
- during tool use the thinking and redacted_thinking blocks of the assistant turn go back
  exactly as they came (their `signature` or `data` vouches for them): agents/llm.py keeps
  them as the SDK gave them, the request scrubbing and the cache breakpoints pass them over,
  and their text is never shown, streamed to Slack or traced.
"""

from __future__ import annotations

from typing import Any

from agents.model_client import model_features
from core.settings import Settings

ADAPTIVE: dict[str, Any] = {"type": "adaptive"}
THINKING_BLOCKS = frozenset({"thinking", "redacted_thinking"})
"""Blocks that go back to the API unchanged: never redacted, marked or shown."""


def thinking_param(settings: Settings) -> dict[str, Any] | None:
    """The Messages API `thinking` parameter for the agents' calls, or None for none:
    OPSBOT_THINKING=adaptive where the endpoint offers thinking (OPSBOT_MODEL_FEATURES)."""
    if settings.thinking == "adaptive" and "thinking" in model_features(settings):
        return dict(ADAPTIVE)
    return None


def forces_tool(tool_choice: dict[str, Any] | None) -> bool:
    """Whether `tool_choice` forces tool use (`any`, or one named `tool`)."""
    return tool_choice is not None and tool_choice.get("type") in ("any", "tool")
