"""Full-chart mode: a progress note belongs to a visit (受付) with its department, doctor and insurance, or names
its own for a note without a reception; server-side drafts; 診療録テンプレート and 定型文.

Existing notes (one per patient and day) are tied to that day's first visit of the patient that was not cancelled,
taking its department, doctor and insurance; a note of a day without a visit becomes a note without a reception.

Revision ID: charta_0001
Revises: docs3_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "charta_0001"
down_revision = "docs3_0001"
branch_labels = None
depends_on = None


def _tie_existing_notes() -> None:
    """Every existing note version takes the day's first visit of its patient (or becomes a note without one)."""
    note = sa.table("progress_note", sa.column("id", sa.Integer), sa.column("clinic_id", sa.Integer),
                    sa.column("patient_id", sa.Integer), sa.column("note_date", sa.Date),
                    sa.column("visit_id", sa.Integer), sa.column("encounter_kind", sa.String),
                    sa.column("department_name", sa.String), sa.column("doctor_name", sa.String),
                    sa.column("insurance_summary", sa.String))
    visit = sa.table("visit", sa.column("id", sa.Integer), sa.column("clinic_id", sa.Integer),
                     sa.column("patient_id", sa.Integer), sa.column("visit_date", sa.Date),
                     sa.column("status", sa.String), sa.column("accepted_at", sa.DateTime),
                     sa.column("department_name", sa.String), sa.column("physician_name", sa.String),
                     sa.column("insurance_summary", sa.String))
    first = (sa.select(visit.c.id).where(visit.c.clinic_id == note.c.clinic_id,
                                         visit.c.patient_id == note.c.patient_id,
                                         visit.c.visit_date == note.c.note_date, visit.c.status != "cancelled")
             .order_by(visit.c.accepted_at, visit.c.id).limit(1).scalar_subquery())
    bind = op.get_bind()
    bind.execute(sa.update(note).values(visit_id=first))
    of_visit = {name: sa.select(getattr(visit.c, source)).where(visit.c.id == note.c.visit_id).scalar_subquery()
                for name, source in (("department_name", "department_name"), ("doctor_name", "physician_name"),
                                     ("insurance_summary", "insurance_summary"))}
    bind.execute(sa.update(note).where(note.c.visit_id.is_not(None)).values(**of_visit))
    bind.execute(sa.update(note).where(note.c.visit_id.is_(None)).values(encounter_kind="other"))


def upgrade() -> None:
    """Add the visit columns to progress_note (filled for the existing notes); create note_draft, note_template
    and note_phrase."""
    with op.batch_alter_table("progress_note", schema=None) as batch_op:
        batch_op.add_column(sa.Column("visit_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("encounter_kind", sa.String(length=16), nullable=False, server_default="visit"))
        batch_op.add_column(sa.Column("department_name", sa.String(length=40), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("doctor_name", sa.String(length=60), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("insurance_summary", sa.String(length=120), nullable=False,
                                      server_default=""))
        batch_op.create_foreign_key(batch_op.f("fk_progress_note_visit_id_visit"), "visit", ["visit_id"], ["id"])
        batch_op.create_index("ix_progress_note_visit", ["visit_id"], unique=False)
    _tie_existing_notes()
    op.create_table(
        "note_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("author_name", sa.String(length=100), nullable=False),
        sa.Column("lineage_id", sa.Integer(), nullable=True),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("note_date", sa.Date(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("encounter_kind", sa.String(length=16), nullable=False),
        sa.Column("department_name", sa.String(length=40), nullable=False),
        sa.Column("doctor_name", sa.String(length=60), nullable=False),
        sa.Column("insurance_summary", sa.String(length=120), nullable=False),
        sa.Column("subjective", sa.Text(), nullable=False),
        sa.Column("objective", sa.Text(), nullable=False),
        sa.Column("assessment", sa.Text(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("key_image_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f("fk_note_draft_clinic_id_clinic")),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_note_draft_patient_id_patient")),
        sa.ForeignKeyConstraint(["author_id"], ["staff_user.id"], name=op.f("fk_note_draft_author_id_staff_user")),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"], name=op.f("fk_note_draft_visit_id_visit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_note_draft")),
    )
    op.create_index(op.f("ix_note_draft_clinic_id"), "note_draft", ["clinic_id"], unique=False)
    op.create_index("ix_note_draft_patient", "note_draft", ["clinic_id", "patient_id"], unique=False)
    op.create_table(
        "note_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lineage_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("department_name", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=60), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_name", sa.String(length=100), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retracted", sa.Boolean(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f("fk_note_template_clinic_id_clinic")),
        sa.ForeignKeyConstraint(["owner_id"], ["staff_user.id"], name=op.f("fk_note_template_owner_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_note_template")),
    )
    op.create_index(op.f("ix_note_template_clinic_id"), "note_template", ["clinic_id"], unique=False)
    op.create_index("ix_note_template_current", "note_template", ["clinic_id", "superseded_at"], unique=False)
    op.create_table(
        "note_phrase",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=60), nullable=False),
        sa.Column("kana", sa.String(length=120), nullable=False),
        sa.Column("kana_key", sa.String(length=120), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("part", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f("fk_note_phrase_clinic_id_clinic")),
        sa.ForeignKeyConstraint(["owner_id"], ["staff_user.id"], name=op.f("fk_note_phrase_owner_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_note_phrase")),
    )
    op.create_index(op.f("ix_note_phrase_clinic_id"), "note_phrase", ["clinic_id"], unique=False)
    op.create_index("ix_note_phrase_clinic", "note_phrase", ["clinic_id", "owner_id"], unique=False)


def downgrade() -> None:
    """Drop the drafts, templates and phrases and the visit columns (notes stay one lineage each)."""
    op.drop_table("note_phrase")
    op.drop_table("note_template")
    op.drop_table("note_draft")
    with op.batch_alter_table("progress_note", schema=None) as batch_op:
        batch_op.drop_index("ix_progress_note_visit")
        batch_op.drop_constraint(batch_op.f("fk_progress_note_visit_id_visit"), type_="foreignkey")
        for column in ("insurance_summary", "doctor_name", "department_name", "encounter_kind", "visit_id"):
            batch_op.drop_column(column)
