"""The engine: dependencies of the workflow and the bodies of its steps (each one side effect)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from dbos import DBOS
from sqlalchemy import select
from sqlalchemy.orm import Session

from agents import approvals, audit, history, tracing
from agents.events import (
    ApprovalRequested,
    ApprovalResolved,
    ModelRetry,
    Routed,
    RunEvent,
    RunFinished,
    RunStarted,
    TextDelta,
    ToolCallProposed,
    ToolFinished,
    ToolStarted,
)  # fmt: skip
from agents.llm import LlmClient, ModelReply, ModelRequest, ToolUse, describe_error
from agents.publisher import Publisher, safe_publish
from agents.router import (
    DONE,
    RouteDecision,
    RouteInput,
    classifier_request,
    decision_from_reply,
    route_by_rules,
)  # fmt: skip
from agents.specs import AgentSpec
from core import faults
from core.db import Database
from core.models import ApprovalRow, LlmCallRow, RunRow, ToolCallRow
from core.settings import Settings
from core.telemetry import Telemetry
from core.types import IncomingMessage, Risk, ThreadRef, fingerprint
from tools.base import Tool, ToolContext, ToolError, ToolResult, ToolStatus
from tools.registry import ToolRegistry

KEY_ARGUMENTS = ("command", "path", "query", "pattern", "ref")
INTERRUPTED_NOTE = (
    "WARNING: the approved run of this call was interrupted by a restart and its outcome is "
    "unknown (it may have taken effect). Check before approving it again."
)
FINISHED = {"ok", "error"}


def _note_agent(session: Session, run_id: str, agent: str) -> None:
    run = session.get(RunRow, run_id)
    if run is not None and (not run.agents or run.agents[-1] != agent):
        run.agents = [*run.agents, agent]


def key_argument(args: dict[str, Any]) -> str:
    """The one argument that says what a tool call is about, shortened for a progress line."""
    for name in KEY_ARGUMENTS:
        if name in args:
            value = args[name]
            text = " ".join(map(str, value)) if isinstance(value, list) else str(value)
            return text if len(text) <= 80 else text[:77] + "..."
    return ""


@dataclass
class Engine:
    """Everything a run needs, injected once at start."""

    settings: Settings
    db: Database
    llm: LlmClient
    tools: ToolRegistry
    agents: dict[str, AgentSpec]
    publisher: Publisher
    tool_ctx: ToolContext
    telemetry: Telemetry

    async def publish(self, event: RunEvent) -> None:
        """Publish without ever failing the step."""
        await safe_publish(self.publisher, event)

    async def begin_turn(
        self, run_id: str, thread: ThreadRef, message: IncomingMessage
    ) -> history.TurnStart:
        """Step: create the run, load history and state, announce the run."""
        start = await self.db.run(
            lambda s: history.begin_turn(s, run_id, thread, message, time.time())
        )
        await self.publish(
            RunStarted(run_id=run_id, thread_id=thread.key, requester=message.user,
                       text=message.text)
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
                    reply = await self.llm.create(request)
                    chat.set_attributes(tracing.chat_attributes("router", model, reply))
                await self._record_llm_call(run_id, "router", reply)
                decision = decision_from_reply(route, reply)
            span.set_attributes({"opsbot.route.agent": decision.agent,
                                 "opsbot.route.reason": decision.reason,
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
            faults.point("mid_stream")

        async def on_tool(name: str) -> None:
            await self.publish(ToolCallProposed(run_id=run_id, agent=agent, name=name))

        name = f"chat {request.model}"
        with tracing.step_span(self.telemetry, run_id, name, tracing.hop_key(hop), {}) as span:
            reply = await self.llm.stream(request, on_text, on_tool)
            span.set_attributes(tracing.chat_attributes(agent, request.model, reply))
        await self._record_llm_call(run_id, agent, reply)
        return reply

    async def announce_retry(
        self, run_id: str, agent: str, attempt: int, error: BaseException
    ) -> None:
        """Tell renderers that text of a failed attempt is void."""
        await self.publish(
            ModelRetry(run_id=run_id, agent=agent, attempt=attempt, error=describe_error(error))
        )

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

    async def call_tool(
        self, run_id: str, agent: str, use: ToolUse, hop: int = 0
    ) -> ToolResult | approvals.NeedsApproval:
        """Step: classify this exact call; run it if it is read-only, refuse it if denied."""
        tool = self._tool(use.name)
        result: ToolResult | None = None
        risk = tool.risk.value
        try:
            assessment = tool.assess(use.input, self.tool_ctx)
        except ToolError as exc:
            result = ToolResult.failed(self.tool_ctx.redactor.redact(str(exc)))
        else:
            risk = assessment.risk.value
            if assessment.denied is not None:
                result = ToolResult.failed(assessment.denied, status=ToolStatus.DENIED)
            elif assessment.risk is not Risk.READ:
                return approvals.NeedsApproval(risk=risk, reason=assessment.reason)
        with tracing.step_span(self.telemetry, run_id, f"execute_tool {use.name}",
                               tracing.hop_key(hop), {}) as span:  # fmt: skip
            if result is not None:
                await self._refuse(run_id, agent, use, result, risk)
            else:
                await self._save_call(run_id, agent, use, tool, "running")
                result = await self._execute(run_id, agent, use, tool)
            span.set_attributes(
                tracing.tool_attributes(use.name, use.id, risk, result.status.value)
            )
        self.telemetry.metrics.tool_calls.add(1, {"tool": use.name, "outcome": result.status.value})
        return result

    async def _execute(self, run_id: str, agent: str, use: ToolUse, tool: Tool[Any]) -> ToolResult:
        started = time.monotonic()
        await self.publish(
            ToolStarted(run_id=run_id, agent=agent, tool_use_id=use.id, name=use.name,
                        summary=key_argument(use.input), risk=tool.risk.value)
        )  # fmt: skip
        result = await tool.run(use.input, self.tool_ctx, call_id=use.id)
        await self._finish_call(run_id, agent, use, result, started)
        return result

    async def _finish_call(
        self, run_id: str, agent: str, use: ToolUse, result: ToolResult, started: float
    ) -> None:
        def store(session: Session) -> None:
            row = session.get(ToolCallRow, (run_id, use.id))
            if row is not None:
                row.status = result.status.value
                row.result = result.model_dump(mode="json")
                row.finished_at = time.time()

        await self.db.run(store)
        await self.publish(
            ToolFinished(run_id=run_id, agent=agent, tool_use_id=use.id, name=use.name,
                         status=result.status.value,
                         duration_ms=round((time.monotonic() - started) * 1000, 1),
                         detail=result.error or "")
        )  # fmt: skip

    def _tool(self, name: str) -> Tool[Any]:
        tool = self.tools.get(name)
        if tool is None:
            raise ToolError(f"unknown tool {name}")
        return tool

    async def _save_call(
        self, run_id: str, agent: str, use: ToolUse, tool: Tool[Any], status: str
    ) -> None:
        def save(session: Session) -> None:
            row = session.get(ToolCallRow, (run_id, use.id))
            if row is None:
                session.add(
                    ToolCallRow(
                        run_id=run_id, tool_use_id=use.id, agent=agent, name=use.name,
                        args=use.input, fingerprint=fingerprint(use.name, use.input),
                        risk=tool.risk.value, status=status, started_at=time.time(),
                    )
                )  # fmt: skip
            else:
                row.status = status

        await self.db.run(save)

    async def request_approval(
        self, run_id: str, thread_id: str, requester: str | None, agent: str, use: ToolUse,
        reason: str, risk: str, attempt: int = 1,
    ) -> approvals.ApprovalTicket | ToolResult:  # fmt: skip
        """Step: record the approval row (exact arguments) and announce it; or refuse bad input.

        A second attempt follows a restart that interrupted the approved call: the card says
        that its outcome is unknown.
        """
        tool = self._tool(use.name)
        try:
            preview = tool.describe(use.input, self.tool_ctx)
        except ToolError as exc:
            return ToolResult.failed(str(exc))
        if attempt > 1:
            preview = f"{INTERRUPTED_NOTE}\n{preview}"
        key = use.id if attempt == 1 else f"{use.id}#{attempt}"
        approval_id = approvals.approval_id_for(run_id, key)
        now = time.time()
        row = ApprovalRow(
            id=approval_id, run_id=run_id, thread_id=thread_id, tool_use_id=use.id,
            tool_name=use.name, args=use.input, fingerprint=fingerprint(use.name, use.input),
            risk=risk, preview=preview, requester=requester, status=approvals.PENDING,
            created_at=now, expires_at=now + self.settings.approval_timeout_s, delivered=False,
        )  # fmt: skip

        def record(session: Session) -> ApprovalRow:
            stored = approvals.insert_approval(session, row)
            run = session.get(RunRow, run_id)
            if run is not None:
                run.status = "waiting_approval"
            return stored

        await self._save_call(run_id, agent, use, tool, "awaiting_approval")
        stored = await self.db.run(record)
        await self.publish(
            ApprovalRequested(
                run_id=run_id, approval_id=approval_id, agent=agent, tool_name=use.name,
                risk=risk, preview=preview, reason=reason, requester=requester,
                expires_at=stored.expires_at,
            )
        )  # fmt: skip
        return approvals.ApprovalTicket(
            approval_id=approval_id,
            topic=approvals.topic_for(approval_id),
            timeout_s=max(stored.expires_at - stored.created_at, 0.001),
        )

    async def resolve_approval(
        self, run_id: str, ticket: approvals.ApprovalTicket, use: ToolUse, timed_out: bool,
        hop: int = 0,
    ) -> approvals.ApprovalVerdict:  # fmt: skip
        """Step: after the wait, expire if nobody decided, then re-read the row."""

        def reread(session: Session) -> approvals.ApprovalVerdict:
            if timed_out:
                approvals.expire(session, ticket.approval_id, time.time())
                audit.add(session, action="expire", outcome="expired", actor=None,
                          approval_id=ticket.approval_id, run_id=run_id)  # fmt: skip
            row = session.get(ApprovalRow, ticket.approval_id)
            assert row is not None, f"approval {ticket.approval_id} vanished"
            session.refresh(row)
            row.delivered = True
            verdict = approvals.ApprovalVerdict(
                status=row.status, decided_by=row.decided_by, reason=row.decision_reason,
                fingerprint_matches=row.fingerprint == fingerprint(use.name, use.input),
            )  # fmt: skip
            call = session.get(ToolCallRow, (run_id, use.id))
            if call is not None:
                call.status = "approved" if verdict.may_run else verdict.status
            run = session.get(RunRow, run_id)
            if run is not None:
                run.status = "running"
            return verdict

        verdict = await self.db.run(reread)
        asked = await self.db.run(lambda s: s.get(ApprovalRow, ticket.approval_id))
        if asked is not None:
            self.telemetry.metrics.approval_wait.record(
                time.time() - asked.created_at, {"status": verdict.status, "tool": use.name}
            )
            tracing.past_span(
                self.telemetry, run_id, f"approval {use.name}", parent=tracing.hop_key(hop),
                key=None, started_at=asked.created_at, ok=verdict.may_run,
                attributes={"opsbot.approval.id": ticket.approval_id,
                            "opsbot.approval.status": verdict.status,
                            "opsbot.approval.approver": verdict.decided_by or "",
                            "opsbot.approval.wait_s": round(time.time() - asked.created_at, 3),
                            "gen_ai.tool.name": use.name, "gen_ai.tool.call.id": use.id},
            )  # fmt: skip
        await self.publish(
            ApprovalResolved(run_id=run_id, approval_id=ticket.approval_id,
                             status=verdict.status, decided_by=verdict.decided_by,
                             reason=verdict.reason)
        )  # fmt: skip
        return verdict

    async def run_approved_tool(
        self, run_id: str, agent: str, use: ToolUse, hop: int = 0
    ) -> ToolResult:
        """Step: run an approved tool once; an intent marker stops a blind re-run after a crash."""
        with tracing.step_span(self.telemetry, run_id, f"execute_tool {use.name}",
                               tracing.hop_key(hop), {}) as span:  # fmt: skip
            result = await self._run_approved_tool(run_id, agent, use)
            risk = self._tool(use.name).risk.value
            span.set_attributes(
                tracing.tool_attributes(use.name, use.id, risk, result.status.value)
            )
        self.telemetry.metrics.tool_calls.add(1, {"tool": use.name, "outcome": result.status.value})
        return result

    async def _run_approved_tool(self, run_id: str, agent: str, use: ToolUse) -> ToolResult:
        tool = self._tool(use.name)

        def claim(session: Session) -> str | ToolResult:
            row = session.get(ToolCallRow, (run_id, use.id))
            if row is not None and row.status in FINISHED and row.result:
                return ToolResult.model_validate(row.result)  # it ran; the step did not record it
            if row is None or row.status != "approved":
                return row.status if row is not None else "missing"
            row.status = "running"
            row.started_at = time.time()
            return "claimed"

        try:
            denied = tool.assess(use.input, self.tool_ctx).denied
        except ToolError as exc:
            denied = str(exc)
        if denied is not None:  # the policy changed while the approval waited
            result = ToolResult.failed(denied, status=ToolStatus.DENIED)
            await self._refuse(run_id, agent, use, result, tool.risk.value)
            return result
        claimed = await self.db.run(claim)
        if isinstance(claimed, ToolResult):
            return claimed
        if claimed != "claimed":
            result = ToolResult.failed(
                f"{use.name} was interrupted by a restart while it ran (state: {claimed}); its "
                "outcome is unknown and it was not run again. Check its effect before retrying.",
                status=ToolStatus.UNKNOWN,
            )
            await self._finish_call(run_id, agent, use, result, time.monotonic())
            return result
        return await self._execute(run_id, agent, use, tool)

    async def record_refusal(
        self, run_id: str, agent: str, use: ToolUse, result: ToolResult, risk: str
    ) -> None:
        """Step: a tool call that will not run (rejected, expired, changed, looped) is recorded."""
        await self._refuse(run_id, agent, use, result, risk)

    async def _refuse(
        self, run_id: str, agent: str, use: ToolUse, result: ToolResult, risk: str
    ) -> None:

        def save(session: Session) -> None:
            row = session.get(ToolCallRow, (run_id, use.id))
            if row is None:
                session.add(
                    ToolCallRow(
                        run_id=run_id, tool_use_id=use.id, agent=agent, name=use.name,
                        args=use.input, fingerprint=fingerprint(use.name, use.input), risk=risk,
                        status=result.status.value, result=result.model_dump(mode="json"),
                        started_at=time.time(), finished_at=time.time(),
                    )
                )  # fmt: skip
            else:
                row.status = result.status.value
                row.result = result.model_dump(mode="json")
                row.finished_at = time.time()

        await self.db.run(save)
        await self.publish(
            ToolFinished(run_id=run_id, agent=agent, tool_use_id=use.id, name=use.name,
                         status=result.status.value, duration_ms=0.0, detail=result.error or "")
        )  # fmt: skip

    def _trace_run(self, run_id: str, summary: history.TurnSummary, started_at: float) -> None:
        metrics = self.telemetry.metrics
        metrics.runs.add(1, {"outcome": summary.outcome})
        metrics.run_duration.record(time.time() - started_at, {"outcome": summary.outcome})
        metrics.tokens.add(summary.usage.input_tokens, {"gen_ai.token.type": "input"})
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
            ok=summary.outcome in ("succeeded", "limited"),
            attributes={"opsbot.run.outcome": summary.outcome,
                        "opsbot.run.agents": summary.agents,
                        "gen_ai.usage.input_tokens": summary.usage.input_tokens,
                        "gen_ai.usage.output_tokens": summary.usage.output_tokens,
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
        self._trace_run(run_id, summary, started.started_at if started else now)
        await self.publish(
            RunFinished(
                run_id=run_id, outcome=summary.outcome, answer=summary.answer,
                limit=summary.limit, input_tokens=summary.usage.input_tokens,
                output_tokens=summary.usage.output_tokens, cost_usd=summary.usage.cost_usd,
                duration_s=duration,
            )
        )  # fmt: skip
