"""The spans of a run (OpenTelemetry GenAI conventions), written from inside its steps.

Every span hangs off ids derived from the run id (core.telemetry), so a run that pauses for
hours or resumes in another process still forms one trace: run → route / invoke_agent →
chat / execute_tool / approval. Message content is recorded only when the operator opts in
(OPSBOT_OTEL_RECORD_CONTENT), and then redacted and clipped.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode

from agents.llm import ModelReply, ModelRequest, ToolUse
from core.redact import Redactor
from core.telemetry import Telemetry, forced_ids, parent_context, span_id_for, trace_id_for
from tools.base import ToolResult

PROVIDER = "anthropic"
CONTENT_CHARS = 4000


def hop_key(index: int) -> str:
    """The fixed span key of the n-th agent hop of a run."""
    return f"hop{index}"


def slack_attributes(run_id: str) -> dict[str, Any]:
    """Team, channel and message of a run (its id is team:channel:ts)."""
    team, channel, ts = ([*run_id.split(":", 2), "", "", ""])[:3]
    return {"opsbot.run_id": run_id, "slack.team_id": team, "slack.channel_id": channel,
            "slack.message_ts": ts}  # fmt: skip


def _ns(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


@contextlib.contextmanager
def step_span(
    telemetry: Telemetry, run_id: str, name: str, parent: str, attributes: dict[str, Any]
) -> Iterator[Span]:
    """A span around work done now, under one of the run's fixed spans."""
    with telemetry.tracer.start_as_current_span(
        name, context=parent_context(run_id, parent), kind=SpanKind.INTERNAL,
        attributes={**slack_attributes(run_id), **attributes},
    ) as span:  # fmt: skip
        yield span


def past_span(
    telemetry: Telemetry, run_id: str, name: str, *, parent: str | None, key: str | None,
    started_at: float, attributes: dict[str, Any], ok: bool = True,
    links: Sequence[Link] = (),
) -> None:  # fmt: skip
    """A span for something that began earlier (maybe in another process) and ends now."""
    # A root gets an empty context: the span current here is DBOS's step span, itself a child
    # of this run's span.
    context = parent_context(run_id, parent) if parent else Context()
    ids = forced_ids(trace_id_for(run_id), span_id_for(run_id, key)) if key else None
    with ids or contextlib.nullcontext():
        span = telemetry.tracer.start_span(
            name, context=context, start_time=_ns(started_at), links=links,
            attributes={**slack_attributes(run_id), **attributes},
        )  # fmt: skip
    if not ok:
        span.set_status(Status(StatusCode.ERROR))
    span.end(end_time=_ns(time.time()))


def chat_attributes(agent: str, model: str, reply: Any) -> dict[str, Any]:
    """GenAI attributes of one model call (no content)."""
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": PROVIDER,
        "gen_ai.agent.name": agent,
        "gen_ai.request.model": model,
        "gen_ai.response.model": reply.model,
        **usage_attributes(reply.usage),
        "gen_ai.response.finish_reasons": [reply.stop_reason or "unknown"],
        "opsbot.cost_usd": reply.usage.cost_usd,
        "opsbot.time_to_first_token_ms": reply.first_token_ms,
    }


def usage_attributes(usage: Any) -> dict[str, int]:
    """A call's or run's tokens as the OpenTelemetry GenAI conventions name them: input counts
    the whole prompt, cached parts included, and the cache reads and writes are told apart
    (`gen_ai.usage.cache_read.input_tokens`, `gen_ai.usage.cache_creation.input_tokens`)."""
    return {
        "gen_ai.usage.input_tokens": usage.prompt_tokens,
        "gen_ai.usage.output_tokens": usage.output_tokens,
        "gen_ai.usage.cache_read.input_tokens": usage.cache_read_tokens,
        "gen_ai.usage.cache_creation.input_tokens": usage.cache_write_tokens,
    }


def tool_attributes(name: str, call_id: str, risk: str, outcome: str) -> dict[str, Any]:
    """GenAI attributes of one tool call."""
    return {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name,
            "gen_ai.tool.call.id": call_id, "opsbot.tool.risk": risk,
            "opsbot.tool.outcome": outcome}  # fmt: skip


def agent_attributes(agent: str) -> dict[str, Any]:
    """GenAI attributes of one agent's hop."""
    return {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent}


def _clip(text: str) -> str:
    return text if len(text) <= CONTENT_CHARS else text[:CONTENT_CHARS] + "…[clipped]"


def _scrub(value: Any, redactor: Redactor) -> Any:
    if isinstance(value, str):
        return _clip(redactor.redact(value))
    if isinstance(value, dict):
        return {key: _scrub(item, redactor) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, redactor) for item in value]
    return value


def _parts(content: Any, redactor: Redactor) -> list[dict[str, Any]]:
    """A message's content as GenAI semantic-convention parts."""
    if isinstance(content, str):
        return [{"type": "text", "content": _scrub(content, redactor)}]
    parts: list[dict[str, Any]] = []
    for block in content or []:
        kind = block.get("type")
        if kind == "text":
            parts.append({"type": "text", "content": _scrub(block.get("text", ""), redactor)})
        elif kind == "tool_use":
            parts.append({"type": "tool_call", "id": block.get("id"), "name": block.get("name"),
                          "arguments": _scrub(block.get("input"), redactor)})  # fmt: skip
        elif kind == "tool_result":
            inner = block.get("content")
            text = inner if isinstance(inner, str) else json.dumps(inner, default=str)
            parts.append({"type": "tool_call_response", "id": block.get("tool_use_id"),
                          "response": _scrub(text, redactor)})  # fmt: skip
    return parts


def chat_content(request: ModelRequest, reply: ModelReply, redactor: Redactor) -> dict[str, str]:
    """Opt-in content of a model call: the newest input message and the reply, redacted."""
    inputs = [
        {"role": message.get("role", "user"), "parts": _parts(message.get("content"), redactor)}
        for message in request.messages[-1:]
    ]
    outputs = [{"role": "assistant", "parts": _parts(reply.content, redactor),
                "finish_reason": reply.stop_reason or "unknown"}]  # fmt: skip
    return {"gen_ai.input.messages": json.dumps(inputs),
            "gen_ai.output.messages": json.dumps(outputs)}  # fmt: skip


def tool_content(use: ToolUse, result: ToolResult, redactor: Redactor) -> dict[str, str]:
    """Opt-in content of a tool call: its arguments and its result, redacted."""
    rendered = result.model_dump_json(exclude_none=True)
    return {"gen_ai.tool.call.arguments": json.dumps(_scrub(use.input, redactor)),
            "gen_ai.tool.call.result": _scrub(rendered, redactor)}  # fmt: skip
