"""Lab tests billed to ORCA: each item's レセ電算 procedure code; an order's billing state (中途データ sent with
medicalmodv2: status, Medical_Uid, warnings, error) and its cancellation (when, why).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("lab_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("receipt_code", sa.String(length=9), nullable=False, server_default=""))
    with op.batch_alter_table("lab_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("cancel_reason", sa.String(length=200), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("orca_billing_status", sa.String(length=16), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("orca_medical_uid", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("orca_billing_warnings", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("orca_billing_error", sa.String(length=500), nullable=False, server_default=""))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("lab_order", schema=None) as batch_op:
        batch_op.drop_column("orca_billing_error")
        batch_op.drop_column("orca_billing_warnings")
        batch_op.drop_column("orca_medical_uid")
        batch_op.drop_column("orca_billing_status")
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("cancelled_at")
    with op.batch_alter_table("lab_item", schema=None) as batch_op:
        batch_op.drop_column("receipt_code")
