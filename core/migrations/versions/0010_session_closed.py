"""When a thread's agent session was set `closed` for being idle.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add opsbot_threads.session_closed_at."""
    with op.batch_alter_table("opsbot_threads") as batch:
        batch.add_column(sa.Column("session_closed_at", sa.Float(), nullable=True))


def downgrade() -> None:
    """Drop it."""
    with op.batch_alter_table("opsbot_threads") as batch:
        batch.drop_column("session_closed_at")
