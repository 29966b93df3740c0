"""The workflow's model-call rules: the one retry layer, and what a failed call means."""

from __future__ import annotations

from typing import Any

from dbos import error as dbos_errors

from agents.context_budget import MAX_FIT_ATTEMPTS, ContextBudget
from agents.engine import Engine
from agents.llm import honour_retry_after
from agents.model_errors import describe_error, prompt_too_long
from agents.model_errors import is_retryable as model_error_is_retryable


def model_retry_options(engine: Engine, run_id: str, agent: str) -> dict[str, Any]:
    """The one retry layer for model calls: DBOS step retries (the SDK's are off)."""
    attempts = {"n": 0}

    async def should_retry(error: BaseException) -> bool:
        if not model_error_is_retryable(error):
            return False
        attempts["n"] += 1
        await engine.announce_retry(run_id, agent, attempts["n"], error)
        await honour_retry_after(error)
        return True

    return {
        "retries_allowed": True,
        "max_attempts": engine.settings.model_max_attempts,
        "interval_seconds": engine.settings.model_retry_interval_s,
        "backoff_rate": 2.0,
        "should_retry": should_retry,
    }


def step_failure(error: BaseException) -> str:
    """What made a step fail, in words (the last underlying error of a retried step)."""
    if isinstance(error, dbos_errors.DBOSMaxStepRetriesExceeded) and error.errors:
        return f"{describe_error(error.errors[-1])}, after {len(error.errors)} attempts"
    return describe_error(error)


def trimmed_to_fit(
    error: BaseException, messages: list[dict[str, Any]], budget: ContextBudget, chars: int,
    keep: frozenset[str], trims: int,
) -> list[dict[str, Any]] | None:  # fmt: skip
    """The conversation trimmed to fit, when the API said the prompt (of `chars` characters)
    is too long and fewer than `MAX_FIT_ATTEMPTS` trims were made for this call; else None.
    `budget` learns the model's window and the token ratio; results in `keep` stay."""
    if (sizes := prompt_too_long(error)) is None or trims >= MAX_FIT_ATTEMPTS:
        return None
    return budget.refit(messages, sizes, chars, keep)


def model_failure(error: BaseException, trims: int = 0) -> str:
    """Why the turn ends without the model's answer, in one line (`trims`: the trims already
    made for this call after "prompt is too long" answers)."""
    if (sizes := prompt_too_long(error)) is not None and trims >= MAX_FIT_ATTEMPTS:
        return (f"the conversation still did not fit the model's context window after {trims} "
                f"trims ({sizes[0]} tokens > {sizes[1]} maximum); start a new thread")  # fmt: skip
    if sizes is not None:
        return (f"the conversation no longer fits the model's context window ({sizes[0]} "
                f"tokens > {sizes[1]} maximum, with every earlier output already trimmed); "
                "start a new thread")  # fmt: skip
    return f"the model did not answer: {step_failure(error)}"
