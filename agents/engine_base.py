"""The engine's collaborators, shared by the step mixins (see agents/engine.py)."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace

from agents.changes import ChangeSetup
from agents.events import RunEvent
from agents.llm import LlmClient
from agents.publisher import Publisher, safe_publish
from agents.specs import AgentSpec
from core.db import Database
from core.redact import Redactor
from core.settings import Settings
from core.telemetry import Telemetry
from tools.base import ToolContext
from tools.mcp.hub import McpHub
from tools.registry import ToolRegistry

RUN_REDACTORS_KEPT = 256  # runs in flight in one process; an evicted run starts a new memory


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
    sandbox: str = "no kernel sandbox: every command needs approval"
    mcp: McpHub | None = None
    """The MCP servers' connections (OPSBOT_MCP_CONFIG); None when none are configured."""
    changes: ChangeSetup | None = None
    """Pull-request mode's repository and worktrees (OPSBOT_CHANGE_MODE); None: workspace mode."""
    """One line saying whether unapproved commands run kernel-confined (startup, /healthz)."""
    launched_at: float = field(default_factory=time.time, init=False)
    """When this process's engine was built (before DBOS recovers any run): a tool call that
    finished since ran in this process (bot/leftovers.py tells the dead process's cards by it)."""
    _run_redactors: OrderedDict[str, Redactor] = field(
        default_factory=OrderedDict, init=False, repr=False
    )
    _run_threads: OrderedDict[str, str] = field(default_factory=OrderedDict, init=False, repr=False)
    """A run's thread id (it never changes), so a tool call does not read it each time."""

    def redactor_for(self, run_id: str) -> Redactor:
        """The run's own redactor: the shared patterns, a memory of hidden secrets of this run."""
        redactor = self._run_redactors.get(run_id)
        if redactor is None:
            redactor = self._run_redactors[run_id] = self.tool_ctx.redactor.for_run()
            while len(self._run_redactors) > RUN_REDACTORS_KEPT:
                self._run_redactors.popitem(last=False)
        self._run_redactors.move_to_end(run_id)
        return redactor

    def tool_ctx_for(self, run_id: str) -> ToolContext:
        """The tool context with the run's own redactor."""
        return replace(self.tool_ctx, redactor=self.redactor_for(run_id))

    @property
    def content_redactor(self) -> Redactor | None:
        """The redactor for span content when the operator opted in to recording it, else None."""
        return self.tool_ctx.redactor if self.settings.otel_record_content else None

    async def publish(self, event: RunEvent) -> None:
        """Publish without ever failing the step."""
        await safe_publish(self.publisher, event)
