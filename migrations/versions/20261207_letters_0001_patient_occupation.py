"""Patients keep their 職業 (Occupation) from ORCA's patientgetv2, for referral letters (様式11).

Revision ID: letters_0001
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "letters_0001"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add patient.occupation."""
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(sa.Column("occupation", sa.String(length=100), nullable=False, server_default=""))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_column("occupation")
