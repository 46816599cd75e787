"""Full-chart mode: schema drawings (シェーマ, versioned vector strokes with their rendered PNG) and the search text of
every note version (pg_trgm GIN index on PostgreSQL, an FTS5 trigram table on SQLite), filled for the notes that
exist.

Revision ID: chartb_0001
Revises: billing_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.notes.search_text import note_search_body

revision = "chartb_0001"
down_revision = "billing_0001"
branch_labels = None
depends_on = None

BATCH = 2000


def _versioned_columns(table: str) -> list:
    return [
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
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f(f"fk_{table}_clinic_id_clinic")),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f(f"fk_{table}_patient_id_patient")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["staff_user.id"],
                                name=op.f(f"fk_{table}_recorded_by_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def _fill_search_entries() -> None:
    """Index the note versions written before this revision, a batch at a time."""
    bind = op.get_bind()
    note = sa.table("progress_note", *(sa.column(n) for n in (
        "id", "clinic_id", "patient_id", "note_date", "subjective", "objective", "assessment", "plan")))
    entry = sa.table("note_search_entry", *(sa.column(n) for n in (
        "note_id", "clinic_id", "patient_id", "note_date", "body")))
    last = 0
    while True:
        rows = bind.execute(sa.select(note).where(note.c.id > last).order_by(note.c.id).limit(BATCH)).all()
        if not rows:
            return
        bind.execute(sa.insert(entry), [
            {"note_id": r.id, "clinic_id": r.clinic_id, "patient_id": r.patient_id, "note_date": r.note_date,
             "body": note_search_body(r.subjective, r.objective, r.assessment, r.plan)} for r in rows])
        last = rows[-1].id


def upgrade() -> None:
    """Create schema_drawing and note_search_entry with its full-text index; index the notes that exist."""
    op.create_table(
        "schema_drawing",
        sa.Column("note_date", sa.Date(), nullable=False),
        sa.Column("base", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("strokes", sa.JSON(), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("png", sa.LargeBinary(), nullable=False),
        *_versioned_columns("schema_drawing"),
    )
    with op.batch_alter_table("schema_drawing", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_schema_drawing_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index("ix_schema_drawing_current", ["clinic_id", "patient_id", "superseded_at"], unique=False)
        batch_op.create_index("ix_schema_drawing_lineage", ["lineage_id"], unique=False)
    op.create_table(
        "note_search_entry",
        sa.Column("note_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("note_date", sa.Date(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f("fk_note_search_entry_clinic_id_clinic")),
        sa.ForeignKeyConstraint(["note_id"], ["progress_note.id"],
                                name=op.f("fk_note_search_entry_note_id_progress_note")),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_note_search_entry_patient_id_patient")),
        sa.PrimaryKeyConstraint("note_id", name=op.f("pk_note_search_entry")),
    )
    with op.batch_alter_table("note_search_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_note_search_entry_clinic_id"), ["clinic_id"], unique=False)
        # Both indexes end in the order results are paged by, so a page stops after its rows.
        batch_op.create_index("ix_note_search_entry_patient", ["clinic_id", "patient_id", "note_date", "note_id"],
                              unique=False)
        batch_op.create_index("ix_note_search_entry_clinic_date", ["clinic_id", "note_date", "note_id"],
                                unique=False)
    # The timeline pages a patient's notes by day.
    op.create_index("ix_progress_note_patient_day", "progress_note", ["clinic_id", "patient_id", "note_date"])
    if op.get_bind().dialect.name == "postgresql":
        available = op.get_bind().scalar(sa.text("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'"))
        if not available:
            raise RuntimeError("PostgreSQL's pg_trgm extension is not installed on this server (Debian: the "
                               "postgresql-contrib files of the server's version); install it, then upgrade again")
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_note_search_entry_body_trgm ON note_search_entry USING gin (body gin_trgm_ops)")
    else:
        op.execute("CREATE VIRTUAL TABLE note_search_fts USING fts5(body, content='note_search_entry', "
                   "content_rowid='note_id', tokenize='trigram')")
        op.execute("CREATE TRIGGER note_search_entry_ai AFTER INSERT ON note_search_entry BEGIN "
                   "INSERT INTO note_search_fts(rowid, body) VALUES (new.note_id, new.body); END")
        op.execute("CREATE TRIGGER note_search_entry_ad AFTER DELETE ON note_search_entry BEGIN "
                   "INSERT INTO note_search_fts(note_search_fts, rowid, body) VALUES ('delete', old.note_id, old.body);"
                   " END")
    _fill_search_entries()


def downgrade() -> None:
    """Drop the search text, its index and the schema drawings (pg_trgm stays: other databases may use it)."""
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TRIGGER IF EXISTS note_search_entry_ad")
        op.execute("DROP TRIGGER IF EXISTS note_search_entry_ai")
        op.execute("DROP TABLE IF EXISTS note_search_fts")
    op.drop_index("ix_progress_note_patient_day", table_name="progress_note")
    op.drop_table("note_search_entry")
    op.drop_table("schema_drawing")
