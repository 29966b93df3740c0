"""What a case's run did, read back from opsbot's tables and the Slack thread."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from core.db import sqlalchemy_url
from core.models import ApprovalRow, RunRow, ToolCallRow
from evals.pull_requests import PullRequestsSeen


@dataclass(frozen=True)
class ToolCallSeen:
    """One real tool call: its name, how it ended, and its argument fingerprint."""

    agent: str
    name: str
    status: str
    fingerprint: str
    args: Any = None


@dataclass
class TurnSeen:
    """One user message's run as the database and the thread show it."""

    run_id: str
    say: str
    answer: str = ""  # the run's answer, as recorded with the run
    shown: str = ""  # everything the bot posted in the thread for this turn, as Slack shows it
    agents: list[str] = field(default_factory=list)
    outcome: str | None = None
    limit: str | None = None
    tool_calls: list[ToolCallSeen] = field(default_factory=list)
    approvals: list[tuple[str, str]] = field(default_factory=list)  # (tool, final status)
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    timed_out: bool = False

    @property
    def tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    @property
    def repeated_calls(self) -> int:
        """Calls that repeat an earlier call of the same agent with identical arguments.

        One agent re-reading what another read is not a loop; the same agent asking again is.
        """
        keys = [f"{c.agent}:{c.name}:{c.fingerprint}" for c in self.tool_calls]
        return len(keys) - len(set(keys))


@dataclass
class CaseSeen:
    """Everything observed for one case run."""

    turns: list[TurnSeen] = field(default_factory=list)
    files: dict[str, str | None] = field(default_factory=dict)  # path -> text, None if gone
    changed: dict[str, bool] = field(default_factory=dict)  # path -> differs from the fixture
    check_exit: int | None = None
    check_output: str = ""
    error: str | None = None
    pull_requests: PullRequestsSeen | None = None
    """In pull-request mode: what the forge and the remote hold (evals/pull_requests.py)."""


class RunTables:
    """Reads opsbot's run, tool-call and approval rows of one database."""

    def __init__(self, database_url: str) -> None:
        self._engine: Engine = create_engine(sqlalchemy_url(database_url))

    def close(self) -> None:
        """Release the connection pool."""
        self._engine.dispose()

    def finished(self, run_id: str) -> bool:
        """Whether the run has ended."""
        with self._engine.connect() as connection:
            row = connection.execute(select(RunRow.finished_at).where(RunRow.id == run_id)).first()
        return row is not None and row[0] is not None

    def pending_cards(self, run_id: str) -> list[tuple[str, str, str]]:
        """(approval id, tool name, card ts) of the run's approvals still waiting on a card."""
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(ApprovalRow.id, ApprovalRow.tool_name, ApprovalRow.card_ts).where(
                    ApprovalRow.run_id == run_id, ApprovalRow.status == "pending"
                )
            ).all()
        return [(r[0], r[1], r[2]) for r in rows if r[2]]

    def fill(self, turn: TurnSeen) -> None:
        """Copy the run's outcome, agents, usage, tool calls and approvals into `turn`."""
        with Session(self._engine) as session:
            run = session.get(RunRow, turn.run_id)
            calls = session.execute(
                select(ToolCallRow.agent, ToolCallRow.name, ToolCallRow.status,
                       ToolCallRow.fingerprint, ToolCallRow.args)
                .where(ToolCallRow.run_id == turn.run_id)
                .order_by(ToolCallRow.started_at)
            ).all()  # fmt: skip
            approvals = session.execute(
                select(ApprovalRow.tool_name, ApprovalRow.status)
                .where(ApprovalRow.run_id == turn.run_id)
                .order_by(ApprovalRow.created_at)
            ).all()
        if run is not None:
            turn.agents, turn.outcome, turn.limit = list(run.agents), run.outcome, run.limit_reason
            turn.answer = run.answer or ""
            turn.llm_calls, turn.cost_usd = run.llm_calls, run.cost_usd
            turn.input_tokens, turn.output_tokens = run.input_tokens, run.output_tokens
        turn.tool_calls = [ToolCallSeen(*call) for call in calls]
        turn.approvals = [(a[0], a[1]) for a in approvals]
