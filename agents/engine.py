"""The engine: dependencies of the workflow and the bodies of its steps (each one side effect).

Tool and approval steps live in agents/tool_steps.py and agents/approval_steps.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from dbos import DBOS
from sqlalchemy import select
from sqlalchemy.orm import Session

from agents import history, tracing
from agents.approval_steps import ApprovalSteps
from agents.events import (
    ModelRetry,
    Routed,
    RunFinished,
    RunStarted,
    TextDelta,
    ToolCallProposed,
)
from agents.llm import ModelReply, ModelRequest
from agents.model_errors import describe_error
from agents.outcomes import ANSWERED, LIMITED
from agents.router import (
    DONE,
    RouteDecision,
    RouteInput,
    classifier_request,
    decision_from_reply,
    route_by_rules,
)  # fmt: skip
from agents.tool_steps import key_argument
from core.models import LlmCallRow, RunRow
from core.telemetry import link_to
from core.types import IncomingMessage, ThreadRef

__all__ = ["Engine", "key_argument"]


def _note_agent(session: Session, run_id: str, agent: str) -> None:
    run = session.get(RunRow, run_id)
    if run is not None and (not run.agents or run.agents[-1] != agent):
        run.agents = [*run.agents, agent]


@dataclass
class Engine(ApprovalSteps):
    """Everything a run needs, injected once at start (fields: see EngineBase)."""

    async def begin_turn(
        self, run_id: str, thread: ThreadRef, message: IncomingMessage
    ) -> history.TurnStart:
        """Step: create the run, load history and state, announce the run."""
        start = await self.db.run(
            lambda s: history.begin_turn(s, run_id, thread, message, time.time())
        )
        # Runs enqueued by a version before user_team existed lack the attribute.
        await self.publish(
            RunStarted(run_id=run_id, thread_id=thread.key, requester=message.user,
                       requester_team=getattr(message, "user_team", None), text=message.text)
        )  # fmt: skip
        return start

    async def route(self, run_id: str, route: RouteInput) -> RouteDecision:
        """Step: rules first, then the classifier model; the decision is recorded."""
        if route.hops:  # the previous hop ends here
            last = route.hops[-1]
            tracing.past_span(
                self.telemetry, run_id, f"invoke_agent {last.agent}", parent="run",
                key=tracing.hop_key(last.index), started_at=last.started_at,
                attributes=tracing.agent_attributes(last.agent),
            )  # fmt: skip
        with tracing.step_span(self.telemetry, run_id, "route", "run", {}) as span:
            decision = route_by_rules(route)
            if decision is None:
                model = self.settings.router_model
                request = classifier_request(route, model, self.agents)
                with self.telemetry.tracer.start_as_current_span(f"chat {model}") as chat:
                    reply = await self.llm.create(request, self.redactor_for(run_id))
                    chat.set_attributes(tracing.chat_attributes("router", model, reply))
                    if self.content_redactor is not None:
                        chat.set_attributes(
                            tracing.chat_content(request, reply, self.content_redactor)
                        )
                await self._record_llm_call(run_id, "router", reply)
                decision = decision_from_reply(route, reply)
            span.set_attributes({"opsbot.route.agent": decision.agent,
                                 "opsbot.route.reason":
                                     self.redactor_for(run_id).redact(decision.reason),
                                 "opsbot.route.rule": decision.rule})  # fmt: skip
        decision = decision.model_copy(update={"decided_at": time.time()})
        if decision.agent != DONE:
            await self.db.run(lambda s: _note_agent(s, run_id, decision.agent))
        await self.publish(
            Routed(run_id=run_id, agent=decision.agent, reason=decision.reason, rule=decision.rule)
        )
        return decision

    async def call_model(
        self, run_id: str, agent: str, request: ModelRequest, hop: int = 0
    ) -> ModelReply:
        """Step: one streamed model call; text goes out as it arrives."""

        async def on_text(text: str) -> None:
            await self.publish(TextDelta(run_id=run_id, agent=agent, text=text))

        async def on_tool(name: str) -> None:
            await self.publish(ToolCallProposed(run_id=run_id, agent=agent, name=name))

        name = f"chat {request.model}"
        with tracing.step_span(self.telemetry, run_id, name, tracing.hop_key(hop), {}) as span:
            reply = await self.llm.stream(request, on_text, on_tool, self.redactor_for(run_id))
            span.set_attributes(tracing.chat_attributes(agent, request.model, reply))
            if self.content_redactor is not None:
                span.set_attributes(tracing.chat_content(request, reply, self.content_redactor))
        await self._record_llm_call(run_id, agent, reply)
        return reply

    async def announce_retry(
        self, run_id: str, agent: str, attempt: int, error: BaseException
    ) -> None:
        """Tell renderers that text of a failed attempt is void."""
        said = self.redactor_for(run_id).redact(describe_error(error))
        await self.publish(ModelRetry(run_id=run_id, agent=agent, attempt=attempt, error=said))

    async def _record_llm_call(self, run_id: str, agent: str, reply: ModelReply) -> None:
        step_id = DBOS.step_id or 0

        def record(session: Session) -> None:
            exists = session.scalar(
                select(LlmCallRow.id).where(
                    LlmCallRow.run_id == run_id, LlmCallRow.step_id == step_id
                )
            )
            if exists is None:
                session.add(
                    LlmCallRow(
                        run_id=run_id, step_id=step_id, agent=agent, model=reply.model,
                        input_tokens=reply.usage.input_tokens,
                        output_tokens=reply.usage.output_tokens,
                        cache_read_tokens=reply.usage.cache_read_tokens,
                        cache_write_tokens=reply.usage.cache_write_tokens,
                        cost_usd=reply.usage.cost_usd, stop_reason=reply.stop_reason,
                        duration_ms=reply.duration_ms, created_at=time.time(),
                    )
                )  # fmt: skip

        await self.db.run(record)

    def _trace_run(
        self, run_id: str, summary: history.TurnSummary, started_at: float, origin: str | None
    ) -> None:
        metrics = self.telemetry.metrics
        metrics.runs.add(1, {"outcome": summary.outcome})
        metrics.run_duration.record(time.time() - started_at, {"outcome": summary.outcome})
        metrics.tokens.add(summary.usage.prompt_tokens, {"gen_ai.token.type": "input"})
        metrics.tokens.add(summary.usage.output_tokens, {"gen_ai.token.type": "output"})
        metrics.cost.add(summary.usage.cost_usd)
        if summary.open_hop is not None:
            hop = summary.open_hop
            tracing.past_span(
                self.telemetry, run_id, f"invoke_agent {hop.agent}", parent="run",
                key=tracing.hop_key(hop.index), started_at=hop.started_at,
                attributes=tracing.agent_attributes(hop.agent),
            )  # fmt: skip
        tracing.past_span(
            self.telemetry, run_id, "run", parent=None, key="run", started_at=started_at,
            ok=summary.outcome in ANSWERED or summary.outcome == LIMITED, links=link_to(origin),
            attributes={"opsbot.run.outcome": summary.outcome,
                        "opsbot.run.agents": summary.agents,
                        **tracing.usage_attributes(summary.usage),
                        "opsbot.cost_usd": summary.usage.cost_usd},
        )  # fmt: skip

    async def finish_turn(
        self, run_id: str, thread: ThreadRef, message: IncomingMessage,
        summary: history.TurnSummary,
    ) -> None:  # fmt: skip
        """Step: append history and state once, close the run, publish the final answer."""
        now = time.time()
        await self.db.run(lambda s: history.finish_turn(s, run_id, thread, message, summary, now))
        started = await self.db.run(lambda s: s.get(RunRow, run_id))
        duration = round(now - started.started_at, 3) if started is not None else 0.0
        # Runs enqueued by a version before origin_trace existed lack the attribute.
        origin = getattr(message, "origin_trace", None)
        self._trace_run(run_id, summary, started.started_at if started else now, origin)
        await self.publish(
            RunFinished(
                run_id=run_id, outcome=summary.outcome, answer=summary.answer,
                limit=summary.limit, input_tokens=summary.usage.prompt_tokens,
                output_tokens=summary.usage.output_tokens, cost_usd=summary.usage.cost_usd,
                duration_s=duration, cache_read_tokens=summary.usage.cache_read_tokens,
            )
        )  # fmt: skip
