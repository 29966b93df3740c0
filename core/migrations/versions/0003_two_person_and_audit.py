"""Two-person approvals and the audit log of every decision and attempt.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the first approver of a two-person approval, and the audit table."""
    with op.batch_alter_table("opsbot_approvals") as batch:
        batch.add_column(sa.Column("first_approved_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("first_approved_at", sa.Float, nullable=True))
    op.create_table(
        "opsbot_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("approval_id", sa.String(64)),
        sa.Column("run_id", sa.String(200)),
        sa.Column("actor", sa.String(64)),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("tool_name", sa.String(64)),
        sa.Column("fingerprint", sa.String(64)),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_opsbot_audit_run_id", "opsbot_audit", ["run_id"])
    op.create_index("ix_opsbot_audit_at", "opsbot_audit", ["at"])


def downgrade() -> None:
    """Remove the audit table and the first-approver columns."""
    op.drop_table("opsbot_audit")
    with op.batch_alter_table("opsbot_approvals") as batch:
        batch.drop_column("first_approved_at")
        batch.drop_column("first_approved_by")
