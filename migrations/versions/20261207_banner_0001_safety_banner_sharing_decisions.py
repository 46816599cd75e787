"""The safety banner and the 6 information of other institutions: the copy of their entries the last fetch
found (sharing_national_entry), a doctor's adoption or dismissal of one (sharing_entry_decision), and our
records kept from the service, 共有しない (sharing_withholding).

Revision ID: banner_0001
Revises: letters_0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.db

revision = "banner_0001"
down_revision = "letters_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the three tables."""
    op.create_table("sharing_entry_decision",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("patient_id", sa.Integer(), nullable=False),
    sa.Column("entry_key", sa.String(length=200), nullable=False),
    sa.Column("kind", sa.String(length=20), nullable=False),
    sa.Column("title", sa.String(length=300), nullable=False),
    sa.Column("institution_code", sa.String(length=10), nullable=False),
    sa.Column("institution_name", sa.String(length=100), nullable=False),
    sa.Column("entry_day", sa.String(length=10), nullable=False),
    sa.Column("decision", sa.String(length=12), nullable=False),
    sa.Column("reason", sa.String(length=200), nullable=False),
    sa.Column("subject_type", sa.String(length=40), nullable=True),
    sa.Column("subject_id", sa.Integer(), nullable=True),
    sa.Column("decided_at", app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column("decided_by_id", sa.Integer(), nullable=True),
    sa.Column("decided_by_name", sa.String(length=100), nullable=False),
    sa.Column("clinic_id", sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f("fk_sharing_entry_decision_clinic_id_clinic")),
    sa.ForeignKeyConstraint(["decided_by_id"], ["staff_user.id"], name=op.f("fk_sharing_entry_decision_decided_by_id_staff_user")),
    sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_sharing_entry_decision_patient_id_patient")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_entry_decision")),
    sa.UniqueConstraint("clinic_id", "patient_id", "entry_key", name="uq_sharing_entry_decision")
    )
    with op.batch_alter_table("sharing_entry_decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sharing_entry_decision_clinic_id"), ["clinic_id"], unique=False)

    op.create_table("sharing_national_entry",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("patient_id", sa.Integer(), nullable=False),
    sa.Column("kind", sa.String(length=20), nullable=False),
    sa.Column("entry_key", sa.String(length=200), nullable=False),
    sa.Column("title", sa.String(length=300), nullable=False),
    sa.Column("detail", sa.Text(), nullable=False),
    sa.Column("day", sa.String(length=10), nullable=False),
    sa.Column("institution_code", sa.String(length=10), nullable=False),
    sa.Column("institution_name", sa.String(length=100), nullable=False),
    sa.Column("codes", sa.JSON(), nullable=False),
    sa.Column("fetched_at", app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column("clinic_id", sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f("fk_sharing_national_entry_clinic_id_clinic")),
    sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_sharing_national_entry_patient_id_patient")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_national_entry")),
    sa.UniqueConstraint("clinic_id", "patient_id", "entry_key", name="uq_sharing_national_entry")
    )
    with op.batch_alter_table("sharing_national_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sharing_national_entry_clinic_id"), ["clinic_id"], unique=False)

    op.create_table("sharing_withholding",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("patient_id", sa.Integer(), nullable=False),
    sa.Column("subject_type", sa.String(length=40), nullable=False),
    sa.Column("lineage_id", sa.Integer(), nullable=False),
    sa.Column("reason", sa.String(length=200), nullable=False),
    sa.Column("recorded_at", app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column("recorded_by_id", sa.Integer(), nullable=True),
    sa.Column("recorded_by_name", sa.String(length=100), nullable=False),
    sa.Column("clinic_id", sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f("fk_sharing_withholding_clinic_id_clinic")),
    sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_sharing_withholding_patient_id_patient")),
    sa.ForeignKeyConstraint(["recorded_by_id"], ["staff_user.id"], name=op.f("fk_sharing_withholding_recorded_by_id_staff_user")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_withholding")),
    sa.UniqueConstraint("clinic_id", "subject_type", "lineage_id", name="uq_sharing_withholding")
    )
    with op.batch_alter_table("sharing_withholding", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sharing_withholding_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index("ix_sharing_withholding_patient", ["clinic_id", "patient_id"], unique=False)



def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("sharing_withholding", schema=None) as batch_op:
        batch_op.drop_index("ix_sharing_withholding_patient")
        batch_op.drop_index(batch_op.f("ix_sharing_withholding_clinic_id"))

    op.drop_table("sharing_withholding")
    with op.batch_alter_table("sharing_national_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sharing_national_entry_clinic_id"))

    op.drop_table("sharing_national_entry")
    with op.batch_alter_table("sharing_entry_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sharing_entry_decision_clinic_id"))

    op.drop_table("sharing_entry_decision")
