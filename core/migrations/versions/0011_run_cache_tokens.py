"""A run's prompt-cache reads and writes (tokens), beside its input tokens.

`input_tokens` of a run is its whole prompt (uncached input, cache reads and cache writes, as
before caching, when all of it was uncached); these two say how much of it the cache served
and how much was written to it.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add opsbot_runs.cache_read_tokens and cache_write_tokens (0 for earlier runs)."""
    with op.batch_alter_table("opsbot_runs") as batch:
        batch.add_column(sa.Column("cache_read_tokens", sa.Integer(), nullable=False,
                                   server_default="0"))  # fmt: skip
        batch.add_column(sa.Column("cache_write_tokens", sa.Integer(), nullable=False,
                                   server_default="0"))  # fmt: skip


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("opsbot_runs") as batch:
        batch.drop_column("cache_write_tokens")
        batch.drop_column("cache_read_tokens")
