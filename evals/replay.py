"""The recorded tool layer: a captured run's tool outputs stand in for the live systems.

Each tool keeps its name, description, input model and schema (the model sees the same tool
definitions), but its call is answered from the case's `replay.tools`, matched by tool name and
exact input (`evals.recording.call_key`); a call with the same key twice gets the recorded
results in order, then the last again. A call the recording does not hold runs nothing and
comes back as a tool error saying so. Whether a call waits for approval is what the recording
says, not what this machine's policy or kernel sandbox would decide, so the replay takes the
same path as the run did (HolmesGPT's mock-replay idea, applied to whole threads).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ConfigDict

from agents.engine import Engine
from core.types import Risk
from evals.recording import RecordedCall, Replay, call_key
from tools.base import Assessment, Tool, ToolContext, ToolResult, ToolStatus, redact_data
from tools.registry import ToolRegistry


def not_recorded(name: str, arguments: dict[str, Any]) -> str:
    """The tool error of a replayed call the recording does not hold."""
    return (
        f"{name} was not recorded with this input ({call_key(name, arguments)}): this is a "
        "replay of a captured run, only the recorded calls have outputs; nothing was run"
    )


class _AnyInput(BaseModel):
    """The input of a recorded MCP tool (its server is not here): any JSON object."""

    model_config = ConfigDict(extra="allow")


@dataclass(frozen=True)
class RecordedTool(Tool[Any]):
    """A tool answered from the recording (`Tool.assess` and `Tool.run` replaced)."""

    recorded: dict[str, list[RecordedCall]] = field(default_factory=dict)
    used: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))

    def _next(self, key: str) -> RecordedCall | None:
        calls = self.recorded.get(key)
        return calls[min(self.used[key], len(calls) - 1)] if calls else None

    def assess(self, args: dict[str, Any], ctx: ToolContext) -> Assessment:
        """As recorded: asked for approval at its risk, refused, or read-only (unrecorded
        calls too: they run at once and get `not_recorded`)."""
        self.parse(args)
        call = self._next(call_key(self.name, args))
        if call is None:
            return Assessment(risk=Risk.READ)
        if call.status == ToolStatus.DENIED.value:
            error = (call.result or {}).get("error") or f"{self.name} was refused (recorded)"
            return Assessment(risk=Risk(call.asked_approval or "read"), denied=str(error))
        if call.asked_approval is not None:
            return Assessment(risk=Risk(call.asked_approval), reason="as in the captured run")
        return Assessment(risk=Risk.READ)

    async def run(
        self, args: dict[str, Any], ctx: ToolContext, call_id: str | None = None
    ) -> ToolResult:
        """The recorded result of this call (redacted again), or the `not_recorded` error."""
        key = call_key(self.name, args)
        call = self._next(key)
        if call is None:
            return ToolResult.failed(ctx.redactor.redact(not_recorded(self.name, args)))
        self.used[key] += 1
        if call.result is None:
            return ToolResult.failed(f"{self.name} has no recorded output (it ended {call.status})")
        result = ToolResult.model_validate({**call.result, "files": ()})
        return result.model_copy(
            update={"data": redact_data(result.data, ctx.redactor),
                    "error": ctx.redactor.redact(result.error) if result.error else None}
        )  # fmt: skip


def recorded_tools(tools: ToolRegistry, replay: Replay) -> dict[str, RecordedTool]:
    """Every tool of `tools`, and every recorded tool it lacks (an MCP server's), answered
    from `replay`, by name."""
    by_key: dict[str, list[RecordedCall]] = defaultdict(list)
    for call in replay.tools:
        by_key[call.key].append(call)
    recorded: dict[str, RecordedTool] = {}
    for name in [*tools.names(), *(c.name for c in replay.tools)]:
        if name in recorded:
            continue
        real = tools.get(name)
        if real is None:
            real = Tool(name=name, description=f"{name} (recorded)", input_model=_AnyInput,
                        risk=Risk.READ, handler=_never, schema={"type": "object"})  # fmt: skip
        recorded[name] = RecordedTool(
            name=real.name, description=real.description, input_model=real.input_model,
            risk=real.risk, handler=_never, preview=real.preview, schema=real.schema,
            recorded={k: v for k, v in by_key.items() if v[0].name == name},
        )  # fmt: skip
    return recorded


def install_recording(engine: Engine, replay: Replay) -> None:
    """Swap the running engine's tools, and each agent's, for the recorded ones (before the
    first message of the replay); an agent also gets the recorded tools it called that this
    process does not have (an MCP server's)."""
    tools = recorded_tools(engine.tools, replay)
    engine.tools = ToolRegistry(tools.values())
    agents = {}
    for name, spec in engine.agents.items():
        own = [tools[t.name] for t in spec.tools]
        extra = {c.name for c in replay.tools if c.agent == name} - {t.name for t in own}
        agents[name] = replace(spec, tools=(*own, *(tools[n] for n in sorted(extra))),
                               more_tools=None)  # fmt: skip
    engine.agents = agents


async def _never(_input: Any, _ctx: ToolContext) -> Any:
    raise AssertionError("a recorded tool answers in run(); its handler is never called")
