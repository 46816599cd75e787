"""Key images attached to referral letters (their ids; the letter prints the stored copies).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("referral_letter", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_image_ids", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("referral_letter", schema=None) as batch_op:
        batch_op.drop_column("key_image_ids")
