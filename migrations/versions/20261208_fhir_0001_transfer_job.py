"""Export and import jobs of a clinic's whole record (FHIR bulk data).

Revision ID: fhir_0001
Revises: chart_0001
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "fhir_0001"
down_revision = "chart_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "transfer_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("folder", sa.String(length=200), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f("fk_transfer_job_clinic_id_clinic")),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_transfer_job_patient_id_patient")),
        sa.ForeignKeyConstraint(["created_by_id"], ["staff_user.id"],
                                name=op.f("fk_transfer_job_created_by_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_job")),
    )
    with op.batch_alter_table("transfer_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transfer_job_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index("ix_transfer_job_state", ["state", "id"], unique=False)
        batch_op.create_index("ix_transfer_job_clinic_newest", ["clinic_id", "id"], unique=False)


def downgrade() -> None:
    """Revert."""
    op.drop_table("transfer_job")
