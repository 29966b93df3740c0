"""The durable workflow `run_thread_turn`: deterministic orchestration; every effect is a step.

Changing the sequence of steps in this module needs a new `APP_VERSION` (agents/versioning.py):
runs paused under the old sequence would otherwise replay against the wrong steps.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast

from dbos import DBOS, StepOptions

from agents.approvals import NeedsApproval
from agents.budget import Budget, LoopGuard
from agents.context_budget import ContextBudget, count_prompt_tokens, counts_tokens, request_chars
from agents.context_trim import trim_for_context
from agents.engine import Engine
from agents.events import approval_reason
from agents.history import NO_ANSWER as NO_ANSWER_TEXT
from agents.history import (
    TurnStart,
    TurnSummary,
    conversation,
    history_tail,
    with_work_so_far,
)
from agents.llm import ModelReply, ModelRequest, ToolUse
from agents.model_calls import model_failure, model_retry_options, step_failure, trimmed_to_fit
from agents.outcomes import DECLINED, FAILED, LIMITED, NO_ANSWER, answered_outcome
from agents.router import DONE, Hop, RouteDecision, RouteInput, fallback_decision
from agents.runtime import current_engine
from agents.specs import AgentSpec, looks_only
from agents.state import AWAITING_KEY, REPORT_FIX, NetworkState
from agents.stop_reasons import (
    MAX_PAUSES,
    REFUSED_NOTE,
    cut_call_result,
    cut_tool_use,
    limit_words,
    next_move,
)  # fmt: skip
from core import faults
from core.types import IncomingMessage, ThreadRef, fingerprint
from tools.base import ToolResult, ToolStatus

T = TypeVar("T")


async def step(
    name: str, fn: Callable[..., Coroutine[Any, Any, T]], *args: Any, **options: Any
) -> T:
    """Run `fn` as the named DBOS step (checkpointed; never re-run once complete)."""
    step_options = cast(StepOptions, {"name": name, **options})
    return await DBOS.run_step_async(step_options, fn, *args)


def _refusal(status: str, decided_by: str | None, reason: str | None) -> ToolResult:
    if status == "rejected":
        why = f": {reason}" if reason else ""
        slack_user = decided_by is not None and decided_by.isalnum() and decided_by.isupper()
        who = f" by <@{decided_by}>" if slack_user else f" by {decided_by}" if decided_by else ""
        return ToolResult.failed(f"Rejected{who}{why}", status=ToolStatus.REJECTED)
    if status == "expired":
        return ToolResult.failed(
            "the approval request expired without a decision; nothing was run",
            status=ToolStatus.EXPIRED,
        )
    return ToolResult.failed(
        "the approved arguments differ from this call; nothing was run", status=ToolStatus.DENIED
    )


class Turn:
    """One turn of a thread: route, run agents, gate tools, keep budgets. Deterministic."""

    def __init__(
        self, engine: Engine, run_id: str, thread: ThreadRef, message: IncomingMessage,
        start: TurnStart,
    ) -> None:  # fmt: skip
        self.engine = engine
        self.run_id = run_id
        self.thread = thread
        self.message = message
        self.start = start
        self.state = NetworkState(start.state)
        self.budget = Budget.from_settings(engine.settings, start.thread_cost_usd)
        self.guard = LoopGuard(engine.settings.max_identical_tool_calls)
        self.hops: list[Hop] = []
        self.answers: list[str] = []
        self.tool_calls = 0
        self.limit: str | None = None
        self.failure: str | None = None
        self.refused = False
        self.fix_status: str | None = None
        self.undecided: list[str] = []  # "rejected" / "expired" approvals of this turn
        self.open_hop: Hop | None = None
        self.context = ContextBudget(engine.settings.max_context_tokens)
        self.counting = counts_tokens(engine)
        self.decisions: set[str] = set()  # tool_use ids whose results trimming keeps

    async def run(self) -> TurnSummary:
        """Route and run agents until the router says done, a limit is reached, a model call
        fails or the model declines (stop reason `refusal`)."""
        while self.limit is None and self.failure is None:
            decision = await self._route()
            if decision.agent == DONE:
                self.open_hop = None
                break
            self.open_hop = Hop(agent=decision.agent, summary="", index=len(self.hops),
                                started_at=decision.decided_at)  # fmt: skip
            self.hops.append(await self._run_agent(self.engine.agents[decision.agent]))
            if self.refused:
                break  # a declined request ends the turn: no other agent takes it up
        return self._summary()

    async def _route(self) -> RouteDecision:
        route = RouteInput(
            message=self.message.text, history_tail=history_tail(self.start.history),
            state=self.state.snapshot(), hops=self.hops,
        )  # fmt: skip
        options = model_retry_options(self.engine, self.run_id, "router")
        try:
            decision = await step("route", self.engine.route, self.run_id, route, **options)
        except Exception as exc:
            decision = fallback_decision(route, f"router unavailable ({step_failure(exc)})")
        faults.point("after_route")
        self.budget.add(decision.usage, model_call=False)
        return decision

    @property
    def _hop(self) -> int:
        return self.open_hop.index if self.open_hop is not None else 0

    @staticmethod
    def _request(spec: AgentSpec, system: str, messages: list[dict[str, Any]]) -> ModelRequest:
        return ModelRequest(
            model=spec.model, system=system, messages=messages,
            tools=spec.tool_definitions(), max_tokens=spec.max_tokens, thinking=spec.thinking,
        )  # fmt: skip

    async def _fit(
        self, spec: AgentSpec, system: str, messages: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """`messages` with room under the context budget: the prompt's calibrated estimate
        (counted by the endpoint when near the threshold) and, over it, older tool results
        cleared (agents/context_budget.py)."""
        request = self._request(spec, system, messages)
        chars = request_chars(request)
        tokens = self.context.estimate(chars)
        if self.counting and self.context.worth_counting(tokens):
            counted = await step(
                "count_tokens", count_prompt_tokens, self.engine, self.run_id, request
            )
            if counted is not None:
                self.context.learn(counted, chars)
                tokens = counted
        return self.context.cleared(messages, tokens, frozenset(self.decisions)) or messages

    async def _call_model(self, spec: AgentSpec, request: ModelRequest) -> ModelReply:
        options = model_retry_options(self.engine, self.run_id, spec.name)
        return await step(
            "llm_call", self.engine.call_model, self.run_id, spec.name, request, self._hop,
            **options,
        )  # fmt: skip

    async def _run_agent(self, spec: AgentSpec) -> Hop:
        messages = with_work_so_far(conversation(self.start.history, self.message.text),
                                    self.hops)  # fmt: skip
        # one system prompt for the whole hop: the state it shows (the findings, a fix report)
        # changing under the agent's own calls would cost each later call its prompt cache
        system = spec.prompt(self.state)
        best = ""
        pauses = trims = 0
        while True:
            if (limit := self.budget.exceeded()) is not None:
                self.limit = limit
                break
            messages = await self._fit(spec, system, messages)
            request = self._request(spec, system, messages)
            try:
                reply = await self._call_model(spec, request)
            except Exception as exc:
                keep = frozenset(self.decisions)
                chars = request_chars(request)
                if shorter := trimmed_to_fit(exc, messages, self.context, chars, keep, trims):
                    messages = shorter  # the same call again, with the oldest outputs trimmed
                    trims += 1
                    continue
                failure = model_failure(exc, trims)
                self.failure = self.engine.redactor_for(self.run_id).redact(failure)
                break
            trims = 0
            self.context.learn(reply.usage.prompt_tokens, request_chars(request))
            self.budget.add(reply.usage)
            text = reply.text.strip()
            best = f"{best}\n\n{text}" if pauses and text else text or best
            move = next_move(reply)
            pauses = pauses + 1 if move == "pause" else 0
            if move == "pause":
                if reply.content:  # the API goes on from its own paused turn
                    messages.append({"role": "assistant", "content": reply.content})
                if pauses >= MAX_PAUSES:
                    self.limit = f"{MAX_PAUSES} paused turns in a row (pause_turn)"
                    break
                continue
            if move == "refused":
                self.refused = True
                break
            if move == "cut":
                self.limit = limit_words(reply.stop_reason)
                break
            if move == "answered":
                break
            results = await self._tool_results(spec, reply)
            if reply.stop_reason == "model_context_window_exceeded":  # make room, older first
                used = reply.usage.prompt_tokens
                messages = trim_for_context(
                    messages, used, used * 9 // 10, tokens_per_char=self.context.tokens_per_char,
                    keep=frozenset(self.decisions),
                ) or messages  # fmt: skip
            messages.append({"role": "assistant", "content": reply.content})
            messages.append({"role": "user", "content": results})
            if self.limit is not None:
                break
        if best:
            self.answers.append(best)
        assert self.open_hop is not None
        return self.open_hop.model_copy(update={
            "summary": best or "(no answer)",
            "needs_input": self.state.get(AWAITING_KEY) == spec.name,
        })  # fmt: skip

    async def _tool_results(self, spec: AgentSpec, reply: ModelReply) -> list[dict[str, Any]]:
        """One tool_result per tool_use of the reply; a call the limit cut is never run."""
        cut = cut_tool_use(reply)
        results = []
        for use in reply.tool_uses:
            if cut is not None and use.id == cut.id:
                result = cut_call_result(use, reply.stop_reason)
                tool = spec.tool(use.name)
                risk = tool.risk.value if tool is not None else "read"
                await step("record_refusal", self.engine.record_refusal, self.run_id, spec.name,
                           use, result, risk)  # fmt: skip
            else:
                result = await self._handle_tool(spec, use, reply.text.strip())
            results.append(
                {"type": "tool_result", "tool_use_id": use.id, "content": result.for_model(),
                 "is_error": result.status is not ToolStatus.OK}
            )  # fmt: skip
        return results

    async def _handle_tool(self, spec: AgentSpec, use: ToolUse, reason: str) -> ToolResult:
        self.tool_calls += 1
        if (loop := self.guard.record(use.name, fingerprint(use.name, use.input))) is not None:
            self.limit = loop
            result = ToolResult.failed(f"not run: {loop}", status=ToolStatus.DENIED)
            await step("record_refusal", self.engine.record_refusal, self.run_id, spec.name, use,
                       result, "read")  # fmt: skip
            return result
        if (state_tool := spec.state_tool(use.name)) is not None:
            self.decisions.add(use.id)  # findings, a fix report: kept when trimming
            ok, text = state_tool.run(use.input, self.state, spec.name)
            if ok and use.name == REPORT_FIX.name:
                self.fix_status = str(use.input.get("status"))
            return ToolResult.ok(text) if ok else ToolResult.failed(text)
        outcome = await step(
            "tool_call", self.engine.call_tool, self.run_id, spec.name, use, self._hop
        )
        faults.point("after_tool")
        if isinstance(outcome, ToolResult):
            return outcome
        if not spec.may_ask:
            result = ToolResult.failed(looks_only(spec.name, use.name, outcome.reason),
                                       status=ToolStatus.DENIED)  # fmt: skip
            await step("record_refusal", self.engine.record_refusal, self.run_id, spec.name, use,
                       result, outcome.risk)  # fmt: skip
            return result
        return await self._gated(spec, use, outcome, reason)

    async def _gated(
        self, spec: AgentSpec, use: ToolUse, needs: NeedsApproval, reason: str, attempt: int = 1
    ) -> ToolResult:
        self.decisions.add(use.id)  # an approval's outcome is kept when trimming
        why = approval_reason(reason, needs.reason or f"{use.name} always needs approval")
        ticket = await step(
            "request_approval", self.engine.request_approval, self.run_id, self.thread.key,
            self.message.user, spec.name, use, why.strip(), needs.risk, attempt,
        )  # fmt: skip
        if isinstance(ticket, ToolResult):
            return ticket
        faults.point("waiting_approval")
        decision = await DBOS.recv_async(topic=ticket.topic, timeout_seconds=ticket.timeout_s)
        verdict = await step(
            "resolve_approval", self.engine.resolve_approval, self.run_id, ticket, use,
            decision is None, self._hop,
        )  # fmt: skip
        if verdict.may_run:
            result = await step(
                "tool_exec", self.engine.run_approved_tool, self.run_id, spec.name, use, self._hop
            )
            faults.point("after_tool")
            if result.status is ToolStatus.UNKNOWN and attempt == 1:
                return await self._gated(spec, use, needs, reason, attempt + 1)  # ask again
            return result
        result = _refusal(verdict.status, verdict.decided_by, verdict.reason)
        # A "run it again?" card (attempt 2: a call whose outcome a crash made unknown) is not
        # a rejected action: the call was approved and ran.
        if attempt == 1 and result.status in (ToolStatus.REJECTED, ToolStatus.EXPIRED):
            self.undecided.append(result.status.value)
        await step("record_refusal", self.engine.record_refusal, self.run_id, spec.name, use,
                   result, needs.risk)  # fmt: skip
        return result

    def _summary(self) -> TurnSummary:
        answer = "\n\n".join(self.answers) or NO_ANSWER_TEXT
        awaiting = bool(self.hops) and self.hops[-1].needs_input
        outcome = (answered_outcome(self.fix_status, awaiting, self.undecided) if self.answers
                   else NO_ANSWER)  # fmt: skip
        if self.failure is not None:
            outcome, answer = FAILED, f"{answer}\n\n_The run stopped: {self.failure}._"
        elif self.refused:
            outcome, answer = DECLINED, f"{answer}\n\n{REFUSED_NOTE}"
        elif self.limit is not None:
            outcome, answer = LIMITED, f"{answer}\n\n_Stopped: reached the {self.limit} limit._"
        return TurnSummary(
            answer=answer, agents=[hop.agent for hop in self.hops], state=self.state.snapshot(),
            usage=self.budget.usage, llm_calls=self.budget.iterations,
            tool_calls=self.tool_calls, outcome=outcome, limit=self.limit or self.failure,
            open_hop=self.open_hop,
        )  # fmt: skip


@DBOS.workflow(name="run_thread_turn")
async def run_thread_turn(thread: ThreadRef, message: IncomingMessage) -> str:
    """Handle one message of a thread durably; returns the run's outcome."""
    engine = current_engine()
    run_id = DBOS.workflow_id
    assert run_id is not None
    start = await step("begin_turn", engine.begin_turn, run_id, thread, message)
    summary = await Turn(engine, run_id, thread, message, start).run()
    await step("finish_turn", engine.finish_turn, run_id, thread, message, summary)
    return summary.outcome
