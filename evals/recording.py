"""The `replay:` part of a captured case: what a real run's tools returned, and how it ended.

`opsbot eval capture` (evals/capture.py) writes it from the database; the runner hands it to
the recorded tool layer (evals/replay.py), which answers each call from it instead of the
live systems. Pure data, validated like the rest of a case (unknown keys are errors).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RecordedCall(_Strict):
    """One tool call of the run: who asked, the exact input, and the recorded (redacted)
    result envelope (`status`, `data`, `error`, `truncated`; tools/base.py ToolResult)."""

    turn: int = Field(ge=1)
    agent: str
    name: str
    input: dict[str, Any] = {}
    asked_approval: Literal["write", "critical"] | None = None
    """The call waited for a person's approval at this risk; None: it ran (or was refused)
    at once."""
    status: str
    result: dict[str, Any] | None = None

    @property
    def key(self) -> str:
        """What a replayed call is matched by: the tool name and its exact input."""
        return call_key(self.name, self.input)


class RecordedApproval(_Strict):
    """A person's decision on one approval card of the run."""

    turn: int = Field(ge=1)
    tool: str
    status: str  # approved | rejected | expired | pending
    decided_by: str | None = None
    reason: str | None = None


class RecordedTurn(_Strict):
    """How one run of the thread ended, as recorded."""

    run: str
    outcome: str | None = None
    answer: str = ""


class Replay(_Strict):
    """A captured thread: the run it was captured from, and every turn's recorded calls."""

    captured_from: str
    captured_at: str = ""
    tools: list[RecordedCall] = []
    approvals: list[RecordedApproval] = []
    turns: list[RecordedTurn] = []


def call_key(name: str, arguments: dict[str, Any]) -> str:
    """A call's identity for the recording: tool name plus the input as canonical JSON."""
    return f"{name} {json.dumps(arguments, sort_keys=True, ensure_ascii=False)}"
