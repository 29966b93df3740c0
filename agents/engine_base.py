"""The engine's collaborators, shared by the step mixins (see agents/engine.py)."""

from __future__ import annotations

from dataclasses import dataclass

from agents.events import RunEvent
from agents.llm import LlmClient
from agents.publisher import Publisher, safe_publish
from agents.specs import AgentSpec
from core.db import Database
from core.redact import Redactor
from core.settings import Settings
from core.telemetry import Telemetry
from tools.base import ToolContext
from tools.registry import ToolRegistry


@dataclass
class EngineBase:
    """What every step can reach: settings, database, model, tools, publisher, telemetry."""

    settings: Settings
    db: Database
    llm: LlmClient
    tools: ToolRegistry
    agents: dict[str, AgentSpec]
    publisher: Publisher
    tool_ctx: ToolContext
    telemetry: Telemetry

    @property
    def content_redactor(self) -> Redactor | None:
        """The redactor for span content when the operator opted in to recording it, else None."""
        return self.tool_ctx.redactor if self.settings.otel_record_content else None

    async def publish(self, event: RunEvent) -> None:
        """Publish without ever failing the step."""
        await safe_publish(self.publisher, event)
