"""Every stop reason the installed SDK documents has a meaning for the turn."""

from __future__ import annotations

from typing import get_args

import pytest
from anthropic.types import StopReason

from agents.llm import ModelReply, Usage
from agents.stop_reasons import HANDLED, cut_tool_use, next_move

TOOL = {"type": "tool_use", "id": "toolu_1", "name": "write_file", "input": {"path": "a"}}
TEXT = {"type": "text", "text": "Looking."}


def _reply(stop: str | None, *content: dict[str, object]) -> ModelReply:
    return ModelReply(model="m", content=list(content), stop_reason=stop, usage=Usage(),
                      duration_ms=1.0)  # fmt: skip


def test_every_stop_reason_of_the_sdk_is_handled() -> None:
    assert set(get_args(StopReason)) == HANDLED


@pytest.mark.parametrize(
    ("stop", "content", "move"),
    [("end_turn", [TEXT], "answered"), ("stop_sequence", [TEXT], "answered"),
     (None, [TEXT], "answered"), ("tool_use", [TEXT, TOOL], "tools"),
     ("pause_turn", [TEXT], "pause"), ("pause_turn", [], "pause"),
     ("refusal", [TEXT], "refused"), ("refusal", [TEXT, TOOL], "refused"),
     ("max_tokens", [TEXT], "cut"), ("model_context_window_exceeded", [TEXT], "cut"),
     ("max_tokens", [TEXT, TOOL], "tools")],
)  # fmt: skip
def test_what_each_reply_means(
    stop: str | None, content: list[dict[str, object]], move: str
) -> None:
    assert next_move(_reply(stop, *content)) == move


def test_only_the_last_tool_call_of_a_cut_reply_is_cut() -> None:
    first = {**TOOL, "id": "toolu_0", "name": "search_code"}
    cut = cut_tool_use(_reply("max_tokens", first, TOOL))
    assert cut is not None
    assert cut.id == "toolu_1"
    assert cut_tool_use(_reply("max_tokens", first, TEXT)) is None, "the text after it was cut"
    assert cut_tool_use(_reply("tool_use", first, TOOL)) is None
