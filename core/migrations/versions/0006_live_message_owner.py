"""Live Slack messages: which executor streams them, and streams being opened.

A starting worker finishes only its own (or its dead predecessor's) leftovers, never the live
streams of the other workers; a stream Slack opened just before a crash is found by its thread.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the owning executor and the thread of each live message."""
    with op.batch_alter_table("opsbot_live_messages") as batch:
        batch.add_column(sa.Column("executor", sa.String(64), nullable=True))
        batch.add_column(sa.Column("thread_ts", sa.String(64), nullable=True))


def downgrade() -> None:
    """Drop both columns."""
    with op.batch_alter_table("opsbot_live_messages") as batch:
        batch.drop_column("thread_ts")
        batch.drop_column("executor")
