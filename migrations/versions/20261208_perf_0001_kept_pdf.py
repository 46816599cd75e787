"""Rendered PDFs kept once per version of their content (app.core.kept_pdf): an unchanged issued prescription
or letter is served from the stored bytes instead of being drawn again.

Revision ID: perf_0001
Revises: tablet_onshi_0001
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "perf_0001"
down_revision = "tablet_onshi_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kept_pdf",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f("fk_kept_pdf_clinic_id_clinic")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kept_pdf")),
    )
    op.create_index(op.f("ix_kept_pdf_clinic_id"), "kept_pdf", ["clinic_id"], unique=False)
    op.create_index("ix_kept_pdf_document", "kept_pdf", ["clinic_id", "document"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_kept_pdf_document", table_name="kept_pdf")
    op.drop_index(op.f("ix_kept_pdf_clinic_id"), table_name="kept_pdf")
    op.drop_table("kept_pdf")
