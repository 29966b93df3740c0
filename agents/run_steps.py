"""A run's durable steps for people: DBOS step records as lines, in words, and as a waterfall."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from agents.outcomes import words as outcome_words


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


TRACK = 40  # characters of a waterfall bar's track
WAIT_SHARE = 0.15
"""Each wait for a person is drawn at this share of the track, whatever its length (it can
last hours while every other step takes milliseconds); the page's run panel draws it so too
(sandbox/slack/web/app.js)."""
RUN_STATUS_WORDS = {
    "queued": "queued",
    "running": "running",
    "waiting_approval": "waiting for approval",
    "cancelled": "cancelled",
}


def run_status_words(status: str) -> str:
    """A run's status as a person reads it ("waiting_approval" -> "waiting for approval");
    an outcome in the words of the footer (agents/outcomes.py)."""
    return RUN_STATUS_WORDS.get(status) or outcome_words(status).replace("_", " ")


def took(ms: float) -> str:
    """A duration as people say it: "120 ms", "15 s", "3 min 05 s"."""
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = round(ms / 1000)
    return f"{seconds} s" if seconds < 90 else f"{seconds // 60} min {seconds % 60:02d} s"


def _offset(seconds: float) -> str:
    """When a step started, from the run's first step: "200 ms", "1.2 s", "3 min 05 s"."""
    return took(seconds * 1000) if seconds < 1 or seconds >= 90 else f"{seconds:.1f} s"


@dataclass(frozen=True)
class _Span:
    """A step on the run's clock, in seconds from the first step's start."""

    step: StepLine
    start: float
    end: float


def _span(step: StepLine, first: float) -> _Span:
    start = (step.started_at or first) - first
    return _Span(step, start, start + (step.duration_ms or 0) / 1000)


def _track(spans: list[_Span]) -> Callable[[float], float]:
    """Run time -> track position (0..1): the work on one common scale, each wait squeezed
    to WAIT_SHARE of the track."""
    waits = [(s.start, s.end) for s in spans if s.step.waits]
    end = max([s.end for s in spans] + [0.001])
    busy = max(0.001, end - sum(b - a for a, b in waits))
    width = busy * WAIT_SHARE / (1 - WAIT_SHARE * min(len(waits), 3)) if waits else 0.0
    total = busy + width * len(waits)

    def at(t: float) -> float:
        shift = 0.0
        for a, b in waits:
            if t > a and t >= b:
                shift += (b - a) - width
            elif t > a:
                shift += (t - a) - (t - a) / max(b - a, 0.001) * width
        return (t - shift) / total

    return at


def waterfall(steps: list[StepLine], waiting: bool = False) -> str:
    """Steps as a text waterfall, one line each: when it started, what it is in words, how
    long it took, and a bar. A wait for a person is hatched (`~`) at a fixed share of the
    track with its real length in words, so it never squashes the other bars; `waiting`
    adds the wait still going (DBOS records a step only once it ends)."""
    starts = [s.started_at for s in steps if s.started_at]
    if not starts:
        return "no steps yet"
    first = min(starts)
    spans = [_span(s, first) for s in steps]
    if waiting:
        end = max(span.end for span in spans)
        wait = StepLine(name="recv", started_at=None, duration_ms=None, failed=False,
                        label=STEP_LABELS["DBOS.recv"], waits=True)  # fmt: skip
        spans.append(_Span(wait, end, end))
    at = _track(spans)
    width = max(len(s.step.label or s.step.name) for s in spans)
    lines = []
    for span in spans:
        step = span.step
        left = int(at(span.start) * TRACK)
        if step.waits:
            size = max(1, round(WAIT_SHARE * TRACK))
            bar = " " * left + "~" * size
            time_text = (
                "waiting…" if step.duration_ms is None else f"waited {took(step.duration_ms)}"
            )
        else:
            size = max(1, int(at(span.end) * TRACK) - left)
            bar = " " * left + "#" * size
            time_text = "running" if step.duration_ms is None else took(step.duration_ms)
        mark = " FAILED" if step.failed else ""
        lines.append(f"{_offset(span.start):>12}  {step.label or step.name:<{width}} "
                     f"{time_text:>16}{mark}  |{bar.rstrip()}")  # fmt: skip
    return "\n".join(lines)
