"""妊娠・授乳 on the patient profile: a versioned item (status, since, expected delivery date, ended).

Revision ID: safety_0001
Revises: onshi_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "safety_0001"
down_revision = "onshi_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "patient_pregnancy",
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("lineage_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by_name", sa.String(length=100), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retracted", sa.Boolean(), nullable=False),
        sa.Column("change_reason", sa.String(length=200), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f("fk_patient_pregnancy_clinic_id_clinic")),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_patient_pregnancy_patient_id_patient")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["staff_user.id"],
                                name=op.f("fk_patient_pregnancy_recorded_by_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_pregnancy")),
    )
    with op.batch_alter_table("patient_pregnancy", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patient_pregnancy_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index("ix_patient_pregnancy_current", ["clinic_id", "patient_id", "superseded_at"],
                              unique=False)
        batch_op.create_index("ix_patient_pregnancy_lineage", ["lineage_id"], unique=False)


def downgrade() -> None:
    """Revert."""
    op.drop_table("patient_pregnancy")
