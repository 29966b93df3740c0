"""Typed events a run emits through the `Publisher` port, in the order they happen."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from tools.base import ToolFile


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str


class RunStarted(_Event):
    """A run began (or resumed after a restart) for one message of a thread."""

    kind: Literal["run_started"] = "run_started"
    thread_id: str
    requester: str | None
    text: str
    requester_team: str | None = None
    """The requester's own team (a Slack Connect partner's); None when unknown."""


class RunResumed(_Event):
    """The run was interrupted by a restart and continues where its last step ended."""

    kind: Literal["run_resumed"] = "run_resumed"


class Routed(_Event):
    """The router chose the agent for the next hop of this turn (or `done`)."""

    kind: Literal["routed"] = "routed"
    agent: str
    reason: str
    rule: Literal["completion", "sticky", "classifier", "fallback"]


class TextDelta(_Event):
    """Model text, redacted, as it streams."""

    kind: Literal["text_delta"] = "text_delta"
    agent: str
    text: str


class ToolCallProposed(_Event):
    """The model began a tool_use block (its input is still streaming)."""

    kind: Literal["tool_call_proposed"] = "tool_call_proposed"
    agent: str
    name: str


class ModelRetry(_Event):
    """A model call failed and is retried: text streamed by the failed attempt is void."""

    kind: Literal["model_retry"] = "model_retry"
    agent: str
    attempt: int
    error: str


class ToolStarted(_Event):
    """A tool began to run."""

    kind: Literal["tool_started"] = "tool_started"
    agent: str
    tool_use_id: str
    name: str
    summary: str
    risk: str


class ToolFinished(_Event):
    """A tool finished (or was refused); `status` is the result envelope's status."""

    kind: Literal["tool_finished"] = "tool_finished"
    agent: str
    tool_use_id: str
    name: str
    status: str
    duration_ms: float
    detail: str = ""
    files: tuple[ToolFile, ...] = ()
    """Files the tool made for people (charts), for the thread; never for the model."""


class ApprovalRequested(_Event):
    """A write/critical tool call waits for a human decision."""

    kind: Literal["approval_requested"] = "approval_requested"
    approval_id: str
    agent: str
    tool_name: str
    risk: str
    preview: str
    reason: str
    requester: str | None
    expires_at: float


class ApprovalResolved(_Event):
    """The decision on an approval is known to the run."""

    kind: Literal["approval_resolved"] = "approval_resolved"
    approval_id: str
    status: str
    decided_by: str | None
    reason: str | None


class RunFinished(_Event):
    """A run ended; the answer is complete."""

    kind: Literal["run_finished"] = "run_finished"
    outcome: str
    answer: str
    limit: str | None
    input_tokens: int
    """The whole prompt of the run's calls, cached parts included."""
    output_tokens: int
    cost_usd: float
    duration_s: float
    cache_read_tokens: int = 0
    """Of `input_tokens`, what the prompt cache served."""
    stopped_by: str | None = None
    """Who cancelled the run (Stop, `/opsbot cancel`): the run did not end by itself."""


RunEvent = Annotated[
    RunStarted
    | RunResumed
    | Routed
    | TextDelta
    | ToolCallProposed
    | ModelRetry
    | ToolStarted
    | ToolFinished
    | ApprovalRequested
    | ApprovalResolved
    | RunFinished,
    Field(discriminator="kind"),
]


def approval_reason(explanation: str, policy: str) -> str:
    """The card's reason: the agent's words (cut, and unable to pose as the policy's line),
    then the policy's own reason as the last line, `(policy: ...)`, which the card shows apart."""
    said = explanation[:900].replace("(policy:", "(policy -").strip()
    return f"{said}\n(policy: {policy})".strip()
