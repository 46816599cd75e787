"""imaging: key images (PACS image references with their rendered bytes and SHA-256, versioned).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create key_image."""
    op.create_table(
        "key_image",
        sa.Column("study_uid", sa.String(length=64), nullable=False),
        sa.Column("series_uid", sa.String(length=64), nullable=False),
        sa.Column("instance_uid", sa.String(length=64), nullable=False),
        sa.Column("frame", sa.Integer(), nullable=False),
        sa.Column("window_center", sa.Float(), nullable=True),
        sa.Column("window_width", sa.Float(), nullable=True),
        sa.Column("study_date", sa.Date(), nullable=True),
        sa.Column("modality", sa.String(length=16), nullable=False),
        sa.Column("study_description", sa.String(length=200), nullable=False),
        sa.Column("caption", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("image_bytes", sa.LargeBinary(), nullable=False),
        sa.Column("image_sha256", sa.String(length=64), nullable=False),
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
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f("fk_key_image_clinic_id_clinic")),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_key_image_patient_id_patient")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["staff_user.id"],
                                name=op.f("fk_key_image_recorded_by_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_image")),
    )
    with op.batch_alter_table("key_image", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_key_image_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index("ix_key_image_current", ["clinic_id", "patient_id", "superseded_at"], unique=False)
        batch_op.create_index("ix_key_image_lineage", ["lineage_id"], unique=False)


def downgrade() -> None:
    """Drop key_image."""
    with op.batch_alter_table("key_image", schema=None) as batch_op:
        batch_op.drop_index("ix_key_image_lineage")
        batch_op.drop_index("ix_key_image_current")
        batch_op.drop_index(batch_op.f("ix_key_image_clinic_id"))
    op.drop_table("key_image")
