"""Initial schema: threads, messages, thread state, runs, model calls, tool calls, approvals.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create every table of the first schema."""
    op.create_table(
        "opsbot_threads",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("thread_ts", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("total_tokens", sa.Integer, nullable=False),
        sa.Column("total_cost_usd", sa.Float, nullable=False),
    )
    op.create_table(
        "opsbot_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("thread_id", sa.String(200), sa.ForeignKey("opsbot_threads.id"), nullable=False),
        sa.Column("run_id", sa.String(200), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("agent", sa.String(64)),
        sa.Column("author", sa.String(64)),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("thread_id", "seq", name="uq_opsbot_messages_seq"),
    )
    op.create_index("ix_opsbot_messages_thread_id", "opsbot_messages", ["thread_id"])
    op.create_index("ix_opsbot_messages_run_id", "opsbot_messages", ["run_id"])
    op.create_table(
        "opsbot_thread_state",
        sa.Column(
            "thread_id", sa.String(200), sa.ForeignKey("opsbot_threads.id"), primary_key=True
        ),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.JSON),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "opsbot_runs",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("thread_id", sa.String(200), sa.ForeignKey("opsbot_threads.id"), nullable=False),
        sa.Column("message_ts", sa.String(64), nullable=False),
        sa.Column("requester", sa.String(64)),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("agents", sa.JSON, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float),
        sa.Column("input_tokens", sa.Integer, nullable=False),
        sa.Column("output_tokens", sa.Integer, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
        sa.Column("llm_calls", sa.Integer, nullable=False),
        sa.Column("tool_calls", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(32)),
        sa.Column("limit_reason", sa.Text),
        sa.Column("answer", sa.Text),
    )
    op.create_index("ix_opsbot_runs_thread_id", "opsbot_runs", ["thread_id"])
    op.create_index("ix_opsbot_runs_status", "opsbot_runs", ["status"])
    op.create_table(
        "opsbot_llm_calls",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(200), nullable=False),
        sa.Column("step_id", sa.Integer, nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("input_tokens", sa.Integer, nullable=False),
        sa.Column("output_tokens", sa.Integer, nullable=False),
        sa.Column("cache_read_tokens", sa.Integer, nullable=False),
        sa.Column("cache_write_tokens", sa.Integer, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
        sa.Column("stop_reason", sa.String(32)),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("run_id", "step_id", name="uq_opsbot_llm_calls_step"),
    )
    op.create_index("ix_opsbot_llm_calls_run_id", "opsbot_llm_calls", ["run_id"])
    op.create_table(
        "opsbot_tool_calls",
        sa.Column("run_id", sa.String(200), primary_key=True),
        sa.Column("tool_use_id", sa.String(128), primary_key=True),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("args", sa.JSON),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("risk", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("result", sa.JSON),
        sa.Column("started_at", sa.Float),
        sa.Column("finished_at", sa.Float),
    )
    op.create_table(
        "opsbot_approvals",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.String(200), nullable=False),
        sa.Column("thread_id", sa.String(200), nullable=False),
        sa.Column("tool_use_id", sa.String(128), nullable=False),
        sa.Column("tool_name", sa.String(64), nullable=False),
        sa.Column("args", sa.JSON),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("risk", sa.String(16), nullable=False),
        sa.Column("preview", sa.Text, nullable=False),
        sa.Column("requester", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("decided_at", sa.Float),
        sa.Column("decision_reason", sa.Text),
        sa.Column("delivered", sa.Boolean, nullable=False),
    )
    op.create_index("ix_opsbot_approvals_run_id", "opsbot_approvals", ["run_id"])
    op.create_index("ix_opsbot_approvals_thread_id", "opsbot_approvals", ["thread_id"])
    op.create_index("ix_opsbot_approvals_status", "opsbot_approvals", ["status"])


def downgrade() -> None:
    """Drop every table of the first schema."""
    for table in (
        "opsbot_approvals",
        "opsbot_tool_calls",
        "opsbot_llm_calls",
        "opsbot_runs",
        "opsbot_thread_state",
        "opsbot_messages",
        "opsbot_threads",
    ):
        op.drop_table(table)
