"""Referral letters in the 様式11 layout: the letter's 治療経過 and honorific, and a per-clinic 紹介先 address book
the letter can be filled from.

Revision ID: letters_0002
Revises: letters_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "letters_0002"
down_revision = "letters_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add referral_destination, and the letter's treatment, honorific and destination."""
    op.create_table(
        "referral_destination",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution", sa.String(length=200), nullable=False),
        sa.Column("institution_code", sa.String(length=10), nullable=False),
        sa.Column("department", sa.String(length=100), nullable=False),
        sa.Column("doctor", sa.String(length=100), nullable=False),
        sa.Column("postal_code", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=30), nullable=False),
        sa.Column("fax", sa.String(length=30), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name=op.f("fk_referral_destination_clinic_id_clinic")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_destination")),
    )
    with op.batch_alter_table("referral_destination", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referral_destination_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index("ix_referral_destination_clinic", ["clinic_id", "institution", "id"], unique=False)
    with op.batch_alter_table("referral_letter", schema=None) as batch_op:
        batch_op.add_column(sa.Column("treatment", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("honorific", sa.String(length=8), nullable=False, server_default="先生"))
        batch_op.add_column(sa.Column("destination_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_referral_letter_destination_id_referral_destination"),
                                    "referral_destination", ["destination_id"], ["id"])


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("referral_letter", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_referral_letter_destination_id_referral_destination"),
                                 type_="foreignkey")
        batch_op.drop_column("destination_id")
        batch_op.drop_column("honorific")
        batch_op.drop_column("treatment")
    op.drop_table("referral_destination")
