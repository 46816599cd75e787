"""The 医科診療行為マスター with its editions, the 指導料・管理料 chosen per visit, and a visit's own 中途データ.

Revision ID: billing_0001
Revises: charta_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "billing_0001"
down_revision = "charta_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "procedure",
        sa.Column("code", sa.String(9), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kana", sa.String(200), nullable=False),
        sa.Column("name_key", sa.String(200), nullable=False),
        sa.Column("kana_key", sa.String(200), nullable=False),
        sa.Column("points_kind", sa.String(1), nullable=False),
        sa.Column("points", sa.Numeric(10, 2), nullable=False),
        sa.Column("chapter", sa.String(1), nullable=False),
        sa.Column("section_no", sa.String(3), nullable=False),
        sa.Column("basic_name", sa.String(200), nullable=False),
        sa.Column("changed_on", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("master_version", sa.String(60), nullable=False),
    )
    op.create_index("ix_procedure_kana_key", "procedure", ["kana_key"],
                    postgresql_ops={"kana_key": "varchar_pattern_ops"})
    op.create_index("ix_procedure_name_key", "procedure", ["name_key"],
                    postgresql_ops={"name_key": "varchar_pattern_ops"})
    op.create_table(
        "procedure_master_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.String(60), nullable=False),
        sa.Column("source_name", sa.String(200), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "visit_fee",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("clinic_id", sa.Integer(), sa.ForeignKey("clinic.id"), nullable=False, index=True),
        sa.Column("visit_id", sa.Integer(), sa.ForeignKey("visit.id"), nullable=False, index=True),
        sa.Column("patient_id", sa.Integer(), sa.ForeignKey("patient.id"), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("code", sa.String(9), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("group", sa.String(40), nullable=False),
        sa.Column("chosen_by_id", sa.Integer(), sa.ForeignKey("staff_user.id"), nullable=True),
        sa.Column("chosen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_visit_fee_patient_month", "visit_fee", ["clinic_id", "patient_id", "visit_date"])
    op.create_table(
        "visit_bill",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("clinic_id", sa.Integer(), sa.ForeignKey("clinic.id"), nullable=False, index=True),
        sa.Column("visit_id", sa.Integer(), sa.ForeignKey("visit.id"), nullable=False),
        sa.Column("patient_id", sa.Integer(), sa.ForeignKey("patient.id"), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("sent_revision", sa.Integer(), nullable=False),
        sa.Column("orca_billing_status", sa.String(16), nullable=False),
        sa.Column("orca_medical_uid", sa.String(64), nullable=True),
        sa.Column("orca_billing_warnings", sa.JSON(), nullable=False),
        sa.Column("orca_billing_error", sa.String(500), nullable=False),
        sa.UniqueConstraint("clinic_id", "visit_id", name="uq_visit_bill_visit"),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("visit_bill")
    op.drop_index("ix_visit_fee_patient_month", table_name="visit_fee")
    op.drop_table("visit_fee")
    op.drop_table("procedure_master_version")
    op.drop_index("ix_procedure_name_key", table_name="procedure")
    op.drop_index("ix_procedure_kana_key", table_name="procedure")
    op.drop_table("procedure")
