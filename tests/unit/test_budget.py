"""Budgets say which limit a run reached; the loop guard counts identical calls only."""

from __future__ import annotations

from agents.budget import Budget, LoopGuard
from agents.llm import Usage


def budget(**limits: float) -> Budget:
    values = {"max_iterations": 10, "max_tokens": 1000, "max_cost_usd": 1.0,
              "max_thread_cost_usd": 5.0, **limits}  # fmt: skip
    return Budget(**values)  # type: ignore[arg-type]


def test_each_limit_is_named() -> None:
    tokens = budget()
    tokens.add(Usage(input_tokens=900, output_tokens=100))
    assert tokens.exceeded() == "max tokens (1000 of 1000)"
    cost = budget()
    cost.add(Usage(cost_usd=1.25))
    assert cost.exceeded() == "max cost per run ($1.2500 of $1.00)"
    thread = budget(thread_cost_before=4.9)
    thread.add(Usage(cost_usd=0.2))
    assert thread.exceeded() == "max cost per thread ($5.1000 of $5.00)"
    fresh = budget()
    fresh.add(Usage(input_tokens=10), model_call=False)
    assert fresh.exceeded() is None
    assert fresh.iterations == 0


def test_the_loop_guard_trips_on_the_third_identical_call_only() -> None:
    guard = LoopGuard(max_identical=3)
    assert guard.record("search_logs", "a") is None
    assert guard.record("search_logs", "b") is None
    assert guard.record("search_logs", "a") is None
    assert guard.record("search_logs", "a") == (
        "repeated tool call (search_logs with identical arguments 3x)"
    )
