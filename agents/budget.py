"""Budgets and the loop guard: bounded runs that end with their best answer and say why."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from agents.llm import Usage
from core.settings import Settings


@dataclass
class Budget:
    """Counts model calls, tokens and cost of a run; says which limit, if any, is reached."""

    max_iterations: int
    max_tokens: int
    max_cost_usd: float
    max_thread_cost_usd: float
    thread_cost_before: float = 0.0
    iterations: int = 0
    usage: Usage = field(default_factory=Usage)

    @classmethod
    def from_settings(cls, settings: Settings, thread_cost_before: float) -> Budget:
        """The limits configured for every run."""
        return cls(
            max_iterations=settings.max_iterations,
            max_tokens=settings.max_run_tokens,
            max_cost_usd=settings.max_run_cost_usd,
            max_thread_cost_usd=settings.max_thread_cost_usd,
            thread_cost_before=thread_cost_before,
        )

    def add(self, usage: Usage, *, model_call: bool = True) -> None:
        """Account one call."""
        self.usage = self.usage.plus(usage)
        if model_call:
            self.iterations += 1

    def exceeded(self) -> str | None:
        """The limit reached, in words, or None while the run may make another call."""
        if self.iterations >= self.max_iterations:
            return f"max iterations ({self.max_iterations} model calls)"
        if self.usage.total_tokens >= self.max_tokens:
            return f"max tokens ({self.usage.total_tokens} of {self.max_tokens})"
        if self.usage.cost_usd >= self.max_cost_usd:
            return f"max cost per run (${self.usage.cost_usd:.4f} of ${self.max_cost_usd:.2f})"
        spent = self.thread_cost_before + self.usage.cost_usd
        if spent >= self.max_thread_cost_usd:
            return f"max cost per thread (${spent:.4f} of ${self.max_thread_cost_usd:.2f})"
        return None


@dataclass
class LoopGuard:
    """Detects the same tool called with the same arguments again and again."""

    max_identical: int
    seen: Counter[str] = field(default_factory=Counter)

    def record(self, tool_name: str, args_fingerprint: str) -> str | None:
        """Count a call; return the limit in words when it repeats too often."""
        key = f"{tool_name}:{args_fingerprint}"
        self.seen[key] += 1
        if self.seen[key] >= self.max_identical:
            return f"repeated tool call ({tool_name} with identical arguments {self.seen[key]}x)"
        return None
