"""The history store: a thread's conversation and state, loaded at the start of a turn and
appended exactly once at its end."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from agents.llm import Usage
from agents.router import Hop
from core.models import MessageRow, RunRow, ThreadRow, ThreadStateRow
from core.types import IncomingMessage, ThreadRef

NO_ANSWER = "I could not produce an answer."


class HistoryEntry(BaseModel):
    """One message of the conversation."""

    model_config = ConfigDict(frozen=True)

    role: str
    content: str
    agent: str | None = None
    author: str | None = None


class TurnStart(BaseModel):
    """What a turn starts from."""

    model_config = ConfigDict(frozen=True)

    history: list[HistoryEntry]
    state: dict[str, Any]
    thread_cost_usd: float


class TurnSummary(BaseModel):
    """What a turn ends with."""

    model_config = ConfigDict(frozen=True)

    answer: str
    agents: list[str]
    state: dict[str, Any]
    usage: Usage
    llm_calls: int
    tool_calls: int
    outcome: str
    limit: str | None = None
    open_hop: Hop | None = None


def begin_turn(
    session: Session, run_id: str, thread: ThreadRef, message: IncomingMessage, now: float
) -> TurnStart:
    """Create the thread and run rows if new; load the history and state."""
    row = session.get(ThreadRow, thread.key)
    if row is None:
        row = ThreadRow(
            id=thread.key, team=thread.team, channel=thread.channel, thread_ts=thread.thread_ts,
            created_at=now, updated_at=now, total_tokens=0, total_cost_usd=0.0,
        )  # fmt: skip
        session.add(row)
        session.flush()
    if session.get(RunRow, run_id) is None:
        session.add(
            RunRow(
                id=run_id, thread_id=thread.key, message_ts=message.ts, requester=message.user,
                requester_team=getattr(message, "user_team", None),  # None: an earlier input
                status="running", agents=[], started_at=now, input_tokens=0, output_tokens=0,
                cost_usd=0.0, llm_calls=0, tool_calls=0,
            )
        )  # fmt: skip
    messages = session.scalars(
        select(MessageRow).where(MessageRow.thread_id == thread.key).order_by(MessageRow.seq)
    ).all()
    state_rows = session.scalars(
        select(ThreadStateRow).where(ThreadStateRow.thread_id == thread.key)
    ).all()
    return TurnStart(
        history=[
            HistoryEntry(role=m.role, content=m.content, agent=m.agent, author=m.author)
            for m in messages
        ],
        state={s.key: s.value for s in state_rows},
        thread_cost_usd=row.total_cost_usd,
    )


def finish_turn(
    session: Session,
    run_id: str,
    thread: ThreadRef,
    message: IncomingMessage,
    summary: TurnSummary,
    now: float,
) -> bool:
    """Append the turn to the history, save state and close the run; False if already done."""
    already = session.scalar(select(func.count()).where(MessageRow.run_id == run_id))
    if already:
        return False
    last_seq = session.scalar(
        select(func.max(MessageRow.seq)).where(MessageRow.thread_id == thread.key)
    )
    seq = (last_seq or 0) + 1
    session.add_all(
        [
            MessageRow(thread_id=thread.key, run_id=run_id, seq=seq, role="user",
                       author=message.user, content=message.text, created_at=now),
            MessageRow(thread_id=thread.key, run_id=run_id, seq=seq + 1, role="assistant",
                       agent=",".join(summary.agents) or None, content=summary.answer,
                       created_at=now),
        ]
    )  # fmt: skip
    session.execute(delete(ThreadStateRow).where(ThreadStateRow.thread_id == thread.key))
    session.add_all(
        ThreadStateRow(thread_id=thread.key, key=key, value=value, updated_at=now)
        for key, value in summary.state.items()
    )
    run = session.get(RunRow, run_id)
    if run is not None:
        run.status = summary.outcome
        run.outcome = summary.outcome
        run.agents = summary.agents
        run.finished_at = now
        run.input_tokens = summary.usage.prompt_tokens
        run.output_tokens = summary.usage.output_tokens
        run.cache_read_tokens = summary.usage.cache_read_tokens
        run.cache_write_tokens = summary.usage.cache_write_tokens
        run.cost_usd = summary.usage.cost_usd
        run.llm_calls = summary.llm_calls
        run.tool_calls = summary.tool_calls
        run.limit_reason = summary.limit
        run.answer = summary.answer
    thread_row = session.get(ThreadRow, thread.key)
    if thread_row is not None:
        thread_row.updated_at = now
        thread_row.total_tokens += summary.usage.total_tokens
        thread_row.total_cost_usd = round(thread_row.total_cost_usd + summary.usage.cost_usd, 6)
    return True


def conversation(history: list[HistoryEntry], current: str) -> list[dict[str, Any]]:
    """Messages for the model: past turns, then the current message, roles alternating.

    No message is blank: the Messages API refuses empty or whitespace-only text.
    """
    messages: list[dict[str, Any]] = []
    for entry in [*history, HistoryEntry(role="user", content=current)]:
        blank = "(no answer)" if entry.role == "assistant" else "(empty message)"
        text = entry.content if entry.content.strip() else blank
        if messages and messages[-1]["role"] == entry.role:
            messages[-1]["content"] += "\n\n" + text
        elif messages or entry.role == "user":
            messages.append({"role": entry.role, "content": text})
    return messages


WORK_SO_FAR = "Work already done on this message (agents in order: {agents})."
"""The first line of the block an agent after the first hop of a turn reads before the
person's message; sandbox/model/scenario.py reads the agent names from it (which pass of an
agent a request is)."""
HOP_SUMMARY_MAX = 2000
"""Characters of one earlier hop's answer in that block (its head; the rest is cut)."""


def with_work_so_far(messages: list[dict[str, Any]], hops: list[Hop]) -> list[dict[str, Any]]:
    """`messages` (from `conversation`) with the turn's earlier hops before the person's
    current message: each agent's name and answer, in order. Without it an agent routed to
    twice in one turn would start its second pass as if nothing had happened (and repeat the
    first), and the next agent would know only what the shared state holds. The current
    message becomes two text blocks, the work first and the person's text last.
    """
    if not hops or not messages:
        return messages
    lines = [WORK_SO_FAR.format(agents=", ".join(hop.agent for hop in hops))]
    for hop in hops:
        summary = hop.summary.strip() or "(no answer)"
        if len(summary) > HOP_SUMMARY_MAX:
            summary = summary[:HOP_SUMMARY_MAX].rstrip() + " …(cut)"
        lines.append(f"## {hop.agent}\n{summary}")
    current = messages[-1]
    text = current["content"] if isinstance(current["content"], str) else ""
    blocks = [{"type": "text", "text": "\n\n".join(lines)}, {"type": "text", "text": text}]
    return [*messages[:-1], {**current, "content": blocks}]


def history_tail(history: list[HistoryEntry], count: int = 6) -> list[str]:
    """The last few messages as short lines, for the router's context."""
    return [f"{entry.role}: {entry.content[:300]}" for entry in history[-count:]]
