"""What each stop reason of a model reply means for the turn.

The stop reasons are the Messages API's (`anthropic.types.StopReason`; see
https://docs.anthropic.com/en/api/handling-stop-reasons): `end_turn`, `stop_sequence`,
`tool_use`, `max_tokens`, `pause_turn`, `refusal`, `model_context_window_exceeded`.
"""

from __future__ import annotations

from typing import Literal

from agents.llm import ModelReply, ToolUse
from tools.base import ToolResult

ANSWERED = frozenset({"end_turn", "stop_sequence"})
CUT_OFF = frozenset({"max_tokens", "model_context_window_exceeded"})
HANDLED = ANSWERED | CUT_OFF | {"tool_use", "pause_turn", "refusal"}
"""Every stop reason this module reads (a test compares it with the SDK's `StopReason`)."""
MAX_PAUSES = 5  # pause_turn continuations in a row before the turn stops

Next = Literal["answered", "tools", "pause", "refused", "cut"]


def next_move(reply: ModelReply) -> Next:
    """What the turn does with this reply.

    - `tools`: run the tool calls (`tool_use`, or a cut reply whose complete calls remain);
    - `pause`: send the reply back as it is and call again (`pause_turn`);
    - `refused`: the model declined (`refusal`);
    - `cut`: a text answer cut at the output limit or the context window;
    - `answered`: the turn's answer (`end_turn`, `stop_sequence`, or no stop reason).
    """
    stop = reply.stop_reason
    if stop == "refusal":
        return "refused"
    if stop == "pause_turn":
        return "pause"
    if reply.tool_uses:
        return "tools"
    return "cut" if stop in CUT_OFF else "answered"


def cut_tool_use(reply: ModelReply) -> ToolUse | None:
    """The tool call the limit cut mid-input: the reply's last block, when the reply was cut.

    Its input is incomplete JSON; it must never be proposed or run.
    """
    if reply.stop_reason not in CUT_OFF or not reply.content:
        return None
    last = reply.content[-1]
    if last.get("type") != "tool_use":
        return None
    return next((use for use in reply.tool_uses if use.id == last.get("id")), None)


def limit_words(stop_reason: str | None) -> str:
    """The limit a cut reply ran into, in words."""
    if stop_reason == "model_context_window_exceeded":
        return "the model's context window"
    return "the model's output limit (max_tokens)"


def cut_call_result(use: ToolUse, stop_reason: str | None) -> ToolResult:
    """The error result the model gets for a call the limit cut: nothing was run."""
    return ToolResult.failed(
        f"not run: your reply reached {limit_words(stop_reason)} while writing this "
        f"{use.name} call, so its input was cut off. Go on with smaller calls: change a file "
        "with edit_file (one exact replacement per call) instead of rewriting it whole."
    )


REFUSED_NOTE = "_The model declined to answer this request (stop reason `refusal`)._"
