"""Alertmanager alert groups: each notification is recorded before the webhook answers 200.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create opsbot_alert_groups."""
    op.create_table(
        "opsbot_alert_groups",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("receiver", sa.Text(), nullable=False),
        sa.Column("group_key", sa.Text(), nullable=False),
        sa.Column("episode", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("investigate", sa.Boolean(), nullable=False),
        sa.Column("episode_starts", sa.JSON(), nullable=False),
        sa.Column("channel", sa.String(64), nullable=True),
        sa.Column("thread_ts", sa.String(64), nullable=True),
        sa.Column("card_episode", sa.Integer(), nullable=False),
        sa.Column("run_episode", sa.Integer(), nullable=False),
        sa.Column("notification", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("delivered_version", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_opsbot_alert_groups_updated_at", "opsbot_alert_groups", ["updated_at"])


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_opsbot_alert_groups_updated_at", table_name="opsbot_alert_groups")
    op.drop_table("opsbot_alert_groups")
