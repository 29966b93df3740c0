"""Trimming a conversation to fit: oldest tool results first, pairing and roles kept."""

from __future__ import annotations

import copy
from typing import Any

from agents.context_trim import TRIMMED, trim_for_context
from agents.history import HistoryEntry, conversation
from sandbox.model.faults import message_problem


def _tool_round(n: int, size: int) -> list[dict[str, Any]]:
    return [
        {"role": "assistant", "content": [
            {"type": "text", "text": f"call {n}"},
            {"type": "tool_use", "id": f"toolu_{n}", "name": "search_logs", "input": {"q": n}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": f"toolu_{n}", "content": "y" * size}]},
    ]  # fmt: skip


def _conversation(sizes: list[int], earlier: int = 0) -> list[dict[str, Any]]:
    history = (
        [
            HistoryEntry(role="user", content="before " * earlier),
            HistoryEntry(role="assistant", content="answer " * earlier),
        ]
        if earlier
        else []
    )
    messages = conversation(history, "what broke?")
    for n, size in enumerate(sizes):
        messages += _tool_round(n, size)
    return messages


def _results(messages: list[dict[str, Any]]) -> list[str]:
    return [b["content"] for m in messages if isinstance(m["content"], list)
            for b in m["content"] if b["type"] == "tool_result"]  # fmt: skip


def test_the_oldest_results_go_first_and_only_as_many_as_needed() -> None:
    messages = _conversation([4000, 4000, 4000, 4000])
    original = copy.deepcopy(messages)

    trimmed = trim_for_context(messages, prompt_tokens=5000, max_tokens=3500)

    assert trimmed is not None
    assert [r == TRIMMED for r in _results(trimmed)] == [True, True, False, False]
    assert messages == original, "the input is not changed"
    assert message_problem(trimmed) is None, "every tool_use keeps its tool_result"
    assert [m["role"] for m in trimmed] == [m["role"] for m in messages]


def test_each_trim_makes_progress_even_when_the_excess_is_tiny() -> None:
    messages = _conversation([100, 100, 100])

    trimmed = trim_for_context(messages, prompt_tokens=1001, max_tokens=1000)

    assert trimmed is not None
    assert _results(trimmed)[0] == TRIMMED


def test_earlier_turns_are_trimmed_after_every_result_and_the_current_message_never() -> None:
    messages = _conversation([50], earlier=500)

    trimmed = trim_for_context(messages, prompt_tokens=10_000, max_tokens=1000)

    assert trimmed is not None
    assert _results(trimmed) == [TRIMMED]
    texts = [m["content"] for m in trimmed if isinstance(m["content"], str)]
    assert texts[0] == TRIMMED  # the earlier turn's question and answer
    assert texts[-1].endswith("what broke?")


def test_nothing_left_to_trim_is_none() -> None:
    trimmed = trim_for_context(_conversation([10, 10]), 10_000, 1000)
    assert trim_for_context(trimmed or [], 10_000, 1000) is None
    assert trim_for_context(conversation([], "only the question"), 10_000, 1000) is None


def test_a_blank_answer_in_history_is_never_sent_blank() -> None:
    history = [HistoryEntry(role="user", content="first"),
               HistoryEntry(role="assistant", content="  \n")]  # fmt: skip

    messages = conversation(history, "second")

    assert [m["content"] for m in messages] == ["first", "(no answer)", "second"]
    assert message_problem(messages) is None
