"""Full tool outputs, kept when a result is truncated so the model can page through them.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table of full outputs."""
    op.create_table(
        "opsbot_tool_outputs",
        sa.Column("output_id", sa.String(128), primary_key=True),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_table("opsbot_tool_outputs")
