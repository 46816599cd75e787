"""The 支払基金 チェックマスタ (併用禁忌, 傷病名禁忌, 適応・投与量) and the edition each prescription was checked on.

Each check table is indexed by drug code first: a prescription's check reads only the rows of its own drugs.

Revision ID: rxsafety_0001
Revises: labs_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "rxsafety_0001"
down_revision = "labs_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "check_master_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.String(60), nullable=False),
        sa.Column("source_name", sa.String(200), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pair_count", sa.Integer(), nullable=False),
        sa.Column("disease_rule_count", sa.Integer(), nullable=False),
        sa.Column("dose_rule_count", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "check_master_drug",
        sa.Column("drug_code", sa.String(9), primary_key=True),
        sa.Column("has_pairs", sa.Boolean(), nullable=False),
        sa.Column("has_disease_rules", sa.Boolean(), nullable=False),
        sa.Column("has_dose_rules", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "check_interaction",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("drug_code", sa.String(9), nullable=False),
        sa.Column("other_code", sa.String(9), nullable=False),
        sa.Column("ref_range", sa.String(10), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
    )
    op.create_index("ix_check_interaction_pair", "check_interaction", ["drug_code", "other_code"])
    op.create_table(
        "check_disease_rule",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("drug_code", sa.String(9), nullable=False),
        sa.Column("disease_code", sa.String(7), nullable=False),
        sa.Column("ref_range", sa.String(10), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
    )
    op.create_index("ix_check_disease_rule_drug", "check_disease_rule", ["drug_code", "disease_code"])
    op.create_table(
        "check_dose_rule",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("drug_code", sa.String(9), nullable=False),
        sa.Column("disease_code", sa.String(7), nullable=False),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("age_min", sa.Integer(), nullable=False),
        sa.Column("age_max", sa.Integer(), nullable=False),
        sa.Column("max_dose", sa.Float(), nullable=True),
        sa.Column("max_days", sa.Integer(), nullable=True),
        sa.Column("is_adjustable", sa.Boolean(), nullable=False),
        sa.Column("ref_range", sa.String(10), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
    )
    op.create_index("ix_check_dose_rule_drug", "check_dose_rule", ["drug_code", "disease_code"])
    op.add_column("prescription", sa.Column("check_master_version", sa.String(60), nullable=False,
                                            server_default=""))


def downgrade() -> None:
    """Revert."""
    op.drop_column("prescription", "check_master_version")
    for table in ("check_dose_rule", "check_disease_rule", "check_interaction", "check_master_drug",
                  "check_master_version"):
        op.drop_table(table)
