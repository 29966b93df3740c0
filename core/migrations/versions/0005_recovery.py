"""Recovery bookkeeping: runs resumed after a restart, and live Slack messages in flight.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Count resumes per run; remember streamed messages until they are finished."""
    with op.batch_alter_table("opsbot_runs") as batch:
        batch.add_column(sa.Column("resumed_count", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "opsbot_live_messages",
        sa.Column("channel", sa.String(64), primary_key=True),
        sa.Column("ts", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.String(200), nullable=False),
        sa.Column("streaming", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    """Undo both."""
    op.drop_table("opsbot_live_messages")
    with op.batch_alter_table("opsbot_runs") as batch:
        batch.drop_column("resumed_count")
