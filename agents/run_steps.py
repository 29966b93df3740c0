"""A run's durable steps for people: DBOS step records as lines, in words, and as a waterfall."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class StepLine(BaseModel):
    """One step of a run: its DBOS function name, what it is in words, and its timing.

    `waits` marks the durable wait for a person's decision (`DBOS.recv`), which can last hours
    while every other step takes milliseconds.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    started_at: float | None
    duration_ms: float | None
    failed: bool
    label: str = ""
    waits: bool = False


STEP_LABELS = {
    "begin_turn": "turn starts",
    "route": "router picks an agent",
    "llm_call": "model answers",
    "tool_call": "tool runs (or asks)",
    "request_approval": "approval card posted",
    "DBOS.recv": "waiting for approval",
    "resolve_approval": "decision recorded",
    "tool_exec": "approved tool runs",
    "record_refusal": "refusal recorded",
    "finish_turn": "answer posted",
}
WAIT_STEPS = frozenset({"DBOS.recv"})
HIDDEN_STEPS = frozenset({"DBOS.sleep"})  # the timer inside DBOS.recv's timeout


def step_label(name: str) -> str:
    """A DBOS step's function name in words ("llm_call" -> "model answers")."""
    return STEP_LABELS.get(name) or name.removeprefix("DBOS.").replace("_", " ")


def step_lines(steps: list[Any]) -> list[StepLine]:
    """DBOS step records as waterfall lines."""
    lines = []
    for info in steps:
        function = str(info["function_name"])
        if function in HIDDEN_STEPS:
            continue
        started, done = info["started_at_epoch_ms"], info["completed_at_epoch_ms"]
        lines.append(
            StepLine(
                name=function.rsplit(".", 1)[-1],
                started_at=started / 1000 if started else None,
                duration_ms=float(done - started) if started and done else None,
                failed=info["error"] is not None,
                label=step_label(function),
                waits=function in WAIT_STEPS,
            )
        )
    return lines


def waterfall(steps: list[StepLine]) -> str:
    """Steps as a text waterfall: offset, name, duration, and a bar."""
    starts = [s.started_at for s in steps if s.started_at]
    if not starts:
        return "no steps yet"
    first = min(starts)
    last = max((s.started_at or first) + (s.duration_ms or 0) / 1000 for s in steps)
    scale = 40 / max(last - first, 0.001)
    lines = []
    for step in steps:
        offset = (step.started_at or first) - first
        took = (step.duration_ms or 0) / 1000
        bar = " " * int(offset * scale) + "#" * max(1, int(took * scale))
        label = f"{step.duration_ms:.0f} ms" if step.duration_ms is not None else "running"
        mark = " FAILED" if step.failed else ""
        lines.append(f"{offset * 1000:>9.0f} ms  {step.name:<18} {label:>10}{mark}  |{bar}")
    return "\n".join(lines)
