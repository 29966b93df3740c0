"""Runs: the requester's own team, which a channel stream to them names (Slack Connect).

chat.startStream's `recipient_team_id` is "the ID of the team that is associated with
recipient_user_id" (docs.slack.dev/reference/methods/chat.startStream): for a partner
organisation's user that is their team, not the installation's. Runs recorded before this
revision have none; their renderer falls back to the installation's team.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the requester's team to each run (nullable)."""
    with op.batch_alter_table("opsbot_runs") as batch:
        batch.add_column(sa.Column("requester_team", sa.String(64), nullable=True))


def downgrade() -> None:
    """Drop it."""
    with op.batch_alter_table("opsbot_runs") as batch:
        batch.drop_column("requester_team")
