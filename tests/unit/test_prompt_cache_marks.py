"""Where a model call marks its cache breakpoints (agents/prompt_cache.py): the last tool,
the system prompt, the previous call's last message and this call's last message; never a
thinking block or blank text, never more than four, never by changing the caller's data."""

from __future__ import annotations

import copy
from typing import Any

from agents.prompt_cache import EPHEMERAL, with_cache_breakpoints
from sandbox.model.prompt_cache import MAX_BREAKPOINTS, breakpoint_problem

TOOLS = [{"name": "search_logs", "input_schema": {"type": "object"}},
         {"name": "read_file", "input_schema": {"type": "object"}}]  # fmt: skip


def loop_messages(rounds: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "checkout fails"}]
    for n in range(rounds):
        messages += [
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "hm", "signature": "sig"},
                {"type": "text", "text": f"call {n}"},
                {"type": "tool_use", "id": f"t{n}", "name": "search_logs", "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": f"t{n}", "content": "x" * 10}]},
        ]  # fmt: skip
    return messages


def marks(arguments: dict[str, Any]) -> list[str]:
    found = [f"tool {t['name']}" for t in arguments.get("tools", []) if "cache_control" in t]
    system = arguments["system"]
    found += ["system"] if isinstance(system, list) and "cache_control" in system[-1] else []
    for index, message in enumerate(arguments["messages"]):
        content = message["content"]
        for block in content if isinstance(content, list) else []:
            if "cache_control" in block:
                found.append(f"message {index} {block['type']}")
    return found


def test_an_agent_loop_call_marks_tools_system_and_the_last_two_call_ends() -> None:
    arguments = {"model": "m", "system": "You are opsbot's coding agent.", "tools": TOOLS,
                 "messages": loop_messages(3), "max_tokens": 100}  # fmt: skip
    before = copy.deepcopy(arguments)

    marked = with_cache_breakpoints(arguments)

    assert marks(marked) == ["tool read_file", "system", "message 4 tool_result",
                             "message 6 tool_result"]  # fmt: skip
    assert arguments == before, "the caller's request is not changed"
    assert marked["system"] == [{"type": "text", "text": before["system"],
                                 "cache_control": EPHEMERAL}]  # fmt: skip
    assert breakpoint_problem(marked) is None
    assert len(marks(marked)) <= MAX_BREAKPOINTS


def test_a_first_call_marks_its_question_and_the_previous_turn_it_follows() -> None:
    history = [{"role": "user", "content": "what broke?"},
               {"role": "assistant", "content": "the cache"},
               {"role": "user", "content": "and now?"}]  # fmt: skip

    one = with_cache_breakpoints({"system": "s", "messages": history[-1:]})
    three = with_cache_breakpoints({"system": "s", "messages": history})

    assert marks(one) == ["system", "message 0 text"]
    assert marks(three) == ["system", "message 0 text", "message 2 text"]
    assert three["messages"][1] == history[1], "the answer between is sent as it was"


def test_thinking_and_blank_text_never_carry_a_marker() -> None:
    paused = {"role": "assistant", "content": [
        {"type": "text", "text": "  "},
        {"type": "thinking", "thinking": "...", "signature": "s"}]}  # fmt: skip
    only_thinking = {"role": "assistant", "content": [
        {"type": "redacted_thinking", "data": "abc"}]}  # fmt: skip
    arguments = {"system": "s", "messages": [{"role": "user", "content": "q"}, only_thinking,
                                             paused]}  # fmt: skip

    marked = with_cache_breakpoints(arguments)

    assert marked["messages"][2] == paused
    assert marked["messages"][0]["content"][0]["cache_control"] == EPHEMERAL
    assert marks(marked) == ["system", "message 0 text"]


def test_a_blank_system_prompt_and_no_tools_add_no_marker() -> None:
    marked = with_cache_breakpoints({"system": " ", "messages": [{"role": "user", "content": ""}]})

    assert marked["system"] == " "
    assert marked["messages"] == [{"role": "user", "content": ""}]
    assert "tools" not in marked
