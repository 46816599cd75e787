"""ORCA billing state on prescriptions (中途データ sent with medicalmodv2: status, Medical_Uid, warnings, error).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("prescription", schema=None) as batch_op:
        batch_op.add_column(sa.Column("orca_billing_status", sa.String(length=16), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("orca_medical_uid", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("orca_billing_warnings", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("orca_billing_error", sa.String(length=500), nullable=False, server_default=""))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("prescription", schema=None) as batch_op:
        batch_op.drop_column("orca_billing_error")
        batch_op.drop_column("orca_billing_warnings")
        batch_op.drop_column("orca_medical_uid")
        batch_op.drop_column("orca_billing_status")
