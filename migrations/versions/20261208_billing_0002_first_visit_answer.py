"""ORCA's answer about a patient's 初診算定日 kept per visit (first_visit_answer): the fee list and the visit summary
read it instead of asking ORCA at every render, ask again when the visit changes or the day changes, and show it
with a note when ORCA is down.

Revision ID: billing_0002
Revises: chart2_0001
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "billing_0002"
down_revision = "chart2_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "first_visit_answer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("clinic_id", sa.Integer(), sa.ForeignKey("clinic.id"), nullable=False, index=True),
        sa.Column("patient_id", sa.Integer(), sa.ForeignKey("patient.id"), nullable=False),
        sa.Column("visit_id", sa.Integer(), sa.ForeignKey("visit.id"), nullable=False),
        sa.Column("visit_revision", sa.Integer(), nullable=False),
        sa.Column("orca_patient_id", sa.String(20), nullable=False),
        sa.Column("asked_on", sa.Date(), nullable=False),
        sa.Column("first_calculation_date", sa.Date(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("clinic_id", "visit_id", name="uq_first_visit_answer_visit"),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("first_visit_answer")
