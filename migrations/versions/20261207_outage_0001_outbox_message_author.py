"""Who caused each outgoing message (the 送信状況 screen names the staff member) and an index for the screen's
newest-first pages of one clinic.

Revision ID: outage_0001
Revises: safety_0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "outage_0001"
down_revision = "safety_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("created_by_id", sa.Integer(), nullable=True))
    op.create_index("ix_outbox_clinic_newest", "outbox_message", ["clinic_id", "id"])


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_outbox_clinic_newest", table_name="outbox_message")
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("created_by_id")
