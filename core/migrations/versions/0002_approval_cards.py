"""Where each approval's card lives in Slack, so it can be updated and linked.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the card's channel and message ts to approvals."""
    with op.batch_alter_table("opsbot_approvals") as batch:
        batch.add_column(sa.Column("card_channel", sa.String(64), nullable=True))
        batch.add_column(sa.Column("card_ts", sa.String(64), nullable=True))


def downgrade() -> None:
    """Remove the card columns."""
    with op.batch_alter_table("opsbot_approvals") as batch:
        batch.drop_column("card_ts")
        batch.drop_column("card_channel")
