"""Trimming a conversation to fit: oldest tool results first, pairing and roles kept."""

from __future__ import annotations

import copy
import json
from typing import Any

from agents.context_budget import HIGH_SHARE, ContextBudget
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


def test_kept_results_and_the_newest_stay_short_of_a_last_resort() -> None:
    for keep in ({"toolu_0"}, {"toolu_0", "toolu_2"}):
        messages = _conversation([4000, 4000, 4000, 4000])

        trimmed = trim_for_context(messages, 100_000, 1000, keep=frozenset(keep),
                                   last_resort=False)  # fmt: skip

        assert trimmed is not None
        expected = [f"toolu_{n}" not in keep for n in range(3)] + [False]
        assert [r == TRIMMED for r in _results(trimmed)] == expected
        assert message_problem(trimmed) is None


def test_the_newest_results_go_only_as_a_last_resort_and_kept_ones_never() -> None:
    messages = _conversation([100, 100], earlier=50)

    assert trim_for_context(messages, 100_000, 1000, last_resort=False) is not None
    trimmed = trim_for_context(messages, 100_000, 1000, keep=frozenset({"toolu_0"}))

    assert trimmed is not None
    assert _results(trimmed) == ["y" * 100, TRIMMED]
    assert trimmed[0]["content"] == TRIMMED


def test_a_calibrated_ratio_trims_as_many_characters_as_the_tokens_need() -> None:
    messages = _conversation([4000, 4000, 4000, 4000])

    at_a_quarter = trim_for_context(messages, 5000, 3500, tokens_per_char=0.25)  # 6000 chars
    at_a_half = trim_for_context(messages, 5000, 3500, tokens_per_char=0.5)  # 3000 chars

    assert at_a_quarter is not None
    assert at_a_half is not None
    assert [r == TRIMMED for r in _results(at_a_quarter)] == [True, True, False, False]
    assert [r == TRIMMED for r in _results(at_a_half)] == [True, False, False, False]


def test_the_budget_calibrates_counts_near_the_threshold_and_clears_above_it() -> None:
    budget = ContextBudget(max_tokens=10_000)
    assert budget.estimate(4000) == 1000  # 4 characters a token until a real count
    budget.learn(tokens=3000, chars=9000)
    assert budget.estimate(9000) == 3000
    assert [budget.worth_counting(t) for t in (6000, 7000, 8500, 10_000, 10_100)] == [
        False, True, True, True, False,
    ]  # fmt: skip
    messages = _conversation([4000, 4000, 4000, 4000])
    assert budget.cleared(messages, 8500, frozenset()) is None
    cleared = budget.cleared(messages, 8600, frozenset({"toolu_0"}))
    assert cleared is not None
    assert [r == TRIMMED for r in _results(cleared)] == [False, True, True, False]


def test_prompt_too_long_teaches_the_window_and_clears_older_results_first() -> None:
    for window in (8000, 6000):
        budget = ContextBudget(max_tokens=180_000)
        messages = _conversation([8000, 8000, 8000, 8000])
        chars = len(json.dumps(messages))

        trimmed = budget.refit(messages, (chars // 4, window), chars, frozenset())

        assert budget.limit == window
        assert trimmed is not None
        assert _results(trimmed)[-1] != TRIMMED, "older results were enough"
        left = len(json.dumps(trimmed)) // 4
        assert left <= HIGH_SHARE * window


def _size(messages: list[dict[str, Any]]) -> int:
    return len(json.dumps(messages, ensure_ascii=False))


def test_results_no_longer_than_the_marker_are_never_cleared() -> None:
    # thirty one-word results ("ok", "0 rows") and a large newest one: replacing the small
    # ones with the marker would grow the prompt and lose what they said
    for tiny in (3, len(TRIMMED)):
        messages = _conversation([tiny] * 30 + [20_000])
        assert trim_for_context(messages, 6000, 1000, last_resort=False) is None
        budget = ContextBudget(max_tokens=6000)
        assert budget.cleared(messages, 6000, frozenset()) is None


def test_clearing_takes_the_large_results_and_leaves_the_small_ones() -> None:
    for sizes in ([5, 8000, 2, 8000, 1, 500], [8000, 4, 4, 8000, 30, 500]):
        messages = _conversation(sizes)
        trimmed = trim_for_context(messages, 5000, 1000, last_resort=False)
        assert trimmed is not None
        assert _size(trimmed) < _size(messages)
        kept = [r for r, size in zip(_results(trimmed), sizes, strict=True)
                if size <= len(TRIMMED)]  # fmt: skip
        assert TRIMMED not in kept, "a small result is never replaced"
        assert message_problem(trimmed) is None


def test_a_last_resort_never_grows_the_prompt_with_short_earlier_texts() -> None:
    for answer in ("ok", "done."):
        history = [HistoryEntry(role="user", content="hi"),
                   HistoryEntry(role="assistant", content=answer)] * 3  # fmt: skip
        messages = conversation(history, "what broke?") + _tool_round(0, 5000)
        trimmed = trim_for_context(messages, 2000, 100)
        assert trimmed is not None
        assert _size(trimmed) < _size(messages)
        assert [m["content"] for m in trimmed[:6]] == [m["content"] for m in messages[:6]]
