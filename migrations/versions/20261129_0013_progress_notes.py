"""Full-chart mode: progress notes (the day's SOAP note, versioned, with attached key images).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create progress_note."""
    op.create_table(
        "progress_note",
        sa.Column("note_date", sa.Date(), nullable=False),
        sa.Column("subjective", sa.Text(), nullable=False),
        sa.Column("objective", sa.Text(), nullable=False),
        sa.Column("assessment", sa.Text(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("key_image_ids", sa.JSON(), nullable=False),
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
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f("fk_progress_note_clinic_id_clinic")),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_progress_note_patient_id_patient")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["staff_user.id"],
                                name=op.f("fk_progress_note_recorded_by_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_note")),
    )
    with op.batch_alter_table("progress_note", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_progress_note_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index("ix_progress_note_current", ["clinic_id", "patient_id", "superseded_at"], unique=False)
        batch_op.create_index("ix_progress_note_lineage", ["lineage_id"], unique=False)


def downgrade() -> None:
    """Drop progress_note."""
    op.drop_table("progress_note")
