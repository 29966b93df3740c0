"""Tool steps: classify a call, run it (read-only at once, approved ones once), record refusals."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from opentelemetry.trace import Span
from sqlalchemy import select
from sqlalchemy.orm import Session

from agents import approvals, changes, tracing
from agents.engine_base import RUN_REDACTORS_KEPT, EngineBase
from agents.events import (
    ToolFinished,
    ToolStarted,
)
from agents.llm import ToolUse
from agents.outputs import DatabaseOutputs
from agents.specs import looks_only
from core.models import ApprovalRow, RunRow, ThreadRow, ToolCallRow
from core.types import Risk, fingerprint
from tools.base import Tool, ToolContext, ToolError, ToolResult, ToolStatus
from tools.changes.repo import RepoError

KEY_ARGUMENTS = ("command", "path", "query", "pattern", "ref")
FINISHED = {"ok", "error"}


def key_argument(args: dict[str, Any]) -> str:
    """The one argument that says what a tool call is about, shortened for a progress line."""
    for name in KEY_ARGUMENTS:
        if name in args:
            value = args[name]
            text = " ".join(map(str, value)) if isinstance(value, list) else str(value)
            return text if len(text) <= 80 else text[:77] + "..."
    scalars = [f"{k}={v}" for k, v in args.items() if isinstance(v, str | int | float)][:2]
    text = " ".join(scalars)  # an MCP tool's own arguments, e.g. deploy_id=d-2044
    return text if len(text) <= 80 else text[:77] + "..."


def unavailable(agent: str | None, name: str) -> str:
    """Why a call of tool `name` cannot run in this process."""
    if name.startswith("mcp__"):
        return (f"{name} is not available: its MCP server is not configured, or has not "
                "listed it since opsbot started; it was not run")  # fmt: skip
    return f"{agent} has no tool named {name!r}" if agent else f"unknown tool {name}"


def _save_row(
    session: Session, run_id: str, agent: str, use: ToolUse, risk: str, status: str
) -> None:
    row = session.get(ToolCallRow, (run_id, use.id))
    if row is None:
        session.add(
            ToolCallRow(
                run_id=run_id, tool_use_id=use.id, agent=agent, name=use.name, args=use.input,
                fingerprint=fingerprint(use.name, use.input), risk=risk, status=status,
                started_at=time.time(),
            )
        )  # fmt: skip
    else:
        row.status = status


def _note(result: ToolResult) -> str:
    """The line a successful call leaves for the thread (a pull request's link), if any."""
    data = result.data
    return str(data.get("note") or "") if isinstance(data, dict) else ""


def _elapsed_ms(started: float | None) -> float:
    return round((time.monotonic() - started) * 1000, 1) if started is not None else 0.0


def _thread_place(session: Session, thread_id: str) -> tuple[str, str, str]:
    row = session.get(ThreadRow, thread_id)
    if row is None:
        raise ToolError(f"thread {thread_id} is not recorded")
    return row.team, row.channel, row.thread_ts


class ToolSteps(EngineBase):
    """The steps that run or refuse tool calls."""

    async def call_tool(
        self, run_id: str, agent: str, use: ToolUse, hop: int = 0
    ) -> ToolResult | approvals.NeedsApproval:
        """Step: classify this exact call; run it if it is read-only, refuse it if denied or if
        the agent has no such tool (an MCP server that left the configuration or has not
        answered since this start; decided inside the step, so a replay takes the same path)."""
        tool = self._agent_tool(agent, use.name)
        result: ToolResult | None = None
        needs: approvals.NeedsApproval | None = None
        risk = Risk.READ.value
        if tool is None:
            result = self._not_given(agent, use)
        else:
            risk = tool.risk.value
            try:
                assessment = tool.assess(use.input, await self._call_context(run_id))
            except ToolError as exc:
                result = ToolResult.failed(self.redactor_for(run_id).redact(str(exc)))
            else:
                risk = assessment.risk.value
                if assessment.denied is not None:
                    result = ToolResult.failed(assessment.denied, status=ToolStatus.DENIED)
                elif assessment.risk is not Risk.READ:
                    needs = approvals.NeedsApproval(risk=risk, reason=assessment.reason)
        if tool is not None and result is None and needs is None:
            reused = await self._claim_read(run_id, agent, use, tool.risk.value)
        else:
            reused = await self._id_reused(run_id, use, needs is not None)
        if needs is not None and not reused:
            return needs
        with tracing.step_span(self.telemetry, run_id, f"execute_tool {use.name}",
                               tracing.hop_key(hop), {}) as span:  # fmt: skip
            if reused:  # refused without touching the earlier call's records
                result = ToolResult.failed(approvals.REUSED_TOOL_USE_ID)
                await self.publish(
                    ToolFinished(run_id=run_id, agent=agent, tool_use_id=use.id, name=use.name,
                                 status=result.status.value, duration_ms=0.0,
                                 detail=result.error or "")
                )  # fmt: skip
            elif result is not None or tool is None:
                result = result or self._not_given(agent, use)
                await self._refuse(run_id, agent, use, result, risk)
            else:  # claimed: the "running" row is written
                result = await self._execute(run_id, agent, use, tool)
            self._record_tool_outcome(span, use, risk, result)
        return result

    def _record_tool_outcome(self, span: Span, use: ToolUse, risk: str, result: ToolResult) -> None:
        """The tool span's GenAI attributes (and opt-in content), and the tool-call metric."""
        span.set_attributes(tracing.tool_attributes(use.name, use.id, risk, result.status.value))
        if self.content_redactor is not None:
            span.set_attributes(tracing.tool_content(use, result, self.content_redactor))
        self.telemetry.metrics.tool_calls.add(1, {"tool": use.name, "outcome": result.status.value})

    async def _execute(
        self, run_id: str, agent: str, use: ToolUse, tool: Tool[Any], approved: bool = False,
        approver: str | None = None,
    ) -> ToolResult:  # fmt: skip
        started = time.monotonic()
        await self.publish(
            ToolStarted(run_id=run_id, agent=agent, tool_use_id=use.id, name=use.name,
                        summary=key_argument(use.input), risk=tool.risk.value)
        )  # fmt: skip
        try:
            ctx = await self._call_context(run_id)
        except ToolError as error:
            result = ToolResult.failed(str(error))
        else:
            if ctx.change is not None and approved:
                ctx = replace(ctx, change=replace(ctx.change, approver=approver))
            ctx = replace(ctx, approved=approved, redactor=self.redactor_for(run_id))
            result = await tool.run(use.input, ctx, call_id=use.id)
            if approved and result.status is ToolStatus.OK and use.name in changes.WRITE_TOOLS:
                result = await self._commit(ctx, use, result, approver)
        await self._finish_call(run_id, agent, use, result, started)
        return result

    async def _commit(
        self, ctx: ToolContext, use: ToolUse, result: ToolResult, approver: str | None
    ) -> ToolResult:
        """In pull-request mode, an approved write becomes a commit on the thread's branch."""
        try:
            sha = await changes.commit_write(ctx, use.name, str(use.input.get("path")), approver)
        except RepoError as error:
            return ToolResult.failed(f"written, but not committed on the thread's branch: {error}")
        if sha is None or not isinstance(result.data, dict):
            return result
        return result.model_copy(update={"data": {**result.data, "commit": sha}})

    async def _call_context(self, run_id: str, with_commits: bool = False) -> ToolContext:
        """The run's tool context: its kept outputs scoped to the run's thread (read_output)
        and, in pull-request mode, the thread's worktree and branch (agents/changes.py).
        Raises ToolError when the worktree cannot be made."""
        ctx = self.tool_ctx_for(run_id)
        if not isinstance(ctx.outputs, DatabaseOutputs) and self.changes is None:
            return ctx
        thread = self._run_threads.get(run_id)
        if thread is None:
            thread = await self.db.run(lambda s: s.scalar(select(RunRow.thread_id).where(
                RunRow.id == run_id)))  # fmt: skip
            if thread is not None:
                self._run_threads[run_id] = thread
                while len(self._run_threads) > RUN_REDACTORS_KEPT:
                    self._run_threads.popitem(last=False)
        if isinstance(ctx.outputs, DatabaseOutputs):
            ctx = replace(ctx, outputs=ctx.outputs.for_thread(thread or run_id))
        if self.changes is None or thread is None:
            return ctx
        place = await self.db.run(lambda s: _thread_place(s, thread))
        try:
            return await changes.thread_context(self.changes, ctx, place, with_commits)
        except RepoError as error:
            raise ToolError(f"the thread's worktree could not be made: {error}") from None

    async def _finish_call(
        self, run_id: str, agent: str, use: ToolUse, result: ToolResult, started: float | None
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
                         duration_ms=_elapsed_ms(started),
                         detail=result.error or _note(result), files=result.files)
        )  # fmt: skip

    async def _id_reused(self, run_id: str, use: ToolUse, needs_approval: bool) -> bool:
        """Whether an earlier call of this run used this tool_use id (see approvals)."""
        return await self.db.run(
            lambda s: approvals.tool_use_id_reused(
                s, run_id, use.id, use.name, fingerprint(use.name, use.input), needs_approval
            )
        )

    def _tool(self, name: str) -> Tool[Any]:
        tool = self.tools.get(name)
        if tool is None:
            raise ToolError(unavailable(None, name))
        return tool

    def _not_given(self, agent: str, use: ToolUse) -> ToolResult:
        """Why `agent` cannot call `use.name`: no such tool here, the operator denies it, it
        needs approval and the agent only looks, or it is not among the agent's tools."""
        known = self.tools.get(use.name)
        spec = self.agents.get(agent)
        if known is None:
            return ToolResult.failed(unavailable(agent, use.name))
        if spec is not None and not spec.may_ask:
            try:
                assessment = known.assess(use.input, self.tool_ctx)
            except ToolError as error:
                return ToolResult.failed(str(error))
            if assessment.denied is not None:
                return ToolResult.failed(assessment.denied, status=ToolStatus.DENIED)
            if assessment.risk is not Risk.READ:
                why = looks_only(agent, use.name, assessment.reason)
                return ToolResult.failed(why, status=ToolStatus.DENIED)
        return ToolResult.failed(f"{agent} has no tool named {use.name!r}")

    def _agent_tool(self, agent: str, name: str) -> Tool[Any] | None:
        spec = self.agents.get(agent)
        return spec.tool(name) if spec is not None else self.tools.get(name)

    async def _save_call(
        self, run_id: str, agent: str, use: ToolUse, risk: str, status: str
    ) -> None:
        await self.db.run(lambda session: _save_row(session, run_id, agent, use, risk, status))

    async def _claim_read(self, run_id: str, agent: str, use: ToolUse, risk: str) -> bool:
        """In one transaction: whether the tool_use id is reused (see approvals) and, when it is
        not, the call's "running" row. Returns whether it was reused."""

        def claim(session: Session) -> bool:
            args_fingerprint = fingerprint(use.name, use.input)
            if approvals.tool_use_id_reused(session, run_id, use.id, use.name, args_fingerprint,
                                            needs_approval=False):  # fmt: skip
                return True
            _save_row(session, run_id, agent, use, risk, "running")
            return False

        return await self.db.run(claim)

    async def run_approved_tool(
        self, run_id: str, agent: str, use: ToolUse, hop: int = 0
    ) -> ToolResult:
        """Step: run an approved tool once; an intent marker stops a blind re-run after a crash."""
        with tracing.step_span(self.telemetry, run_id, f"execute_tool {use.name}",
                               tracing.hop_key(hop), {}) as span:  # fmt: skip
            result = await self._run_approved_tool(run_id, agent, use)
            tool = self.tools.get(use.name)
            risk = tool.risk.value if tool is not None else Risk.WRITE.value
            self._record_tool_outcome(span, use, risk, result)
        return result

    async def _run_approved_tool(self, run_id: str, agent: str, use: ToolUse) -> ToolResult:
        tool = self.tools.get(use.name)
        if tool is None:  # approved before a restart without its MCP server
            result = ToolResult.failed(unavailable(agent, use.name))
            await self._finish_call(run_id, agent, use, result, None)
            return result

        def claim(session: Session) -> str | ToolResult:
            row = session.get(ToolCallRow, (run_id, use.id))
            if row is not None and row.status in FINISHED and row.result:
                return ToolResult.model_validate(row.result)  # it ran; the step did not record it
            resumable = tool.resumable and row is not None and row.status == "running"
            if row is None or (row.status != "approved" and not resumable):
                return row.status if row is not None else "missing"
            row.status = "running"
            row.started_at = time.time()
            return "claimed"

        try:
            denied = tool.assess(use.input, await self._call_context(run_id)).denied
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
        approver = await self.db.run(lambda s: s.scalar(select(ApprovalRow.decided_by).where(
            ApprovalRow.run_id == run_id, ApprovalRow.tool_use_id == use.id).order_by(
            ApprovalRow.created_at.desc()).limit(1)))  # fmt: skip
        return await self._execute(run_id, agent, use, tool, approved=True, approver=approver)

    async def record_refusal(
        self, run_id: str, agent: str, use: ToolUse, result: ToolResult, risk: str
    ) -> None:
        """Step: a tool call that will not run (rejected, expired, changed, looped) is recorded."""
        await self._refuse(run_id, agent, use, result, risk)

    async def _refuse(
        self, run_id: str, agent: str, use: ToolUse, result: ToolResult, risk: str
    ) -> None:
        await self._save_call(run_id, agent, use, risk, result.status.value)
        await self._finish_call(run_id, agent, use, result, None)  # it never ran: 0 ms
