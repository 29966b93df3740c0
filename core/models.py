"""SQLAlchemy models of opsbot's own tables: threads, history, state, runs, calls, approvals.

Times are epoch seconds (float) so SQLite and PostgreSQL store them the same way.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of every opsbot table."""


class ThreadRow(Base):
    """A conversation: one Slack thread (or one terminal session)."""

    __tablename__ = "opsbot_threads"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    team: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(64))
    thread_ts: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    total_tokens: Mapped[int] = mapped_column(Integer, default=0)
    total_cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    session_closed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    """When its Slack agent session was last set `closed` for being idle (None: never)."""


class MessageRow(Base):
    """One entry of a thread's conversation history, in order."""

    __tablename__ = "opsbot_messages"
    __table_args__ = (UniqueConstraint("thread_id", "seq", name="uq_opsbot_messages_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    thread_id: Mapped[str] = mapped_column(ForeignKey("opsbot_threads.id"), index=True)
    run_id: Mapped[str] = mapped_column(String(200), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    agent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    author: Mapped[str | None] = mapped_column(String(64), nullable=True)
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)


class ThreadStateRow(Base):
    """The network state (a key-value store) that survives between turns of a thread."""

    __tablename__ = "opsbot_thread_state"

    thread_id: Mapped[str] = mapped_column(ForeignKey("opsbot_threads.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[float] = mapped_column(Float)


class RunRow(Base):
    """One run: the handling of one incoming message by the durable workflow."""

    __tablename__ = "opsbot_runs"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    thread_id: Mapped[str] = mapped_column(ForeignKey("opsbot_threads.id"), index=True)
    message_ts: Mapped[str] = mapped_column(String(64))
    requester: Mapped[str | None] = mapped_column(String(64), nullable=True)
    requester_team: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The requester's own team (a Slack Connect partner's); None for runs recorded before
    it was kept, whose renderer falls back to the thread's (the installation's) team."""
    status: Mapped[str] = mapped_column(String(32), index=True)
    agents: Mapped[list[str]] = mapped_column(JSON, default=list)
    started_at: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    """The whole prompt of every call (uncached input, cache reads and cache writes)."""
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_read_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Of `input_tokens`, what the prompt cache served (billed at a tenth)."""
    cache_write_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Of `input_tokens`, what was written to the prompt cache (billed at 1.25 times)."""
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    llm_calls: Mapped[int] = mapped_column(Integer, default=0)
    tool_calls: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    limit_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    resumed_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class LlmCallRow(Base):
    """Usage and cost of one model call, keyed by the workflow step that made it."""

    __tablename__ = "opsbot_llm_calls"
    __table_args__ = (UniqueConstraint("run_id", "step_id", name="uq_opsbot_llm_calls_step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(200), index=True)
    step_id: Mapped[int] = mapped_column(Integer)
    agent: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(128))
    input_tokens: Mapped[int] = mapped_column(Integer)
    output_tokens: Mapped[int] = mapped_column(Integer)
    cache_read_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_write_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float)
    stop_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    duration_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)


class ToolCallRow(Base):
    """One tool call the model asked for, with its gate decision and result."""

    __tablename__ = "opsbot_tool_calls"

    run_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    tool_use_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    agent: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    args: Mapped[Any] = mapped_column(JSON, nullable=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    risk: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))
    result: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class ApprovalRow(Base):
    """A request for a human decision on one write/critical tool call with exact arguments."""

    __tablename__ = "opsbot_approvals"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(200), index=True)
    thread_id: Mapped[str] = mapped_column(String(200), index=True)
    tool_use_id: Mapped[str] = mapped_column(String(128))
    tool_name: Mapped[str] = mapped_column(String(64))
    args: Mapped[Any] = mapped_column(JSON, nullable=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    risk: Mapped[str] = mapped_column(String(16))
    preview: Mapped[str] = mapped_column(Text)
    requester: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivered: Mapped[bool] = mapped_column(Boolean, default=False)
    card_channel: Mapped[str | None] = mapped_column(String(64), nullable=True)
    card_ts: Mapped[str | None] = mapped_column(String(64), nullable=True)
    first_approved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    first_approved_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class AuditRow(Base):
    """One decision or attempt on an approval (or a run): who, when, what, outcome."""

    __tablename__ = "opsbot_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    approval_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    actor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    action: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(32))
    tool_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)


class ToolOutputRow(Base):
    """The whole output of a tool call whose result was truncated for the model."""

    __tablename__ = "opsbot_tool_outputs"

    output_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)


class LiveMessageRow(Base):
    """A Slack message the bot is still streaming into; finished after a crash."""

    __tablename__ = "opsbot_live_messages"

    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    ts: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(200))
    streaming: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[float] = mapped_column(Float)
    executor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    thread_ts: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AlertGroupRow(Base):
    """An Alertmanager alert group (receiver + groupKey) and its current firing episode.

    The webhook records each notification here before it answers 200; the alert desk
    delivers what is recorded (card, investigation) and marks it delivered. `version` counts
    notifications that changed what a person sees; `delivered_version` what reached Slack.
    """

    __tablename__ = "opsbot_alert_groups"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    receiver: Mapped[str] = mapped_column(Text)
    group_key: Mapped[str] = mapped_column(Text)
    episode: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))
    investigate: Mapped[bool] = mapped_column(Boolean, default=True)
    """This episode opens its own thread and investigation (False while the group flaps)."""
    episode_starts: Mapped[list[float]] = mapped_column(JSON, default=list)
    channel: Mapped[str | None] = mapped_column(String(64), nullable=True)
    thread_ts: Mapped[str | None] = mapped_column(String(64), nullable=True)
    card_episode: Mapped[int] = mapped_column(Integer, default=0)
    """The episode whose card `thread_ts` is (an intent marker before it is posted: -episode)."""
    run_episode: Mapped[int] = mapped_column(Integer, default=0)
    """The latest episode whose investigation was enqueued."""
    notification: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    delivered_version: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float, index=True)


class FeedbackRow(Base):
    """One person's vote on a run's answer (👍 "up" / 👎 "down", with an optional comment).

    One row per run and voter: a second vote by the same person replaces the first.
    """

    __tablename__ = "opsbot_feedback"

    run_id: Mapped[str] = mapped_column(ForeignKey("opsbot_runs.id"), primary_key=True)
    voter: Mapped[str] = mapped_column(String(64), primary_key=True)
    vote: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
